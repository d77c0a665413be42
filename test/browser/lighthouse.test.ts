// Lighthouse (12.8, the engine of the tools Italian bodies are scored with) over the main pages, as a first-time
// visitor would load them: accessibility and best practices at 100 on every page, SEO at 100 on the public ones, and
// no layout shift. Its own Chromium (Debian's), started by chrome-launcher; a signed-in page gets the session cookie.
import * as chromeLauncher from 'chrome-launcher'
import lighthouse, { type Flags } from 'lighthouse'
import type { Browser } from 'playwright-core'
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
const sessions: Record<'cittadino' | 'admin', string> = { cittadino: '', admin: '' }

beforeAll(async () => {
  ;({ tenant, server, browser } = w)
  const payer = await givePayer(w.db, tenant, w.accounts.cittadino.codiceFiscale)
  documentId = (await issue(w.db, tenant, payer, [1500, 2500])).documentId
  for (const who of ['cittadino', 'admin'] as const) {
    const context = await newContext(browser)
    const page = await context.newPage()
    await w.signIn(page, w.accounts[who].email)
    sessions[who] = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ')
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
}, 60_000)

afterAll(async () => {
  await chrome?.kill()
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
    onlyCategories: ['accessibility', 'best-practices', 'seo', 'performance'],
    // the machine is shared with the rest of the suite: no simulated network or CPU, the scores asserted here
    // do not depend on timing (performance's score is not asserted, only its layout shift)
    throttlingMethod: 'provided',
    formFactor: 'mobile',
    // a first visit: no cache, the session cookie alone when signed in
    disableStorageReset: false,
    extraHeaders: p.who ? { Cookie: sessions[p.who] } : undefined,
  }
  const result = await lighthouse(server.url + p.path(), flags)
  if (!result) throw new Error(`Lighthouse returned nothing for ${p.path()}`)
  return result.lhr
}

describe('Lighthouse over the main pages', () => {
  it('accessibility and best practices at 100, SEO at 100 on public pages, no layout shift', async () => {
    const failures: string[] = []
    for (const p of PAGES) {
      const lhr = await audit(p)
      const path = p.path()
      if (lhr.runtimeError) failures.push(`${path}: ${lhr.runtimeError.message}`)
      if (new URL(lhr.finalDisplayedUrl).pathname !== path) failures.push(`${path}: ended at ${lhr.finalDisplayedUrl}`)
      const wanted = ['accessibility', 'best-practices', ...(p.seo ? ['seo'] : [])]
      for (const id of wanted) {
        const category = lhr.categories[id]
        if (category?.score === 1) continue
        const failing = (category?.auditRefs ?? [])
          .filter((r) => r.weight > 0 && lhr.audits[r.id]?.score !== 1 && lhr.audits[r.id]?.score !== null)
          .map((r) => `${r.id}: ${lhr.audits[r.id]?.title}`)
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
