// Keeps payments moving when notifications are lost or a process died halfway: asks the provider about
// stale pending payments, expires abandoned ones (releasing their installments) and completes the tenant
// side of final payments whose application was interrupted.
import type { Db } from '../../platform/db.ts'
import type { PaymentProvider } from '../../platform/payment-provider.ts'
import { applyToTenants, finish, RELEASE_GRACE_SECONDS, refreshFromProvider } from './service.ts'

export interface ReconcileCounts {
  applied: number
  refreshed: number
  expired: number
  errors: number
}

export async function reconcilePayments(
  db: Db,
  provider: PaymentProvider,
  opts: { staleSeconds?: number; createdMinutes?: number; graceSeconds?: number } = {},
): Promise<ReconcileCounts> {
  const counts: ReconcileCounts = { applied: 0, refreshed: 0, expired: 0, errors: 0 }
  const grace = opts.graceSeconds ?? RELEASE_GRACE_SECONDS
  const unapplied = await db.sql<{ id: number }[]>`
    select distinct p.id from platform.payments p join platform.payment_items pi on pi.payment_id = p.id
    where p.status in ('succeeded', 'failed', 'cancelled', 'expired') and pi.applied_at is null limit 500`
  for (const p of unapplied) {
    try {
      await applyToTenants(db, p.id)
      counts.applied++
    } catch {
      counts.errors++
    }
  }
  const stale = await db.sql<{ id: number; overdue: boolean }[]>`
    select id, expires_at + make_interval(secs => ${grace}) < now() as overdue
    from platform.payments
    where status = 'pending' and provider = ${provider.name}
      and (updated_at < now() - make_interval(secs => ${opts.staleSeconds ?? 60})
           -- past its hold, whenever it was last asked about: released on the first run after (heldUntil)
           or expires_at + make_interval(secs => ${grace}) < now())
    order by id limit 500`
  for (const p of stale) {
    try {
      const s = await refreshFromProvider(db, provider, p.id)
      counts.refreshed++
      if (s === 'pending' && p.overdue) {
        if (await finish(db, p.id, 'expired', { source: 'reconciliation', detail: 'provider session expired' }))
          counts.expired++
      } else {
        await db.sql`update platform.payments set updated_at = now() where id = ${p.id} and status = 'pending'`
      }
    } catch {
      counts.errors++
    }
  }
  // payments that never reached the provider (the process stopped between reservation and hand-off)
  const abandoned = await db.sql<{ id: number }[]>`
    select id from platform.payments where status = 'created' and created_at < now() - make_interval(mins => ${opts.createdMinutes ?? 15})
    limit 500`
  for (const p of abandoned) {
    if (await finish(db, p.id, 'expired', { source: 'reconciliation', detail: 'never handed to the provider' }))
      counts.expired++
  }
  return counts
}
