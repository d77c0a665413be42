// Form fuzzing: the POST forms of a page read from its HTML (fields with their options, prefilled and hidden
// values, buttons, file inputs), a crawl that finds them by following the links of the pages, and fast-check
// arbitraries of field values: the form's own values, plausible values guessed from the field's name (a valid
// codice fiscale, a date, an amount), and arbitrary strings.
import fc from 'fast-check'
import { cf } from '../../src/cli/demo-seed.ts'
import type { Client } from './client.ts'

export interface Field {
  name: string
  /** input type, or select / textarea / button */
  kind: string
  /** options, radio and checkbox values, prefilled values, button values */
  values: string[]
  /** several inputs of the same name that are not radios (fields[]) */
  multiple: boolean
}

export interface Form {
  who: string
  page: string
  action: string
  multipart: boolean
  fields: Field[]
}

const ENTITIES: Record<string, string> = { amp: '&', quot: '"', '#39': "'", '#x27': "'", lt: '<', gt: '>', nbsp: ' ' }
export const unescapeHtml = (s: string) => s.replace(/&(amp|quot|#39|#x27|lt|gt|nbsp);/g, (_, e) => ENTITIES[e] ?? '')

function attrs(s: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const m of s.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*"([^"]*)")?/g))
    out[(m[1] as string).toLowerCase()] = unescapeHtml(m[2] ?? '')
  return out
}

/** The POST forms of a page, with every named control. */
export function formsIn(html: string, page: string, who: string): Form[] {
  const out: Form[] = []
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const a = attrs(m[1] as string)
    if ((a.method ?? '').toLowerCase() !== 'post') continue
    const action = a.action
    if (!action?.startsWith('/')) continue
    const body = m[2] as string
    const fields = new Map<string, Field>()
    const add = (name: string | undefined, kind: string, values: string[]) => {
      if (!name || name === '_csrf') return
      const f = fields.get(name)
      if (!f) fields.set(name, { name, kind, values: [...values], multiple: false })
      else {
        if (kind !== 'radio' && kind !== 'button' && f.kind !== 'radio') f.multiple = true
        f.values.push(...values)
      }
    }
    for (const s of body.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/g)) {
      const sa = attrs(s[1] as string)
      const options = [...(s[2] as string).matchAll(/<option\b([^>]*)>([^<]*)/g)].map((o) => {
        const oa = attrs(o[1] as string)
        return 'value' in oa ? (oa.value as string) : unescapeHtml((o[2] as string).trim())
      })
      add(sa.name, 'select', options)
      if ('multiple' in sa) (fields.get(sa.name ?? '') ?? ({} as Field)).multiple = true
    }
    for (const t of body.matchAll(/<textarea\b([^>]*)>([\s\S]*?)<\/textarea>/g))
      add(
        attrs(t[1] as string).name,
        'textarea',
        [unescapeHtml(t[2] as string)].filter((v) => v.trim()),
      )
    for (const i of body.matchAll(/<input\b([^>]*)>/g)) {
      const ia = attrs(i[1] as string)
      const kind = (ia.type ?? 'text').toLowerCase()
      if (kind === 'submit' || kind === 'reset' || kind === 'image') continue
      add(ia.name, kind, ia.value !== undefined && ia.value !== '' ? [ia.value] : kind === 'checkbox' ? ['on'] : [])
    }
    for (const b of body.matchAll(/<button\b([^>]*)>/g)) {
      const ba = attrs(b[1] as string)
      if (ba.name) add(ba.name, 'button', [ba.value ?? ''])
    }
    out.push({
      who,
      page,
      action: action,
      multipart: /multipart\/form-data/i.test(a.enctype ?? ''),
      fields: [...fields.values()],
    })
  }
  return out
}

/** The shape of a path: ids and dates stand for any id or date, the query string is dropped. */
export const shape = (path: string) =>
  path
    .split('?')[0]
    ?.replace(/\d{4}-\d{2}-\d{2}/g, ':date')
    .replace(/\/\d+(?=\/|$)/g, '/:n') ?? path

/**
 * Breadth-first over the links of the pages, from `start`: HTML pages answered 200, at most `perShape`
 * pages of each shape and `limit` pages in all; `allowed` decides which paths may be visited at all.
 */
export async function crawl(
  client: Client,
  start: string[],
  allowed: (path: string) => boolean,
  opts: { limit?: number; perShape?: number } = {},
): Promise<{ path: string; html: string }[]> {
  const limit = opts.limit ?? 250
  const perShape = opts.perShape ?? 2
  const queue = [...start]
  const seen = new Set<string>()
  const shapes = new Map<string, number>()
  const pages: { path: string; html: string }[] = []
  while (queue.length && pages.length < limit) {
    const path = queue.shift() as string
    if (seen.has(path) || !allowed(path)) continue
    seen.add(path)
    const s = shape(path)
    if ((shapes.get(s) ?? 0) >= perShape) continue
    shapes.set(s, (shapes.get(s) ?? 0) + 1)
    const res = await client.get(path)
    if (res.status !== 200 || !(res.headers.get('content-type') ?? '').includes('html')) continue
    const html = client.lastHtml
    pages.push({ path, html })
    for (const m of html.matchAll(/href="(\/[^"#]*)"/g)) {
      const link = unescapeHtml(m[1] as string)
      if (!seen.has(link)) queue.push(link)
    }
  }
  return pages
}

// ---- values ------------------------------------------------------------------------------------------------

/** Fixed strings among the arbitrary ones: the classics of hostile and careless input. */
const FIXED_VALUES = [
  '',
  ' ',
  'si',
  'no',
  '0',
  '-1',
  '1,5',
  '1.234,56',
  '31/02/2026',
  '2026-13-01',
  "'; drop table payers; --",
  '<b>x</b>',
  'a'.repeat(5000),
  'RSSMRA80A01I726K',
  'x@example.it',
  '999999999999999999999',
  '\u0000',
]

/** Anything at all: what a person or a script might type. */
export const anyValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.integer({ min: -1e9, max: 1e12 }).map(String),
  fc.constantFrom(...FIXED_VALUES),
)

const CONSONANTS = 'BCDFGHJKLMNPQRSTVZ'
/** A valid codice fiscale made from a number (check character computed). */
export const validCf = fc
  .tuple(
    fc.array(fc.constantFrom(...CONSONANTS), { minLength: 6, maxLength: 6 }),
    fc.integer({ min: 0, max: 99 }),
    fc.constantFrom(...'ABCDEHLMPRST'),
    fc.integer({ min: 1, max: 28 }),
  )
  .map(([l, y, m, d]) => cf(`${l.join('')}${String(y).padStart(2, '0')}${m}${String(d).padStart(2, '0')}H501`))

/** A valid Italian partita IVA (11 digits, Luhn-like check). */
export const partitaIva = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 10, maxLength: 10 }).map((digits) => {
  let sum = 0
  digits.forEach((d, i) => {
    let x = d
    if (i % 2 === 1) {
      x *= 2
      if (x > 9) x -= 9
    }
    sum += x
  })
  return digits.join('') + String((10 - (sum % 10)) % 10)
})

const word = fc.constantFrom('Mario', 'Anna', 'Rossi', "D'Amico", 'Bianchi-Neri', 'Scuola Dante', 'Mensa', 'Prova')
const sentence = fc.array(word, { minLength: 1, maxLength: 5 }).map((w) => w.join(' '))
const money = fc.oneof(
  fc.integer({ min: 1, max: 50_000 }).map((c) => `${Math.trunc(c / 100)},${String(c % 100).padStart(2, '0')}`),
  fc.integer({ min: 0, max: 500 }).map(String),
  fc.constantFrom('0', '0,00', '1.234,56', '12.50'),
)
const smallInt = fc.integer({ min: 0, max: 14 }).map(String)

/**
 * Plausible values for a field, guessed from its name: what a careful person would type there. `tag` makes
 * emails and slugs of this run recognizable (and removable at the end).
 */
export function plausible(name: string, tag: string, known: { cfs: string[]; emails: string[] }): fc.Arbitrary<string> {
  const n = name.toLowerCase()
  const email = fc.oneof(
    fc.nat(99_999).map((i) => `fz${i}-${tag}@example.it`),
    ...(known.emails.length ? [fc.constantFrom(...known.emails)] : []),
  )
  if (n.endsWith('-day')) return fc.integer({ min: 1, max: 31 }).map(String)
  if (n.endsWith('-month')) return fc.integer({ min: 1, max: 12 }).map(String)
  if (n.endsWith('-year')) return fc.integer({ min: 2025, max: 2028 }).map(String)
  if (n === 'fiscalcode') return partitaIva
  if (/codicefiscale|^cf|cf$|payercf|pupilcf/.test(n))
    return known.cfs.length ? fc.oneof(fc.constantFrom(...known.cfs), validCf) : validCf
  if (/email|pec|^to$/.test(n)) return email
  if (/password/.test(n)) return fc.constant('una frase sbagliata ma lunga abbastanza')
  if (/phone|telefono/.test(n)) return fc.constantFrom('3331234567', '+39 06 1234567')
  if (/iban/.test(n)) return fc.constantFrom('IT60X0542811101000000123456', 'IT60 X054 2811 1010 0000 0123 456')
  if (/segregation/.test(n)) return fc.integer({ min: 0, max: 99 }).map((i) => String(i).padStart(2, '0'))
  if (/istat/.test(n)) return fc.integer({ min: 0, max: 999_999 }).map((i) => String(i).padStart(6, '0'))
  if (/meccanografico/.test(n)) return fc.constantFrom('MIIC8AB00X', 'RMEE12345A')
  if (/slug/.test(n)) return fc.nat(99_999).map((i) => `fz${i}-${tag}`)
  if (/accent|colou?r/.test(n)) return fc.constantFrom('#0b4f9c', '#7a1f1f', '#ffffff')
  if (/logotext/.test(n)) return fc.constantFrom('PR', 'SI')
  if (/url|website|sito/.test(n)) return fc.constantFrom('https://example.it/accessibilita', 'http://x')
  if (/cutoff|ora$|time/.test(n)) return fc.constantFrom('09:15', '10:00', '23:59')
  if (/reminderdays/.test(n)) return fc.constantFrom('-7, 0, 7', '0', '-3,3')
  if (/commissionrate|rate$/.test(n) && n !== 'rate') return fc.constantFrom('1,5', '0,8', '2')
  if (/price|prezzo|amount|importo|total|unitprice|commission|isee|fixed/.test(n)) return money
  if (/count|^rate$|quant|meals|days|giorni|numero/.test(n)) return smallInt
  if (/year|anno/.test(n)) return fc.constantFrom('2026', '2027', '2026/2027')
  if (/^code$|codice$|kind$|tipo$/.test(n)) return fc.nat(9_999).map((i) => `svc-${i}`)
  if (/confirm/.test(n)) return fc.constantFrom('ELIMINA', 'elimina', 'si')
  return sentence
}

/** One field's value: mostly its own (options, prefilled), else plausible, else anything. */
export function fieldValue(
  field: Field,
  tag: string,
  known: { cfs: string[]; emails: string[] },
): fc.Arbitrary<string | string[]> {
  const own = [...new Set(field.values)]
  const weighted: fc.WeightedArbitrary<string>[] = []
  if (own.length) weighted.push({ arbitrary: fc.constantFrom(...own), weight: field.kind === 'hidden' ? 12 : 5 })
  weighted.push({ arbitrary: plausible(field.name, tag, known), weight: field.kind === 'hidden' ? 1 : 4 })
  weighted.push({ arbitrary: anyValue, weight: 2 })
  const one = fc.oneof(...weighted)
  if (!field.multiple) return one
  return fc.oneof(one, fc.array(one, { minLength: 0, maxLength: 4 }))
}

// ---- files -------------------------------------------------------------------------------------------------

const enc = new TextEncoder()
/** A minimal valid PDF and a 1×1 PNG: what an upload field accepts, next to what it must refuse. */
export const TINY_PDF = enc.encode(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
)
export const TINY_PNG = Uint8Array.from(
  Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
    'base64',
  ),
)

export interface UploadFile {
  name: string
  type: string
  bytes: Uint8Array
}

export const fileValue: fc.Arbitrary<UploadFile | null> = fc.oneof(
  fc.constant(null),
  fc.constantFrom<UploadFile>(
    { name: 'documento.pdf', type: 'application/pdf', bytes: TINY_PDF },
    { name: 'logo.png', type: 'image/png', bytes: TINY_PNG },
    { name: 'vuoto.csv', type: 'text/csv', bytes: new Uint8Array() },
    { name: 'finto.pdf', type: 'application/pdf', bytes: enc.encode('not a pdf at all') },
  ),
  fc
    .record({
      name: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('a.csv', 'b.xml', 'c.pdf', 'd.png', '')),
      type: fc.constantFrom('text/csv', 'application/pdf', 'image/png', 'application/octet-stream', 'text/xml', ''),
      bytes: fc.uint8Array({ maxLength: 300 }),
    })
    .map((f) => f as UploadFile),
)
