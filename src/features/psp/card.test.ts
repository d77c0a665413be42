import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  cardMask,
  cardNumberProblem,
  cvvProblem,
  expiryProblem,
  luhnValid,
  normalizeCardNumber,
  sandboxOutcome,
  TEST_CARDS,
} from './card.ts'
import { MAX_ATTEMPTS, retryDelaySeconds } from './delivery.ts'
import { cardFormSchema } from './schema.ts'
import { signNotification, verifySignature } from './signature.ts'

/** Appends the Luhn check digit to a string of digits. */
function withCheckDigit(body: string): string {
  for (let d = 0; d < 10; d++) if (luhnValid(body + d)) return body + d
  throw new Error('unreachable')
}

describe('card number', () => {
  it('accepts the test cards and well-known test numbers, with spaces', () => {
    for (const n of [...Object.values(TEST_CARDS), '4242 4242 4242 4242', '3782 822463 10005', '5555555555554444']) {
      expect(cardNumberProblem(n), n).toBeNull()
    }
  })
  it('names the problem', () => {
    expect(cardNumberProblem('')).toBe('required')
    expect(cardNumberProblem('   ')).toBe('required')
    expect(cardNumberProblem('4242-4242-4242-424x')).toBe('format')
    expect(cardNumberProblem('424242424242')).toBe('length')
    expect(cardNumberProblem('42424242424242424242')).toBe('length')
    expect(cardNumberProblem('4242424242424241')).toBe('luhn')
  })
  it('any number with its check digit passes, any single changed digit fails', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 12, maxLength: 18 }),
        fc.nat(),
        fc.integer({ min: 1, max: 9 }),
        (body, at, delta) => {
          const n = withCheckDigit(body)
          expect(cardNumberProblem(n)).toBeNull()
          const i = at % n.length
          const changed = n.slice(0, i) + String((Number(n[i]) + delta) % 10) + n.slice(i + 1)
          expect(luhnValid(changed)).toBe(false)
        },
      ),
    )
  })
  it('normalises spaces and hyphens only', () => {
    expect(normalizeCardNumber(' 4242 4242-4242 4242 ')).toBe('4242424242424242')
  })
})

describe('expiry', () => {
  // 15 March 2026, 00:30 in Rome is still 14 March in UTC: Rome's month counts
  const now = new Date('2026-02-28T23:30:00Z') // 1 March 2026 in Rome
  it('is valid through the end of its month in Rome', () => {
    expect(expiryProblem('3', '2026', now)).toBeNull()
    expect(expiryProblem('03', '26', now)).toBeNull()
    expect(expiryProblem('2', '2026', now)).toBe('past')
    expect(expiryProblem('12', '2025', now)).toBe('past')
  })
  it('names the problem', () => {
    expect(expiryProblem('', '2027', now)).toBe('required')
    expect(expiryProblem('13', '2027', now)).toBe('format')
    expect(expiryProblem('0', '2027', now)).toBe('format')
    expect(expiryProblem('1', '207', now)).toBe('format')
    expect(expiryProblem('1', '2090', now)).toBe('far')
  })
})

describe('CVV', () => {
  it('3 digits, 4 for American Express (34, 37)', () => {
    expect(cvvProblem('123', '4242424242424242')).toBeNull()
    expect(cvvProblem('1234', '4242424242424242')).toBe('length3')
    expect(cvvProblem('1234', '3782 822463 10005')).toBeNull()
    expect(cvvProblem('123', '341111111111111')).toBe('length4')
    expect(cvvProblem(' ', '4242424242424242')).toBe('required')
    expect(cvvProblem('12a', '4242424242424242')).toBe('length3')
  })
})

describe('sandbox outcome', () => {
  it('follows the documented test cards; any other valid number succeeds', () => {
    expect(sandboxOutcome('4242 4242 4242 4242')).toBe('succeeded')
    expect(sandboxOutcome('4000 0000 0000 0002')).toBe('failed')
    expect(sandboxOutcome('4000 0000 0000 0259')).toBe('hang')
    expect(sandboxOutcome('5555555555554444')).toBe('succeeded')
  })
})

describe('card form schema', () => {
  it('reports every field with an i18n key', () => {
    const r = cardFormSchema(new Date('2026-03-01T10:00:00Z')).safeParse({})
    expect(r.success).toBe(false)
    const messages = r.error?.issues.map((i) => [i.path[0], i.message])
    expect(messages).toEqual([
      ['cardholderName', 'psp.error.name.required'],
      ['cardNumber', 'psp.error.cardNumber.required'],
      ['expiry', 'psp.error.expiry.required'],
      ['cvv', 'psp.error.cvv.required'],
    ])
  })
})

describe('notification signature', () => {
  const secret = 'x'.repeat(40)
  it('verifies within 5 minutes, not older, not more than a minute ahead', () => {
    const t = 1_800_000_000
    const sig = signNotification(secret, '{"a":1}', t)
    expect(verifySignature(secret, '{"a":1}', sig, t * 1000)).toBe(true)
    expect(verifySignature(secret, '{"a":1}', sig, (t + 300) * 1000)).toBe(true)
    expect(verifySignature(secret, '{"a":1}', sig, (t + 301) * 1000)).toBe(false)
    expect(verifySignature(secret, '{"a":1}', sig, (t - 61) * 1000)).toBe(false)
    expect(verifySignature(secret, '{"a":2}', sig, t * 1000)).toBe(false)
    expect(verifySignature(`${secret}y`, '{"a":1}', sig, t * 1000)).toBe(false)
  })
})

describe('delivery backoff', () => {
  it('5 s, 30 s, 2 min, 10 min, 1 h, then hourly; stops after 8 attempts', () => {
    const waits = Array.from({ length: MAX_ATTEMPTS }, (_, i) => retryDelaySeconds(i + 1))
    expect(waits).toEqual([5, 30, 120, 600, 3600, 3600, 3600, null])
  })
})

describe('cardMask', () => {
  it('keeps the brand and the last four digits, nothing else of the number', () => {
    expect(cardMask('4242 4242 4242 4242')).toBe('VISA ****4242')
    expect(cardMask('3782 822463 10005')).toBe('AMEX ****0005')
    expect(cardMask('5555555555554444')).toBe('MASTERCARD ****4444')
    expect(cardMask('6011111111111117')).toBe('CARTA ****1117')
    expect(cardMask('4000 0000 0000 0002')).not.toMatch(/0000 ?0000/)
  })
})
