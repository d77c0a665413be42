// Settling installments in a tenant schema, whatever the channel (checkout, pagoPA node, reconciliation,
// manual): one settlement row per installment (the unique key makes paying twice impossible), the
// installment marked paid, then the features that react to a payment (e.g. the canteen wallet).
import type { Tx } from '../../platform/db.ts'
import { PAID_HOOKS } from './hooks.ts'

/** How the office says a payment it recorded itself was made (source 'manuale', in `channel`). */
export const OFFLINE_METHODS = ['sportello', 'bonifico', 'altro'] as const
export type OfflineMethod = (typeof OFFLINE_METHODS)[number]

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
  /** what the office wrote of a payment it recorded itself */
  note?: string | null
}

/** Returns the installment ids this call settled; the others were already settled (by anyone). */
export async function settleInstallments(tx: Tx, settlements: Settlement[]): Promise<number[]> {
  if (settlements.length === 0) return []
  // one statement whatever the number: ten arrays, not a VALUES list of ten parameters per row
  const rows = await tx<{ installment_id: number }[]>`
    insert into installment_payments
      (installment_id, payment_id, source, receipt_number, amount_cents, paid_at, psp, channel, auth_code, note)
    select * from unnest(
      ${settlements.map((s) => s.installmentId)}::bigint[], ${settlements.map((s) => s.paymentId)}::bigint[],
      ${settlements.map((s) => s.source)}::text[], ${settlements.map((s) => s.receiptNumber)}::text[],
      ${settlements.map((s) => s.amountCents)}::bigint[], ${settlements.map((s) => s.paidAt.toISOString())}::timestamptz[],
      ${settlements.map((s) => s.psp ?? null)}::text[], ${settlements.map((s) => s.channel ?? null)}::text[],
      ${settlements.map((s) => s.authCode ?? null)}::text[], ${settlements.map((s) => s.note ?? null)}::text[])
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
