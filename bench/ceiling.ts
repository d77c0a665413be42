// The database-bound ceiling of each page: the page's own SQL — the session lookup and the same queries in
// one tenant-scoped transaction — issued straight through postgres.js by as many concurrent callers as the
// HTTP benchmark has connections, with the application's pool size and no HTTP or rendering.
// Run by bench/run.ts as a child process; prints one JSON line.
//
//   node --import tsx bench/ceiling.ts --page position --duration 10 --connections 64

import type postgres from 'postgres'
import { type CartColumns, cartColumns, cartIdsColumn } from '../src/features/cart/service.ts'
import { listDocuments, loadDocument } from '../src/features/debts/queries.ts'
import { loadInstallments } from '../src/features/payments/service.ts'
import { publicDocuments } from '../src/features/publications/queries.ts'
import { todayRome } from '../src/platform/dates.ts'
import { type Sql, type Tx, tenantRoleName, withTenant, withTenantAtOnce } from '../src/platform/db.ts'
import { type SessionRow, sessionSelect, touch } from '../src/platform/session.ts'
import { hashToken } from '../src/platform/tokens.ts'
import { arg, openBenchDb, SESSION_SECRET, startBenchPostgres } from './common.ts'
import { backendPids, cpuMs } from './cpu.ts'
import { type BenchUser, loadUsers, shuffled } from './users.ts'

/** The session of a benchmark user, as the application reads it (sessionSelect), with `extra` columns. */
function session(tx: Tx | Sql, u: BenchUser, extra?: postgres.PendingQuery<postgres.Row[]>) {
  return sessionSelect(tx, hashToken(SESSION_SECRET, u.token), extra)
}

function signedIn<R extends SessionRow>(row: R | null): R {
  if (!row) throw new Error('bench session not found (run the generator again?)')
  return row
}

export const PAGES = {
  /** /t/:slug, anonymous: the tenant's services and published documents */
  tenant: (sql: Sql) => async (u: BenchUser) => {
    await withTenant(sql, u.tenant, (tx) =>
      Promise.all([
        tx`select code, kind, name, spontaneous from services where active order by name`,
        publicDocuments(tx, { slug: u.slug }, 'it'),
      ]),
    )
  },
  /** /t/:slug/posizione-debitoria: scope, session and the open documents sent together (withTenantSession) */
  position: (sql: Sql) => async (u: BenchUser) => {
    const today = todayRome()
    const { row } = await withTenantAtOnce<SessionRow, unknown>(
      sql,
      u.tenant,
      (tx) => session(tx, u),
      (tx) => tx`case when p.cf_proved then p.codice_fiscale end`,
      (tx, cf) => listDocuments(tx, cf, today, { state: 'aperti' }),
    )
    const me = signedIn(row)
    if (me.stale) await touch(sql, me.session_id)
  },
  /** /t/:slug/documenti/:id: scope, session, this tenant's part of the cart and the document, sent together */
  document: (sql: Sql) => async (u: BenchUser) => {
    const today = todayRome()
    const { row, value } = await withTenantAtOnce<SessionRow & { cart_ids: number[] }, unknown>(
      sql,
      u.tenant,
      (tx) => session(tx, u, cartIdsColumn(tx, u.tenant.id)),
      (tx) => tx`case when p.cf_proved then p.codice_fiscale end`,
      (tx, cf) => loadDocument(tx, cf, today, u.documentId),
    )
    const me = signedIn(row)
    if (!value) throw new Error('bench document not visible')
    if (me.stale) await touch(sql, me.session_id)
  },
  /** /carrello: session and cart items in one statement (withSessionRow), then each tenant's installments */
  cart: (sql: Sql) => async (u: BenchUser) => {
    const [row] = await sql<(SessionRow & CartColumns)[]>`${session(sql, u, cartColumns(sql))}`
    const me = signedIn(row ?? null)
    if (me.stale) await touch(sql, me.session_id)
    for (const tenantId of new Set(me.cart_tenant_ids)) {
      const scope = tenants.get(tenantId)
      if (!scope) throw new Error(`tenant ${tenantId} unknown`)
      const mine = me.cart_installment_ids.filter((_, i) => me.cart_tenant_ids[i] === tenantId)
      await withTenant(sql, scope, (tx) => loadInstallments(tx, mine))
    }
  },
} satisfies Record<string, (sql: Sql) => (u: BenchUser) => Promise<void>>

export type PageName = keyof typeof PAGES

const tenants = new Map<number, { schema: string; role: string }>()

export interface LoopResult {
  requests: number
  seconds: number
  perSecond: number
  p50: number
  p99: number
  errors: number
  /** CPU per request, in microseconds: this process, and the database backends of its pool */
  nodeUs?: number
  databaseUs?: number
}

/** Runs fn from `callers` concurrent loops for `seconds`, over the users in turn. */
export async function runLoops(
  users: BenchUser[],
  callers: number,
  seconds: number,
  fn: (u: BenchUser) => Promise<void>,
): Promise<LoopResult> {
  const latencies: number[] = []
  let errors = 0
  let next = 0
  const started = performance.now()
  const deadline = started + seconds * 1000
  let firstError: unknown = null
  const loop = async () => {
    while (performance.now() < deadline) {
      const u = users[next++ % users.length] as BenchUser
      const t0 = performance.now()
      try {
        await fn(u)
        latencies.push(performance.now() - t0)
      } catch (err) {
        errors++
        firstError ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: callers }, loop))
  const elapsed = (performance.now() - started) / 1000
  if (firstError && errors > latencies.length / 100) throw firstError
  latencies.sort((a, b) => a - b)
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0
  return {
    requests: latencies.length,
    seconds: elapsed,
    perSecond: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    errors,
  }
}

async function main() {
  startBenchPostgres()
  const page = arg('page', 'position') as PageName
  if (!(page in PAGES)) throw new Error(`unknown page ${page}`)
  const duration = Number(arg('duration', '10'))
  const warmup = Number(arg('warmup', '2'))
  const callers = Number(arg('connections', '64'))
  const db = await openBenchDb(Number(arg('pool', '10')))
  const rows = await db.admin<{ id: number; schema_name: string }[]>`select id, schema_name from platform.tenants`
  for (const r of rows) tenants.set(r.id, { schema: r.schema_name, role: tenantRoleName(db.roles, r.schema_name) })
  const users = shuffled(await loadUsers(db)).filter((u) => page !== 'cart' || u.cartItems > 0)
  const fn = PAGES[page](db.sql)
  if (warmup > 0) await runLoops(users, callers, warmup, fn)
  const pids = await backendPids(db.admin, 'sportello')
  const pg0 = cpuMs(pids)
  const node0 = process.cpuUsage()
  const result = await runLoops(users, callers, duration, fn)
  const node = process.cpuUsage(node0)
  result.nodeUs = ((node.user + node.system) / result.requests) | 0
  result.databaseUs = (((cpuMs(pids) - pg0) * 1000) / result.requests) | 0
  process.stdout.write(`${JSON.stringify(result)}\n`)
  await db.close()
}

if (process.argv[1]?.endsWith('ceiling.ts')) {
  main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
