// Settling installments in a tenant schema, whatever the channel (checkout, pagoPA node, reconciliation,
// manual): one settlement row per installment (the unique key makes paying twice impossible), the
// installment marked paid, then the features that react to a payment (e.g. the canteen wallet).
import type { Tx } from '../../platform/db.ts'
import { PAID_HOOKS } from './hooks.ts'

export interface Settlement {
  installmentId: number
  paymentId: number | null
  source: 'checkout' | 'pagopa' | 'riconciliazione' | 'manuale'
  receiptNumber: string
  amountCents: number
  paidAt: Date
  psp?: string | null
  channel?: string | null
  authCode?: string | null
}

/** Returns the installment ids this call settled; the others were already settled (by anyone). */
export async function settleInstallments(tx: Tx, settlements: Settlement[]): Promise<number[]> {
  if (settlements.length === 0) return []
  const rows = await tx<{ installment_id: number }[]>`
    insert into installment_payments ${tx(
      settlements.map((s) => ({
        installment_id: s.installmentId,
        payment_id: s.paymentId,
        source: s.source,
        receipt_number: s.receiptNumber,
        amount_cents: s.amountCents,
        paid_at: s.paidAt,
        psp: s.psp ?? null,
        channel: s.channel ?? null,
        auth_code: s.authCode ?? null,
      })),
    )}
    on conflict (installment_id) do nothing
    returning installment_id`
  const settled = rows.map((r) => r.installment_id)
  if (settled.length) {
    await tx`update installments i set status = 'pagato', paid_at = ip.paid_at, paid_cents = ip.amount_cents, pending_payment_id = null
             from installment_payments ip where ip.installment_id = i.id and i.id = any(${settled})`
    for (const hook of PAID_HOOKS) await hook(tx, settled)
  }
  return settled
}
