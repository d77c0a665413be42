// Commission rules of a tenant (or of one service). Amounts are integer cents; rates are basis points.
import { z } from 'zod'

export const commissionRuleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('fixed'), cents: z.number().int().min(1).max(100_000) }),
  z.object({ type: z.literal('percent'), basisPoints: z.number().int().min(1).max(2000) }),
  // gross-up: the commission is the fee the PSP withholds from the total, e.g. 1,5% → 1,5/98,5 = 1,522843%
  z.object({ type: z.literal('grossup'), basisPoints: z.number().int().min(1).max(2000) }),
])
export type CommissionRule = z.infer<typeof commissionRuleSchema>

/** Integer division rounding up, for non-negative operands. */
function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b
}

/**
 * Commission on an amount. Rounding: up to the next cent, so the creditor always receives the whole amount
 * after the provider keeps its share (€ 154,60 with gross-up 1,5% → € 2,36, total € 156,96).
 */
export function commissionCents(rule: CommissionRule, amountCents: number): number {
  if (!Number.isSafeInteger(amountCents) || amountCents < 0) throw new Error('amount must be integer cents')
  const a = BigInt(amountCents)
  switch (rule.type) {
    case 'none':
      return 0
    case 'fixed':
      return amountCents === 0 ? 0 : rule.cents
    case 'percent':
      return Number(ceilDiv(a * BigInt(rule.basisPoints), 10_000n))
    case 'grossup':
      return Number(ceilDiv(a * BigInt(rule.basisPoints), 10_000n - BigInt(rule.basisPoints)))
  }
}

export function describeCommission(rule: CommissionRule): { key: string; params: Record<string, string> } {
  switch (rule.type) {
    case 'none':
      return { key: 'commission.none', params: {} }
    case 'fixed':
      return { key: 'commission.fixed', params: { cents: String(rule.cents) } }
    case 'percent':
      return { key: 'commission.percent', params: { rate: (rule.basisPoints / 100).toLocaleString('it-IT') } }
    case 'grossup': {
      const effective = (rule.basisPoints / (10_000 - rule.basisPoints)) * 100
      return {
        key: 'commission.grossup',
        params: {
          rate: (rule.basisPoints / 100).toLocaleString('it-IT'),
          effective: effective.toLocaleString('it-IT', { maximumFractionDigits: 6 }),
        },
      }
    }
  }
}
