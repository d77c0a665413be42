// The tax certificate form: a calendar year (one of the last five) or a date range typed as three fields,
// and the pupil. Messages are i18n keys.
import { z } from 'zod'
import { dateFromParts, todayRome } from '../../platform/dates.ts'

export const RANGE = 'intervallo'
/** the pupil answer that asks for the whole household's certificate */
export const HOUSEHOLD = 'tutti'
export const YEARS_OFFERED = 5
export const FIELD_ORDER = ['periodo', 'dal', 'al', 'alunno']
export const FIELD_HREFS = { dal: 'dal-giorno', al: 'al-giorno' }
export const DATE_FIELDS = ['dal-giorno', 'dal-mese', 'dal-anno', 'al-giorno', 'al-mese', 'al-anno'] as const

/** The years offered: this one and the four before, newest first. */
export function offeredYears(today: string = todayRome()): number[] {
  const y = Number(today.slice(0, 4))
  return Array.from({ length: YEARS_OFFERED }, (_, i) => y - i)
}

/** The default period: the last calendar year in Rome (the year a 730 filed this year is about). */
export function defaultYear(today: string = todayRome()): number {
  return Number(today.slice(0, 4)) - 1
}

export type Period = { year: number } | { from: string; to: string }

export function periodRange(p: Period): { from: string; to: string } {
  return 'year' in p ? { from: `${p.year}-01-01`, to: `${p.year}-12-31` } : p
}

const part = z.string().max(10).optional()

function typedDate(v: Record<string, unknown>, name: 'dal' | 'al'): 'blank' | 'invalid' | string {
  const d = String(v[`${name}-giorno`] ?? '').trim()
  const m = String(v[`${name}-mese`] ?? '').trim()
  const y = String(v[`${name}-anno`] ?? '').trim()
  if (!d && !m && !y) return 'blank'
  const iso = dateFromParts(d, m, y)
  if (!iso || iso < '2000-01-01') return 'invalid'
  return iso
}

export function certificateSchema(today: string = todayRome()) {
  const years = offeredYears(today).map(String)
  return z
    .object({
      periodo: z.string().refine((v) => v === RANGE || years.includes(v), 'tax.errors.periodRequired'),
      // one child (`<tenant>-<pupil>`), or HOUSEHOLD: every child of the account
      alunno: z.string().regex(/^(\d{1,15}-\d{1,15}|tutti)$/, 'tax.errors.pupilRequired'),
      'dal-giorno': part,
      'dal-mese': part,
      'dal-anno': part,
      'al-giorno': part,
      'al-mese': part,
      'al-anno': part,
    })
    .superRefine(
      (v, ctx) => {
        // runs even when the pupil is missing, so every problem shows at once
        if (!v || v.periodo !== RANGE) return
        const from = typedDate(v, 'dal')
        const to = typedDate(v, 'al')
        if (from === 'blank') ctx.addIssue({ code: 'custom', path: ['dal'], message: 'tax.errors.fromRequired' })
        if (from === 'invalid') ctx.addIssue({ code: 'custom', path: ['dal'], message: 'tax.errors.fromInvalid' })
        if (to === 'blank') ctx.addIssue({ code: 'custom', path: ['al'], message: 'tax.errors.toRequired' })
        if (to === 'invalid') ctx.addIssue({ code: 'custom', path: ['al'], message: 'tax.errors.toInvalid' })
        if (to.length === 10 && to > today) {
          ctx.addIssue({ code: 'custom', path: ['al'], message: 'tax.errors.toFuture' })
        } else if (from.length === 10 && to.length === 10 && from > to) {
          ctx.addIssue({ code: 'custom', path: ['al'], message: 'tax.errors.toBeforeFrom' })
        }
      },
      { when: () => true },
    )
}

/** The parsed form as a period and a pupil key (kept out of the schema so parseWith sees an object schema). */
export function toRequest(v: z.output<ReturnType<typeof certificateSchema>>): { period: Period; pupilKey: string } {
  if (v.periodo === RANGE) {
    return { period: { from: typedDate(v, 'dal'), to: typedDate(v, 'al') }, pupilKey: v.alunno }
  }
  return { period: { year: Number(v.periodo) }, pupilKey: v.alunno }
}
