// Every scheduled job, by name: what it does and when (cron in Europe/Rome). The scheduler runs them; an
// operator can run one now with `npm run job -- <name>`. Each returns counts for the run record.
import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import { reconcilePayments } from '../features/payments/maintenance.ts'
import { deliverPending } from '../features/psp/delivery.ts'
import type { PaymentProvider } from '../features/psp/types.ts'
import type { Db } from '../platform/db.ts'
import { drainOutbox } from '../platform/mail.ts'
import type { TenantRegistry } from '../platform/tenancy.ts'

export interface JobContext {
  db: Db
  config: Config
  log: Logger
  provider: PaymentProvider
  tenants: TenantRegistry
  /** the slot's time (for a scheduled run) or now */
  now: Date
  kickMail: () => void
}

export interface JobDefinition {
  name: string
  /** node-cron expression, evaluated in Europe/Rome */
  schedule: string
  description: string
  run(ctx: JobContext): Promise<Record<string, number>>
}

export const JOBS: JobDefinition[] = [
  {
    name: 'outbox',
    schedule: '*/10 * * * * *',
    description: 'Sends queued emails, with retries and backoff',
    run: async ({ db, config }) => ({ ...(await drainOutbox(db.sql, config, 200)) }),
  },
  {
    name: 'sandbox-psp-delivery',
    schedule: '*/5 * * * * *',
    description: "Delivers the sandbox provider's signed notifications, with retries",
    run: async ({ db, config, log }) => ({ ...(await deliverPending(db, config, { log })) }),
  },
  {
    name: 'payments-reconcile',
    schedule: '* * * * *',
    description: 'Asks the provider about stale pending payments, expires abandoned ones, completes interrupted ones',
    run: async ({ db, provider, kickMail }) => {
      const r = await reconcilePayments(db, provider)
      kickMail()
      return { ...r }
    },
  },
]

export function findJob(name: string): JobDefinition | undefined {
  return JOBS.find((j) => j.name === name)
}
