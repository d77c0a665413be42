// Canteen fixtures shared by the canteen test files: a tenant with schools, a school year, tariffs and pupils,
// and a job context with an injected clock.
import { enrollInCanteen } from '../../src/features/canteen/service.ts'
import type { JobContext } from '../../src/jobs/registry.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { randomCf } from './accounts.ts'
import { testDeps } from './app.ts'
import { createTestTenant } from './db.ts'

export async function canteenTenant(
  db: Db,
  settings: Partial<{ cutoff: string; lowBalanceMeals: number }> = {},
): Promise<Tenant> {
  return createTestTenant(db, {
    settings: {
      cutoff: settings.cutoff ?? '09:15',
      commission: { type: 'none' },
      reminderDays: [-7, 0, 7],
      lowBalanceMeals: settings.lowBalanceMeals ?? 3,
    },
  })
}

export interface CanteenSetup {
  yearId: number
  schoolId: number
  classId: number
  /** a class that eats at school on Wednesdays only ("1 rientro") */
  wednesdayClassId: number
  residente: number
  nonResidente: number
  /** an ISEE band, a reduction of RESIDENTE, whose light meals are not charged */
  band: number
}

/**
 * A school year (by default 2026/2027 from 14 September 2026 to 10 June 2027, Monday to Friday) with the
 * Christmas holidays, a school with two classes, and tariffs: RESIDENTE € 5,80 until 31 December 2026 and
 * € 6,10 from 1 January 2027 (the default), NON RESIDENTE € 7,00, an ISEE band € 2,90 whose light meals are free.
 */
export async function setupCanteen(
  db: Db,
  tenant: Tenant,
  opts: { label?: string; startsOn?: string; endsOn?: string; weekdays?: number[]; holidays?: boolean } = {},
): Promise<CanteenSetup> {
  return withTenant(db.sql, tenant, async (tx) => {
    const [year] = await tx<{ id: number }[]>`
      insert into canteen_school_years (label, starts_on, ends_on, weekdays)
      values (${opts.label ?? '2026/2027'}, ${opts.startsOn ?? '2026-09-14'}, ${opts.endsOn ?? '2027-06-10'},
              ${opts.weekdays ?? [1, 2, 3, 4, 5]}::smallint[])
      returning id`
    const yearId = (year as { id: number }).id
    if (opts.holidays !== false) {
      await tx`insert into canteen_closures (school_year_id, starts_on, ends_on, description)
               values (${yearId}, '2026-12-23', '2027-01-06', 'Vacanze di Natale')`
    }
    const [school] = await tx<{ id: number }[]>`
      insert into canteen_schools (kind, name) values ('primaria', 'DANTE ALIGHIERI') returning id`
    const schoolId = (school as { id: number }).id
    const [klass] = await tx<{ id: number }[]>`
      insert into canteen_classes (school_id, name, note, weekdays)
      values (${schoolId}, '3 B', 'tempo pieno', ${opts.weekdays ?? [1, 2, 3, 4, 5]}::smallint[]) returning id`
    const [wed] = await tx<{ id: number }[]>`
      insert into canteen_classes (school_id, name, note, weekdays) values (${schoolId}, '5 A', '1 rientro', '{3}') returning id`
    const [r] = await tx<{ id: number }[]>`
      insert into canteen_tariffs (name, is_default) values ('RESIDENTE', true) returning id`
    const [n] = await tx<{ id: number }[]>`insert into canteen_tariffs (name) values ('NON RESIDENTE') returning id`
    const residente = (r as { id: number }).id
    const [b] = await tx<{ id: number }[]>`
      insert into canteen_tariffs (name, base_tariff_id, light_meal_charged, isee_max_cents)
      values ('ISEE FASCIA 1', ${residente}, false, 600000) returning id`
    const nonResidente = (n as { id: number }).id
    const band = (b as { id: number }).id
    await tx`insert into canteen_tariff_prices ${tx([
      { tariff_id: residente, valid_from: '2025-08-01', price_cents: 580 },
      { tariff_id: residente, valid_from: '2027-01-01', price_cents: 610 },
      { tariff_id: nonResidente, valid_from: '2025-08-01', price_cents: 700 },
      { tariff_id: band, valid_from: '2025-08-01', price_cents: 290 },
    ])}`
    return {
      yearId,
      schoolId,
      classId: (klass as { id: number }).id,
      wednesdayClassId: (wed as { id: number }).id,
      residente,
      nonResidente,
      band,
    }
  })
}

/** A pupil with a holder payer (the codice fiscale of a test account, or a random one). */
export async function addPupil(
  db: Db,
  tenant: Tenant,
  opts: { payerCf?: string; payerEmail?: string | null; given?: string; family?: string } = {},
): Promise<{ pupilId: number; payerId: number; payerCf: string }> {
  const payerCf = opts.payerCf ?? randomCf()
  return withTenant(db.sql, tenant, async (tx) => {
    await tx`insert into payers (codice_fiscale, given_name, family_name, email)
             values (${payerCf}, 'Maria', ${opts.family ?? 'Bruni'}, ${opts.payerEmail ?? null})
             on conflict (codice_fiscale) do nothing`
    const [payer] = await tx<{ id: number }[]>`select id from payers where codice_fiscale = ${payerCf}`
    const [pupil] = await tx<{ id: number }[]>`
      insert into pupils (codice_fiscale, given_name, family_name)
      values (${randomCf()}, ${opts.given ?? 'Emma'}, ${opts.family ?? 'Bruni'}) returning id`
    const pupilId = (pupil as { id: number }).id
    const payerId = (payer as { id: number }).id
    await tx`insert into pupil_payers (pupil_id, payer_id, holder) values (${pupilId}, ${payerId}, true)`
    return { pupilId, payerId, payerCf }
  })
}

export async function enroll(
  db: Db,
  tenant: Tenant,
  pupilId: number,
  opts: { classId: number | null; tariffId: number | null; start?: string },
): Promise<number> {
  return withTenant(db.sql, tenant, (tx) =>
    enrollInCanteen(tx, {
      pupilId,
      classId: opts.classId,
      tariffId: opts.tariffId,
      startDate: opts.start ?? '2026-09-14',
    }),
  )
}

/** A job context over the test deps, with its own clock and only the given tenants. */
export function jobContext(db: Db, now: Date, tenants: Tenant[], env: Record<string, string> = {}): JobContext {
  const deps = testDeps(db, env)
  return {
    db,
    config: deps.config,
    log: deps.log,
    provider: deps.provider,
    tenants: deps.tenants,
    now,
    kickMail: () => {},
    onlyTenants: tenants.map((t) => t.slug),
  }
}

/** An instant given as Rome wall-clock time ('2026-03-29T09:14'), whatever the DST offset that day. */
export function rome(local: string): Date {
  // try both offsets; keep the one whose Rome rendering is the wall-clock asked
  for (const offset of ['+01:00', '+02:00']) {
    const d = new Date(`${local}:00${offset}`)
    const back = new Intl.DateTimeFormat('sv-SE', {
      timeZone: 'Europe/Rome',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .format(d)
      .replace(' ', 'T')
    if (back === local) return d
  }
  throw new Error(`no such Rome time ${local}`)
}

export async function ledger(db: Db, tenant: Tenant, pupilId: number) {
  return withTenant(
    db.sql,
    tenant,
    (tx) => tx<{ kind: string; entry_date: string; amount_cents: number; meals: number; gross_cents: number | null }[]>`
      select kind, entry_date, amount_cents, meals, gross_cents from canteen_ledger where pupil_id = ${pupilId}
      order by entry_date, id`,
  )
}

/**
 * The calendar of the school year of today (every day of the week, no holidays), for tests over HTTP that run
 * on the real clock: any day from today on is a service day.
 */
export async function setupCurrentYear(db: Db, tenant: Tenant): Promise<CanteenSetup & { start: string }> {
  const { schoolYearBounds, schoolYearOf } = await import('../../src/features/canteen/rules.ts')
  const { todayRome } = await import('../../src/platform/dates.ts')
  const label = schoolYearOf(todayRome())
  const b = schoolYearBounds(label)
  const setup = await setupCanteen(db, tenant, {
    label,
    startsOn: b.from,
    endsOn: b.to,
    weekdays: [1, 2, 3, 4, 5, 6, 7],
    holidays: false,
  })
  // one price all year (€ 5,80), so amounts do not depend on the day the tests run
  await withTenant(db.sql, tenant, (tx) => tx`delete from canteen_tariff_prices where valid_from = '2027-01-01'`)
  return { ...setup, start: b.from }
}
