// The scheduler: one node-cron task per job, with node-cron's `distributed` option and a run coordinator
// backed by platform.job_runs. Every instance fires every slot; the insert of (job, slot) decides which one
// runs it, so a job runs once per slot across any number of instances, and a stopped instance leaves the
// slots to the others.
import cron, { type RunCoordinator, type ScheduledTask } from 'node-cron'
import type { JobContext, JobDefinition } from './registry.ts'
import { executeRun, instanceName, type JobDeps } from './runner.ts'
import { claimSlot, DEAD_AFTER_MS, HEARTBEAT_MS, releaseSlots, takeOverSilentRuns } from './runs.ts'

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
  /** how often runs beat and silent runs are looked for (default HEARTBEAT_MS); tests shorten both */
  heartbeatMs?: number
  /** a run silent this long is taken over (default DEAD_AFTER_MS) */
  deadAfterMs?: number
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
        if (this.stopping) return false
        const claim = claimSlot(this.deps.db.sql, job.name, slot, this.instance, lease)
        this.claiming.add(claim)
        try {
          const id = await claim
          if (id !== null) this.claimed.set(`${job.name}@${slot.toISOString()}`, id)
          return id !== null
        } finally {
          this.claiming.delete(claim)
        }
      },
    }
  }

  /** run ids of the slots this instance won, handed from the coordinator to the task */
  private claimed = new Map<string, number>()
  /** claims on their way to the database: stop() waits for them, so that none is left behind unrun */
  private claiming = new Set<Promise<unknown>>()
  private stopping = false

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
          await this.execute(job, runId, ctx.date)
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
    // runs whose runner went silent (a process killed mid-run) are taken over within a minute
    this.watchdog = setInterval(() => void this.lookForSilentRuns(), this.opts.heartbeatMs ?? HEARTBEAT_MS)
    this.watchdog.unref()
    void this.lookForSilentRuns()
  }

  private watchdog: NodeJS.Timeout | null = null

  private scheduledJobs(): JobDefinition[] {
    return this.opts.jobs.filter((j) => !this.opts.disabled?.includes(j.name))
  }

  private async execute(job: JobDefinition, runId: number, now: Date) {
    const p = executeRun(this.deps, job, runId, {
      now,
      instance: this.instance,
      onlyTenants: this.opts.onlyTenants,
      step: this.opts.step,
      heartbeatMs: this.opts.heartbeatMs,
    })
    this.inFlight.add(p)
    try {
      await p
    } finally {
      this.inFlight.delete(p)
    }
  }

  private looking = false

  /** Takes over the silent runs of this instance's jobs and runs them again, for their own slot. */
  private async lookForSilentRuns() {
    if (this.looking || !this.watchdog) return
    this.looking = true
    try {
      const jobs = this.scheduledJobs()
      const taken = await takeOverSilentRuns(
        this.deps.db.sql,
        { takeOver: jobs.map((j) => j.name), closeManual: this.opts.jobs.map((j) => j.name) },
        this.instance,
        this.opts.deadAfterMs ?? DEAD_AFTER_MS,
      )
      for (const run of taken) {
        const job = jobs.find((j) => j.name === run.job)
        if (!job) continue
        this.deps.log.warn({ job: job.name, runId: run.id }, 'job run taken over: its runner went silent')
        this.execute(job, run.id, run.slot).catch((err) =>
          this.deps.log.warn({ err, job: job.name, runId: run.id }, 'a taken-over job run could not record its end'),
        )
      }
    } catch (err) {
      this.deps.log.warn({ err }, 'looking for silent job runs failed')
    } finally {
      this.looking = false
    }
  }

  /** the next run of each scheduled job, for the platform page */
  nextRuns(): Record<string, Date | null> {
    return Object.fromEntries(this.tasks.map((t) => [t.name ?? t.id, t.getNextRun()]))
  }

  /** Stops scheduling and waits for the runs in progress to record their end (up to timeoutMs). */
  async stop(timeoutMs = 30_000): Promise<void> {
    this.stopping = true
    if (this.watchdog) clearInterval(this.watchdog)
    this.watchdog = null
    for (const t of this.tasks) await t.destroy()
    this.tasks = []
    // a slot won just as the instance stops, whose run has not begun, is given back: no record of a run that
    // never ran is left open (it would read as unfinished until the watchdog's silence took it over)
    await Promise.allSettled([...this.claiming])
    const unrun = [...this.claimed.values()]
    this.claimed.clear()
    if (unrun.length) await releaseSlots(this.deps.db.sql, unrun, this.instance)
    if (this.inFlight.size === 0) return
    await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => setTimeout(r, timeoutMs).unref())])
  }
}
