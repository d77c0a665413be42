// Applications in Chromium: a citizen submits an application with an attachment with JavaScript off (form,
// error state, check your answers, confirmation), the communications' forms, and the office's queue, detail,
// decision and forms, and the choice it must make for a child the body already knows (decision 0044); axe on
// every page and error state, reflow at 320 px.
import type { Browser, Page } from 'playwright-core'
import { beforeAll, describe, expect, it } from 'vitest'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { randomCf, type TestAccount } from '../helpers/accounts.ts'
import { browserWorld, expectAccessible, expectReflow, newContext } from '../helpers/browser.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld({ roles: { cittadino: { givenName: 'Giulia', familyName: 'Verdi' }, admin: {} } })
let db: Db
let tenant: Tenant
let server: World['server']
let browser: Browser
let citizen: TestAccount
let admin: TestAccount
let formId = 0
let stranger: TestAccount
let knownChildApp = 0

const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n')

beforeAll(async () => {
  ;({ db, tenant, server, browser } = w)
  ;({ cittadino: citizen, admin } = w.accounts)
  stranger = await w.account({ givenName: 'Ettore', familyName: 'Estraneo' })
  await withTenant(db.sql, tenant, async (tx) => {
    const [p] = await tx<{ id: number }[]>`
      insert into payers (codice_fiscale, given_name, family_name) values (${citizen.codiceFiscale}, 'Giulia', 'Verdi')
      returning id`
    const [pu] = await tx<{ id: number }[]>`
      insert into pupils (given_name, family_name) values ('Marco', 'Verdi') returning id`
    await tx`insert into pupil_payers (pupil_id, payer_id, holder) values (${(pu as { id: number }).id}, ${(p as { id: number }).id}, true)`
    const [f] = await tx<{ id: number }[]>`
      insert into application_forms (service_id, title, intro, fields)
      select id, 'Iscrizione al nido', 'Domande entro il 30 giugno.', '{school,class,startDate,tariff,diet,notes}'
      from services where code = 'nido' returning id`
    formId = (f as { id: number }).id
  })
})

const login = (page: Page, account: TestAccount) => w.signIn(page, account.email)

describe('applications in Chromium', () => {
  let appId = 0

  it('a citizen applies with JavaScript off: errors, attachment, check your answers, sent', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await login(page, citizen)
    await page.goto(`${server.url}/t/${tenant.slug}`)
    await page.getByRole('link', { name: /Presenta una domanda di iscrizione/ }).click()
    expect(new URL(page.url()).pathname).toBe(`/t/${tenant.slug}/istanze`)
    await expectAccessible(page)
    await page.getByRole('link', { name: 'Iscrizione al nido' }).click()
    await expectAccessible(page)
    // nothing answered: the error summary links to each question
    await page.click('main button[type=submit]')
    expect(await page.title()).toMatch(/^Errore: /)
    expect(await page.locator('.error-summary a[href="#pupil"]').count()).toBe(1)
    expect(await page.locator('.error-summary a[href="#startDate-day"]').count()).toBe(1)
    await expectAccessible(page)
    await page.getByLabel('Marco Verdi').check()
    await page.fill('#school', 'Primaria Dante')
    await page.fill('#class', '1 A')
    const start = addDays(todayRome(), 40).split('-')
    await page.fill('#startDate-day', start[2] as string)
    await page.fill('#startDate-month', start[1] as string)
    await page.fill('#startDate-year', start[0] as string)
    await page.fill('#tariff', 'Residente')
    await page.locator('input[name=diet][value=si]').check()
    await page.fill('#dietDescription', 'Senza glutine')
    await page.setInputFiles('#attachment', { name: 'certificato.pdf', mimeType: 'application/pdf', buffer: PDF })
    await page.click('main button[type=submit]')
    await expect(page.locator('h1').textContent()).resolves.toBe('Controlla le risposte prima di inviare')
    await expectAccessible(page)
    // change an answer and come back
    await page.locator('a[href$="/modifica#notes"]').click()
    await page.fill('#notes', 'Grazie mille')
    await page.click('main button[type=submit]')
    await expect(page.locator('main').textContent()).resolves.toContain('Grazie mille')
    await expect(page.locator('main').textContent()).resolves.toContain('certificato.pdf')
    await page.getByRole('button', { name: 'Invia la richiesta' }).click()
    await expect(page.locator('.panel h1').textContent()).resolves.toBe('Richiesta inviata')
    appId = Number(new URL(page.url()).pathname.split('/')[4])
    await expectAccessible(page)
    await page.goto(`${server.url}/t/${tenant.slug}/istanze`)
    await expect(page.locator('main table').textContent()).resolves.toContain('Inviata')
    await context.close()
  })

  it('the communications forms and their error states', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    await login(page, citizen)
    for (const kind of ['indirizzo', 'sospensione', 'dieta', 'valutazione']) {
      await page.goto(`${server.url}/t/${tenant.slug}/istanze/nuova/${kind}`)
      await expectAccessible(page)
      await page.click('main button[type=submit]')
      expect(await page.title(), kind).toMatch(/^Errore: /)
      await expectAccessible(page)
    }
    await expectReflow(context, `${server.url}/t/${tenant.slug}/istanze/nuova/domanda/${formId}`)
    await context.close()
  })

  it('the office: queue, detail, take in charge, decision with its error state, forms', async () => {
    const context = await newContext(browser)
    const page = await context.newPage()
    await login(page, admin)
    await page.goto(`${server.url}/t/${tenant.slug}/ufficio/istanze`)
    await expectAccessible(page)
    await page.getByRole('link', { name: 'Iscrizione al nido' }).click()
    await expectAccessible(page)
    await page.getByRole('button', { name: 'Prendi in carico' }).click()
    await expect(page.locator('.notice--success').textContent()).resolves.toContain('preso in carico')
    await expectAccessible(page)
    await page.getByRole('button', { name: 'Registra la decisione' }).click()
    expect(await page.title()).toMatch(/^Errore: /)
    await expectAccessible(page)
    await page.getByLabel('Respingi').check()
    await page.fill('#message', 'Posti esauriti per quest’anno.')
    await page.getByRole('button', { name: 'Registra la decisione' }).click()
    await expect(page.locator('.notice--success').textContent()).resolves.toContain('Decisione registrata')
    await expectAccessible(page)
    await page.goto(`${server.url}/t/${tenant.slug}/ufficio/istanze?stato=tutte`)
    await expectAccessible(page)
    await expectReflow(context, `${server.url}/t/${tenant.slug}/ufficio/istanze?stato=tutte`)
    await page.goto(`${server.url}/t/${tenant.slug}/ufficio/istanze/moduli`)
    await expectAccessible(page)
    await page.getByRole('link', { name: 'Nuovo modulo di domanda' }).click()
    await expectAccessible(page)
    await page.click('main button[type=submit]')
    expect(await page.title()).toMatch(/^Errore: /)
    await expectAccessible(page)
    await page.goto(`${server.url}/t/${tenant.slug}/ufficio/istanze/moduli/${formId}`)
    await expectAccessible(page)
    await context.close()
  })

  it('a child the body already knows: the office sees her links and must choose, with a reason to link', async () => {
    // another family's daughter, and a stranger's application naming her codice fiscale (sent now, after the
    // queue's journey above)
    await withTenant(db.sql, tenant, async (tx) => {
      const sara = randomCf()
      const [other] = await tx<{ id: number }[]>`
        insert into payers (codice_fiscale, given_name, family_name) values (${randomCf()}, 'Paola', 'Neri') returning id`
      const [child] = await tx<{ id: number }[]>`
        insert into pupils (codice_fiscale, given_name, family_name) values (${sara}, 'Sara', 'Neri') returning id`
      await tx`insert into pupil_payers (pupil_id, payer_id, holder) values (${(child as { id: number }).id}, ${(other as { id: number }).id}, true)`
      const [a] = await tx<{ id: number }[]>`
        insert into applications (kind, form_id, service_id, status, account_id, applicant_cf, applicant_given_name,
          applicant_family_name, child_given_name, child_family_name, child_cf, submitted_at)
        select 'iscrizione', ${formId}, service_id, 'inviata', ${stranger.id}, ${stranger.codiceFiscale}, 'Ettore',
          'Estraneo', 'Sara', 'Neri', ${sara}, now()
        from application_forms where id = ${formId}
        returning id`
      knownChildApp = (a as { id: number }).id
    })
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await login(page, admin)
    await page.goto(`${server.url}/t/${tenant.slug}/ufficio/istanze/${knownChildApp}`)
    await expect(page.locator('main').textContent()).resolves.toContain("Già conosciuto dall'ente:")
    await expect(page.locator('#child-links-caption').textContent()).resolves.toBe('Persone collegate a Sara Neri')
    await expectAccessible(page)
    await page.locator('input[name=outcome][value=accolta]').check()
    await page.getByRole('button', { name: 'Registra la decisione' }).click()
    expect(await page.title()).toMatch(/^Errore: /)
    expect(await page.locator('.error-summary a[href="#link"]').count()).toBe(1)
    await expectAccessible(page)
    await page.locator('input[name=link][value=collega]').check()
    await page.getByRole('button', { name: 'Registra la decisione' }).click()
    expect(await page.locator('.error-summary a[href="#linkReason"]').count()).toBe(1)
    await expectAccessible(page)
    await page.fill('#linkReason', 'Tutore nominato dal tribunale, decreto visto allo sportello')
    await page.getByRole('button', { name: 'Registra la decisione' }).click()
    await expect(page.locator('.notice--success').textContent()).resolves.toContain('Decisione registrata')
    await expect(page.locator('main').textContent()).resolves.toContain(
      'Motivo: Tutore nominato dal tribunale, decreto visto allo sportello',
    )
    await expectAccessible(page)
    await context.close()
  })

  it('the citizen reads the decision', async () => {
    const context = await newContext(browser, { js: false })
    const page = await context.newPage()
    await login(page, citizen)
    await page.goto(`${server.url}/t/${tenant.slug}/istanze/${appId}`)
    await expect(page.locator('main').textContent()).resolves.toContain('Posti esauriti')
    await expect(page.locator('main').textContent()).resolves.toContain('Respinta')
    await expectAccessible(page)
    await context.close()
  })
})
