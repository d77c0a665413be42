// Card checks of the sandbox checkout: Luhn, length, brand (for the CVV length) and expiry in Rome's month.
import { todayRome } from '../../platform/dates.ts'

/** The card number as typed, without the spaces (or hyphens) people put between groups. */
export function normalizeCardNumber(input: string): string {
  return input.replace(/[\s-]/g, '')
}

export function luhnValid(digits: string): boolean {
  if (!/^[0-9]+$/.test(digits)) return false
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/** The card as a receipt may show it: brand and last four digits, nothing else of the number. */
export function cardMask(input: string): string {
  const digits = normalizeCardNumber(input)
  const brand = isAmex(digits)
    ? 'AMEX'
    : digits.startsWith('4')
      ? 'VISA'
      : /^(5[1-5]|2[2-7])/.test(digits)
        ? 'MASTERCARD'
        : 'CARTA'
  return `${brand} ****${digits.slice(-4)}`
}

export function isAmex(digits: string): boolean {
  return /^3[47]/.test(digits)
}

export type CardNumberProblem = 'required' | 'format' | 'length' | 'luhn'

export function cardNumberProblem(input: string): CardNumberProblem | null {
  const n = normalizeCardNumber(input)
  if (n === '') return 'required'
  if (!/^[0-9]+$/.test(n)) return 'format'
  if (n.length < 13 || n.length > 19) return 'length'
  return luhnValid(n) ? null : 'luhn'
}

export type ExpiryProblem = 'required' | 'format' | 'past' | 'far'

/** Month 1–12 and a year of 2 or 4 digits; the card is valid through the end of its month, in Rome. */
export function expiryProblem(month: string, year: string, now: Date = new Date()): ExpiryProblem | null {
  const m = month.trim()
  const y = year.trim()
  if (m === '' || y === '') return 'required'
  if (!/^[0-9]{1,2}$/.test(m) || !/^([0-9]{2}|[0-9]{4})$/.test(y)) return 'format'
  const mm = Number(m)
  if (mm < 1 || mm > 12) return 'format'
  const yyyy = y.length === 2 ? 2000 + Number(y) : Number(y)
  const [cy, cm] = todayRome(now).split('-').map(Number) as [number, number]
  const months = yyyy * 12 + mm - (cy * 12 + cm)
  if (months < 0) return 'past'
  if (months > 20 * 12) return 'far'
  return null
}

export type CvvProblem = 'required' | 'length3' | 'length4'

export function cvvProblem(cvv: string, cardNumber: string): CvvProblem | null {
  const c = cvv.trim()
  if (c === '') return 'required'
  const amex = isAmex(normalizeCardNumber(cardNumber))
  if (amex) return /^[0-9]{4}$/.test(c) ? null : 'length4'
  return /^[0-9]{3}$/.test(c) ? null : 'length3'
}

/** What the sandbox does with a card that passed the checks. */
export type SandboxOutcome = 'succeeded' | 'failed' | 'hang'

export const TEST_CARDS = {
  success: '4242424242424242',
  refused: '4000000000000002',
  hang: '4000000000000259',
} as const

export function sandboxOutcome(cardNumber: string): SandboxOutcome {
  const n = normalizeCardNumber(cardNumber)
  if (n === TEST_CARDS.refused) return 'failed'
  if (n === TEST_CARDS.hang) return 'hang'
  return 'succeeded'
}
