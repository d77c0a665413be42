// npm run job -- <name> [--date YYYY-MM-DD] [--tenant slug[,slug…]]   runs one job now, recorded as a manual run
// npm run job -- --list                                               the jobs and their schedules
import { findJob, JOBS } from '../../jobs/registry.ts'
import { runJobNow } from '../../jobs/runner.ts'
import { loadJobSettings } from '../../jobs/settings.ts'
import { isIsoDate } from '../../platform/dates.ts'
import type { Command } from './command.ts'

const usage = 'usage: npm run job -- <name> [--date YYYY-MM-DD] [--tenant slug[,slug…]] | --list'

interface JobArgs {
  name?: string
  date?: string
  tenants?: string[]
  list: boolean
}

function parse(args: string[]): JobArgs | string {
  const r: JobArgs = { list: false }
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if (a === '--list') r.list = true
    else if (a === '--date') r.date = args[++i]
    else if (a.startsWith('--date=')) r.date = a.slice(7)
    else if (a === '--tenant') r.tenants = args[++i]?.split(',').filter(Boolean)
    else if (a.startsWith('--tenant=')) r.tenants = a.slice(9).split(',').filter(Boolean)
    else if (!a.startsWith('--') && !r.name) r.name = a
    else return `unknown argument ${a}\n${usage}`
  }
  if (r.name && !findJob(r.name)) return `unknown job ${r.name}\n${usage}\njobs: ${JOBS.map((j) => j.name).join(', ')}`
  if (r.date !== undefined && !isIsoDate(r.date)) return `--date wants YYYY-MM-DD, got ${r.date}`
  return r
}

/** Midday in Rome of that day: the same date whatever the server's zone and daylight saving. */
export function dateToNow(date: string): Date {
  return new Date(`${date}T10:00:00Z`)
}

export const jobCommand: Command = {
  name: 'job',

  prepare(args, { config }, out) {
    const r = parse(args)
    if (typeof r === 'string') {
      out.error(r)
      return 64
    }
    if (r.list || !r.name) {
      const settings = loadJobSettings(config, JOBS)
      const lines = JOBS.map(
        (j) =>
          `  ${j.name.padEnd(22)} ${(settings.disabled.includes(j.name) ? 'off' : (settings.schedules[j.name] ?? j.schedule)).padEnd(16)} ${j.description}`,
      )
      out.log(`jobs (schedules in ${settings.timezone}):\n${lines.join('\n')}`)
      return r.list ? 0 : 64
    }
    return [r.name, ...(r.date ? ['--date', r.date] : []), ...(r.tenants ? ['--tenant', r.tenants.join(',')] : [])]
  },

  async run(ctx, args, out) {
    const r = parse(args)
    const job = typeof r === 'string' ? undefined : r.name ? findJob(r.name) : undefined
    if (typeof r === 'string' || !job) {
      out.error(typeof r === 'string' ? r : usage)
      return 64
    }
    try {
      const result = await runJobNow(ctx, job, {
        now: r.date ? dateToNow(r.date) : new Date(),
        onlyTenants: r.tenants,
        instance: ctx.instance,
      })
      const counts = Object.entries(result.counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
      out.log(`job ${job.name} (run ${result.runId}) ${result.outcome}${counts ? `: ${counts}` : ''}`)
      if (result.error) out.error(result.error)
      return result.outcome === 'succeeded' ? 0 : 1
    } catch (err) {
      out.error(`job ${job.name}: ${err instanceof Error ? err.message : String(err)}`)
      return 1
    }
  },
}
