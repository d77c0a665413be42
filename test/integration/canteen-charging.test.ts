// The daily meal charge: one meal per served pupil and day at the tariff valid that day, once (reruns, late
// runs and concurrent runs charge nothing twice), nothing on days without service or before the cut-off,
// light meals by the tariff's rule, the office's corrections of a charged day, suspended tenants skipped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chargeMealsJob } from '../../src/features/canteen/jobs.ts'
import { familyMark, officeRecord, setEnrollmentTariff } from '../../src/features/canteen/service.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import {
  addPupil,
  type CanteenSetup,
  canteenTenant,
  enroll,
  jobContext,
  ledger,
  rome,
  setupCanteen,
} from '../helpers/canteen.ts'
import { dropTestTenant } from '../helpers/db.ts'
import { world } from '../helpers/world.ts'

const w = world({ canteen: true })
let db: Db
let t: Tenant
let s: CanteenSetup
const tenants: Tenant[] = []
const office = { accountId: null, name: 'Ufficio prova' }
const family = { accountId: null, name: 'Maria Bruni' }
const p: Record<string, number> = {}

async function charge(tenant: Tenant, date: string, at = `${date}T10:00`) {
  return chargeMealsJob(jobContext(db, rome(at), [tenant]), { date })
}

beforeAll(async () => {
  ;({ db, tenant: t } = w)
  s = await setupCanteen(db, t)
  // A resident in a full-time class, B non-resident without a class, C an ISEE band (free light meals),
  // D in a Wednesday-only class, E absent, F enrolled from 20 October
  for (const k of ['A', 'B', 'C', 'D', 'E', 'F']) p[k] = (await addPupil(db, t, { given: k })).pupilId
  await enroll(db, t, p.A as number, { classId: s.classId, tariffId: s.residente })
  await enroll(db, t, p.B as number, { classId: null, tariffId: s.nonResidente })
  await enroll(db, t, p.C as number, { classId: s.classId, tariffId: s.band })
  await enroll(db, t, p.D as number, { classId: s.wednesdayClassId, tariffId: null })
  await enroll(db, t, p.E as number, { classId: s.classId, tariffId: s.residente })
  await enroll(db, t, p.F as number, { classId: s.classId, tariffId: s.residente, start: '2026-10-20' })
  await withTenant(db.sql, t, (tx) =>
    familyMark(tx, t, family, p.E as number, '2026-10-05', '2026-10-05', 'assente', rome('2026-10-01T12:00')),
  )
})

afterAll(async () => {
  for (const x of tenants) await dropTestTenant(db, x)
})

describe('charging a day', () => {
  it('charges one meal to each served pupil who is not absent, at their tariff, once', async () => {
    const first = await charge(t, '2026-10-05')
    expect(first).toMatchObject({ tenants: 1, days: 1, meals: 3, absent: 1, cents: 580 + 700 + 290 })
    expect(await ledger(db, t, p.A as number)).toEqual([
      { kind: 'pasto', entry_date: '2026-10-05', amount_cents: -580, meals: 1, gross_cents: 580 },
    ])
    expect((await ledger(db, t, p.B as number))[0]?.amount_cents).toBe(-700)
    // the default tariff (RESIDENTE) applies to D, who eats on Wednesdays only: nothing on a Monday
    expect(await ledger(db, t, p.D as number)).toEqual([])
    expect(await ledger(db, t, p.E as number)).toEqual([])
    expect(await ledger(db, t, p.F as number)).toEqual([])
    // twice, and late in the evening: nothing more
    expect(await charge(t, '2026-10-05')).toMatchObject({ days: 0, meals: 0 })
    expect(await charge(t, '2026-10-05', '2026-10-05T22:30')).toMatchObject({ days: 0, meals: 0 })
    expect((await ledger(db, t, p.A as number)).length).toBe(1)
  })

  it('runs side by side charge once', async () => {
    const runs = await Promise.all([charge(t, '2026-10-07'), charge(t, '2026-10-07'), charge(t, '2026-10-07')])
    expect(runs.reduce((n, r) => n + (r.meals ?? 0), 0)).toBe(5)
    expect(runs.reduce((n, r) => n + (r.days ?? 0), 0)).toBe(1)
    // D's Wednesday
    expect((await ledger(db, t, p.D as number)).map((l) => l.entry_date)).toEqual(['2026-10-07'])
  })

  it('charges a light meal as a meal, unless the tariff says otherwise', async () => {
    await withTenant(db.sql, t, async (tx) => {
      for (const k of ['A', 'C'])
        await familyMark(tx, t, family, p[k] as number, '2026-10-06', '2026-10-06', 'bianco', rome('2026-10-06T08:00'))
    })
    expect(await charge(t, '2026-10-06')).toMatchObject({ meals: 4, lightMeals: 2 })
    expect((await ledger(db, t, p.A as number)).find((l) => l.entry_date === '2026-10-06')).toMatchObject({
      amount_cents: -580,
      meals: 1,
    })
    expect((await ledger(db, t, p.C as number)).find((l) => l.entry_date === '2026-10-06')).toMatchObject({
      amount_cents: 0,
      meals: 1,
      gross_cents: 0,
    })
  })

  it('charges nothing on days without service: weekends and holidays', async () => {
    expect(await charge(t, '2026-10-10')).toMatchObject({ days: 1, meals: 0 })
    expect(await charge(t, '2026-12-28')).toMatchObject({ days: 1, meals: 0 })
    // and nothing outside the school year
    expect(await charge(t, '2027-07-05')).toMatchObject({ days: 1, meals: 0 })
  })

  it('waits for the cut-off of today (Europe/Rome)', async () => {
    const early = await charge(t, '2026-10-08', '2026-10-08T09:14')
    expect(early).toMatchObject({ days: 0, meals: 0, notYet: 1 })
    const late = await charge(t, '2026-10-08', '2026-10-08T09:15')
    expect(late).toMatchObject({ days: 1, meals: 4 })
    // a day in the future is never charged
    expect(await charge(t, '2026-10-09', '2026-10-08T12:00')).toMatchObject({ days: 0, notYet: 1 })
  })

  it('uses the price valid on the day across a tariff change mid-year', async () => {
    await charge(t, '2026-12-22')
    await charge(t, '2027-01-11')
    const a = await ledger(db, t, p.A as number)
    expect(a.find((l) => l.entry_date === '2026-12-22')?.amount_cents).toBe(-580)
    expect(a.find((l) => l.entry_date === '2027-01-11')?.amount_cents).toBe(-610)
    // C's band is a reduction of RESIDENTE: its gross follows RESIDENTE's price, the reduction grows with it
    const c = await ledger(db, t, p.C as number)
    expect(c.find((l) => l.entry_date === '2027-01-11')).toMatchObject({ amount_cents: -290, gross_cents: 610 })
  })

  it("uses the pupil's tariff valid on the day when the office changes it mid-year", async () => {
    const [e] = await withTenant(
      db.sql,
      t,
      (tx) => tx<{ id: number }[]>`select id from canteen_enrollments where pupil_id = ${p.B as number}`,
    )
    await withTenant(db.sql, t, (tx) => setEnrollmentTariff(tx, (e as { id: number }).id, s.residente, '2027-01-12'))
    await charge(t, '2027-01-12')
    const b = await ledger(db, t, p.B as number)
    expect(b.find((l) => l.entry_date === '2027-01-11')?.amount_cents).toBe(-700)
    expect(b.find((l) => l.entry_date === '2027-01-12')?.amount_cents).toBe(-610)
  })

  it('the office corrects a charged day: the ledger gets the difference, the log the change', async () => {
    const a = p.A as number
    const e = p.E as number
    await withTenant(db.sql, t, (tx) => officeRecord(tx, office, a, '2026-10-05', 'assente', 'Uscito prima'))
    let day = (await ledger(db, t, a)).filter((l) => l.entry_date === '2026-10-05')
    expect(day.reduce((n, l) => n + l.amount_cents, 0)).toBe(0)
    expect(day.reduce((n, l) => n + l.meals, 0)).toBe(0)
    await withTenant(db.sql, t, (tx) => officeRecord(tx, office, a, '2026-10-05', null, 'Errore'))
    day = (await ledger(db, t, a)).filter((l) => l.entry_date === '2026-10-05')
    expect(day.map((l) => [l.kind, l.amount_cents, l.meals])).toEqual([
      ['pasto', -580, 1],
      ['rettifica_pasto', 580, -1],
      ['rettifica_pasto', -580, 1],
    ])
    // E was absent (not charged) but came: the office records the presence and the meal is charged
    const { correctionCents } = await withTenant(db.sql, t, (tx) =>
      officeRecord(tx, office, e, '2026-10-05', null, 'Presente'),
    )
    expect(correctionCents).toBe(-580)
    // the same correction twice changes nothing
    expect(
      (await withTenant(db.sql, t, (tx) => officeRecord(tx, office, e, '2026-10-05', null, null))).correctionCents,
    ).toBe(0)
    // a day not charged yet: only the record changes, the job will use it
    await withTenant(db.sql, t, (tx) => officeRecord(tx, office, a, '2026-10-13', 'assente', null))
    expect((await ledger(db, t, a)).some((l) => l.entry_date === '2026-10-13')).toBe(false)
    const log = await withTenant(
      db.sql,
      t,
      (tx) => tx<{ action: string; actor_name: string; reason: string | null }[]>`
        select action, actor_name, reason from audit_log where entity = 'pupil' and entity_id = ${String(a)} order by id`,
    )
    expect(log.map((l) => l.action)).toEqual(['canteen.attendance', 'canteen.attendance', 'canteen.attendance'])
    expect(log[0]).toMatchObject({ actor_name: 'Ufficio prova', reason: 'Uscito prima' })
  })

  it('the ledger refuses changes: it is append-only for the tenant', async () => {
    await expect(
      withTenant(db.sql, t, (tx) => tx`update canteen_ledger set amount_cents = 0 where pupil_id = ${p.A as number}`),
    ).rejects.toThrow(/permission denied/)
    await expect(
      withTenant(db.sql, t, (tx) => tx`delete from canteen_ledger where pupil_id = ${p.A as number}`),
    ).rejects.toThrow(/permission denied/)
  })
})

describe('scheduled runs', () => {
  it('catches up the days a stopped scheduler missed, and skips suspended tenants', async () => {
    const u = await canteenTenant(db)
    tenants.push(u)
    const su = await setupCanteen(db, u)
    const { pupilId } = await addPupil(db, u)
    await enroll(db, u, pupilId, { classId: su.classId, tariffId: su.residente })
    // the first run ever charges its own day only
    const first = await chargeMealsJob(jobContext(db, rome('2026-10-05T10:00'), [u]))
    expect(first).toMatchObject({ days: 1, meals: 1 })
    // down from Tuesday to Friday: Friday's run charges Tuesday to Friday
    const friday = await chargeMealsJob(jobContext(db, rome('2026-10-09T09:35'), [u]))
    expect(friday).toMatchObject({ days: 4, meals: 4 })
    // the same slot again on another instance: nothing
    expect(await chargeMealsJob(jobContext(db, rome('2026-10-09T09:35'), [u]))).toMatchObject({ days: 0, meals: 0 })
    await db.admin`update platform.tenants set status = 'suspended' where id = ${u.id}`
    const suspended = await chargeMealsJob(jobContext(db, rome('2026-10-12T10:00'), [u]))
    expect(suspended).toMatchObject({ tenants: 0 })
    expect((await ledger(db, u, pupilId)).length).toBe(5)
    await db.admin`update platform.tenants set status = 'active' where id = ${u.id}`
  })
})
