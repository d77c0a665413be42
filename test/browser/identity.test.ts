// Proving a codice fiscale, as people do it: the citizen who registered meets the "verify" page instead of her
// family's data; the office prints an activation letter and confirms an account at the counter; the citizen types
// the letter's code with the keyboard, JavaScript off, and her data opens. A notice paid by its code. Axe on each
// page, the error states included.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { formatNoticeCode } from '../../src/platform/it/pagopa.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createAccount, deleteAccounts, type TestAccount } from '../helpers/accounts.ts'
import { browserWorld, expectAccessible, newContext } from '../helpers/browser.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld()
let db: Db
let tenant: Tenant
let server: World['server']
let browser: Browser
const accounts: TestAccount[] = []
let citizen: TestAccount
let office: TestAccount
let payerId: number
let noticeCode: string

beforeAll(async () => {
  ;({ db, tenant, server, browser } = w)
  citizen = await w.account({ proved: false, givenName: 'Vera', familyName: 'Titolare' })
  office = await w.account({ role: 'operatore' })
  payerId = await givePayer(db, tenant, citizen.codiceFiscale, ['Vera', 'Titolare'])
  const doc = await issue(db, tenant, payerId, [4500], { description: 'Retta del nido di Vera' })
  const [row] = await withTenant(
    db.sql,
    tenant,
    (tx) =>
      tx<
        { notice_code: string }[]
      >`select notice_code from installments where id = ${doc.installments[0]?.id as number}`,
  )
  noticeCode = row?.notice_code as string
})

afterAll(async () => {
  await deleteAccounts(db, accounts)
})

/** Does what submits a form and waits for the page that answers it (the address may stay the same). */
async function submitting(page: Page, act: () => Promise<void>) {
  await Promise.all([page.waitForEvent('framenavigated'), act()])
  await page.waitForLoadState('load')
}

const signIn = (page: Page, account: TestAccount) => w.signIn(page, account.email, { waitFor: /area-personale/ })

describe('proving a codice fiscale', () => {
  it('the family, the office and the letter, by keyboard with JavaScript off', { timeout: 180_000 }, async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await signIn(page, citizen)
    // the personal area says what to do; the family's pages say why they stay closed
    expect(await page.textContent('main')).toContain('Verifica il tuo codice fiscale')
    await expectAccessible(page)
    const closed = await page.goto(`${server.url}/mensa`)
    expect(closed?.status()).toBe(403)
    await expectAccessible(page)
    await page.goto(`${server.url}/posizione-debitoria`)
    expect(await page.textContent('main')).not.toContain('Retta del nido di Vera')
    // the verify page, and its error state
    await page.goto(`${server.url}/profilo/verifica`)
    await expectAccessible(page)
    await page.focus('#codice')
    await page.keyboard.type('1234')
    await submitting(page, () => page.keyboard.press('Enter'))
    expect(await page.title()).toMatch(/^Errore/)
    expect(await page.inputValue('#codice')).toBe('1234')
    await expectAccessible(page)

    // the office: the payer's page lists the claim; a letter is printed
    const officeContext = await newContext(browser, { js: false })
    const desk = await officeContext.newPage()
    await signIn(desk, office)
    await desk.goto(`${server.url}/t/${tenant.slug}/ufficio/anagrafiche/intestatari/${payerId}`)
    expect(await desk.textContent('main')).toContain(citizen.email)
    await expectAccessible(desk)
    await desk.goto(
      `${server.url}/t/${tenant.slug}/ufficio/anagrafiche/intestatari/${payerId}/conferma-account/${citizen.id}`,
    )
    await expectAccessible(desk)
    await submitting(desk, () => desk.click('main button[type=submit]'))
    expect(await desk.title()).toMatch(/^Errore/)
    await expectAccessible(desk)
    await desk.goto(`${server.url}/t/${tenant.slug}/ufficio/anagrafiche/intestatari/${payerId}`)
    await submitting(desk, () => desk.click('text=Stampa la lettera di attivazione'))
    await expectAccessible(desk)
    const code = /\b([A-Z2-9]{4}-[A-Z2-9]{4})\b/.exec((await desk.textContent('.letter')) ?? '')?.[1] as string
    expect(code).toBeTruthy()

    // the citizen types the letter's code
    await page.goto(`${server.url}/profilo/verifica`)
    await page.fill('#codice', code)
    await page.focus('#codice')
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/profilo\?salvato=codice-fiscale/)
    expect(await page.textContent('main')).toContain('Il codice fiscale è verificato')
    await expectAccessible(page)
    await page.goto(`${server.url}/posizione-debitoria`)
    expect(await page.textContent('main')).toContain('Retta del nido di Vera')
    await officeContext.close()
    await context.close()
  })

  it('pays a notice by its code without any proof', async () => {
    const stranger = await createAccount(db, { proved: false })
    accounts.push(stranger)
    const context = await newContext(browser)
    const page = await context.newPage()
    await signIn(page, stranger)
    await page.goto(`${server.url}/t/${tenant.slug}`)
    await page.click('text=Paga un avviso con il codice avviso')
    await expectAccessible(page)
    await page.fill('#codice', '3000')
    await submitting(page, () => page.click('main button[type=submit]'))
    expect(await page.title()).toMatch(/^Errore/)
    await expectAccessible(page)
    await page.fill('#codice', formatNoticeCode(noticeCode))
    await page.click('main button[type=submit]')
    await page.waitForURL(/\/carrello/)
    expect(await page.textContent('main')).toContain('Retta del nido di Vera')
    await context.close()
  })
})
