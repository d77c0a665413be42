// Spontaneous payment and tax certificate in Chromium, with JavaScript on and off: tenant home, choose the
// service, the form and its errors, check (€ 154,60 + € 2,36 = € 156,96), change, pay at the sandbox provider,
// back to "Pagamento riuscito"; then the certificate of the pupil paid for. axe on every page and error state.
import type { Browser, Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { browserWorld, expectAccessible, expectReflow, newContext } from '../helpers/browser.ts'
import { givePayer } from '../helpers/payments.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld({ tenant: false })
let db: Db
let m: Tenant
let n: Tenant
let s: Tenant
let server: World['server']
let browser: Browser
const THIS_YEAR = Number(todayRome().slice(0, 4))

beforeAll(async () => {
  ;({ db, server, browser } = w)
  m = await w.newTenant({
    settings: {
      cutoff: '09:15',
      commission: { type: 'grossup', basisPoints: 150 },
      reminderDays: [-7, 0, 7],
      lowBalanceMeals: 3,
    },
    services: [
      {
        code: 'refezione',
        kind: 'mensa',
        name: 'Refezione scolastica',
        causale: 'Refezione scolastica',
        spontaneous: true,
        amountMode: 'importo',
      },
      {
        code: 'pasti',
        kind: 'mensa',
        name: 'Pasti della mensa',
        causale: 'Pasti della mensa',
        spontaneous: true,
        amountMode: 'quantita',
        unitPriceCents: 580,
      },
    ],
  })
  n = await w.newTenant({
    services: [
      { code: 'nido', kind: 'nido', name: 'Nido', causale: 'Retta nido', spontaneous: false, amountMode: 'importo' },
    ],
  })
  s = await w.newTenant()
  await db.admin`update platform.tenants set status = 'suspended' where id = ${s.id}`
})

/** A parent with a child known to tenant m. */
async function family(opts: { confirmed?: boolean } = {}) {
  const me = await w.account({ givenName: 'Mario', familyName: 'Rossi', confirmed: opts.confirmed })
  const payer = await givePayer(db, m, me.codiceFiscale, ['Mario', 'Rossi'])
  const pupilId = await withTenant(db.sql, m, async (tx) => {
    const [p] = await tx<
      { id: number }[]
    >`insert into pupils (given_name, family_name) values ('Luca', 'Rossi') returning id`
    await tx`insert into pupil_payers (pupil_id, payer_id, holder) values (${(p as { id: number }).id}, ${payer}, true)`
    return (p as { id: number }).id
  })
  // the tenant bills this codice fiscale (as once the office issues a document)
  await db.sql`insert into platform.payer_index (codice_fiscale, tenant_id) values (${me.codiceFiscale}, ${m.id})`
  return { me, pupilId }
}

const login = (page: Page, email: string) => w.signIn(page, email, { waitFor: '/area-personale' })

async function journey(js: boolean) {
  const { me, pupilId } = await family()
  const context = await newContext(browser, { js })
  const page = await context.newPage()
  await login(page, me.email)

  // phase 1: the tenant's home leads to the services that take a spontaneous payment
  await page.goto(`${server.url}/t/${m.slug}`)
  await page.getByRole('link', { name: 'Paga un servizio senza avviso' }).click()
  await expectAccessible(page)
  await page.getByRole('link', { name: 'Refezione scolastica' }).click()

  // phase 2: the form, payer data from the account, causale prefilled; first with mistakes
  await expectAccessible(page)
  expect(await page.inputValue('#causale')).toBe('Refezione scolastica')
  expect(await page.locator('main').textContent()).toContain(me.codiceFiscale)
  await page.fill('#causale', '')
  await page.fill('#importo', 'centocinquanta')
  await page.getByRole('button', { name: 'Continua' }).click()
  expect(await page.title()).toMatch(/^Errore: /)
  await expectAccessible(page)
  if (js) expect(await page.evaluate(() => document.activeElement?.classList.contains('error-summary'))).toBe(true)
  expect(await page.inputValue('#importo')).toBe('centocinquanta')

  // by keyboard: causale, amount, the pupil, continue
  await page.focus('#causale')
  await page.keyboard.type('pagamento refezione scolastica')
  await page.keyboard.press('Tab')
  await page.keyboard.press('Control+A')
  await page.keyboard.type('154,60')
  await page.keyboard.press('Tab')
  await page.keyboard.press('Space')
  expect(await page.isChecked(`input[name=alunno][value="${pupilId}"]`)).toBe(true)
  await page.getByRole('button', { name: 'Continua' }).click()

  // phase 3: check, with the commission of the gross-up rule
  await page.waitForURL(/\/controlla\?/)
  await expectAccessible(page)
  const check = (await page.locator('main').textContent()) as string
  expect(check).toContain('154,60\u00a0€')
  expect(check).toContain('Commissione (1,522843%)')
  expect(check).toContain('2,36\u00a0€')
  expect(check).toContain('156,96\u00a0€')
  expect(check).toContain('Luca Rossi')
  await expectReflow(context, page.url())

  // "Cambia" goes back with the answers kept
  await page.getByRole('link', { name: 'Cambia causale' }).click()
  expect(await page.inputValue('#causale')).toBe('pagamento refezione scolastica')
  expect(await page.inputValue('#importo')).toBe('154,60')
  expect(await page.isChecked(`input[name=alunno][value="${pupilId}"]`)).toBe(true)
  await page.getByRole('button', { name: 'Continua' }).click()
  await page.waitForURL(/\/controlla\?/)
  await page.getByRole('button', { name: /Procedi col pagamento di 156,96/ }).click()

  // phases 4–6: the provider's page, its card form
  await page.waitForURL(/\/sandbox-psp\/paga\//)
  await expectAccessible(page)
  await page.fill('#cardholder-name', 'Mario Rossi')
  await page.fill('#card-number', '4242 4242 4242 4242')
  await page.fill('#expiry-month', '12')
  await page.fill('#expiry-year', String(THIS_YEAR + 2))
  await page.fill('#cvv', '123')
  await page.click('main form button[type=submit]')

  // phases 7–8: back, "in corso" until the outcome, then the receipt
  await page.waitForURL(/\/pagamenti\/\d+$/)
  for (let i = 0; i < 40 && !(await page.locator('h1').textContent())?.includes('riuscito'); i++) {
    await page.waitForTimeout(250)
    if (!js) await page.reload()
  }
  await expect(page.locator('h1').textContent()).resolves.toBe('Pagamento riuscito')
  await expectAccessible(page)

  // the certificate of the pupil paid for: from the personal area; an error first, then the PDF
  await page.goto(`${server.url}/area-personale`)
  await page.getByRole('link', { name: 'Attestazione dei pagamenti per il 730' }).click()
  await expectAccessible(page)
  await page.getByRole('button', { name: "Scarica l'attestazione (PDF)" }).click()
  expect(await page.title()).toMatch(/^Errore: /)
  await expectAccessible(page)
  await page.getByLabel(`Anno ${THIS_YEAR}`).check()
  await page.getByLabel('Luca Rossi').check()
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: "Scarica l'attestazione (PDF)" }).click(),
  ])
  expect(download.suggestedFilename()).toBe(`attestazione-pagamenti-${THIS_YEAR}.pdf`)
  const file = await download.path()
  const { readFile } = await import('node:fs/promises')
  expect((await readFile(file)).subarray(0, 5).toString()).toBe('%PDF-')

  // a year with nothing paid: a page saying so
  await page.getByLabel(`Anno ${THIS_YEAR - 1}`).check()
  await page.getByRole('button', { name: "Scarica l'attestazione (PDF)" }).click()
  await expect(page.locator('h1').textContent()).resolves.toBe('Nessun pagamento nel periodo')
  await expectAccessible(page)
  await context.close()
}

describe('spontaneous payment and tax certificate in Chromium', () => {
  it('the whole journey with JavaScript on', async () => {
    await journey(true)
  })

  it('the whole journey with JavaScript off', async () => {
    await journey(false)
  })

  it('the other states: quantity errors, unconfirmed email, no services, suspended tenant, date errors', async () => {
    const { me } = await family({ confirmed: false })
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await login(page, me.email)

    await page.goto(`${server.url}/t/${m.slug}/pagamento-spontaneo/pasti`)
    await expectReflow(context, page.url())
    await page.fill('#quantita', '0')
    await page.getByRole('button', { name: 'Continua' }).click()
    expect(await page.title()).toMatch(/^Errore: /)
    await expectAccessible(page)
    await page.fill('#quantita', '10')
    await page.getByLabel('Nessun alunno in particolare').check()
    await page.getByRole('button', { name: 'Continua' }).click()
    await page.waitForURL(/\/controlla\?/)
    expect(await page.locator('main').textContent()).toContain('confermare il tuo indirizzo email')
    expect(await page.getByRole('button', { name: /Procedi col pagamento/ }).count()).toBe(0)
    await expectAccessible(page)

    await page.goto(`${server.url}/t/${n.slug}/pagamento-spontaneo`)
    await expect(page.locator('h1').textContent()).resolves.toBe('Nessun servizio pagabile senza avviso')
    await expectAccessible(page)

    await page.goto(`${server.url}/t/${s.slug}/pagamento-spontaneo`)
    expect(await page.locator('main').textContent()).toContain('temporaneamente sospeso')
    await expectAccessible(page)

    await page.goto(`${server.url}/certificazione`)
    await expectReflow(context, page.url())
    await page.getByLabel('Un altro periodo').check()
    await page.fill('#dal-giorno', '31')
    await page.fill('#dal-mese', '2')
    await page.fill('#dal-anno', String(THIS_YEAR))
    await page.getByRole('button', { name: "Scarica l'attestazione (PDF)" }).click()
    expect(await page.title()).toMatch(/^Errore: /)
    expect(await page.inputValue('#dal-giorno')).toBe('31')
    await expectAccessible(page)
    await context.close()
  })
})
