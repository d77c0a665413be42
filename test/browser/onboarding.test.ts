// A school joins Sportello in Chromium: public sign-up, the operator's approval, the invitation read from a
// real SMTP server, the first login (creating the account), the set-up wizard, go-live, a colleague with an
// account invited, signing in and accepting, and the first notice issued from the office's form; then a citizen
// sees it. Once with JavaScript off, once on; axe on every page and error state, reflow at 320 px on the new forms.
import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/platform/db.ts'
import { drainOutbox } from '../../src/platform/mail.ts'
import { type Tenant, TenantRegistry } from '../../src/platform/tenancy.ts'
import { randomCf, TEST_PASSWORD, type TestAccount } from '../helpers/accounts.ts'
import { browserWorld, expectAccessible, expectReflow, newContext } from '../helpers/browser.ts'
import { testTenantFile } from '../helpers/db.ts'
import { dropOnboarded } from '../helpers/onboarding.ts'
import { givePayer } from '../helpers/payments.ts'
import { solidPng } from '../helpers/png.ts'
import { linkIn } from '../helpers/smtp.ts'
import type { World } from '../helpers/world.ts'

const w = browserWorld({
  tenant: false,
  smtp: true,
  roles: { operatorePiattaforma: {}, cittadino: {} },
})
let db: Db
let server: World['server']
let smtp: World['smtp']
let browser: Browser
let operator: TestAccount
let citizen: TestAccount
let colleague: TestAccount
let logoPath: string
const run = Math.random().toString(36).slice(2, 8)
const slugs: string[] = []

beforeAll(async () => {
  ;({ db, server, smtp, browser } = w)
  ;({ operatorePiattaforma: operator, cittadino: citizen } = w.accounts)
  colleague = await w.account({ givenName: 'Carla', familyName: 'Collega' })
  logoPath = join(tmpdir(), `sportello-logo-${run}.png`)
  await writeFile(logoPath, png())
})

afterAll(async () => {
  await dropOnboarded(db, slugs, run)
})

/** A 64×32 white PNG. */
const png = () => solidPng(64, 32, { fill: 0xff })

const login = (page: Page, email: string, password = TEST_PASSWORD) => w.signIn(page, email, { password })

async function submit(page: Page, name?: string) {
  if (name) await page.getByRole('button', { name, exact: true }).click()
  else await page.click('main form button[type=submit]:last-of-type')
  await page.waitForLoadState('load')
}

const h1 = (page: Page) => page.locator('h1').first().textContent()

async function journey(js: boolean) {
  const id = `${js ? 'js' : 'nojs'}${run}`
  const name = `Istituto Comprensivo Giuseppe Verdi ${id} – Parma`
  const adminEmail = `preside.${id}.${run}@example.it`
  const fiscalCode = testTenantFile().fiscalCode
  const who = js ? 'JS on' : 'JS off'
  // axe runs on the JavaScript-off pass (expectAccessible replays those pages in a scripted page, so it sees
  // the same HTML the scripted pass gets); the JavaScript-on pass proves the journey works with scripts on
  const a11y = js ? async (_page: Page) => {} : expectAccessible

  // --- the school asks to join ---------------------------------------------------------------------------
  const applicant = await newContext(browser, { js })
  applicant.setDefaultTimeout(10_000)
  const page = await applicant.newPage()
  await page.goto(`${server.url}/`)
  await page.getByRole('link', { name: /aderire a Sportello/ }).click()
  expect(new URL(page.url()).pathname).toBe('/adesione')
  await a11y(page)
  await submit(page, 'Continua')
  expect(await page.title(), who).toMatch(/^Errore: /)
  await a11y(page)
  if (js) expect(await page.evaluate(() => document.activeElement?.classList.contains('error-summary'))).toBe(true)
  await page.check('#kind')
  await page.fill('#name', name)
  await page.fill('#fiscalCode', fiscalCode)
  await page.fill('#codiceMeccanografico', `prmm${Math.random().toString(36).slice(2, 8).padEnd(6, '0')}`)
  await page.fill('#address', 'Via Verdi 1, 43121 Parma')
  await page.fill('#pec', `pec.${id}.${run}@example.it`)
  await page.fill('#email', `segreteria.${id}.${run}@example.it`)
  await page.fill('#adminGivenName', 'Giulia')
  await page.fill('#adminFamilyName', 'Preside')
  await page.fill('#adminCodiceFiscale', randomCf())
  await page.fill('#adminEmail', adminEmail)
  await page.check('#terms')
  await submit(page, 'Continua')
  expect(await h1(page)).toBe('Controlla i dati prima di inviare la richiesta')
  const slug = (await page.locator('dd .code').first().textContent())?.replace('/t/', '') as string
  expect(slug).toBe(`ic-giuseppe-verdi-${id}-parma`)
  slugs.push(slug)
  await a11y(page)
  // change the name: back to the form with everything kept
  await page.getByRole('button', { name: 'Cambia Denominazione ufficiale' }).click()
  expect(await page.inputValue('#adminEmail')).toBe(adminEmail)
  expect(await page.inputValue('#slug')).toBe(slug)
  await page.fill('#address', 'Via Giuseppe Verdi 1, 43121 Parma')
  await submit(page, 'Continua')
  expect(await page.locator('main').textContent()).toContain('Via Giuseppe Verdi 1')
  await submit(page, 'Invia la richiesta')
  expect(await h1(page)).toBe('Richiesta inviata')
  await a11y(page)
  const ref = (await page.locator('.panel strong').textContent()) as string
  await applicant.close()

  // --- the operator approves ------------------------------------------------------------------------------
  const opContext = await newContext(browser, { js })
  opContext.setDefaultTimeout(10_000)
  const op = await opContext.newPage()
  await login(op, operator.email)
  await op.goto(`${server.url}/piattaforma`)
  await a11y(op)
  await op.getByRole('link', { name: /Richieste di adesione in attesa/ }).click()
  await a11y(op)
  await op.getByRole('link', { name: new RegExp(ref) }).click()
  expect(await h1(op)).toBe(`Richiesta ${ref}`)
  await a11y(op)
  await op.fill('#segregationCode', '77')
  await submit(op, 'Accogli e crea l\u2019ente'.replace('\u2019', "'"))
  expect(await op.title()).toMatch(/^Errore: /)
  await a11y(op)
  await op.fill('#segregationCode', '02')
  await op.fill('#message', 'Buon lavoro!')
  await submit(op, "Accogli e crea l'ente")
  expect(await op.locator('.panel h2').textContent()).toBe('Richiesta accolta')
  await a11y(op)
  await op.getByRole('link', { name }).first().click()
  expect(await h1(op)).toBe(name)
  await a11y(op)
  await op.goto(`${server.url}/piattaforma/registro`)
  await a11y(op)

  // --- the invitation arrives by SMTP; the administrator creates the account -------------------------------
  await drainOutbox(db.sql, server.deps.config, 50, `%${run}@example.it`)
  const mail = smtp.to(adminEmail).find((m) => m.text.includes('/invito/'))
  expect(mail?.text).toContain('Buon lavoro!')
  expect(mail?.subject).toContain(ref)
  // nothing the applicant wrote is in the mail: the request is named by its reference
  expect(mail?.text).not.toContain('Giuseppe Verdi')
  const link = linkIn(mail?.text ?? '', '/invito/')
  const adminContext = await newContext(browser, { js })
  adminContext.setDefaultTimeout(10_000)
  const admin = await adminContext.newPage()
  await admin.goto(server.url + link)
  expect(await h1(admin)).toBe('Crea il tuo account')
  // what the request said is proposed
  expect(await admin.inputValue('#givenName')).toBe('Giulia')
  await a11y(admin)
  await admin.fill('#password', TEST_PASSWORD)
  await admin.fill('#passwordConfirm', 'un altra frase diversa')
  await submit(admin, "Crea l'account e accetta")
  expect(await admin.title()).toMatch(/^Errore: /)
  await a11y(admin)
  await admin.fill('#password', TEST_PASSWORD)
  await admin.fill('#passwordConfirm', TEST_PASSWORD)
  await submit(admin, "Crea l'account e accetta")
  expect(new URL(admin.url()).pathname).toBe(`/t/${slug}/ufficio/configurazione`)
  expect(await h1(admin)).toBe("Configurazione dell'ente")
  await a11y(admin)
  // not public yet
  const peek = await fetch(`${server.url}/t/${slug}`)
  expect(peek.status).toBe(404)

  // --- the wizard -----------------------------------------------------------------------------------------
  const base = `${server.url}/t/${slug}/ufficio/configurazione`
  await admin.getByRole('link', { name: /Dati e contatti dell'ente/ }).click()
  await a11y(admin)
  await admin.fill('#email', 'non-valida')
  await submit(admin, 'Salva e continua')
  expect(await admin.title()).toMatch(/^Errore: /)
  await a11y(admin)
  await admin.fill('#email', `segreteria.${id}.${run}@example.it`)
  await admin.fill('#shortName', `IC Verdi ${id}`)
  await admin.fill('#phone', '0521 123456')
  await submit(admin, 'Salva e continua')
  expect(await admin.locator('.notice--success').textContent()).toContain("Dati dell'ente salvati")
  await a11y(admin)

  await admin.getByRole('link', { name: /Aspetto/ }).click()
  await a11y(admin)
  await admin.fill('#accent', '#f0c000')
  await submit(admin, "Mostra l'anteprima")
  expect(await admin.title()).toMatch(/^Errore: /)
  expect(await admin.locator('main').textContent()).toContain('Insufficiente')
  await a11y(admin)
  await admin.fill('#accent', '#1d5c2e')
  await submit(admin, "Mostra l'anteprima")
  expect(await admin.locator('main').textContent()).toContain('Sufficiente')
  // the preview takes the proposed colour from its own stylesheet (no inline style under the CSP)
  const bar = await admin.locator('.setup-preview .tenant-bar').evaluate((el) => getComputedStyle(el).backgroundColor)
  expect(bar).toBe('rgb(29, 92, 46)')
  await a11y(admin)
  await admin.setInputFiles('#logo', { name: 'logo.svg', mimeType: 'image/svg+xml', buffer: Buffer.from('<svg/>') })
  await submit(admin, 'Carica il logo')
  expect(await admin.title()).toMatch(/^Errore: /)
  await a11y(admin)
  await admin.setInputFiles('#logo', logoPath)
  await submit(admin, 'Carica il logo')
  expect(await admin.locator('img.setup-logo').count()).toBe(1)
  expect(await admin.locator('img.setup-logo').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(64)
  await a11y(admin)
  await admin.fill('#accent', '#1d5c2e')
  await submit(admin, 'Salva e continua')
  expect(await admin.locator('.notice--success').textContent()).toContain('Aspetto salvato')
  // the header shows the logo now
  expect(await admin.locator('.tenant-bar img.tenant-bar__img').count()).toBe(1)

  await admin.getByRole('link', { name: /^3\. Servizi/ }).click()
  await a11y(admin)
  await admin.getByRole('link', { name: 'Aggiungi un servizio' }).click()
  await a11y(admin)
  await submit(admin, 'Salva il servizio')
  expect(await admin.title()).toMatch(/^Errore: /)
  await a11y(admin)
  await admin.selectOption('#kind', 'altro')
  await admin.fill('#name', 'Diario scolastico')
  await admin.fill('#causale', 'Diario scolastico a.s.')
  await admin.check('#amountMode')
  await admin.check('#active')
  await submit(admin, 'Salva il servizio')
  expect(await admin.locator('.notice--success').textContent()).toContain('Servizio salvato')
  await admin.getByRole('link', { name: 'Modifica – Viaggi e uscite didattiche' }).click()
  await a11y(admin)
  await admin.fill('#name', 'Uscite didattiche')
  await submit(admin, 'Salva il servizio')
  await submit(admin, 'Conferma i servizi e continua')
  expect(await admin.locator('.notice--success').textContent()).toContain('Servizi confermati')

  await admin.getByRole('link', { name: /^4\. Regole/ }).click()
  await a11y(admin)
  await admin.fill('#cutoff', '9')
  await admin.check('#commission-1')
  await admin.fill('#commissionFixed', '')
  await submit(admin, 'Salva e continua')
  expect(await admin.title()).toMatch(/^Errore: /)
  await a11y(admin)
  await admin.fill('#cutoff', '09:00')
  await admin.check('#commission')
  await admin.fill('#reminderDays', '-7, 0')
  await submit(admin, 'Salva e continua')
  expect(await admin.locator('.notice--success').textContent()).toContain('Regole salvate')

  await admin.getByRole('link', { name: 'Controlla e metti online' }).click()
  expect(await h1(admin)).toBe("Controlla i dati e metti l'ente online")
  await a11y(admin)
  await submit(admin, "Metti l'ente online")
  expect(await admin.title()).toMatch(/^Errore: /)
  await a11y(admin)
  await admin.check('#confirm')
  await submit(admin, "Metti l'ente online")
  expect(await h1(admin)).toBe("L'ente è online")
  await a11y(admin)
  if (!js) {
    for (const path of ['', '/aspetto', '/regole', '/servizi/nuovo', '/online'])
      await expectReflow(adminContext, base + path)
  }

  // --- a colleague with an account: invited, signs in, accepts -----------------------------------------------
  await admin.goto(`${server.url}/t/${slug}/ufficio/membri`)
  await a11y(admin)
  await submit(admin, "Invia l'invito")
  expect(await admin.title()).toMatch(/^Errore: /)
  await a11y(admin)
  await admin.fill('#email', colleague.email)
  await admin.check('#role-2')
  await submit(admin, "Invia l'invito")
  expect(await admin.locator('.notice--success').textContent()).toContain(`Invito inviato a ${colleague.email}`)
  await a11y(admin)
  await drainOutbox(db.sql, server.deps.config, 50, colleague.email)
  const colleagueMail = smtp.to(colleague.email).pop()
  const colleagueLink = linkIn(colleagueMail?.text ?? '', '/invito/')
  const colleagueContext = await newContext(browser, { js })
  colleagueContext.setDefaultTimeout(10_000)
  const col = await colleagueContext.newPage()
  await col.goto(server.url + colleagueLink)
  expect(await h1(col)).toBe("Accetta l'invito")
  expect(await col.locator('#password').count()).toBe(0)
  await a11y(col)
  await col.getByRole('link', { name: 'Accedi per accettare' }).click()
  await col.waitForLoadState('load')
  await col.fill('#email', colleague.email)
  await col.fill('#password', TEST_PASSWORD)
  await col.click('main button[type=submit]')
  await col.waitForLoadState('load')
  expect(new URL(col.url()).pathname).toBe(colleagueLink)
  await a11y(col)
  await submit(col, "Accetta ed entra nell'ufficio")
  expect(new URL(col.url()).pathname).toBe(`/t/${slug}/ufficio`)
  await colleagueContext.close()
  await admin.goto(`${server.url}/t/${slug}/ufficio/membri`)
  expect(await admin.locator('main').textContent()).toContain('Carla Collega')

  // --- the first notice, from the office's issuing form ---------------------------------------------------
  const tenant = (await new TenantRegistry(db, 0).get(slug)) as Tenant
  expect(tenant.status).toBe('active')
  await givePayer(db, tenant, citizen.codiceFiscale, ['Mario', 'Genitore'])
  await admin.goto(`${server.url}/t/${slug}/ufficio/documenti/nuovo`)
  await a11y(admin)
  await admin.selectOption('#service', { label: 'Assicurazione integrativa alunni' })
  await admin.fill('#payerCf', citizen.codiceFiscale)
  await admin.fill('#description', 'Assicurazione integrativa, a.s. 2026/2027')
  await admin.check('#mode-1')
  const year = String(new Date().getFullYear() + 1)
  await admin.fill('#due-1-day', '15')
  await admin.fill('#due-1-month', '1')
  await admin.fill('#due-1-year', year)
  await admin.fill('#amount-1', '12,50')
  await submit(admin, 'Continua')
  await a11y(admin)
  await submit(admin, 'Emetti il documento')
  expect(new URL(admin.url()).pathname).toMatch(new RegExp(`^/t/${slug}/ufficio/documenti/\\d+$`))
  await a11y(admin)
  await adminContext.close()

  // the citizen sees the school and its notice
  const famContext = await newContext(browser, { js })
  famContext.setDefaultTimeout(10_000)
  const fam = await famContext.newPage()
  await fam.goto(`${server.url}/t/${slug}`)
  expect(await h1(fam)).toBe(name)
  await a11y(fam)
  await login(fam, citizen.email)
  await fam.goto(`${server.url}/t/${slug}/posizione-debitoria`)
  expect(await fam.locator('main').textContent()).toContain('Assicurazione integrativa, a.s. 2026/2027')
  await a11y(fam)
  await famContext.close()

  // --- the operator suspends the school: its page says so; then resumes it ---------------------------------
  await op.goto(`${server.url}/piattaforma/enti/${slug}`)
  await submit(op, "Sospendi l'ente")
  expect(await op.title()).toMatch(/^Errore: /)
  await a11y(op)
  await op.fill('#reason', 'Verifica della convenzione')
  await submit(op, "Sospendi l'ente")
  expect(await op.locator('.notice--success').textContent()).toContain('Ente sospeso')
  await a11y(op)
  const suspended = await (await fetch(`${server.url}/t/${slug}`)).text()
  expect(suspended).toContain('temporaneamente sospeso')
  await submit(op, "Riattiva l'ente")
  expect(await op.locator('.notice--success').textContent()).toContain('Ente riattivato')
  if (!js) {
    for (const path of ['/piattaforma', `/piattaforma/enti/${slug}`]) await expectReflow(opContext, server.url + path)
  }
  await opContext.close()
}

describe('a school joins Sportello', () => {
  it('from sign-up to the first notice with JavaScript off', async () => {
    await journey(false)
    const reflow = await newContext(browser, { js: false })
    await expectReflow(reflow, `${server.url}/adesione`)
    await reflow.close()
    // about fifty pages and error states, each checked by axe in a replayed page
  }, 300_000)

  it('from sign-up to the first notice with JavaScript on', async () => {
    await journey(true)
  }, 180_000)
})
