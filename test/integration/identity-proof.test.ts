// A codice fiscale opens nothing until it is proved: a stranger who registers with someone's codice fiscale sees
// none of her data and receives none of her mail; proofs by a code mailed to the address a body holds, by an
// activation letter and by the office's confirmation; the email change needs the password; a notice is payable by
// its code without any proof.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Config } from '../../src/config.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { formatNoticeCode } from '../../src/platform/it/pagopa.ts'
import { drainOutbox } from '../../src/platform/mail.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { addMembership, createAccount, randomCf, signedIn, TEST_PASSWORD } from '../helpers/accounts.ts'
import { Client } from '../helpers/client.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { type App, type World, world } from '../helpers/world.ts'

const w = world({ smtp: true })
let db: Db
let app: App
let config: Config
let tenant: Tenant
let smtp: World['smtp']
const run = Math.random().toString(36).slice(2, 8)
const email = (who: string) => `${who}.${run}@example.it`

async function mails() {
  await drainOutbox(db.sql, config, 500, `%.${run}@example.it`)
}

/** A victim: a payer of the tenant with the address the office holds, a document with two installments. */
async function victim(who: string) {
  const cf = randomCf()
  const payerId = await givePayer(db, tenant, cf, ['Vera', 'Titolare'])
  await withTenant(db.sql, tenant, (tx) => tx`update payers set email = ${email(who)} where id = ${payerId}`)
  const doc = await issue(db, tenant, payerId, [5000, 7000], { description: `Retta nido di Vera ${who}` })
  return { cf, payerId, doc }
}

/** Registers through the form with this codice fiscale, confirms the address, signs in. */
async function registerAs(who: string, cf: string): Promise<Client> {
  const c = new Client(app)
  const res = await c.submit('/registrazione', {
    givenName: 'Finto',
    familyName: 'Titolare',
    codiceFiscale: cf,
    email: email(who),
    password: TEST_PASSWORD,
    passwordConfirm: TEST_PASSWORD,
    terms: 'si',
  })
  expect(res.status).toBe(200)
  const login = await c.submit('/accesso', { email: email(who), password: TEST_PASSWORD })
  expect(login.status).toBe(303)
  // the confirmation mail is delivered now, so that a test counting mails counts only its own
  await mails()
  return c
}

async function accountOf(who: string) {
  const [a] = await db.sql<{ id: number; proved: boolean; by: string | null }[]>`
    select id, cf_proved_at is not null as proved, cf_proved_by as by from platform.accounts where email = ${email(who)}`
  return a as { id: number; proved: boolean; by: string | null }
}

/** Everything found through a codice fiscale, as a signed-in citizen asks for it. */
async function seesData(c: Client, v: Awaited<ReturnType<typeof victim>>) {
  // every tenant's position, and this tenant's (whose statements read the session's codice fiscale in SQL)
  const position =
    (await (await c.get('/posizione-debitoria')).text()) +
    (await (await c.get(`/t/${tenant.slug}/posizione-debitoria`)).text())
  const doc = await c.get(`/t/${tenant.slug}/documenti/${v.doc.documentId}`)
  const notice = await c.get(`/t/${tenant.slug}/avvisi/${v.doc.installments[0]?.id}.pdf`)
  const home = await (await c.get('/area-personale')).text()
  return {
    position: position.includes(`Vera ${v.cf.slice(0, 0)}`) || position.includes('Retta nido di Vera'),
    document: doc.status,
    notice: notice.status,
    tenantListed: home.includes(`/t/${tenant.slug}"`),
  }
}

beforeAll(() => {
  ;({ db, app, smtp, tenant } = w)
  config = w.deps.config
})

afterAll(async () => {
  await db.sql`delete from platform.accounts where email like ${`%.${run}@example.it`}`
})

beforeEach(async () => {
  await db.sql`delete from platform.throttle`
})

describe('a codice fiscale typed at registration', () => {
  it("opens none of that person's data, in any page", async () => {
    const v = await victim('vittima1')
    const c = await registerAs('estraneo1', v.cf)
    expect((await accountOf('estraneo1')).proved).toBe(false)
    expect(await seesData(c, v)).toEqual({ position: false, document: 404, notice: 404, tenantListed: false })
    for (const path of ['/mensa', '/certificazione', `/t/${tenant.slug}/pagamento-spontaneo`]) {
      const res = await c.get(path)
      expect(res.status, path).toBe(403)
      expect(await res.text()).toContain('href="/profilo/verifica"')
    }
    // the installment cannot be put in the cart by its id either
    await c.get(`/t/${tenant.slug}/posizione-debitoria`)
    const add = await c.post('/carrello/aggiungi', { ente: tenant.slug, rate: String(v.doc.installments[0]?.id) })
    expect(add.status).toBe(404)
  })

  it("reserves nothing and never receives the real person's mail", async () => {
    const cf = randomCf()
    await registerAs('primo2', cf)
    smtp.received.length = 0
    // the real person registers after the stranger: she gets her own account and her own confirmation
    const c = new Client(app)
    const res = await c.submit('/registrazione', {
      givenName: 'Vera',
      familyName: 'Titolare',
      codiceFiscale: cf,
      email: email('vera2'),
      password: TEST_PASSWORD,
      passwordConfirm: TEST_PASSWORD,
      terms: 'si',
    })
    expect(res.status).toBe(200)
    await mails()
    expect(smtp.to(email('primo2'))).toHaveLength(0)
    expect(smtp.to(email('vera2')).map((m) => m.subject)).toEqual(['Conferma il tuo indirizzo email'])
    const [n] = await db.sql<
      { n: number }[]
    >`select count(*)::int as n from platform.accounts where codice_fiscale = ${cf}`
    expect(n?.n).toBe(2)
  })

  it('tells the owner of a proved codice fiscale, and only her, that someone tried to register with it', async () => {
    const owner = await createAccount(db)
    smtp.received.length = 0
    const c = new Client(app)
    await c.submit('/registrazione', {
      givenName: 'Finto',
      familyName: 'Titolare',
      codiceFiscale: owner.codiceFiscale,
      email: email('tentativo3'),
      password: TEST_PASSWORD,
      passwordConfirm: TEST_PASSWORD,
      terms: 'si',
    })
    await drainOutbox(db.sql, config, 500)
    expect(smtp.to(owner.email).map((m) => m.subject)).toEqual(['Tentativo di registrazione con il tuo codice fiscale'])
    expect(smtp.to(email('tentativo3'))).toHaveLength(0)
    await db.sql`delete from platform.accounts where id = ${owner.id}`
  })
})

describe('proof by a code mailed to the address the body holds', () => {
  it('sends the code to the payer record, not to the account, and opens the data once redeemed', async () => {
    const v = await victim('vittima4')
    const c = await registerAs('titolare4', v.cf)
    smtp.received.length = 0
    const page = await c.get('/profilo/verifica')
    expect(page.status).toBe(200)
    const sent = await c.post('/profilo/verifica/invia', {})
    expect(sent.status).toBe(303)
    await mails()
    expect(smtp.to(email('titolare4'))).toHaveLength(0)
    const [msg] = smtp.to(email('vittima4'))
    const code = /\b([A-Z2-9]{4}-[A-Z2-9]{4})\b/.exec(msg?.text ?? '')?.[1] as string
    expect(code).toBeTruthy()
    // a malformed code is a 422 with the summary linked to the field and the input kept
    await c.get('/profilo/verifica')
    const bad = await c.post('/profilo/verifica', { codice: 'abc' })
    expect(bad.status).toBe(422)
    const badHtml = await bad.text()
    expect(badHtml).toContain('href="#codice"')
    expect(badHtml).toContain('value="abc"')
    expect((await accountOf('titolare4')).proved).toBe(false)
    // another account cannot use it
    const other = await registerAs('altro4', v.cf)
    await other.get('/profilo/verifica')
    expect((await other.post('/profilo/verifica', { codice: code })).status).toBe(422)
    expect((await accountOf('altro4')).proved).toBe(false)
    // the right one, typed loosely
    await c.get('/profilo/verifica')
    const ok = await c.post('/profilo/verifica', { codice: code.toLowerCase().replace('-', ' ') })
    expect(ok.status).toBe(303)
    expect(await accountOf('titolare4')).toMatchObject({ proved: true, by: 'email_code' })
    expect(await seesData(c, v)).toEqual({ position: true, document: 200, notice: 200, tenantListed: true })
    // single use
    await c.get('/profilo/verifica')
    expect((await c.post('/profilo/verifica', { codice: code })).status).toBe(303)
    const [logged] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from platform.platform_log
      where actor_account_id = ${(await accountOf('titolare4')).id} and action in ('account.cf_proof_sent', 'account.cf_proved')`
    expect(logged?.n).toBe(2)
    // the platform's operators read it in their log
    const operator = await createAccount(db, { operator: true })
    const desk = await signedIn(app, operator)
    const log = await desk.get('/piattaforma/registro')
    expect(log.status).toBe(200)
    expect(await log.text()).toContain('Codice fiscale verificato')
    await db.sql`delete from platform.accounts where id = ${operator.id}`
  })

  it('stops guessing after four wrong codes, in sequence or at once', async () => {
    const v = await victim('vittima5')
    const c = await registerAs('indovino5', v.cf)
    const statuses: number[] = []
    for (let i = 0; i < 7; i++) {
      await c.get('/profilo/verifica')
      statuses.push((await c.post('/profilo/verifica', { codice: 'AAAA-BBBB' })).status)
    }
    expect(statuses).toEqual([422, 422, 422, 422, 429, 429, 429])
    // even the right code waits for the window now

    // concurrent guesses are counted before they are checked
    await db.sql`delete from platform.throttle`
    await c.get('/profilo/verifica')
    const token = c.csrf()
    const burst = await Promise.all(
      Array.from({ length: 20 }, () => c.post('/profilo/verifica', { codice: 'CCCC-DDDD' }, token)),
    )
    expect(burst.filter((r) => r.status === 422)).toHaveLength(4)
    expect(burst.filter((r) => r.status === 429)).toHaveLength(16)
  })

  it('sends nothing anywhere when no body holds an address, and says the same', async () => {
    const c = await registerAs('nessuno6', randomCf())
    smtp.received.length = 0
    await c.get('/profilo/verifica')
    const res = await c.post('/profilo/verifica/invia', {})
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/profilo/verifica?inviato=1')
    await drainOutbox(db.sql, config, 500)
    expect(smtp.received).toHaveLength(0)
  })
})

describe("the office's letter and confirmation", () => {
  it('prints an activation letter whose code proves the codice fiscale; a lettore cannot', async () => {
    const v = await victim('vittima7')
    const operator = await createAccount(db)
    await addMembership(db, operator.id, tenant.id, 'operatore')
    const reader = await createAccount(db)
    await addMembership(db, reader.id, tenant.id, 'lettore')
    const office = await signedIn(app, operator)
    const path = `/t/${tenant.slug}/ufficio/anagrafiche/intestatari/${v.payerId}`
    await office.get(path)
    const letter = await office.post(`${path}/lettera`, {})
    expect(letter.status).toBe(200)
    const html = await letter.text()
    const code = /\b([A-Z2-9]{4}-[A-Z2-9]{4})\b/.exec(html)?.[1] as string
    expect(code).toBeTruthy()
    const ro = await signedIn(app, reader)
    await ro.get(path)
    expect((await ro.post(`${path}/lettera`, {})).status).toBe(403)
    const c = await registerAs('titolare7', v.cf)
    await c.get('/profilo/verifica')
    expect((await c.post('/profilo/verifica', { codice: code })).status).toBe(303)
    expect(await accountOf('titolare7')).toMatchObject({ proved: true, by: 'letter' })
    const [audited] = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ n: number }[]>`select count(*)::int as n from audit_log where action = 'payer.activation_letter'
        and entity_id = ${String(v.payerId)}`,
    )
    expect(audited?.n).toBe(1)
  })

  it('confirms an account at the counter with a recorded reason; a lettore cannot; bad input is a 422', async () => {
    const v = await victim('vittima8')
    const c = await registerAs('titolare8', v.cf)
    const { id } = await accountOf('titolare8')
    const operator = await createAccount(db)
    await addMembership(db, operator.id, tenant.id, 'operatore')
    const reader = await createAccount(db)
    await addMembership(db, reader.id, tenant.id, 'lettore')
    const path = `/t/${tenant.slug}/ufficio/anagrafiche/intestatari/${v.payerId}`
    const office = await signedIn(app, operator)
    const payerPage = await (await office.get(path)).text()
    expect(payerPage).toContain(email('titolare8'))
    const form = `${path}/conferma-account/${id}`
    expect((await office.get(form)).status).toBe(200)
    const empty = await office.post(form, { motivo: '' })
    expect(empty.status).toBe(422)
    expect(await empty.text()).toContain('href="#motivo"')
    expect((await accountOf('titolare8')).proved).toBe(false)
    const ro = await signedIn(app, reader)
    expect((await ro.get(form)).status).toBe(403)
    await office.get(form)
    const ok = await office.post(form, { motivo: "Carta d'identità CA12345AB vista allo sportello" })
    expect(ok.status).toBe(303)
    expect(await accountOf('titolare8')).toMatchObject({ proved: true, by: 'office' })
    expect(await seesData(c, v)).toMatchObject({ document: 200 })
    const [audited] = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ reason: string }[]>`select reason from audit_log where action = 'payer.account_confirmed'
        and entity_id = ${String(v.payerId)}`,
    )
    expect(audited?.reason).toContain('CA12345AB')
    // an account of another codice fiscale is not found through this payer
    const stranger = await createAccount(db, { proved: false })
    expect((await office.get(`${path}/conferma-account/${stranger.id}`)).status).toBe(404)
  })
})

describe('changing the email address', () => {
  it('needs the current password and ends the other sessions', async () => {
    const a = await createAccount(db)
    const one = await signedIn(app, a)
    const two = await signedIn(app, a)
    await one.get('/profilo/modifica')
    const form = { email: email('nuovo9'), phone: '', address: '', lang: 'it' }
    const without = await one.post('/profilo/modifica', form)
    expect(without.status).toBe(422)
    const html = await without.text()
    expect(html).toContain('href="#currentPassword"')
    expect(html).toContain(`value="${email('nuovo9')}"`)
    const wrong = await one.post('/profilo/modifica', { ...form, currentPassword: 'sbagliata sbagliata' })
    expect(wrong.status).toBe(422)
    expect((await two.get('/profilo')).status).toBe(200)
    const right = await one.post('/profilo/modifica', { ...form, currentPassword: TEST_PASSWORD })
    expect(right.status).toBe(303)
    expect((await two.get('/profilo')).status).toBe(303)
    expect((await one.get('/profilo')).status).toBe(200)
    // the other details change without the password
    await one.get('/profilo/modifica')
    const phone = await one.post('/profilo/modifica', { email: a.email, phone: '333 1234567', address: '', lang: 'it' })
    expect(phone.status).toBe(303)
    await db.sql`delete from platform.accounts where id = ${a.id}`
  })
})

describe('paying a notice by its code', () => {
  it('lets an account with no proved codice fiscale pay a notice by code and creditor, and see only that', async () => {
    const v = await victim('vittima10')
    const [inst] = await withTenant(
      db.sql,
      tenant,
      (tx) =>
        tx<
          { notice_code: string }[]
        >`select notice_code from installments where id = ${v.doc.installments[0]?.id as number}`,
    )
    const c = await registerAs('pagatore10', randomCf())
    const path = `/t/${tenant.slug}/paga-avviso`
    expect((await c.get(path)).status).toBe(200)
    const bad = await c.post(path, { codice: '12345' })
    expect(bad.status).toBe(422)
    expect(await bad.text()).toContain('href="#codice"')
    await c.get(path)
    const wrongCheck = await c.post(path, { codice: `${inst?.notice_code.slice(0, 16)}00` })
    expect(wrongCheck.status).toBe(422)
    await c.get(path)
    const ok = await c.post(path, { codice: formatNoticeCode(inst?.notice_code as string) })
    expect(ok.status).toBe(303)
    const cart = await (await c.get('/carrello')).text()
    expect(cart).toContain('Retta nido di Vera')
    // still nothing else of the payer's
    expect(await seesData(c, v)).toEqual({ position: false, document: 404, notice: 404, tenantListed: false })
    // signed out: to the sign-in
    const anon = new Client(app)
    expect((await anon.get(path)).status).toBe(303)
  })
})
