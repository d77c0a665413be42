// What every scheduled job is given and how it walks the tenants: shared by src/jobs (the scheduler, the runner,
// the registry) and the features whose jobs it lists, so it lives below both.
// Jobs walk the tenants one by one: only active ones (suspended and half-onboarded tenants are skipped), each
// in its own transactions, and a failure in one tenant does not stop the others.
import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import type { Db } from './db.ts'
import type { PaymentProvider } from './payment-provider.ts'
import type { Tenant, TenantRegistry } from './tenancy.ts'

/** A run that did part of its work: the counts of what was done are recorded with the error. */
export class JobFailure extends Error {
  constructor(
    message: string,
    readonly counts: Record<string, number>,
  ) {
    super(message)
  }
}

export async function activeTenants(ctx: Pick<JobContext, 'tenants' | 'onlyTenants'>): Promise<Tenant[]> {
  const all = await ctx.tenants.list()
  return all.filter((t) => t.status === 'active' && (!ctx.onlyTenants || ctx.onlyTenants.includes(t.slug)))
}

function add(into: Record<string, number>, from: Record<string, number>) {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v
}

/**
 * Runs fn for every active tenant and sums the counts. Tenants that fail are logged and reported; when any
 * failed, a JobFailure carrying the counts of the others is thrown at the end.
 */
export async function forEachTenant(
  ctx: JobContext,
  jobName: string,
  fn: (tenant: Tenant) => Promise<Record<string, number>>,
): Promise<Record<string, number>> {
  const totals: Record<string, number> = { tenants: 0 }
  const failed: string[] = []
  for (const tenant of await activeTenants(ctx)) {
    // a run taken over by another instance stops here: the taker does the rest
    ctx.signal?.throwIfAborted()
    try {
      const counts = await fn(tenant)
      totals.tenants = (totals.tenants ?? 0) + 1
      add(totals, counts)
      // only tenants where something happened: a run over a thousand idle tenants stays a small record
      if (Object.values(counts).some((v) => v !== 0)) ctx.report?.(tenant.slug, counts)
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      ctx.log.error({ err, job: jobName, tenant: tenant.slug }, 'job failed for a tenant')
      failed.push(`${tenant.slug}: ${message}`)
      ctx.report?.(tenant.slug, { failed: 1 })
    }
  }
  if (failed.length) {
    totals.failedTenants = failed.length
    throw new JobFailure(`${failed.length} tenant(s) failed: ${failed.join('; ')}`, totals)
  }
  return totals
}

export interface JobContext {
  db: Db
  config: Config
  log: Logger
  provider: PaymentProvider
  tenants: TenantRegistry
  /** the slot's time (for a scheduled run) or now */
  now: Date
  kickMail: () => void
  /** only these tenants (slugs): `npm run job -- <name> --tenant <slug>`, and tests sharing one database */
  onlyTenants?: string[]
  /** where reporting flows and bank statements are dropped: <flowsDir>/<tenant slug>/ */
  flowsDir?: string
  /** per-tenant counts for the run record (forEachTenant below calls it) */
  report?: (tenantSlug: string, counts: Record<string, number>) => void
  /** aborted when the run was taken over by another instance (its heartbeat found it no longer its own) */
  signal?: AbortSignal
  /** tests: called between a job's steps; throwing simulates a crash at that point */
  step?: (name: string) => void | Promise<void>
}

export interface JobDefinition {
  name: string
  /** node-cron expression, evaluated in Europe/Rome */
  schedule: string
  description: string
  /** how long a run may take before another instance may consider it dead (default 15) */
  leaseMinutes?: number
  run(ctx: JobContext): Promise<Record<string, number>>
}
