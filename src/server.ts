// Start-up: configuration, database (embedded or DATABASE_URL), migrations, demo tenants, app, listen.
import { resolve } from 'node:path'
import { serve } from '@hono/node-server'
import { createApp, isDatabaseUnavailable } from './app.ts'
import { controlSocketPath, startControl } from './cli/control.ts'
import { seedIfEmpty } from './cli/demo-seed.ts'
import { ConfigError, loadConfig } from './config.ts'
import { selectProvider } from './features/pagopa/provider.ts'
import { OutboxSender } from './jobs/outbox-sender.ts'
import { JOBS } from './jobs/registry.ts'
import { silenceRunsOfDeadProcesses } from './jobs/runs.ts'
import { Scheduler } from './jobs/scheduler.ts'
import { loadJobSettings } from './jobs/settings.ts'
import { Assets } from './platform/assets.ts'
import { type Db, openDatabase } from './platform/db.ts'
import { DatabaseWatch } from './platform/db-watch.ts'
import { createLogger } from './platform/log.ts'
import { migratePlatform, migrateTenants } from './platform/migrate.ts'
import { DataDirBusy } from './platform/owner-lock.ts'
import { TenantRegistry } from './platform/tenancy.ts'

async function main() {
  let config: ReturnType<typeof loadConfig>
  let jobSettings: ReturnType<typeof loadJobSettings>
  try {
    config = loadConfig()
    jobSettings = loadJobSettings(config, JOBS)
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message)
      process.exit(78)
    }
    throw err
  }
  const log = createLogger(config.logLevel)
  if (config.demo) {
    log.warn(
      'DEMO mode: public built-in secrets unless set, the sandbox payment provider, /dev/mail and the demo accounts. ' +
        'Not for real people or money: docs/operations.md says how production is configured.',
    )
  }
  // The embedded database has one owner at a time (decision 0086): a tool that holds it for a moment, or a server
  // still stopping (npm run dev restarting), is waited for; a running server is named, and this one stops.
  let db: Db
  try {
    db = await openDatabase(config, {
      command: 'server',
      waitMs: 15_000,
      waitFor: (holder) => holder.command !== 'server' || holder.state === 'stopping',
    })
  } catch (err) {
    if (err instanceof DataDirBusy) {
      console.error(err.message)
      process.exit(75)
    }
    throw err
  }
  log.info(`database: ${db.describe}`)

  const applied = await migratePlatform(db.admin, db.roles)
  if (applied.length) log.info({ applied }, 'platform migrations applied')
  const tenantsResult = await migrateTenants(db.admin, db.roles)
  log.info(
    { checked: tenantsResult.checked, migrated: tenantsResult.migrated.length, failed: tenantsResult.failed },
    'tenant schemas up to date',
  )

  const seeded = config.seedDemo ? await seedIfEmpty(db, config, log) : null

  const tenants = new TenantRegistry(db)
  const mail = new OutboxSender(db, config, (err) => log.error({ err }, 'outbox sender failed'))
  const provider = selectProvider(config, db)
  // the sandbox takes any test card: never the provider of a production server, and never silently
  if (provider.name === 'sandbox') {
    if (config.production) {
      console.error('Invalid configuration for production:\n  PAYMENT_PROVIDER: the sandbox provider moves no money')
      process.exit(78)
    }
    log.warn('payments go through the sandbox provider: no money moves')
  }
  // Jobs: node-cron schedules coordinated through platform.job_runs (src/jobs/scheduler.ts, docs/jobs.md)
  const jobDeps = {
    db,
    config,
    log,
    provider,
    tenants,
    kickMail: () => mail.kick(),
    flowsDir: jobSettings.flowsDir,
    heartbeatMs: jobSettings.heartbeatMs,
  }
  const scheduler = config.jobs
    ? new Scheduler(jobDeps, {
        jobs: JOBS,
        schedules: jobSettings.schedules,
        disabled: jobSettings.disabled,
        timezone: jobSettings.timezone,
        heartbeatMs: jobSettings.heartbeatMs,
        deadAfterMs: jobSettings.deadAfterMs,
      })
    : null
  // runs left by a process of this machine that is gone are taken over now, not once their heartbeat is old
  const silenced = await silenceRunsOfDeadProcesses(db.sql)
  if (silenced) log.warn({ runs: silenced }, 'job runs of a stopped process found: taken over or closed')
  scheduler?.start()
  if (scheduler) log.info({ instance: scheduler.instance, timezone: jobSettings.timezone }, 'scheduled jobs started')
  // the embedded database is this process's alone: `npm run tenants|migrate|job` ask this server through a socket
  // in DATA_DIR to do their work here, and find it through the database's lock
  let control: { close(): Promise<void> } | null = null
  if (db.owner) {
    const socket = controlSocketPath(resolve(config.dataDir))
    try {
      control = await startControl(socket, { ...jobDeps, via: 'server', instance: 'cli-via-server' }, log)
      await db.owner.update({ socket })
    } catch (err) {
      log.warn({ err, socket }, 'no control socket: the npm run commands refuse while this server runs')
    }
  }
  // PostgreSQL: a stall (nothing refused, nothing answered) is bounded; the embedded database is in this process
  const probe = db.probe
  const watch = probe
    ? new DatabaseWatch({
        probe: () => probe(500),
        onChange: (stalled) =>
          stalled
            ? log.warn('the database does not answer: requests get the 503 page until it does')
            : log.info('the database answers again'),
        longStallMs: config.databaseStallRenewMs,
        onLongStall: () => {
          log.warn(
            `the database has not answered for ${config.databaseStallRenewMs / 1000} s: renewing the database pools`,
          )
          renewPools()
        },
      })
    : undefined
  const app = createApp({
    config,
    db,
    tenants,
    assets: new Assets(),
    log,
    kickMail: () => mail.kick(),
    provider,
    watch,
  })
  const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) => {
    log.info(`Sportello listening on ${config.baseUrl} (${info.address}:${info.port})`)
    const host = info.family === 'IPv6' ? `[${info.address}]` : info.address
    db.owner
      ?.update({ state: 'ready', address: `http://${host}:${info.port}` })
      .catch((err) => log.warn({ err }, 'the database lock could not be updated'))
    if (seeded) printDemo(config.baseUrl, seeded)
  })

  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    log.info(`${signal}: shutting down`)
    // the tools wait for the lock to go, then open the database themselves
    await db.owner?.update({ state: 'stopping' }).catch(() => {})
    server.close()
    watch?.close()
    await scheduler?.stop()
    await control?.close()
    await mail.stop()
    await db.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  // postgres.js (3.4.9) throws from a deferred write when the database drops a connection under load (a
  // restart, a terminated backend) while a transaction still sends its rollback. Worse, that connection is
  // left unable to ever send again: each reconnect waits connect_timeout (30 s) and fails, for the life of
  // the process (porsager/postgres#1154, #1208). So that one error is survived and the pools are replaced by
  // fresh ones, at most once a second (decision 0084; test/integration/db-restart.test.ts).
  let renewedAt = 0
  let renewalDue = false
  const renewPools = () => {
    const wait = renewedAt + 1000 - Date.now()
    if (wait > 0) {
      // one more renewal at the end of the second: this race may have hit the pool just renewed
      if (!renewalDue) {
        renewalDue = true
        setTimeout(() => {
          renewalDue = false
          renewPools()
        }, wait).unref()
      }
      return
    }
    renewedAt = Date.now()
    db.renew?.()
  }
  process.on('uncaughtException', (err) => {
    if (
      err instanceof TypeError &&
      /reading 'write'/.test(err.message) &&
      /postgres[\\/]src[\\/]connection/.test(err.stack ?? '')
    ) {
      log.warn({ err: err.message }, 'database connection dropped during a write: renewing the database pools')
      if (!closing) renewPools()
      return
    }
    log.fatal({ err }, 'uncaught exception')
    process.exit(1)
  })
  // postgres.js also leaves a promise of its own unhandled when a connection drops while it reads the array
  // types, just after (re)connecting: a connection error nobody awaits is survived (the connection retries);
  // any other unhandled rejection stays fatal, as Node makes it by default.
  process.on('unhandledRejection', (reason) => {
    if (isDatabaseUnavailable(reason)) {
      log.warn({ err: (reason as Error).message }, 'database connection dropped while connecting')
      return
    }
    throw reason
  })
}

function printDemo(
  baseUrl: string,
  seeded: { tenants: string[]; logins: { role: string; tenant: string; email: string; password: string }[] },
) {
  const lines = [
    '',
    `Demo ready at ${baseUrl}`,
    `Tenants: ${seeded.tenants.map((s) => `${baseUrl}/t/${s}`).join('  ')}`,
  ]
  if (seeded.logins.length) {
    lines.push('Demo logins:')
    for (const l of seeded.logins)
      lines.push(`  ${l.role.padEnd(32)} ${l.tenant.padEnd(18)} ${l.email.padEnd(34)} ${l.password}`)
  }
  console.log(lines.join('\n'))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
