// Helpers shared by the canteen's citizen and office pages: days and months in words, the calendar grid as
// the views print it, class labels.
import type { Translate } from '../../platform/i18n.ts'
import type { FormErrors } from '../../platform/render.ts'
import type { CalendarDay, SchoolKind } from './queries.ts'
import { familyWindow, isoWeekday, monthGrid } from './rules.ts'

/** "martedì 12 maggio 2026" / "Tuesday 12 May 2026". */
export function dayInWords(t: Translate, day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number]
  return t('canteen.dayInWords', {
    weekday: t(`canteen.weekday.${isoWeekday(day)}`),
    day: d,
    month: t(`canteen.month.${m}`),
    year: y,
  })
}

/** "maggio 2026". */
export function monthInWords(t: Translate, month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number]
  return t('canteen.monthInWords', { month: t(`canteen.month.${m}`), year: y })
}

/** "Primaria DANTE ALIGHIERI 5 A (1 rientro)". */
export function classLabel(
  t: Translate,
  c: { schoolKind: SchoolKind | null; schoolName: string | null; className: string | null; classNote: string | null },
): string {
  if (!c.schoolName || !c.className) return t('canteen.noClass')
  const base = `${t(`canteen.schoolKind.${c.schoolKind}`)} ${c.schoolName} ${c.className}`
  return c.classNote ? `${base} (${c.classNote})` : base
}

export type DayState = 'assente' | 'bianco' | 'presente' | 'previsto' | 'chiuso' | 'nessuno'

export interface GridCell {
  day: string
  number: number
  state: DayState
  /** the words of the state, shown in the cell */
  stateText: string
  /** a closure's description, if the day is a holiday */
  closure: string | null
  /** a link to the day's page, when this visitor may change the day */
  href: string | null
  today: boolean
}

/**
 * The month as weeks of cells: each day's state in words (absent, light meal, present, expected, no service)
 * and, when the visitor may change it, the link to its page.
 */
export function calendarGrid(
  t: Translate,
  month: string,
  days: CalendarDay[],
  opts: { today: string; cutoff: string; now: Date; office: boolean; dayHref: (day: string) => string },
): (GridCell | null)[][] {
  const byDay = new Map(days.map((d) => [d.day, d]))
  return monthGrid(month).map((week) =>
    week.map((day) => {
      if (!day) return null
      const d = byDay.get(day)
      let state: DayState
      if (!d?.service) state = d?.closure ? 'chiuso' : 'nessuno'
      else if (d.attendance) state = d.attendance
      else state = day < opts.today || (day === opts.today && d.charged) ? 'presente' : 'previsto'
      const editable = d?.service
        ? opts.office || familyWindow(day, opts.cutoff, opts.now) !== 'closed'
        : opts.office && !!d?.attendance
      return {
        day,
        number: Number(day.slice(8)),
        state,
        stateText: state === 'chiuso' ? (d?.closure ?? '') : t(`canteen.state.${state}`),
        closure: d?.closure ?? null,
        href: editable ? opts.dayHref(day) : null,
        today: day === opts.today,
      }
    }),
  )
}

/** An error on a three-input date: the summary links to its day input, the field shows it on the group. */
export function dateError(t: Translate, name: string, key: string, params?: Record<string, string>): FormErrors {
  const text = t(key, params)
  return { summary: [{ text, href: `#${name}-day` }], fields: { [name]: text } }
}
