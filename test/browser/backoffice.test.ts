// The back office in Chromium: axe on every staff page and every error state (JavaScript on), reflow at
// 320 px, and issuing a document with JavaScript off from the form to the success panel.
import type { Browser, Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { randomCf, type TestAccount } from '../helpers/accounts.ts'
import { browserWorld, expectAccessible, expectReflow, newContext } from '../helpers/browser.ts'
import { issue } from '../helpers/payments.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld({ roles: ['admin', 'lettore'] })
let db: Db
let tenant: Tenant
let server: World['server']
let browser: Browser
let admin: TestAccount
let lettore: TestAccount
const ids = { payer: 0, pupil: 0, document: 0 }
const payerCf = randomCf()
const pupilCf = randomCf()

beforeAll(async () => {
  ;({ db, tenant, server, browser } = w)
  ;({ admin, lettore } = w.accounts)
  await withTenant(db.sql, tenant, async (tx) => {
    const [p] = await tx<{ id: number }[]>`
      insert into payers (codice_fiscale, given_name, family_name, email) values (${payerCf}, 'Mario', 'Rossi', 'mario@example.it') returning id`
    const [u] = await tx<{ id: number }[]>`
      insert into pupils (codice_fiscale, given_name, family_name) values (${pupilCf}, 'Giulia', 'Rossi') returning id`
    await tx`insert into pupil_payers (pupil_id, payer_id, holder) values (${u?.id as number}, ${p?.id as number}, true)`
    ids.payer = p?.id as number
    ids.pupil = u?.id as number
  })
  ids.document = (await issue(db, tenant, ids.payer, [6400, 6400], { firstDue: -15 })).documentId
  await issue(db, tenant, ids.payer, [3500], { service: 'trasporto', firstDue: -3, description: 'Trasporto' })
})

const loginAs = (page: Page, email: string) => w.signIn(page, email)

const office = (p = '') => `${server.url}/t/${tenant.slug}/ufficio${p}`

async function submitMain(page: Page, name?: string) {
  await page
    .locator(name ? `main button[type=submit]:has-text("${name}")` : 'main form[method=post] button[type=submit]')
    .last()
    .click()
  await page.waitForLoadState('load')
}

async function expectError(page: Page, href: string) {
  expect(await page.title()).toMatch(/^Errore: /)
  expect(
    await page.locator(`.error-summary a[href="${href}"]`).count(),
    await page.locator('.error-summary').innerHTML(),
  ).toBeGreaterThan(0)
  await expectAccessible(page)
}

describe('back office pages in Chromium', () => {
  it('every staff page and error state passes axe (JavaScript on)', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    await loginAs(page, admin.email)
    const visit = async (p: string) => {
      const res = await page.goto(office(p))
      expect(res?.status(), p).toBe(200)
      await expectAccessible(page)
    }
    for (const p of [
      '',
      '/catalogo',
      '/impostazioni',
      '/anagrafiche',
      '/anagrafiche?q=rossi',
      `/anagrafiche/intestatari/${ids.payer}`,
      `/anagrafiche/intestatari/${ids.payer}/modifica`,
      `/anagrafiche/alunni/${ids.pupil}`,
      `/anagrafiche/alunni/${ids.pupil}/modifica`,
      '/documenti',
      `/documenti/${ids.document}`,
      `/documenti/${ids.document}/correggi`,
      `/documenti/${ids.document}/annulla`,
      '/documenti/importa',
      '/registro',
    ])
      await visit(p)
    // the dashboard's charts are images with a name, and each has a table
    await page.goto(office())
    expect(await page.locator('svg[role="img"]').count()).toBe(2)
    expect(await page.getByRole('img', { name: /Incassato e dovuto per mese/ }).count()).toBe(1)

    // service: error, then saved
    await page.goto(office('/catalogo/servizi/nuovo'))
    await expectAccessible(page)
    await page.fill('#code', 'Non Valido')
    await submitMain(page)
    await expectError(page, '#code')
    expect(await page.inputValue('#code')).toBe('Non Valido')
    await page.fill('#code', 'gite')
    await page.selectOption('#kind', 'gite')
    await page.fill('#name', 'Gite scolastiche')
    await page.fill('#causale', 'Contributo gite')
    await page.check('#commissionType-1')
    await page.check('#amountMode')
    await submitMain(page)
    expect(new URL(page.url()).pathname).toBe(`/t/${tenant.slug}/ufficio/catalogo`)
    await expectAccessible(page)
    await page.getByRole('link', { name: 'Gite scolastiche' }).click()
    await expectAccessible(page)

    // settings error state
    await page.goto(office('/impostazioni'))
    await page.fill('#cutoff', '25:99')
    await page.fill('#reminderDays', 'ogni tanto')
    await submitMain(page)
    await expectError(page, '#cutoff')

    // payer and pupil error states
    await page.goto(office('/anagrafiche/intestatari/nuovo'))
    await expectAccessible(page)
    await page.fill('#codiceFiscale', 'ABC')
    await submitMain(page)
    await expectError(page, '#codiceFiscale')
    await page.goto(office('/anagrafiche/alunni/nuovo'))
    await expectAccessible(page)
    await page.fill('#birthDate-day', '40')
    await submitMain(page)
    await expectError(page, '#birthDate-day')
    await page.goto(office(`/anagrafiche/alunni/${ids.pupil}`))
    await page.fill('#payerCf', randomCf())
    await page.check('#relation')
    await submitMain(page, 'Collega')
    await expectError(page, '#payerCf')

    // issue form: error, check page
    await page.goto(office('/documenti/nuovo'))
    await expectAccessible(page)
    await submitMain(page, 'Continua')
    await expectError(page, '#service')
    // correction and cancellation error states
    await page.goto(office(`/documenti/${ids.document}/correggi`))
    await page.fill('#amount-1', 'zero')
    await submitMain(page)
    await expectError(page, '#amount-1')
    await page.goto(office(`/documenti/${ids.document}/annulla`))
    await submitMain(page)
    await expectError(page, '#reason')
    await page.fill('#reason', 'Emesso due volte')
    await submitMain(page)
    expect(await page.locator('.panel h2').textContent()).toBe('Documento annullato')
    await expectAccessible(page)

    // CSV: a report line by line, then a good file through the check page to the panel
    await page.goto(office('/documenti/importa'))
    await page.setInputFiles('#file', {
      name: 'dovuti.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(
        'cf_intestatario;nome_intestatario;cognome_intestatario;servizio;anno;descrizione;importo;rate;scadenze\nXXX;Anna;Neri;mensa;2027;Mensa;10,00;1;30/09/2027\n',
      ),
    })
    await submitMain(page)
    await expectError(page, '#file')
    expect(await page.locator('#report-caption').count()).toBe(1)
    const good = `cf_intestatario;nome_intestatario;cognome_intestatario;servizio;anno;descrizione;importo;rate;scadenze\n${randomCf()};Anna;Neri;mensa;2027;Mensa 2027;10,00;2;30/09/2027|31/10/2027\n`
    await page.setInputFiles('#file', { name: 'dovuti.csv', mimeType: 'text/csv', buffer: Buffer.from(good) })
    await submitMain(page)
    expect(await page.locator('h1').textContent()).toBe('Controlla prima di emettere')
    expect(await page.locator('.lead').textContent()).toContain('1 documenti, 2 rate')
    await expectAccessible(page)
    await submitMain(page)
    expect(await page.locator('.panel h1').textContent()).toBe('Documenti emessi')
    await expectAccessible(page)

    // the audit log with entries, and its error state
    await page.goto(office('/registro'))
    await expectAccessible(page)
    await page.goto(office('/registro?dal-day=32&dal-month=1&dal-year=2026'))
    await expectError(page, '#dal-day')
    for (const p of ['', '/documenti/importa', '/registro', `/documenti/${ids.document}`])
      await expectReflow(context, office(p))
    await context.close()
  })

  it('issues a document with JavaScript off: rows, check your answers, success panel', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await loginAs(page, admin.email)
    await page.goto(office('/documenti/nuovo'))
    await page.selectOption('#service', { label: 'Nido' })
    await page.fill('#payerCf', payerCf)
    await page.fill('#pupilCf', pupilCf)
    await page.fill('#description', 'Retta nido ottobre')
    await page.check('#mode')
    await page.fill('#total', '100')
    await page.fill('#count', '2')
    await submitMain(page, 'Aggiorna il numero di rate')
    expect(await page.locator('fieldset.installment').count()).toBe(2)
    expect(await page.inputValue('#description')).toBe('Retta nido ottobre')
    await expectAccessible(page)
    const today = todayRome()
    for (const [i, iso] of [addDays(today, 20), addDays(today, 50)].entries()) {
      const [y, m, d] = iso.split('-') as [string, string, string]
      await page.fill(`#due-${i + 1}-day`, d)
      await page.fill(`#due-${i + 1}-month`, m)
      await page.fill(`#due-${i + 1}-year`, y)
    }
    await submitMain(page, 'Continua')
    expect(await page.locator('h1').textContent()).toBe('Controlla prima di emettere')
    expect(await page.locator('tfoot').textContent()).toContain('100,00')
    await expectAccessible(page)
    // change, then continue again: the values are kept
    await submitMain(page, 'Modifica')
    expect(await page.inputValue('#total')).toBe('100')
    await submitMain(page, 'Continua')
    await submitMain(page, 'Emetti il documento')
    expect(await page.locator('.panel h2').textContent()).toBe('Documento emesso')
    expect(await page.locator('td.code, span.code').filter({ hasText: 'Codice avviso' }).count()).toBe(2)
    await expectAccessible(page)
    await context.close()
  })

  it('records a payment received at the counter by keyboard alone, JavaScript off: errors, then the paid installment', async () => {
    const { documentId } = await issue(db, tenant, ids.payer, [1800, 1800])
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await loginAs(page, admin.email)
    await page.goto(office(`/documenti/${documentId}`))
    await page.getByRole('link', { name: 'Registra un pagamento ricevuto' }).focus()
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/pagamento$/)
    await expectAccessible(page)
    // both installments chosen by default; the first unticked by keyboard, then sent empty
    await page.locator('#rata-1').focus()
    await page.keyboard.press('Space')
    await page.getByRole('button', { name: 'Registra il pagamento' }).focus()
    await page.keyboard.press('Enter')
    await page.waitForLoadState('load')
    expect(await page.locator('.error-summary').textContent()).toContain('Scegli come è stato pagato')
    expect(await page.isChecked('#rata-1')).toBe(false)
    expect(await page.isChecked('#rata-2')).toBe(true)
    await expectAccessible(page)
    await page.locator('#method').focus()
    await page.keyboard.press('Space')
    const [y, m, d] = todayRome().split('-') as [string, string, string]
    for (const [id, value] of [
      ['#paid-day', d],
      ['#paid-month', m],
      ['#paid-year', y],
      ['#amount', '18,00'],
      ['#reference', 'Q-77'],
    ] as const) {
      await page.locator(id).focus()
      await page.keyboard.type(value)
    }
    await page.getByRole('button', { name: 'Registra il pagamento' }).focus()
    await page.keyboard.press('Enter')
    await page.waitForURL(/fatto=pagato/)
    expect(await page.locator('.panel h2').textContent()).toBe('Pagamento registrato')
    expect(await page.locator('main').textContent()).toContain('Pagata allo sportello il')
    await expectAccessible(page)
    await expectReflow(context, office(`/documenti/${documentId}/pagamento`))
    await context.close()
  })

  it('a lettore reads the catalog and settings without forms', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    await loginAs(page, lettore.email)
    for (const p of ['/catalogo', '/impostazioni', `/anagrafiche/alunni/${ids.pupil}`]) {
      await page.goto(office(p))
      expect(await page.locator('main form[method=post]').count(), p).toBe(0)
      await expectAccessible(page)
    }
    const res = await page.goto(office('/documenti/nuovo'))
    expect(res?.status()).toBe(403)
    await context.close()
  })
})
