// Invitations and the public onboarding form, as an attacker would try them (issue 23): an approved request that
// names an existing citizen's codice fiscale or email never sets that account's password nor signs anyone in,
// and its link goes to the account's own address; "add member" says the same for a known and an unknown address
// and adds nobody until that person accepts, signed in; public form mails carry none of the visitor's text; and
// pending requests block nobody (the operator decides, with a clear message when a key collides).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { type Tenant, TenantRegistry } from '../../src/platform/tenancy.ts'
import {
  addMembership,
  createAccount,
  deleteAccounts,
  randomCf,
  signedIn,
  TEST_PASSWORD,
  type TestAccount,
} from '../helpers/accounts.ts'
import { Client } from '../helpers/client.ts'
import { createTestTenant, testTenantFile } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { dropOnboarded, signUp as sendSignUp } from '../helpers/onboarding.ts'
import { linkIn } from '../helpers/smtp.ts'
import { type App, world } from '../helpers/world.ts'

const w = world({ roles: { operatorePiattaforma: { givenName: 'Olga', familyName: 'Operatrice' }, admin: {} } })
let db: Db
let app: App
let operator: TestAccount
let tenant: Tenant
let admin: TestAccount
const run = Math.random().toString(36).slice(2, 8)
const accounts: TestAccount[] = []
const slugs: string[] = []

beforeAll(() => {
  ;({ db, app, tenant } = w)
  ;({ operatorePiattaforma: operator, admin } = w.accounts)
})

afterAll(async () => {
  await dropOnboarded(db, slugs, run)
  await deleteAccounts(db, accounts)
})

function form(overrides: Record<string, string> = {}): Record<string, string> {
  const id = Math.random().toString(36).slice(2, 8)
  return {
    kind: 'comune',
    name: `Comune di Inviti ${id}`,
    fiscalCode: testTenantFile().fiscalCode,
    codiceMeccanografico: '',
    istatCode: '',
    address: 'Piazza del Comune 1, 00100 Roma',
    pec: `pec.${id}.${run}@example.it`,
    email: `ufficio.${id}.${run}@example.it`,
    adminGivenName: 'Anna',
    adminFamilyName: 'Sindaca',
    adminCodiceFiscale: randomCf(),
    adminEmail: `sindaca.${id}.${run}@example.it`,
    slug: `inv-${id}-${run}`,
    terms: 'si',
    ...overrides,
  }
}

/** The whole public sign-up (test/helpers/onboarding.ts); its tenant is dropped at the end. */
async function signUp(values: Record<string, string>) {
  const request = await sendSignUp(app, db, values)
  slugs.push(request.slug)
  return request
}

async function approve(id: number, extra: Record<string, string> = {}) {
  const op = await signedIn(app, operator)
  await op.get(`/piattaforma/richieste/${id}`)
  const res = await op.post(`/piattaforma/richieste/${id}/approva`, { segregationCode: '01', message: '', ...extra })
  return { res, op }
}

async function mailTo(address: string) {
  return db.sql<{ subject: string; text_body: string; html_body: string | null }[]>`
    select subject, text_body, html_body from platform.outbox where lower(to_address) = lower(${address}) order by id`
}

async function invitationLinkTo(address: string): Promise<string> {
  const mail = (await mailTo(address)).filter((m) => m.text_body.includes('/invito/')).pop()
  expect(mail, `an invitation to ${address}`).toBeDefined()
  return linkIn(mail?.text_body ?? '', '/invito/')
}

async function accountState(id: number) {
  const [a] = await db.sql<{ password_hash: string | null; sessions: number; memberships: number }[]>`
    select a.password_hash,
      (select count(*)::int from platform.sessions s where s.account_id = a.id and s.revoked_at is null) as sessions,
      (select count(*)::int from platform.memberships m where m.account_id = a.id) as memberships
    from platform.accounts a where a.id = ${id}`
  return a
}

/** A citizen who only ever signed in with SPID: proved codice fiscale, no password. */
async function spidOnlyCitizen(): Promise<TestAccount> {
  const a = await createAccount(db)
  accounts.push(a)
  await db.sql`update platform.accounts set password_hash = null where id = ${a.id}`
  return a
}

describe('the first administrator of an approved request', () => {
  it("naming a SPID-only citizen's codice fiscale: the link goes to her own address and sets no password", async () => {
    const victim = await spidOnlyCitizen()
    const attacker = `attacco.${run}@example.it`
    const { id, slug } = await signUp(form({ adminCodiceFiscale: victim.codiceFiscale, adminEmail: attacker }))
    const before = await accountState(victim.id)
    const { res } = await approve(id)
    expect(res.status).toBe(303)
    // nothing for the address the requester typed; the invitation went to the account's own address
    expect((await mailTo(attacker)).some((m) => m.text_body.includes('/invito/'))).toBe(false)
    const link = await invitationLinkTo(victim.email)
    expect((await mailTo(victim.email)).pop()?.text_body).toContain('Hai già un account Sportello')
    // even holding the link, a stranger gets no password form and no session
    const stranger = new Client(app)
    expect((await stranger.get(link)).status).toBe(200)
    expect(stranger.lastHtml).not.toContain('id="password"')
    expect(stranger.lastHtml).toContain(`/accesso?torna=${encodeURIComponent(link)}`)
    await expectValidHtml(stranger.lastHtml)
    await stranger.get('/adesione') // a form's CSRF token: the invitation page has no form for a stranger
    const tried = await stranger.post(link, {
      givenName: 'Mallory',
      familyName: 'Intrusa',
      codiceFiscale: randomCf(),
      password: 'una password scelta da me',
      passwordConfirm: 'una password scelta da me',
    })
    expect(tried.status).toBe(303)
    expect(tried.headers.get('location')).toMatch(/^\/accesso\?torna=/)
    expect((await stranger.get('/area-personale')).status).toBe(303)
    expect(await accountState(victim.id)).toEqual({ ...before, password_hash: null })
    expect(await db.sql`select 1 from platform.accounts where lower(email) = ${attacker}`).toHaveLength(0)
    // the tenant has no member yet: only the citizen herself, signed in, makes herself its administrator
    const t = (await new TenantRegistry(db, 0).get(slug)) as Tenant
    expect(await db.sql`select 1 from platform.memberships where tenant_id = ${t.id}`).toHaveLength(0)
    const [log] = await db.sql<{ detail: { email: string; account: string } }[]>`
      select detail from platform.platform_log where request_id = ${id} and action = 'admin.invited'`
    expect(log?.detail).toMatchObject({ email: victim.email, account: 'existing' })
  })

  it("naming an existing account's email: no membership until that account signs in and accepts", async () => {
    const citizen = await createAccount(db)
    accounts.push(citizen)
    const { id, slug } = await signUp(form({ adminEmail: citizen.email }))
    const before = await accountState(citizen.id)
    expect((await approve(id)).res.status).toBe(303)
    const t = (await new TenantRegistry(db, 0).get(slug)) as Tenant
    expect(await db.sql`select 1 from platform.memberships where tenant_id = ${t.id}`).toHaveLength(0)
    const link = await invitationLinkTo(citizen.email)
    const stranger = new Client(app)
    await stranger.get('/adesione')
    const tried = await stranger.post(link, { password: 'una password scelta da me', passwordConfirm: 'x' })
    expect(tried.status).toBe(303)
    expect(tried.headers.get('location')).toMatch(/^\/accesso/)
    expect(await accountState(citizen.id)).toEqual(before)
    // another account, signed in, is refused and learns nothing of whose the invitation is
    const other = await createAccount(db)
    accounts.push(other)
    const otherClient = await signedIn(app, other)
    await otherClient.get(link)
    expect(otherClient.lastHtml).toContain('Sei entrato con un altro account')
    expect(otherClient.lastHtml).not.toContain(citizen.email)
    expect((await otherClient.post(link, {})).status).toBe(403)
    expect(await db.sql`select 1 from platform.memberships where tenant_id = ${t.id}`).toHaveLength(0)
    // the account itself, signed in, accepts
    const me = await signedIn(app, citizen)
    await me.get(link)
    const ok = await me.post(link, {})
    expect(ok.status).toBe(303)
    expect(ok.headers.get('location')).toBe(`/t/${slug}/ufficio/configurazione?benvenuto=1`)
    const [m] = await db.sql<{ role: string }[]>`
      select role from platform.memberships where tenant_id = ${t.id} and account_id = ${citizen.id}`
    expect(m?.role).toBe('admin')
    expect((await accountState(citizen.id))?.password_hash).toBe(before?.password_hash)
    expect((await new Client(app).get(link)).status).toBe(410)
    const [req] = await db.sql<{ admin_account_id: number }[]>`
      select admin_account_id from platform.onboarding_requests where id = ${id}`
    expect(req?.admin_account_id).toBe(citizen.id)
  })

  it('a codice fiscale only claimed matches nobody: the new person creates her own account, still unproved', async () => {
    const claimant = await createAccount(db, { proved: false })
    accounts.push(claimant)
    const values = form({ adminCodiceFiscale: claimant.codiceFiscale })
    const { id, slug } = await signUp(values)
    expect((await approve(id)).res.status).toBe(303)
    expect((await mailTo(claimant.email)).some((m) => m.text_body.includes('/invito/'))).toBe(false)
    const link = await invitationLinkTo(values.adminEmail as string)
    const person = new Client(app)
    await person.get(link)
    expect(person.lastHtml).toContain('id="password"')
    expect(person.lastHtml).toContain(`value="${claimant.codiceFiscale}"`)
    await expectValidHtml(person.lastHtml)
    const bad = await person.post(link, { givenName: 'Anna', familyName: 'Sindaca', codiceFiscale: 'X', password: 'x' })
    expect(bad.status).toBe(422)
    for (const f of ['codiceFiscale', 'password']) expect(person.lastHtml).toContain(`href="#${f}"`)
    const res = await person.post(link, {
      givenName: 'Anna',
      familyName: 'Sindaca',
      codiceFiscale: claimant.codiceFiscale,
      password: TEST_PASSWORD,
      passwordConfirm: TEST_PASSWORD,
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`/t/${slug}/ufficio/configurazione?benvenuto=1`)
    const [created] = await db.sql<{ id: number; proved: boolean; confirmed: boolean; role: string }[]>`
      select a.id, a.cf_proved_at is not null as proved, a.email_confirmed_at is not null as confirmed, m.role
      from platform.accounts a join platform.memberships m on m.account_id = a.id
      where lower(a.email) = ${values.adminEmail as string}`
    expect(created).toMatchObject({ proved: false, confirmed: true, role: 'admin' })
    expect(created?.id).not.toBe(claimant.id)
    expect((await accountState(claimant.id))?.memberships).toBe(0)
  })
})

describe('adding a staff member', () => {
  it('answers the same for a known and an unknown address and adds nobody until the person accepts, signed in', async () => {
    const known = await createAccount(db, { givenName: 'Zelinda', familyName: 'Nascosta' })
    accounts.push(known)
    const unknown = `nuova.${run}@example.it`
    const office = await signedIn(app, admin)
    const answers: string[] = []
    for (const email of [known.email, unknown]) {
      await office.get(`/t/${tenant.slug}/ufficio/membri`)
      const res = await office.post(`/t/${tenant.slug}/ufficio/membri`, { email, role: 'operatore' })
      expect(res.status).toBe(303)
      const location = res.headers.get('location') ?? ''
      expect(location).toMatch(/\?fatto=invitato&invito=\d+$/)
      const page = await office.get(location)
      expect(page.status).toBe(200)
      const notice = /<div class="notice notice--success"[^>]*>([\s\S]*?)<\/div>/.exec(office.lastHtml)?.[1] ?? ''
      answers.push(notice.replace(email, '<email>'))
      await expectValidHtml(office.lastHtml)
    }
    expect(answers[0]).toContain('Invito inviato a <email>')
    expect(answers[0]).toBe(answers[1])
    // the pending list shows the address only: not the account's name
    expect(office.lastHtml).toContain(known.email)
    expect(office.lastHtml).not.toContain('Nascosta')
    // nobody was added
    expect(
      await db.sql`select 1 from platform.memberships where tenant_id = ${tenant.id} and account_id = ${known.id}`,
    ).toHaveLength(0)

    // the known account: its link needs its own sign-in
    const link = await invitationLinkTo(known.email)
    const anon = new Client(app)
    await anon.get(link)
    expect(anon.lastHtml).not.toContain('id="password"')
    await anon.get('/adesione')
    expect((await anon.post(link, {})).status).toBe(303)
    const stranger = await signedIn(app, admin)
    await stranger.get(link)
    expect((await stranger.post(link, {})).status).toBe(403)
    expect(
      await db.sql`select 1 from platform.memberships where tenant_id = ${tenant.id} and account_id = ${known.id}`,
    ).toHaveLength(0)
    const me = await signedIn(app, known)
    await me.get(link)
    const accepted = await me.post(link, {})
    expect(accepted.status).toBe(303)
    expect(accepted.headers.get('location')).toBe(`/t/${tenant.slug}/ufficio`)
    const [m] = await db.sql<{ role: string }[]>`
      select role from platform.memberships where tenant_id = ${tenant.id} and account_id = ${known.id}`
    expect(m?.role).toBe('operatore')
    expect((await me.get(`/t/${tenant.slug}/ufficio`)).status).toBe(200)

    // the unknown address: the link creates the account, and only then the membership
    const newLink = await invitationLinkTo(unknown)
    const person = new Client(app)
    await person.get(newLink)
    expect(person.lastHtml).toContain('id="password"')
    const joined = await person.post(newLink, {
      givenName: 'Nuova',
      familyName: 'Collega',
      codiceFiscale: randomCf(),
      password: TEST_PASSWORD,
      passwordConfirm: TEST_PASSWORD,
    })
    expect(joined.status).toBe(303)
    expect((await person.get(`/t/${tenant.slug}/ufficio`)).status).toBe(200)
    const [newcomer] = await db.sql<{ role: string; proved: boolean }[]>`
      select m.role, a.cf_proved_at is not null as proved from platform.accounts a
      join platform.memberships m on m.account_id = a.id and m.tenant_id = ${tenant.id} where lower(a.email) = ${unknown}`
    expect(newcomer).toEqual({ role: 'operatore', proved: false })

    // both invitations were used once, and the tenant's audit log tells the story
    expect((await new Client(app).get(newLink)).status).toBe(410)
    const actions = await withTenant(
      db.sql,
      tenant,
      (tx) =>
        tx<{ action: string }[]>`select action from audit_log where entity in ('invitation', 'membership') order by id`,
    )
    expect(actions.map((a) => a.action)).toEqual(['member.invited', 'member.invited', 'member.joined', 'member.joined'])
  })

  it('an admin sends an invitation again (the old link stops working) or withdraws it', async () => {
    const email = `ritirata.${run}@example.it`
    const office = await signedIn(app, admin)
    await office.get(`/t/${tenant.slug}/ufficio/membri`)
    expect((await office.post(`/t/${tenant.slug}/ufficio/membri`, { email, role: 'lettore' })).status).toBe(303)
    const first = await invitationLinkTo(email)
    const [inv] = await db.sql<{ id: number }[]>`
      select id from platform.invitations where lower(email) = ${email} and revoked_at is null and accepted_at is null`
    await office.get(`/t/${tenant.slug}/ufficio/membri`)
    expect(office.lastHtml).toContain(`/ufficio/membri/inviti/${inv?.id}/invia`)
    const again = await office.post(`/t/${tenant.slug}/ufficio/membri/inviti/${inv?.id}/invia`, {})
    expect(again.status).toBe(303)
    const second = await invitationLinkTo(email)
    expect(second).not.toBe(first)
    expect((await new Client(app).get(first)).status).toBe(410)
    expect((await new Client(app).get(second)).status).toBe(200)
    const [open] = await db.sql<{ id: number }[]>`
      select id from platform.invitations where lower(email) = ${email} and revoked_at is null and accepted_at is null`
    await office.get(`/t/${tenant.slug}/ufficio/membri`)
    expect((await office.post(`/t/${tenant.slug}/ufficio/membri/inviti/${open?.id}/ritira`, {})).status).toBe(303)
    expect((await new Client(app).get(second)).status).toBe(410)
    // another tenant's admin cannot touch this tenant's invitations
    const other = await createTestTenant(db)
    slugs.push(other.slug)
    const otherAdmin = await createAccount(db)
    accounts.push(otherAdmin)
    await addMembership(db, otherAdmin.id, other.id, 'admin')
    const outsider = await signedIn(app, otherAdmin)
    await outsider.get(`/t/${other.slug}/ufficio/membri`)
    expect((await outsider.post(`/t/${other.slug}/ufficio/membri/inviti/${open?.id}/invia`, {})).status).toBe(404)
    expect((await outsider.post(`/t/${tenant.slug}/ufficio/membri/inviti/${open?.id}/invia`, {})).status).toBe(403)
  })
})

describe('the public onboarding form', () => {
  it('refuses line breaks in names and mails nothing the visitor wrote, only the reference', async () => {
    const c = new Client(app)
    await c.get('/adesione')
    const broken = await c.post(
      '/adesione',
      form({ name: 'Comune di Prova\r\nClicca https://evil.example/pagamento', adminFamilyName: 'Rossi\nEvil' }),
    )
    expect(broken.status).toBe(422)
    expect(c.lastHtml).toContain('href="#name"')
    expect(c.lastHtml).toContain('href="#adminFamilyName"')
    expect(c.lastHtml).toContain('su una sola riga')
    // a URL on one line is a name like another, but it never reaches a mail
    const values = form({
      name: 'Comune di Prova – paga subito su https://evil.example/p',
      adminGivenName: 'Evil.example',
      adminFamilyName: "Visita l'indirizzo",
    })
    const { id, ref } = await signUp(values)
    await approve(id, { message: '' })
    const reject = form({ name: 'Ente finto www.evil.example' })
    const rejected = await signUp(reject)
    const op = await signedIn(app, operator)
    await op.get(`/piattaforma/richieste/${rejected.id}`)
    expect(
      (await op.post(`/piattaforma/richieste/${rejected.id}/respingi`, { reason: 'Dati non verificabili.' })).status,
    ).toBe(303)
    const mails = [
      ...(await mailTo(values.email as string)),
      ...(await mailTo(values.adminEmail as string)),
      ...(await mailTo(reject.email as string)),
      ...(await mailTo(reject.adminEmail as string)),
      ...(await mailTo(operator.email)),
    ]
    expect(mails.length).toBeGreaterThanOrEqual(6)
    for (const m of mails) {
      const all = `${m.subject}\n${m.text_body}\n${m.html_body ?? ''}`
      expect(all.toLowerCase()).not.toContain('evil')
      expect(all).not.toContain('Comune di Prova')
      expect(all).not.toContain('Ente finto')
      expect(all).not.toContain("Visita l'indirizzo")
    }
    // the request is named by its reference
    expect((await mailTo(values.email as string))[0]?.subject).toContain(ref)
    expect((await mailTo(values.adminEmail as string)).some((m) => m.text_body.includes('/invito/'))).toBe(true)
    expect((await mailTo(reject.email as string)).some((m) => m.text_body.includes('Dati non verificabili.'))).toBe(
      true,
    )
  })

  it('two waiting requests may name the same fiscal code and address; the operator decides on approval', async () => {
    const first = form()
    const second = form({ fiscalCode: first.fiscalCode as string, slug: first.slug as string })
    const a = await signUp(first)
    const b = await signUp(second)
    expect(b.slug).toBe(a.slug)
    const [n] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from platform.onboarding_requests where fiscal_code = ${first.fiscalCode as string} and status = 'pending'`
    expect(n?.n).toBe(2)
    // the operator sees the other waiting request before deciding
    const op = await signedIn(app, operator)
    await op.get(`/piattaforma/richieste/${b.id}`)
    expect(op.lastHtml).toContain(`/piattaforma/richieste/${a.id}`)
    await expectValidHtml(op.lastHtml)
    expect((await approve(a.id)).res.status).toBe(303)
    // the second can no longer be approved: the fiscal code is a tenant's now, and the operator is told so
    const { res, op: op2 } = await approve(b.id)
    expect(res.status).toBe(409)
    expect(op2.lastHtml).toContain('è già di un ente su Sportello')
    await expectValidHtml(op2.lastHtml)
    expect(await db.sql`select 1 from platform.tenants where fiscal_code = ${first.fiscalCode as string}`).toHaveLength(
      1,
    )
    const [still] = await db.sql<
      { status: string }[]
    >`select status from platform.onboarding_requests where id = ${b.id}`
    expect(still?.status).toBe('pending')
    // the real body's own form is not blocked by a stranger's waiting request with its fiscal code
    const third = form()
    await signUp(form({ fiscalCode: third.fiscalCode as string }))
    const real = await signUp(third)
    expect((await approve(real.id)).res.status).toBe(303)
    // two bodies asking for the same address: the second approval is told, with a free one to use instead
    const one = await signUp(form())
    const two = await signUp(form({ slug: one.slug }))
    expect((await approve(one.id)).res.status).toBe(303)
    const clash = await approve(two.id)
    expect(clash.res.status).toBe(409)
    expect(clash.op.lastHtml).toContain('href="#slug"')
    expect(clash.op.lastHtml).toContain(`${one.slug}-2`)
    expect((await approve(two.id, { slug: `${one.slug}-2` })).res.status).toBe(303)
    slugs.push(`${one.slug}-2`)
    expect((await new TenantRegistry(db, 0).get(`${one.slug}-2`))?.status).toBe('setup')
  })
})
