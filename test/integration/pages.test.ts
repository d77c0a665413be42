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
    const html = await (await app.request('/')).text()
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

  it('the tenant theme carries the accent colour', async () => {
    const res = await app.request(`/t/${tenant.slug}/tema.css`)
    expect(await res.text()).toContain('--accent:#0b4f9c')
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
