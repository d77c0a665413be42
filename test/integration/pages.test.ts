import { gunzipSync } from 'node:zlib'
import { beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.ts'
import { type Db, openEmbedded } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { testDeps } from '../helpers/app.ts'
import { settings } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { type App, world } from '../helpers/world.ts'

const w = world({ tenant: { settings: settings({ accessibilityUrl: 'https://form.agid.gov.it/view/prova' }) } })
let db: Db
let tenant: Tenant
let app: App

beforeAll(() => {
  ;({ db, tenant, app } = w)
})

describe('public pages', () => {
  it('home lists the tenants, in Italian by default, valid HTML', async () => {
    const res = await app.request('/')
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('<html lang="it">')
    expect(html).toContain(`href="/t/${tenant.slug}"`)
    expect(html).toContain('Salta al contenuto principale')
    await expectValidHtml(html)
  })

  it('tenant home shows identity, services, contacts and the tenant accessibility link', async () => {
    const res = await app.request(`/t/${tenant.slug}`)
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain(tenant.name)
    expect(html).toContain('Mensa scolastica')
    expect(html).toContain('data-element="accessibility-link"')
    expect(html).toContain(`<title>${tenant.name} – ${tenant.shortName} – Sportello</title>`)
    await expectValidHtml(html)
  })

  it('unknown tenant and unknown page are calm 404 pages', async () => {
    for (const path of ['/t/nessuno', '/t/NO_SUCH', '/t/../etc', '/non-esiste', `/t/${tenant.slug}/non-esiste`]) {
      const res = await app.request(path)
      expect(res.status, path).toBe(404)
      const html = await res.text()
      expect(html).toContain('Pagina non trovata')
      await expectValidHtml(html)
    }
  })

  it('switches to English and back through a plain link', async () => {
    const res = await app.request(`/lingua/en?torna=/t/${tenant.slug}`)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`/t/${tenant.slug}`)
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/lang=en/)
    const page = await app.request(`/t/${tenant.slug}`, { headers: { cookie: 'lang=en' } })
    const html = await page.text()
    expect(html).toContain('<html lang="en">')
    expect(html).toContain('Skip to main content')
    // never redirects to another site
    const evil = await app.request('/lingua/it?torna=//evil.example')
    expect(evil.headers.get('location')).toBe('/')
  })

  it('sends security headers and a CSP without inline script', async () => {
    const res = await app.request('/')
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).toContain("frame-ancestors 'none'")
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('serves static files under hashed names with a long cache, compressed', async () => {
    // a browser that has the stylesheet (the css cookie) gets it linked
    const first = await app.request('/')
    const version = /(?:^|[ ;,])css=([^;]+)/.exec(first.headers.get('set-cookie') ?? '')?.[1]
    const html = await (await app.request('/', { headers: { cookie: `css=${version}` } })).text()
    const href = /href="(\/static\/css\/app\.[0-9a-f]{10}\.css)"/.exec(html)?.[1]
    expect(href).toBeTruthy()
    const res = await app.request(href as string, { headers: { 'accept-encoding': 'gzip' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toContain('immutable')
    expect(res.headers.get('content-encoding')).toBe('gzip')
    expect((await app.request('/static/css/app.0000000000.css')).status).toBe(404)
  })

  it('compresses a page for a client that accepts it, and says on both answers that they depend on it', async () => {
    const gz = await app.request(`/t/${tenant.slug}`, { headers: { 'accept-encoding': 'gzip, deflate, br' } })
    expect(gz.headers.get('content-encoding')).toBe('gzip')
    expect(gz.headers.get('vary')).toMatch(/accept-encoding/i)
    expect(gz.headers.get('cache-control')).toBe('no-store')
    const plain = await app.request(`/t/${tenant.slug}`)
    expect(plain.headers.get('content-encoding')).toBeNull()
    expect(plain.headers.get('vary')).toMatch(/accept-encoding/i)
    expect(plain.headers.get('cache-control')).toBe('no-store')
    expect(plain.headers.get('content-security-policy')).toContain("default-src 'self'")
    const unzipped = gunzipSync(Buffer.from(await gz.arrayBuffer())).toString('utf8')
    expect(unzipped).toContain(tenant.name)
    expect(await plain.text()).toContain(tenant.name)
  })

  it('inlines the stylesheet under the response nonce on a first visit, links it once cached, the accent inline', async () => {
    const first = await app.request(`/t/${tenant.slug}`)
    const html = await first.text()
    const nonce = /'nonce-([^']+)'/.exec(first.headers.get('content-security-policy') ?? '')?.[1]
    expect(nonce).toBeTruthy()
    expect(first.headers.get('content-security-policy')).not.toContain('unsafe-inline')
    expect(html).toContain(`<style nonce="${nonce}">:root{--text:`)
    expect(html).toContain(`<style nonce="${nonce}">:root{--accent:#0b4f9c}</style>`)
    expect(html).not.toContain('rel="stylesheet"')
    const version = /(?:^|[ ;,])css=([^;]+)/.exec(first.headers.get('set-cookie') ?? '')?.[1]
    expect(version).toMatch(/^[0-9a-f]{10}$/)
    expect(first.headers.get('set-cookie')).toMatch(/Max-Age=31536000.*HttpOnly.*SameSite=Lax/)

    const again = await app.request(`/t/${tenant.slug}`, { headers: { cookie: `css=${version}` } })
    const cached = await again.text()
    const nonce2 = /'nonce-([^']+)'/.exec(again.headers.get('content-security-policy') ?? '')?.[1]
    expect(nonce2).not.toBe(nonce)
    expect(again.headers.get('set-cookie') ?? '').not.toContain('css=')
    expect(cached).toContain('<link rel="stylesheet" href="/static/css/app.')
    expect(cached).not.toContain('--text:')
    expect(cached).toContain(`<style nonce="${nonce2}">:root{--accent:#0b4f9c}</style>`)

    // an older version in the cookie: the new stylesheet comes inline again
    const stale = await app.request(`/t/${tenant.slug}`, { headers: { cookie: 'css=0000000000' } })
    expect(await stale.text()).toContain(':root{--text:')
    expect(stale.headers.get('set-cookie')).toContain(`css=${version}`)
    // a fragment for htmx carries no stylesheet and sets nothing
    const fragment = await app.request(`/t/${tenant.slug}`, { headers: { 'HX-Request': 'true' } })
    expect(await fragment.text()).not.toContain('<style')
    expect(fragment.headers.get('set-cookie') ?? '').not.toContain('css=')
  })

  it('answers the icon, the app manifest and robots.txt, and every page declares its icons and description', async () => {
    const ico = await app.request('/favicon.ico')
    expect(ico.status).toBe(200)
    expect(ico.headers.get('content-type')).toBe('image/x-icon')
    const body = Buffer.from(await ico.arrayBuffer())
    expect(body.readUInt16LE(2)).toBe(1) // an icon file
    expect(body.subarray(22, 26).toString('latin1')).toBe('\x89PNG')
    const manifest = await app.request('/manifest.webmanifest')
    const m = (await manifest.json()) as { icons: { src: string; sizes: string }[] }
    expect(m.icons.map((i) => i.sizes)).toEqual(['192x192', '512x512', 'any'])
    for (const icon of m.icons) expect((await app.request(icon.src)).status).toBe(200)
    const robots = await (await app.request('/robots.txt')).text()
    expect(robots).toContain('User-agent: *')
    expect(robots).toContain('Disallow: /t/*/ufficio')
    const page = await (await app.request(`/t/${tenant.slug}`)).text()
    expect(page).toMatch(/<link rel="icon" href="\/static\/icons\/icon\.[0-9a-f]+\.svg" type="image\/svg\+xml">/)
    expect(page).toContain('<link rel="apple-touch-icon"')
    expect(page).toContain('<link rel="manifest" href="/manifest.webmanifest">')
    expect(page).toContain(`<meta name="description" content="${tenant.name} su Sportello:`)
    const home = await (await app.request('/')).text()
    expect(home).toMatch(/<meta name="description" content="[^"]{50,}">/)
  })

  it('answers the health check', async () => {
    const res = await app.request('/health')
    expect(await res.json()).toMatchObject({ status: 'ok' })
  })

  it('an unexpected failure is a calm 500 page with the request id, no stack trace', async () => {
    const deps = testDeps(db)
    deps.tenants.list = async () => {
      throw new Error('something nobody planned for')
    }
    const res = await createApp(deps).request('/')
    expect(res.status).toBe(500)
    const html = await res.text()
    expect(html).toContain(res.headers.get('x-request-id') as string)
    expect(html).toContain('Il servizio ha un problema')
    expect(html).not.toContain('nobody planned')
  })

  it('a database that cannot be reached gives a calm 503 page with the request id, no stack trace', async () => {
    const broken = await openEmbedded('memory://')
    await broken.close()
    const brokenApp = createApp(testDeps(broken))
    const res = await brokenApp.request('/')
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('30')
    const html = await res.text()
    const id = res.headers.get('x-request-id') as string
    expect(html).toContain(id)
    expect(html).not.toMatch(/at .*\.ts:\d+/)
    expect(html).toContain('non raggiungibile')
    const health = await brokenApp.request('/health')
    expect(health.status).toBe(503)
  })
})
