// Codice fiscale of a natural person: format, month and day codes, omocodia, check character.
// (Libraries exist, but ship megabytes of municipality tables that this check does not need.)

const ODD: Record<string, number> = {}
const ODD_VALUES = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]
for (let i = 0; i < 26; i++) {
  const letter = String.fromCharCode(65 + i)
  ODD[letter] = ODD_VALUES[i] as number
  if (i < 10) ODD[String(i)] = ODD_VALUES[i] as number
}

function evenValue(ch: string): number {
  return ch >= '0' && ch <= '9' ? ch.charCodeAt(0) - 48 : ch.charCodeAt(0) - 65
}

const MONTHS = 'ABCDEHLMPRST'
const OMOCODIA = 'LMNPQRSTUV'
/** 0-based positions of the digits that omocodia may replace with a letter */
const DIGIT_POSITIONS = [6, 7, 9, 10, 12, 13, 14]

const FORMAT = /^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/

export function checkCharacter(first15: string): string {
  let sum = 0
  for (let i = 0; i < 15; i++) {
    const ch = first15[i] as string
    sum += i % 2 === 0 ? (ODD[ch] ?? 0) : evenValue(ch)
  }
  return String.fromCharCode(65 + (sum % 26))
}

/** Replaces omocodia letters with the digits they stand for. */
export function deOmocode(cf: string): string {
  const chars = cf.split('')
  for (const p of DIGIT_POSITIONS) {
    const i = OMOCODIA.indexOf(chars[p] as string)
    if (i >= 0) chars[p] = String(i)
  }
  return chars.join('')
}

export function normalizeCodiceFiscale(input: string): string {
  return input.replace(/\s+/g, '').toUpperCase()
}

export type CodiceFiscaleProblem = 'format' | 'date' | 'check'

export function codiceFiscaleProblem(input: string): CodiceFiscaleProblem | null {
  const cf = normalizeCodiceFiscale(input)
  if (!FORMAT.test(cf)) return 'format'
  const plain = deOmocode(cf)
  const month = MONTHS.indexOf(plain[8] as string) + 1
  let day = Number(plain.slice(9, 11))
  if (day > 40) day -= 40
  const year = Number(plain.slice(6, 8))
  // Any century: 29 February is allowed when the two-digit year could be a leap year.
  const maxDay = [31, year % 4 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0
  if (!/^[0-9]{2}$/.test(plain.slice(9, 11)) || day < 1 || day > maxDay) return 'date'
  if (checkCharacter(cf.slice(0, 15)) !== cf[15]) return 'check'
  return null
}

export function isValidCodiceFiscale(input: string): boolean {
  return codiceFiscaleProblem(input) === null
}

/** The check digit of a partita IVA from its first ten digits (Luhn). */
export function partitaIvaCheckDigit(first10: string): string {
  let sum = 0
  for (let i = 0; i < 10; i++) {
    let d = first10.charCodeAt(i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return String((10 - (sum % 10)) % 10)
}

/** Partita IVA / fiscal code of a legal person: 11 digits with a Luhn check digit. */
export function isValidPartitaIva(input: string): boolean {
  return /^[0-9]{11}$/.test(input) && partitaIvaCheckDigit(input) === input[10]
}
