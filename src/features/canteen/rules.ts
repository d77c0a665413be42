// Pure rules of the canteen: school years, the calendar grid of a month, who may change which day, and the
// wallet arithmetic. No database here: unit tests cover them directly.
import { addDays, beforeCutoff, isIsoDate, todayRome, ZONE } from '../../platform/dates.ts'

/**
 * The school year a day belongs to, for enrollments and the wallet: August to July, so a pre-load or an
 * enrollment of late August counts for the year about to start ('2026-08-25' → '2026/2027').
 */
export function schoolYearOf(day: string): string {
  const y = Number(day.slice(0, 4))
  const m = Number(day.slice(5, 7))
  return m >= 8 ? `${y}/${y + 1}` : `${y - 1}/${y}`
}

export function isSchoolYear(label: string): boolean {
  const m = /^(\d{4})\/(\d{4})$/.exec(label)
  return !!m && Number(m[2]) === Number(m[1]) + 1 && Number(m[1]) >= 2000 && Number(m[1]) < 2100
}

/** The accounting span of a school year: 1 August to 31 July. */
export function schoolYearBounds(label: string): { from: string; to: string } {
  const y = Number(label.slice(0, 4))
  return { from: `${y}-08-01`, to: `${y + 1}-07-31` }
}

/** The default period of a school year's pages: from its first day to today (or to its last day, if past). */
export function defaultPeriod(label: string, today: string): { from: string; to: string } {
  const b = schoolYearBounds(label)
  const to = today < b.from ? b.from : today > b.to ? b.to : today
  return { from: b.from, to }
}

/** '2026/2027' ⇄ '2026-2027' (slashes do not travel well in paths and query strings). */
export function yearToParam(label: string): string {
  return label.replace('/', '-')
}
export function yearFromParam(param: string | undefined): string | null {
  if (!param) return null
  const label = param.replace('-', '/')
  return isSchoolYear(label) ? label : null
}

/** ISO day of the week: 1 = Monday … 7 = Sunday. */
export function isoWeekday(day: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number]
  const w = new Date(Date.UTC(y, m - 1, d)).getUTCDay()
  return w === 0 ? 7 : w
}

export function isMonth(s: string): boolean {
  return /^\d{4}-(0[1-9]|1[0-2])$/.test(s) && Number(s.slice(0, 4)) >= 2000 && Number(s.slice(0, 4)) < 2100
}

export function monthOf(day: string): string {
  return day.slice(0, 7)
}

export function monthBounds(month: string): { from: string; to: string } {
  const [y, m] = month.split('-').map(Number) as [number, number]
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate()
  return { from: `${month}-01`, to: `${month}-${String(last).padStart(2, '0')}` }
}

export function shiftMonth(month: string, by: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number]
  const d = new Date(Date.UTC(y, m - 1 + by, 1))
  return d.toISOString().slice(0, 7)
}

/** The weeks of a month, Monday first; days of the neighbouring months are null. */
export function monthGrid(month: string): (string | null)[][] {
  const { from, to } = monthBounds(month)
  const weeks: (string | null)[][] = []
  let week: (string | null)[] = Array.from({ length: isoWeekday(from) - 1 }, () => null)
  for (let d = from; d <= to; d = addDays(d, 1)) {
    week.push(d)
    if (week.length === 7) {
      weeks.push(week)
      week = []
    }
  }
  if (week.length) weeks.push([...week, ...Array.from({ length: 7 - week.length }, () => null)])
  return weeks
}

/** Every day from `from` to `to`, both included (at most `max`). */
export function daysBetween(from: string, to: string, max = 400): string[] {
  const out: string[] = []
  for (let d = from; d <= to && out.length < max; d = addDays(d, 1)) out.push(d)
  return out
}

export type ChangeWindow = 'future' | 'today' | 'closed'

/**
 * Whether a family may still change a day: any later day; today only while the Rome clock is before the
 * tenant's cut-off ('09:15'); never a past day.
 */
export function familyWindow(day: string, cutoff: string, now: Date): ChangeWindow {
  const today = todayRome(now)
  if (day > today) return 'future'
  if (day === today && beforeCutoff(cutoff, now)) return 'today'
  return 'closed'
}

/** The charging job may charge a day once its cut-off has passed (earlier days at any time). */
export function chargeable(day: string, cutoff: string, now: Date): boolean {
  const today = todayRome(now)
  return day < today || (day === today && !beforeCutoff(cutoff, now))
}

export interface CalendarFacts {
  /** the pupil's enrollments (any school year) */
  enrollments: {
    schoolYear: string
    status: 'attiva' | 'sospesa' | 'cessata'
    startDate: string
    endDate: string | null
    classWeekdays: number[] | null
    schoolId: number | null
  }[]
  years: { label: string; startsOn: string; endsOn: string; weekdays: number[] }[]
  closures: { startsOn: string; endsOn: string; schoolId: number | null; description: string }[]
}

/**
 * Whether the canteen serves a pupil on a day (the same rule as dayServed in queries.ts): a school year of
 * the calendar contains the day and serves on its day of the week, the pupil's enrollment of that year is
 * active and has started (and not ended), the class eats at school that day of the week, and no closure of
 * every school or of the pupil's school covers it. Also the closure's description, for the calendar.
 */
export function serviceOn(day: string, f: CalendarFacts): { service: boolean; closure: string | null } {
  const year = f.years.find((y) => y.startsOn <= day && day <= y.endsOn)
  if (!year) return { service: false, closure: null }
  const e = f.enrollments.find((x) => x.schoolYear === year.label)
  const schoolId = e?.schoolId ?? null
  const closure =
    f.closures.find((z) => z.startsOn <= day && day <= z.endsOn && (z.schoolId === null || z.schoolId === schoolId))
      ?.description ?? null
  if (e?.status !== 'attiva' || e.startDate > day || (e.endDate !== null && e.endDate < day)) {
    return { service: false, closure }
  }
  const wd = isoWeekday(day)
  if (!year.weekdays.includes(wd) || (e.classWeekdays !== null && !e.classWeekdays.includes(wd))) {
    return { service: false, closure }
  }
  return { service: closure === null, closure }
}

/** Meals the balance still pays for at a price: whole meals, none when the balance is not positive. */
export function mealsLeft(balanceCents: number, priceCents: number | null): number {
  if (!priceCents || priceCents <= 0 || balanceCents <= 0) return 0
  return Math.floor(balanceCents / priceCents)
}

/** Below the low-balance threshold: fewer than `meals` meals left at the price. 0 meals turns the alert off. */
export function belowThreshold(balanceCents: number, priceCents: number | null, meals: number): boolean {
  if (meals <= 0 || !priceCents) return false
  return balanceCents < meals * priceCents
}

/** What one day costs a pupil: nothing when absent; a light meal is a meal unless the tariff says otherwise. */
export function mealCharge(
  attendance: 'assente' | 'bianco' | null,
  priceCents: number,
  basePriceCents: number,
  lightMealCharged: boolean,
): { amountCents: number; grossCents: number; meals: number } {
  if (attendance === 'assente') return { amountCents: 0, grossCents: 0, meals: 0 }
  if (attendance === 'bianco' && !lightMealCharged) return { amountCents: 0, grossCents: 0, meals: 1 }
  return { amountCents: -priceCents, grossCents: Math.max(basePriceCents, priceCents), meals: 1 }
}

export interface LedgerFigures {
  previousCents: number
  consumedCents: number
  grossCents: number
  meals: number
  paidNoticeCents: number
  paidSiteCents: number
  adjustmentsCents: number
  balanceToCents: number
  balanceCents: number
}

/** What a ledger line is: a meal, its correction, money in (top-up, notice), the office's adjustment or opening
 *  balance, credit refunded to the family or moved to a sibling (both count among the office's adjustments). */
export const LEDGER_KINDS = [
  'pasto',
  'rettifica_pasto',
  'ricarica',
  'avviso',
  'rettifica',
  'saldo_iniziale',
  'rimborso',
  'trasferimento',
] as const
export type LedgerKind = (typeof LEDGER_KINDS)[number]

export interface LedgerLine {
  kind: LedgerKind
  entryDate: string
  amountCents: number
  meals: number
  grossCents: number | null
}

/**
 * The wallet's figures for a period, from the ledger lines (the SQL of queries.ts computes the same in the
 * database; this is the reference the tests compare it with). Everything before the period is "previous
 * debts/credits"; the balance at the end of the period is previous + paid + adjustments − consumed.
 */
export function ledgerFigures(lines: LedgerLine[], from: string, to: string): LedgerFigures {
  const f: LedgerFigures = {
    previousCents: 0,
    consumedCents: 0,
    grossCents: 0,
    meals: 0,
    paidNoticeCents: 0,
    paidSiteCents: 0,
    adjustmentsCents: 0,
    balanceToCents: 0,
    balanceCents: 0,
  }
  for (const l of lines) {
    f.balanceCents += l.amountCents
    if (l.entryDate > to) continue
    f.balanceToCents += l.amountCents
    if (l.entryDate < from) {
      f.previousCents += l.amountCents
      continue
    }
    if (l.kind === 'pasto' || l.kind === 'rettifica_pasto') {
      f.consumedCents -= l.amountCents
      f.grossCents += l.grossCents ?? 0
      f.meals += l.meals
    } else if (l.kind === 'avviso') f.paidNoticeCents += l.amountCents
    else if (l.kind === 'ricarica') f.paidSiteCents += l.amountCents
    else f.adjustmentsCents += l.amountCents
  }
  return f
}

const timeFmt = new Intl.DateTimeFormat('it-IT', {
  timeZone: ZONE,
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
})

/** 'HH:MM:SS' in Rome, for "saldo aggiornato al 12/05/2026 alle ore 17:00:31". */
export function romeTime(at: Date): string {
  return timeFmt.format(at)
}

/** A valid 'YYYY-MM-DD' or null. */
export function isoOrNull(s: string | undefined | null): string | null {
  return s && isIsoDate(s) ? s : null
}
