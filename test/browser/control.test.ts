// Payment control in Chromium: every view with axe, the filters with JavaScript off, reflow at 320 px.
import type { Browser, Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { randomCf, type TestAccount } from '../helpers/accounts.ts'
import { browserWorld, expectAccessible, expectReflow, newContext } from '../helpers/browser.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld({ roles: ['lettore'] })
let db: Db
let tenant: Tenant
let server: World['server']
let browser: Browser
let reader: TestAccount

beforeAll(async () => {
  ;({ db, tenant, server, browser } = w)
  reader = w.accounts.lettore
  const a = await givePayer(db, tenant, randomCf(), ['Mario', 'Rossi'])
  const b = await givePayer(db, tenant, randomCf(), ['Anna', 'Bianchi'])
  await issue(db, tenant, a, [1000, 2050], { firstDue: -20 })
  await issue(db, tenant, b, [12345], { service: 'trasporto', firstDue: -5, description: 'Trasporto' })
})

const login = (page: Page) => w.signIn(page, reader.email)

describe('payment control in Chromium', () => {
  it('every view is accessible and the filters work with JavaScript off', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await login(page)
    await page.goto(`${server.url}/t/${tenant.slug}/ufficio`)
    await page.getByRole('link', { name: 'Controllo pagamenti' }).click()
    await expectAccessible(page)
    await expect(page.locator('main').textContent()).resolves.toContain('Rossi Mario')
    await page.selectOption('#anno', 'tutti')
    await page.selectOption('#stato', 'scaduto')
    await page.getByRole('button', { name: 'Applica i filtri' }).click()
    expect(new URL(page.url()).searchParams.get('stato')).toBe('scaduto')
    await expectAccessible(page)
    for (const view of ['Per alunno', 'Morosi', 'Pagamenti ricevuti']) {
      await page
        .getByRole('navigation', { name: 'Viste del controllo pagamenti' })
        .getByRole('link', { name: view })
        .click()
      await expect(page.locator('h1').textContent()).resolves.toBeTruthy()
      await expectAccessible(page)
    }
    // the filters travel from view to view
    expect(new URL(page.url()).searchParams.get('anno')).toBe('tutti')
    await context.close()
  })

  it('reflows at 320 px', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    await login(page)
    await expectReflow(context, `${server.url}/t/${tenant.slug}/ufficio/pagamenti?anno=tutti`)
    await expectReflow(context, `${server.url}/t/${tenant.slug}/ufficio/pagamenti/morosi?anno=tutti`)
    await context.close()
  })
})
