import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkCharacter, codiceFiscaleProblem, isValidCodiceFiscale, isValidPartitaIva } from './codice-fiscale.ts'

const vectors = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/pagopa/test_vectors.json', import.meta.url), 'utf8'),
)

describe('codice fiscale', () => {
  it('accepts the public valid vectors', () => {
    for (const v of vectors.codice_fiscale.valid as string[]) expect(codiceFiscaleProblem(v), v).toBeNull()
  })
  it('rejects the public invalid vectors for the stated reason', () => {
    expect(codiceFiscaleProblem('CSTNGL22I10D086I')).toBe('format')
    expect(codiceFiscaleProblem('FOXDRA26C24H872A')).toBe('check')
  })
  it('computes the check character of the public vectors', () => {
    for (const [first15, check] of Object.entries(vectors.codice_fiscale.calc_check_digit as Record<string, string>)) {
      expect(checkCharacter(first15)).toBe(check)
    }
  })
  it('normalises case and spaces', () => {
    expect(isValidCodiceFiscale('  mrtntn23m02d969p ')).toBe(true)
  })
  it('rejects impossible days and months', () => {
    const bad = 'MRTNTN23M32D969'
    expect(codiceFiscaleProblem(bad + checkCharacter(bad))).toBe('date')
    const feb30 = 'MRTNTN23B30D969'
    expect(codiceFiscaleProblem(feb30 + checkCharacter(feb30))).toBe('date')
    const woman = 'MRSMSR81D60Z611' // day 60 = 20th, a woman
    expect(codiceFiscaleProblem(woman + checkCharacter(woman))).toBeNull()
  })
  it('accepts omocodia substitutions, rightmost first, with the recomputed check', () => {
    // MRTNTN23M02D969P with its last digit 9 -> V
    const omo = 'MRTNTN23M02D96V'
    expect(codiceFiscaleProblem(omo + checkCharacter(omo))).toBeNull()
    const omo2 = 'MRTNTNNPMLND96V' // every replaceable digit replaced except two
    expect(codiceFiscaleProblem(omo2 + checkCharacter(omo2))).toBeNull()
  })
  it('any single-character change of a valid code is caught', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 35 }), (pos, c) => {
        const valid = 'RCCMNL83S18D969H'
        const ch = c < 10 ? String(c) : String.fromCharCode(55 + c)
        fc.pre(valid[pos] !== ch)
        const changed = valid.slice(0, pos) + ch + valid.slice(pos + 1)
        // no two characters share a value in the same position's table, so the check always changes
        expect(isValidCodiceFiscale(changed)).toBe(false)
      }),
    )
  })
})

describe('partita IVA', () => {
  it('accepts the public valid vectors', () => {
    for (const v of vectors.partita_iva.valid as string[]) expect(isValidPartitaIva(v), v).toBe(true)
  })
  it('rejects a wrong check digit and wrong lengths', () => {
    expect(isValidPartitaIva('00743110158')).toBe(false)
    expect(isValidPartitaIva('0074311015')).toBe(false)
    expect(isValidPartitaIva('0074311015A')).toBe(false)
  })
})
