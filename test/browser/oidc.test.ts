// SPID / CIE sign-in in Chromium against a real OpenID provider (oidc-provider) on a loopback port: axe on the
// login page with the buttons, the email page and the refusal page; the whole journey with JavaScript off.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startOidcProvider } from '../../src/features/oidc/test-provider.ts'
import type { Db } from '../../src/platform/db.ts'
import { taggedCf } from '../helpers/accounts.ts'
import { browserWorld, expectAccessible, expectReflow, newContext } from '../helpers/browser.ts'
import type { World } from '../helpers/world.ts'

let db: Db
let op: Awaited<ReturnType<typeof startOidcProvider>>
let server: World['server']
let browser: Browser
const run = Math.random().toString(36).slice(2, 8)
const email = (who: string) => `${who}.${run}@oidc-browser.example.it`

const freshCf = () => taggedCf('BRW')

beforeAll(async () => {
  op = await startOidcProvider()
})
const w = browserWorld({ tenant: false, env: () => op.env })

beforeAll(() => {
  ;({ db, server, browser } = w)
  op.register(server.url)
})

afterAll(async () => {
  await op?.close()
  await db.sql`delete from platform.accounts where email like ${`%.${run}@oidc-browser.example.it`}`
})

/** At the provider's development pages: sign in as `who` (any password), then consent. */
async function atProvider(page: Page, who: string) {
  expect(page.url().startsWith(op.issuer)).toBe(true)
  await page.fill('input[name=login]', who)
  await page.fill('input[name=password]', 'x')
  await page.click('button[type=submit]')
  await page.waitForLoadState()
  if (page.url().startsWith(op.issuer)) await page.click('button[type=submit]')
  await page.waitForLoadState()
}

describe('SPID / CIE sign-in in Chromium', () => {
  it('the login page with the buttons has no axe violation, in both languages, and reflows at 320 px', async () => {
    for (const [lang, spid, cie] of [
      ['it', 'Entra con SPID', 'Entra con CIE'],
      ['en', 'Sign in with SPID', 'Sign in with CIE'],
    ] as const) {
      const context = await newContext(browser)
      await context.addCookies([{ name: 'lang', value: lang, url: server.url }])
      const page = await context.newPage()
      await page.goto(`${server.url}/accesso`)
      for (const name of [spid, cie]) {
        const link = page.getByRole('link', { name, exact: true })
        expect(await link.count()).toBe(1)
        expect(await link.getAttribute('href')).toBe('/accesso/spid')
      }
      await expectAccessible(page)
      await expectReflow(context, `${server.url}/accesso`)
      await context.close()
    }
  })

  it('signs in with JavaScript off, from the button to the page asked for', async () => {
    const code = freshCf()
    op.people.set('senzajs', {
      fiscal_number: `TINIT-${code}`,
      given_name: 'Lucia',
      family_name: 'Senzajs',
      email: email('senzajs'),
      email_verified: true,
    })
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    // a protected page sends to the login page, which carries the return path through the sign-in
    await page.goto(`${server.url}/profilo`)
    expect(new URL(page.url()).pathname).toBe('/accesso')
    await page.getByRole('link', { name: 'Entra con SPID' }).click()
    await atProvider(page, 'senzajs')
    expect(page.url()).toBe(`${server.url}/profilo`)
    expect(await page.locator('h1').count()).toBe(1)
    expect(await page.textContent('main')).toContain(code)
    await context.close()
  })

  it('the email page and its error state have no axe violation; the account is created', async () => {
    const code = freshCf()
    op.people.set('senzaemail', { fiscal_number: `TINIT-${code}`, given_name: 'Marco', family_name: 'Senza' })
    const context = await newContext(browser)
    const page = await context.newPage()
    await page.goto(`${server.url}/accesso`)
    await page.getByRole('link', { name: 'Entra con CIE' }).click()
    await atProvider(page, 'senzaemail')
    expect(page.url()).toBe(`${server.url}/accesso/spid/email`)
    await expectAccessible(page)
    await page.fill('#email', 'non-una-email')
    await page.click('main button[type=submit]')
    expect(await page.title()).toMatch(/^Errore: /)
    expect(await page.locator('.error-summary a[href="#email"]').count()).toBe(1)
    // the summary takes the focus so that it is announced
    expect(await page.evaluate(() => document.activeElement?.classList.contains('error-summary'))).toBe(true)
    await expectAccessible(page)
    await page.fill('#email', email('senzaemail'))
    await page.click('main button[type=submit]')
    expect(page.url()).toBe(`${server.url}/area-personale`)
    const [a] = await db.sql<{ email: string }[]>`
      select email from platform.accounts where codice_fiscale = ${code}`
    expect(a?.email).toBe(email('senzaemail'))
    await context.close()
  })

  it('cancelling at the provider ends on a calm page with no axe violation', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    await page.goto(`${server.url}/accesso/spid`)
    expect(page.url().startsWith(op.issuer)).toBe(true)
    await page.locator('a[href$="/abort"]').click()
    await page.waitForLoadState()
    expect(new URL(page.url()).pathname).toBe('/accesso/spid/callback')
    expect(await page.textContent('h1')).toBe('Accesso annullato')
    await expectAccessible(page)
    await page.getByRole('link', { name: 'Torna alla pagina di accesso' }).click()
    expect(new URL(page.url()).pathname).toBe('/accesso')
    await context.close()
  })
})
