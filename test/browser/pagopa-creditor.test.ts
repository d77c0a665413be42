// pagoPA as a creditor in Chromium, by keyboard alone with JavaScript off: the office chooses a service's taxonomy
// code and keeps it out of Request-To-Pay, connects the service to IO (the error first, then the key tested),
// connects the body to pagoPA's REST services (the error first), adds another beneficiary, and sees each position's
// state in the central archive (one accepted, one refused while pagoPA was down). axe on every page and error
// state, reflow at 320 px, the W3C Nu checker on the pages as served.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { syncArchive } from '../../src/features/pagopa/archive.ts'
import { payNotice } from '../../src/features/pagopa/simulator.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { createLogger } from '../../src/platform/log.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { browserWorld, expectAccessible, expectReflow, newContext } from '../helpers/browser.ts'
import { settings } from '../helpers/db.ts'
import { nuCheck, nuLines } from '../helpers/nu.ts'
import { connect, type ServedPlatform, startPlatform } from '../helpers/pagopa-platform.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import type { World } from '../helpers/world.ts'

const KEY = 'chiave-del-nodo-per-il-creditore-01'
beforeAll(() => {
  process.env.PAGOPA_NODE_KEY = KEY
})
afterAll(() => {
  delete process.env.PAGOPA_NODE_KEY
})
const w = browserWorld({ tenant: { settings: settings({ iban: 'IT60X0542811101000000123456' }) }, roles: ['admin'] })
let db: Db
let tenant: Tenant
let server: World['server']
let browser: Browser
let platform: ServedPlatform
let mensa = 0
let accepted = 0
let refused = 0
const served = new Map<string, string>()
const keep = async (name: string, page: Page) => served.set(name, await page.content())

beforeAll(async () => {
  ;({ db, tenant, server, browser } = w)
  platform = await startPlatform()
  await connect(db, tenant, w.deps.config.secretsKey, platform)
  platform.sim.registerIoService({
    apiKey: 'chiave-io-del-servizio-mensa-01',
    serviceId: 'MENSA',
    organizationFiscalCode: tenant.fiscalCode,
  })
  const [s] = await withTenant(
    db.sql,
    tenant,
    (tx) => tx<{ id: number }[]>`select id from services where code = 'mensa'`,
  )
  mensa = s?.id as number
  const payer = await givePayer(db, tenant, 'RSSMRA80A01H501U', ['Mario', 'Rossi'])
  accepted = (await issue(db, tenant, payer, [3000, 3000])).documentId
  const log = createLogger('silent')
  await syncArchive(db, tenant, { secretsKey: w.deps.config.secretsKey, log })
  platform.sim.state.down.add('aca')
  refused = (await issue(db, tenant, payer, [1500], { description: 'Trasporto, ottobre' })).documentId
  await syncArchive(db, tenant, { secretsKey: w.deps.config.secretsKey, log })
  platform.sim.state.down.delete('aca')
})
afterAll(async () => {
  await platform?.close()
})

const office = (p = '') => `${server.url}/t/${tenant.slug}/ufficio${p}`

async function press(page: Page, name: string) {
  await page.getByRole('button', { name, exact: true }).focus()
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')])
}
async function follow(page: Page, name: string) {
  await page.getByRole('link', { name, exact: true }).focus()
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')])
}

describe('pagoPA as a creditor in Chromium', () => {
  it('the office chooses a taxonomy code and enables IO for a service, by keyboard alone, JavaScript off', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await w.signIn(page, w.accounts.admin.email)
    await page.goto(office(`/catalogo/servizi/${mensa}`))
    await expectAccessible(page)
    await page.locator('#taxonomyCode').focus()
    await page.locator('#taxonomyCode').selectOption('0107100TS')
    // 7/: kept out of Request-To-Pay
    await page.locator('input[name=taxonomyPrefix][value="7/"]').focus()
    await page.keyboard.press('Space')
    await press(page, 'Salva')
    await page.goto(office(`/catalogo/servizi/${mensa}`))
    expect(await page.locator('main').textContent()).toContain('7/0107100TS/')
    await keep('service', page)

    await follow(page, "Invio nell'app IO")
    await expectAccessible(page)
    await page.locator('#enabled').focus()
    await page.keyboard.press('Space')
    await press(page, 'Salva')
    // no key yet: the error, linked, the choice kept
    expect(await page.title()).toMatch(/^Errore: /)
    expect(await page.locator('.error-summary a[href="#apiKey"]').count()).toBe(1)
    expect(await page.locator('#enabled').isChecked()).toBe(true)
    await expectAccessible(page)
    await page.locator('#apiKey').focus()
    await page.keyboard.type('chiave-io-del-servizio-mensa-01')
    await press(page, 'Salva')
    expect(await page.locator('.notice--success').textContent()).toContain('salvato')
    await press(page, 'Prova la chiave')
    expect(await page.locator('.notice--success').textContent()).toContain('La chiave funziona')
    expect(await page.content()).not.toContain('chiave-io-del-servizio-mensa-01')
    await expectAccessible(page)
    await keep('io', page)
    await expectReflow(context, page.url())
    await context.close()
  })

  it('the office sees each position in the central archive, and the refused one with its reason', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await w.signIn(page, w.accounts.admin.email)
    await page.goto(office('/pagopa'))
    const main = (await page.locator('main').textContent()) ?? ''
    expect(main).toContain("Nell'archivio: 1")
    expect(main).toContain('Non accettata: si riprova: 1')
    expect(await page.locator('#archive-caption').textContent()).toContain('(1)')
    await expectAccessible(page)
    await keep('pagopa', page)
    await page.goto(office(`/documenti/${accepted}`))
    expect(await page.locator('main').textContent()).toContain("Nell'archivio")
    await expectAccessible(page)
    await page.goto(office(`/documenti/${refused}`))
    const text = (await page.locator('main').textContent()) ?? ''
    expect(text).toContain('Non accettata: si riprova')
    expect(text).toContain('503')
    await expectAccessible(page)
    await keep('document', page)
    await context.close()
  })

  it('the office connects the body to pagoPA and adds a beneficiary; errors first, by keyboard', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await w.signIn(page, w.accounts.admin.email)
    await page.goto(office('/pagopa/collegamento'))
    await expectAccessible(page)
    await keep('connection', page)
    await follow(page, 'Modifica indirizzi e chiavi – Collaudo (UAT)')
    await page.locator('#acaUrl').focus()
    await page.keyboard.press('ControlOrMeta+a')
    await page.keyboard.type('non un indirizzo')
    await press(page, 'Salva il collegamento')
    expect(await page.title()).toMatch(/^Errore: /)
    expect(await page.locator('.error-summary a[href="#acaUrl"]').count()).toBe(1)
    await expectAccessible(page)
    await keep('connection-form', page)
    await page.locator('#acaUrl').focus()
    await page.keyboard.press('ControlOrMeta+a')
    await page.keyboard.type(platform.urls.aca)
    await press(page, 'Salva il collegamento')
    await press(page, 'Prova il collegamento – Collaudo (UAT)')
    expect(await page.locator('main').textContent()).toContain('risponde')
    await expectAccessible(page)
    await expectReflow(context, page.url())

    await page.goto(office(`/catalogo/servizi/${mensa}/beneficiari`))
    await expectAccessible(page)
    await press(page, 'Aggiungi')
    expect(await page.title()).toMatch(/^Errore: /)
    await expectAccessible(page)
    for (const [id, value] of [
      ['#fiscalCode', '00514490010'],
      ['#name', 'Comune B'],
      ['#iban', 'IT42L1234512345123456789012'],
      ['#taxonomyCode', '0107101TS'],
      ['#remittance', 'Quota mensa Comune B'],
      ['#shareValue', '10'],
    ] as const) {
      await page.locator(id).focus()
      await page.keyboard.type(value)
    }
    await press(page, 'Aggiungi')
    expect(await page.locator('.notice--success').textContent()).toContain('aggiunto')
    expect(await page.locator('table').textContent()).toContain('Comune B')
    await expectAccessible(page)
    await keep('beneficiaries', page)
    await context.close()
  })

  it('a receipt that shares the money otherwise is listed to check, with both splits on its page', async () => {
    // mensa now gives Comune B 10 %: a PSP that credits all of it to the body alone
    const payer = await givePayer(db, tenant, 'RSSMRA80A01H501U', ['Mario', 'Rossi'])
    const doc = await issue(db, tenant, payer, [4000], { description: 'Mensa, novembre' })
    const paid = await payNotice({
      url: `${server.url}/pagopa/nodo`,
      key: KEY,
      noticeNumber: (doc.installments[0] as { noticeCode: string }).noticeCode,
      fiscalCode: tenant.fiscalCode,
      version: 2,
      editTransfers: (t) => [{ ...t[0], transferAmount: '40.00' }],
    })
    expect(paid.paid).toBe(true)
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await w.signIn(page, w.accounts.admin.email)
    await page.goto(office('/pagopa'))
    await page.locator('[aria-labelledby="flagged-caption"] a').first().focus()
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.keyboard.press('Enter')])
    const main = await page.locator('main').textContent()
    expect(main).toContain('Ripartizione diversa dall')
    expect(main).toContain('Ripartizione attesa')
    expect(await page.locator('#expected-caption').count()).toBe(1)
    await expectAccessible(page)
    await expectReflow(context, page.url())
    await keep('receipt-split', page)
    await context.close()
  })

  it('the pages above pass the W3C Nu checker', async () => {
    expect(served.size).toBe(8)
    expect(nuLines(await nuCheck(served))).toEqual([])
  })
})
