// Notices and reminders in the IO app (decision 0102), against IO's simulator that checks every call against IO's
// published interface: the office connects a service (key sealed, tested, 422 without one), a new notice and a
// reminder reach a citizen who enabled the service with payment_data and due_date, after a profile lookup; a citizen
// not on IO or who did not enable the service gets nothing; never twice (the same occasion queued again, the job run
// again, a call whose outcome is unknown); IO unreachable retried; the family's email still sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sendIoMessages } from '../../src/features/io/service.ts'
import { linkSecret } from '../../src/features/reminders/link.ts'
import { runReminders } from '../../src/features/reminders/service.ts'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { createLogger } from '../../src/platform/log.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createAccount, deleteAccounts, randomCf } from '../helpers/accounts.ts'
import { settings } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { connect, type ServedPlatform, startPlatform } from '../helpers/pagopa-platform.ts'
import { issue } from '../helpers/payments.ts'
import { roleMatrix } from '../helpers/roles.ts'
import { world } from '../helpers/world.ts'

const IO_KEY = 'chiave-api-servizio-io-mensa-0001'
const IO_SERVICE = '01IOSERVIZIOMENSA'
type Actor = 'anonimo' | 'cittadino' | 'lettore' | 'operatore' | 'admin' | 'adminAltroEnte'
const w = world({
  tenant: { settings: settings({ iban: 'IT60X0542811101000000123456', reminderDays: [-3] }) },
  roles: ['cittadino', 'lettore', 'operatore', 'admin', 'adminAltroEnte'],
})
let db: Db
let x: Tenant
let platform: ServedPlatform
let secretsKey: string
let mensa: number
const log = createLogger('silent')
const onIo = randomCf()
const notEnabled = randomCf()
const notOnIo = randomCf()

beforeAll(async () => {
  ;({ db, tenant: x } = w)
  secretsKey = w.deps.config.secretsKey
  platform = await startPlatform()
  await connect(db, x, secretsKey, platform, {})
  platform.sim.registerIoService({ apiKey: IO_KEY, serviceId: IO_SERVICE, organizationFiscalCode: x.fiscalCode })
  platform.sim.enableOnIo(onIo, IO_SERVICE)
  platform.sim.enableOnIo(notEnabled, 'un-altro-servizio')
  const [s] = await withTenant(db.sql, x, (tx) => tx<{ id: number }[]>`select id from services where code = 'mensa'`)
  mensa = s?.id as number
  await withTenant(db.sql, x, async (tx) => {
    for (const [cf, name] of [
      [onIo, 'Ivo'],
      [notEnabled, 'Nina'],
      [notOnIo, 'Olga'],
    ] as const)
      await tx`insert into payers (codice_fiscale, given_name, family_name, email) values (${cf}, ${name}, 'Io', ${`${name.toLowerCase()}@example.it`})`
  })
})
afterAll(async () => {
  await platform?.close()
})

const io = (p = '') => `/t/${x.slug}/ufficio/catalogo/servizi/${mensa}/io${p}`
const send = (now?: Date) => sendIoMessages(db, x, { secretsKey, log, now })
const messages = () =>
  withTenant(
    db.sql,
    x,
    (tx) => tx<{ fiscal_code: string; kind: string; status: string; attempts: number }[]>`
      select fiscal_code, kind, status, attempts from io_messages order by id`,
  )
function dateFields(name: string, iso: string) {
  const [y, m, d] = iso.split('-') as [string, string, string]
  return { [`${name}-day`]: d, [`${name}-month`]: m, [`${name}-year`]: y }
}
let issued = 0
async function issueByOffice(cf: string, dueInDays = 20) {
  issued++
  const office = await w.client('operatore')
  const today = todayRome()
  const form = {
    service: String(mensa),
    payerCf: cf,
    pupilCf: '',
    description: `Mensa, periodo ${issued}`,
    year: today.slice(0, 4),
    mode: 'even',
    total: '45,60',
    count: '1',
    ...dateFields('due-1', addDays(today, dueInDays)),
  }
  await office.get(`/t/${x.slug}/ufficio/documenti/nuovo`)
  const res = await office.post(`/t/${x.slug}/ufficio/documenti/nuovo/conferma`, form)
  expect(res.status).toBe(303)
  return Number(/documenti\/(\d+)/.exec(res.headers.get('location') as string)?.[1])
}

describe("a service's connection to IO", () => {
  it('answers each actor as its role allows', async () => {
    const failures = await roleMatrix(w, {
      actors: ['anonimo', 'cittadino', 'lettore', 'operatore', 'admin', 'adminAltroEnte'] as Actor[],
      routes: [
        { method: 'GET', path: () => io(), allowed: ['lettore', 'operatore', 'admin'] },
        { method: 'POST', path: () => io(), form: { ioServiceId: 'non valido!' }, allowed: ['admin'] },
        { method: 'POST', path: () => io('/prova'), allowed: ['admin'] },
      ],
      answers: (route) => (route.method === 'GET' ? [200] : [422]),
      toLogin: false,
    })
    expect(failures).toEqual([])
    const admin = await w.client('admin')
    expect((await admin.get(`/t/${x.slug}/ufficio/catalogo/servizi/999999/io`)).status).toBe(404)
  })

  it('refuses to enable IO without a key, saves the key sealed, never shows it, and tests it', async () => {
    const admin = await w.client('admin')
    let res = await admin.submit(io(), { enabled: 'si', ioServiceId: IO_SERVICE, apiKey: '' })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('href="#apiKey"')
    expect(html).toContain(`value="${IO_SERVICE}"`)
    await expectValidHtml(html)
    res = await admin.submit(io(), { enabled: 'si', ioServiceId: IO_SERVICE, apiKey: IO_KEY })
    expect(res.status).toBe(303)
    const [row] = await withTenant(db.sql, x, (tx) => tx<Record<string, unknown>[]>`select * from service_io`)
    expect(JSON.stringify(row)).not.toContain(IO_KEY)
    const page = await (await admin.get(io())).text()
    expect(page).not.toContain(IO_KEY)
    expect(page).toContain('••••0001')
    await expectValidHtml(page)
    res = await admin.submit(io('/prova'), {})
    expect(res.headers.get('location')).toContain('prova=ok')
    platform.sim.state.io[0] = { apiKey: 'altra', serviceId: IO_SERVICE, organizationFiscalCode: x.fiscalCode }
    res = await admin.submit(io('/prova'), {})
    expect(res.headers.get('location')).toContain('prova=rifiutata')
    platform.sim.state.io[0] = { apiKey: IO_KEY, serviceId: IO_SERVICE, organizationFiscalCode: x.fiscalCode }
    expect(platform.sim.problems()).toEqual([])
  })
})

describe('notices and reminders in IO', () => {
  it('a new notice reaches the citizen who enabled the service, with payment data, once', async () => {
    await issueByOffice(onIo)
    await issueByOffice(notEnabled)
    await issueByOffice(notOnIo)
    expect((await messages()).map((m) => [m.kind, m.status])).toEqual([
      ['avviso', 'da_inviare'],
      ['avviso', 'da_inviare'],
      ['avviso', 'da_inviare'],
    ])
    const counts = await send()
    expect(counts).toMatchObject({ sent: 1, notEnabled: 1, notOnIo: 1, failed: 0 })
    const sent = platform.sim.state.messages
    expect(sent).toHaveLength(1)
    const body = sent[0]?.body as { fiscal_code: string; content: Record<string, unknown> }
    expect(body.fiscal_code).toBe(onIo)
    const [inst] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ notice_code: string; due_date: string }[]>`
        select i.notice_code, i.due_date from installments i join documents d on d.id = i.document_id
        join payers p on p.id = d.payer_id where p.codice_fiscale = ${onIo}`,
    )
    expect(body.content.payment_data).toEqual({
      amount: 4560,
      notice_number: inst?.notice_code,
      invalid_after_due_date: false,
      payee: { fiscal_code: x.fiscalCode },
    })
    expect(String(body.content.due_date)).toMatch(/^\d{4}-\d{2}-\d{2}T/)
    expect(String(body.content.subject)).toContain('Avviso di pagamento')
    // the profile was looked up before the message
    const ops = platform.sim.state.calls.filter((c) => c.service === 'io').map((c) => c.operationId)
    expect(ops.indexOf('getProfileByPOST')).toBeLessThan(ops.indexOf('submitMessageforUserWithFiscalCodeInBody'))
    // the job again: nothing more
    expect(await send()).toMatchObject({ sent: 0 })
    expect(platform.sim.state.messages).toHaveLength(1)
    expect(platform.sim.problems()).toEqual([])
  })

  it('a reminder goes to IO and by email, once; IO unreachable is retried', async () => {
    await issueByOffice(onIo, 3)
    await send()
    const before = platform.sim.state.messages.length
    const today = todayRome()
    const opts = { today, baseUrl: 'http://localhost', linkSecret: linkSecret(w.deps.config.sessionSecret) }
    const r = await runReminders(db.sql, x, opts)
    expect(r.emails).toBeGreaterThanOrEqual(1)
    expect(await runReminders(db.sql, x, opts)).toMatchObject({ emails: 0 })
    const queued = (await messages()).filter((m) => m.kind === 'promemoria')
    expect(queued.map((m) => m.fiscal_code)).toContain(onIo)
    platform.sim.state.down.add('io')
    try {
      const c = await send()
      expect(c.failed).toBeGreaterThanOrEqual(1)
    } finally {
      platform.sim.state.down.delete('io')
    }
    expect(await send()).toMatchObject({ sent: 0 })
    const later = await send(new Date(Date.now() + 10 * 60_000))
    expect(later.sent).toBe(1)
    expect(platform.sim.state.messages.length).toBe(before + 1)
    const reminder = platform.sim.state.messages.at(-1)?.body as { content: { subject: string } }
    expect(reminder.content.subject).toContain('Promemoria')
    expect(platform.sim.problems()).toEqual([])
  })

  it('a formal reminder (sollecito) also goes to IO, once', async () => {
    const [p] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ id: number }[]>`select id from payers where codice_fiscale = ${onIo}`,
    )
    const payer = p?.id as number
    await issue(db, x, payer, [3300], { firstDue: -20, description: 'Mensa, scaduta' })
    const office = await w.client('operatore')
    const res = await office.submit(`/t/${x.slug}/ufficio/solleciti`, {
      giorni: '1',
      passo: '1',
      famiglia: String(payer),
    })
    expect(res.status).toBe(303)
    const before = platform.sim.state.messages.length
    expect(await send()).toMatchObject({ sent: 1 })
    const body = platform.sim.state.messages.at(-1)?.body as {
      fiscal_code: string
      content: { subject: string; payment_data: { amount: number } }
    }
    expect(body.fiscal_code).toBe(onIo)
    expect(body.content.subject).toContain('Sollecito di pagamento (1°)')
    expect(body.content.payment_data.amount).toBe(3300)
    expect(await send()).toMatchObject({ sent: 0 })
    expect(platform.sim.state.messages.length).toBe(before + 1)
    expect(platform.sim.problems()).toEqual([])
  })

  it("speaks the family's language: English for an account that chose it, Italian otherwise", async () => {
    const english = await createAccount(db)
    await db.sql`update platform.accounts set lang = 'en' where id = ${english.id}`
    platform.sim.enableOnIo(english.codiceFiscale, IO_SERVICE)
    await withTenant(
      db.sql,
      x,
      (tx) =>
        tx`insert into payers (codice_fiscale, given_name, family_name) values (${english.codiceFiscale}, 'Emma', 'Io')`,
    )
    const before = platform.sim.state.messages.length
    await issueByOffice(english.codiceFiscale)
    await issueByOffice(onIo)
    expect(await send()).toMatchObject({ sent: 2 })
    const contentFor = (cf: string) =>
      platform.sim.state.messages
        .slice(before)
        .map((m) => m.body as { fiscal_code: string; content: { subject: string; markdown: string } })
        .find((b) => b.fiscal_code === cf)?.content
    const en = contentFor(english.codiceFiscale)
    const it = contentFor(onIo)
    expect(en?.subject).toMatch(/^Payment notice: Mensa, periodo \d+$/)
    expect(en?.markdown).toContain('has sent you a pagoPA payment notice')
    expect(en?.markdown).toContain('- Amount: €45.60')
    expect(it?.subject).toMatch(/^Avviso di pagamento: Mensa, periodo \d+$/)
    expect(it?.markdown).toMatch(/- Importo: 45,60\s€/)
    await deleteAccounts(db, [english])
  })

  it('a message whose call ended without an answer is not sent again', async () => {
    await issueByOffice(onIo)
    // claimed by a run that died before recording what IO said
    await withTenant(
      db.sql,
      x,
      (tx) => tx`update io_messages set status = 'in_invio', claimed_at = now() - interval '1 hour'
      where status = 'da_inviare'`,
    )
    const before = platform.sim.state.messages.length
    const c = await send()
    expect(c.uncertain).toBe(1)
    expect(platform.sim.state.messages.length).toBe(before)
    expect((await messages()).at(-1)?.status).toBe('incerto')
    const admin = await w.client('admin')
    expect(await (await admin.get(io())).text()).toContain('Esito sconosciuto')
  })
})
