// Deterministic, realistic-looking people, bodies and dues for the benchmark database.
import type postgres from 'postgres'
import { checkCharacter, partitaIvaCheckDigit } from '../src/platform/it/codice-fiscale.ts'
import { type TenantFile, tenantFileSchema } from '../src/platform/tenancy.ts'

/** mulberry32: a small seeded generator, so two runs at the same scale build the same database. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T
export const between = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1))

const MALE = [
  'Marco',
  'Luca',
  'Giuseppe',
  'Francesco',
  'Antonio',
  'Alessandro',
  'Andrea',
  'Matteo',
  'Lorenzo',
  'Davide',
  'Stefano',
  'Paolo',
  'Roberto',
  'Simone',
  'Fabio',
  'Giovanni',
  'Riccardo',
  'Tommaso',
  'Pietro',
  'Salvatore',
]
const FEMALE = [
  'Giulia',
  'Francesca',
  'Chiara',
  'Sara',
  'Valentina',
  'Federica',
  'Elena',
  'Silvia',
  'Martina',
  'Alessia',
  'Laura',
  'Anna',
  'Maria',
  'Sofia',
  'Aurora',
  'Beatrice',
  'Paola',
  'Giorgia',
  'Ilaria',
  'Roberta',
]
const SURNAMES = [
  'Rossi',
  'Russo',
  'Ferrari',
  'Esposito',
  'Bianchi',
  'Romano',
  'Colombo',
  'Ricci',
  'Marino',
  'Greco',
  'Bruno',
  'Gallo',
  'Conti',
  'De Luca',
  'Mancini',
  'Costa',
  'Giordano',
  'Rizzo',
  'Lombardi',
  'Moretti',
  'Barbieri',
  'Fontana',
  'Santoro',
  'Mariani',
  'Rinaldi',
  'Caruso',
  'Ferrara',
  'Galli',
  'Martini',
  'Leone',
  'Longo',
  'Gentile',
  'Martinelli',
  'Vitale',
  'Lombardo',
  'Serra',
  'Coppola',
  'De Santis',
  "D'Angelo",
  'Marchetti',
  'Parisi',
  'Villa',
]
/** Belfiore codes of real comuni (birthplaces in the codice fiscale). */
const BELFIORE = [
  'H501',
  'F205',
  'I726',
  'F376',
  'A944',
  'D612',
  'F839',
  'L219',
  'G273',
  'L736',
  'C351',
  'A662',
  'D969',
  'L424',
  'G224',
  'E506',
  'B157',
  'L781',
  'G478',
  'A271',
]
const COMUNI = [
  'Acquaviva',
  'Borgonuovo',
  'Castelfranco',
  'Campobello',
  'Fontanella',
  'Montalto',
  'Pietrasanta',
  'Roccaforte',
  'San Martino',
  'Santa Croce',
  'Torre del Lago',
  'Valmorea',
  'Villanova',
  'Castelnuovo',
  'Monteverde',
  'Poggio Alto',
  'Sant’Elia',
  'Rivarolo',
  'Serravalle',
  'Borgo San Lorenzo',
]

const VOWELS = /[AEIOU]/g
const NOT_LETTER = /[^A-Z]/g

function code3(name: string, isGiven: boolean): string {
  const s = name.toUpperCase().replace(NOT_LETTER, '')
  const cons = s.replace(VOWELS, '')
  const vows = s.replace(/[^AEIOU]/g, '')
  if (isGiven && cons.length >= 4) return cons.charAt(0) + cons.charAt(2) + cons.charAt(3)
  return `${cons}${vows}XXX`.slice(0, 3)
}

export interface Person {
  cf: string
  given: string
  family: string
}

/** A person with a valid, unique codice fiscale (the set remembers every code handed out). */
export function person(r: () => number, used: Set<string>, birthYears: [number, number], family?: string): Person {
  const female = r() < 0.5
  const given = pick(r, female ? FEMALE : MALE)
  const fam = family ?? pick(r, SURNAMES)
  for (;;) {
    const year = between(r, birthYears[0], birthYears[1]) % 100
    const day = between(r, 1, 28) + (female ? 40 : 0)
    const first15 =
      code3(fam, false) +
      code3(given, true) +
      String(year).padStart(2, '0') +
      pick(r, 'ABCDEHLMPRST'.split('')) +
      String(day).padStart(2, '0') +
      pick(r, BELFIORE)
    const cf = first15 + checkCharacter(first15)
    if (!used.has(cf)) {
      used.add(cf)
      return { cf, given, family: fam }
    }
  }
}

/** A valid partita IVA, distinct for each n. */
export function partitaIva(n: number): string {
  const first10 = String(10_000_000 + n * 7919)
    .padStart(10, '0')
    .slice(-10)
  return first10 + partitaIvaCheckDigit(first10)
}

export interface PlannedTenant {
  index: number
  file: TenantFile
  /** relative size: a few large comuni, many small bodies */
  weight: number
}

const COMUNE_SERVICES = [
  { code: 'mensa', kind: 'mensa', name: 'Mensa scolastica', causale: 'Mensa scolastica' },
  { code: 'trasporto', kind: 'trasporto', name: 'Trasporto scolastico', causale: 'Trasporto scolastico' },
  { code: 'nido', kind: 'nido', name: 'Asilo nido', causale: 'Retta asilo nido' },
  { code: 'tari', kind: 'tributi', name: 'TARI', causale: 'Tassa sui rifiuti' },
] as const
const SCHOOL_SERVICES = [
  { code: 'assicurazione', kind: 'assicurazione', name: 'Assicurazione alunni', causale: 'Assicurazione' },
  { code: 'contributo', kind: 'contributo', name: 'Contributo volontario', causale: 'Contributo volontario' },
  { code: 'gite', kind: 'gite', name: 'Viaggi di istruzione', causale: 'Viaggio di istruzione' },
  { code: 'extra', kind: 'extrascolastico', name: 'Attività pomeridiane', causale: 'Attività extrascolastiche' },
] as const

export function planTenants(count: number): PlannedTenant[] {
  const r = rng(20261123)
  return Array.from({ length: count }, (_, i) => {
    const school = i % 7 === 3
    const n = String(i + 1).padStart(4, '0')
    const place = `${pick(r, COMUNI)} ${n}`
    const file = tenantFileSchema.parse({
      slug: school ? `ic-${n}` : `comune-${n}`,
      kind: school ? 'scuola' : 'comune',
      name: school ? `Istituto Comprensivo ${place}` : `Comune di ${place}`,
      shortName: school ? `IC ${n}` : `Comune ${n}`,
      fiscalCode: partitaIva(i + 1),
      codiceMeccanografico: school ? `BNIC${String(800000 + i).slice(-6)}` : undefined,
      segregationCode: String(i % 50).padStart(2, '0'),
      branding: { logoText: school ? 'IC' : 'CM', accent: '#0b4f9c' },
      contacts: { email: `ufficio@${school ? 'ic' : 'comune'}-${n}.example`, address: `Piazza Municipio 1, ${place}` },
      settings: {
        cutoff: '09:15',
        commission: i % 3 === 1 ? { type: 'grossup', basisPoints: 150 } : { type: 'none' },
      },
      services: (school ? SCHOOL_SERVICES : COMUNE_SERVICES).map((s) => ({ ...s })),
    })
    // Zipf-like sizes: the first bodies are cities, the tail small towns and schools
    return { index: i, file, weight: 1 / (i + 5) }
  })
}

export const SERVICE_AMOUNTS: Record<string, { cents: [number, number]; installments: number[] }> = {
  mensa: { cents: [3500, 9000], installments: [3, 3, 2] },
  trasporto: { cents: [6000, 18000], installments: [1, 2] },
  nido: { cents: [18000, 45000], installments: [3, 3, 2] },
  tributi: { cents: [4000, 60000], installments: [1, 2, 3] },
  assicurazione: { cents: [600, 1200], installments: [1] },
  contributo: { cents: [2000, 6000], installments: [1] },
  gite: { cents: [1500, 25000], installments: [1, 2] },
  extrascolastico: { cents: [3000, 9000], installments: [1, 3] },
}

/** Epoch-day arithmetic on 'YYYY-MM-DD' (fast enough for a million dates). */
export function dayNumber(date: string): number {
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / 86_400_000
}
export function fromDayNumber(n: number): string {
  return new Date(n * 86_400_000).toISOString().slice(0, 10)
}

type Cell = string | number | boolean | null | undefined

/** Rows kept column by column, inserted with one `unnest` of typed arrays per chunk (COPY's error path hangs
 * in postgres.js 3.4 when the failure comes after the last chunk, so no COPY here). */
export class Rows {
  readonly cols: (string | null)[][]
  constructor(readonly columns: [name: string, type: string][]) {
    this.cols = columns.map(() => [])
  }
  push(values: Cell[]) {
    values.forEach((v, i) => {
      ;(this.cols[i] as (string | null)[]).push(
        v === null || v === undefined ? null : typeof v === 'boolean' ? (v ? 't' : 'f') : String(v),
      )
    })
  }
  get length() {
    return (this.cols[0] as unknown[]).length
  }
}

/** A PostgreSQL array literal of text elements (cast to the column's type in SQL). */
export function arrayLiteral(values: (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)).join(',')}}`
}

/** Bulk insert: one statement per 20,000 rows, each column one typed array (ids given: overriding identity). */
export async function insertRows(tx: postgres.Sql | postgres.TransactionSql, table: string, rows: Rows) {
  const names = rows.columns.map((c) => c[0]).join(', ')
  const arrays = rows.columns.map((c, i) => `$${i + 1}::${c[1]}[]`).join(', ')
  for (let i = 0; i < rows.length; i += 20_000) {
    await tx.unsafe(
      `insert into ${table} (${names}) overriding system value select * from unnest(${arrays})`,
      rows.cols.map((col) => arrayLiteral(col.slice(i, i + 20_000))),
    )
  }
}
