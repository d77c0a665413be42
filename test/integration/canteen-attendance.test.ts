// Absences and light meals: the family's calendar over HTTP (a day, a period, cancelling), the cut-off in
// Europe/Rome on the days the clocks change (29 March and 25 October 2026, with the clock injected), days
// without service, and other families' pupils answering 404.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { familyMark } from '../../src/features/canteen/service.ts'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import type { TestAccount } from '../helpers/accounts.ts'
import { addPupil, canteenTenant, enroll, rome, setupCanteen, setupCurrentYear } from '../helpers/canteen.ts'
import { Client } from '../helpers/client.ts'
import { dropTestTenant } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { type App, world } from '../helpers/world.ts'

const w = world({ canteen: true })
let db: Db
let t: Tenant
let app: App
let me: TestAccount
let client: Client
let pupilId: number
let otherPupil: number
let yearId: number
const tenants: Tenant[] = []
const today = todayRome()
const month = today.slice(0, 7)
const family = { accountId: null, name: 'Maria Bruni' }

async function marks(id = pupilId) {
  return withTenant(
    db.sql,
    t,
    (tx) => tx<{ day: string; status: string; source: string }[]>`
      select day::text, status, source from canteen_attendance where pupil_id = ${id} order by day`,
  )
}

beforeAll(async () => {
  ;({ db, app, tenant: t } = w)
  const s = await setupCurrentYear(db, t)
  yearId = s.yearId
  me = await w.account()
  ;({ pupilId } = await addPupil(db, t, { payerCf: me.codiceFiscale, given: 'Emma' }))
  await enroll(db, t, pupilId, { classId: s.classId, tariffId: s.residente, start: s.start })
  ;({ pupilId: otherPupil } = await addPupil(db, t, { given: 'Altro' }))
  await enroll(db, t, otherPupil, { classId: s.classId, tariffId: s.residente, start: s.start })
  client = await w.client(me)
})

afterAll(async () => {
  for (const x of tenants) await dropTestTenant(db, x)
})

describe("the family's calendar", () => {
  const base = () => `/t/${t.slug}/mensa/presenze/${pupilId}`

  it('is a table with a caption and column headers, each day in words', async () => {
    const res = await client.get(`${base()}/${month}`)
    expect(res.status).toBe(200)
    const html = await res.text()
    await expectValidHtml(html)
    expect(html).toContain('<caption id="calendar-caption">Calendario presenze di Emma Bruni')
    expect(html).toMatch(
      /<th scope="col"><span aria-hidden="true">LUN<\/span><span class="visually-hidden">lunedì<\/span><\/th>/,
    )
    expect(html).toContain('aria-current="date"')
    expect(html).toContain('L&#39;orario limite per l&#39;inserimento di variazioni per la giornata di oggi è: 09:15')
    // a later day is a link to its page; the words say its state
    const later = addDays(today, 2)
    if (later.slice(0, 7) === month) expect(html).toContain(`href="${base()}/giorno/${later}"`)
    expect(html).toContain('Pasto previsto')
    // a message's query half there, or tampered with, is no message (and no error)
    for (const q of ['?esito=giorno', '?esito=giorno&stato=assente', '?esito=periodo&stato=x&n=abc'])
      expect((await client.get(`${base()}/${month}${q}`)).status).toBe(200)
    // the bare address goes to this month
    expect((await client.get(base())).headers.get('location')).toBe(`${base()}/${month}`)
  })

  it('marks an absence and a light meal for later days, and cancels them', async () => {
    const d1 = addDays(today, 2)
    const d2 = addDays(today, 3)
    await client.get(`${base()}/giorno/${d1}`)
    const res = await client.post(`${base()}/giorno/${d1}`, { stato: 'assente' })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`${base()}/${d1.slice(0, 7)}?esito=giorno&stato=assente&giorno=${d1}`)
    const page = await (await client.get(res.headers.get('location') as string)).text()
    expect(page).toContain('Assenza segnata per')
    await client.get(`${base()}/giorno/${d2}`)
    expect((await client.post(`${base()}/giorno/${d2}`, { stato: 'bianco' })).status).toBe(303)
    expect(await marks()).toEqual([
      { day: d1, status: 'assente', source: 'famiglia' },
      { day: d2, status: 'bianco', source: 'famiglia' },
    ])
    const day = await (await client.get(`${base()}/giorno/${d2}`)).text()
    expect(day).toContain('Pasto in bianco (dieta bianca)')
    expect((await client.post(`${base()}/giorno/${d2}`, { stato: 'presente' })).status).toBe(303)
    expect((await client.post(`${base()}/giorno/${d1}`, { stato: 'presente' })).status).toBe(303)
    expect(await marks()).toEqual([])
    // no choice: the error summary links to the radios
    const none = await client.post(`${base()}/giorno/${d1}`, {})
    expect(none.status).toBe(422)
    expect(await none.text()).toContain('href="#stato"')
  })

  it('refuses a past day with a clear message, changing nothing', async () => {
    const yesterday = addDays(today, -1)
    const page = await (await client.get(`${base()}/giorno/${yesterday}`)).text()
    expect(page).toContain('non si può più modificare')
    expect(page).not.toContain('name="stato"')
    const res = await client.post(`${base()}/giorno/${yesterday}`, { stato: 'assente' })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain(
      'L&#39;orario limite per le variazioni di oggi (09:15) è passato: non è cambiato nulla.',
    )
    expect(await marks()).toEqual([])
  })

  it('refuses a day without service', async () => {
    const closed = addDays(today, 5)
    await withTenant(
      db.sql,
      t,
      (tx) => tx`insert into canteen_closures (school_year_id, starts_on, ends_on, description)
                                         values (${yearId}, ${closed}, ${closed}, 'Gita scolastica')`,
    )
    const page = await (await client.get(`${base()}/giorno/${closed}`)).text()
    expect(page).toContain('Nessun servizio: Gita scolastica.')
    const res = await client.post(`${base()}/giorno/${closed}`, { stato: 'assente' })
    expect(res.status).toBe(422)
    expect(await marks()).toEqual([])
  })

  it('marks a period: every service day in it, then cancels it', async () => {
    const from = addDays(today, 1)
    const to = addDays(today, 10)
    const date = (name: string, iso: string) => {
      const [y, m, d] = iso.split('-')
      return { [`${name}-day`]: String(Number(d)), [`${name}-month`]: String(Number(m)), [`${name}-year`]: y as string }
    }
    await client.get(`${base()}/periodo`)
    const res = await client.post(`${base()}/periodo`, { ...date('dal', from), ...date('al', to), stato: 'assente' })
    expect(res.status).toBe(303)
    // ten days, one of them the school trip without service
    expect(res.headers.get('location')).toContain('esito=periodo&stato=assente&n=9')
    expect((await marks()).length).toBe(9)
    const cancel = await client.post(`${base()}/periodo`, {
      ...date('dal', from),
      ...date('al', to),
      stato: 'presente',
    })
    expect(cancel.status).toBe(303)
    expect(await marks()).toEqual([])
    // errors: each linked to its first input, the answers kept
    const bad = await client.post(`${base()}/periodo`, { 'dal-day': '31', 'dal-month': '2', 'dal-year': '2027' })
    expect(bad.status).toBe(422)
    const html = await bad.text()
    expect(html).toContain('href="#dal-day"')
    expect(html).toContain('href="#al-day"')
    expect(html).toContain('href="#stato"')
    expect(html).toContain('value="31"')
    const reversed = await client.post(`${base()}/periodo`, {
      ...date('dal', to),
      ...date('al', from),
      stato: 'assente',
    })
    expect(await reversed.text()).toContain('L&#39;ultimo giorno non può essere prima del primo')
    const past = await client.post(`${base()}/periodo`, {
      ...date('dal', addDays(today, -3)),
      ...date('al', to),
      stato: 'assente',
    })
    expect(past.status).toBe(422)
    expect(await past.text()).toContain('Il primo giorno non può essere un giorno passato')
    expect(await marks()).toEqual([])
  })

  it("another family's pupil, an unknown pupil or month is not found", async () => {
    for (const path of [
      `/t/${t.slug}/mensa/presenze/${otherPupil}/${month}`,
      `/t/${t.slug}/mensa/presenze/${otherPupil}/giorno/${addDays(today, 2)}`,
      `/t/${t.slug}/mensa/presenze/${otherPupil}/periodo`,
      `/t/${t.slug}/mensa/presenze/999999999/${month}`,
      `/t/${t.slug}/mensa/presenze/${pupilId}/2026-13`,
      `/t/${t.slug}/mensa/presenze/${pupilId}/giorno/2026-02-30`,
    ]) {
      expect((await client.get(path)).status, path).toBe(404)
    }
    await client.get(`/t/${t.slug}/mensa`)
    const res = await client.post(`/t/${t.slug}/mensa/presenze/${otherPupil}/giorno/${addDays(today, 2)}`, {
      stato: 'assente',
    })
    expect(res.status).toBe(404)
    expect(await marks(otherPupil)).toEqual([])
    // signed out: to the login page, and back afterwards
    const anon = await new Client(app).get(`/t/${t.slug}/mensa`)
    expect(anon.status).toBe(303)
    expect(anon.headers.get('location')).toBe(`/accesso?torna=${encodeURIComponent(`/t/${t.slug}/mensa`)}`)
  })
})

// The clocks change on Sunday 29 March 2026 (02:00 → 03:00) and Sunday 25 October 2026 (03:00 → 02:00): a
// calendar serving every day of the week makes both service days.
describe('the cut-off on the days the clocks change', () => {
  let u: Tenant
  let kid: number

  beforeAll(async () => {
    u = await canteenTenant(db, { cutoff: '09:15' })
    tenants.push(u)
    await setupCanteen(db, u, {
      label: '2025/2026',
      startsOn: '2025-09-15',
      endsOn: '2026-06-10',
      weekdays: [1, 2, 3, 4, 5, 6, 7],
      holidays: false,
    })
    await withTenant(
      db.sql,
      u,
      (tx) => tx`insert into canteen_school_years (label, starts_on, ends_on, weekdays)
                                          values ('2026/2027', '2026-09-14', '2027-06-10', '{1,2,3,4,5,6,7}')`,
    )
    ;({ pupilId: kid } = await addPupil(db, u))
    await enroll(db, u, kid, { classId: null, tariffId: null, start: '2025-09-15' })
    await enroll(db, u, kid, { classId: null, tariffId: null, start: '2026-09-14' })
  })

  const mark = (day: string, at: Date) =>
    withTenant(db.sql, u, (tx) => familyMark(tx, u, family, kid, day, day, 'assente', at))

  for (const [day, label] of [
    ['2026-03-29', 'summer time starts'],
    ['2026-10-25', 'summer time ends'],
  ] as const) {
    it(`${day} (${label}): 09:14 Rome is in time, 09:15 is late`, async () => {
      expect(await mark(day, rome(`${day}T09:15`))).toMatchObject({ changed: [], closed: [day] })
      expect(await mark(day, rome(`${day}T09:14`))).toMatchObject({ changed: [day], closed: [] })
      // the UTC hour of 09:14 Rome differs by one across the change; the rule follows Rome's clock
      expect(rome(`${day}T09:14`).toISOString()).toBe(
        day === '2026-03-29' ? `${day}T07:14:00.000Z` : `${day}T08:14:00.000Z`,
      )
    })
  }

  it('the day before each change follows the other offset', async () => {
    expect(await mark('2026-03-28', new Date('2026-03-28T08:14:00Z'))).toMatchObject({ changed: ['2026-03-28'] }) // 09:14 CET
    expect(await mark('2026-10-24', new Date('2026-10-24T07:15:00Z'))).toMatchObject({ closed: ['2026-10-24'] }) // 09:15 CEST
    // just after midnight in Rome it is already the next day
    expect(await mark('2026-03-29', new Date('2026-03-28T23:30:00Z'))).toMatchObject({ changed: ['2026-03-29'] })
  })
})
