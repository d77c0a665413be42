// platform.job_runs: the run coordinator (one row per job and slot decides the one runner) and the record
// of every run, scheduled or manual, read by the platform's jobs page and the offices' "last reconciliation".
import { hostname } from 'node:os'
import type { Sql } from '../platform/db.ts'

/** How often a runner writes its run's heartbeat, and how long a silent heartbeat means the runner is gone. */
export const HEARTBEAT_MS = 10_000
export const DEAD_AFTER_MS = 45_000
const HOST = hostname()
const SILENT = 'the process stopped before the end of the run (its heartbeat went silent)'

export type RunOutcome = 'succeeded' | 'failed' | 'interrupted'

export interface RunRow {
  id: number
  job: string
  slot: Date
  instance: string
  trigger: 'schedule' | 'manual'
  started_at: Date
  finished_at: Date | null
  outcome: RunOutcome | null
  counts: Record<string, number>
  error: string | null
  attempts: number
  taken_over_from: string | null
}

/**
 * Claims a scheduled slot for this instance: true when this instance's insert created the row. A slot is
 * not claimed while another run of the same job is still going (within its lease), so a slow run on one
 * instance is not overlapped by the next slot on another. Runs left unfinished past the lease by an instance
 * that stopped are closed as 'interrupted' first.
 */
export async function claimSlot(
  sql: Sql,
  job: string,
  slot: Date,
  instance: string,
  leaseMinutes: number,
): Promise<number | null> {
  await sql`update platform.job_runs set finished_at = now(), outcome = 'interrupted',
              error = coalesce(error, 'the instance stopped before the end of the run')
            where job = ${job} and finished_at is null and started_at < now() - make_interval(mins => ${leaseMinutes})`
  const rows = await sql<{ id: number }[]>`
    insert into platform.job_runs (job, slot, instance, trigger, host, pid)
    select ${job}, ${slot}, ${instance}, 'schedule', ${HOST}, ${process.pid}
    where not exists (select 1 from platform.job_runs where job = ${job} and finished_at is null)
    on conflict (job, slot) do nothing
    returning id`
  return rows[0]?.id ?? null
}

/** Gives back slots this instance claimed but did not begin to run (it is stopping): their records go. */
export async function releaseSlots(sql: Sql, ids: number[], instance: string): Promise<void> {
  await sql`delete from platform.job_runs where id = any(${ids}) and instance = ${instance} and finished_at is null`
}

/** A run asked for by an operator (npm run job) or a test: always runs, recorded with trigger 'manual'. */
export async function startManualRun(sql: Sql, job: string, instance: string): Promise<number> {
  const [row] = await sql<{ id: number }[]>`
    insert into platform.job_runs (job, slot, instance, trigger, host, pid)
    values (${job}, clock_timestamp(), ${instance}, 'manual', ${HOST}, ${process.pid})
    returning id`
  return (row as { id: number }).id
}

/**
 * Closes the unfinished run of an instance as 'interrupted' (a manual run stopped by Ctrl-C or SIGTERM), so
 * that it does not hold the job's scheduled slots back for its lease. What the run committed stays; what it
 * had in flight rolls back when its connection closes, and the next run picks it up.
 */
export async function interruptRuns(sql: Sql, instance: string, reason: string): Promise<number> {
  const rows = await sql`update platform.job_runs set finished_at = now(), outcome = 'interrupted', error = ${reason}
                         where instance = ${instance} and finished_at is null returning id`
  return rows.length
}

/**
 * Records the end of a run: false when the run is no longer this runner's (another instance took it over after
 * its heartbeat went silent), in which case the taker's record stands.
 */
export async function finishRun(
  sql: Sql,
  id: number,
  r: { outcome: 'succeeded' | 'failed'; counts: Record<string, number>; details?: unknown; error?: string | null },
  instance?: string,
): Promise<boolean> {
  const rows = await sql`update platform.job_runs set finished_at = now(), outcome = ${r.outcome},
              counts = ${sql.json(r.counts)},
              details = ${r.details === undefined ? null : sql.json(r.details as Parameters<typeof sql.json>[0])},
              error = ${r.error ? r.error.slice(0, 2000) : null}
            where id = ${id} and finished_at is null ${instance ? sql`and instance = ${instance}` : sql``}
            returning id`
  return rows.length === 1
}

/** The runner's heartbeat: false when the run is no longer its own (taken over, or closed meanwhile). */
export async function beat(sql: Sql, id: number, instance: string): Promise<boolean> {
  const rows = await sql`update platform.job_runs set heartbeat_at = now()
                         where id = ${id} and instance = ${instance} and finished_at is null returning id`
  return rows.length === 1
}

/**
 * Takes over, for `instance`, the scheduled runs of `jobs` whose runner has been silent for deadAfterMs, unless
 * another run of the same job is alive; closes manual runs left so as interrupted (nobody reruns those but the
 * operator). One update: of two instances trying at once, one gets each run. The taken runs, to run again from
 * the start (jobs are written to be rerun after a crash: what the dead runner committed is not done twice).
 */
export async function takeOverSilentRuns(
  sql: Sql,
  jobs: { takeOver: string[]; closeManual: string[] },
  instance: string,
  deadAfterMs = DEAD_AFTER_MS,
): Promise<{ id: number; job: string; slot: Date }[]> {
  const silence = sql`now() - make_interval(secs => ${deadAfterMs / 1000})`
  if (jobs.closeManual.length)
    await sql`update platform.job_runs set finished_at = now(), outcome = 'interrupted', error = coalesce(error, ${SILENT})
              where trigger = 'manual' and finished_at is null and job = any(${jobs.closeManual})
                and heartbeat_at < ${silence}`
  if (jobs.takeOver.length === 0) return []
  return sql<{ id: number; job: string; slot: Date }[]>`
    update platform.job_runs r set instance = ${instance}, host = ${HOST}, pid = ${process.pid}, heartbeat_at = now(),
      attempts = r.attempts + 1, taken_over_from = r.instance
    where r.id in (
      select d.id from platform.job_runs d
      where d.trigger = 'schedule' and d.finished_at is null and d.job = any(${jobs.takeOver})
        and d.heartbeat_at < ${silence}
        and not exists (select 1 from platform.job_runs o where o.job = d.job and o.finished_at is null
                        and o.id <> d.id and o.heartbeat_at >= ${silence})
      for update skip locked)
      and r.finished_at is null and r.heartbeat_at < ${silence}
    returning r.id, r.job, r.slot`
}

/**
 * At a server's start: runs of this machine whose process is gone (or is this one, in an earlier life with the
 * same pid, as in a restarted container) are silent now, not in 45 seconds: the scheduler takes them over at
 * its first look, and the manual ones are closed.
 */
export async function silenceRunsOfDeadProcesses(sql: Sql): Promise<number> {
  const rows = await sql<{ id: number; pid: number | null }[]>`
    select id, pid from platform.job_runs where finished_at is null and host = ${HOST}`
  const dead = rows.filter((r) => r.pid !== null && (r.pid === process.pid || !alive(r.pid))).map((r) => r.id)
  if (dead.length === 0) return 0
  await sql`update platform.job_runs set heartbeat_at = '-infinity' where id = any(${dead}) and finished_at is null
              and trigger = 'schedule'`
  await sql`update platform.job_runs set finished_at = now(), outcome = 'interrupted', error = coalesce(error, ${SILENT})
            where id = any(${dead}) and finished_at is null and trigger = 'manual'`
  return dead.length
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: a process of another user holds the pid, so it is alive (and not ours to judge)
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function recentRuns(sql: Sql, opts: { job?: string; problems?: boolean; limit?: number } = {}) {
  return sql<RunRow[]>`
    select id, job, slot, instance, trigger, started_at, finished_at, outcome, counts, error, attempts, taken_over_from
    from platform.job_runs
    where true ${opts.job ? sql`and job = ${opts.job}` : sql``}
      ${opts.problems ? sql`and outcome in ('failed', 'interrupted')` : sql``}
    order by started_at desc, id desc limit ${opts.limit ?? 50}`
}

export interface JobSummary {
  job: string
  last_started: Date | null
  last_outcome: RunOutcome | null
  last_success: Date | null
  runs_24h: number
  failures_24h: number
  running: number
}

/** Per job: the last run, the last success, and the runs and failures of the last 24 hours. */
export async function jobSummaries(sql: Sql): Promise<JobSummary[]> {
  return sql<JobSummary[]>`
    select job,
      max(started_at) as last_started,
      (array_agg(outcome order by started_at desc))[1] as last_outcome,
      max(finished_at) filter (where outcome = 'succeeded') as last_success,
      count(*) filter (where started_at > now() - interval '24 hours')::int as runs_24h,
      count(*) filter (where started_at > now() - interval '24 hours' and outcome in ('failed', 'interrupted'))::int as failures_24h,
      count(*) filter (where finished_at is null)::int as running
    from platform.job_runs group by job order by job`
}

/**
 * The last finished run of a job that concerned a tenant (its slug in the run's per-tenant details), e.g.
 * an office's "last reconciliation": lastTenantRun(sql, 'reconciliation', 'siena').
 */
export async function lastTenantRun(
  sql: Sql,
  job: string,
  tenantSlug: string,
): Promise<{ finishedAt: Date; outcome: RunOutcome; counts: Record<string, number> } | null> {
  const [row] = await sql<{ finished_at: Date; outcome: RunOutcome; counts: Record<string, number> | null }[]>`
    select finished_at, outcome, details->'tenants'->${tenantSlug} as counts
    from platform.job_runs
    where job = ${job} and finished_at is not null and details->'tenants' ? ${tenantSlug}
    order by finished_at desc limit 1`
  return row ? { finishedAt: row.finished_at, outcome: row.outcome, counts: row.counts ?? {} } : null
}

/** Keeps the table small: successful runs for a week, failures and interruptions for 90 days. */
export async function pruneRuns(sql: Sql): Promise<number> {
  const rows = await sql`
    delete from platform.job_runs
    where finished_at is not null
      and ((outcome = 'succeeded' and started_at < now() - interval '7 days') or started_at < now() - interval '90 days')
    returning id`
  return rows.length
}
