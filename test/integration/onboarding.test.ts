// Self-service onboarding end to end over HTTP: sign-up with its checks and duplicates, rejection, approval
// (tenant in set-up, default services, invitation), the invitation for a new and for an existing account,
// the set-up wizard up to go-live, suspension (citizen pages, cart and payment refusal, jobs) and the console.

import { readdirSync } from 'node:fs'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadCart } from '../../src/features/cart/service.ts'
import { NotPayable, startCheckout } from '../../src/features/payments/service.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Deps } from '../../src/platform/http.ts'
import { activeTenants } from '../../src/platform/jobs.ts'
import { dropTenantSchema, MIGRATIONS_DIR, migrateTenants } from '../../src/platform/migrate.ts'
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
import { createTestTenant, dropTestTenant, testTenantFile } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { dropOnboarded, signUp as sendSignUp } from '../helpers/onboarding.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { solidPng } from '../helpers/png.ts'
import { linkIn } from '../helpers/smtp.ts'
import { type App, world } from '../helpers/world.ts'

const w = world({
  tenant: false,
  roles: { operatorePiattaforma: { givenName: 'Olga', familyName: 'Operatrice' }, cittadino: {} },
})
let db: Db
let app: App
let deps: Deps
let operator: TestAccount
let citizen: TestAccount
const run = Math.random().toString(36).slice(2, 8)
const createdSlugs: string[] = []
const extraAccounts: TestAccount[] = []

beforeAll(() => {
  ;({ db, app, deps } = w)
  ;({ operatorePiattaforma: operator, cittadino: citizen } = w.accounts)
})

afterAll(async () => {
  await dropOnboarded(db, createdSlugs, run)
  await deleteAccounts(db, extraAccounts)
})

function randomMecc(): string {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
  const AN = `${A}0123456789`
  const pick = (s: string) => s[Math.floor(Math.random() * s.length)]
  return `MI${pick(A)}${pick(A)}${Array.from({ length: 6 }, () => pick(AN)).join('')}`
}

type Form = Record<
  | 'kind'
  | 'name'
  | 'fiscalCode'
  | 'codiceMeccanografico'
  | 'istatCode'
  | 'address'
  | 'pec'
  | 'email'
  | 'adminGivenName'
  | 'adminFamilyName'
  | 'adminCodiceFiscale'
  | 'adminEmail'
  | 'slug'
  | 'terms',
  string
>

function form(overrides: Partial<Form> = {}): Form {
  const id = Math.random().toString(36).slice(2, 8)
  return {
    kind: 'scuola',
    name: `Istituto Comprensivo Prova ${id} – Roma`,
    fiscalCode: testTenantFile().fiscalCode,
    codiceMeccanografico: randomMecc(),
    istatCode: '',
    address: 'Via della Prova 1, 00100 Roma',
    pec: `pec.${id}.${run}@example.it`,
    email: `segreteria.${id}.${run}@example.it`,
    adminGivenName: 'Anna',
    adminFamilyName: 'Dirigente',
    adminCodiceFiscale: randomCf(),
    adminEmail: `dirigente.${id}.${run}@example.it`,
    slug: `ob-${id}-${run}`,
    terms: 'si',
    ...overrides,
  }
}

/** The whole public sign-up (test/helpers/onboarding.ts); its tenant is dropped at the end. */
async function signUp(values: Form) {
  const request = await sendSignUp(app, db, values)
  createdSlugs.push(request.slug)
  return request
}

/** A 20×20 PNG of one colour. */
const tinyPng = () => solidPng(20, 20, { fill: 0x7a })

/** A multipart form post with the client's cookies and the CSRF token of its last page. */
async function upload(c: Client, path: string, body: Buffer, name: string): Promise<Response> {
  const fd = new FormData()
  fd.set('_csrf', c.csrf())
  fd.set('logo', new File([new Uint8Array(body)], name, { type: 'image/png' }))
  const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  return app.request(path, { method: 'POST', headers: { cookie }, body: fd })
}

async function mailTo(address: string) {
  return db.sql<{ subject: string; text_body: string }[]>`
    select subject, text_body from platform.outbox where to_address = ${address} order by id`
}

async function approve(op: Client, id: number, extra: Record<string, string> = {}) {
  await op.get(`/piattaforma/richieste/${id}`)
  return op.post(`/piattaforma/richieste/${id}/approva`, { segregationCode: '01', message: '', ...extra })
}

describe('sign-up form', () => {
  it('shows every problem at once, keeps the input, and checks the fiscal code and the school code', async () => {
    const c = new Client(app)
    expect((await c.get('/adesione')).status).toBe(200)
    const res = await c.post('/adesione', {
      kind: 'scuola',
      name: 'IC Prova',
      fiscalCode: '97501230152',
      codiceMeccanografico: 'MI-123',
      adminCodiceFiscale: 'RSSMRA80A01I726X',
      slug: 'Non Valido!',
    })
    expect(res.status).toBe(422)
    const html = c.lastHtml
    expect(html).toMatch(/<title>Errore: /)
    await expectValidHtml(html)
    for (const field of [
      'fiscalCode',
      'codiceMeccanografico',
      'address',
      'pec',
      'email',
      'adminGivenName',
      'adminCodiceFiscale',
      'adminEmail',
      'slug',
      'terms',
    ]) {
      expect(html, field).toContain(`href="#${field}"`)
    }
    expect(html).toContain('(l&#39;ultima è di controllo)')
    expect(html).toContain('value="IC Prova"')
    // nothing was saved
    const [n] = await db.sql<
      { n: number }[]
    >`select count(*)::int as n from platform.onboarding_requests where name = 'IC Prova'`
    expect(n?.n).toBe(0)
  })

  it('suggests the address from the name, shows the answers to check, lets them be changed, then records the request', async () => {
    const values = form({ slug: '', name: `Istituto Comprensivo Dante ${run} – Pisa` })
    const c = new Client(app)
    await c.get('/adesione')
    const check = await c.post('/adesione', values)
    expect(check.status).toBe(200)
    expect(c.lastHtml).toContain(`/t/ic-dante-${run}-pisa`)
    expect(c.lastHtml).toContain('Proposto dalla denominazione')
    expect(c.lastHtml).toContain('formaction="/adesione/modifica#adminEmail"')
    await expectValidHtml(c.lastHtml)
    // "Change" goes back to the form with everything kept
    const hidden = Object.fromEntries(
      [...c.lastHtml.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)]
        .filter((m) => m[1] !== '_csrf')
        .map((m) => [m[1] as string, m[2] as string]),
    )
    const back = await c.post('/adesione/modifica', hidden)
    expect(back.status).toBe(200)
    expect(c.lastHtml).toContain(`value="${values.adminEmail}"`)
    expect(c.lastHtml).toContain(`value="ic-dante-${run}-pisa"`)

    const { id, ref, slug } = await signUp(values)
    expect(slug).toBe(`ic-dante-${run}-pisa`)
    const page = await new Client(app).get(`/adesione/inviata/${ref}`)
    expect(page.status).toBe(200)
    const sentHtml = await page.text()
    expect(sentHtml).toContain(ref)
    await expectValidHtml(sentHtml)
    const [row] = await db.sql<{ status: string; codice_meccanografico: string; istat_code: string | null }[]>`
      select status, codice_meccanografico, istat_code from platform.onboarding_requests where id = ${id}`
    expect(row).toEqual({ status: 'pending', codice_meccanografico: values.codiceMeccanografico, istat_code: null })
    expect((await mailTo(values.email))[0]?.subject).toContain(ref)
    expect((await mailTo(values.adminEmail))[0]?.subject).toContain(ref)
    const toOperator = await mailTo(operator.email)
    expect(toOperator.some((m) => m.text_body.includes(`/piattaforma/richieste/${id}`))).toBe(true)
    const [log] = await db.sql<{ action: string }[]>`select action from platform.platform_log where request_id = ${id}`
    expect(log?.action).toBe('request.submitted')
  })

  it('a body already on Sportello gets a clear answer; a waiting request blocks nobody', async () => {
    const first = form()
    await signUp(first)
    const c = new Client(app)
    await c.get('/adesione')
    // the same fiscal code, school code and address as a waiting request: anyone may ask, the operator decides
    let res = await c.post(
      '/adesione',
      form({
        fiscalCode: first.fiscalCode,
        codiceMeccanografico: first.codiceMeccanografico as string,
        slug: first.slug as string,
      }),
    )
    expect(res.status).toBe(200)
    expect(c.lastHtml).toContain(`/t/${first.slug}`)
    // a body that is already a tenant
    const tenant = await createTestTenant(db)
    try {
      res = await c.post('/adesione', form({ fiscalCode: tenant.fiscalCode, kind: 'comune', codiceMeccanografico: '' }))
      expect(res.status).toBe(422)
      expect(c.lastHtml).toContain(`Questo codice fiscale è già registrato su Sportello (${tenant.name})`)
      res = await c.post('/adesione', form({ slug: tenant.slug }))
      expect(res.status).toBe(422)
      expect(c.lastHtml).toContain('Questo indirizzo è già usato')
    } finally {
      await dropTestTenant(db, tenant)
    }
    // the final step checks again
    const school = await createTestTenant(db)
    try {
      res = await c.post('/adesione/invia', form({ fiscalCode: school.fiscalCode }))
      expect(res.status).toBe(422)
      res = await c.post('/adesione/invia', form({ slug: school.slug }))
      expect(res.status).toBe(422)
      expect(c.lastHtml).toContain(`Questo indirizzo è già usato: prova ${school.slug}-2`)
    } finally {
      await dropTestTenant(db, school)
    }
  })
})

describe('operator decisions', () => {
  it('a rejection needs a reason, tells the body why, is logged and frees the fiscal code', async () => {
    const values = form()
    const { id } = await signUp(values)
    const op = await signedIn(app, operator)
    await op.get(`/piattaforma/richieste/${id}`)
    let res = await op.post(`/piattaforma/richieste/${id}/respingi`, { reason: '' })
    expect(res.status).toBe(422)
    expect(op.lastHtml).toContain('href="#reason"')
    await expectValidHtml(op.lastHtml)
    res = await op.post(`/piattaforma/richieste/${id}/respingi`, { reason: 'Manca la delibera di adesione.' })
    expect(res.status).toBe(303)
    const [row] = await db.sql<{ status: string; decision_message: string }[]>`
      select status, decision_message from platform.onboarding_requests where id = ${id}`
    expect(row).toEqual({ status: 'rejected', decision_message: 'Manca la delibera di adesione.' })
    for (const to of [values.email, values.adminEmail] as string[]) {
      expect((await mailTo(to)).some((m) => m.text_body.includes('Manca la delibera di adesione.'))).toBe(true)
    }
    const [log] = await db.sql<{ actor_name: string }[]>`
      select actor_name from platform.platform_log where request_id = ${id} and action = 'request.rejected'`
    expect(log?.actor_name).toBe('Olga Operatrice')
    // decided once: a second decision is refused
    await op.get(`/piattaforma/richieste/${id}`)
    res = await op.post(`/piattaforma/richieste/${id}/approva`, { segregationCode: '01' })
    expect(res.status).toBe(409)
    expect(await db.sql`select 1 from platform.tenants where slug = ${values.slug as string}`).toHaveLength(0)
    // the body may ask again with the same fiscal code
    await signUp({ ...form(), fiscalCode: values.fiscalCode })
  })

  it('only platform operators reach the console, to read or to change', async () => {
    const { id } = await signUp(form())
    const tenant = await createTestTenant(db)
    createdSlugs.push(tenant.slug)
    const reads = [
      '/piattaforma',
      '/piattaforma/richieste',
      `/piattaforma/richieste/${id}`,
      '/piattaforma/registro',
      `/piattaforma/enti/${tenant.slug}`,
    ]
    const changes: [string, Record<string, string>][] = [
      [`/piattaforma/richieste/${id}/approva`, { segregationCode: '01' }],
      [`/piattaforma/richieste/${id}/respingi`, { reason: 'No' }],
      [`/piattaforma/enti/${tenant.slug}/sospendi`, { reason: 'No' }],
      [`/piattaforma/enti/${tenant.slug}/riattiva`, {}],
      [`/piattaforma/enti/${tenant.slug}/invito`, {}],
    ]
    const anon = new Client(app)
    const someone = await signedIn(app, citizen)
    const op = await signedIn(app, operator)
    for (const path of reads) {
      expect((await anon.get(path)).status, path).toBe(303)
      expect((await someone.get(path)).status, path).toBe(403)
      expect((await op.get(path)).status, path).toBe(200)
    }
    await anon.get('/adesione')
    await someone.get('/profilo')
    for (const [path, body] of changes) {
      expect((await anon.post(path, body)).status, path).toBe(303)
      expect((await someone.post(path, body)).status, path).toBe(403)
    }
    // unknown ids and addresses are 404s
    expect((await op.get('/piattaforma/richieste/999999999')).status).toBe(404)
    expect((await op.get('/piattaforma/enti/nessuno-qui')).status).toBe(404)
    await op.get('/piattaforma')
    expect((await op.post('/piattaforma/enti/nessuno-qui/sospendi', { reason: 'x' })).status).toBe(404)
    const [still] = await db.sql<{ status: string }[]>`select status from platform.onboarding_requests where id = ${id}`
    expect(still?.status).toBe('pending')
    expect((await new TenantRegistry(db, 0).get(tenant.slug))?.status).toBe('active')
  })
})

describe('approval, invitation, set-up and go-live', () => {
  it('creates the school in set-up with its services, invites a new administrator who sets a password, and goes live', async () => {
    const values = form()
    const { id, slug } = await signUp(values)
    const op = await signedIn(app, operator)
    let res = await approve(op, id, { segregationCode: '7' })
    expect(res.status).toBe(422)
    res = await approve(op, id, { segregationCode: '04', message: 'Benvenuti!' })
    expect(res.status).toBe(303)
    const registry = new TenantRegistry(db, 0)
    const tenant = (await registry.get(slug)) as Tenant
    expect(tenant.status).toBe('setup')
    expect(tenant.segregationCode).toBe('04')
    const services = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ kind: string }[]>`select kind from services order by id`,
    )
    expect(services.map((s) => s.kind)).toEqual(['assicurazione', 'contributo', 'gite', 'extrascolastico'])
    const [audit] = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ action: string }[]>`select action from audit_log order by id limit 1`,
    )
    expect(audit?.action).toBe('tenant.created')
    const actions = await db.sql<{ action: string }[]>`
      select action from platform.platform_log where tenant_id = ${tenant.id} order by id`
    expect(actions.map((a) => a.action)).toEqual(['request.approved', 'admin.invited'])
    // not public yet; the office asks for a login
    expect((await new Client(app).get(`/t/${slug}`)).status).toBe(404)
    expect((await new Client(app).get(`/t/${slug}/ufficio`)).status).toBe(303)

    const invite = (await mailTo(values.adminEmail as string)).find((m) => m.text_body.includes('/invito/'))
    expect(invite?.text_body).toContain('Benvenuti!')
    const link = linkIn(invite?.text_body ?? '', '/invito/')
    const admin = new Client(app)
    expect((await admin.get(link)).status).toBe(200)
    expect(admin.lastHtml).toContain('Crea il tuo account')
    // what the request said is proposed, the codice fiscale a claim to be proved later
    expect(admin.lastHtml).toContain(`value="${values.adminCodiceFiscale}"`)
    await expectValidHtml(admin.lastHtml)
    const person = {
      givenName: values.adminGivenName as string,
      familyName: values.adminFamilyName as string,
      codiceFiscale: values.adminCodiceFiscale as string,
    }
    res = await admin.post(link, { ...person, password: 'corta', passwordConfirm: 'corta' })
    expect(res.status).toBe(422)
    res = await admin.post(link, { ...person, password: TEST_PASSWORD, passwordConfirm: TEST_PASSWORD })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`/t/${slug}/ufficio/configurazione?benvenuto=1`)
    // used once
    expect((await new Client(app).get(link)).status).toBe(410)
    const [acc] = await db.sql<{ confirmed: boolean; role: string }[]>`
      select a.email_confirmed_at is not null as confirmed, m.role from platform.accounts a
      join platform.memberships m on m.account_id = a.id where lower(a.email) = ${values.adminEmail as string}`
    expect(acc).toEqual({ confirmed: true, role: 'admin' })

    const base = `/t/${slug}/ufficio/configurazione`
    expect((await admin.get(`${base}?benvenuto=1`)).status).toBe(200)
    // going live before the sections are done is refused, with the reasons
    await admin.get(`${base}/online`)
    res = await admin.post(`${base}/online`, { confirm: 'si' })
    expect(res.status).toBe(422)
    expect(admin.lastHtml).toContain('conferma i servizi')

    await admin.get(`${base}/ente`)
    res = await admin.post(`${base}/ente`, {
      name: '',
      shortName: 'IC',
      address: '',
      email: 'x',
      segregationCode: '99',
    })
    expect(res.status).toBe(422)
    for (const f of ['name', 'address', 'email', 'segregationCode']) expect(admin.lastHtml).toContain(`href="#${f}"`)
    await expectValidHtml(admin.lastHtml)
    res = await admin.post(`${base}/ente`, {
      name: values.name as string,
      shortName: 'IC Prova',
      address: 'Via Nuova 2, 00100 Roma',
      email: values.email as string,
      pec: values.pec as string,
      phone: '06 1234567',
      website: 'https://scuola.example.it',
      accessibilityUrl: 'https://form.agid.gov.it/view/abc',
      segregationCode: '05',
    })
    expect(res.status).toBe(303)

    await admin.get(`${base}/aspetto`)
    res = await admin.post(`${base}/aspetto`, { logoText: 'ICP', accent: '#ffcc00', azione: 'salva' })
    expect(res.status).toBe(422)
    expect(admin.lastHtml).toContain('Il colore è troppo chiaro')
    res = await admin.post(`${base}/aspetto`, { logoText: 'ICP', accent: '7a1f5c', azione: 'anteprima' })
    expect(res.status).toBe(200)
    expect(admin.lastHtml).toContain(`${base}/anteprima.css?colore=7a1f5c`)
    await expectValidHtml(admin.lastHtml)
    expect((await admin.get(`${base}/anteprima.css?colore=7a1f5c`)).status).toBe(200)
    res = await admin.post(`${base}/aspetto`, { logoText: 'ICP', accent: '#7a1f5c', azione: 'salva' })
    expect(res.status).toBe(303)

    // the logo: PNG only, checked by its bytes; served under its hash with a year-long cache
    await admin.get(`${base}/aspetto`)
    res = await upload(
      admin,
      `${base}/aspetto/logo`,
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
      'logo.png',
    )
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('non è un&#39;immagine PNG')
    res = await upload(admin, `${base}/aspetto/logo`, tinyPng(), 'logo.png')
    expect(res.status).toBe(303)
    const branded = (await registry.get(slug)) as Tenant & { branding: { logo?: string } }
    expect(branded.branding.logo).toMatch(/^[0-9a-f]{16}$/)
    const logo = await new Client(app).get(`/loghi/${slug}/${branded.branding.logo}.png`)
    expect(logo.status).toBe(200)
    expect(logo.headers.get('content-type')).toBe('image/png')
    expect(logo.headers.get('cache-control')).toContain('immutable')
    expect(Buffer.from(await logo.arrayBuffer()).equals(tinyPng())).toBe(true)
    expect((await new Client(app).get(`/loghi/${slug}/0000000000000000.png`)).status).toBe(404)
    const withLogo = await admin.get(`${base}/aspetto`)
    const brandedPage = await withLogo.text()
    expect(brandedPage).toContain(`src="/loghi/${slug}/${branded.branding.logo}.png"`)
    // the body's logo is its pages' icon
    expect(brandedPage).toContain(
      `<link rel="icon" href="/loghi/${slug}/${branded.branding.logo}.png" type="image/png">`,
    )

    await admin.get(`${base}/servizi`)
    res = await admin.get(`${base}/servizi/nuovo`)
    res = await admin.post(`${base}/servizi/nuovo`, {
      kind: 'altro',
      name: 'Diario',
      causale: 'Diario scolastico',
      amountMode: 'quantita',
      unitPrice: '',
    })
    expect(res.status).toBe(422)
    expect(admin.lastHtml).toContain('href="#unitPrice"')
    await expectValidHtml(admin.lastHtml)
    res = await admin.post(`${base}/servizi/nuovo`, {
      kind: 'altro',
      name: 'Diario',
      causale: 'Diario scolastico',
      spontaneous: 'si',
      amountMode: 'quantita',
      unitPrice: '6,50',
      active: 'si',
    })
    expect(res.status).toBe(303)
    const [gite] = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ id: number }[]>`select id from services where code = 'gite'`,
    )
    await admin.get(`${base}/servizi/${gite?.id}`)
    res = await admin.post(`${base}/servizi/${gite?.id}`, {
      name: 'Uscite didattiche',
      causale: 'Quota uscita',
      amountMode: 'importo',
      active: 'si',
    })
    expect(res.status).toBe(303)
    expect((await admin.get(`${base}/servizi/999999`)).status).toBe(404)
    // a school has no canteen: no tariffs page
    expect((await admin.get(`${base}/tariffe`)).status).toBe(404)
    await admin.get(`${base}/servizi`)
    res = await admin.post(`${base}/servizi`, {})
    expect(res.status).toBe(303)

    await admin.get(`${base}/regole`)
    res = await admin.post(`${base}/regole`, {
      cutoff: '25:00',
      commission: 'percent',
      commissionRate: '',
      reminderDays: '-7, 0, 99',
    })
    expect(res.status).toBe(422)
    for (const f of ['cutoff', 'commissionRate', 'reminderDays']) expect(admin.lastHtml).toContain(`href="#${f}"`)
    await expectValidHtml(admin.lastHtml)
    res = await admin.post(`${base}/regole`, {
      cutoff: '9.30',
      commission: 'grossup',
      commissionRate: '1,5',
      reminderDays: '-5, 0, 10',
      lowBalanceMeals: '4',
    })
    expect(res.status).toBe(303)

    await admin.get(`${base}/online`)
    res = await admin.post(`${base}/online`, {})
    expect(res.status).toBe(422)
    expect(admin.lastHtml).toContain('href="#confirm"')
    await expectValidHtml(admin.lastHtml)
    await admin.get(base)
    await expectValidHtml(admin.lastHtml)
    await admin.get(`${base}/servizi`)
    await expectValidHtml(admin.lastHtml)
    res = await admin.post(`${base}/online`, { confirm: 'si' })
    expect(res.status).toBe(303)
    expect((await admin.get(`${base}/online/fatto`)).status).toBe(200)
    await expectValidHtml(admin.lastHtml)

    const live = (await registry.get(slug)) as Tenant
    expect(live.status).toBe('active')
    expect(live.segregationCode).toBe('05')
    expect(live.branding.accent).toBe('#7a1f5c')
    expect(live.settings).toMatchObject({
      cutoff: '09:30',
      commission: { type: 'grossup', basisPoints: 150 },
      reminderDays: [-5, 0, 10],
      lowBalanceMeals: 4,
      accessibilityUrl: 'https://form.agid.gov.it/view/abc',
    })
    expect(live.contacts).toMatchObject({ address: 'Via Nuova 2, 00100 Roma', phone: '06 1234567' })
    const pub = await new Client(app).get(`/t/${slug}`)
    expect(pub.status).toBe(200)
    const html = await pub.text()
    expect(html).toContain('Uscite didattiche')
    expect(html).toContain('Diario')
    const audits = await withTenant(
      db.sql,
      live,
      (tx) => tx<{ action: string }[]>`select action from audit_log order by id`,
    )
    expect(audits.map((a) => a.action)).toEqual(
      expect.arrayContaining([
        'tenant.identity',
        'tenant.branding',
        'service.created',
        'service.updated',
        'tenant.rules',
        'tenant.live',
      ]),
    )
    const platformActions = await db.sql<
      { action: string }[]
    >`select action from platform.platform_log where tenant_id = ${live.id} order by id`
    expect(platformActions.map((a) => a.action)).toEqual([
      'request.approved',
      'admin.invited',
      'invite.accepted',
      'tenant.live',
    ])
    // the segregation code is fixed once live
    await admin.get(`${base}/ente`)
    expect(admin.lastHtml).not.toContain('id="segregationCode"')
  })

  it('links an existing account: the link asks to sign in, then the account becomes the administrator', async () => {
    const existing = await createAccount(db)
    extraAccounts.push(existing)
    const values = form({ kind: 'comune', codiceMeccanografico: '', istatCode: '052032', adminEmail: existing.email })
    const { id, slug } = await signUp(values)
    const op = await signedIn(app, operator)
    await op.get(`/piattaforma/richieste/${id}`)
    expect(op.lastHtml).toContain('Esiste già un account con questo indirizzo')
    expect((await approve(op, id)).status).toBe(303)
    const tenant = (await new TenantRegistry(db, 0).get(slug)) as Tenant
    const services = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ kind: string }[]>`select kind from services order by id`,
    )
    expect(services.map((s) => s.kind)).toEqual(['mensa', 'trasporto', 'nido'])
    const mail = (await mailTo(existing.email)).find((m) => m.text_body.includes('/invito/'))
    expect(mail?.text_body).toContain('Hai già un account Sportello')
    const link = linkIn(mail?.text_body ?? '', '/invito/')
    const anon = new Client(app)
    await anon.get(link)
    expect(anon.lastHtml).toContain(`/accesso?torna=${encodeURIComponent(link)}`)
    await anon.get('/adesione')
    expect((await anon.post(link, {})).status).toBe(303)
    // someone else signed in cannot use it
    const other = await signedIn(app, citizen)
    await other.get(link)
    expect(other.lastHtml).toContain('Sei entrato con un altro account')
    expect((await other.post(link, {})).status).toBe(403)
    const me = await signedIn(app, existing)
    await me.get(link)
    const res = await me.post(link, {})
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`/t/${slug}/ufficio/configurazione?benvenuto=1`)
    expect((await me.get(`/t/${slug}/ufficio/configurazione`)).status).toBe(200)
    // a comune with a canteen sets its tariffs (the canteen's own tables)
    const tariffs = `/t/${slug}/ufficio/configurazione/tariffe`
    expect((await me.get(`/t/${slug}/ufficio/configurazione/servizi`)).status).toBe(200)
    expect(me.lastHtml).toContain(tariffs)
    expect((await me.get(tariffs)).status).toBe(200)
    expect((await me.post(tariffs, { tariffName: '', price: 'tanto' })).status).toBe(422)
    expect(me.lastHtml).toContain('href="#tariffName"')
    expect(me.lastHtml).toContain('href="#price"')
    await expectValidHtml(me.lastHtml)
    expect((await me.post(tariffs, { tariffName: 'RESIDENTE', price: '5,80', isDefault: 'si' })).status).toBe(303)
    expect((await me.get(`${tariffs}?salvato=1`)).status).toBe(200)
    expect(me.lastHtml).toMatch(/RESIDENTE[\s\S]*5,80/)
    expect((await me.post(tariffs, { tariffName: 'residente', price: '6' })).status).toBe(422)
    // the operator can send a new invitation; the old link no longer works
    await op.get(`/piattaforma/enti/${slug}`)
    expect((await op.post(`/piattaforma/enti/${slug}/invito`, {})).status).toBe(303)
  })

  it('the wizard is the administrators\u2019: other roles, other tenants and visitors are kept out', async () => {
    const tenant = await createTestTenant(db, { slug: `ob-roles-${run}` })
    createdSlugs.push(tenant.slug)
    const other = await createTestTenant(db)
    createdSlugs.push(other.slug)
    const people: Record<string, TestAccount> = {}
    for (const role of ['admin', 'operatore', 'lettore', 'otherAdmin'] as const) {
      people[role] = await createAccount(db)
      extraAccounts.push(people[role])
    }
    await addMembership(db, (people.admin as TestAccount).id, tenant.id, 'admin')
    await addMembership(db, (people.operatore as TestAccount).id, tenant.id, 'operatore')
    await addMembership(db, (people.lettore as TestAccount).id, tenant.id, 'lettore')
    await addMembership(db, (people.otherAdmin as TestAccount).id, other.id, 'admin')
    const base = `/t/${tenant.slug}/ufficio/configurazione`
    const pages = ['', '/ente', '/aspetto', '/servizi', '/servizi/nuovo', '/regole', '/online']
    const posts: [string, Record<string, string>][] = [
      ['/ente', { name: 'X' }],
      ['/aspetto', { logoText: 'X', accent: '#0b4f9c' }],
      ['/servizi', {}],
      ['/regole', { cutoff: '09:00', commission: 'none' }],
      ['/online', { confirm: 'si' }],
    ]
    const expectations: [string, number][] = [
      ['admin', 200],
      ['operatore', 403],
      ['lettore', 403],
      ['otherAdmin', 403],
    ]
    for (const [who, status] of expectations) {
      const c = await signedIn(app, people[who] as TestAccount)
      for (const p of pages) expect((await c.get(base + p)).status, `${who} GET ${p}`).toBe(status)
      if (status === 403) {
        await c.get('/profilo')
        for (const [p, body] of posts) expect((await c.post(base + p, body)).status, `${who} POST ${p}`).toBe(403)
      }
    }
    const anon = new Client(app)
    for (const p of pages) expect((await anon.get(base + p)).status).toBe(303)
    expect((await (await signedIn(app, operator)).get(base)).status).toBe(403)
  })
})

describe('suspension', () => {
  it('citizen pages say so, the cart and the payment refuse, jobs skip the tenant; resuming undoes it', async () => {
    const tenant = await createTestTenant(db)
    createdSlugs.push(tenant.slug)
    const payer = await givePayer(db, tenant, citizen.codiceFiscale)
    const { installments } = await issue(db, tenant, payer, [5000])
    const inst = installments[0] as { id: number }
    const me = await signedIn(app, citizen)
    await me.get(`/t/${tenant.slug}`)
    await me.post('/carrello/aggiungi', { ente: tenant.slug, rate: String(inst.id) })
    expect((await loadCart(db, await deps.tenants.list(), citizen.id)).payable.length).toBeGreaterThan(0)

    const op = await signedIn(app, operator)
    await op.get(`/piattaforma/enti/${tenant.slug}`)
    let res = await op.post(`/piattaforma/enti/${tenant.slug}/sospendi`, { reason: '' })
    expect(res.status).toBe(422)
    res = await op.post(`/piattaforma/enti/${tenant.slug}/sospendi`, { reason: 'Convenzione scaduta' })
    expect(res.status).toBe(303)
    const registry = new TenantRegistry(db, 0)
    const suspended = (await registry.get(tenant.slug)) as Tenant
    expect(suspended.status).toBe('suspended')

    // citizen pages
    const home = await (await new Client(app).get(`/t/${tenant.slug}`)).text()
    expect(home).toContain('temporaneamente sospeso')
    // the cart shows it, and nothing of that tenant is payable
    const cartPage = await me.get('/carrello')
    expect(await cartPage.text()).toContain('temporaneamente sospeso')
    const cart = await loadCart(db, await deps.tenants.list(), citizen.id)
    expect(cart.payable.filter((p) => p.tenant.id === tenant.id)).toEqual([])
    // a payment started by any path is refused before it reaches the provider
    await expect(
      startCheckout(db, deps.config, deps.provider, {
        accountId: citizen.id,
        email: citizen.email,
        lang: 'it',
        idempotencyKey: `ob-${run}-suspended`,
        selection: [{ tenant: suspended, installmentIds: [inst.id] }],
      }),
    ).rejects.toBeInstanceOf(NotPayable)
    const [still] = await withTenant(
      db.sql,
      suspended,
      (tx) => tx<{ status: string }[]>`select status from installments where id = ${inst.id}`,
    )
    expect(still?.status).toBe('da_pagare')
    // the jobs' own query skips it
    expect((await activeTenants({ tenants: registry, onlyTenants: [tenant.slug] })).map((t) => t.slug)).toEqual([])
    // logged and audited, the administrators told
    const [log] = await db.sql<{ detail: { reason: string } }[]>`
      select detail from platform.platform_log where tenant_id = ${tenant.id} and action = 'tenant.suspended'`
    expect(log?.detail.reason).toBe('Convenzione scaduta')

    await op.get(`/piattaforma/enti/${tenant.slug}`)
    expect((await op.post(`/piattaforma/enti/${tenant.slug}/riattiva`, {})).status).toBe(303)
    expect((await registry.get(tenant.slug))?.status).toBe('active')
    expect((await activeTenants({ tenants: registry, onlyTenants: [tenant.slug] })).map((t) => t.slug)).toEqual([
      tenant.slug,
    ])
    expect(
      (await loadCart(db, await deps.tenants.list(), citizen.id)).payable.some((p) => p.tenant.id === tenant.id),
    ).toBe(true)
    await db.sql`delete from platform.cart_items where account_id = ${citizen.id}`
  })
})

describe('console', () => {
  it('lists tenants with status, schema version and size; a failing migration in one tenant shows there and does not stop the others', async () => {
    const good = await createTestTenant(db, { name: `Comune Buono ${run}` })
    const bad = await createTestTenant(db, { name: `Comune Guasto ${run}` })
    createdSlugs.push(good.slug, bad.slug)
    const dir = await mkdtemp(join(tmpdir(), 'sportello-ob-mig-'))
    try {
      await cp(join(MIGRATIONS_DIR, 'tenant'), dir, { recursive: true })
      const last = readdirSync(dir).sort().pop() as string
      const next = String(Number(last.slice(0, 5)) + 1).padStart(5, '0')
      await writeFile(join(dir, `${next}_onboarding_probe.sql`), 'create table onboarding_probe (id int);\n')
      await db.admin.unsafe(`create table ${bad.schema}.onboarding_probe (x int)`)
      const r = await migrateTenants(db.admin, db.roles, { only: [good.slug, bad.slug], dir })
      expect(r.migrated).toEqual([good.slug])
      expect(r.failed.map((f) => f.slug)).toEqual([bad.slug])

      const op = await signedIn(app, operator)
      const res = await op.get(`/piattaforma?stato=errori&q=${encodeURIComponent(run)}`)
      expect(res.status).toBe(200)
      const html = op.lastHtml
      expect(html).toContain(`Comune Guasto ${run}`)
      expect(html).not.toContain(`Comune Buono ${run}`)
      expect(html).toContain('Migrazione non riuscita')
      expect(html).toMatch(/onboarding_probe[^<]*already exists/)
      await expectValidHtml(html)
      const all = await op.get(`/piattaforma?q=${encodeURIComponent(run)}`)
      expect(all.status).toBe(200)
      expect(op.lastHtml).toContain(`Comune Buono ${run}`)
      // the size of each schema, in words
      expect(op.lastHtml).toMatch(/\d+(,\d)? (kB|MB)/)
      const detail = await op.get(`/piattaforma/enti/${bad.slug}`)
      expect(detail.status).toBe(200)
      expect(op.lastHtml).toContain('already exists')
      await expectValidHtml(op.lastHtml)
      await op.get('/piattaforma/registro')
      await expectValidHtml(op.lastHtml)
      await op.get('/piattaforma/richieste')
      await expectValidHtml(op.lastHtml)
    } finally {
      await rm(dir, { recursive: true, force: true })
      // the probe table and version must not outlive this test in the shared database
      await db.admin.unsafe(
        `drop table if exists ${bad.schema}.onboarding_probe; drop table if exists ${good.schema}.onboarding_probe`,
      )
      await dropTenantSchema(db.admin, db.roles, good.schema)
      await db.admin`delete from platform.tenants where id = ${good.id}`
    }
  })
})
