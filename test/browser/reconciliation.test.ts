// Reconciliation, the jobs page and the reminder's pay-now link in Chromium: axe on every page and error state,
// reflow at 320 px, journeys with JavaScript off, and the resolve form by keyboard alone.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DocumentInput, issueDocuments } from '../../src/features/debts/issue.ts'
import { importFile } from '../../src/features/reconciliation/service.ts'
import { LINK_DAYS, linkSecret, signReminderLink } from '../../src/features/reminders/link.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { TEST_PASSWORD, type TestAccount } from '../helpers/accounts.ts'
import { browserWorld, expectAccessible, expectReflow, newContext } from '../helpers/browser.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld({
  roles: { admin: { givenName: 'Rita', familyName: 'Ragioneria' }, operatorePiattaforma: {}, cittadino: {} },
})
let db: Db
let tenant: Tenant
let server: World['server']
let browser: Browser
let admin: TestAccount
let operator: TestAccount
let citizen: TestAccount
let dir: string
let iuvs: { iuv: string; id: number }[] = []
const run = Math.random().toString(36).slice(2, 8)

function flow(flowId: string, lines: { iuv: string; iur: string; cents: number }[]) {
  const euros = (c: number) => `${Math.trunc(c / 100)}.${String(c % 100).padStart(2, '0')}`
  return `<?xml version="1.0" encoding="UTF-8"?>
<FlussoRiversamento xmlns="http://www.digitpa.gov.it/schemas/2011/Pagamenti/"><versioneOggetto>1.0</versioneOggetto>
<identificativoFlusso>${flowId}</identificativoFlusso><dataOraFlusso>2031-03-15T07:00:00</dataOraFlusso>
<identificativoUnivocoRegolamento>SCT-B1</identificativoUnivocoRegolamento><dataRegolamento>2031-03-15</dataRegolamento>
<istitutoMittente><identificativoUnivocoMittente><tipoIdentificativoUnivoco>B</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>ABI03069</codiceIdentificativoUnivoco></identificativoUnivocoMittente><denominazioneMittente>Banca di Prova S.p.A.</denominazioneMittente></istitutoMittente>
<istitutoRicevente><identificativoUnivocoRicevente><tipoIdentificativoUnivoco>G</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>${tenant.fiscalCode}</codiceIdentificativoUnivoco></identificativoUnivocoRicevente></istitutoRicevente>
<numeroTotalePagamenti>${lines.length}</numeroTotalePagamenti><importoTotalePagamenti>${euros(lines.reduce((s, l) => s + l.cents, 0))}</importoTotalePagamenti>
${lines
  .map(
    (
      l,
    ) => `<datiSingoliPagamenti><identificativoUnivocoVersamento>${l.iuv}</identificativoUnivocoVersamento><identificativoUnivocoRiscossione>${l.iur}</identificativoUnivocoRiscossione>
<singoloImportoPagato>${euros(l.cents)}</singoloImportoPagato><codiceEsitoSingoloPagamento>0</codiceEsitoSingoloPagamento><dataEsitoSingoloPagamento>2031-03-14</dataEsitoSingoloPagamento></datiSingoliPagamenti>`,
  )
  .join('\n')}
</FlussoRiversamento>`
}

beforeAll(async () => {
  ;({ db, tenant, server, browser } = w)
  ;({ admin, operatorePiattaforma: operator, cittadino: citizen } = w.accounts)
  dir = await mkdtemp(join(tmpdir(), 'sportello-browser-'))
  iuvs = await withTenant(db.sql, tenant, async (tx) => {
    const [p] = await tx<{ id: number }[]>`
      insert into payers (codice_fiscale, given_name, family_name) values (${citizen.codiceFiscale}, 'Mario', 'Rossi') returning id`
    const [svc] = await tx<{ id: number }[]>`select id from services where code = 'mensa'`
    const docs: DocumentInput[] = [6400, 6400, 3500, 2200].map((a, i) => ({
      year: 2031,
      issueDate: '2031-01-10',
      serviceId: svc?.id as number,
      payerId: p?.id as number,
      pupilId: null,
      description: i < 2 ? `Mensa scolastica, rata ${i + 1}` : i === 2 ? 'Nido, marzo' : 'Trasporto, marzo',
      installments: [{ dueDate: '2031-03-31', amountCents: a }],
    }))
    const r = await issueDocuments(tx, tenant, docs)
    return r.installments.map((x) => ({ iuv: x.iuv, id: x.id }))
  })
  // an earlier flow, so the list and the discrepancies have something to show
  await importFile(db.sql, tenant, {
    bytes: new TextEncoder().encode(
      flow(`PRIMO-${tenant.id}`, [
        { iuv: iuvs[0]?.iuv as string, iur: 'IUR-1', cents: 6400 },
        { iuv: '09999999999999999', iur: 'IUR-2', cents: 1000 },
      ]),
    ),
    fileName: 'primo.xml',
    source: 'upload',
    actor: { accountId: null, name: 'sistema' },
  })
})

afterAll(async () => {
  await db.sql`delete from platform.outbox where to_address like ${`%.${run}@example.it`}`
  await rm(dir, { recursive: true, force: true })
})

const loginAs = (page: Page, email: string) => w.signIn(page, email)

describe('reconciliation in Chromium', () => {
  it('uploads a flow, reads its discrepancies and resolves one, with JavaScript off; axe everywhere', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await loginAs(page, admin.email)
    const base = `${server.url}/t/${tenant.slug}/ufficio/riconciliazione`
    await page.goto(base)
    await expectAccessible(page)
    await expectReflow(context, base)
    // no file chosen: the error summary links to the field
    await page.click('main form[enctype] button[type=submit]')
    expect(await page.title()).toMatch(/^Errore: /)
    await expect(page.locator('.error-summary a[href="#file"]').count()).resolves.toBe(1)
    await expectAccessible(page)
    // a file that is not a flow
    const bad = join(dir, 'appunti.xml')
    await writeFile(bad, '<appunti>niente</appunti>')
    await page.setInputFiles('#file', bad)
    await page.click('main form[enctype] button[type=submit]')
    await expect(page.locator('.field-error').textContent()).resolves.toContain('né un flusso')
    await expectAccessible(page)
    // the real one
    const good = join(dir, 'marzo.xml')
    await writeFile(
      good,
      flow(`MARZO-${tenant.id}`, [
        { iuv: iuvs[1]?.iuv as string, iur: 'IUR-M-1', cents: 6400 },
        { iuv: iuvs[2]?.iuv as string, iur: 'IUR-M-2', cents: 3000 },
      ]),
    )
    await page.setInputFiles('#file', good)
    await page.click('main form[enctype] button[type=submit]')
    await expect(page.locator('.panel h1').textContent()).resolves.toBe('File importato')
    await expectAccessible(page)
    await expectReflow(context, page.url())
    await page
      .getByRole('link', { name: /Da risolvere/ })
      .first()
      .click()
    await expect(page.locator('h1').textContent()).resolves.toContain('Importo diverso')
    await expectAccessible(page)
    const linePath = page.url()
    await page.click('main form button[type=submit]')
    expect(await page.title()).toMatch(/^Errore: /)
    await expectAccessible(page)
    await page.fill('#nota', 'Chiesta la differenza alla famiglia')
    await page.click('main form button[type=submit]')
    await expect(page.locator('.notice--success').textContent()).resolves.toContain('Discrepanza risolta')
    await expectAccessible(page)
    await expectReflow(context, page.url())
    await page.goto(`${base}/discrepanze?stato=risolte`)
    await expectAccessible(page)
    await page.goto(linePath)
    await expect(page.locator('main').textContent()).resolves.toContain('Chiesta la differenza alla famiglia')
    await expectAccessible(page)
    await context.close()
  })

  it('resolves a discrepancy by keyboard alone', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    await loginAs(page, admin.email)
    await page.goto(`${server.url}/t/${tenant.slug}/ufficio/riconciliazione/discrepanze`)
    await expectAccessible(page)
    await page.getByRole('link', { name: /Da risolvere.*IUR-2/ }).focus()
    await page.keyboard.press('Enter')
    await page.waitForURL(/discrepanze\/\d+$/)
    await page.locator('#nota').focus()
    await page.keyboard.type('Versamento di un altro ente, girato')
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Segna come risolta')
    await page.keyboard.press('Enter')
    await page.waitForURL(/risolta=1/)
    await expectAccessible(page)
    await context.close()
  })
})

describe('the jobs page and the pay-now link in Chromium', () => {
  it('the platform jobs page, with a failed email queued again, passes axe and reflows', async () => {
    await db.sql`insert into platform.outbox (to_address, subject, text_body, status, attempts, last_error)
                 values (${`fallita.${run}@example.it`}, 'Ricevuta di pagamento', 'testo', 'failed', 8, '451 try again later')`
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await loginAs(page, operator.email)
    await page.goto(`${server.url}/piattaforma/lavori`)
    await expectAccessible(page)
    await expectReflow(context, `${server.url}/piattaforma/lavori`)
    await page.getByRole('button', { name: new RegExp(`Riprova.*fallita\\.${run}`) }).click()
    await expect(page.locator('.notice--success').textContent()).resolves.toContain('di nuovo in coda')
    await expectAccessible(page)
    await page.selectOption('#lavoro', 'reminders')
    await page.click('main form[method=get] button[type=submit]')
    await expect(page.locator('#esecuzioni').count()).resolves.toBe(1)
    await expectAccessible(page)
    await context.close()
  })

  it('signed out, the link goes through login to the cart with the installments; an expired link is calm', async () => {
    const secret = linkSecret(server.deps.config.sessionSecret)
    const ids = [iuvs[3]?.id as number]
    const token = signReminderLink(
      secret,
      { tenantId: tenant.id, installmentIds: ids },
      new Date(Date.now() + LINK_DAYS * 86_400_000),
    )
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await page.goto(`${server.url}/carrello/promemoria/${token}`)
    expect(new URL(page.url()).pathname).toBe('/accesso')
    await page.fill('#email', citizen.email)
    await page.fill('#password', TEST_PASSWORD)
    await page.click('main button[type=submit]')
    expect(new URL(page.url()).pathname).toBe('/carrello')
    await expect(page.locator('main').textContent()).resolves.toContain('Trasporto, marzo')
    await expectAccessible(page)
    const expired = signReminderLink(secret, { tenantId: tenant.id, installmentIds: ids }, new Date(Date.now() - 1000))
    const res = await page.goto(`${server.url}/carrello/promemoria/${expired}`)
    expect(res?.status()).toBe(410)
    await expectAccessible(page)
    await expectReflow(context, `${server.url}/carrello/promemoria/${expired}`)
    await context.close()
  })
})
