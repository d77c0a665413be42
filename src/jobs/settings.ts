// The jobs' own configuration, read from the environment next to src/config.ts: the time zone of the
// schedules, a schedule override per job (JOB_SCHEDULE_<NAME>), and the reconciliation drop folder.
import { resolve } from 'node:path'
import cron from 'node-cron'
import type { Config } from '../config.ts'
import { ConfigError } from '../config.ts'
import type { JobDefinition } from './registry.ts'

export interface JobSettings {
  timezone: string
  /** the cron expression of each job, after overrides */
  schedules: Record<string, string>
  /** jobs turned off by JOB_SCHEDULE_<NAME>=off */
  disabled: string[]
  /** reporting flows and bank statements are picked up from <flowsDir>/<tenant slug>/ */
  flowsDir: string
  /** how often a running job writes its heartbeat (JOBS_HEARTBEAT_SECONDS, default 10) */
  heartbeatMs: number
  /** a scheduled run silent this long is taken over by another instance (JOBS_TAKEOVER_SECONDS, default 45) */
  deadAfterMs: number
}

/** JOB_SCHEDULE_<NAME>: the job's name in upper case, hyphens as underscores (reminders → JOB_SCHEDULE_REMINDERS). */
export function scheduleVariable(jobName: string): string {
  return `JOB_SCHEDULE_${jobName.toUpperCase().replace(/-/g, '_')}`
}

function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/** Reads and checks the jobs' settings; a bad value throws a ConfigError naming the variable. */
export function loadJobSettings(
  config: Pick<Config, 'dataDir'>,
  jobs: JobDefinition[],
  env: Record<string, string | undefined> = process.env,
): JobSettings {
  const problems: string[] = []
  const timezone = env.JOBS_TIMEZONE || 'Europe/Rome'
  if (!validZone(timezone)) problems.push(`  JOBS_TIMEZONE: unknown time zone ${JSON.stringify(timezone)}`)
  const schedules: Record<string, string> = {}
  const disabled: string[] = []
  for (const job of jobs) {
    const name = scheduleVariable(job.name)
    const value = env[name]?.trim()
    if (value === 'off' || value === 'false') {
      disabled.push(job.name)
      schedules[job.name] = job.schedule
    } else if (value) {
      if (!cron.validate(value)) problems.push(`  ${name}: not a valid cron expression: ${JSON.stringify(value)}`)
      schedules[job.name] = value
    } else {
      schedules[job.name] = job.schedule
    }
  }
  const flowsDir = resolve(env.FLOWS_DIR || resolve(config.dataDir, 'flussi'))
  const seconds = (name: string, fallback: number) => {
    const v = env[name]?.trim()
    if (!v) return fallback
    if (!/^\d{1,4}$/.test(v) || Number(v) < 1) problems.push(`  ${name}: a whole number of seconds, at least 1`)
    return Number(v)
  }
  const heartbeat = seconds('JOBS_HEARTBEAT_SECONDS', 10)
  const takeover = seconds('JOBS_TAKEOVER_SECONDS', 45)
  if (takeover < 3 * heartbeat)
    problems.push('  JOBS_TAKEOVER_SECONDS: at least three heartbeats (JOBS_HEARTBEAT_SECONDS), or live runs look dead')
  if (problems.length) throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`)
  return { timezone, schedules, disabled, flowsDir, heartbeatMs: heartbeat * 1000, deadAfterMs: takeover * 1000 }
}
