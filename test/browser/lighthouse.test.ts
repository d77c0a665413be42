// Lighthouse (12.8, the engine of the tools Italian bodies are scored with) over the main pages, as a first-time
// visitor would load them: accessibility and best practices at 100 on every page, SEO at 100 on the public ones, and
// no layout shift. Its own Chromium (Debian's), started by chrome-launcher; a signed-in page gets the session cookie.
import * as chromeLauncher from 'chrome-launcher'
import lighthouse, { type Flags } from 'lighthouse'
import type { Browser } from 'playwright-core'
import puppeteer, { type CookieParam, type Browser as PuppeteerBrowser } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { browserWorld, CHROMIUM, newContext } from '../helpers/browser.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld({ roles: ['cittadino', 'admin'] })
let tenant: Tenant
let server: World['server']
let browser: Browser
let chrome: chromeLauncher.LaunchedChrome
let documentId = 0
const sessions: Record<'cittadino' | 'admin', CookieParam[]> = { cittadino: [], admin: [] }
let puppeteerBrowser: PuppeteerBrowser

beforeAll(async () => {
  ;({ tenant, server, browser } = w)
  const payer = await givePayer(w.db, tenant, w.accounts.cittadino.codiceFiscale)
  documentId = (await issue(w.db, tenant, payer, [1500, 2500])).documentId
  for (const who of ['cittadino', 'admin'] as const) {
    const context = await newContext(browser)
    const page = await context.newPage()
    await w.signIn(page, w.accounts[who].email)
    // the session alone: the stylesheet's cookie would make it a returning browser
    sessions[who] = (await context.cookies())
      .filter((c) => c.name === 'sid')
      .map((c) => ({ name: c.name, value: c.value, url: server.url, httpOnly: true }))
    await context.close()
  }
  chrome = await chromeLauncher.launch({
    chromePath: CHROMIUM,
    chromeFlags: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
    logLevel: 'error',
  })
  puppeteerBrowser = await puppeteer.connect({ browserURL: `http://127.0.0.1:${chrome.port}` })
}, 60_000)

afterAll(async () => {
  await puppeteerBrowser?.disconnect()
  chrome?.kill()
})

interface Audited {
  path: () => string
  who?: 'cittadino' | 'admin'
  /** SEO is asserted on the public pages only (the others are behind a sign-in and kept out by robots.txt) */
  seo?: boolean
}

const PAGES: Audited[] = [
  { path: () => '/', seo: true },
  { path: () => `/t/${tenant.slug}`, seo: true },
  { path: () => '/accessibilita', seo: true },
  { path: () => '/accesso', seo: true },
  { path: () => '/area-personale', who: 'cittadino' },
  { path: () => `/t/${tenant.slug}/documenti/${documentId}`, who: 'cittadino' },
  { path: () => '/carrello', who: 'cittadino' },
  { path: () => `/t/${tenant.slug}/ufficio`, who: 'admin' },
]

async function audit(p: Audited) {
  const flags: Flags = {
    port: chrome.port,
    output: 'json',
    logLevel: 'error',
    // the three categories asserted, and of performance the layout shift alone (observed in the page's trace; the
    // scores asserted here do not depend on the shared machine's speed)
    onlyCategories: ['accessibility', 'best-practices', 'seo'],
    onlyAudits: ['cumulative-layout-shift'],
    formFactor: 'mobile',
    // a first visit: storage and cache cleared, then the session cookie alone when signed in
    disableStorageReset: Boolean(p.who),
  }
  const browserPage = await puppeteerBrowser.newPage()
  try {
    const client = await browserPage.createCDPSession()
    await client.send('Network.clearBrowserCookies')
    await client.send('Network.clearBrowserCache')
    if (p.who) await browserPage.setCookie(...sessions[p.who])
    const result = await lighthouse(server.url + p.path(), flags, undefined, browserPage)
    if (!result) throw new Error(`Lighthouse returned nothing for ${p.path()}`)
    return result.lhr
  } finally {
    await browserPage.close()
  }
}

describe('Lighthouse over the main pages', () => {
  it('accessibility and best practices at 100, SEO at 100 on public pages, no layout shift', async () => {
    const failures: string[] = []
    for (const p of PAGES) {
      // a run that could not load the page (a timeout on the shared machine: Lighthouse's runtimeError, no trace)
      // says nothing about the page: it is run once more, and a second failure is reported
      const incomplete = (r: Awaited<ReturnType<typeof audit>>) =>
        r.runtimeError ||
        r.audits['cumulative-layout-shift']?.numericValue === undefined ||
        Object.values(r.audits).some((a) => a.errorMessage)
      let lhr = await audit(p)
      if (incomplete(lhr)) {
        console.log(`Lighthouse ${p.path()}: run again after ${lhr.runtimeError?.code ?? 'no layout-shift measure'}`)
        lhr = await audit(p)
      }
      const path = p.path()
      if (lhr.runtimeError) failures.push(`${path}: ${lhr.runtimeError.message}`)
      if (new URL(lhr.finalDisplayedUrl).pathname !== path) failures.push(`${path}: ended at ${lhr.finalDisplayedUrl}`)
      const wanted = ['accessibility', 'best-practices', ...(p.seo ? ['seo'] : [])]
      for (const id of wanted) {
        const category = lhr.categories[id]
        if (category?.score === 1) continue
        const failing = (category?.auditRefs ?? [])
          .filter((r) => r.weight > 0 && lhr.audits[r.id]?.score !== 1)
          // an audit that could not run says why (score null, errorMessage)
          .map((r) => `${r.id}: ${lhr.audits[r.id]?.errorMessage ?? lhr.audits[r.id]?.title}`)
        failures.push(`${path}: ${id} ${Math.round((category?.score ?? 0) * 100)} (${failing.join('; ')})`)
      }
      const cls = lhr.audits['cumulative-layout-shift']?.numericValue
      if (cls === undefined || cls > 0) failures.push(`${path}: cumulative layout shift ${cls}`)
      console.log(
        `Lighthouse ${path}: ${Object.values(lhr.categories)
          .map((c) => `${c.id} ${Math.round((c.score ?? 0) * 100)}`)
          .join(', ')}, CLS ${cls}`,
      )
    }
    expect(failures).toEqual([])
  }, 300_000)
})
