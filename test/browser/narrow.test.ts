// Every citizen page on a phone (320 and 390 px): no element wider than the screen, nothing scrolling sideways inside
// the page, every table cell on screen (tables of several columns become label: value rows), long codes in groups
// that never break; the compact header (the menu a disclosure that works without JavaScript, the cart's count
// always in sight); the payment provider's page visibly another site. A family with everything a page can show:
// a document of three installments (one paid, one in the cart), a refused attempt, a canteen pupil, a long email in
// the body's contacts.
import type { Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { withTenant } from '../../src/platform/db.ts'
import type { TestAccount } from '../helpers/accounts.ts'
import { axe, browserWorld, expectAccessible, newContext, preloadAxe } from '../helpers/browser.ts'
import { addPupil, enroll, setupCurrentYear } from '../helpers/canteen.ts'
import type { Client } from '../helpers/client.ts'
import { nuCheck, nuLines } from '../helpers/nu.ts'
import { deliverNotifications, givePayer, issue, payAtSandbox } from '../helpers/payments.ts'

const w = browserWorld({ canteen: true })
let me: TestAccount
let citizen: Client
let documentId = 0
let paymentPage = ''
let providerPage = ''
const WIDTHS = [320, 390]
const MAX_PAGES = 45

async function checkout(c: Client): Promise<string> {
  const summary = await (await c.get('/carrello/riepilogo')).text()
  const key = /name="chiave" value="([^"]+)"/.exec(summary)?.[1] as string
  const res = await c.post('/carrello/paga', { chiave: key })
  expect(res.status).toBe(303)
  return res.headers.get('location') as string
}

beforeAll(async () => {
  const { db, tenant } = w
  // a long address in the body's contacts (it once made a tenant page 425 px wide)
  await db.admin`update platform.tenants
    set contacts = contacts || ${db.admin.json({ email: 'ufficio.servizi.scolastici.e.mensa@comune-di-esempio-lungo.example.it' })}
    where id = ${tenant.id}`
  me = await w.account({ givenName: 'Alberto', familyName: 'Molteni' })
  const payer = await givePayer(db, tenant, me.codiceFiscale, ['Alberto', 'Molteni'])
  const doc = await issue(db, tenant, payer, [12_345, 12_345, 12_310], {
    description: 'Retta del servizio di trasporto scolastico, anno 2026/2027',
  })
  documentId = doc.documentId
  const [first, second] = doc.installments
  citizen = await w.client(me)
  // the first installment paid, through the provider
  const docPath = `/t/${tenant.slug}/documenti/${documentId}`
  await citizen.submit(docPath, { ente: tenant.slug, rate: String(first?.id) }, '/carrello/aggiungi')
  const paid = await payAtSandbox(citizen, await checkout(citizen))
  expect(paid.status, await paid.clone().text()).toBe(303)
  paymentPage = new URL(paid.headers.get('location') as string, w.url).pathname
  await deliverNotifications(db, w.server)
  // a refused attempt at the second, which then waits in the cart
  await citizen.submit(docPath, { ente: tenant.slug, rate: String(second?.id) }, '/carrello/aggiungi')
  await payAtSandbox(citizen, await checkout(citizen), '4000 0000 0000 0002')
  await deliverNotifications(db, w.server)
  // a payment left open at the provider: its page is the provider's
  providerPage = new URL(await checkout(citizen), w.url).pathname
  // and the third in the cart, ready to pay
  await citizen.submit(docPath, { ente: tenant.slug, rate: String(doc.installments[2]?.id) }, '/carrello/aggiungi')
  // a service paid without a notice at fixed tariffs, and one with a bounded free amount
  await withTenant(
    db.sql,
    tenant,
    (tx) => tx`insert into services (code, kind, name, causale, spontaneous, amount_mode, tariffs, min_cents, max_cents)
      values ('assicurazione-t', 'assicurazione', 'Assicurazione integrativa alunni', 'Assicurazione integrativa', true,
              'tariffa', ${tx.json([
                { label: 'Quota per alunno', cents: 850 },
                { label: 'Dal secondo figlio', cents: 600 },
              ])},
              null, null),
             ('contributo-t', 'contributo', 'Contributo volontario', 'Contributo volontario', true, 'importo', null,
              500, 30000)`,
  )
  // a pupil at the canteen
  const s = await setupCurrentYear(db, tenant)
  const { pupilId } = await addPupil(db, tenant, { payerCf: me.codiceFiscale, given: 'Emma', family: 'Molteni' })
  await enroll(db, tenant, pupilId, { classId: s.classId, tariffId: s.residente, start: s.start })
}, 120_000)

/** What overflows at this width: the page, an element past the screen's edge, a box that scrolls inside. */
function overflowAt(page: Page, width: number): Promise<string[]> {
  return page.evaluate((width) => {
    const out: string[] = []
    const name = (el: Element) =>
      `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.classList.length ? `.${[...el.classList].join('.')}` : ''} "${(el.textContent ?? '').trim().slice(0, 40)}"`
    // hidden from sight on purpose: visually hidden (clipped to nothing), or in a closed disclosure (not laid out)
    const skipped = (el: Element) => {
      if (el.closest('.skip-link, script, style, head, details:not([open]) > :not(summary)')) return true
      for (let a: Element | null = el; a && a !== document.body; a = a.parentElement)
        if (getComputedStyle(a).clipPath === 'inset(50%)') return true
      return false
    }
    const doc = document.documentElement
    if (doc.scrollWidth > width) out.push(`the page is ${doc.scrollWidth} px wide`)
    for (const el of document.body.querySelectorAll('*')) {
      if (skipped(el)) continue
      const cs = getComputedStyle(el)
      if (cs.display === 'none' || cs.visibility === 'hidden') continue
      const r = el.getBoundingClientRect()
      if (r.width === 0 && r.height === 0) continue
      if (r.right > width + 0.5) out.push(`${name(el)} reaches ${Math.round(r.right)} px`)
      if (/auto|scroll|hidden/.test(cs.overflowX) && el.scrollWidth > el.clientWidth + 1)
        out.push(`${name(el)} scrolls inside (${el.scrollWidth} > ${el.clientWidth})`)
    }
    // every table cell with content is on screen and has room
    for (const cell of document.querySelectorAll('main td, main th')) {
      if (skipped(cell) || !(cell.textContent ?? '').trim()) continue
      const r = cell.getBoundingClientRect()
      if (r.width < 1 || r.left < -0.5 || r.right > width + 0.5) out.push(`cell ${name(cell)} not on screen`)
    }
    return [...new Set(out)].slice(0, 10)
  }, width)
}

/** Codes in groups (code-groups) never break inside a group: each group is one line high. */
function brokenCodes(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll('main .code-groups > span')]
      .filter(
        (g) =>
          g.getClientRects().length > 1 ||
          g.getBoundingClientRect().height > 2 * Number.parseFloat(getComputedStyle(g).lineHeight || '24'),
      )
      .map((g) => g.textContent ?? ''),
  )
}

describe('citizen pages on a phone', () => {
  for (const js of [true, false])
    it(`fit 320 and 390 px: no sideways scrolling, no element past the edge, every table cell on screen (JavaScript ${js ? 'on' : 'off'})`, async () => {
      const { tenant } = w
      const context = await newContext(w.browser, { width: 390, js })
      if (js) await preloadAxe(context)
      const page = await context.newPage()
      await w.signIn(page, me.email, { waitFor: /area-personale/ })
      const queue = [
        '/area-personale',
        '/posizione-debitoria',
        `/t/${tenant.slug}/posizione-debitoria`,
        `/t/${tenant.slug}/documenti/${documentId}`,
        '/carrello',
        '/carrello/riepilogo',
        '/archivio',
        paymentPage,
        '/certificazione',
        '/mensa',
        '/profilo',
        `/t/${tenant.slug}`,
        providerPage,
        `/t/${tenant.slug}/pagamento-spontaneo/assicurazione-t`,
        `/t/${tenant.slug}/pagamento-spontaneo/contributo-t`,
      ]
      const seen = new Set<string>()
      const failures: string[] = []
      const visited: string[] = []
      /** the pages as served, for the Nu checker (JavaScript on: the same markup either way) */
      const served = new Map<string, string>()
      while (queue.length && seen.size < MAX_PAGES) {
        const path = queue.shift() as string
        if (seen.has(path)) continue
        seen.add(path)
        await page.setViewportSize({ width: 390, height: 800 })
        const res = await page.goto(w.url + path)
        if (!res || !(res.headers()['content-type'] ?? '').includes('text/html')) continue
        // a redirect: the page it lands on is checked under its own address
        const landed = new URL(page.url()).pathname
        if (landed !== path.split('?')[0]) {
          if (seen.has(landed)) continue
          seen.add(landed)
        }
        visited.push(landed)
        if (js) served.set(`it ${landed}`, await res.text())
        for (const width of WIDTHS) {
          await page.setViewportSize({ width, height: 800 })
          for (const p of await overflowAt(page, width)) failures.push(`${landed} at ${width}: ${p}`)
          for (const g of await brokenCodes(page)) failures.push(`${path} at ${width}: code group "${g}" broken`)
          // NARROW_SHOTS=dir keeps a screenshot of each page and width, to look at
          if (process.env.NARROW_SHOTS)
            await page.screenshot({
              path: `${process.env.NARROW_SHOTS}/${path.replace(/[^a-z0-9]+/gi, '_')}-${width}.png`,
              fullPage: true,
            })
        }
        // axe needs timers: without JavaScript the page's HTML is replayed in a scripted page (expectAccessible)
        if (js)
          for (const v of await axe(page)) failures.push(`${path} at 320: ${v.id} ${v.help} ${v.nodes[0]?.target}`)
        else await expectAccessible(page)
        const links = await page.$$eval('main a[href^="/"]', (as) => as.map((a) => a.getAttribute('href') as string))
        for (const l of links) {
          const clean = l.split('#')[0] as string
          if (!clean || /\.(pdf|csv)(\?|$)/.test(clean) || /^\/(lingua|esci|ufficio|dev|accesso\/spid)/.test(clean))
            continue
          if (!seen.has(clean)) queue.push(clean)
        }
      }
      if (js) {
        // every page of this family with everything on it, in both languages, through the W3C Nu checker
        const cookie = [...(await context.cookies()).map((c) => `${c.name}=${c.value}`), 'lang=en'].join('; ')
        for (const path of visited) {
          const res = await fetch(w.url + path, { headers: { cookie }, redirect: 'manual' })
          if (res.status === 200) served.set(`en ${path}`, await res.text())
        }
        failures.push(...nuLines(await nuCheck(served)))
      }
      await context.close()
      console.log(`narrow screens: ${visited.length} citizen pages at ${WIDTHS.join(' and ')} px`, visited)
      expect(failures).toEqual([])
      for (const p of [
        '/archivio',
        `/t/${tenant.slug}/documenti/${documentId}`,
        '/carrello',
        `/t/${tenant.slug}/mensa`,
      ])
        expect(visited, p).toContain(p)
      expect(visited.some((p) => /\/mensa\/presenze\//.test(p))).toBe(true)
      expect(visited).toContain(`/t/${tenant.slug}/pagamento-spontaneo/assicurazione-t`)
    }, 300_000)

  it('a table becomes label: value rows, its cells still cells of a table for assistive technology', async () => {
    const context = await newContext(w.browser, { width: 390 })
    const page = await context.newPage()
    await w.signIn(page, me.email, { waitFor: /area-personale/ })
    await page.goto(`${w.url}/t/${w.tenant.slug}/documenti/${documentId}`)
    const table = page.getByRole('table', { name: 'Rate' })
    await expect(table.getByRole('row').count()).resolves.toBe(4)
    // the label shown before each value, taken from the column
    const due = page.locator('#rate tbody tr').first().locator('td[data-label="Scadenza"]')
    expect(await due.evaluate((td) => getComputedStyle(td, '::before').content)).toContain('Scadenza')
    expect(await due.evaluate((td) => getComputedStyle(td).display)).toBe('block')
    // the installment as "N di M" and the notice code in groups of four
    await expect(page.locator('#rate tbody').textContent()).resolves.toContain('2 di 3')
    const groups = await page
      .locator('#rate tbody tr')
      .nth(1)
      .locator('td[data-label="Avviso pagoPA"] .code-groups > span')
      .allTextContents()
    expect(groups.length).toBe(5)
    expect(groups.slice(0, 4).every((g) => g.length === 4)).toBe(true)
    // at a desktop width it is an ordinary table again
    await page.setViewportSize({ width: 1024, height: 800 })
    expect(await due.evaluate((td) => getComputedStyle(td).display)).toBe('table-cell')
    await context.close()
  })
})

describe('the header on a phone', () => {
  for (const js of [true, false]) {
    it(`is one line, with the cart's count and a menu that opens and closes (JavaScript ${js ? 'on' : 'off'}, keyboard)`, async () => {
      const context = await newContext(w.browser, { width: 320, js })
      const page = await context.newPage()
      await w.signIn(page, me.email, { waitFor: /area-personale/ })
      const header = page.locator('header.header .header__bar')
      // one line: the bar's own height (3.25rem), not the 125 px of seven links on three lines
      expect((await header.boundingBox())?.height).toBeLessThanOrEqual(53)
      // two installments wait in the cart (one of them at the provider)
      await expect(page.locator('#header-cart .header__count').textContent()).resolves.toBe('2')
      expect(await page.locator('#header-cart').isVisible()).toBe(true)
      const menu = page.locator('details.menu')
      const archive = page.getByRole('link', { name: 'Pagamenti fatti' })
      expect(await archive.isVisible()).toBe(false)
      // by keyboard: to the menu button, Enter opens it, its links follow in the tab order
      await page.locator('summary.menu__toggle').focus()
      await page.keyboard.press('Enter')
      expect(await menu.getAttribute('open')).not.toBeNull()
      expect(await archive.isVisible()).toBe(true)
      for (let i = 0; i < 10; i++) {
        await page.keyboard.press('Tab')
        if (await archive.evaluate((a) => a === document.activeElement)) break
      }
      expect(await archive.evaluate((a) => a === document.activeElement)).toBe(true)
      await page.keyboard.press('Enter')
      await page.waitForURL(/\/archivio$/)
      // closes again with the button
      await page.locator('summary.menu__toggle').click()
      await page.locator('summary.menu__toggle').click()
      expect(await menu.getAttribute('open')).toBeNull()
      // at a desktop width the menu is a row of links, no button
      await page.setViewportSize({ width: 1024, height: 800 })
      expect(await page.locator('summary.menu__toggle').isVisible()).toBe(false)
      expect(await page.getByRole('link', { name: 'Pagamenti fatti' }).isVisible()).toBe(true)
      await context.close()
    })
  }
})

describe("the payment provider's page", () => {
  it("is visibly another site: the provider's name and colours, none of Sportello's menu", async () => {
    const context = await newContext(w.browser, { width: 390 })
    const page = await context.newPage()
    await page.goto(w.url + providerPage)
    await expect(page.locator('.provider-header').textContent()).resolves.toContain('Sandbox PSP')
    expect(await page.locator('header.header, .menu, #header-cart').count()).toBe(0)
    expect(await page.title()).not.toContain('Sportello')
    expect(await overflowAt(page, 390)).toEqual([])
    await context.close()
  })
})

describe("the cart's count in the header", () => {
  it('follows what is added and removed without a page load (JavaScript on: the swap brings the header too)', async () => {
    const context = await newContext(w.browser, { width: 390 })
    const page = await context.newPage()
    await w.signIn(page, me.email, { waitFor: /area-personale/ })
    const count = page.locator('#header-cart .header__count')
    await expect(count.textContent()).resolves.toBe('2')
    await page.goto(`${w.url}/carrello`)
    const loads: string[] = []
    page.on('load', () => loads.push(page.url()))
    await page.getByRole('button', { name: /Togli.*rata 3/ }).click()
    await page.locator('main .notice[role=status]').waitFor()
    await expect(count.textContent()).resolves.toBe('1')
    await page.goto(`${w.url}/t/${w.tenant.slug}/documenti/${documentId}`)
    loads.length = 0
    await page.locator('label[for^="rata-"]').last().click()
    await page.getByRole('button', { name: 'Metti nel carrello le rate scelte' }).click()
    await page.locator('main .notice--success').waitFor()
    await expect(count.textContent()).resolves.toBe('2')
    expect(loads).toEqual([])
    await context.close()
  })
})

describe('a payment left open, from the cart', () => {
  it('says until when, resumes at the provider and is cancelled by keyboard alone (JavaScript off)', async () => {
    const context = await newContext(w.browser, { width: 390, js: false })
    const page = await context.newPage()
    await w.signIn(page, me.email, { waitFor: /area-personale/ })
    await page.goto(`${w.url}/carrello`)
    const open = page.locator('.open-payment')
    await expect(open.textContent()).resolves.toMatch(/restano riservate fino al \d\d\/\d\d\/\d{4}/)
    await expectAccessible(page)
    expect(await overflowAt(page, 390)).toEqual([])
    // resume: the same provider page as before
    await open.getByRole('link', { name: 'Riprendi il pagamento' }).focus()
    await page.keyboard.press('Enter')
    await page.waitForURL((u) => u.pathname === providerPage)
    await page.goBack()
    await page.waitForURL(/\/carrello$/)
    // cancel: the installment is payable again at once
    await page.locator('.open-payment').getByRole('button', { name: 'Annulla il pagamento' }).focus()
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/carrello\?annullato=1$/)
    await expect(page.locator('main .notice--success').textContent()).resolves.toContain('Pagamento annullato')
    expect(await page.locator('.open-payment').count()).toBe(0)
    expect(await page.getByRole('link', { name: 'Procedi al pagamento' }).count()).toBe(1)
    await expectAccessible(page)
    await context.close()
  })
})
