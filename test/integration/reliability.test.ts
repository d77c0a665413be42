// The server killed (SIGKILL) at points of the payment journey, then restarted: the payment converges to
// one outcome, the installment is paid once, nothing is lost or doubled.
import { type ChildProcess, spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { reconcilePayments } from '../../src/features/payments/maintenance.ts'
import { deliverPending } from '../../src/features/psp/delivery.ts'
import { createSandboxProvider } from '../../src/features/psp/sandbox.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { TEST_PASSWORD, type TestAccount } from '../helpers/accounts.ts'
import { nodeArgs } from '../helpers/built.ts'
import { Client } from '../helpers/client.ts'
import { testTarget } from '../helpers/db.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { world } from '../helpers/world.ts'

const target = testTarget()
const { BASE_URL: _b, MODE: _m, DEV: _d, PROD: _p, SSR: _s, ...cleanEnv } = process.env
const port = 41_000 + Math.floor(Math.random() * 9000)
const base = `http://127.0.0.1:${port}`
const env = {
  ...cleanEnv,
  DATABASE_URL: target.url,
  PORT: String(port),
  BASE_URL: base,
  SEED_DEMO: 'false',
  JOBS: 'false',
  LOG_LEVEL: 'warn',
  NODE_ENV: 'development',
  // DATABASE_URL alone is production: this is the demo on PostgreSQL (its sandbox provider pays)
  SPORTELLO_DEMO: '1',
}

const w = world()
let db: Db
let tenant: Tenant
let account: TestAccount
let child: ChildProcess | null = null

async function startProcess() {
  // node on the build, as npm start runs it: one process, so SIGKILL really kills the server
  const c = spawn(process.execPath, nodeArgs('server'), { env })
  child = c
  const started = Date.now()
  while (Date.now() - started < 30_000) {
    try {
      if ((await fetch(`${base}/health`)).ok) {
        if (process.env.RELIABILITY_DEBUG) console.log('started', c.pid, Date.now() - started)
        return
      }
    } catch {}
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('server did not start')
}

async function kill() {
  const c = child
  if (!c) return
  const gone = new Promise((r) => c.once('exit', r))
  c.kill('SIGKILL')
  await gone
  child = null
}

/** A Client speaking HTTP to the separate server process. */
function httpClient(): Client {
  return new Client({
    request: (path: string, init?: RequestInit) => fetch(base + path, { ...init, redirect: 'manual' }),
  } as never)
}

beforeAll(async () => {
  ;({ db, tenant } = w)
  account = await w.account()
})

afterAll(async () => {
  await kill()
})

describe.skipIf(target.kind !== 'postgres')('killed and restarted', () => {
  for (const point of ['after reserving', 'after paying at the provider', 'while notifying'] as const) {
    it(`converges when killed ${point}`, async () => {
      await startProcess()
      const payer = await givePayer(db, tenant, account.codiceFiscale)
      const doc = await issue(db, tenant, payer, [4200])
      const id = doc.installments[0]?.id as number
      const c = httpClient()
      expect((await c.submit('/accesso', { email: account.email, password: TEST_PASSWORD })).status).toBe(303)
      await c.get(`/t/${tenant.slug}/documenti/${doc.documentId}`)
      await c.post('/carrello/aggiungi', { ente: tenant.slug, rate: [String(id)] })
      const summary = await (await c.get('/carrello/riepilogo')).text()
      const key = /name="chiave" value="([^"]+)"/.exec(summary)?.[1] as string
      const res = await c.post('/carrello/paga', { chiave: key })
      const redirect = res.headers.get('location') as string
      const [payment] = await db.sql<{ id: number }[]>`select id from platform.payments where idempotency_key = ${key}`

      if (point === 'after reserving') {
        await kill()
        await startProcess()
      }
      const path = new URL(redirect, base).pathname
      const html = await (await c.get(path)).text()
      const token = /name="token" value="([^"]+)"/.exec(html)?.[1] ?? ''
      const year = String(new Date().getFullYear() + 2)
      const pay = c.post(
        path,
        {
          token,
          cardholderName: 'A B',
          cardNumber: '4242424242424242',
          expiryMonth: '12',
          expiryYear: year,
          cvv: '123',
        },
        null,
      )
      // killed while this request runs, it fails: caught from the start, not only once the kill is through (the
      // socket can close during the kill, and a rejection nobody listens to yet fails the whole run)
      const paid = point === 'while notifying' ? pay.catch(() => null) : pay
      if (point === 'while notifying') {
        // kill as soon as the provider has recorded the card, before its notification is surely through
        for (let i = 0; i < 200; i++) {
          const [s] = await db.sql<
            { done: boolean }[]
          >`select completed_at is not null as done from platform.sandbox_psp_sessions where payment_id = ${payment?.id as number}`
          if (s?.done) break
          await new Promise((r) => setTimeout(r, 5))
        }
        await kill()
        await paid
      } else {
        await paid
        if (point === 'after paying at the provider') await kill()
      }
      if (!child) await startProcess()

      // what the scheduled jobs do after the restart, run after run, until the payment is final
      const config = loadConfig({ NODE_ENV: 'test', BASE_URL: base })
      const provider = createSandboxProvider(config)
      for (let i = 0; i < 50; i++) {
        await deliverPending(db, config)
        await db.sql`update platform.payments set updated_at = now() - interval '5 minutes'
                     where id = ${payment?.id as number} and status = 'pending'`
        await reconcilePayments(db, provider, { staleSeconds: 0 })
        // final, and applied to the tenant (the restarted server may still be applying it)
        const [s] = await db.sql<{ status: string; unapplied: number }[]>`
          select status, (select count(*)::int from platform.payment_items
                          where payment_id = p.id and applied_at is null) as unapplied
          from platform.payments p where id = ${payment?.id as number}`
        if (s?.status !== 'pending' && s?.status !== 'created' && s?.unapplied === 0) break
        await new Promise((r) => setTimeout(r, 200))
      }

      const [p] = await db.sql<
        { status: string }[]
      >`select status from platform.payments where id = ${payment?.id as number}`
      expect(p?.status).toBe('succeeded')
      const settled = await withTenant(
        db.sql,
        tenant,
        (tx) => tx<{ n: number; status: string }[]>`
        select (select count(*)::int from installment_payments where installment_id = ${id}) as n, status from installments where id = ${id}`,
      )
      expect(settled[0]).toEqual({ n: 1, status: 'pagato' })
      await kill()
    }, 120_000)
  }
})
