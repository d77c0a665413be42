// Throwaway jobs for the scheduler's tests, and the runs they leave in platform.job_runs.
import type { JobDefinition } from '../../src/jobs/registry.ts'
import type { Db } from '../../src/platform/db.ts'

/** A job every second named `test-<run>-<name>` (the run's tag lets a file remove its runs at the end). */
export function testJob(run: string, name: string, body: JobDefinition['run'], leaseMinutes?: number): JobDefinition {
  return { name: `test-${run}-${name}`, schedule: '* * * * * *', description: name, run: body, leaseMinutes }
}

export interface JobRunRow {
  id: number
  slot: Date
  instance: string
  outcome: string | null
  started_at: Date
  finished_at: Date | null
  error: string | null
  counts: Record<string, number>
  attempts: number
  taken_over_from: string | null
}

/** The runs of a job, oldest slot first. */
export function runsOf(db: Db, job: string) {
  return db.sql<JobRunRow[]>`
    select id, slot, instance, outcome, started_at, finished_at, error, counts, attempts, taken_over_from
    from platform.job_runs
    where job = ${job} order by slot`
}
