import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ascii, comuneOf, RECORD_LENGTH, records, roundEuro, type TaxLine, taxFile } from './tax-file.ts'

const line = (o: Partial<TaxLine>): TaxLine => ({
  supply: 'SCOL',
  type: '02',
  kind: 'S',
  pupilCf: 'BNCLCU15C10F205Z',
  pupilName: 'Luca Bianchi',
  payerCf: 'RSSMRA80A41F205X',
  payerName: 'Maria Rossi',
  year: 2026,
  cents: 100,
  ref: 'Q',
  ...o,
})

describe('the Agency file', () => {
  it('rounds to whole euro half up', () => {
    expect([0, 49, 50, 149, 150, 3550, 123_456].map(roundEuro)).toEqual([0, 0, 1, 1, 2, 36, 1235])
  })

  it('reads comune and provincia from the end of an Italian address', () => {
    expect(comuneOf('Piazza Municipio 1, 70043 Monopoli BA')).toEqual({ comune: 'Monopoli', provincia: 'BA' })
    expect(comuneOf('Via Roma 10 - 00184 Roma (RM)')).toEqual({ comune: 'Roma', provincia: 'RM' })
    expect(comuneOf('Corso Italia 3, 39100 Bolzano Bz')).toEqual({ comune: 'Bolzano', provincia: 'BZ' })
    expect(comuneOf('Piazza Prova 1, 00100 Roma')).toBeNull()
  })

  it('writes upper-case ASCII only', () => {
    expect(ascii("Città di Sant'Agata — scuola «Dante»")).toBe("CITTA DI SANT'AGATA   SCUOLA  DANTE ")
  })

  it('sums per pupil, payer, kind, type and year; leaves out pupils without a codice fiscale and sums under 50 cents', () => {
    const { records: recs, excluded } = records(
      [
        line({ cents: 1000 }),
        line({ cents: 2550 }),
        line({ kind: 'R', cents: 449 }),
        line({ type: '03', cents: 30 }),
        line({ pupilCf: null, cents: 500 }),
        line({ supply: 'NIDO', type: '00', cents: 30_000 }),
      ],
      'SCOL',
    )
    expect(recs.map((r) => [r.kind, r.type, r.cents, r.euros])).toEqual([
      ['R', '02', 449, 4],
      ['S', '02', 3550, 36],
    ])
    expect(excluded.map((x) => [x.reason, x.line.cents])).toEqual([
      ['noPupilCf', 500],
      ['roundsToZero', 30],
    ])
  })

  it('every record is 1798 characters ending in A, whatever the names (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.string({ maxLength: 200 }),
        fc.nat({ max: 10_000_000 }),
        (name, address, cents) => {
          const text = taxFile(records([line({ cents: cents + 50 })], 'SCOL').records, {
            supply: 'SCOL',
            year: 2026,
            body: { fiscalCode: '00834210724', name, address },
            today: '2027-03-01',
          })
          const lines = text.split('\r\n')
          expect(lines.pop()).toBe('')
          for (const l of lines) {
            expect(l).toHaveLength(RECORD_LENGTH)
            expect(l.endsWith('A')).toBe(true)
            expect(l).toMatch(/^[\x20-\x60]+$/)
          }
        },
      ),
    )
  })
})
