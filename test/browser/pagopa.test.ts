// "Pay at the tobacconist" in Chromium: a citizen prints the pagoPA notice of a document, the node simulator
// pays it (verify → get payment → send receipt), and the citizen's archive shows it paid with its receipt
// number; the office sees the receipt on its pagoPA page. JavaScript off, axe on every page and error state,
// reflow at 320 px.
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { payNotice } from '../../src/features/pagopa/simulator.ts'
import type { Db } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import type { TestAccount } from '../helpers/accounts.ts'
import { browserWorld, expectAccessible, expectReflow, newContext } from '../helpers/browser.ts'
import { settings } from '../helpers/db.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import type { World } from '../helpers/world.ts'

const KEY = 'chiave-del-nodo-per-il-browser-0001'
beforeAll(() => {
  process.env.PAGOPA_NODE_KEY = KEY
})
const w = browserWorld({
  tenant: { settings: settings({ iban: 'IT60X0542811101000000123456' }) },
  roles: { cittadino: { givenName: 'Giulia', familyName: 'Marrone' }, admin: {} },
})
let db: Db
let tenant: Tenant
let server: World['server']
let browser: Browser
let citizen: TestAccount
let admin: TestAccount
let documentId: number

beforeAll(async () => {
  ;({ db, tenant, server, browser } = w)
  ;({ cittadino: citizen, admin } = w.accounts)
  const payer = await givePayer(db, tenant, citizen.codiceFiscale, ['Giulia', 'Marrone'])
  documentId = (await issue(db, tenant, payer, [9250], { description: 'Retta nido marzo' })).documentId
})

afterAll(() => {
  delete process.env.PAGOPA_NODE_KEY
})

const login = (page: Page, email: string) => w.signIn(page, email)

describe('paying a printed notice through pagoPA', () => {
  it('a citizen prints the notice, the simulator pays it, the archive shows it paid with its receipt', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await login(page, citizen.email)
    await page.goto(`${server.url}/t/${tenant.slug}/documenti/${documentId}`)
    await expectAccessible(page)

    // print the notice: the PDF names the notice code, as the printed page shows it
    const href = (await page
      .getByRole('link', { name: /Stampa/ })
      .first()
      .getAttribute('href')) as string
    const pdf = await page.request.get(server.url + href)
    expect(pdf.headers()['content-type']).toBe('application/pdf')
    const noticeCode = /avviso-([0-9]{18})\.pdf/.exec(pdf.headers()['content-disposition'] ?? '')?.[1] as string
    expect(noticeCode).toMatch(/^3[0-9]{17}$/)
    expect((await pdf.body()).subarray(0, 5).toString()).toBe('%PDF-')

    // the tobacconist: the node's side played by the simulator over HTTP
    const paid = await payNotice({
      url: `${server.url}/pagopa/nodo`,
      key: KEY,
      noticeNumber: noticeCode,
      fiscalCode: tenant.fiscalCode,
    })
    expect(paid.steps.map((s) => s.outcome)).toEqual(['OK', 'OK', 'OK'])

    await page.goto(`${server.url}/archivio`)
    await expectAccessible(page)
    const row = page.locator('tr', { hasText: 'Retta nido marzo' })
    await expect(row.textContent()).resolves.toContain(paid.receiptId as string)
    await expect(row.textContent()).resolves.toContain('92,50')
    await expect(row.locator('.status').textContent()).resolves.toMatch(/pagat/i)
    await expectReflow(context, `${server.url}/archivio`)

    // the document no longer offers the notice for printing: it is paid
    await page.goto(`${server.url}/t/${tenant.slug}/documenti/${documentId}`)
    await expect(page.locator('main').textContent()).resolves.toContain(paid.receiptId as string)
    await context.close()
  })

  it("the office's pagoPA pages, their error states and a flagged receipt pass axe and reflow", async () => {
    // a receipt for another amount than the notice: kept and flagged
    const payer = await givePayer(db, tenant, citizen.codiceFiscale, ['Giulia', 'Marrone'])
    const doc = await issue(db, tenant, payer, [3000], { description: 'Trasporto aprile' })
    const flagged = await payNotice({
      url: `${server.url}/pagopa/nodo`,
      key: KEY,
      noticeNumber: (doc.installments[0] as { noticeCode: string }).noticeCode,
      fiscalCode: tenant.fiscalCode,
      amountCents: 2500,
      version: 2,
    })
    expect(flagged.paid).toBe(true)

    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await login(page, admin.email)
    const office = `${server.url}/t/${tenant.slug}/ufficio/pagopa`
    await page.goto(office)
    await expectAccessible(page)
    await expect(page.locator('#flagged-caption').textContent()).resolves.toContain('1')
    await expectReflow(context, office)

    // settings with errors, then saved
    await page.fill('#iban', 'IT00 1234')
    await page.getByRole('button', { name: 'Salva le impostazioni' }).click()
    expect(await page.title()).toMatch(/^Errore: /)
    await expectAccessible(page)
    await page.fill('#iban', 'IT60 X054 2811 1010 0000 0123 456')
    await page.getByRole('button', { name: 'Salva le impostazioni' }).click()
    await expect(page.locator('.notice--success').textContent()).resolves.toContain('salvate')
    await expectAccessible(page)

    // the flagged receipt: its page, the resolution's error, then resolved
    await page.locator('[aria-labelledby="flagged-caption"] a').first().click()
    await expectAccessible(page)
    await expectReflow(context, page.url())
    await page.getByRole('button', { name: 'Segna come risolta' }).click()
    expect(await page.title()).toMatch(/^Errore: /)
    await expectAccessible(page)
    await page.fill('#note', 'Emesso un avviso per i 5,00 € mancanti')
    await page.getByRole('button', { name: 'Segna come risolta' }).click()
    await expect(page.locator('.notice--success').textContent()).resolves.toContain('risolta')
    await expectAccessible(page)
    await context.close()
  })
})
