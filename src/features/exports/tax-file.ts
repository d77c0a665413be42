// The yearly file for the Agenzia delle Entrate (730 precompilata) of a body's school and nursery expenses and their
// refunds, per pupil and payer (docs/tax-agency-file.md, decision 0098): two supplies — school expenses (SCOL) and
// nursery fees (NIDO) — each a fixed-width ASCII file of 1798-character records (record 0 head, 1 the body, 2 one
// expense or refund, 9 tail) ended by 'A' and CR LF. Amounts are whole euro, the year's cents summed and rounded half
// up; expenses gross, refunds on records of their own with the year the refunded money was paid. Pure: rows in, text
// and a report out. The record positions follow the published content; the positions and codes the public material
// does not give are Sportello's, marked in the layout document, to be checked against the Agency's specification.

export const RECORD_LENGTH = 1798
export type Supply = 'SCOL' | 'NIDO'

/** The supply codes (codice fornitura) in the head record: placeholders until the Agency's specification is at hand. */
export const SUPPLY_CODE: Record<Supply, string> = { SCOL: 'SCOL1', NIDO: 'NIDO1' }

export interface TaxLine {
  supply: Supply
  /** SCOL: '02' contributions and services (canteen, transport, trips…), '03' donations; NIDO: '00' */
  type: '00' | '02' | '03'
  kind: 'S' | 'R'
  /** the pupil's codice fiscale, or null (then the line goes to the report, not the file) */
  pupilCf: string | null
  pupilName: string
  /** who paid (S) or who got the refund (R) */
  payerCf: string
  payerName: string
  /** the year the money was paid (for a refund: the year of the payment it gives back) */
  year: number
  cents: number
  /** where it comes from, for the report: receipt number or refund number */
  ref: string
}

export interface Body {
  fiscalCode: string
  name: string
  /** the postal address: comune and provincia are read from its end ("70043 Monopoli BA") */
  address: string
}

export interface TaxRecord {
  pupilCf: string
  pupilName: string
  payerCf: string
  payerName: string
  kind: 'S' | 'R'
  type: TaxLine['type']
  year: number
  cents: number
  euros: number
  refs: string[]
}

export interface Excluded {
  line: TaxLine
  reason: 'noPupilCf' | 'roundsToZero'
}

/** Whole euro from cents, half up (0,50 → 1). */
export const roundEuro = (cents: number): number => Math.floor((cents + 50) / 100)

/** "… 70043 Monopoli BA" or "… 70043 Monopoli (BA)" → comune and provincia; null when the address does not end so. */
export function comuneOf(address: string): { comune: string; provincia: string } | null {
  const m = /\b\d{5}\s+(.+?)\s*\(?\b([A-Za-z]{2})\)?\s*$/.exec(address.trim())
  return m ? { comune: (m[1] as string).replace(/[,\s]+$/, ''), provincia: (m[2] as string).toUpperCase() } : null
}

/** The records of one supply: lines summed per pupil, payer, expense or refund, type and year. */
export function records(lines: TaxLine[], supply: Supply): { records: TaxRecord[]; excluded: Excluded[] } {
  const excluded: Excluded[] = []
  const groups = new Map<string, TaxRecord>()
  for (const l of lines) {
    if (l.supply !== supply) continue
    if (!l.pupilCf) {
      excluded.push({ line: l, reason: 'noPupilCf' })
      continue
    }
    const key = [l.pupilCf, l.payerCf, l.kind, l.type, l.year].join('|')
    let r = groups.get(key)
    if (!r) {
      r = {
        pupilCf: l.pupilCf,
        pupilName: l.pupilName,
        payerCf: l.payerCf,
        payerName: l.payerName,
        kind: l.kind,
        type: l.type,
        year: l.year,
        cents: 0,
        euros: 0,
        refs: [],
      }
      groups.set(key, r)
    }
    r.cents += l.cents
    r.refs.push(l.ref)
  }
  const out: TaxRecord[] = []
  for (const r of groups.values()) {
    r.euros = roundEuro(r.cents)
    if (r.euros <= 0) {
      for (const ref of r.refs)
        excluded.push({
          line: { ...r, supply, cents: r.cents, ref },
          reason: 'roundsToZero',
        })
      continue
    }
    out.push(r)
  }
  out.sort(
    (a, b) =>
      a.pupilCf.localeCompare(b.pupilCf) ||
      a.payerCf.localeCompare(b.payerCf) ||
      a.kind.localeCompare(b.kind) ||
      a.type.localeCompare(b.type) ||
      a.year - b.year,
  )
  return { records: out, excluded }
}

/** Upper-case printable ASCII (hex 20–60 as the Agency's files want): accents dropped, anything else a space. */
export function ascii(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toUpperCase()
    .replace(/[^\x20-\x60]/g, ' ')
}

class Line {
  private chars: string[] = Array.from({ length: RECORD_LENGTH }, () => ' ')
  /** alphanumeric, left-aligned, space-padded, cut to length (1-based position) */
  an(pos: number, len: number, v: string) {
    const s = ascii(v).slice(0, len).padEnd(len, ' ')
    for (let i = 0; i < len; i++) this.chars[pos - 1 + i] = s[i] as string
    return this
  }
  /** numeric, right-aligned, zero-padded */
  nu(pos: number, len: number, v: number) {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`not a field value: ${v}`)
    const s = String(v)
    if (s.length > len) throw new Error(`${v} does not fit ${len} digits`)
    return this.an(pos, len, s.padStart(len, '0'))
  }
  toString() {
    this.chars[RECORD_LENGTH - 1] = 'A'
    return this.chars.join('')
  }
}

export interface FileOptions {
  supply: Supply
  year: number
  body: Body
  /** the day the file is made, 'YYYY-MM-DD' (data dell'impegno) */
  today: string
}

/** The file of one supply: head, the body, one record per expense or refund, tail; CR LF after each. */
export function taxFile(recs: TaxRecord[], o: FileOptions): string {
  const where = comuneOf(o.body.address)
  const head = (type: '0' | '9') => {
    const l = new Line().an(1, 1, type).an(2, 5, SUPPLY_CODE[o.supply]).an(7, 2, '01').an(9, 16, o.body.fiscalCode)
    if (type === '9') l.nu(25, 9, recs.length)
    return l.toString()
  }
  const [y, m, d] = o.today.split('-') as [string, string, string]
  const body = new Line()
    .an(1, 1, '1')
    .an(2, 16, o.body.fiscalCode)
    .an(18, 60, o.body.name)
    .an(78, 40, where?.comune ?? '')
    .an(118, 2, where?.provincia ?? '')
    .nu(120, 1, 0)
    .nu(121, 4, o.year)
    .nu(125, 1, 0)
    .nu(165, 1, 1)
    .an(166, 8, `${d}${m}${y}`)
    .toString()
  const details = recs.map((r, i) =>
    new Line()
      .an(1, 1, '2')
      .an(2, 16, o.body.fiscalCode)
      .nu(18, 8, i + 1)
      .an(26, 16, r.pupilCf)
      .an(42, 16, r.payerCf)
      .an(59, 1, r.kind)
      .an(60, 2, r.type)
      .nu(62, 4, r.year)
      .nu(66, 11, r.euros)
      .toString(),
  )
  return `${[head('0'), body, ...details, head('9')].join('\r\n')}\r\n`
}
