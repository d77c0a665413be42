// The scheduler: one node-cron task per job, with node-cron's `distributed` option and a run coordinator
// backed by platform.job_runs. Every instance fires every slot; the insert of (job, slot) decides which one
// runs it, so a job runs once per slot across any number of instances, and a stopped instance leaves the
// slots to the others.
import cron, { type RunCoordinator, type ScheduledTask } from 'node-cron'
import type { JobContext, JobDefinition } from './registry.ts'
import { executeRun, instanceName, type JobDeps } from './runner.ts'
import { claimSlot } from './runs.ts'

export interface SchedulerOptions {
  jobs: JobDefinition[]
  /** cron expression per job name (defaults to the job's own) */
  schedules?: Record<string, string>
  /** jobs not to schedule in this deployment */
  disabled?: string[]
  timezone?: string
  /** how this instance signs its runs (default host:pid) */
  instance?: string
  /** restrict every run to these tenants (tests sharing a database) */
  onlyTenants?: string[]
  step?: JobContext['step']
}

const DEFAULT_LEASE_MINUTES = 15

export class Scheduler {
  readonly instance: string
  private tasks: ScheduledTask[] = []
  private inFlight = new Set<Promise<unknown>>()

  constructor(
    private deps: JobDeps,
    private opts: SchedulerOptions,
  ) {
    this.instance = opts.instance ?? instanceName()
  }

  private coordinator(job: JobDefinition): RunCoordinator {
    const lease = job.leaseMinutes ?? DEFAULT_LEASE_MINUTES
    return {
      // node-cron's key is `${name}:${slot ISO}`; the job's name is known here, the rest is the slot
      shouldRun: async (key: string) => {
        const slot = new Date(key.slice(job.name.length + 1))
        if (Number.isNaN(slot.getTime())) throw new Error(`unexpected coordination key ${key}`)
        const id = await claimSlot(this.deps.db.sql, job.name, slot, this.instance, lease)
        if (id !== null) this.claimed.set(`${job.name}@${slot.toISOString()}`, id)
        return id !== null
      },
    }
  }

  /** run ids of the slots this instance won, handed from the coordinator to the task */
  private claimed = new Map<string, number>()

  start(): void {
    const log = this.deps.log
    for (const job of this.opts.jobs) {
      if (this.opts.disabled?.includes(job.name)) continue
      const expression = this.opts.schedules?.[job.name] ?? job.schedule
      const task = cron.createTask(
        expression,
        async (ctx) => {
          const key = `${job.name}@${ctx.date.toISOString()}`
          const runId = this.claimed.get(key)
          this.claimed.delete(key)
          if (runId === undefined) return
          const p = executeRun(this.deps, job, runId, {
            now: ctx.date,
            onlyTenants: this.opts.onlyTenants,
            step: this.opts.step,
          })
          this.inFlight.add(p)
          try {
            await p
          } finally {
            this.inFlight.delete(p)
          }
        },
        {
          name: job.name,
          timezone: this.opts.timezone ?? 'Europe/Rome',
          noOverlap: true,
          distributed: true,
          runCoordinator: this.coordinator(job),
          // a slot missed while the event loop was busy is not run late: the next slot comes soon
          suppressMissedWarning: true,
          logger: {
            info: (m) => log.debug({ job: job.name }, m),
            warn: (m) => log.warn({ job: job.name }, m),
            error: (m, err) => log.error({ job: job.name, err: err ?? m }, typeof m === 'string' ? m : 'cron error'),
            debug: (m) => log.debug({ job: job.name }, String(m)),
          },
        },
      )
      task.start()
      this.tasks.push(task)
    }
  }

  /** the next run of each scheduled job, for the platform page */
  nextRuns(): Record<string, Date | null> {
    return Object.fromEntries(this.tasks.map((t) => [t.name ?? t.id, t.getNextRun()]))
  }

  /** Stops scheduling and waits for the runs in progress to record their end (up to timeoutMs). */
  async stop(timeoutMs = 30_000): Promise<void> {
    for (const t of this.tasks) await t.destroy()
    this.tasks = []
    if (this.inFlight.size === 0) return
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, timeoutMs).unref())])
  }
}
