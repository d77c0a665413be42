// The database-bound ceiling of each page: the page's own SQL — the session lookup and the same queries in
// one tenant-scoped transaction — issued straight through postgres.js by as many concurrent callers as the
// HTTP benchmark has connections, with the application's pool size and no HTTP or rendering.
// Run by bench/run.ts as a child process; prints one JSON line.
//
//   node --import tsx bench/ceiling.ts --page position --duration 10 --connections 64

import { listDocuments, loadDocument } from '../src/features/debts/queries.ts'
import { loadInstallments } from '../src/features/payments/service.ts'
import { publicDocuments } from '../src/features/tenant-docs/queries.ts'
import { todayRome } from '../src/platform/dates.ts'
import { type Sql, type Tx, tenantRoleName } from '../src/platform/db.ts'
import { hashToken } from '../src/platform/tokens.ts'
import { arg, openBenchDb, SESSION_SECRET } from './common.ts'
import { backendPids, cpuMs } from './cpu.ts'
import { type BenchUser, loadUsers, shuffled } from './users.ts'

interface SessionRow {
  search_path: string
  role: string
  session_id: number | null
  account_id: number | null
  codice_fiscale: string | null
  stale: boolean | null
  cart: number[] | null
}

/** The first statement of a signed-in tenant page: both settings and the session, in one round trip. */
function scopeAndSession(tx: Tx, u: BenchUser, withCart: boolean) {
  return tx<SessionRow[]>`
    select set_config('search_path', ${u.tenant.schema}, true) as search_path, set_config('role', ${u.tenant.role}, true) as role,
      x.session_id, x.account_id, x.given_name, x.family_name, x.codice_fiscale, x.email, x.email_confirmed, x.operator,
      x.lang, x.stale,
      ${
        withCart
          ? tx`(select coalesce(array_agg(c.installment_id), '{}') from platform.cart_items c
               where c.account_id = x.account_id and c.tenant_id = ${u.tenant.id})`
          : tx`null::bigint[]`
      } as cart
    from (values (1)) as one left join lateral (
      select s.id as session_id, a.id as account_id, a.given_name, a.family_name, a.codice_fiscale, a.email,
        a.email_confirmed_at is not null as email_confirmed, a.operator, a.lang,
        s.last_seen_at < now() - make_interval(secs => 60) as stale
      from platform.sessions s join platform.accounts a on a.id = s.account_id
      where s.token_hash = ${hashToken(SESSION_SECRET, u.token)} and s.revoked_at is null and s.expires_at > now()
        and s.last_seen_at > now() - make_interval(mins => 30)) as x on true`
}

function signedIn(row: SessionRow | undefined) {
  if (!row?.account_id || !row.codice_fiscale || !row.session_id)
    throw new Error('bench session not found (run the generator again?)')
  return {
    accountId: row.account_id,
    cf: row.codice_fiscale,
    cart: row.cart ?? [],
    touch: row.stale ? row.session_id : 0,
  }
}

/** As the application does: last_seen_at written at most once a minute, after the page's transaction. */
async function touch(sql: Sql, sessionId: number) {
  if (sessionId) await sql`update platform.sessions set last_seen_at = now() where id = ${sessionId}`
}

export const PAGES = {
  /** /t/:slug, anonymous: the tenant's services and published documents */
  tenant: (sql: Sql) => async (u: BenchUser) => {
    await sql.begin(async (tx) => {
      await tx`select set_config('search_path', ${u.tenant.schema}, true), set_config('role', ${u.tenant.role}, true)`
      await Promise.all([
        tx`select code, kind, name, spontaneous from services where active order by name`,
        publicDocuments(tx, { slug: u.slug }, 'it'),
      ])
    })
  },
  /** /t/:slug/posizione-debitoria: session, then the open documents */
  position: (sql: Sql) => async (u: BenchUser) => {
    const today = todayRome()
    const stale = await sql.begin(async (tx) => {
      const me = signedIn((await scopeAndSession(tx, u, false))[0])
      await listDocuments(tx, me.cf, today, { state: 'aperti' })
      return me.touch
    })
    await touch(sql, stale)
  },
  /** /t/:slug/documenti/:id: session and the cart's ids of this tenant, then the document and its installments */
  document: (sql: Sql) => async (u: BenchUser) => {
    const today = todayRome()
    const stale = await sql.begin(async (tx) => {
      const me = signedIn((await scopeAndSession(tx, u, true))[0])
      if (!(await loadDocument(tx, me.cf, today, u.documentId, me.cart))) throw new Error('bench document not visible')
      return me.touch
    })
    await touch(sql, stale)
  },
  /** /carrello: session and cart items in one statement, then each tenant's installments in its transaction */
  cart: (sql: Sql) => async (u: BenchUser) => {
    const [row] = await sql<
      {
        session_id: number | null
        account_id: number | null
        stale: boolean | null
        tenant_ids: number[] | null
        installment_ids: number[] | null
      }[]
    >`
      select x.session_id, x.account_id, x.stale, c.tenant_ids, c.installment_ids
      from (
        select s.id as session_id, a.id as account_id, a.given_name, a.family_name, a.codice_fiscale, a.email,
          a.email_confirmed_at is not null as email_confirmed, a.operator, a.lang,
          s.last_seen_at < now() - make_interval(secs => 60) as stale
        from platform.sessions s join platform.accounts a on a.id = s.account_id
        where s.token_hash = ${hashToken(SESSION_SECRET, u.token)} and s.revoked_at is null and s.expires_at > now()
          and s.last_seen_at > now() - make_interval(mins => 30)) as x
      left join lateral (
        select array_agg(ci.tenant_id order by ci.added_at, ci.installment_id) as tenant_ids,
          array_agg(ci.installment_id order by ci.added_at, ci.installment_id) as installment_ids
        from platform.cart_items ci where ci.account_id = x.account_id) as c on true`
    if (!row?.account_id || !row.session_id) throw new Error('bench session not found')
    if (row.stale) await touch(sql, row.session_id)
    const tenantIds = row.tenant_ids ?? []
    const ids = row.installment_ids ?? []
    for (const tenantId of new Set(tenantIds)) {
      const scope = tenants.get(tenantId)
      if (!scope) throw new Error(`tenant ${tenantId} unknown`)
      const mine = ids.filter((_, i) => tenantIds[i] === tenantId)
      await sql.begin(async (tx) => {
        await tx`select set_config('search_path', ${scope.schema}, true), set_config('role', ${scope.role}, true)`
        await loadInstallments(tx, mine)
      })
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
