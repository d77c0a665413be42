// Runs one job with its run record: the counts, per-tenant details, outcome and error end up in
// platform.job_runs whether the run was scheduled (after the coordinator's claim) or asked for now.
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import type { Db } from '../platform/db.ts'
import { JobFailure } from '../platform/jobs.ts'
import type { PaymentProvider } from '../platform/payment-provider.ts'
import type { TenantRegistry } from '../platform/tenancy.ts'
import type { JobContext, JobDefinition } from './registry.ts'
import { beat, finishRun, HEARTBEAT_MS, startManualRun } from './runs.ts'

export interface JobDeps {
  db: Db
  config: Config
  log: Logger
  provider: PaymentProvider
  tenants: TenantRegistry
  kickMail: () => void
  flowsDir?: string
  /** how often a run writes its heartbeat (JOBS_HEARTBEAT_SECONDS; default HEARTBEAT_MS) */
  heartbeatMs?: number
}

export interface RunResult {
  runId: number
  outcome: 'succeeded' | 'failed'
  counts: Record<string, number>
  error: string | null
}

export function instanceName(): string {
  return `${hostname()}:${process.pid}`
}

/** Runs the job under an existing run record (claimed slot or manual run) and closes the record. */
export async function executeRun(
  deps: JobDeps,
  job: JobDefinition,
  runId: number,
  opts: { now: Date; instance: string; onlyTenants?: string[]; step?: JobContext['step']; heartbeatMs?: number },
): Promise<RunResult> {
  const tenants: Record<string, Record<string, number>> = {}
  // the heartbeat: while it beats, nobody takes the run over; when the run is found to be another's (this
  // process was taken for dead: a long pause, a stalled database), the work stops at its next tenant
  const taken = new AbortController()
  const heartbeat = setInterval(
    () => {
      beat(deps.db.sql, runId, opts.instance).then(
        (mine) => {
          if (!mine && !taken.signal.aborted) taken.abort(new Error('the run was taken over by another instance'))
        },
        () => {},
      )
    },
    opts.heartbeatMs ?? deps.heartbeatMs ?? HEARTBEAT_MS,
  )
  heartbeat.unref()
  const ctx: JobContext = {
    db: deps.db,
    config: deps.config,
    log: deps.log,
    provider: deps.provider,
    tenants: deps.tenants,
    kickMail: deps.kickMail,
    flowsDir: deps.flowsDir,
    now: opts.now,
    onlyTenants: opts.onlyTenants,
    step: opts.step,
    signal: taken.signal,
    report: (slug, counts) => {
      tenants[slug] = counts
    },
  }
  const started = performance.now()
  let result: RunResult
  try {
    const counts = await job.run(ctx)
    result = { runId, outcome: 'succeeded', counts, error: null }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    result = { runId, outcome: 'failed', counts: err instanceof JobFailure ? err.counts : {}, error: message }
    deps.log.error({ err, job: job.name, runId }, 'job failed')
  }
  clearInterval(heartbeat)
  const details = Object.keys(tenants).length ? { tenants } : undefined
  if (!(await finishRun(deps.db.sql, runId, { ...result, details }, opts.instance)))
    deps.log.warn({ job: job.name, runId }, 'job run taken over by another instance: its record is theirs')
  const ms = Math.round(performance.now() - started)
  // a line per run that did something ('tenants' alone is just the walk)
  if (result.outcome === 'succeeded' && Object.entries(result.counts).some(([k, v]) => k !== 'tenants' && v > 0))
    deps.log.info({ job: job.name, runId, ms, counts: result.counts }, 'job run')
  return result
}

/** Runs a job now, outside its schedule (npm run job, the control socket, tests): recorded as 'manual'. */
export async function runJobNow(
  deps: JobDeps,
  job: JobDefinition,
  opts: { now?: Date; onlyTenants?: string[]; instance?: string; step?: JobContext['step'] } = {},
): Promise<RunResult> {
  const instance = opts.instance ?? `${instanceName()}:manual`
  const runId = await startManualRun(deps.db.sql, job.name, instance)
  return executeRun(deps, job, runId, {
    now: opts.now ?? new Date(),
    instance,
    onlyTenants: opts.onlyTenants,
    step: opts.step,
  })
}
