import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  buildNotice,
  formatNoticeCode,
  noticeCodeProblem,
  parseNoticeCode,
  parseQrPayload,
  qrPayload,
} from './pagopa.ts'

const vectors = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/pagopa/test_vectors.json', import.meta.url), 'utf8'),
)

describe('notice code', () => {
  it('rebuilds the public valid vectors from their parts', () => {
    for (const v of vectors.notice_number_mod93_valid) {
      const built = buildNotice(v.segregation, v.iuvBase13)
      expect(built.noticeCode).toBe(v.noticeNumber)
      expect(built.iuv).toBe(v.noticeNumber.slice(1))
      expect(noticeCodeProblem(v.noticeNumber)).toBeNull()
    }
  })
  it('rejects the official placeholders whose check digits are not mod 93', () => {
    for (const v of vectors.notice_number_format_valid_but_check_digits_NOT_mod93) {
      expect(noticeCodeProblem(v.noticeNumber)).toBe('check')
    }
  })
  it('rejects malformed codes and deprecated aux digits for new notices', () => {
    for (const v of vectors.notice_number_parse_cases.invalid) expect(noticeCodeProblem(v.v)).not.toBeNull()
    expect(noticeCodeProblem('044012345678901200')).toBe('aux')
  })
  it('every built code parses back to its parts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 49 }), fc.bigInt({ min: 0n, max: 10n ** 13n - 1n }), (seg, base) => {
        const s = String(seg).padStart(2, '0')
        const b = base.toString().padStart(13, '0')
        const { noticeCode } = buildNotice(s, b)
        expect(parseNoticeCode(noticeCode)).toMatchObject({ segregation: s, base13: b })
      }),
    )
  })
  it('formats in groups of four', () => {
    expect(formatNoticeCode('302032002700000251')).toBe('3020 3200 2700 0002 51')
  })
})

describe('QR payload', () => {
  it('emits cents without separators', () => {
    expect(qrPayload('302032002700000251', '03334231200', 11)).toBe('PAGOPA|002|302032002700000251|03334231200|11')
  })
  it('parses every public valid payload and none of the invalid ones', () => {
    for (const v of vectors.qr_code_payloads.valid) {
      const p = parseQrPayload(v.v)
      expect(p, v.v).not.toBeNull()
      if (v.amountCents !== undefined) expect(p?.amountCents).toBe(v.amountCents)
    }
    for (const v of vectors.qr_code_payloads.invalid) expect(parseQrPayload(v.v), v.v).toBeNull()
  })
})
