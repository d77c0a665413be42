// The demo's own content at 320 px: its tenants (long names, long office emails, logos) and its families' documents,
// as a visitor, a citizen and the office see them. No page may be wider than the screen (WCAG 1.4.10).
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEMO_FAMILIES, seedTenantDemo } from '../../src/cli/demo-seed.ts'
import { withTenant } from '../../src/platform/db.ts'
import { listTenantFiles, readTenantFile, type Tenant } from '../../src/platform/tenancy.ts'
import type { TestAccount } from '../helpers/accounts.ts'
import { browserWorld, newContext } from '../helpers/browser.ts'

const w = browserWorld({ roles: ['cittadino'] })
const demo: { tenant: Tenant; admin: TestAccount }[] = []
const MAX_OFFICE_PAGES = 25

beforeAll(async () => {
  const family = DEMO_FAMILIES[0] as (typeof DEMO_FAMILIES)[number]
  for (const path of await listTenantFiles('tenants')) {
    // the demo file as it is, under a slug, fiscal code and segregation code of the test's own
    const { slug: _slug, fiscalCode: _fc, segregationCode: _sc, ...file } = await readTenantFile(path)
    const tenant = await w.newTenant(file)
    await seedTenantDemo(w.db, tenant)
    // the demo's first family is the signed-in citizen
    await withTenant(w.db.sql, tenant, (tx) =>
      tx`update payers set codice_fiscale = ${w.accounts.cittadino.codiceFiscale} where codice_fiscale = ${family.cf}`.then(
        () => undefined,
      ),
    )
    demo.push({ tenant, admin: await w.account({ role: 'admin', of: tenant }) })
  }
}, 120_000)

async function widthAt320(page: Page, path: string): Promise<string | null> {
  const res = await page.goto(w.url + path)
  if (!res || !(res.headers()['content-type'] ?? '').includes('text/html')) return null
  const wide = await page.evaluate(() => {
    const width = document.documentElement.scrollWidth
    if (width <= 320) return null
    // the element that reaches furthest, to say what does not fit
    let worst: Element | null = null
    let right = 0
    const scrolled = (el: Element) => {
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
        if (/auto|scroll|hidden/.test(getComputedStyle(a).overflowX)) return true
      return false
    }
    for (const el of document.body.querySelectorAll('*')) {
      if (scrolled(el)) continue
      const r = el.getBoundingClientRect().right
      if (r > right) [worst, right] = [el, r]
    }
    const what = worst
      ? `${worst.tagName.toLowerCase()}.${[...worst.classList].join('.')} "${(worst.textContent ?? '').trim().slice(0, 50)}"`
      : ''
    return `${width} px wide (${what})`
  })
  return wide ? `${path}: ${wide}` : null
}

async function links(page: Page, prefix: string): Promise<string[]> {
  const hrefs = await page.$$eval('main a[href^="/"]', (as) => as.map((a) => a.getAttribute('href') as string))
  return hrefs.map((h) => h.split('#')[0] as string).filter((h) => h.startsWith(prefix) && !/\.(pdf|csv)(\?|$)/.test(h))
}

describe('the demo content at 320 px', () => {
  it('no page is wider than the screen, for a visitor, a citizen and the office of each demo body', async () => {
    const failures: string[] = []
    let checked = 0
    const check = async (page: Page, path: string) => {
      const f = await widthAt320(page, path)
      checked++
      if (f) failures.push(f)
    }
    const visitor = await (await newContext(w.browser, { width: 320 })).newPage()
    const citizenContext = await newContext(w.browser, { width: 320 })
    const citizen = await citizenContext.newPage()
    await w.signIn(citizen, w.accounts.cittadino.email, { waitFor: /area-personale/ })
    for (const path of ['/', '/accessibilita', '/area-personale', '/posizione-debitoria', '/archivio'])
      await check(path.startsWith('/a') && path !== '/accessibilita' ? citizen : visitor, path)

    for (const { tenant, admin } of demo) {
      await check(visitor, `/t/${tenant.slug}`)
      // the citizen's debt position with this body and each of its documents
      await check(citizen, `/t/${tenant.slug}/posizione-debitoria`)
      for (const doc of [...new Set(await links(citizen, `/t/${tenant.slug}/documenti/`))]) await check(citizen, doc)
      // the office: its home and the pages it links to
      const officeContext = await newContext(w.browser, { width: 320 })
      const office = await officeContext.newPage()
      await w.signIn(office, admin.email)
      const queue = [`/t/${tenant.slug}/ufficio`]
      const seen = new Set<string>()
      while (queue.length && seen.size < MAX_OFFICE_PAGES) {
        const path = queue.shift() as string
        if (seen.has(path)) continue
        seen.add(path)
        await check(office, path)
        for (const l of await links(office, `/t/${tenant.slug}/ufficio`)) if (!seen.has(l)) queue.push(l)
      }
      await officeContext.close()
    }
    await citizenContext.close()
    await visitor.context().close()
    console.log(`demo content at 320 px: ${checked} pages of ${demo.length} bodies`)
    expect(failures).toEqual([])
    expect(demo.length).toBeGreaterThanOrEqual(3)
    expect(checked).toBeGreaterThan(30)
  }, 300_000)
})
