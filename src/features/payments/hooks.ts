// What other features do, in the same tenant transaction, when installments are settled. Each entry gets
// the ids just settled (each id once, ever).
import type { Tx } from '../../platform/db.ts'
import { creditWallets } from '../canteen/service.ts'

export type PaidHook = (tx: Tx, installmentIds: number[]) => Promise<void>

export const PAID_HOOKS: PaidHook[] = [
  // the canteen wallet: pre-loads and canteen notices paid are credited to the pupil (once per installment)
  creditWallets,
]
