// Today, cut-offs and date display, always in Europe/Rome whatever the server's time zone.
export const ZONE = 'Europe/Rome'

const partsFmt = new Intl.DateTimeFormat('en-CA', {
  timeZone: ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
})

export interface RomeParts {
  date: string // YYYY-MM-DD
  hour: number
  minute: number
}

/** The Rome wall clock's fields at an instant (year, month, day, hour, minute, second; zero-padded). */
function wallClock(at: Date): Record<string, string> {
  return Object.fromEntries(partsFmt.formatToParts(at).map((x) => [x.type, x.value]))
}

/** The Rome wall clock at an instant as an ISO date-time without a zone ('YYYY-MM-DDTHH:MM:SS'). */
export function romeDateTime(at: Date = new Date()): string {
  const p = wallClock(at)
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`
}

let lastSecond = Number.NaN
let lastParts: RomeParts | undefined

export function romeParts(at: Date = new Date()): RomeParts {
  // Intl's formatting is a few microseconds, called several times per page: the answer is kept for its second
  const second = Math.floor(at.getTime() / 1000)
  if (second === lastSecond && lastParts) return lastParts
  const p = wallClock(at)
  const parts = { date: `${p.year}-${p.month}-${p.day}`, hour: Number(p.hour), minute: Number(p.minute) }
  lastSecond = second
  lastParts = parts
  return parts
}

/** Today's date in Rome, as 'YYYY-MM-DD'. */
export function todayRome(at: Date = new Date()): string {
  return romeParts(at).date
}

/** True while the Rome wall clock is strictly before the cut-off 'HH:MM' on the given instant. */
export function beforeCutoff(cutoff: string, at: Date = new Date()): boolean {
  const m = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(cutoff)
  if (!m) throw new Error(`bad cut-off ${cutoff}`)
  const { hour, minute } = romeParts(at)
  return hour * 60 + minute < Number(m[1]) * 60 + Number(m[2])
}

export function isIsoDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s)
  if (!m) return false
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])))
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3])
}

/** Adds days to a 'YYYY-MM-DD' date (calendar arithmetic, no time zone involved). */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number]
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10)
}

/** 'YYYY-MM-DD' → 'dd/mm/yyyy'. */
export function formatDate(date: string): string {
  const [y, m, d] = date.split('-')
  return `${d}/${m}/${y}`
}

const dateTimeFmt = new Intl.DateTimeFormat('it-IT', {
  timeZone: ZONE,
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
})

/** An instant as 'dd/mm/yyyy, HH:MM' in Rome. */
export function formatDateTime(at: Date): string {
  return dateTimeFmt.format(at)
}

/** Parses three typed fields (day, month, year) into 'YYYY-MM-DD' or null. */
export function dateFromParts(day: string, month: string, year: string): string | null {
  if (!/^\d{1,2}$/.test(day.trim()) || !/^\d{1,2}$/.test(month.trim()) || !/^\d{4}$/.test(year.trim())) return null
  const iso = `${year.trim()}-${month.trim().padStart(2, '0')}-${day.trim().padStart(2, '0')}`
  return isIsoDate(iso) ? iso : null
}

/** An ISO date-time; without a zone it is Italian wall-clock time (as the pagoPA node writes it). */
export function romeInstant(value: string): Date {
  const v = value.trim()
  if (/(Z|[+-]\d{2}:\d{2})$/.test(v)) return new Date(v)
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?$/.exec(v)
  if (!m) return new Date(Number.NaN)
  const asUtc = Date.UTC(
    +(m[1] as string),
    +(m[2] as string) - 1,
    +(m[3] as string),
    +(m[4] as string),
    +(m[5] as string),
    +(m[6] as string),
  )
  // how far Rome's wall clock is ahead of UTC at an instant
  const offset = (at: number) => {
    const p = wallClock(new Date(at))
    const n = (k: string) => Number(p[k])
    return Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second')) - at
  }
  const first = asUtc - offset(asUtc)
  return new Date(asUtc - offset(first))
}
