// The accessibility audit: every page reachable from the routes and their links, as every kind of
// visitor — axe (WCAG 2.0/2.1/2.2 A and AA), no sideways scrolling at 320 px and at 200% zoom, one h1 and
// the landmarks, no console error and no failed request (the icon included), a title and a meta description — the
// weight of each citizen page listed, and every page's HTML, in Italian and in English, through the W3C Nu checker.
import type { Browser, BrowserContext } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import type { TestAccount } from '../helpers/accounts.ts'
import { axe, browserWorld, newContext, pageWeight, preloadAxe } from '../helpers/browser.ts'
import { nuCheck, nuLines } from '../helpers/nu.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld({ roles: ['cittadino', 'admin', 'operatorePiattaforma', 'operatore', 'lettore'] })
let db: Db
let tenant: Tenant
let server: World['server']
let browser: Browser
const accounts: TestAccount[] = []
const MAX_PAGES = Number(process.env.AUDIT_MAX_PAGES ?? 60)

beforeAll(async () => {
  ;({ db, tenant, server, browser } = w)
  const { cittadino: citizen, admin, operatorePiattaforma: operator } = w.accounts
  accounts.push(citizen, admin, operator)
  const payer = await givePayer(db, tenant, citizen.codiceFiscale)
  await issue(db, tenant, payer, [1000, 2000])
})

async function signIn(context: BrowserContext, account: TestAccount) {
  const page = await context.newPage()
  await w.signIn(page, account.email, { waitFor: /area-personale/ })
  await page.close()
}

async function cookiesOf(context: BrowserContext): Promise<string[]> {
  return (await context.cookies()).map((c) => `${c.name}=${c.value}`)
}

/**
 * The HTML pages `from` was served in Italian, fetched again as `as` (its cookies) in each language, kept in `served`
 * under "as lang path".
 */
async function fetchServed(served: Map<string, string>, from: string, as: string, cookies: string[], langs: string[]) {
  for (const key of [...served.keys()].filter((k) => k.startsWith(`${from} it `))) {
    const path = key.slice(`${from} it `.length)
    for (const lang of langs) {
      const res = await fetch(server.url + path, {
        headers: { cookie: [...cookies, `lang=${lang}`].join('; ') },
        redirect: 'manual',
      })
      if (res.status === 200 && (res.headers.get('content-type') ?? '').includes('text/html'))
        served.set(`${as} ${lang} ${path}`, await res.text())
    }
  }
}

function startPages(): string[] {
  const out = new Set<string>()
  for (const r of server.app.routes) {
    if (r.method !== 'GET' || r.path.includes('*') || r.path.includes('.')) continue
    const p = r.path.replace(':tenant', tenant.slug)
    if (!p.includes(':') && !p.startsWith('/lingua') && !p.startsWith('/health') && !p.startsWith('/accesso/spid'))
      out.add(p)
  }
  return [...out]
}

describe('accessibility audit of every page', () => {
  it('axe, reflow at 320 px and at 200% zoom, one h1 and landmarks, as every visitor', async () => {
    const failures: string[] = []
    const weights: Record<string, number> = {}
    const visitors: [string, TestAccount | null][] = [
      ['anonimo', null],
      ['cittadino', accounts[0] as TestAccount],
      ['ufficio', accounts[1] as TestAccount],
      ['operatore', accounts[2] as TestAccount],
    ]
    let audited = 0
    /** every audited page's HTML as served, for the Nu checker: "who lang path" → HTML */
    const served = new Map<string, string>()
    for (const [who, account] of visitors) {
      const context = await newContext(browser)
      await preloadAxe(context)
      if (account) await signIn(context, account)
      const page = await context.newPage()
      let current = ''
      // the crawl also tries routes that are not this visitor's (403, 404): the page's own status is the crawl's
      // business; what must never fail is what a page loads, and the console must stay clean
      page.on('console', (m) => {
        if (m.type() !== 'error') return
        if (/^Failed to load resource/.test(m.text()) && m.location().url === page.url()) return
        failures.push(`${who} ${current}: console error ${m.text()}`)
      })
      page.on('pageerror', (e) => failures.push(`${who} ${current}: script error ${e.message}`))
      page.on('requestfailed', (r) => {
        // a request cut short by the next navigation is not a failure
        if (r.failure()?.errorText !== 'net::ERR_ABORTED') failures.push(`${who} ${current}: ${r.url()} failed`)
      })
      page.on('response', (r) => {
        if (r.status() >= 400 && !r.request().isNavigationRequest())
          failures.push(`${who} ${current}: ${r.url()} answered ${r.status()}`)
      })
      const queue = startPages()
      const seen = new Set<string>()
      while (queue.length && seen.size < MAX_PAGES) {
        const path = queue.shift() as string
        if (seen.has(path)) continue
        seen.add(path)
        current = path
        const res = await page.goto(server.url + path)
        if (!res || !(res.headers()['content-type'] ?? '').includes('text/html')) continue
        if (new URL(page.url()).pathname !== path.split('?')[0]) continue // a redirect: the target is audited on its own
        audited++
        served.set(`${who} it ${path}`, await res.text())
        const head = await page.evaluate(() => ({
          title: document.title,
          description: document.querySelector('meta[name="description"]')?.getAttribute('content') ?? '',
        }))
        if (!/ – Sportello$/.test(head.title)) failures.push(`${who} ${path}: title "${head.title}"`)
        if (head.description.length < 50) failures.push(`${who} ${path}: meta description "${head.description}"`)
        for (const v of await axe(page)) failures.push(`${who} ${path}: ${v.id} ${v.help} ${v.nodes[0]?.target}`)
        const h1 = await page.locator('h1').count()
        if (h1 !== 1) failures.push(`${who} ${path}: ${h1} h1`)
        for (const landmark of ['header', 'main', 'footer']) {
          if ((await page.locator(landmark).count()) === 0) failures.push(`${who} ${path}: no ${landmark}`)
        }
        for (const width of [320, 640]) {
          await page.setViewportSize({ width, height: 700 })
          const sw = await page.evaluate(() => document.documentElement.scrollWidth)
          if (sw > width) failures.push(`${who} ${path}: scrolls sideways at ${width}px (${sw})`)
        }
        await page.setViewportSize({ width: 1024, height: 800 })
        if (
          who === 'cittadino' &&
          !path.includes('/ufficio') &&
          !path.startsWith('/dev') &&
          !path.startsWith('/sandbox')
        ) {
          const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ')
          weights[path] = (await pageWeight(server.url + path, cookie)).total
        }
        // follow the links of the page (same site, no files, no logout)
        const links = await page.$$eval('main a[href^="/"]', (as) => as.map((a) => a.getAttribute('href') as string))
        for (const l of links) {
          const clean = l.split('#')[0] as string
          if (
            !clean ||
            /\.(pdf|csv|css)(\?|$)/.test(clean) ||
            clean.startsWith('/lingua') ||
            clean.startsWith('/accesso/spid')
          )
            continue
          if (!seen.has(clean)) queue.push(clean)
        }
      }
      // the same pages in English, as served (the Nu checker reads the markup, not the DOM)
      await fetchServed(served, who, who, await cookiesOf(context), ['en'])
      await context.close()
    }
    // the office's other roles see the administrator's pages with fewer controls: the same pages as they get them
    for (const role of ['operatore', 'lettore'] as const) {
      const context = await newContext(browser)
      await signIn(context, w.accounts[role])
      const cookies = await cookiesOf(context)
      await context.close()
      await fetchServed(served, 'ufficio', role, cookies, ['it', 'en'])
    }
    const nu = nuLines(await nuCheck(served))
    console.log(`Nu HTML checker: ${served.size} pages, ${nu.length} messages`)
    failures.push(...nu)
    console.log(`accessibility audit: ${audited} pages`)
    console.log('citizen page weight (HTML + CSS, gzip, bytes):', weights)
    for (const [path, w] of Object.entries(weights))
      if (w >= 14 * 1024) failures.push(`${path}: ${w} bytes over the 14 KB budget`)
    expect(failures).toEqual([])
    expect(audited).toBeGreaterThan(15)
  }, 600_000)
})
