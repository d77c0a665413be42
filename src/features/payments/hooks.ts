// What other features do, in the same tenant transaction, when installments are settled. Each entry gets
// the ids just settled (each id once, ever).
import type { Tx } from '../../platform/db.ts'

export type PaidHook = (tx: Tx, installmentIds: number[]) => Promise<void>

export const PAID_HOOKS: PaidHook[] = []
