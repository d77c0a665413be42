// Account and office pages in Chromium: axe on every page and error state, journeys with JavaScript off
// and by keyboard alone.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createAccount, deleteAccounts, randomCf, TEST_PASSWORD, type TestAccount } from '../helpers/accounts.ts'
import { browserWorld, expectAccessible, expectReflow, newContext } from '../helpers/browser.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld({ roles: ['admin', 'operatorePiattaforma'] })
let db: Db
let tenant: Tenant
let server: World['server']
let browser: Browser
let admin: TestAccount
let operator: TestAccount
const run = Math.random().toString(36).slice(2, 8)

beforeAll(() => {
  ;({ db, tenant, server, browser } = w)
  ;({ admin, operatorePiattaforma: operator } = w.accounts)
})

afterAll(async () => {
  await db.sql`delete from platform.accounts where email like ${`%.${run}@example.it`}`
})

async function loginAs(page: Page, email: string, password = TEST_PASSWORD) {
  await page.goto(`${server.url}/accesso`)
  await page.fill('#email', email)
  await page.fill('#password', password)
  await page.click('button[type=submit]')
}

async function latestMailLink(page: Page, to: string, path: string): Promise<string> {
  await page.goto(`${server.url}/dev/mail`)
  await expectAccessible(page)
  await page.locator('tr', { hasText: to }).first().getByRole('link').click()
  await expectAccessible(page)
  const href = await page.locator(`a[href*="${path}"]`).first().getAttribute('href')
  return new URL(href as string).pathname
}

describe('account journeys in Chromium', () => {
  it('registers, confirms through /dev/mail, logs in and out with JavaScript off; axe on every page', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    const email = `nuovo.${run}@example.it`
    await page.goto(`${server.url}/registrazione`)
    await expectAccessible(page)
    // bad input: error summary, focusable, fields marked
    await page.fill('#givenName', 'Anna')
    await page.fill('#codiceFiscale', 'RSSMRA80A01I726X')
    await page.click('button[type=submit]')
    expect(await page.title()).toMatch(/^Errore: /)
    await expect(page.locator('.error-summary a[href="#codiceFiscale"]').count()).resolves.toBe(1)
    expect(await page.inputValue('#givenName')).toBe('Anna')
    await expectAccessible(page)
    await page.fill('#familyName', 'Rossi')
    await page.fill('#codiceFiscale', randomCf())
    await page.fill('#email', email)
    await page.fill('#password', TEST_PASSWORD)
    await page.fill('#passwordConfirm', TEST_PASSWORD)
    await page.check('#terms')
    await page.click('button[type=submit]')
    await expect(page.locator('h1').textContent()).resolves.toBe('Controlla la tua email')
    await expectAccessible(page)
    const link = await latestMailLink(page, email, '/conferma-email/')
    await page.goto(server.url + link)
    await expect(page.locator('h1').textContent()).resolves.toBe('Indirizzo email confermato')
    await expectAccessible(page)
    await loginAs(page, email, 'sbagliata sbagliata')
    await expect(page.locator('.error-summary').textContent()).resolves.toContain('Email o password non corretti')
    await expectAccessible(page)
    await loginAs(page, email)
    expect(new URL(page.url()).pathname).toBe('/area-personale')
    await expectAccessible(page)
    for (const path of ['/profilo', '/profilo/modifica', '/profilo/password', '/profilo/elimina']) {
      await page.goto(server.url + path)
      await expectAccessible(page)
    }
    // error states of the profile forms
    await page.goto(`${server.url}/profilo/modifica`)
    await page.fill('#phone', 'abc')
    await page.click('main button[type=submit]')
    await expectAccessible(page)
    await page.goto(`${server.url}/profilo/password`)
    await page.click('main button[type=submit]')
    expect(await page.title()).toMatch(/^Errore: /)
    await expectAccessible(page)
    await page.getByRole('button', { name: 'Esci' }).click()
    expect(new URL(page.url()).pathname).toBe('/')
    await page.goto(`${server.url}/profilo`)
    expect(new URL(page.url()).pathname).toBe('/accesso')
    await context.close()
  })

  it('resets a forgotten password with JavaScript on; axe on each step', async () => {
    const account = await createAccount(db)
    const context = await newContext(browser)
    const page = await context.newPage()
    await page.goto(`${server.url}/password-dimenticata`)
    await expectAccessible(page)
    await page.click('main button[type=submit]')
    await expectAccessible(page)
    await page.fill('#email', account.email)
    await page.click('main button[type=submit]')
    await expectAccessible(page)
    const link = await latestMailLink(page, account.email, '/reimposta-password/')
    await page.goto(server.url + link)
    await expectAccessible(page)
    await page.fill('#password', 'corta')
    await page.click('main button[type=submit]')
    await expectAccessible(page)
    // the error summary takes the focus on load
    expect(await page.evaluate(() => document.activeElement?.classList.contains('error-summary'))).toBe(true)
    await page.fill('#password', 'una nuova frase lunga')
    await page.fill('#passwordConfirm', 'una nuova frase lunga')
    await page.click('main button[type=submit]')
    await expect(page.locator('h1').textContent()).resolves.toBe('Password cambiata')
    await expectAccessible(page)
    await deleteAccounts(db, [account])
    await context.close()
  })

  it('logs in by keyboard alone', async () => {
    const account = await createAccount(db)
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await page.goto(`${server.url}/accesso`)
    await page.locator('#email').focus()
    await page.keyboard.type(account.email)
    await page.keyboard.press('Tab')
    await page.keyboard.type(TEST_PASSWORD)
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Accedi')
    await page.keyboard.press('Enter')
    await page.waitForURL(`${server.url}/area-personale`)
    await deleteAccounts(db, [account])
    await context.close()
  })

  it('office, members, platform console and refusal pages pass axe and reflow at 320 px', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    await loginAs(page, admin.email)
    for (const path of [`/t/${tenant.slug}/ufficio`, `/t/${tenant.slug}/ufficio/membri`]) {
      await page.goto(server.url + path)
      await expectAccessible(page)
      await expectReflow(context, server.url + path)
    }
    await page.goto(`${server.url}/t/${tenant.slug}/ufficio/membri`)
    await page.click('form[action$="/ufficio/membri"] button[type=submit]')
    expect(await page.title()).toMatch(/^Errore: /)
    await expectAccessible(page)
    const forbidden = await page.goto(`${server.url}/piattaforma`)
    expect(forbidden?.status()).toBe(403)
    await expectAccessible(page)
    await context.close()

    const opContext = await newContext(browser)
    const opPage = await opContext.newPage()
    await loginAs(opPage, operator.email)
    await opPage.goto(`${server.url}/piattaforma`)
    await expectAccessible(opPage)
    await expectReflow(opContext, `${server.url}/piattaforma`)
    await opContext.close()
  })

  it('the CSRF refusal page is calm and accessible', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    await page.goto(`${server.url}/accesso`)
    await page.evaluate(() => {
      const input = document.querySelector('input[name=_csrf]') as HTMLInputElement
      input.value = 'scaduto'
    })
    await page.fill('#email', 'x@example.it')
    await page.fill('#password', 'qualcosa di lungo')
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.click('main button[type=submit]'),
    ])
    expect(res.status()).toBe(403)
    await expect(page.locator('h1').textContent()).resolves.toBe('Il modulo è scaduto')
    await expectAccessible(page)
    await context.close()
  })
})
