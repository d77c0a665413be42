// Money is integer cents everywhere; this is the one place that turns cents into text and back.

const formatter = new Intl.NumberFormat('it-IT', {
  style: 'currency',
  currency: 'EUR',
  useGrouping: 'always',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
})
const formatterEn = new Intl.NumberFormat('en-IE', {
  style: 'currency',
  currency: 'EUR',
  useGrouping: 'always',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
})

function assertCents(cents: number) {
  if (!Number.isSafeInteger(cents)) throw new Error(`not integer cents: ${cents}`)
}

/** "1.234,50 €" (with a no-break space before €) in Italian; "€1,234.50" in English. */
export function formatMoney(cents: number, lang: 'it' | 'en' = 'it'): string {
  assertCents(cents)
  // Intl takes a number of euros; cents / 100 is exact enough for display of any safe integer of cents.
  return (lang === 'en' ? formatterEn : formatter).format(cents / 100)
}

/** "1234,50" with a comma and no grouping: spreadsheet cells in Italian locale. */
export function formatDecimalIt(cents: number): string {
  assertCents(cents)
  const sign = cents < 0 ? '-' : ''
  const abs = Math.abs(cents)
  return `${sign}${Math.trunc(abs / 100)},${String(abs % 100).padStart(2, '0')}`
}

/**
 * Parses an amount typed by a person: "58", "58,00", "1.234,5", "1234.50", "€ 12,30".
 * Returns integer cents or null. A dot followed by exactly three digits is a thousands separator.
 */
export function parseMoney(input: string): number | null {
  let s = input.replace(/[\s\u00a0€]/g, '')
  if (s === '') return null
  if (/^\d{1,3}(\.\d{3})+(,\d{1,2})?$/.test(s)) s = s.replace(/\./g, '')
  else if (/^\d+\.\d{1,2}$/.test(s)) s = s.replace('.', ',')
  const m = /^(\d{1,10})(?:,(\d{1,2}))?$/.exec(s)
  if (!m) return null
  const cents = Number(m[1]) * 100 + Number((m[2] ?? '0').padEnd(2, '0'))
  return Number.isSafeInteger(cents) ? cents : null
}

/** Splits a total into n installments: even parts, the remainder on the last one. */
export function splitEvenly(totalCents: number, n: number): number[] {
  assertCents(totalCents)
  if (!Number.isInteger(n) || n < 1) throw new Error('n must be a positive integer')
  const base = Math.floor(totalCents / n)
  const parts = Array.from({ length: n }, () => base)
  parts[n - 1] = totalCents - base * (n - 1)
  return parts
}
