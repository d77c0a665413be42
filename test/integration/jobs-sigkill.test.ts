// SIGKILL of each job that moves money or sends something, at points drawn from a seeded generator, then a
// rerun to completion: nothing is lost and nothing is done twice. Each job runs as `npm run job` does (a real
// child process of the build: node dist/cli/job.mjs <job> --tenant <slug>), with enough work seeded that a
// kill lands mid-run: right after the run's record appears, or once a share of the work is visible in the
// database. The outbox sends to a real SMTP server; the sandbox provider's notifications and status calls go
// to a test server of the app on the same database.
//
// The jobs run in a database of their own, created and dropped here: outbox, sandbox-psp-delivery and the
// payment part of reconciliation are not per tenant, and would send, deliver and settle what other test files
// (running side by side on the shared test database) have queued. What a killed run leaves behind and only
// time would clear — mail left 'sending' (requeued after 10 minutes) and notifications under their 60-second
// lease — is aged by the test, as if that time had passed before the rerun.
//
// SIGKILL_SEED=<n> draws other kill points; SIGKILL_DEBUG=1 prints each round.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { type DocumentInput, type IssuedInstallment, issueDocuments } from '../../src/features/debts/issue.ts'
import { startCheckout } from '../../src/features/payments/service.ts'
import { completeSession } from '../../src/features/psp/queries.ts'
import { findJob, JOBS } from '../../src/jobs/registry.ts'
import { claimSlot, finishRun, takeOverSilentRuns } from '../../src/jobs/runs.ts'
import { scheduleVariable } from '../../src/jobs/settings.ts'
import { type Db, openDatabase, type Tx, withTenant } from '../../src/platform/db.ts'
import { migratePlatform } from '../../src/platform/migrate.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { newToken } from '../../src/platform/tokens.ts'
import { createAccount, randomCf, type TestAccount } from '../helpers/accounts.ts'
import { startServer } from '../helpers/app.ts'
import { nodeArgs } from '../helpers/built.ts'
import { setupCanteen } from '../helpers/canteen.ts'
import { createTestTenant, testTarget } from '../helpers/db.ts'
import { type ServerProcess, startServerProcess } from '../helpers/server-process.ts'
import { startSmtp } from '../helpers/smtp.ts'

const target = testTarget()
const { BASE_URL: _b, MODE: _m, DEV: _d, PROD: _p, SSR: _s, ...cleanEnv } = process.env
const run = Math.random().toString(36).slice(2, 10)
const sideName = `sk_${run}_test`
const debug = !!process.env.SIGKILL_DEBUG
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// kill points from a seeded generator (mulberry32): the same points on every run, others with another seed
const seed = Number(process.env.SIGKILL_SEED ?? 20_261_123)
let state = seed >>> 0
function random(): number {
  state = (state + 0x6d2b79f5) >>> 0
  let t = state
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
}

interface KillPoint {
  /** ms after the run's record appears */
  afterMs?: number
  /** once this share of the work is visible in the database */
  progress?: number
}

/** Three rounds: right after the start, early, late. */
function killPoints(): KillPoint[] {
  return [
    { afterMs: Math.floor(random() * 40) },
    { progress: 0.1 + random() * 0.3 },
    { progress: 0.5 + random() * 0.4 },
  ]
}

let maintenance: postgres.Sql
let sideUrl = ''
let db: Db
let tenant: Tenant
let account: TestAccount
let smtp: Awaited<ReturnType<typeof startSmtp>>
let server: Awaited<ReturnType<typeof startServer>>
let flowsDir = ''
let childEnv: Record<string, string | undefined> = {}
const children = new Set<ChildProcess>()
/** every round of every job, for the lease checks at the end */
const killed: { job: string; midRun: boolean }[] = []

beforeAll(async () => {
  if (target.kind !== 'postgres') return
  const main = new URL(target.url)
  const m = new URL(target.url)
  m.pathname = '/postgres'
  maintenance = postgres(m.toString(), { max: 1, onnotice: () => {} })
  await maintenance.unsafe(`create database ${sideName}`)
  main.pathname = `/${sideName}`
  sideUrl = main.toString()
  db = await openDatabase(loadConfig({ DATABASE_URL: sideUrl, DATABASE_POOL_MAX: '10', NODE_ENV: 'test' }))
  await migratePlatform(db.admin, db.roles)
  tenant = await createTestTenant(db, {
    settings: { cutoff: '09:15', commission: { type: 'none' }, reminderDays: [-7, 0, 7], lowBalanceMeals: 3 },
  })
  account = await createAccount(db)
  smtp = await startSmtp()
  server = await startServer(db)
  flowsDir = await mkdtemp(join(tmpdir(), 'sportello-sigkill-'))
  childEnv = {
    ...cleanEnv,
    DATABASE_URL: sideUrl,
    DATABASE_APP_URL: '',
    BASE_URL: server.url,
    SMTP_URL: smtp.url,
    FLOWS_DIR: flowsDir,
    SESSION_SECRET: '',
    PSP_SANDBOX_SECRET: '',
    PAYMENT_PROVIDER: '',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'development',
    // DATABASE_URL alone is production: the jobs run as the demo on PostgreSQL would run them
    SPORTELLO_DEMO: '1',
  }
}, 120_000)

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  if (target.kind !== 'postgres') return
  await server?.close()
  await smtp?.close()
  await db?.close()
  if (flowsDir) await rm(flowsDir, { recursive: true, force: true })
  await maintenance.unsafe(`drop database if exists ${sideName} with (force)`)
  const roles = await maintenance<{ rolname: string }[]>`
    select rolname from pg_roles where rolname like ${`${sideName.replace(/_/g, '\\_')}\\_%`}`
  for (const r of roles) await maintenance.unsafe(`drop role if exists ${r.rolname}`)
  await maintenance.end()
}, 60_000)

interface Round {
  point: KillPoint | null
  code: number | null
  signal: NodeJS.Signals | null
  /** killed while its run was recorded as going (no end recorded) */
  midRun: boolean
  progress: number | null
  out: string
}

/**
 * Runs a job as `npm run job` does; with a kill point, SIGKILLs it there (unless it ended first). The run's
 * record names the process (cli:<host>:<pid>), which tells when the run has started.
 */
async function runJob(
  job: string,
  args: string[],
  point: KillPoint | null,
  progress?: () => Promise<number>,
): Promise<Round> {
  const child = spawn(process.execPath, nodeArgs('cli/job', job, '--tenant', tenant.slug, ...args), {
    env: childEnv,
  })
  children.add(child)
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  let exited = false
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true
      children.delete(child)
      resolve({ code, signal })
    }),
  )
  const guard = setTimeout(() => child.kill('SIGKILL'), 90_000)
  const instance = `cli:${hostname()}:${child.pid}`
  if (point) {
    while (!exited) {
      const [r] = await db.sql<{ id: number }[]>`select id from platform.job_runs where instance = ${instance}`
      if (r) break
      await sleep(5)
    }
    if (!exited && point.afterMs) await sleep(point.afterMs)
    if (point.progress !== undefined && progress) {
      while (!exited && (await progress()) < point.progress) await sleep(10)
    }
    if (!exited) child.kill('SIGKILL')
  }
  const { code, signal } = await exit
  clearTimeout(guard)
  const [row] = await db.sql<{ finished_at: Date | null }[]>`
    select finished_at from platform.job_runs where instance = ${instance}`
  const round = {
    point,
    code,
    signal,
    midRun: signal === 'SIGKILL' && row !== undefined && row.finished_at === null,
    progress: progress ? await progress() : null,
    out,
  }
  if (point) killed.push({ job, midRun: round.midRun })
  if (debug) console.log(job, JSON.stringify({ ...round, out: out.trim().slice(0, 300) }))
  return round
}

/** The kill rounds, then runs without a kill until `done`; every unkilled run must succeed. */
async function killThenFinish(
  job: string,
  args: string[],
  progress: () => Promise<number>,
  done: () => Promise<boolean>,
  opts: { beforeEachRun?: () => Promise<void>; points?: KillPoint[]; maxRuns?: number } = {},
): Promise<Round[]> {
  const rounds: Round[] = []
  for (const point of opts.points ?? killPoints()) {
    await opts.beforeEachRun?.()
    rounds.push(await runJob(job, args, point, progress))
  }
  // at least one kill fell while the run was going
  expect(
    rounds.some((r) => r.midRun),
    rounds.map((r) => `${JSON.stringify(r.point)} → ${r.signal ?? r.code}`).join('; '),
  ).toBe(true)
  for (let i = 0; ; i++) {
    expect(i, `${job} not done after ${i} runs`).toBeLessThan(opts.maxRuns ?? 4)
    await opts.beforeEachRun?.()
    const r = await runJob(job, args, null)
    expect(r.code, r.out).toBe(0)
    expect(r.out).toMatch(new RegExp(`job ${job} \\(run \\d+\\) succeeded`))
    rounds.push(r)
    if (await done()) break
  }
  return rounds
}

function tenantSql<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
  return withTenant(db.sql, tenant, fn)
}

async function count(query: Promise<{ n: number }[]>): Promise<number> {
  return ((await query)[0] as { n: number }).n
}

/**
 * At any moment, not only after a rerun: a succeeded payment has each of its installments settled and its receipt
 * queued, because all of it is one transaction (decision 0089); the family is never told of a success that is
 * recorded in part.
 */
async function expectSucceededWhole() {
  const partial = await db.sql<{ id: number; unapplied: number; receipt: boolean }[]>`
    select p.id,
      (select count(*)::int from platform.payment_items pi where pi.payment_id = p.id and pi.applied_at is null) as unapplied,
      exists (select 1 from platform.outbox o where o.dedupe_key = 'receipt:' || p.id) as receipt
    from platform.payments p where p.status = 'succeeded'`
  expect(partial.filter((p) => p.unapplied > 0 || !p.receipt)).toEqual([])
  const open = partial.length
    ? await tenantSql(
        (tx) => tx<{ id: number }[]>`
          select i.id from installments i join installment_payments ip on ip.installment_id = i.id
          where ip.payment_id = any(${partial.map((p) => p.id)}) and i.status <> 'pagato'`,
      )
    : []
  expect(open).toEqual([])
}

/**
 * n documents of one installment each: to one payer (`payerId`), or each to a payer of its own (with an
 * address when `emails` is given).
 */
async function issueMany(
  n: number,
  opts: { dueDate: string; emails?: (i: number) => string; payerId?: number },
): Promise<(IssuedInstallment & { payerId: number; email: string | null; amount: number })[]> {
  return tenantSql(async (tx) => {
    const [svc] = await tx<{ id: number }[]>`select id from services where code = 'mensa'`
    let payers: { id: number; email: string | null }[]
    if (opts.payerId !== undefined)
      payers = Array.from({ length: n }, () => ({ id: opts.payerId as number, email: null }))
    else {
      const cfs = new Set<string>()
      while (cfs.size < n) cfs.add(randomCf())
      const list = [...cfs]
      payers = await tx<{ id: number; email: string | null }[]>`
        insert into payers (codice_fiscale, given_name, family_name, email)
        select * from unnest(${list}::text[], ${list.map(() => 'Anna')}::text[], ${list.map((_, i) => `Prova${i}`)}::text[],
          ${list.map((_, i) => opts.emails?.(i) ?? null)}::text[])
        returning id, email`
    }
    const docs: DocumentInput[] = payers.map((payer, i) => ({
      year: Number(opts.dueDate.slice(0, 4)),
      issueDate: opts.dueDate,
      serviceId: svc?.id as number,
      payerId: payer.id,
      pupilId: null,
      description: `Mensa ${i}`,
      installments: [{ dueDate: opts.dueDate, amountCents: 1000 + i }],
    }))
    const r = await issueDocuments(tx, tenant, docs)
    // one installment per document, in the documents' order
    return r.installments.map((inst, i) => ({
      ...inst,
      payerId: (payers[i] as { id: number }).id,
      email: (payers[i] as { email: string | null }).email,
      amount: 1000 + i,
    }))
  })
}

const suite = describe.skipIf(target.kind !== 'postgres')

suite('SIGKILL at random points, then a rerun: nothing lost, nothing doubled', () => {
  it('outbox: every message reaches SMTP; a repeat only for the one in flight at a kill, with its Message-ID', async () => {
    // (over a kept connection: a few milliseconds each against the test server)
    const N = 150
    await db.sql`insert into platform.outbox (to_address, subject, text_body)
                 select 'o' || g || '.' || ${run} || '@example.it', 'Prova ' || g, 'Messaggio ' || g
                 from generate_series(1, ${N}) g`
    // (whatever else the outbox holds goes too, and is checked alike)
    const ids = (await db.sql<{ id: number }[]>`select id from platform.outbox order by id`).map((r) => r.id)
    expect(ids.length).toBeGreaterThanOrEqual(N)
    const ours = new Set(ids.map((id) => `<outbox-${id}@127.0.0.1>`))
    const deliveredShare = async () => new Set(smtp.received.map((m) => m.messageId)).size / ids.length
    // a row a kill left 'sending' goes back to the queue ten minutes later: that time passes before each run
    const tenMinutesLater = async () => {
      await db.sql`update platform.outbox set next_attempt_at = now() - interval '11 minutes' where status = 'sending'`
    }
    const rounds = await killThenFinish(
      'outbox',
      [],
      deliveredShare,
      async () => (await count(db.sql`select count(*)::int as n from platform.outbox where status <> 'sent'`)) === 0,
      { beforeEachRun: tenMinutesLater, maxRuns: 5 },
    )
    const rows = await db.sql<{ id: number; status: string; message_id: string | null; subject: string }[]>`
      select id, status, message_id, subject from platform.outbox order by id`
    expect(rows.every((r) => r.status === 'sent' && r.message_id === `<outbox-${r.id}@127.0.0.1>`)).toBe(true)
    // every message reached the SMTP server, under its own Message-ID, with its own content
    const byId = new Map<string, number>()
    for (const m of smtp.received) {
      expect(ours.has(m.messageId), `unexpected ${m.messageId}`).toBe(true)
      byId.set(m.messageId, (byId.get(m.messageId) ?? 0) + 1)
      const row = rows.find((r) => `<outbox-${r.id}@127.0.0.1>` === m.messageId)
      expect(m.subject).toBe(row?.subject)
    }
    expect(byId.size).toBe(ids.length)
    // sent twice only when a kill fell between the server's acceptance and the row's update: one per kill at most
    const repeats = smtp.received.length - byId.size
    expect(repeats).toBeLessThanOrEqual(rounds.filter((r) => r.midRun).length)
    for (const n of byId.values()) expect(n).toBeLessThanOrEqual(2)
  }, 150_000)

  it('reminders: each installment reminded once for its day, each payer one email', async () => {
    const N = 450
    const day = '2031-03-10'
    const issued = await issueMany(N, { dueDate: day, emails: (i) => `r${i}.${run}@example.it` })
    const ids = issued.map((i) => i.id)
    const decided = () =>
      count(
        tenantSql(
          (tx) => tx<{ n: number }[]>`select count(*)::int as n from reminders_sent where installment_id = any(${ids})`,
        ),
      )
    await killThenFinish(
      'reminders',
      ['--date', day],
      async () => (await decided()) / N,
      async () => (await decided()) === N,
    )
    const sent = await tenantSql(
      (tx) =>
        tx<{ installment_id: number; offset_days: number; outcome: string; outbox_key: string }[]>`
        select installment_id, offset_days, outcome, outbox_key from reminders_sent where installment_id = any(${ids})`,
    )
    expect(sent).toHaveLength(N)
    expect(new Set(sent.map((s) => s.installment_id)).size).toBe(N)
    expect(sent.every((s) => s.offset_days === 0 && s.outcome === 'queued')).toBe(true)
    const mails = await db.sql<{ dedupe_key: string; to_address: string; text_body: string }[]>`
      select dedupe_key, to_address, text_body from platform.outbox where dedupe_key like ${`reminder:${tenant.id}:%`}`
    // one email per payer, and the email each decision names exists
    expect(mails).toHaveLength(N)
    expect(new Set(mails.map((m) => m.to_address)).size).toBe(N)
    const keys = new Set(mails.map((m) => m.dedupe_key))
    expect(sent.every((s) => keys.has(s.outbox_key))).toBe(true)
    const byAddress = new Map(mails.map((m) => [m.to_address, m]))
    for (const inst of issued) expect(byAddress.get(inst.email as string)?.text_body).toContain(inst.noticeCode)
  }, 150_000)

  it('canteen-charge-meals: every pupil charged once for each service day, none missed', async () => {
    const N = 400
    const setup = await setupCanteen(db, tenant)
    await tenantSql(async (tx) => {
      const cfs = new Set<string>()
      while (cfs.size < 2 * N) cfs.add(randomCf())
      const [payerCfs, pupilCfs] = [[...cfs].slice(0, N), [...cfs].slice(N)]
      const payers = await tx<{ id: number }[]>`
        insert into payers (codice_fiscale, given_name, family_name, email)
        select cf, 'Maria', 'Bruni', 'lb' || (row_number() over ()) || '.' || ${run} || '@example.it'
        from unnest(${payerCfs}::text[]) cf returning id`
      const pupils = await tx<{ id: number }[]>`
        insert into pupils (codice_fiscale, given_name, family_name)
        select cf, 'Emma', 'Bruni' from unnest(${pupilCfs}::text[]) cf returning id`
      await tx`insert into pupil_payers (pupil_id, payer_id, holder)
               select * , true from unnest(${pupils.map((p) => p.id)}::bigint[], ${payers.map((p) => p.id)}::bigint[])`
      const enrollments = await tx<{ id: number }[]>`
        insert into canteen_enrollments (pupil_id, school_year, class_id, start_date)
        select p, '2026/2027', ${setup.classId}, '2026-09-14' from unnest(${pupils.map((p) => p.id)}::bigint[]) p
        returning id`
      await tx`insert into canteen_enrollment_tariffs (enrollment_id, valid_from, tariff_id)
               select e, '2026-09-14', ${setup.residente} from unnest(${enrollments.map((e) => e.id)}::bigint[]) e`
      // the job last ran on Monday 5 October: Friday 16 October catches up from Friday 9 (a week at most)
      await tx`insert into canteen_charge_days (day, meals) values ('2026-10-05', 0)`
    })
    const days = [
      '2026-10-09',
      '2026-10-10',
      '2026-10-11',
      '2026-10-12',
      '2026-10-13',
      '2026-10-14',
      '2026-10-15',
      '2026-10-16',
    ]
    const serviceDays = days.filter((d) => ![0, 6].includes(new Date(`${d}T12:00:00Z`).getUTCDay()))
    const charged = () =>
      count(
        tenantSql(
          (tx) => tx<{ n: number }[]>`select count(*)::int as n from canteen_charge_days where day >= '2026-10-09'`,
        ),
      )
    await killThenFinish(
      'canteen-charge-meals',
      ['--date', '2026-10-16'],
      async () => (await charged()) / days.length,
      async () => (await charged()) === days.length,
    )
    const chargeDays = await tenantSql(
      (tx) =>
        tx<
          { day: string; meals: number }[]
        >`select day::text, meals from canteen_charge_days where day >= '2026-10-09' order by day`,
    )
    expect(chargeDays).toEqual(days.map((d) => ({ day: d, meals: serviceDays.includes(d) ? N : 0 })))
    const perPupil = await tenantSql(
      (tx) =>
        tx<{ pupil_id: number; meals: number; balance: number; days: string[] }[]>`
        select e.pupil_id, coalesce(sum(l.meals), 0)::int as meals, coalesce(sum(l.amount_cents), 0)::bigint as balance,
          coalesce(array_agg(l.entry_date::text order by l.entry_date) filter (where l.id is not null), '{}') as days
        from canteen_enrollments e left join canteen_ledger l on l.pupil_id = e.pupil_id and l.kind = 'pasto'
        group by e.pupil_id`,
    )
    expect(perPupil).toHaveLength(N)
    for (const p of perPupil)
      expect(p).toEqual({ pupil_id: p.pupil_id, meals: 6, balance: -6 * 580, days: serviceDays })
  }, 150_000)

  it('canteen-low-balance: one email per pupil for its crossing, none lost', async () => {
    const N = 400
    const pupils = (
      await tenantSql((tx) => tx<{ pupil_id: number }[]>`select pupil_id from canteen_enrollments order by pupil_id`)
    ).map((r) => r.pupil_id)
    expect(pupils).toHaveLength(N)
    const queued = () =>
      count(
        db.sql<
          { n: number }[]
        >`select count(*)::int as n from platform.outbox where dedupe_key like ${`canteen-low:${tenant.id}:%`}`,
      )
    await killThenFinish(
      'canteen-low-balance',
      ['--date', '2026-10-16'],
      async () => (await queued()) / N,
      async () =>
        (await queued()) === N &&
        (await count(
          tenantSql((tx) => tx<{ n: number }[]>`select count(*)::int as n from canteen_low_balance where mail_pending`),
        )) === 0,
    )
    const states = await tenantSql(
      (tx) =>
        tx<{ pupil_id: number; below: boolean; crossings: number; mail_pending: boolean }[]>`
        select pupil_id, below, crossings, mail_pending from canteen_low_balance order by pupil_id`,
    )
    expect(states).toEqual(pupils.map((p) => ({ pupil_id: p, below: true, crossings: 1, mail_pending: false })))
    const mails = await db.sql<{ dedupe_key: string; to_address: string }[]>`
      select dedupe_key, to_address from platform.outbox where dedupe_key like ${`canteen-low:${tenant.id}:%`}`
    expect(mails.map((m) => m.dedupe_key).sort()).toEqual(pupils.map((p) => `canteen-low:${tenant.id}:${p}:1`).sort())
    expect(new Set(mails.map((m) => m.to_address)).size).toBe(N)
  }, 150_000)

  /**
   * n payments of one installment each, started at the sandbox provider and (unless `pay` is false) paid there:
   * its notification queued.
   */
  async function paidAtProvider(n: number, pay = true) {
    const [payer] = await tenantSql(
      (tx) =>
        tx<{ id: number }[]>`
        insert into payers (codice_fiscale, given_name, family_name) values (${account.codiceFiscale}, 'Prova', 'Utente')
        on conflict (codice_fiscale) do update set given_name = excluded.given_name returning id`,
    )
    const today = new Date().toISOString().slice(0, 10)
    const issued = await issueMany(n, { dueDate: today, payerId: payer?.id as number })
    const out: { paymentId: number; installmentId: number; providerRef: string }[] = []
    for (const inst of issued) {
      const started = await startCheckout(db, server.deps.config, server.deps.provider, {
        accountId: account.id,
        email: account.email,
        lang: 'it',
        idempotencyKey: newToken(),
        selection: [{ tenant, installmentIds: [inst.id] }],
      })
      const [p] = await db.sql<{ provider_ref: string }[]>`
        select provider_ref from platform.payments where id = ${started.paymentId}`
      if (pay) {
        const s = await completeSession(db.sql, p?.provider_ref as string, {
          status: 'succeeded',
          authCode: '123456',
          eventId: randomUUID(),
        })
        expect(s).not.toBeNull()
      }
      out.push({ paymentId: started.paymentId, installmentId: inst.id, providerRef: p?.provider_ref as string })
    }
    return out
  }

  /** Each payment succeeded once: one applied event, its installment settled by it once, one receipt. */
  async function expectPaidOnce(payments: { paymentId: number; installmentId: number }[]) {
    const ids = payments.map((p) => p.paymentId)
    const rows = await db.sql<
      { id: number; status: string; applied: number; items_applied: boolean; receipts: number }[]
    >`
      select p.id, p.status,
        (select count(*)::int from platform.payment_events e where e.payment_id = p.id and e.outcome = 'applied') as applied,
        (select bool_and(i.applied_at is not null and i.outcome = 'paid') from platform.payment_items i where i.payment_id = p.id) as items_applied,
        (select count(*)::int from platform.outbox o where o.dedupe_key = 'receipt:' || p.id) as receipts
      from platform.payments p where p.id = any(${ids}) order by p.id`
    expect(rows).toEqual(
      ids
        .sort((a, b) => a - b)
        .map((id) => ({ id, status: 'succeeded', applied: 1, items_applied: true, receipts: 1 })),
    )
    const settled = await tenantSql(
      (tx) =>
        tx<{ installment_id: number; payment_id: number; n: number; status: string }[]>`
        select i.id as installment_id, min(ip.payment_id)::bigint as payment_id, count(ip.id)::int as n, i.status
        from installments i left join installment_payments ip on ip.installment_id = i.id
        where i.id = any(${payments.map((p) => p.installmentId)}) group by i.id`,
    )
    expect(settled).toHaveLength(payments.length)
    for (const s of settled) {
      const p = payments.find((x) => x.installmentId === s.installment_id)
      expect(s).toEqual({ installment_id: s.installment_id, payment_id: p?.paymentId, n: 1, status: 'pagato' })
    }
  }

  it('sandbox-psp-delivery: each notification applied once, each installment paid once, one receipt each', async () => {
    const N = 120
    const payments = await paidAtProvider(N)
    const refs = payments.map((p) => p.providerRef)
    const delivered = () =>
      count(db.sql<{ n: number }[]>`
        select count(*)::int as n from platform.sandbox_psp_sessions where id = any(${refs}) and notify_delivered_at is not null`)
    // a notification a killed run had claimed waits for its 60-second lease: that time passes before each run
    const leaseOver = async () => {
      await db.sql`update platform.sandbox_psp_sessions set notify_next_at = now()
                   where id = any(${refs}) and notify_delivered_at is null and notify_next_at > now()`
    }
    await killThenFinish(
      'sandbox-psp-delivery',
      [],
      async () => (await delivered()) / N,
      async () => (await delivered()) === N,
      {
        beforeEachRun: async () => {
          await expectSucceededWhole()
          await leaseOver()
        },
        maxRuns: 6,
      },
    )
    await expectPaidOnce(payments)
  }, 150_000)

  /** A reporting flow (FdR) settling the given installments. */
  function fdr(flowId: string, lines: { iuv: string; cents: number }[]): string {
    const euros = (c: number) => `${Math.trunc(c / 100)}.${String(c % 100).padStart(2, '0')}`
    const rows = lines
      .map(
        (l, i) =>
          `<datiSingoliPagamenti><identificativoUnivocoVersamento>${l.iuv}</identificativoUnivocoVersamento><identificativoUnivocoRiscossione>IUR${run}${i}</identificativoUnivocoRiscossione><indiceDatiSingoloPagamento>1</indiceDatiSingoloPagamento><singoloImportoPagato>${euros(l.cents)}</singoloImportoPagato><codiceEsitoSingoloPagamento>0</codiceEsitoSingoloPagamento><dataEsitoSingoloPagamento>2026-10-14</dataEsitoSingoloPagamento></datiSingoliPagamenti>`,
      )
      .join('\n')
    return `<?xml version="1.0" encoding="UTF-8"?>
<FlussoRiversamento xmlns="http://www.digitpa.gov.it/schemas/2011/Pagamenti/">
<versioneOggetto>1.0</versioneOggetto><identificativoFlusso>${flowId}</identificativoFlusso><dataOraFlusso>2026-10-15T10:00:00</dataOraFlusso>
<identificativoUnivocoRegolamento>SCT-${run}</identificativoUnivocoRegolamento><dataRegolamento>2026-10-15</dataRegolamento>
<istitutoMittente><identificativoUnivocoMittente><tipoIdentificativoUnivoco>B</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>UNCRITMM</codiceIdentificativoUnivoco></identificativoUnivocoMittente><denominazioneMittente>Banca di Prova S.p.A.</denominazioneMittente></istitutoMittente>
<istitutoRicevente><identificativoUnivocoRicevente><tipoIdentificativoUnivoco>G</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>${tenant.fiscalCode}</codiceIdentificativoUnivoco></identificativoUnivocoRicevente></istitutoRicevente>
<numeroTotalePagamenti>${lines.length}</numeroTotalePagamenti><importoTotalePagamenti>${euros(lines.reduce((s, l) => s + l.cents, 0))}</importoTotalePagamenti>
${rows}
</FlussoRiversamento>`
  }

  it('reconciliation: lost notifications applied once, abandoned payments released once, a dropped flow imported once', async () => {
    // paid at the provider, notification lost: the job asks the provider (the test server) and applies it
    const lost = await paidAtProvider(60)
    await db.sql`update platform.sandbox_psp_sessions set notify_next_at = null where id = any(${lost.map((p) => p.providerRef)})`
    await db.admin`update platform.payments set updated_at = now() - interval '5 minutes'
                   where id = any(${lost.map((p) => p.paymentId)})`
    // reserved, never handed to the provider (the process stopped): expired after 15 minutes, released
    const abandoned = await paidAtProvider(30, false)
    await db.admin`update platform.payments set status = 'created', provider_ref = null, created_at = now() - interval '20 minutes'
                   where id = any(${abandoned.map((p) => p.paymentId)})`
    // a reporting flow in the drop folder, settling 200 open installments
    const open = await issueMany(200, { dueDate: new Date().toISOString().slice(0, 10) })
    const flowId = `2026-10-15UNCRITMM-S${run}`
    const dir = join(flowsDir, tenant.slug)
    await mkdir(dir, { recursive: true })
    const file = join(dir, 'flusso.xml')
    await writeFile(
      file,
      fdr(
        flowId,
        open.map((o) => ({ iuv: o.iuv, cents: o.amount })),
      ),
    )
    await utimes(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000))

    const paymentIds = [...lost, ...abandoned].map((p) => p.paymentId)
    const final = () =>
      count(db.sql<{ n: number }[]>`
        select count(*)::int as n from platform.payments where id = any(${paymentIds}) and status in ('succeeded', 'expired')`)
    const imported = () =>
      count(
        tenantSql(
          (tx) => tx<{ n: number }[]>`select count(*)::int as n from reconciliation_imports where flow_id = ${flowId}`,
        ),
      )
    await killThenFinish(
      'reconciliation',
      [],
      async () => (await final()) / paymentIds.length,
      async () => (await readdir(dir)).filter((f) => f.endsWith('.xml')).length === 0,
      // the last kill falls once the payments are done: while the flow is imported, or just after
      // after every kill, before the rerun: whatever the kill cut, no payment is succeeded without the rest
      { points: [...killPoints(), { progress: 1 }], beforeEachRun: expectSucceededWhole },
    )
    await expectPaidOnce(lost)
    const expired = await db.sql<{ id: number; status: string; applied: number; items: string[] }[]>`
      select p.id, p.status,
        (select count(*)::int from platform.payment_events e where e.payment_id = p.id and e.outcome = 'applied') as applied,
        (select array_agg(i.outcome) from platform.payment_items i where i.payment_id = p.id) as items
      from platform.payments p where p.id = any(${abandoned.map((p) => p.paymentId)}) order by p.id`
    expect(expired.every((p) => p.status === 'expired' && p.applied === 1 && p.items.join() === 'released')).toBe(true)
    const released = await tenantSql(
      (tx) =>
        tx<{ status: string; pending: number | null; paid: number }[]>`
        select i.status, i.pending_payment_id as pending, (select count(*)::int from installment_payments ip where ip.installment_id = i.id) as paid
        from installments i where i.id = any(${abandoned.map((p) => p.installmentId)})`,
    )
    expect(released).toHaveLength(abandoned.length)
    expect(released.every((r) => r.status === 'da_pagare' && r.pending === null && r.paid === 0)).toBe(true)
    // the flow: imported once, its file moved aside once, each installment settled once by it
    expect(await imported()).toBe(1)
    expect((await readdir(join(dir, 'importati'))).filter((f) => f.endsWith('flusso.xml'))).toHaveLength(1)
    expect(await readdir(dir)).not.toContain('scartati')
    const flowSettled = await tenantSql(
      (tx) =>
        tx<{ n: number; status: string; source: string }[]>`
        select count(ip.id)::int as n, i.status, min(ip.source) as source from installments i
        left join installment_payments ip on ip.installment_id = i.id where i.id = any(${open.map((o) => o.id)})
        group by i.id`,
    )
    expect(flowSettled).toHaveLength(open.length)
    expect(flowSettled.every((s) => s.n === 1 && s.status === 'pagato' && s.source === 'riconciliazione')).toBe(true)
  }, 150_000)

  it('spontaneous-cleanup: each abandoned request withdrawn once, audited once', async () => {
    const N = 200
    const [payer] = await tenantSql(
      (tx) => tx<{ id: number }[]>`select id from payers where codice_fiscale = ${account.codiceFiscale}`,
    )
    const issued = await issueMany(N, { dueDate: new Date().toISOString().slice(0, 10), payerId: payer?.id as number })
    await tenantSql(
      (tx) => tx`
      insert into spontaneous_requests (idempotency_key, account_id, service_id, amount_cents, document_id, installment_id, created_at)
      select k, ${account.id}, (select id from services where code = 'mensa'), 1000, d, i, now() - interval '2 days'
      from unnest(${issued.map(() => newToken())}::text[], ${issued.map((i) => i.documentId)}::bigint[],
                  ${issued.map((i) => i.id)}::bigint[]) as x(k, d, i)`,
    )
    const docIds = issued.map((i) => i.documentId)
    const withdrawn = () =>
      count(
        tenantSql(
          (tx) =>
            tx<
              { n: number }[]
            >`select count(*)::int as n from documents where id = any(${docIds}) and cancelled_at is not null`,
        ),
      )
    await killThenFinish(
      'spontaneous-cleanup',
      [],
      async () => (await withdrawn()) / N,
      async () => (await withdrawn()) === N,
      { points: [{ afterMs: 0 }, { afterMs: Math.floor(random() * 150) }] },
    )
    const audit = await tenantSql(
      (tx) =>
        tx<{ entity_id: string; n: number }[]>`
        select entity_id, count(*)::int as n from audit_log where action = 'spontaneous.withdraw' group by entity_id`,
    )
    expect(audit.map((a) => Number(a.entity_id)).sort((a, b) => a - b)).toEqual([...docIds].sort((a, b) => a - b))
    expect(audit.every((a) => a.n === 1)).toBe(true)
    const inst = await tenantSql(
      (tx) =>
        tx<
          { n: number }[]
        >`select count(*)::int as n from installments where id = any(${issued.map((i) => i.id)}) and status = 'annullato'`,
    )
    expect(inst[0]?.n).toBe(N)
  }, 150_000)

  it('a killed manual run never blocks a rerun, and is closed once its heartbeat is silent', async () => {
    // (after the rounds above: their killed runs were left unfinished)
    expect(killed.some((k) => k.job === 'reminders' && k.midRun)).toBe(true)
    const open = await db.sql<{ id: number }[]>`
      select id from platform.job_runs where job = 'reminders' and finished_at is null and trigger = 'manual'`
    expect(open.length).toBeGreaterThan(0)
    // every manual rerun above ran although killed runs were open; a scheduled slot waits for them, but only
    // while their heartbeat could still be alive: 45 seconds, which pass here
    const slot = new Date(Math.floor(Date.now() / 60_000) * 60_000)
    const lease = findJob('reminders')?.leaseMinutes as number
    expect(await claimSlot(db.sql, 'reminders', slot, 'istanza-di-prova', lease)).toBeNull()
    await db.admin`update platform.job_runs set heartbeat_at = heartbeat_at - interval '46 seconds'
                   where id = any(${open.map((o) => o.id)})`
    expect(await takeOverSilentRuns(db.sql, { takeOver: ['reminders'], closeManual: ['reminders'] }, 'erede')).toEqual(
      [],
    )
    const closed = await db.sql<{ outcome: string; error: string }[]>`
      select outcome, error from platform.job_runs where id = any(${open.map((o) => o.id)})`
    expect(closed.every((c) => c.outcome === 'interrupted' && c.error.includes('heartbeat went silent'))).toBe(true)
    const id = await claimSlot(db.sql, 'reminders', slot, 'istanza-di-prova', lease)
    expect(id).not.toBeNull()
    expect(await finishRun(db.sql, id as number, { outcome: 'succeeded', counts: {} }, 'istanza-di-prova')).toBe(true)
  }, 60_000)

  it('a server killed mid-run: the other instance takes the run over within seconds and finishes it; a restart takes over at once', async () => {
    await db.sql`delete from platform.outbox where status <> 'sent'`
    const N = 30
    const queue = async (tag: string) => {
      await db.sql`insert into platform.outbox (to_address, subject, text_body)
                   select ${tag} || g || '.' || ${run} || '@example.it', 'Subentro ' || g, 'Messaggio ' || g
                   from generate_series(1, ${N}) g`
    }
    // two instances of the server, only the outbox scheduled (every second); a heartbeat a second, silent after 3
    const env = (takeover: number) => ({
      ...childEnv,
      BASE_URL: undefined,
      JOBS: 'true',
      SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      JOBS_HEARTBEAT_SECONDS: '1',
      JOBS_TAKEOVER_SECONDS: String(takeover),
      JOB_SCHEDULE_OUTBOX: '* * * * * *',
      ...Object.fromEntries(JOBS.filter((j) => j.name !== 'outbox').map((j) => [scheduleVariable(j.name), 'off'])),
    })
    const servers = await Promise.all([startServerProcess(env(3)), startServerProcess(env(3))])
    try {
      /** kills the server running the outbox once it has sent a few of `tag`'s messages: the run left open */
      const killMidRun = async (tag: string, among: ServerProcess[]) => {
        const sentBefore = smtp.received.length
        await queue(tag)
        for (let i = 0; i < 2000; i++) {
          const [r] = await db.sql<{ id: number; pid: number; instance: string }[]>`
            select id, pid, instance from platform.job_runs where job = 'outbox' and finished_at is null`
          const victim = r && among.find((p) => p.child.pid === r.pid)
          if (r && victim && smtp.received.length >= sentBefore + 3) {
            await victim.kill()
            return { ...r, at: performance.now(), victim }
          }
          await sleep(5)
        }
        throw new Error('no outbox run to kill')
      }
      const outboxDone = async () => {
        // the one message a kill left 'sending' goes back to the queue after ten minutes: they pass here
        await db.sql`update platform.outbox set next_attempt_at = now() - interval '11 minutes' where status = 'sending'`
        return (await count(db.sql`select count(*)::int as n from platform.outbox where status <> 'sent'`)) === 0
      }
      const kill = await killMidRun('s', servers)
      const survivor = servers.find((p) => p !== kill.victim) as ServerProcess
      // the survivor takes the same run over (3 s of silence, a heartbeat later) and finishes it
      let row:
        | { instance: string; outcome: string | null; attempts: number; taken_over_from: string | null }
        | undefined
      for (let i = 0; i < 300; i++) {
        ;[row] = await db.sql<NonNullable<typeof row>[]>`
          select instance, outcome, attempts, taken_over_from from platform.job_runs where id = ${kill.id}`
        if (row?.outcome) break
        await sleep(50)
      }
      expect(row).toMatchObject({ outcome: 'succeeded', attempts: 2, taken_over_from: kill.instance })
      expect(row?.instance).not.toBe(kill.instance)
      expect(performance.now() - kill.at).toBeLessThan(15_000)
      for (let i = 0; i < 100 && !(await outboxDone()); i++) await sleep(100)
      expect(await outboxDone()).toBe(true)

      // alone, killed mid-run, and started again with a takeover time of a minute: the new process finds the
      // run of a process of its machine that is gone and takes it over at once, not a minute later
      const again = await killMidRun('r', [survivor])
      const restarted = await startServerProcess(env(60))
      servers.push(restarted)
      const startedAt = performance.now()
      for (let i = 0; i < 300; i++) {
        ;[row] = await db.sql<NonNullable<typeof row>[]>`
          select instance, outcome, attempts, taken_over_from from platform.job_runs where id = ${again.id}`
        if (row?.outcome) break
        await sleep(50)
      }
      expect(row).toMatchObject({ outcome: 'succeeded', attempts: 2, taken_over_from: again.instance })
      expect(performance.now() - startedAt).toBeLessThan(15_000)
      for (let i = 0; i < 100 && !(await outboxDone()); i++) await sleep(100)
      expect(await outboxDone()).toBe(true)
      // every message of both rounds reached SMTP; twice only the one in flight at each kill
      const ours = smtp.received.filter((m) => / Subentro /.test(` ${m.subject} `))
      const ids = new Set(ours.map((m) => m.messageId))
      expect(ids.size).toBe(2 * N)
      expect(ours.length - ids.size).toBeLessThanOrEqual(2)
      const open = await count(db.sql`select count(*)::int as n from platform.job_runs where finished_at is null`)
      expect(open).toBeLessThanOrEqual(1)
    } finally {
      for (const p of servers) await p.kill()
    }
  }, 120_000)

  it('Ctrl-C or SIGTERM closes the run as interrupted at once; what it sent stays sent', async () => {
    // the mail the tests above queued (reminders, low balance…) is not this test's: out of the way
    await db.sql`delete from platform.outbox where status <> 'sent'`
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      await db.sql`insert into platform.outbox (to_address, subject, text_body)
                   select 'sig' || g || '.' || ${run} || '@example.it', 'Segnale ' || g, 'Messaggio ' || g
                   from generate_series(1, 150) g`
      const child = spawn(process.execPath, nodeArgs('cli/job', 'outbox'), { env: childEnv })
      children.add(child)
      const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
      const instance = `cli:${hostname()}:${child.pid}`
      // stopped once it has sent a few (150 take about half a second; one rerun drains them all: 200 a run)
      const sentBefore = smtp.received.length
      for (let i = 0; i < 3000 && smtp.received.length < sentBefore + 3; i++) await sleep(5)
      child.kill(signal)
      expect(await exit).toBe(signal === 'SIGINT' ? 130 : 143)
      children.delete(child)
      const [row] = await db.sql<{ outcome: string | null; error: string | null; finished: boolean }[]>`
        select outcome, error, finished_at is not null as finished from platform.job_runs where instance = ${instance}`
      expect(row).toEqual({ outcome: 'interrupted', error: `stopped by ${signal}`, finished: true })
      // every message the SMTP server accepted is recorded as sent, or left to be sent again (never lost)
      const unsent = await count(db.sql`select count(*)::int as n from platform.outbox where status <> 'sent'`)
      expect(unsent).toBeGreaterThan(0)
      await db.sql`update platform.outbox set next_attempt_at = now() - interval '11 minutes' where status = 'sending'`
      const r = await runJob('outbox', [], null)
      expect(r.code, r.out).toBe(0)
      expect(await count(db.sql`select count(*)::int as n from platform.outbox where status <> 'sent'`)).toBe(0)
    }
  }, 120_000)
})
