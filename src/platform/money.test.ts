import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatDecimalIt, formatMoney, parseMoney, splitEvenly } from './money.ts'

describe('money', () => {
  it('formats Italian amounts with grouping and a no-break space before €', () => {
    expect(formatMoney(123450)).toBe('1.234,50\u00a0€')
    expect(formatMoney(580)).toBe('5,80\u00a0€')
    expect(formatMoney(0)).toBe('0,00\u00a0€')
  })
  it('refuses non-integer cents', () => {
    expect(() => formatMoney(1.5)).toThrow()
  })
  it('parses what people type', () => {
    expect(parseMoney('58')).toBe(5800)
    expect(parseMoney('58,5')).toBe(5850)
    expect(parseMoney('1.234,56')).toBe(123456)
    expect(parseMoney('1234.56')).toBe(123456)
    expect(parseMoney('€ 12,30')).toBe(1230)
    expect(parseMoney('12,345')).toBeNull()
    expect(parseMoney('abc')).toBeNull()
    expect(parseMoney('-5')).toBeNull()
    expect(parseMoney('')).toBeNull()
  })
  it('round-trips through the spreadsheet format', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 11 }), (c) => {
        expect(parseMoney(formatDecimalIt(c))).toBe(c)
      }),
    )
  })
  it('splits evenly with the remainder on the last installment, losing nothing', () => {
    expect(splitEvenly(19200, 3)).toEqual([6400, 6400, 6400])
    expect(splitEvenly(10000, 3)).toEqual([3333, 3333, 3334])
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 ** 9 }), fc.integer({ min: 1, max: 12 }), (t, n) => {
        const parts = splitEvenly(t, n)
        expect(parts.reduce((a, b) => a + b, 0)).toBe(t)
      }),
    )
  })
})
