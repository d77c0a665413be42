// Applications (istanze) and communications over real HTTP, PostgreSQL and SMTP: the office defines a form,
// a citizen fills it in (errors, attachment checks), checks the answers and sends it; the office takes it in
// charge and decides; acceptance enrolls the pupil; the citizen sees the status and receives the email.
// Another family's or another tenant's ids are 404.
import { beforeAll, describe, expect, it } from 'vitest'
import { countWaitingApplications } from '../../src/features/applications/queries.ts'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Deps } from '../../src/platform/http.ts'
import { drainOutbox } from '../../src/platform/mail.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { addMembership, randomCf, type TestAccount } from '../helpers/accounts.ts'
import type { Client } from '../helpers/client.ts'
import { createTestTenant, dropTestTenant } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { type App, type World, world } from '../helpers/world.ts'

const w = world({ smtp: true, other: true })
let db: Db
let app: App
let deps: Deps
let smtp: World['smtp']
let x: Tenant
let y: Tenant
const accounts: Record<string, TestAccount> = {}
const clients: Record<string, Client> = {}
let pupilId = 0
let nidoForm = 0
const childCf = randomCf()

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82])

function dateParts(name: string, iso: string): Record<string, string> {
  const [y1, m, d] = iso.split('-')
  return { [`${name}-day`]: d as string, [`${name}-month`]: m as string, [`${name}-year`]: y1 as string }
}

/** A multipart form post with the client's cookies and the CSRF token of its last page. */
async function postMultipart(
  client: Client,
  path: string,
  fields: Record<string, string>,
  files: Record<string, { name: string; type: string; bytes: Uint8Array }> = {},
): Promise<Response> {
  const fd = new FormData()
  for (const [k, v] of Object.entries(fields)) fd.append(k, v)
  for (const [k, f] of Object.entries(files))
    fd.append(k, new File([f.bytes as Uint8Array<ArrayBuffer>], f.name, { type: f.type }))
  fd.append('_csrf', client.csrf())
  const cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  const res = await app.request(path, { method: 'POST', headers: { cookie }, body: fd })
  if ((res.headers.get('content-type') ?? '').includes('text/html')) client.lastHtml = await res.clone().text()
  return res
}

const count = (tenant: Tenant) =>
  withTenant(db.sql, tenant, async (tx) => {
    const [r] = await tx<{ n: number }[]>`select count(*)::int as n from applications`
    return r?.n ?? 0
  })

function location(res: Response): string {
  return res.headers.get('location') ?? ''
}

beforeAll(async () => {
  ;({ db, app, deps, smtp, tenant: x, other: y } = w)
  for (const who of ['citizen', 'other', 'admin', 'operatore', 'lettore'] as const)
    accounts[who] = await w.account({
      givenName: who === 'citizen' ? 'Giulia' : 'Prova',
      familyName: 'Verdi',
      role: who === 'citizen' || who === 'other' ? undefined : who,
    })
  for (const [k, a] of Object.entries(accounts)) clients[k] = await w.client(a)
  // the citizen is a payer of x with one pupil
  await withTenant(db.sql, x, async (tx) => {
    const [p] = await tx<{ id: number }[]>`
      insert into payers (codice_fiscale, given_name, family_name, address)
      values (${(accounts.citizen as TestAccount).codiceFiscale}, 'Giulia', 'Verdi', 'Via Vecchia 1, 53100 Siena') returning id`
    const [pu] = await tx<{ id: number }[]>`
      insert into pupils (codice_fiscale, given_name, family_name) values (${randomCf()}, 'Marco', 'Verdi') returning id`
    pupilId = (pu as { id: number }).id
    await tx`insert into pupil_payers (pupil_id, payer_id, holder) values (${pupilId}, ${(p as { id: number }).id}, true)`
  })
})

const citizen = () => clients.citizen as Client
const staff = (who: 'admin' | 'operatore' | 'lettore') => clients[who] as Client

describe('application forms', () => {
  it('the admin defines a form for a service; errors keep what was typed', async () => {
    const admin = staff('admin')
    await admin.get(`/t/${x.slug}/ufficio/istanze/moduli/nuovo`)
    const bad = await admin.post(`/t/${x.slug}/ufficio/istanze/moduli/nuovo`, { title: 'Is', 'fields[]': ['school'] })
    expect(bad.status).toBe(422)
    const html = await bad.text()
    expect(html).toContain('href="#service"')
    expect(html).toContain('href="#title"')
    expect(html).toContain('value="Is"')
    const nido = await withTenant(db.sql, x, async (tx) => {
      const [s] = await tx<{ id: number }[]>`select id from services where code = 'nido'`
      return (s as { id: number }).id
    })
    const ok = await admin.post(`/t/${x.slug}/ufficio/istanze/moduli/nuovo`, {
      service: String(nido),
      title: 'Iscrizione al nido 2026/2027',
      intro: 'Domande entro il 30 giugno.',
      'fields[]': ['school', 'class', 'startDate', 'tariff', 'diet', 'notes'],
      open: 'si',
    })
    expect(ok.status).toBe(303)
    const forms = await (await admin.get(`/t/${x.slug}/ufficio/istanze/moduli`)).text()
    expect(forms).toContain('Iscrizione al nido 2026/2027')
    nidoForm = await withTenant(db.sql, x, async (tx) => {
      const [f] = await tx<{ id: number }[]>`select id from application_forms where service_id = ${nido}`
      return (f as { id: number }).id
    })
    const audited = await withTenant(
      db.sql,
      x,
      (tx) =>
        tx`select 1 from audit_log where action = 'applications.forms.create' and entity_id = ${String(nidoForm)}`,
    )
    expect(audited).toHaveLength(1)
  })
})

describe('an application from submission to decision', () => {
  let appId = 0
  const start = addDays(todayRome(), 30)
  const form = () => `/t/${x.slug}/istanze/nuova/domanda/${nidoForm}`

  it('lists the open forms and the communications', async () => {
    const html = await (await citizen().get(`/t/${x.slug}/istanze`)).text()
    expect(html).toContain('Iscrizione al nido 2026/2027')
    expect(html).toContain(`/t/${x.slug}/istanze/nuova/indirizzo`)
  })

  it('shows every problem at once, keeps the answers and saves nothing', async () => {
    await citizen().get(form())
    const res = await postMultipart(citizen(), form(), {
      pupil: 'nuovo',
      childGivenName: 'Lia',
      childCf: 'RSSLCU15C12H501X',
      'startDate-day': '31',
      'startDate-month': '2',
      'startDate-year': '2027',
      diet: 'si',
      isee: 'dodici',
    })
    expect(res.status).toBe(422)
    const html = await res.text()
    for (const href of [
      '#childFamilyName',
      '#childCf',
      '#school',
      '#class',
      '#startDate-day',
      '#tariff',
      '#isee',
      '#dietDescription',
      '#attachment',
    ])
      expect(html, href).toContain(`href="${href}"`)
    expect(html).toMatch(/<title>Errore: /)
    expect(html).toContain('value="Lia"')
    await expectValidHtml(html)
    expect(await count(x)).toBe(0)
  })

  it('refuses an attachment of the wrong type, a fake PDF and a file too big', async () => {
    const fields = {
      pupil: String(pupilId),
      school: 'Primaria Dante',
      class: '1 A',
      ...dateParts('startDate', start),
      tariff: 'Residente',
      diet: 'si',
      dietDescription: 'Senza glutine',
    }
    const cases: [string, { name: string; type: string; bytes: Uint8Array }, string][] = [
      [
        'text',
        { name: 'cert.txt', type: 'text/plain', bytes: new TextEncoder().encode('ciao') },
        'PDF, un JPEG o un PNG',
      ],
      [
        'fake pdf',
        { name: 'cert.pdf', type: 'application/pdf', bytes: new TextEncoder().encode('<html>not a pdf</html>') },
        'PDF, un JPEG o un PNG',
      ],
      [
        'truncated pdf',
        { name: 'cert.pdf', type: 'application/pdf', bytes: new TextEncoder().encode('%PDF-1.4 truncated') },
        'PDF, un JPEG o un PNG',
      ],
      [
        'too big',
        { name: 'cert.pdf', type: 'application/pdf', bytes: new Uint8Array(5 * 1024 * 1024 + 1) },
        'al massimo di 5 MB',
      ],
    ]
    for (const [what, file, message] of cases) {
      const res = await postMultipart(citizen(), form(), fields, { attachment: file })
      expect(res.status, what).toBe(422)
      expect(await res.text(), what).toContain(message)
    }
    expect(await count(x)).toBe(0)
  })

  it('saves a draft, shows the answers to check, then sends it', async () => {
    const res = await postMultipart(
      citizen(),
      form(),
      {
        pupil: 'nuovo',
        childGivenName: 'Lia',
        childFamilyName: 'Verdi',
        childCf,
        school: 'Primaria Dante',
        class: '1 A',
        ...dateParts('startDate', start),
        tariff: 'Residente',
        isee: '12.500,50',
        diet: 'si',
        dietDescription: 'Senza glutine',
        notes: 'Grazie',
      },
      { attachment: { name: 'Certificato médico.png', type: 'image/png', bytes: PNG } },
    )
    expect(res.status).toBe(303)
    const check = location(res)
    expect(check).toMatch(new RegExp(`^/t/${x.slug}/istanze/\\d+/riepilogo$`))
    appId = Number(check.split('/')[4])
    const page = await (await citizen().get(check)).text()
    expect(page).toContain('Controlla le risposte prima di inviare')
    expect(page).toContain(`Lia Verdi (${childCf})`)
    expect(page).toContain('12.500,50')
    expect(page).toContain('Certificato-medico.png')
    await expectValidHtml(page)
    // a draft is the citizen's alone: the office does not see it
    expect((await staff('lettore').get(`/t/${x.slug}/ufficio/istanze/${appId}`)).status).toBe(404)
    const file = await citizen().get(`/t/${x.slug}/istanze/${appId}/allegato`)
    expect(file.headers.get('content-type')).toBe('image/png')
    expect(file.headers.get('content-disposition')).toBe('attachment; filename="Certificato-medico.png"')
    const sent = await citizen().post(`/t/${x.slug}/istanze/${appId}/invia`, {})
    expect(sent.status).toBe(303)
    const status = await (await citizen().get(location(sent))).text()
    expect(status).toContain('Richiesta inviata')
    expect(status).toContain('Inviata')
    // sent is sent: no change, no second send
    expect((await citizen().post(`/t/${x.slug}/istanze/${appId}/invia`, {})).status).toBe(409)
    expect(location(await citizen().get(`/t/${x.slug}/istanze/${appId}/modifica`))).toBe(
      `/t/${x.slug}/istanze/${appId}`,
    )
    await withTenant(db.sql, x, async (tx) => expect(await countWaitingApplications(tx)).toBe(1))
  })

  it("another family's and another tenant's ids are not found", async () => {
    const other = clients.other as Client
    for (const path of ['', '/riepilogo', '/modifica', '/allegato'])
      expect((await other.get(`/t/${x.slug}/istanze/${appId}${path}`)).status, path).toBe(404)
    expect((await citizen().get(`/t/${y.slug}/istanze/${appId}`)).status).toBe(404)
    await other.get(`/t/${x.slug}/istanze`)
    expect((await other.post(`/t/${x.slug}/istanze/${appId}/invia`, {})).status).toBe(404)
    expect(await (await other.get(`/t/${x.slug}/istanze`)).text()).not.toContain('Lia Verdi')
  })

  it('the queue lists it; the lettore reads but may not act; the operatore takes it in charge', async () => {
    const queue = await (await staff('lettore').get(`/t/${x.slug}/ufficio/istanze`)).text()
    expect(queue).toContain('Iscrizione al nido 2026/2027')
    expect(queue).toContain('Verdi Giulia')
    await expectValidHtml(queue)
    const detail = await (await staff('lettore').get(`/t/${x.slug}/ufficio/istanze/${appId}`)).text()
    expect(detail).toContain(childCf)
    await expectValidHtml(detail)
    expect(detail).not.toContain('/presa-in-carico')
    expect((await staff('lettore').post(`/t/${x.slug}/ufficio/istanze/${appId}/presa-in-carico`, {})).status).toBe(403)
    const op = staff('operatore')
    await op.get(`/t/${x.slug}/ufficio/istanze/${appId}`)
    expect((await op.post(`/t/${x.slug}/ufficio/istanze/${appId}/presa-in-carico`, {})).status).toBe(303)
    expect((await op.post(`/t/${x.slug}/ufficio/istanze/${appId}/presa-in-carico`, {})).status).toBe(409)
    expect(await (await citizen().get(`/t/${x.slug}/istanze/${appId}`)).text()).toContain('In lavorazione')
    const attachment = await op.get(`/t/${x.slug}/ufficio/istanze/${appId}/allegato`)
    expect(attachment.status).toBe(200)
    expect(new Uint8Array(await attachment.arrayBuffer())).toEqual(PNG)
  })

  it('accepting enrolls the child (a new pupil linked to the applicant) and emails the citizen', async () => {
    const op = staff('operatore')
    await op.get(`/t/${x.slug}/ufficio/istanze/${appId}`)
    const bad = await op.post(`/t/${x.slug}/ufficio/istanze/${appId}/decisione`, { outcome: 'accolta' })
    expect(bad.status).toBe(422)
    expect(await bad.text()).toContain('href="#startDate-day"')
    const ok = await op.post(`/t/${x.slug}/ufficio/istanze/${appId}/decisione`, {
      outcome: 'accolta',
      message: 'Benvenuta al nido!',
      ...dateParts('startDate', start),
    })
    expect(ok.status).toBe(303)
    const enrolled = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ start_date: string; tariff: string; isee_cents: number; holder: boolean; cf: string }[]>`
        select e.start_date, e.tariff, e.isee_cents, pp.holder, pu.codice_fiscale as cf
        from service_enrollments e join pupils pu on pu.id = e.pupil_id
          join pupil_payers pp on pp.pupil_id = pu.id
          join payers p on p.id = pp.payer_id and p.codice_fiscale = ${(accounts.citizen as TestAccount).codiceFiscale}
        where e.application_id = ${appId}`,
    )
    expect(enrolled).toEqual([
      { start_date: start, tariff: 'Residente', isee_cents: 1250050, holder: true, cf: childCf },
    ])
    const actions = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ action: string; actor_name: string }[]>`
        select action, actor_name from audit_log where action like 'applications.%' and action not like 'applications.forms%'
        order by id`,
    )
    expect(actions.map((a) => a.action)).toEqual(['applications.take', 'applications.enroll', 'applications.decide'])
    // decided once: a second decision is refused
    expect(
      (await op.post(`/t/${x.slug}/ufficio/istanze/${appId}/decisione`, { outcome: 'respinta', message: 'no' })).status,
    ).toBe(409)
    await drainOutbox(db.sql, deps.config, 50, (accounts.citizen as TestAccount).email)
    const mails = smtp.to((accounts.citizen as TestAccount).email)
    expect(mails).toHaveLength(1)
    expect(mails[0]?.subject).toBe(`La tua richiesta n. ${appId} è stata accolta`)
    expect(mails[0]?.text).toContain('Benvenuta al nido!')
    expect(mails[0]?.text).toContain(`/t/${x.slug}/istanze/${appId}`)
    const page = await (await citizen().get(`/t/${x.slug}/istanze/${appId}`)).text()
    expect(page).toContain('Accolta')
    expect(page).toContain('Benvenuta al nido!')
  })
})

describe('communications', () => {
  async function send(kind: string, fields: Record<string, string>): Promise<number> {
    const path = `/t/${x.slug}/istanze/nuova/${kind}`
    await citizen().get(path)
    const res = await citizen().post(path, fields)
    expect(res.status, await res.clone().text()).toBe(303)
    const id = Number(location(res).split('/')[4])
    await citizen().get(location(res))
    expect((await citizen().post(`/t/${x.slug}/istanze/${id}/invia`, {})).status).toBe(303)
    return id
  }

  it('a change of address, accepted, updates the payer; rejected ones need a message', async () => {
    const first = await send('indirizzo', { street: 'Via Nuova 2', postalCode: '53100', city: 'Siena' })
    const op = staff('operatore')
    await op.get(`/t/${x.slug}/ufficio/istanze/${first}`)
    expect((await op.post(`/t/${x.slug}/ufficio/istanze/${first}/decisione`, { outcome: 'accolta' })).status).toBe(303)
    const [payer] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ address: string }[]>`
        select address from payers where codice_fiscale = ${(accounts.citizen as TestAccount).codiceFiscale}`,
    )
    expect(payer?.address).toBe('Via Nuova 2, 53100 Siena')
    const second = await send('indirizzo', { street: 'Via Altra 3', postalCode: '53100', city: 'Siena' })
    await op.get(`/t/${x.slug}/ufficio/istanze/${second}`)
    const noReason = await op.post(`/t/${x.slug}/ufficio/istanze/${second}/decisione`, { outcome: 'respinta' })
    expect(noReason.status).toBe(422)
    expect(await noReason.text()).toContain('href="#message"')
    const rejected = await op.post(`/t/${x.slug}/ufficio/istanze/${second}/decisione`, {
      outcome: 'respinta',
      message: 'Serve la residenza',
    })
    expect(rejected.status).toBe(303)
    await drainOutbox(db.sql, deps.config, 50, (accounts.citizen as TestAccount).email)
    const mails = smtp.to((accounts.citizen as TestAccount).email)
    expect(mails.map((m) => m.subject)).toContain(`La tua richiesta n. ${first} è stata accolta`)
    const last = mails.find((m) => m.subject === `La tua richiesta n. ${second} è stata respinta`)
    expect(last?.text).toContain('Serve la residenza')
  })

  it('suspension, special diet and rating arrive in the same queue; their forms check their answers', async () => {
    const path = `/t/${x.slug}/istanze/nuova/sospensione`
    await citizen().get(path)
    const from = addDays(todayRome(), 10)
    const bad = await citizen().post(path, {
      pupil: String(pupilId),
      ...dateParts('from', from),
      ...dateParts('to', addDays(from, -1)),
    })
    expect(bad.status).toBe(422)
    const html = await bad.text()
    expect(html).toContain('href="#service"')
    expect(html).toContain('href="#to-day"')
    const mensa = await withTenant(db.sql, x, async (tx) => {
      const [s] = await tx<{ id: number }[]>`select id from services where code = 'mensa'`
      return String((s as { id: number }).id)
    })
    await send('sospensione', {
      pupil: String(pupilId),
      service: mensa,
      ...dateParts('from', from),
      ...dateParts('to', addDays(from, 5)),
    })
    await send('dieta', { pupil: String(pupilId), dietDescription: 'Senza lattosio' })
    await send('valutazione', { service: mensa, rating: '4', notes: 'Buono' })
    // a pupil of another family cannot be chosen
    await citizen().get(`/t/${x.slug}/istanze/nuova/dieta`)
    expect(
      (await citizen().post(`/t/${x.slug}/istanze/nuova/dieta`, { pupil: '999999', dietDescription: 'x' })).status,
    ).toBe(422)
    const queue = await (await staff('lettore').get(`/t/${x.slug}/ufficio/istanze?stato=inviata`)).text()
    expect(queue).toContain('Sospensione di mensa o trasporto')
    expect(queue).toContain('Richiesta di dieta speciale')
    expect(queue).toContain('Valutazione di un servizio')
    const diets = await (await staff('lettore').get(`/t/${x.slug}/ufficio/istanze?stato=tutte&tipo=dieta`)).text()
    expect(diets).toContain('Richieste trovate: 1')
  })
})

describe('canteen enrollment', () => {
  it('accepting a canteen application enrolls the pupil through the canteen feature', async () => {
    const z = await createTestTenant(db)
    try {
      const ids = await withTenant(db.sql, z, async (tx) => {
        const [s] = await tx<{ id: number }[]>`
          insert into canteen_schools (kind, name) values ('primaria', 'DANTE ALIGHIERI') returning id`
        const school = (s as { id: number }).id
        const [c] = await tx<{ id: number }[]>`
          insert into canteen_classes (school_id, name, note) values (${school}, '5 A', '1 rientro') returning id`
        const [other] = await tx<{ id: number }[]>`
          insert into canteen_schools (kind, name) values ('infanzia', 'RODARI') returning id`
        const [t] = await tx<{ id: number }[]>`insert into canteen_tariffs (name) values ('RESIDENTE') returning id`
        const [svc] = await tx<{ id: number }[]>`select id from services where code = 'mensa'`
        return {
          school,
          otherSchool: (other as { id: number }).id,
          class: (c as { id: number }).id,
          tariff: (t as { id: number }).id,
          service: (svc as { id: number }).id,
        }
      })
      await addMembership(db, (accounts.admin as TestAccount).id, z.id, 'admin')
      const admin = staff('admin')
      await admin.get(`/t/${z.slug}/ufficio/istanze/moduli/nuovo`)
      const created = await admin.post(`/t/${z.slug}/ufficio/istanze/moduli/nuovo`, {
        service: String(ids.service),
        title: 'Iscrizione alla mensa',
        'fields[]': ['school', 'class', 'startDate', 'tariff'],
        open: 'si',
      })
      expect(created.status).toBe(303)
      const formId = await withTenant(db.sql, z, async (tx) => {
        const [f] = await tx<{ id: number }[]>`select id from application_forms`
        return (f as { id: number }).id
      })
      const path = `/t/${z.slug}/istanze/nuova/domanda/${formId}`
      const page = await (await citizen().get(path)).text()
      expect(page).toContain('Primaria DANTE ALIGHIERI 5 A (1 rientro)')
      expect(page).toContain('RESIDENTE')
      const start = addDays(todayRome(), 20)
      const answers = {
        pupil: 'nuovo',
        childGivenName: 'Ada',
        childFamilyName: 'Verdi',
        childCf: randomCf(),
        school: String(ids.otherSchool),
        class: String(ids.class),
        tariff: String(ids.tariff),
        ...dateParts('startDate', start),
      }
      const mismatch = await citizen().post(path, answers)
      expect(mismatch.status).toBe(422)
      expect(await mismatch.text()).toContain('non è della scuola scelta')
      const res = await citizen().post(path, { ...answers, school: String(ids.school) })
      expect(res.status).toBe(303)
      const id = Number(location(res).split('/')[4])
      await citizen().get(location(res))
      await citizen().post(`/t/${z.slug}/istanze/${id}/invia`, {})
      await admin.get(`/t/${z.slug}/ufficio/istanze/${id}`)
      const decided = await admin.post(`/t/${z.slug}/ufficio/istanze/${id}/decisione`, {
        outcome: 'accolta',
        ...dateParts('startDate', start),
        classId: String(ids.class),
        tariffId: String(ids.tariff),
      })
      expect(decided.status).toBe(303)
      const rows = await withTenant(
        db.sql,
        z,
        (tx) => tx<{ class_id: number; start_date: string; tariff_id: number; effect: string }[]>`
          select e.class_id, e.start_date, et.tariff_id, a.effect
          from applications a join canteen_enrollments e on e.pupil_id = a.pupil_id
            join canteen_enrollment_tariffs et on et.enrollment_id = e.id
          where a.id = ${id}`,
      )
      expect(rows).toEqual([{ class_id: ids.class, start_date: start, tariff_id: ids.tariff, effect: 'mensa' }])
    } finally {
      await dropTestTenant(db, z)
    }
  })
})
