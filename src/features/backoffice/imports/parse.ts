// Bulk issue from CSV, reading the file: decode (UTF-8, with or without BOM), detect the separator, parse with
// csv-parse and validate every line, all without the database; the template offered for download. Checking against
// the tenant's data and creating everything is plan.ts. The column layout is documented in docs/csv-import.md; the
// duplicate key in docs/decisions/0032.
import { CsvError, parse } from 'csv-parse/sync'
import { isValidCodiceFiscale, normalizeCodiceFiscale } from '../../../platform/it/codice-fiscale.ts'
import { parseMoney, splitEvenly } from '../../../platform/money.ts'
import { parseItalianDate } from '../common.ts'

export const MAX_FILE_BYTES = 5 * 1024 * 1024
export const MAX_LINES = 20_000
export const MAX_INSTALLMENTS = 12

export const COLUMNS = [
  'cf_intestatario',
  'nome_intestatario',
  'cognome_intestatario',
  'email_intestatario',
  'cf_alunno',
  'nome_alunno',
  'cognome_alunno',
  'servizio',
  'anno',
  'descrizione',
  'importo',
  'rate',
  'scadenze',
  'importi_rate',
] as const
export type Column = (typeof COLUMNS)[number]
export const REQUIRED_COLUMNS: Column[] = [
  'cf_intestatario',
  'nome_intestatario',
  'cognome_intestatario',
  'servizio',
  'anno',
  'descrizione',
  'importo',
  'rate',
  'scadenze',
]

export interface Problem {
  line: number
  field: string | null
  /** i18n key under backoffice.csv.problem. */
  code: string
  params?: Record<string, string | number>
}

export interface ImportLine {
  line: number
  payerCf: string
  payerGiven: string
  payerFamily: string
  payerEmail: string | null
  pupilCf: string | null
  pupilGiven: string | null
  pupilFamily: string | null
  service: string
  year: number
  description: string
  installments: { dueDate: string; amountCents: number }[]
  totalCents: number
}

/** The template offered for download: the header and two example lines. */
export function templateCsv(): string {
  const rows = [
    COLUMNS.join(';'),
    'RSSMRA80A01H501U;Mario;Rossi;mario.rossi@example.it;RSSGLI15P50H501M;Giulia;Rossi;mensa;2026;Mensa scolastica settembre-dicembre;192,00;3;30/09/2026|31/10/2026|30/11/2026;',
    'VRDGPP75C12F205K;Giuseppe;Verdi;;;;;trasporto;2026;Trasporto scolastico a.s. 2026/2027;150,50;2;31/10/2026|28/02/2027;75,50|75,00',
  ]
  return `\uFEFF${rows.join('\r\n')}\r\n`
}

// ---- decoding

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** UTF-8 text without its BOM, or the lines (1-based) holding bytes that are not UTF-8. */
export function decode(bytes: Uint8Array): { text: string } | { badLines: number[] } {
  let body = bytes
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3)
  try {
    return { text: utf8.decode(body) }
  } catch {
    const badLines: number[] = []
    let start = 0
    let line = 1
    for (let i = 0; i <= body.length; i++) {
      if (i === body.length || body[i] === 0x0a) {
        try {
          utf8.decode(body.subarray(start, i))
        } catch {
          badLines.push(line)
        }
        start = i + 1
        line++
      }
    }
    return { badLines }
  }
}

/** ';' or ',' from the header line: whichever appears (outside quotes) more often; null if neither does. */
export function detectSeparator(header: string): ';' | ',' | null {
  let semi = 0
  let comma = 0
  let quoted = false
  for (const ch of header) {
    if (ch === '"') quoted = !quoted
    else if (!quoted && ch === ';') semi++
    else if (!quoted && ch === ',') comma++
  }
  if (semi === 0 && comma === 0) return null
  return semi >= comma ? ';' : ','
}

const NAME_RE = /^[\p{L}\p{M}' .-]+$/u
const clean = (s: string | undefined) => (s ?? '').replace(/\s+/g, ' ').trim()

/** The key that makes two documents the same: service, payer, pupil, year and description (case and spaces aside). */
export function duplicateKey(l: {
  service: string
  payerCf: string
  pupilCf: string | null
  year: number
  description: string
}) {
  return [l.service, l.payerCf, l.pupilCf ?? '', l.year, normalizeDescription(l.description)].join('\u0000')
}

export function normalizeDescription(s: string): string {
  return s.replace(/\s+/g, ' ').trim().toLowerCase()
}

export interface ParsedFile {
  lines: ImportLine[]
  problems: Problem[]
  lineCount: number
}

/** Everything that can be checked without the database. */
export function parseImport(text: string): ParsedFile {
  const problems: Problem[] = []
  const firstBreak = text.search(/\r?\n/)
  const header = firstBreak < 0 ? text : text.slice(0, firstBreak)
  if (header.trim() === '') return { lines: [], problems: [{ line: 1, field: null, code: 'empty' }], lineCount: 0 }
  const delimiter = detectSeparator(header)
  if (!delimiter) return { lines: [], problems: [{ line: 1, field: null, code: 'separator' }], lineCount: 0 }

  let records: { record: string[]; info: { lines: number } }[]
  try {
    records = parse(text, {
      delimiter,
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      info: true,
      max_record_size: 64 * 1024,
    }) as unknown as { record: string[]; info: { lines: number } }[]
  } catch (err) {
    if (err instanceof CsvError) {
      const line = Number((err as unknown as { lines?: number }).lines ?? 1) || 1
      return { lines: [], problems: [{ line, field: null, code: 'syntax' }], lineCount: 0 }
    }
    throw err
  }
  const [head, ...rows] = records
  if (!head) return { lines: [], problems: [{ line: 1, field: null, code: 'empty' }], lineCount: 0 }
  const names = head.record.map((h) => h.trim().toLowerCase())
  const index = new Map<string, number>()
  names.forEach((n, i) => {
    if (!(COLUMNS as readonly string[]).includes(n))
      problems.push({ line: 1, field: n || `#${i + 1}`, code: 'unknownColumn' })
    else if (index.has(n)) problems.push({ line: 1, field: n, code: 'repeatedColumn' })
    else index.set(n, i)
  })
  for (const col of REQUIRED_COLUMNS) if (!index.has(col)) problems.push({ line: 1, field: col, code: 'missingColumn' })
  // a header of one cell that holds the column names: the file uses another separator (tab, |)
  if (names.length === 1 && /[\t|]/.test(header))
    return { lines: [], problems: [{ line: 1, field: null, code: 'separator' }], lineCount: 0 }
  if (problems.length) return { lines: [], problems, lineCount: rows.length }
  if (rows.length === 0) return { lines: [], problems: [{ line: 1, field: null, code: 'noLines' }], lineCount: 0 }
  if (rows.length > MAX_LINES)
    return {
      lines: [],
      problems: [{ line: 1, field: null, code: 'tooManyLines', params: { max: MAX_LINES } }],
      lineCount: rows.length,
    }

  const lines: ImportLine[] = []
  const seen = new Map<string, number>()
  for (const { record, info } of rows) {
    const line = info.lines
    if (record.length !== names.length) {
      problems.push({
        line,
        field: null,
        code: 'columnCount',
        params: { found: record.length, expected: names.length },
      })
      continue
    }
    const get = (col: Column) => clean(index.has(col) ? record[index.get(col) as number] : '')
    const before = problems.length
    const bad = (field: Column, code: string, params?: Problem['params']) =>
      problems.push({ line, field, code, params })

    const payerCf = normalizeCodiceFiscale(get('cf_intestatario'))
    if (!payerCf) bad('cf_intestatario', 'required')
    else if (!isValidCodiceFiscale(payerCf)) bad('cf_intestatario', 'cf')
    const payerGiven = get('nome_intestatario')
    const payerFamily = get('cognome_intestatario')
    for (const [col, v] of [
      ['nome_intestatario', payerGiven],
      ['cognome_intestatario', payerFamily],
    ] as const) {
      if (!v) bad(col, 'required')
      else if (v.length > 80 || !NAME_RE.test(v)) bad(col, 'name')
    }
    const email = get('email_intestatario').toLowerCase()
    if (email && (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))) bad('email_intestatario', 'email')

    const pupilCfRaw = normalizeCodiceFiscale(get('cf_alunno'))
    const pupilGiven = get('nome_alunno')
    const pupilFamily = get('cognome_alunno')
    const hasPupil = Boolean(pupilCfRaw || pupilGiven || pupilFamily)
    if (hasPupil) {
      if (!pupilCfRaw) bad('cf_alunno', 'required')
      else if (!isValidCodiceFiscale(pupilCfRaw)) bad('cf_alunno', 'cf')
      for (const [col, v] of [
        ['nome_alunno', pupilGiven],
        ['cognome_alunno', pupilFamily],
      ] as const) {
        if (!v) bad(col, 'required')
        else if (v.length > 80 || !NAME_RE.test(v)) bad(col, 'name')
      }
      if (pupilCfRaw && pupilCfRaw === payerCf) bad('cf_alunno', 'pupilIsPayer')
    }

    const service = get('servizio').toLowerCase()
    if (!service) bad('servizio', 'required')
    else if (!/^[a-z0-9-]{1,40}$/.test(service)) bad('servizio', 'unknownService', { code: service })

    const yearRaw = get('anno')
    const year = Number(yearRaw)
    if (!yearRaw) bad('anno', 'required')
    else if (!/^\d{4}$/.test(yearRaw) || year < 2000 || year > 2100) bad('anno', 'year')

    const description = get('descrizione')
    if (!description) bad('descrizione', 'required')
    else if (description.length < 3 || description.length > 200) bad('descrizione', 'description')

    const totalRaw = get('importo')
    const total = totalRaw ? parseMoney(totalRaw) : null
    if (!totalRaw) bad('importo', 'required')
    else if (total === null || total <= 0 || total > 99_999_999) bad('importo', 'amount')

    const countRaw = get('rate')
    const count = Number(countRaw)
    if (!countRaw) bad('rate', 'required')
    else if (!/^\d{1,2}$/.test(countRaw) || count < 1 || count > MAX_INSTALLMENTS)
      bad('rate', 'count', { max: MAX_INSTALLMENTS })
    const countOk = /^\d{1,2}$/.test(countRaw) && count >= 1 && count <= MAX_INSTALLMENTS

    const dueRaw = get('scadenze')
    const dueParts = dueRaw ? dueRaw.split('|').map((s) => s.trim()) : []
    const dues: string[] = []
    if (!dueRaw) bad('scadenze', 'required')
    else {
      const parsed = dueParts.map(parseItalianDate)
      const wrong = dueParts.filter((_, i) => parsed[i] === null)
      if (wrong.length) bad('scadenze', 'date', { value: wrong.join(', ') })
      else {
        dues.push(...(parsed as string[]))
        if (countOk && dues.length !== count) bad('scadenze', 'dueCount', { found: dues.length, expected: count })
        else if (dues.some((d, i) => i > 0 && d <= (dues[i - 1] as string))) bad('scadenze', 'dueOrder')
      }
    }

    let amounts: number[] = []
    const amountsRaw = get('importi_rate')
    if (amountsRaw) {
      const parts = amountsRaw.split('|').map((s) => s.trim())
      const parsed = parts.map((p) => parseMoney(p))
      if (parsed.some((x) => x === null || x <= 0)) bad('importi_rate', 'amounts')
      else {
        amounts = parsed as number[]
        if (countOk && amounts.length !== count)
          bad('importi_rate', 'amountCount', { found: amounts.length, expected: count })
        else if (total !== null && amounts.reduce((s, x) => s + x, 0) !== total) bad('importi_rate', 'amountSum')
      }
    } else if (total !== null && total > 0 && countOk) {
      if (total < count) bad('importo', 'tooSmall')
      else amounts = splitEvenly(total, count)
    }

    if (problems.length > before) continue
    const entry: ImportLine = {
      line,
      payerCf,
      payerGiven,
      payerFamily,
      payerEmail: email || null,
      pupilCf: hasPupil ? pupilCfRaw : null,
      pupilGiven: hasPupil ? pupilGiven : null,
      pupilFamily: hasPupil ? pupilFamily : null,
      service,
      year,
      description,
      installments: dues.map((d, i) => ({ dueDate: d, amountCents: amounts[i] as number })),
      totalCents: total as number,
    }
    const key = duplicateKey(entry)
    const first = seen.get(key)
    if (first !== undefined) {
      problems.push({ line, field: null, code: 'duplicateInFile', params: { first } })
      continue
    }
    seen.set(key, line)
    lines.push(entry)
  }
  return { lines, problems, lineCount: rows.length }
}
