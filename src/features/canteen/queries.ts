// SQL of the canteen: the catalog (schools, classes, school years, closures, tariffs), enrollments, the calendar
// of a pupil, the day's charges and the wallet figures. Each function takes the tenant transaction first.
import type { Tx } from '../../platform/db.ts'
import { type CalendarFacts, daysBetween, type LedgerFigures, type LedgerKind, serviceOn } from './rules.ts'

export type SchoolKind = 'infanzia' | 'primaria' | 'secondaria'
export const SCHOOL_KINDS: SchoolKind[] = ['infanzia', 'primaria', 'secondaria']
export type AttendanceStatus = 'assente' | 'bianco'
export type EnrollmentStatus = 'attiva' | 'sospesa' | 'cessata'
export const ENROLLMENT_STATUSES: EnrollmentStatus[] = ['attiva', 'sospesa', 'cessata']

/**
 * Turns off PostgreSQL's JIT compilation for the rest of the transaction. The canteen's list queries run a few
 * correlated subqueries per pupil; past a few hundred pupils their estimated cost crosses jit_above_cost and
 * compiling takes longer (about a second) than running them (milliseconds).
 */
export async function withoutJit(tx: Tx): Promise<void> {
  await tx`select set_config('jit', 'off', true)`
}

// ---- catalog

export interface SchoolRow {
  id: number
  kind: SchoolKind
  name: string
  address: string | null
  active: boolean
}

export function listSchools(tx: Tx): Promise<SchoolRow[]> {
  return tx<SchoolRow[]>`
    select id, kind, name, address, active from canteen_schools order by active desc, kind, name, id`
}

export interface ClassRow {
  id: number
  schoolId: number
  schoolKind: SchoolKind
  schoolName: string
  name: string
  note: string | null
  weekdays: number[]
  active: boolean
}

export function listClasses(tx: Tx, opts: { schoolId?: number; activeOnly?: boolean } = {}): Promise<ClassRow[]> {
  return tx<ClassRow[]>`
    select c.id, c.school_id as "schoolId", s.kind as "schoolKind", s.name as "schoolName", c.name, c.note,
      c.weekdays::int[] as weekdays, c.active
    from canteen_classes c join canteen_schools s on s.id = c.school_id
    where true ${opts.schoolId ? tx`and c.school_id = ${opts.schoolId}` : tx``}
      ${opts.activeOnly ? tx`and c.active and s.active` : tx``}
    order by s.kind, s.name, c.name, c.id`
}

export interface SchoolYearRow {
  id: number
  label: string
  startsOn: string
  endsOn: string
  weekdays: number[]
}

export function listSchoolYears(tx: Tx): Promise<SchoolYearRow[]> {
  return tx<SchoolYearRow[]>`
    select id, label, starts_on as "startsOn", ends_on as "endsOn", weekdays::int[] as weekdays
    from canteen_school_years order by starts_on desc`
}

export interface ClosureRow {
  id: number
  schoolYearId: number
  startsOn: string
  endsOn: string
  description: string
  schoolId: number | null
  schoolKind: SchoolKind | null
  schoolName: string | null
}

export function listClosures(tx: Tx, schoolYearId: number): Promise<ClosureRow[]> {
  return tx<ClosureRow[]>`
    select z.id, z.school_year_id as "schoolYearId", z.starts_on as "startsOn", z.ends_on as "endsOn", z.description,
      z.school_id as "schoolId", s.kind as "schoolKind", s.name as "schoolName"
    from canteen_closures z left join canteen_schools s on s.id = z.school_id
    where z.school_year_id = ${schoolYearId} order by z.starts_on, z.id`
}

export interface TariffRow {
  id: number
  name: string
  description: string | null
  baseTariffId: number | null
  baseTariffName: string | null
  iseeMinCents: number | null
  iseeMaxCents: number | null
  lightMealCharged: boolean
  isDefault: boolean
  active: boolean
  /** the price valid on the day asked, null when none is valid yet */
  priceCents: number | null
  prices: { validFrom: string; priceCents: number }[]
}

export function listTariffs(tx: Tx, day: string): Promise<TariffRow[]> {
  return tx<TariffRow[]>`
    select t.id, t.name, t.description, t.base_tariff_id as "baseTariffId", b.name as "baseTariffName",
      t.isee_min_cents as "iseeMinCents", t.isee_max_cents as "iseeMaxCents", t.light_meal_charged as "lightMealCharged",
      t.is_default as "isDefault", t.active,
      (select p.price_cents from canteen_tariff_prices p where p.tariff_id = t.id and p.valid_from <= ${day}::date
        order by p.valid_from desc limit 1) as "priceCents",
      coalesce((select json_agg(json_build_object('validFrom', p.valid_from, 'priceCents', p.price_cents) order by p.valid_from)
        from canteen_tariff_prices p where p.tariff_id = t.id), '[]') as prices
    from canteen_tariffs t left join canteen_tariffs b on b.id = t.base_tariff_id
    order by t.active desc, t.is_default desc, t.name, t.id`
}

// ---- enrollments and pupils

export interface EnrollmentRow {
  id: number
  pupilId: number
  givenName: string
  familyName: string
  codiceFiscale: string | null
  schoolYear: string
  classId: number | null
  className: string | null
  classNote: string | null
  schoolId: number | null
  schoolKind: SchoolKind | null
  schoolName: string | null
  startDate: string
  endDate: string | null
  status: EnrollmentStatus
  iseeCents: number | null
  tariffId: number | null
  tariffName: string | null
  /** price of the tariff on the day asked */
  priceCents: number | null
  lightMealCharged: boolean | null
  /** tariffs of the enrollment over time */
  tariffs: { validFrom: string; tariffId: number; name: string }[]
}

/** Enrollments of a school year, with class, school and the tariff valid on `day`. */
export async function listEnrollments(
  tx: Tx,
  schoolYear: string,
  day: string,
  f: { pupilIds?: number[]; schoolId?: number; classId?: number; tariffId?: number } = {},
): Promise<EnrollmentRow[]> {
  await withoutJit(tx)
  return tx<EnrollmentRow[]>`
    select e.id, e.pupil_id as "pupilId", pu.given_name as "givenName", pu.family_name as "familyName",
      pu.codice_fiscale as "codiceFiscale", e.school_year as "schoolYear", e.class_id as "classId",
      c.name as "className", c.note as "classNote", s.id as "schoolId", s.kind as "schoolKind", s.name as "schoolName",
      e.start_date as "startDate", e.end_date as "endDate", e.status, e.isee_cents as "iseeCents",
      t.id as "tariffId", t.name as "tariffName", t.light_meal_charged as "lightMealCharged",
      (select p.price_cents from canteen_tariff_prices p where p.tariff_id = t.id and p.valid_from <= ${day}::date
        order by p.valid_from desc limit 1) as "priceCents",
      coalesce((select json_agg(json_build_object('validFrom', x.valid_from, 'tariffId', x.tariff_id, 'name', xt.name)
          order by x.valid_from)
        from canteen_enrollment_tariffs x join canteen_tariffs xt on xt.id = x.tariff_id where x.enrollment_id = e.id), '[]') as tariffs
    from canteen_enrollments e
      join pupils pu on pu.id = e.pupil_id
      left join canteen_classes c on c.id = e.class_id
      left join canteen_schools s on s.id = c.school_id
      left join lateral (
        select x.tariff_id from canteen_enrollment_tariffs x where x.enrollment_id = e.id
        order by (x.valid_from <= ${day}::date) desc, case when x.valid_from <= ${day}::date then x.valid_from end desc,
          x.valid_from
        limit 1) et on true
      left join canteen_tariffs t on t.id = et.tariff_id
    where e.school_year = ${schoolYear}
      ${f.pupilIds ? tx`and e.pupil_id = any(${f.pupilIds})` : tx``}
      ${f.schoolId ? tx`and s.id = ${f.schoolId}` : tx``}
      ${f.classId ? tx`and c.id = ${f.classId}` : tx``}
      ${f.tariffId ? tx`and t.id = ${f.tariffId}` : tx``}
    order by lower(pu.family_name), lower(pu.given_name), pu.id`
}

export interface CitizenPupil {
  id: number
  givenName: string
  familyName: string
  codiceFiscale: string | null
  years: string[]
}

/** The pupils linked to a codice fiscale (as parent, guardian or delegate) that have a canteen enrollment. */
export function citizenPupils(tx: Tx, cf: string): Promise<CitizenPupil[]> {
  return tx<CitizenPupil[]>`
    select pu.id, pu.given_name as "givenName", pu.family_name as "familyName", pu.codice_fiscale as "codiceFiscale",
      array(select e.school_year from canteen_enrollments e where e.pupil_id = pu.id order by e.school_year desc) as years
    from pupils pu
    where pu.id in (select pp.pupil_id from pupil_payers pp join payers p on p.id = pp.payer_id where p.codice_fiscale = ${cf})
      and exists (select 1 from canteen_enrollments e where e.pupil_id = pu.id)
    order by pu.given_name, pu.family_name, pu.id`
}

/** The payer a pupil's charges and alerts go to: the holder of its notices, else any linked payer. */
export async function holderOf(tx: Tx, pupilId: number): Promise<number | null> {
  const [r] = await tx<{ payer_id: number }[]>`
    select payer_id from pupil_payers where pupil_id = ${pupilId} order by holder desc, payer_id limit 1`
  return r?.payer_id ?? null
}

// ---- the calendar of a pupil

export interface CalendarDay {
  day: string
  service: boolean
  closure: string | null
  attendance: AttendanceStatus | null
  source: 'famiglia' | 'ufficio' | null
  /** meals recorded in the ledger that day (after corrections) */
  meals: number
  charged: boolean
}

/**
 * Every day from `from` to `to` for one pupil: whether the canteen serves the pupil that day (serviceOn in
 * rules.ts), what was recorded, and what the ledger charged. One statement gathers the few facts; the days are
 * worked out here (a per-day query would be planned for a thousand days and pay for it).
 */
export async function pupilDays(tx: Tx, pupilId: number, from: string, to: string): Promise<CalendarDay[]> {
  const [facts] = await tx<
    (CalendarFacts & {
      attendance: { day: string; status: AttendanceStatus; source: 'famiglia' | 'ufficio' }[]
      meals: { day: string; meals: number }[]
      charged: string[]
    })[]
  >`
    select
      coalesce((select json_agg(json_build_object('schoolYear', e.school_year, 'status', e.status, 'startDate', e.start_date,
          'endDate', e.end_date, 'classWeekdays', c.weekdays, 'schoolId', c.school_id))
        from canteen_enrollments e left join canteen_classes c on c.id = e.class_id where e.pupil_id = ${pupilId}), '[]') as enrollments,
      coalesce((select json_agg(json_build_object('label', y.label, 'startsOn', y.starts_on, 'endsOn', y.ends_on,
          'weekdays', y.weekdays))
        from canteen_school_years y where y.starts_on <= ${to}::date and y.ends_on >= ${from}::date), '[]') as years,
      coalesce((select json_agg(json_build_object('startsOn', z.starts_on, 'endsOn', z.ends_on, 'schoolId', z.school_id,
          'description', z.description) order by z.starts_on, z.id)
        from canteen_closures z where z.starts_on <= ${to}::date and z.ends_on >= ${from}::date), '[]') as closures,
      coalesce((select json_agg(json_build_object('day', a.day, 'status', a.status, 'source', a.source))
        from canteen_attendance a where a.pupil_id = ${pupilId} and a.day between ${from}::date and ${to}::date), '[]') as attendance,
      coalesce((select json_agg(json_build_object('day', m.entry_date, 'meals', m.meals)) from (
          select l.entry_date, sum(l.meals)::int as meals from canteen_ledger l
          where l.pupil_id = ${pupilId} and l.entry_date between ${from}::date and ${to}::date
            and l.kind in ('pasto', 'rettifica_pasto')
          group by l.entry_date) m), '[]') as meals,
      coalesce((select json_agg(cd.day) from canteen_charge_days cd where cd.day between ${from}::date and ${to}::date), '[]') as charged`
  const f = facts as NonNullable<typeof facts>
  const attendance = new Map(f.attendance.map((a) => [a.day, a]))
  const meals = new Map(f.meals.map((m) => [m.day, m.meals]))
  const charged = new Set(f.charged)
  return daysBetween(from, to).map((day) => {
    const a = attendance.get(day)
    return {
      day,
      ...serviceOn(day, f),
      attendance: a?.status ?? null,
      source: a?.source ?? null,
      meals: meals.get(day) ?? 0,
      charged: charged.has(day),
    }
  })
}

// ---- charging

export interface ChargeRow {
  pupilId: number
  payerId: number | null
  tariffId: number | null
  priceCents: number | null
  basePriceCents: number | null
  lightMealCharged: boolean | null
  attendance: AttendanceStatus | null
  schoolId: number | null
}

/**
 * The pupils the canteen serves on a day (all of them, or some), each with the tariff and price valid that
 * day and what was recorded for them. Absent pupils are included (the caller decides what they cost).
 */
export async function dayServed(tx: Tx, day: string, pupilIds?: number[]): Promise<ChargeRow[]> {
  await withoutJit(tx)
  return tx<ChargeRow[]>`
    select e.pupil_id as "pupilId",
      (select pp.payer_id from pupil_payers pp where pp.pupil_id = e.pupil_id order by pp.holder desc, pp.payer_id limit 1) as "payerId",
      t.id as "tariffId", t.light_meal_charged as "lightMealCharged",
      (select p.price_cents from canteen_tariff_prices p where p.tariff_id = t.id and p.valid_from <= ${day}::date
        order by p.valid_from desc limit 1) as "priceCents",
      (select p.price_cents from canteen_tariff_prices p where p.tariff_id = t.base_tariff_id and p.valid_from <= ${day}::date
        order by p.valid_from desc limit 1) as "basePriceCents",
      a.status as attendance, c.school_id as "schoolId"
    from canteen_enrollments e
      join canteen_school_years y on y.label = e.school_year and ${day}::date between y.starts_on and y.ends_on
        and extract(isodow from ${day}::date)::smallint = any(y.weekdays)
      left join canteen_classes c on c.id = e.class_id
      left join lateral (
        select x.tariff_id from canteen_enrollment_tariffs x where x.enrollment_id = e.id and x.valid_from <= ${day}::date
        order by x.valid_from desc limit 1) et on true
      left join canteen_tariffs t on t.id = et.tariff_id
      left join canteen_attendance a on a.pupil_id = e.pupil_id and a.day = ${day}::date
    where e.status = 'attiva' and e.start_date <= ${day}::date and (e.end_date is null or e.end_date >= ${day}::date)
      and (c.id is null or extract(isodow from ${day}::date)::smallint = any(c.weekdays))
      and not exists (select 1 from canteen_closures z where ${day}::date between z.starts_on and z.ends_on
                        and (z.school_id is null or z.school_id = c.school_id))
      ${pupilIds ? tx`and e.pupil_id = any(${pupilIds})` : tx``}
    order by e.pupil_id`
}

/** Serialises the charging of a day and the office's corrections of it, within one tenant. */
export async function lockDay(tx: Tx, day: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtext('sportello.canteen.' || current_schema() || '.' || ${day}))`
}

// ---- the wallet

/** A pupil's ledger figures (rules.ts), with what is open and pending. */
export interface WalletRow extends LedgerFigures {
  pupilId: number
  openNoticesCents: number
  pendingTopupCents: number
}

/** The wallet figures of some pupils for a period (see ledgerFigures in rules.ts for the same in code). */
export async function walletRows(tx: Tx, pupilIds: number[], from: string, to: string): Promise<WalletRow[]> {
  await withoutJit(tx)
  return tx<WalletRow[]>`
    select pu.id as "pupilId",
      coalesce(sum(l.amount_cents) filter (where l.entry_date < ${from}::date), 0)::bigint as "previousCents",
      coalesce(-sum(l.amount_cents) filter (where l.kind in ('pasto', 'rettifica_pasto')
        and l.entry_date between ${from}::date and ${to}::date), 0)::bigint as "consumedCents",
      coalesce(sum(l.gross_cents) filter (where l.kind in ('pasto', 'rettifica_pasto')
        and l.entry_date between ${from}::date and ${to}::date), 0)::bigint as "grossCents",
      coalesce(sum(l.meals) filter (where l.kind in ('pasto', 'rettifica_pasto')
        and l.entry_date between ${from}::date and ${to}::date), 0)::int as meals,
      coalesce(sum(l.amount_cents) filter (where l.kind = 'avviso'
        and l.entry_date between ${from}::date and ${to}::date), 0)::bigint as "paidNoticeCents",
      coalesce(sum(l.amount_cents) filter (where l.kind = 'ricarica'
        and l.entry_date between ${from}::date and ${to}::date), 0)::bigint as "paidSiteCents",
      coalesce(sum(l.amount_cents) filter (where l.kind in ('rettifica', 'saldo_iniziale', 'rimborso', 'trasferimento')
        and l.entry_date between ${from}::date and ${to}::date), 0)::bigint as "adjustmentsCents",
      coalesce(sum(l.amount_cents) filter (where l.entry_date <= ${to}::date), 0)::bigint as "balanceToCents",
      coalesce(sum(l.amount_cents), 0)::bigint as "balanceCents",
      (select coalesce(sum(i.amount_cents), 0) from installments i join documents d on d.id = i.document_id
         join services s on s.id = d.service_id
       where d.pupil_id = pu.id and s.kind = 'mensa' and d.cancelled_at is null and i.status = 'da_pagare'
         and not exists (select 1 from canteen_topups t where t.installment_id = i.id))::bigint as "openNoticesCents",
      (select coalesce(sum(i.amount_cents), 0) from canteen_topups t join installments i on i.id = t.installment_id
       where t.pupil_id = pu.id and i.status = 'in_corso')::bigint as "pendingTopupCents"
    from pupils pu left join canteen_ledger l on l.pupil_id = pu.id
    where pu.id = any(${pupilIds})
    group by pu.id`
}

export interface LedgerEntry {
  id: number
  kind: LedgerKind
  entryDate: string
  amountCents: number
  meals: number
  grossCents: number | null
  unitPriceCents: number | null
  tariffName: string | null
  note: string | null
  actorName: string
  createdAt: Date
}

export function ledgerEntries(tx: Tx, pupilId: number, from: string, to: string, limit = 500): Promise<LedgerEntry[]> {
  return tx<LedgerEntry[]>`
    select l.id, l.kind, l.entry_date as "entryDate", l.amount_cents as "amountCents", l.meals, l.gross_cents as "grossCents",
      l.unit_price_cents as "unitPriceCents", t.name as "tariffName", l.note, l.actor_name as "actorName",
      l.created_at as "createdAt"
    from canteen_ledger l left join canteen_tariffs t on t.id = l.tariff_id
    where l.pupil_id = ${pupilId} and l.entry_date between ${from}::date and ${to}::date
    order by l.entry_date desc, l.id desc limit ${limit}`
}

/** The office's movements of some pupils' wallets in a period (adjustments, opening balances, credit refunded or
 *  moved), newest first: what makes up the family's "adjustments" figure, line by line. */
export function officeMovements(tx: Tx, pupilIds: number[], from: string, to: string) {
  return tx<{ pupilId: number; kind: LedgerKind; entryDate: string; amountCents: number; note: string | null }[]>`
    select pupil_id as "pupilId", kind, entry_date as "entryDate", amount_cents as "amountCents", note
    from canteen_ledger
    where pupil_id = any(${pupilIds}) and kind in ('rettifica', 'saldo_iniziale', 'rimborso', 'trasferimento')
      and entry_date between ${from}::date and ${to}::date
    order by entry_date desc, id desc limit 200`
}

// ---- the kitchen

export interface KitchenRow {
  schoolId: number | null
  schoolKind: SchoolKind | null
  schoolName: string | null
  classId: number | null
  className: string | null
  classNote: string | null
  served: number
  absent: number
  light: number
}

/** Per class on a day: pupils served, absences and light meals (from the calendar and the attendance). */
export async function kitchenCounts(tx: Tx, day: string): Promise<KitchenRow[]> {
  await withoutJit(tx)
  return tx<KitchenRow[]>`
    select s.id as "schoolId", s.kind as "schoolKind", s.name as "schoolName", c.id as "classId", c.name as "className",
      c.note as "classNote",
      count(*) filter (where a.status is distinct from 'assente')::int as served,
      count(*) filter (where a.status = 'assente')::int as absent,
      count(*) filter (where a.status = 'bianco')::int as light
    from canteen_enrollments e
      join canteen_school_years y on y.label = e.school_year and ${day}::date between y.starts_on and y.ends_on
        and extract(isodow from ${day}::date)::smallint = any(y.weekdays)
      left join canteen_classes c on c.id = e.class_id
      left join canteen_schools s on s.id = c.school_id
      left join canteen_attendance a on a.pupil_id = e.pupil_id and a.day = ${day}::date
    where e.status = 'attiva' and e.start_date <= ${day}::date and (e.end_date is null or e.end_date >= ${day}::date)
      and (c.id is null or extract(isodow from ${day}::date)::smallint = any(c.weekdays))
      and not exists (select 1 from canteen_closures z where ${day}::date between z.starts_on and z.ends_on
                        and (z.school_id is null or z.school_id = c.school_id))
    group by s.id, s.kind, s.name, c.id, c.name, c.note
    order by s.kind nulls last, s.name nulls last, c.name nulls last`
}
