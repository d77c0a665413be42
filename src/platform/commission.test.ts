import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { commissionCents, describeCommission } from './commission.ts'

describe('commission rules', () => {
  it('Monopoli gross-up 1,5%: € 154,60 → commissione € 2,36, totale € 156,96', () => {
    const rule = { type: 'grossup', basisPoints: 150 } as const
    expect(commissionCents(rule, 15460)).toBe(236)
    expect(describeCommission(rule).params.effective).toBe('1,522843')
  })
  it('none, fixed and percent', () => {
    expect(commissionCents({ type: 'none' }, 15460)).toBe(0)
    expect(commissionCents({ type: 'fixed', cents: 100 }, 15460)).toBe(100)
    expect(commissionCents({ type: 'percent', basisPoints: 100 }, 15460)).toBe(155) // 154,6 rounded up
    expect(commissionCents({ type: 'percent', basisPoints: 100 }, 15400)).toBe(154)
  })
  it('gross-up always leaves the creditor the whole amount after the provider fee', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 ** 9 }), fc.integer({ min: 1, max: 500 }), (amount, bp) => {
        const c = commissionCents({ type: 'grossup', basisPoints: bp }, amount)
        const total = amount + c
        // what the provider keeps: bp of the total, rounded to the nearest cent at most
        expect(total - Math.floor((total * bp) / 10_000)).toBeGreaterThanOrEqual(amount)
        expect(c).toBeGreaterThanOrEqual(0)
      }),
    )
  })
})
