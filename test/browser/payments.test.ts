// The whole payment journey in Chromium, with JavaScript on and off: sign in, debt position, choose
// installments from two tenants, cart, check, pay at the sandbox provider, back, receipt, archive — axe
// on every page and error state.
import type { Browser, Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { browserWorld, expectAccessible, expectReflow, newContext, pageWeight } from '../helpers/browser.ts'
import { settings } from '../helpers/db.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld()
let db: Db
let a: Tenant
let b: Tenant
let server: World['server']
let browser: Browser

beforeAll(async () => {
  ;({ db, tenant: a, server, browser } = w)
  b = await w.newTenant({ settings: settings({ commission: { type: 'grossup', basisPoints: 150 } }) })
})

async function family() {
  const me = await w.account({ givenName: 'Maria', familyName: 'Bruni' })
  const pa = await givePayer(db, a, me.codiceFiscale, ['Maria', 'Bruni'])
  const pb = await givePayer(db, b, me.codiceFiscale, ['Maria', 'Bruni'])
  const docA = await issue(db, a, pa, [6400, 6400], { description: 'Mensa scolastica ottobre–novembre' })
  const docB = await issue(db, b, pb, [15460], { service: 'trasporto', description: 'Trasporto scolastico annuale' })
  return { me, docA, docB }
}

const login = (page: Page, email: string) => w.signIn(page, email, { waitFor: '/area-personale' })

async function journey(js: boolean) {
  const { me, docA, docB } = await family()
  const context = await newContext(browser, { js })
  const page = await context.newPage()
  await login(page, me.email)
  await page.getByRole('link', { name: 'Posizione debitoria' }).first().click()
  await expectAccessible(page)
  expect(await page.locator('main').textContent()).toContain('Trasporto scolastico annuale')

  // tenant A: choose the first installment only
  await page.getByRole('link', { name: 'Mensa scolastica ottobre–novembre' }).click()
  await expectAccessible(page)
  await page.check(`#rata-${docA.installments[0]?.id}`)
  await page.getByRole('button', { name: 'Metti nel carrello le rate scelte' }).click()
  await expectAccessible(page)
  await expect(page.locator('main .notice--success').textContent()).resolves.toContain('Avvisi aggiunti al carrello: 1')
  if (js) {
    // htmx swapped <main> only: focus is on the message and the live region announced it
    await page.waitForFunction(() => document.getElementById('announcer')?.textContent?.includes('aggiunti'))
    expect(await page.evaluate(() => document.activeElement?.classList.contains('notice--success'))).toBe(true)
  }

  // tenant B: the whole document
  await page.goto(`${server.url}/t/${b.slug}/documenti/${docB.documentId}`)
  await page.getByRole('button', { name: /Paga tutto il documento/ }).click()
  await page.goto(`${server.url}/carrello`)
  await expectAccessible(page)
  await expectReflow(context, `${server.url}/carrello`)
  await page.getByRole('link', { name: 'Procedi al pagamento' }).click()
  await expectAccessible(page)
  const summary = await page.locator('main').textContent()
  expect(summary).toContain('2,36\u00a0€')
  expect(summary).toContain('220,96\u00a0€')
  await page.getByRole('button', { name: /Paga 220,96/ }).click()

  // the sandbox provider's hosted page: a refused card first (422 stays on the form), then a good card
  await page.waitForURL(/\/sandbox-psp\/paga\//)
  await expectAccessible(page)
  await page.fill('#cardholder-name', 'Maria Bruni')
  await page.fill('#card-number', '4242 4242 4242 4241')
  await page.fill('#expiry-month', '12')
  await page.fill('#expiry-year', String(new Date().getFullYear() + 2))
  await page.fill('#cvv', '123')
  await page.click('main form button[type=submit]')
  expect(await page.title()).toMatch(/^Errore/)
  await expectAccessible(page)
  await page.fill('#card-number', '4242 4242 4242 4242')
  await page.fill('#cvv', '123')
  await page.click('main form button[type=submit]')
  await page.waitForURL(/\/pagamenti\/\d+$/)
  // "in corso" until the outcome: reload (JS off: the page refreshes itself) until it is final
  for (let i = 0; i < 40 && !(await page.locator('h1').textContent())?.includes('riuscito'); i++) {
    await page.waitForTimeout(250)
    if (!js) await page.reload()
  }
  await expect(page.locator('h1').textContent()).resolves.toBe('Pagamento riuscito')
  await expectAccessible(page)
  const receiptHref = await page.getByRole('link', { name: /Scarica la ricevuta/ }).getAttribute('href')
  const pdf = await page.request.get(server.url + receiptHref)
  expect(pdf.headers()['content-type']).toBe('application/pdf')

  await page.getByRole('link', { name: 'Pagamenti fatti' }).first().click()
  await expectAccessible(page)
  expect(await page.locator('main').textContent()).toContain('Trasporto scolastico annuale')

  // paid installments show as paid; the second one of A is still payable
  await page.goto(`${server.url}/t/${a.slug}/documenti/${docA.documentId}`)
  const statuses = await withTenant(
    db.sql,
    a,
    (tx) => tx<{ status: string }[]>`
    select status from installments where document_id = ${docA.documentId} order by seq`,
  )
  expect(statuses.map((s) => s.status)).toEqual(['pagato', 'da_pagare'])
  await context.close()
  return me
}

describe('paying in Chromium', () => {
  it('the whole journey with JavaScript on', async () => {
    await journey(true)
  })

  it('the whole journey with JavaScript off', async () => {
    await journey(false)
  })

  it('cancel at the provider brings the citizen back to a clear page; axe on the status pages', async () => {
    const { me, docA } = await family()
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await login(page, me.email)
    await page.goto(`${server.url}/t/${a.slug}/documenti/${docA.documentId}`)
    await page.getByRole('button', { name: /Paga tutto il documento/ }).click()
    await page.goto(`${server.url}/carrello/riepilogo`)
    await page.getByRole('button', { name: /^Paga / }).click()
    await page.waitForURL(/\/sandbox-psp\/paga\//)
    await page.getByRole('button', { name: /Annulla/ }).click()
    await page.waitForURL(/\/pagamenti\/\d+$/)
    for (let i = 0; i < 40 && !(await page.locator('h1').textContent())?.includes('annullato'); i++) {
      await page.waitForTimeout(250)
      await page.reload()
    }
    await expect(page.locator('h1').textContent()).resolves.toBe('Pagamento annullato')
    await expectAccessible(page)
    await context.close()
  })

  it('citizen pages stay under the first-round-trip budget', async () => {
    const { me } = await family()
    const context = await newContext(browser)
    const page = await context.newPage()
    await login(page, me.email)
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ')
    const weights: Record<string, number> = {}
    for (const path of ['/posizione-debitoria', '/carrello', '/archivio', '/area-personale']) {
      const w = await pageWeight(server.url + path, cookie)
      weights[path] = w.total
      expect(w.total, path).toBeLessThan(14 * 1024)
    }
    console.log('page weight (HTML + CSS, gzip, bytes):', weights)
    await context.close()
  })
})
