// The canteen in the office: who may open and change what (the role matrix), the pupils' list with its CSV,
// the kitchen's counts, enrolling, a pupil's enrollment, tariff, adjustments and attendance, and the catalog
// (schools, classes, school years, closures, tariffs, prices) with an audit entry for every change.
import { beforeAll, describe, expect, it } from 'vitest'
import { chargeDay } from '../../src/features/canteen/service.ts'
import { todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { addPupil, type CanteenSetup, enroll, ledger, setupCanteen } from '../helpers/canteen.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { roleMatrix } from '../helpers/roles.ts'
import { world } from '../helpers/world.ts'

const anna = (familyName: string) => ({ givenName: 'Anna', familyName })
const w = world({
  canteen: true,
  roles: {
    cittadino: anna('cittadino'),
    lettore: anna('lettore'),
    operatore: anna('operatore'),
    admin: anna('admin'),
    adminAltroEnte: anna('adminAltroEnte'),
  },
})
let db: Db
let x: Tenant
let y: Tenant
let s: CanteenSetup
let pupil: { pupilId: number; payerId: number; payerCf: string }
let closureId: number

type Actor = 'anonimo' | 'cittadino' | 'lettore' | 'operatore' | 'admin' | 'adminAltroEnte'
const ACTORS: Actor[] = ['anonimo', 'cittadino', 'lettore', 'operatore', 'admin', 'adminAltroEnte']

async function auditActions(t: Tenant): Promise<string[]> {
  const rows = await withTenant(db.sql, t, (tx) => tx<{ action: string }[]>`select action from audit_log order by id`)
  return rows.map((r) => r.action)
}

beforeAll(async () => {
  ;({ db, tenant: x, other: y } = w)
  s = await setupCanteen(db, x)
  pupil = await addPupil(db, x, { given: 'Emma', family: 'Molteni' })
  await enroll(db, x, pupil.pupilId, { classId: s.classId, tariffId: s.residente })
  const [z] = await withTenant(
    db.sql,
    x,
    (tx) => tx<{ id: number }[]>`select id from canteen_closures where school_year_id = ${s.yearId}`,
  )
  closureId = (z as { id: number }).id
})

describe('canteen office route matrix', () => {
  it('answers each actor as its role allows', async () => {
    const staff: Actor[] = ['lettore', 'operatore', 'admin']
    const writers: Actor[] = ['operatore', 'admin']
    const admins: Actor[] = ['admin']
    const o = () => `/t/${x.slug}/ufficio/mensa`
    const p = () => `${o()}/alunni/${pupil.pupilId}`
    const routes: { method: 'GET' | 'POST'; path: () => string; allowed: Actor[] }[] = [
      { method: 'GET', path: o, allowed: staff },
      { method: 'GET', path: () => `${o()}/export.csv`, allowed: staff },
      { method: 'GET', path: () => `${o()}/cucina`, allowed: staff },
      { method: 'GET', path: p, allowed: staff },
      { method: 'GET', path: () => `${p()}/presenze/2026-10`, allowed: staff },
      { method: 'GET', path: () => `${p()}/giorno/2026-10-05`, allowed: writers },
      { method: 'GET', path: () => `${o()}/iscrizioni/nuova`, allowed: writers },
      { method: 'GET', path: () => `${o()}/scuole`, allowed: staff },
      { method: 'GET', path: () => `${o()}/scuole/${s.schoolId}`, allowed: admins },
      { method: 'GET', path: () => `${o()}/classi/${s.classId}`, allowed: admins },
      { method: 'GET', path: () => `${o()}/calendario`, allowed: staff },
      { method: 'GET', path: () => `${o()}/calendario/${s.yearId}`, allowed: staff },
      { method: 'GET', path: () => `${o()}/tariffe`, allowed: staff },
      { method: 'GET', path: () => `${o()}/tariffe/${s.residente}`, allowed: staff },
      { method: 'POST', path: () => `${p()}/giorno/2026-10-05`, allowed: writers },
      { method: 'POST', path: () => `${p()}/iscrizione`, allowed: writers },
      { method: 'POST', path: () => `${p()}/tariffa`, allowed: writers },
      { method: 'POST', path: () => `${p()}/movimenti`, allowed: writers },
      { method: 'POST', path: () => `${o()}/iscrizioni/nuova`, allowed: writers },
      { method: 'POST', path: () => `${o()}/scuole`, allowed: admins },
      { method: 'POST', path: () => `${o()}/scuole/${s.schoolId}`, allowed: admins },
      { method: 'POST', path: () => `${o()}/classi`, allowed: admins },
      { method: 'POST', path: () => `${o()}/classi/${s.classId}`, allowed: admins },
      { method: 'POST', path: () => `${o()}/calendario`, allowed: admins },
      { method: 'POST', path: () => `${o()}/calendario/${s.yearId}`, allowed: admins },
      { method: 'POST', path: () => `${o()}/calendario/${s.yearId}/chiusure`, allowed: admins },
      { method: 'POST', path: () => `${o()}/calendario/${s.yearId}/chiusure/999999999/elimina`, allowed: admins },
      { method: 'POST', path: () => `${o()}/tariffe`, allowed: admins },
      { method: 'POST', path: () => `${o()}/tariffe/${s.residente}`, allowed: admins },
      { method: 'POST', path: () => `${o()}/tariffe/${s.residente}/prezzi`, allowed: admins },
    ]
    // empty forms: an allowed member gets the form back with its errors (or 404), nothing changes
    const failures = await roleMatrix(w, {
      actors: ACTORS,
      routes,
      toLogin: false,
    })
    expect(failures).toEqual([])
    // nothing was changed by the empty forms
    expect(await auditActions(x)).toEqual([])
  })

  it('unknown ids and ids of another tenant are not found', async () => {
    const admin = await w.client('admin')
    const o = `/t/${x.slug}/ufficio/mensa`
    const [other] = await withTenant(
      db.sql,
      y,
      (tx) => tx<{ id: number }[]>`insert into canteen_schools (kind, name) values ('primaria', 'ALTRA') returning id`,
    )
    for (const path of [
      `${o}/alunni/999999999`,
      `${o}/scuole/999999999`,
      `${o}/scuole/${(other as { id: number }).id + 1000}`,
      `${o}/classi/999999999`,
      `${o}/calendario/999999999`,
      `${o}/tariffe/999999999`,
      `${o}/alunni/${pupil.pupilId}/presenze/2026-13`,
      `${o}/alunni/${pupil.pupilId}/giorno/2026-02-31`,
    ]) {
      expect((await admin.get(path)).status, path).toBe(404)
    }
  })
})

describe('the pupils of the canteen', () => {
  it('lists tariff, meals, net due and balance, filters them, and exports a CSV for a spreadsheet in Italian', async () => {
    await withTenant(db.sql, x, async (tx) => {
      await chargeDay(tx, '2026-10-05')
      await chargeDay(tx, '2026-10-06')
    })
    const other = await addPupil(db, x, { given: 'Luca', family: 'Verdi' })
    await enroll(db, x, other.pupilId, { classId: s.wednesdayClassId, tariffId: s.band })
    const c = await w.client('lettore')
    const res = await c.get(`/t/${x.slug}/ufficio/mensa?anno=2026-2027`)
    const html = await res.text()
    await expectValidHtml(html)
    expect(html).toContain('Molteni Emma')
    expect(html).toContain('Primaria DANTE ALIGHIERI 3 B (tempo pieno)')
    expect(html).toContain('RESIDENTE 5,80\u00a0€')
    expect(html).toContain('11,60\u00a0€')
    expect(html).toContain('-11,60\u00a0€')
    const filtered = await (await c.get(`/t/${x.slug}/ufficio/mensa?anno=2026-2027&tariffa=${s.band}`)).text()
    expect(filtered).toContain('Verdi Luca')
    expect(filtered).not.toContain('Molteni Emma')
    expect(await (await c.get(`/t/${x.slug}/ufficio/mensa?anno=2026-2027&classe=${s.classId}`)).text()).not.toContain(
      'Verdi Luca',
    )
    expect(await (await c.get(`/t/${x.slug}/ufficio/mensa?anno=2026-2027&cerca=molteni`)).text()).not.toContain(
      'Verdi Luca',
    )
    const csv = await c.get(`/t/${x.slug}/ufficio/mensa/export.csv?anno=2026-2027`)
    expect(csv.headers.get('content-type')).toContain('text/csv')
    expect(csv.headers.get('content-disposition')).toContain(`mensa-${x.slug}-2026-2027.csv`)
    const bytes = new Uint8Array(await csv.arrayBuffer())
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const lines = new TextDecoder().decode(bytes.slice(3)).split('\r\n')
    expect(lines[0]).toBe(
      'Servizio;Cognome utente;Nome utente;Codice fiscale;Tariffa;Prezzo pasto;Totale riduzioni;Pasti consumati ad oggi;Dovuto netto;Pagato con avviso;Pagato spontaneo;Saldo;Tipo scuola;Scuola;Corso;Stato servizio',
    )
    const emma = lines.find((l) => l.includes('Molteni'))?.split(';')
    expect(emma).toEqual([
      'Refezione',
      'Molteni',
      'Emma',
      expect.stringMatching(/^[A-Z0-9]{16}$/),
      'RESIDENTE',
      '5,80',
      '0,00',
      '2',
      '11,60',
      '0,00',
      '0,00',
      '-11,60',
      'Primaria',
      'DANTE ALIGHIERI',
      '3 B (tempo pieno)',
      'attivo',
    ])
  })

  it("counts today's meals per school and class for the kitchen", async () => {
    const c = await w.client('lettore')
    const res = await c.get(`/t/${x.slug}/ufficio/mensa/cucina?giorno-day=7&giorno-month=10&giorno-year=2026`)
    const html = await res.text()
    await expectValidHtml(html)
    expect(html).toContain('Pasti di mercoledì 7 ottobre 2026')
    // Wednesday: Emma (3 B) and Luca (5 A, Wednesdays only)
    expect(html).toMatch(/Primaria DANTE ALIGHIERI<\/th><td class="num">2<\/td>/)
    const bad = await c.get(`/t/${x.slug}/ufficio/mensa/cucina?giorno-day=31&giorno-month=2&giorno-year=2026`)
    expect(bad.status).toBe(422)
    expect(await bad.text()).toContain('href="#giorno-day"')
  })
})

describe("a pupil's enrollment, tariff, wallet and attendance", () => {
  it('enrolls a pupil found by codice fiscale, once per school year', async () => {
    const c = await w.client('operatore')
    const kid = await addPupil(db, x, { given: 'Sofia', family: 'Verdi' })
    const [row] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ codice_fiscale: string }[]>`select codice_fiscale from pupils where id = ${kid.pupilId}`,
    )
    const cf = (row as { codice_fiscale: string }).codice_fiscale
    const path = `/t/${x.slug}/ufficio/mensa/iscrizioni/nuova`
    const form = {
      cf,
      classe: String(s.classId),
      tariffa: String(s.nonResidente),
      'inizio-day': '14',
      'inizio-month': '9',
      'inizio-year': '2026',
    }
    const unknown = await c.submit(path, { ...form, cf: 'RSSMRA80A01H501U' })
    expect(unknown.status).toBe(422)
    expect(await unknown.text()).toContain('Nessun alunno dell&#39;ente ha questo codice fiscale')
    const ok = await c.submit(path, form)
    expect(ok.status).toBe(303)
    expect(ok.headers.get('location')).toBe(
      `/t/${x.slug}/ufficio/mensa/alunni/${kid.pupilId}?anno=2026-2027&salvato=iscritto`,
    )
    const again = await c.submit(path, form)
    expect(again.status).toBe(422)
    expect(await again.text()).toContain('già iscritto alla mensa per l&#39;anno scolastico 2026/2027')
  })

  it('records adjustments and the opening balance (once), changes the tariff and the enrollment', async () => {
    const c = await w.client('operatore')
    const base = `/t/${x.slug}/ufficio/mensa/alunni/${pupil.pupilId}`
    const page = await c.get(`${base}?anno=2026-2027`)
    const html = await page.text()
    await expectValidHtml(html)
    const key = /name="chiave" value="([^"]+)"/.exec(html)?.[1] as string
    const adjust = {
      tipo: 'rettifica',
      importo: '11,60',
      'data-day': '7',
      'data-month': '10',
      'data-year': '2026',
      motivo: 'Gita',
      chiave: key,
    }
    expect((await c.post(`${base}/movimenti?anno=2026-2027`, adjust)).status).toBe(303)
    // the same form sent twice records it once
    expect((await c.post(`${base}/movimenti?anno=2026-2027`, adjust)).status).toBe(303)
    const opening = { tipo: 'saldo_iniziale', importo: '-5,80', motivo: 'Debito 2025/2026' }
    await c.get(`${base}?anno=2026-2027`)
    expect((await c.post(`${base}/movimenti?anno=2026-2027`, opening)).status).toBe(303)
    const twice = await c.post(`${base}/movimenti?anno=2026-2027`, opening)
    expect(twice.status).toBe(422)
    expect(await twice.text()).toContain('saldo iniziale di quest&#39;anno è già registrato')
    const bad = await c.post(`${base}/movimenti?anno=2026-2027`, { tipo: 'rettifica', importo: '0', motivo: '' })
    expect(bad.status).toBe(422)
    const badHtml = await bad.text()
    for (const href of ['#importo', '#motivo']) expect(badHtml).toContain(`href="${href}"`)
    const noDate = await c.post(`${base}/movimenti?anno=2026-2027`, { tipo: 'rettifica', importo: '5', motivo: 'x' })
    expect(await noDate.text()).toContain('href="#data-day"')
    const entries = (await ledger(db, x, pupil.pupilId)).filter(
      (l) => l.kind === 'rettifica' || l.kind === 'saldo_iniziale',
    )
    expect(entries).toEqual(
      [
        { kind: 'rettifica', entry_date: '2026-10-07', amount_cents: 1160, meals: 0, gross_cents: null },
        { kind: 'saldo_iniziale', entry_date: '2026-07-31', amount_cents: -580, meals: 0, gross_cents: null },
      ].sort((a, b) => a.entry_date.localeCompare(b.entry_date)),
    )
    // the tariff from a day on
    const tariff = await c.post(`${base}/tariffa?anno=2026-2027`, {
      tariffa: String(s.band),
      'dal-day': '1',
      'dal-month': '2',
      'dal-year': '2027',
    })
    expect(tariff.status).toBe(303)
    const after = await (await c.get(`${base}?anno=2026-2027`)).text()
    expect(after).toContain('ISEE FASCIA 1 dal 01/02/2027')
    // the enrollment: suspended, with an ISEE
    const edit = await c.post(`${base}/iscrizione?anno=2026-2027`, {
      classe: String(s.classId),
      stato: 'sospesa',
      'inizio-day': '14',
      'inizio-month': '9',
      'inizio-year': '2026',
      isee: '5.500,00',
    })
    expect(edit.status).toBe(303)
    const outside = await c.post(`${base}/iscrizione?anno=2026-2027`, {
      classe: String(s.classId),
      stato: 'attiva',
      'inizio-day': '14',
      'inizio-month': '9',
      'inizio-year': '2027',
    })
    expect(outside.status).toBe(422)
    const [e] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ status: string; isee_cents: number }[]>`
        select status, isee_cents from canteen_enrollments where pupil_id = ${pupil.pupilId}`,
    )
    expect(e).toEqual({ status: 'sospesa', isee_cents: 550000 })
    await withTenant(
      db.sql,
      x,
      (tx) => tx`update canteen_enrollments set status = 'attiva' where pupil_id = ${pupil.pupilId}`,
    )
    const actions = await auditActions(x)
    for (const a of [
      'canteen.rettifica',
      'canteen.saldo_iniziale',
      'canteen.enrollment.tariff',
      'canteen.enrollment.update',
    ])
      expect(actions).toContain(a)
  })

  it('records attendance of any day; a charged day is corrected in the wallet at once', async () => {
    const c = await w.client('operatore')
    const base = `/t/${x.slug}/ufficio/mensa/alunni/${pupil.pupilId}`
    const cal = await c.get(`${base}/presenze/2026-10`)
    const html = await cal.text()
    await expectValidHtml(html)
    expect(html).toContain(`href="${base}/giorno/2026-10-05"`)
    await c.get(`${base}/giorno/2026-10-05`)
    const res = await c.post(`${base}/giorno/2026-10-05`, { stato: 'assente', motivo: 'Malato, avvisato per telefono' })
    expect(res.status).toBe(303)
    const day = (await ledger(db, x, pupil.pupilId)).filter((l) => l.entry_date === '2026-10-05')
    expect(day.reduce((n, l) => n + l.amount_cents, 0)).toBe(0)
    // a reader sees the calendar without links
    const reader = await w.client('lettore')
    expect(await (await reader.get(`${base}/presenze/2026-10`)).text()).not.toContain(`href="${base}/giorno/`)
  })
})

const weekdays = { 'giorni-1': 'si', 'giorni-2': 'si', 'giorni-3': 'si', 'giorni-4': 'si', 'giorni-5': 'si' }

describe('the catalog', () => {
  it('schools, classes, school years, closures, tariffs and prices: created, edited, checked, audited', async () => {
    const c = await w.client('admin')
    const o = `/t/${x.slug}/ufficio/mensa`
    const before = (await auditActions(x)).length
    await c.get(`${o}/scuole`)
    expect((await c.post(`${o}/scuole`, { tipo: 'infanzia', nome: 'GIANNI RODARI' })).status).toBe(303)
    const dup = await c.post(`${o}/scuole`, { tipo: 'infanzia', nome: 'GIANNI RODARI' })
    expect(dup.status).toBe(422)
    expect(await dup.text()).toContain('Esiste già una scuola')
    const empty = await c.post(`${o}/scuole`, {})
    expect(await empty.text()).toContain('href="#tipo"')
    const [school] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ id: number }[]>`select id from canteen_schools where name = 'GIANNI RODARI'`,
    )
    const sid = String((school as { id: number }).id)
    expect(
      (
        await c.post(`${o}/classi`, {
          scuola: sid,
          nomeClasse: 'Sezione A',
          'giorni-1': 'si',
          'giorni-2': 'si',
          'giorni-3': 'si',
        })
      ).status,
    ).toBe(303)
    const noDays = await c.post(`${o}/classi`, { scuola: sid, nomeClasse: 'Sezione B' })
    expect(noDays.status).toBe(422)
    expect(await noDays.text()).toContain('href="#giorni"')
    expect(
      (
        await c.post(`${o}/scuole/${sid}`, {
          tipo: 'infanzia',
          nome: 'GIANNI RODARI',
          indirizzo: 'Piazza 1',
          attiva: 'si',
        })
      ).status,
    ).toBe(303)
    const schools = await (await c.get(`${o}/scuole`)).text()
    await expectValidHtml(schools)
    expect(schools).toContain('Sezione A')
    expect(schools).toContain('lunedì, martedì, mercoledì')

    // a school year may not overlap another
    await c.get(`${o}/calendario`)
    const overlap = await c.post(`${o}/calendario`, {
      anno: '2025/2026',
      'inizio-day': '1',
      'inizio-month': '9',
      'inizio-year': '2025',
      'fine-day': '30',
      'fine-month': '9',
      'fine-year': '2026',
      ...weekdays,
    })
    expect(overlap.status).toBe(422)
    const year = await c.post(`${o}/calendario`, {
      anno: '2025/2026',
      'inizio-day': '15',
      'inizio-month': '9',
      'inizio-year': '2025',
      'fine-day': '10',
      'fine-month': '6',
      'fine-year': '2026',
      ...weekdays,
    })
    expect(year.status).toBe(303)
    const yearPath = year.headers.get('location') as string
    await c.get(yearPath)
    const closure = await c.post(`${yearPath}/chiusure`, {
      'dal-day': '23',
      'dal-month': '12',
      'dal-year': '2025',
      'al-day': '6',
      'al-month': '1',
      'al-year': '2026',
      descrizione: 'Vacanze di Natale',
      scuola: 'nessuna',
    })
    expect(closure.status).toBe(303)
    const outside = await c.post(`${yearPath}/chiusure`, {
      'dal-day': '1',
      'dal-month': '8',
      'dal-year': '2026',
      'al-day': '2',
      'al-month': '8',
      'al-year': '2026',
      descrizione: 'Fuori',
    })
    expect(outside.status).toBe(422)
    const yearHtml = await (await c.get(yearPath)).text()
    await expectValidHtml(yearHtml)
    expect(yearHtml).toContain('Vacanze di Natale')
    // a closure of another year is not found through this one
    expect((await c.post(`${yearPath}/chiusure/${closureId}/elimina`, {})).status).toBe(404)
    expect((await c.post(`${o}/calendario/${s.yearId}/chiusure/${closureId}/elimina`, {})).status).toBe(303)

    // tariffs: a new one with its first price, a second price from a later day, an edit
    await c.get(`${o}/tariffe`)
    const tariff = await c.post(`${o}/tariffe`, {
      nome: 'isee fascia 2',
      base: String(s.residente),
      iseeMin: '6.000,01',
      iseeMax: '12.000',
      bianco: 'si',
      prezzo: '4,20',
      'dal-day': '1',
      'dal-month': '8',
      'dal-year': '2026',
      attiva: 'si',
    })
    expect(tariff.status).toBe(303)
    const dupTariff = await c.post(`${o}/tariffe`, {
      nome: 'ISEE FASCIA 2',
      bianco: 'si',
      prezzo: '4,20',
      'dal-day': '1',
      'dal-month': '8',
      'dal-year': '2026',
    })
    expect(dupTariff.status).toBe(422)
    const badPrice = await c.post(`${o}/tariffe`, { nome: 'X', bianco: 'si', prezzo: 'gratis' })
    expect(await badPrice.text()).toContain('href="#prezzo"')
    const [t2] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ id: number }[]>`select id from canteen_tariffs where name = 'ISEE FASCIA 2'`,
    )
    const tid = (t2 as { id: number }).id
    await c.get(`${o}/tariffe/${tid}`)
    expect(
      (
        await c.post(`${o}/tariffe/${tid}/prezzi`, {
          prezzo: '4,40',
          'dal-day': '1',
          'dal-month': '1',
          'dal-year': '2027',
        })
      ).status,
    ).toBe(303)
    const tariffHtml = await (await c.get(`${o}/tariffe/${tid}`)).text()
    await expectValidHtml(tariffHtml)
    expect(tariffHtml).toContain('dal 01/08/2026 al 31/12/2026')
    expect(tariffHtml).toContain('dal 01/01/2027')
    expect(tariffHtml).toContain('4,40\u00a0€')
    expect(
      (
        await c.post(`${o}/tariffe/${tid}`, {
          nome: 'ISEE FASCIA 2',
          base: String(s.residente),
          bianco: 'no',
          attiva: 'si',
        })
      ).status,
    ).toBe(303)
    // only one default tariff: making this one the default takes it from RESIDENTE
    expect(
      (await c.post(`${o}/tariffe/${tid}`, { nome: 'ISEE FASCIA 2', bianco: 'no', predefinita: 'si', attiva: 'si' }))
        .status,
    ).toBe(303)
    const defaults = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ name: string }[]>`select name from canteen_tariffs where is_default`,
    )
    expect(defaults).toEqual([{ name: 'ISEE FASCIA 2' }])
    const actions = (await auditActions(x)).slice(before)
    expect(actions).toEqual([
      'canteen.school.create',
      'canteen.class.create',
      'canteen.school.update',
      'canteen.year.create',
      'canteen.closure.create',
      'canteen.closure.delete',
      'canteen.tariff.create',
      'canteen.tariff.price',
      'canteen.tariff.update',
      'canteen.tariff.update',
    ])
    expect(todayRome()).toMatch(/^\d{4}-/)
  })
})
