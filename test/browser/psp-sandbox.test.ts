// The sandbox PSP's hosted pages in Chromium: axe on every page in both languages, JavaScript off, keyboard
// only, 320 px, page weight.
import type { Browser, Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { createSandboxProvider } from '../../src/features/psp/sandbox.ts'
import type { Db } from '../../src/platform/db.ts'
import type { PaymentProvider } from '../../src/platform/payment-provider.ts'
import { browserWorld, expectAccessible, expectReflow, newContext, pageWeight } from '../helpers/browser.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld({ tenant: false })
let db: Db
let server: World['server']
let browser: Browser
let provider: PaymentProvider
let seq = 0

beforeAll(async () => {
  ;({ db, server, browser } = w)
  provider = createSandboxProvider(server.deps.config)
})

/** A fresh session; the citizen comes back to the home page (any page of the app would do). */
async function newSession(lang: 'it' | 'en' = 'it') {
  seq++
  const returnUrl = `${server.url}/?ritorno=${seq}`
  const started = await provider.start({
    paymentId: 50_000 + seq,
    idempotencyKey: `browser-${Date.now()}-${seq}`,
    amountCents: 4_250,
    description: 'Trasporto scolastico – secondo quadrimestre',
    payerEmail: null,
    returnUrl,
    // this server's own origin (the sandbox takes no other), at an address that answers 404: delivery fails and is
    // retried later, which these tests do not look at
    notifyUrl: `${server.url}/notifiche-di-prova`,
    lang,
  })
  return { ...started, returnUrl, path: new URL(started.redirectUrl).pathname }
}

async function expire(ref: string) {
  await db.admin`update platform.sandbox_psp_sessions set expires_at = now() - interval '1 second' where id = ${ref}`
}

async function statusOf(ref: string): Promise<string> {
  const [row] = await db.admin<{ status: string }[]>`select status from platform.sandbox_psp_sessions where id = ${ref}`
  return row?.status ?? 'missing'
}

const year = String(new Date().getFullYear() + 2)

async function fillCard(page: Page, number: string, labels = { name: 'Nome del titolare della carta' }) {
  await page.getByLabel(labels.name).fill('Maria Rossi')
  await page.locator('#card-number').fill(number)
  await page.locator('#expiry-month').fill('09')
  await page.locator('#expiry-year').fill(year)
  await page.locator('#cvv').fill('123')
}

describe('sandbox PSP pages in Chromium', () => {
  it('axe finds no WCAG 2.2 A/AA violation on any sandbox page, in both languages', async () => {
    for (const lang of ['it', 'en'] as const) {
      const context = await newContext(browser)
      await context.addCookies([{ name: 'lang', value: lang, url: server.url }])
      const page = await context.newPage()
      const check = async (url: string, status: number, what: string) => {
        const res = await page.goto(url)
        expect(res?.status(), `${lang} ${what}`).toBe(status)
        expect(await page.getAttribute('html', 'lang')).toBe(lang)
        expect(await page.locator('h1').count()).toBe(1)
        await expectAccessible(page)
      }
      // the card page, then the same page with every error
      const fresh = await newSession(lang)
      await check(fresh.redirectUrl, 200, 'card page')
      await page.locator('details summary').click()
      await expectAccessible(page)
      const [res] = await Promise.all([
        page.waitForResponse(fresh.redirectUrl),
        page.locator('form button.button').first().click(),
      ])
      expect(res.status()).toBe(422)
      await page.waitForLoadState('domcontentloaded')
      expect(await page.locator('.error-summary a').count()).toBe(4)
      await expectAccessible(page)
      // refused
      const refused = await newSession(lang)
      await page.goto(refused.redirectUrl)
      await fillCard(page, '4000000000000002', {
        name: lang === 'it' ? 'Nome del titolare della carta' : 'Name on card',
      })
      await page.locator('form button.button').first().click()
      await page.waitForURL(refused.redirectUrl)
      await check(refused.redirectUrl, 200, 'refused')
      // processing (the hanging card), then expired
      const hanging = await newSession(lang)
      await page.goto(hanging.redirectUrl)
      await fillCard(page, '4000000000000259', {
        name: lang === 'it' ? 'Nome del titolare della carta' : 'Name on card',
      })
      await page.locator('form button.button').first().click()
      await page.waitForURL(hanging.returnUrl)
      await check(hanging.redirectUrl, 200, 'processing')
      await expire(hanging.providerRef)
      await check(hanging.redirectUrl, 410, 'expired')
      // cancelled, seen again
      const cancelled = await newSession(lang)
      await page.goto(cancelled.redirectUrl)
      await page.locator('form[action$="/annulla"] button').click()
      await page.waitForURL(cancelled.returnUrl)
      await check(cancelled.redirectUrl, 200, 'cancelled')
      await context.close()
    }
  })

  it('pays with JavaScript off: fill in, submit, back at the merchant', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    const s = await newSession()
    await page.goto(s.redirectUrl)
    expect(await page.getByText('Hai 8 minuti per pagare').isVisible()).toBe(true)
    // the test cards are one click away
    await page.getByText('Carte di prova').click()
    expect(await page.getByText('4242 4242 4242 4242').isVisible()).toBe(true)
    // a mistake first: the same page comes back with the summary and the input kept
    await fillCard(page, '4242 4242 4242 4243')
    await page.getByRole('button', { name: /^Paga/ }).click()
    expect(await page.locator('.error-summary').isVisible()).toBe(true)
    expect(await page.title()).toMatch(/^Errore: /)
    expect(await page.locator('#card-number').inputValue()).toBe('4242 4242 4242 4243')
    expect(await page.getByLabel('Nome del titolare della carta').inputValue()).toBe('Maria Rossi')
    await page.locator('#card-number').fill('4242 4242 4242 4242')
    await page.getByRole('button', { name: /^Paga/ }).click()
    await page.waitForURL(s.returnUrl)
    expect(await statusOf(s.providerRef)).toBe('succeeded')

    // refused: the page says so and links back
    const r = await newSession()
    await page.goto(r.redirectUrl)
    await fillCard(page, '4000 0000 0000 0002')
    await page.getByRole('button', { name: /^Paga/ }).click()
    expect(await page.locator('h1').textContent()).toBe('Pagamento rifiutato')
    await page.getByRole('link', { name: "Torna al sito dell'ente" }).click()
    await page.waitForURL(r.returnUrl)
    expect(await statusOf(r.providerRef)).toBe('failed')

    // expired: 410 with the way back
    const e = await newSession()
    await expire(e.providerRef)
    const res = await page.goto(e.redirectUrl)
    expect(res?.status()).toBe(410)
    await page.getByRole('link', { name: "Torna al sito dell'ente" }).click()
    await page.waitForURL(e.returnUrl)
    await context.close()
  })

  it('by keyboard alone: error summary, fix, pay; and cancel with Space', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    const s = await newSession()
    await page.goto(s.redirectUrl)
    const active = () => page.evaluate(() => document.activeElement?.id ?? '')
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Salta al contenuto principale')
    // Tab through the header to the first field (the header's links may change; the order after it may not)
    for (let i = 0; i < 30 && (await active()) !== 'cardholder-name'; i++) await page.keyboard.press('Tab')
    expect(await active()).toBe('cardholder-name')
    await page.keyboard.type('Maria Rossi')
    await page.keyboard.press('Tab')
    expect(await active()).toBe('card-number')
    await page.keyboard.type('4242 4242 4242 4241')
    await page.keyboard.press('Tab')
    expect(await active()).toBe('expiry-month')
    await page.keyboard.type('09')
    await page.keyboard.press('Tab')
    expect(await active()).toBe('expiry-year')
    await page.keyboard.type(year)
    await page.keyboard.press('Tab')
    expect(await active()).toBe('cvv')
    await page.keyboard.type('123')
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toMatch(/^Paga /)
    await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')])
    // app.js puts focus on the error summary; its link takes focus to the field
    await page.waitForFunction(() => document.activeElement?.classList.contains('error-summary'))
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.getAttribute('href'))).toBe('#card-number')
    await page.keyboard.press('Enter')
    expect(await active()).toBe('card-number')
    await page.keyboard.press('ControlOrMeta+a')
    await page.keyboard.type('4242 4242 4242 4242')
    for (
      let i = 0;
      i < 6 && !/^Paga /.test((await page.evaluate(() => document.activeElement?.textContent)) ?? '');
      i++
    )
      await page.keyboard.press('Tab')
    await Promise.all([page.waitForURL(s.returnUrl), page.keyboard.press('Enter')])
    expect(await statusOf(s.providerRef)).toBe('succeeded')

    const c = await newSession()
    await page.goto(c.redirectUrl)
    for (
      let i = 0;
      i < 40 && (await page.evaluate(() => document.activeElement?.textContent)) !== 'Annulla il pagamento';
      i++
    )
      await page.keyboard.press('Tab')
    await Promise.all([page.waitForURL(c.returnUrl), page.keyboard.press('Space')])
    expect(await statusOf(c.providerRef)).toBe('cancelled')
    await context.close()
  })

  it('names its controls and landmarks for assistive technology', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    const s = await newSession()
    await page.goto(s.redirectUrl)
    const snapshot = await page.locator('body').ariaSnapshot()
    for (const part of [
      'banner',
      'main',
      'contentinfo',
      'heading "Inserisci i dati della carta" [level=1]',
      'textbox "Nome del titolare della carta"',
      'textbox "Numero della carta"',
      'group "Data di scadenza"',
      'textbox "Mese"',
      'textbox "Anno"',
      'textbox "Codice di sicurezza"',
      'button "Paga 42,50 €"',
      'button "Annulla il pagamento"',
    ]) {
      expect(snapshot).toContain(part)
    }
    await context.close()
  })

  it('reflows at 320 px: card page, errors, outcomes', async () => {
    const context = await newContext(browser)
    const s = await newSession()
    await expectReflow(context, s.redirectUrl)
    const page = await context.newPage()
    await page.setViewportSize({ width: 320, height: 640 })
    await page.goto(s.redirectUrl)
    await page.locator('form button.button').first().click()
    await page.waitForSelector('.error-summary')
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320)
    await page.close()
    const e = await newSession()
    await expire(e.providerRef)
    await expectReflow(context, e.redirectUrl)
    await context.close()
  })

  it('stays under the 14 KB first-round-trip budget (HTML + CSS, compressed)', async () => {
    const s = await newSession()
    const w = await pageWeight(s.redirectUrl)
    console.log('sandbox card page weight (HTML + CSS, gzip, bytes):', w)
    expect(w.total).toBeLessThan(14 * 1024)
  })
})
