// Jobs run now and recorded: failures are recorded; suspended tenants are skipped; schedules come from the
// environment; `npm run job` runs a job now (directly, or through the demo server's socket); the platform page
// shows runs, failures and the outbox's failed mail, which an operator can queue again. The scheduler's slots on
// the clock (two instances, one run per slot): jobs-clock.test.ts.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { output } from '../../src/cli/commands/command.ts'
import { askServer, controlSocketPath, startControl } from '../../src/cli/control.ts'
import { ConfigError } from '../../src/config.ts'
import { findJob, JOBS, type JobDefinition } from '../../src/jobs/registry.ts'
import { runJobNow } from '../../src/jobs/runner.ts'
import { loadJobSettings, scheduleVariable } from '../../src/jobs/settings.ts'
import type { Db } from '../../src/platform/db.ts'
import { forEachTenant } from '../../src/platform/jobs.ts'
import { drainOutbox } from '../../src/platform/mail.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createAccount, deleteAccounts, signedIn, type TestAccount } from '../helpers/accounts.ts'
import { testApp } from '../helpers/app.ts'
import { nodeArgs } from '../helpers/built.ts'
import { Client } from '../helpers/client.ts'
import { createTestTenant, dropTestTenant, openTestDb, testTarget } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { testJob } from '../helpers/jobs.ts'
import { startSmtp } from '../helpers/smtp.ts'

const exec = promisify(execFile)
const target = testTarget()
const { BASE_URL: _b, MODE: _m, DEV: _d, PROD: _p, SSR: _s, ...cleanEnv } = process.env

let db: Db
let active: Tenant
let suspended: Tenant
let app: ReturnType<typeof testApp>['app']
let deps: ReturnType<typeof testApp>['deps']
let operator: TestAccount
let citizen: TestAccount
let dir: string
const run = Math.random().toString(36).slice(2, 8)

beforeAll(async () => {
  db = await openTestDb()
  active = await createTestTenant(db)
  suspended = await createTestTenant(db)
  await db.admin`update platform.tenants set status = 'suspended' where id = ${suspended.id}`
  ;({ app, deps } = testApp(db))
  operator = await createAccount(db, { operator: true })
  citizen = await createAccount(db)
  dir = await mkdtemp(join(tmpdir(), 'sportello-jobs-'))
})

afterAll(async () => {
  await db.sql`delete from platform.job_runs where job like ${`test-${run}-%`} or job like 'test-cli-%'`
  await db.sql`delete from platform.outbox where to_address like ${`%.${run}@example.it`}`
  await deleteAccounts(db, [operator, citizen])
  await dropTestTenant(db, active)
  await dropTestTenant(db, suspended)
  await rm(dir, { recursive: true, force: true })
  await db.close()
})

const newJob = (name: string, body: JobDefinition['run'], leaseMinutes?: number) =>
  testJob(run, name, body, leaseMinutes)

describe('runs', () => {
  it('record failures with their error, and the counts of what a partly failed run did', async () => {
    const boom = await runJobNow(
      deps,
      newJob('boom', async () => {
        throw new Error('disco pieno')
      }),
    )
    expect(boom).toMatchObject({ outcome: 'failed', error: 'disco pieno' })
    const seen: string[] = []
    const partial = await runJobNow(
      deps,
      newJob('tenants', (ctx) =>
        forEachTenant(ctx, 'tenants', async (t) => {
          seen.push(t.slug)
          return { done: 2 }
        }),
      ),
      { onlyTenants: [active.slug, suspended.slug] },
    )
    // the suspended tenant is skipped, not failed
    expect(seen).toEqual([active.slug])
    expect(partial).toMatchObject({ outcome: 'succeeded', counts: { tenants: 1, done: 2 } })
    const [row] = await db.sql<{ details: { tenants: Record<string, Record<string, number>> }; trigger: string }[]>`
      select details, trigger from platform.job_runs where id = ${partial.runId}`
    expect(row).toEqual({ details: { tenants: { [active.slug]: { done: 2 } } }, trigger: 'manual' })
    const failing = await runJobNow(
      deps,
      newJob('tenants-fail', (ctx) =>
        forEachTenant(ctx, 'tenants-fail', async () => {
          throw new Error('schema rotto')
        }),
      ),
      { onlyTenants: [active.slug] },
    )
    expect(failing.outcome).toBe('failed')
    expect(failing.error).toContain(`${active.slug}: schema rotto`)
    expect(failing.counts).toMatchObject({ failedTenants: 1 })
  })

  it('take schedules and the time zone from the environment, and refuse bad values naming the variable', () => {
    expect(scheduleVariable('sandbox-psp-delivery')).toBe('JOB_SCHEDULE_SANDBOX_PSP_DELIVERY')
    const s = loadJobSettings({ dataDir: '/srv/sportello' }, JOBS, {
      JOB_SCHEDULE_REMINDERS: '30 7 * * 1-5',
      JOB_SCHEDULE_JOB_RUNS_CLEANUP: 'off',
      FLOWS_DIR: '/srv/flussi',
    })
    expect(s).toMatchObject({ timezone: 'Europe/Rome', flowsDir: '/srv/flussi', disabled: ['job-runs-cleanup'] })
    expect(s.schedules.reminders).toBe('30 7 * * 1-5')
    expect(s.schedules.outbox).toBe(findJob('outbox')?.schedule)
    expect(loadJobSettings({ dataDir: '/srv/sportello' }, JOBS, {}).flowsDir).toBe('/srv/sportello/flussi')
    expect(() => loadJobSettings({ dataDir: '.' }, JOBS, { JOB_SCHEDULE_REMINDERS: 'ogni mattina' })).toThrow(
      /JOB_SCHEDULE_REMINDERS/,
    )
    expect(() => loadJobSettings({ dataDir: '.' }, JOBS, { JOBS_TIMEZONE: 'Europe/Atlantide' })).toThrow(ConfigError)
  })
})

describe('npm run job', () => {
  it('runs a job through the socket of the server that holds the embedded database', async () => {
    const path = controlSocketPath(dir)
    const control = await startControl(path, { ...deps, via: 'server', instance: 'cli-via-server' }, deps.log)
    let text = ''
    const out = output(
      (t) => {
        text += t
      },
      (t) => {
        text += t
      },
    )
    try {
      const args = ['reminders', '--date', '2031-01-01', '--tenant', active.slug]
      expect(await askServer(path, { command: 'job', args }, out)).toBe(0)
      expect(text).toMatch(/job reminders \(run \d+\) succeeded: .*tenants 1/)
      expect(await askServer(path, { command: 'job', args: ['nessuno'] }, out)).toBe(64)
      expect(text).toContain('unknown job nessuno')
    } finally {
      await control.close()
    }
    expect(await askServer(path, { command: 'job', args: ['reminders'] }, out)).toBeNull()
  })

  it.skipIf(target.kind !== 'postgres')('runs one job now on PostgreSQL, recorded as a manual run', async () => {
    const env = { ...cleanEnv, DATABASE_URL: target.url, LOG_LEVEL: 'silent' }
    const ok = await exec(
      process.execPath,
      nodeArgs('cli/job', 'reminders', '--tenant', active.slug, '--date', '2031-02-03'),
      {
        env,
      },
    )
    const runId = Number(/job reminders \(run (\d+)\) succeeded/.exec(ok.stdout)?.[1])
    expect(runId).toBeGreaterThan(0)
    const [row] = await db.sql<
      { trigger: string; slot: Date }[]
    >`select trigger, slot from platform.job_runs where id = ${runId}`
    expect(row?.trigger).toBe('manual')
    await db.sql`delete from platform.job_runs where id = ${runId}`
    await expect(exec(process.execPath, nodeArgs('cli/job', 'nessuno'), { env })).rejects.toMatchObject({
      code: 64,
      stderr: expect.stringContaining('unknown job nessuno'),
    })
    await expect(
      exec(process.execPath, nodeArgs('cli/job', 'reminders', '--date', '3 marzo'), { env }),
    ).rejects.toMatchObject({
      code: 64,
    })
    const list = await exec(process.execPath, nodeArgs('cli/job', '--list'), { env })
    for (const j of ['outbox', 'reminders', 'reconciliation']) expect(list.stdout).toContain(j)
  })
})

describe('the demo', () => {
  function waitFor(child: ChildProcess, pattern: RegExp, ms = 60_000): Promise<string> {
    return new Promise((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${out}`)), ms)
      const on = (d: Buffer) => {
        out += d.toString()
        if (pattern.test(out)) {
          clearTimeout(timer)
          resolve(out)
        }
      }
      child.stdout?.on('data', on)
      child.stderr?.on('data', on)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`exited with ${code}: ${out}`))
      })
    })
  }

  it('`npm run job -- reminders` on the running demo puts reminders in /dev/mail', async () => {
    const port = 40_000 + Math.floor(Math.random() * 20_000)
    const env = {
      ...cleanEnv,
      DATA_DIR: join(dir, 'demo'),
      PORT: String(port),
      DATABASE_URL: '',
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      JOBS: 'false',
    }
    const server = spawn(process.execPath, nodeArgs('server'), { env })
    try {
      await waitFor(server, /Demo ready at/)
      const out = await exec(process.execPath, nodeArgs('cli/job', 'reminders'), { env })
      expect(out.stderr).toContain('run by the server')
      expect(out.stdout).toMatch(/job reminders \(run \d+\) succeeded: tenants 3, emails [1-9]/)
      const mail = await (await fetch(`http://127.0.0.1:${port}/dev/mail`)).text()
      expect(mail).toContain('Promemoria di pagamento – Comune di Siena')
      expect(mail).toContain('mario.rossi@example.it')
      // a second run sends nothing again
      const again = await exec(process.execPath, nodeArgs('cli/job', 'reminders'), { env })
      expect(again.stdout).toMatch(/emails 0/)
    } finally {
      const exited = new Promise((r) => server.once('exit', r))
      server.kill('SIGTERM')
      expect(await exited).toBe(0)
    }
  }, 120_000)
})

describe('the platform jobs page', () => {
  it('shows jobs, recent runs and failures, and the outbox’s failed mail, which an operator queues again', async () => {
    await runJobNow(
      deps,
      newJob('visible-failure', async () => {
        throw new Error('errore da mostrare')
      }),
    )
    // a message that fails for good: the SMTP server refuses it at the last attempt
    const smtp = await startSmtp({ failFirst: 5 })
    const to = `rifiutata.${run}@example.it`
    await db.sql`insert into platform.outbox (to_address, subject, text_body, attempts) values (${to}, 'Prova fallita', 'testo', 7)`
    const { config } = testApp(db, { SMTP_URL: smtp.url }).deps
    expect(await drainOutbox(db.sql, config, 10, to)).toMatchObject({ failed: 1 })
    await smtp.close()

    const c = await signedIn(app, operator)
    const page = await c.get('/piattaforma/lavori')
    expect(page.status).toBe(200)
    const html = await page.text()
    for (const j of JOBS) expect(html).toContain(j.name)
    expect(html).toContain('errore da mostrare')
    expect(html).toContain(to)
    expect(html).toContain('451')
    await expectValidHtml(html)
    const [msg] = await db.sql<{ id: number }[]>`select id from platform.outbox where to_address = ${to}`
    const retry = await c.post(`/piattaforma/lavori/posta/${msg?.id}/riprova`, {})
    expect(retry.status).toBe(303)
    const [after] = await db.sql<
      { status: string; attempts: number }[]
    >`select status, attempts from platform.outbox where id = ${msg?.id as number}`
    expect(after).toEqual({ status: 'pending', attempts: 0 })
    expect(await (await c.get('/piattaforma/lavori?riprovato=1')).text()).toContain('di nuovo in coda')
    // again: it is no longer failed
    expect((await c.post(`/piattaforma/lavori/posta/${msg?.id}/riprova`, {})).status).toBe(404)
    await db.sql`delete from platform.outbox where id = ${msg?.id as number}`
    // the filter by job
    await runJobNow(deps, findJob('reminders') as JobDefinition, { onlyTenants: [active.slug] })
    const filtered = await (await c.get(`/piattaforma/lavori?lavoro=reminders`)).text()
    expect(filtered).toContain('Le ultime 50 esecuzioni di reminders')

    // only platform operators
    expect((await new Client(app).get('/piattaforma/lavori')).status).toBe(303)
    const someone = await signedIn(app, citizen)
    expect((await someone.get('/piattaforma/lavori')).status).toBe(403)
    await someone.get('/')
    expect((await someone.post('/piattaforma/lavori/posta/1/riprova', {})).status).toBe(403)
  })
})
