// Every scheduled job, by name: what it does and when (cron in Europe/Rome). The scheduler runs them; an
// operator can run one now with `npm run job -- <name>`. Each returns counts for the run record.
import { resolve } from 'node:path'
import { chargeMealsJob, lowBalanceJob } from '../features/canteen/jobs.ts'
import { runIoMessages } from '../features/io/service.ts'
import { runArchiveSync } from '../features/pagopa/archive.ts'
import { syncFlows } from '../features/pagopa/fdr.ts'
import { reconcilePayments } from '../features/payments/maintenance.ts'
import { deliverPending } from '../features/psp/delivery.ts'
import { importDropFolder } from '../features/reconciliation/folder.ts'
import { linkSecret } from '../features/reminders/link.ts'
import { runReminders } from '../features/reminders/service.ts'
import { withdrawAbandoned } from '../features/spontaneous/service.ts'
import { todayRome } from '../platform/dates.ts'
import { forEachTenant, type JobDefinition, JobFailure } from '../platform/jobs.ts'
import { drainOutbox } from '../platform/mail.ts'
// the attachments made when mail is sent: a formal reminder's notices (the payment receipt's renderer comes with payments)
import '../features/solleciti/service.ts'
import { pruneRuns } from './runs.ts'

export type { JobContext, JobDefinition } from '../platform/jobs.ts'

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
    name: 'reconciliation',
    schedule: '* * * * *',
    description:
      "Asks the provider about stale pending payments, expires abandoned ones, completes interrupted ones; imports reporting flows and bank statements from the drop folders, and the flows published on pagoPA's FdR interface",
    leaseMinutes: 30,
    run: async (ctx) => {
      const payments = await reconcilePayments(ctx.db, ctx.provider)
      ctx.kickMail()
      const flowsDir = ctx.flowsDir ?? resolve(ctx.config.dataDir, 'flussi')
      try {
        const flows = await forEachTenant(ctx, 'reconciliation', async (tenant) => {
          const folder = await importDropFolder(ctx.db.sql, tenant, flowsDir, { now: ctx.now, step: ctx.step })
          // and the flows the body's PSPs published on pagoPA's FdR interface, where the body connected it
          const rest = await syncFlows(ctx.db, tenant, {
            secretsKey: ctx.config.secretsKey,
            log: ctx.log,
            now: ctx.now,
          })
          return { ...folder, ...Object.fromEntries(Object.entries(rest).map(([k, v]) => [`fdr_${k}`, v])) }
        })
        return { ...payments, ...flows }
      } catch (err) {
        if (err instanceof JobFailure) throw new JobFailure(err.message, { ...payments, ...err.counts })
        throw err
      }
    },
  },
  {
    name: 'pagopa-archive',
    schedule: '* * * * *',
    description:
      "Keeps every payable position in pagoPA's central archive (ACA) as it is here, for Stand-In: creates, updates, marks paid, invalidates; retries failures",
    leaseMinutes: 30,
    run: runArchiveSync,
  },
  {
    name: 'io-messages',
    schedule: '* * * * *',
    description:
      'Sends notices, reminders and formal reminders to the IO app of families who enabled the service (profile looked up first), never twice',
    run: runIoMessages,
  },
  {
    name: 'reminders',
    schedule: '0 8 * * *',
    description: 'Emails due-date reminders (tenant setting reminderDays), once per installment and offset',
    leaseMinutes: 60,
    run: async (ctx) => {
      const secret = linkSecret(ctx.config.sessionSecret)
      const today = todayRome(ctx.now)
      try {
        return await forEachTenant(ctx, 'reminders', async (tenant) => ({
          ...(await runReminders(ctx.db.sql, tenant, {
            today,
            baseUrl: ctx.config.baseUrl,
            linkSecret: secret,
            step: ctx.step,
          })),
        }))
      } finally {
        ctx.kickMail()
      }
    },
  },
  {
    name: 'spontaneous-cleanup',
    schedule: '40 2 * * *',
    description: 'Withdraws spontaneous payment requests left unpaid for a day (cancels their document)',
    run: (ctx) =>
      forEachTenant(ctx, 'spontaneous-cleanup', async (tenant) => ({
        withdrawn: (await withdrawAbandoned(ctx.db, tenant, ctx.now)).length,
      })),
  },
  {
    name: 'canteen-charge-meals',
    schedule: '5,35 9-15 * * *',
    description:
      "Charges one meal to every pupil the canteen serves that day and who is not absent, after the tenant's cut-off; once per day",
    run: (ctx) => chargeMealsJob(ctx),
  },
  {
    name: 'canteen-low-balance',
    schedule: '0 16 * * *',
    description:
      "Emails the family when a pupil's canteen balance falls below the tenant's threshold (once per crossing)",
    run: (ctx) => lowBalanceJob(ctx),
  },
  {
    name: 'job-runs-cleanup',
    schedule: '17 3 * * *',
    description: 'Deletes run records: successful runs after 7 days, failures after 90',
    run: async ({ db }) => ({ deleted: await pruneRuns(db.sql) }),
  },
]

export function findJob(name: string): JobDefinition | undefined {
  return JOBS.find((j) => j.name === name)
}
