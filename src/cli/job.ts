// npm run job -- <name> [--date YYYY-MM-DD] [--tenant slug[,slug…]]   runs one job now, recorded as a manual run
// npm run job -- --list                                               the jobs and their schedules
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { ConfigError, loadConfig } from '../config.ts'
import { selectProvider } from '../features/pagopa/provider.ts'
import { controlSocketPath, dateToNow, runViaControl } from '../jobs/control.ts'
import { findJob, JOBS } from '../jobs/registry.ts'
import { type RunResult, runJobNow } from '../jobs/runner.ts'
import { interruptRuns } from '../jobs/runs.ts'
import { loadJobSettings } from '../jobs/settings.ts'
import { isIsoDate } from '../platform/dates.ts'
import { createLogger } from '../platform/log.ts'
import { TenantRegistry } from '../platform/tenancy.ts'
import { openForCli } from './common.ts'

const usage = 'usage: npm run job -- <name> [--date YYYY-MM-DD] [--tenant slug[,slug…]] | --list'

function fail(message: string, code = 64): never {
  console.error(message)
  process.exit(code)
}

const args = process.argv.slice(2)
let name: string | undefined
let date: string | undefined
let tenants: string[] | undefined
let list = false
for (let i = 0; i < args.length; i++) {
  const a = args[i] as string
  if (a === '--list') list = true
  else if (a === '--date') date = args[++i]
  else if (a.startsWith('--date=')) date = a.slice(7)
  else if (a === '--tenant') tenants = args[++i]?.split(',').filter(Boolean)
  else if (a.startsWith('--tenant=')) tenants = a.slice(9).split(',').filter(Boolean)
  else if (!a.startsWith('--') && !name) name = a
  else fail(`unknown argument ${a}\n${usage}`)
}

let config: ReturnType<typeof loadConfig>
let settings: ReturnType<typeof loadJobSettings>
try {
  config = loadConfig()
  settings = loadJobSettings(config, JOBS)
} catch (err) {
  if (err instanceof ConfigError) fail(err.message, 78)
  throw err
}

if (list || !name) {
  const lines = JOBS.map(
    (j) =>
      `  ${j.name.padEnd(22)} ${(settings.disabled.includes(j.name) ? 'off' : (settings.schedules[j.name] ?? j.schedule)).padEnd(16)} ${j.description}`,
  )
  console.log(`jobs (schedules in ${settings.timezone}):\n${lines.join('\n')}`)
  process.exit(list ? 0 : 64)
}
const job = findJob(name) ?? fail(`unknown job ${name}\n${usage}\njobs: ${JOBS.map((j) => j.name).join(', ')}`)
if (date !== undefined && !isIsoDate(date)) fail(`--date wants YYYY-MM-DD, got ${date}`)

function print(r: RunResult | { error: string }): number {
  if (!('outcome' in r)) {
    console.error(`job ${job.name}: ${r.error}`)
    return 1
  }
  const counts = Object.entries(r.counts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  console.log(`job ${job.name} (run ${r.runId}) ${r.outcome}${counts ? `: ${counts}` : ''}`)
  if (r.error) console.error(r.error)
  return r.outcome === 'succeeded' ? 0 : 1
}

// the embedded database belongs to the running server: ask it to run the job
if (!config.databaseUrl) {
  const viaServer = await runViaControl(controlSocketPath(resolve(config.dataDir)), { job: job.name, date, tenants })
  if (viaServer) {
    console.error('run by the server that holds the embedded database')
    process.exit(print(viaServer))
  }
}

const { db } = await openForCli()
const log = createLogger(process.env.LOG_LEVEL ?? 'warn')
const instance = `cli:${hostname()}:${process.pid}`
// Ctrl-C or SIGTERM: the run is recorded as interrupted (a killed run would hold the scheduled slots back
// until its lease passes), then the process ends; what was in flight rolls back with its connection
for (const [signal, number] of [
  ['SIGINT', 2],
  ['SIGTERM', 15],
] as const) {
  process.once(signal, () => {
    console.error(`job ${job.name}: stopped by ${signal}`)
    const done = () => process.exit(128 + number)
    setTimeout(done, 3000).unref()
    interruptRuns(db.sql, instance, `stopped by ${signal}`).then(done, done)
  })
}
let code = 1
try {
  const result = await runJobNow(
    {
      db,
      config,
      log,
      provider: selectProvider(config, db),
      tenants: new TenantRegistry(db, 0),
      // the server's scheduled 'outbox' job sends what this run queued
      kickMail: () => {},
      flowsDir: settings.flowsDir,
    },
    job,
    { now: date ? dateToNow(date) : new Date(), onlyTenants: tenants, instance },
  )
  code = print(result)
} catch (err) {
  console.error(err instanceof Error ? err.message : err)
}
await db.close()
process.exit(code)
