// Database connections: a real PostgreSQL from DATABASE_URL, or an embedded PGlite served on loopback, owned by
// one process at a time (owner-lock.ts). Also the one tenant-scoped transaction helper every tenant query goes through.
import { mkdir } from 'node:fs/promises'
import { resolve } from 'node:path'
import postgres from 'postgres'
import type { Config } from '../config.ts'
import { isCitus } from './citus.ts'
import { attachLanes, connectionClosed, lanesOf, laneTransaction } from './lanes.ts'
import { lockPathFor, type OwnerLock, type TakeOptions, takeOwnerLock } from './owner-lock.ts'

export type Sql = postgres.Sql
export type Tx = postgres.TransactionSql

export interface RoleNames {
  /** sanitized database name, prefix of every role this database owns */
  prefix: string
  /** the login role the application runs as */
  app: string
  /** group role of every tenant role: the platform tables a tenant transaction may read */
  tenantGroup: string
}

export interface Db {
  kind: 'postgres' | 'pglite'
  /** the application's pool (non-superuser login role on PostgreSQL) */
  sql: Sql
  /** owner connection for migrations and onboarding; the same pool on PGlite */
  admin: Sql
  roles: RoleNames
  describe: string
  /**
   * PostgreSQL only: replaces both pools by fresh ones (what is running on the old ones finishes, up to 5 s).
   * postgres.js 3.4.9 can leave a pooled connection unable to ever reconnect after its backend dropped under
   * load; server.ts calls this when it sees that happen (decision 0084).
   */
  renew?(): void
  /**
   * PostgreSQL only: `select 1` on a connection of its own (not the pools, which may be busy with slow but
   * healthy work), for the stall watch (src/platform/db-watch.ts); rejects when not answered within timeoutMs
   */
  probe?(timeoutMs: number): Promise<unknown>
  /** PGlite on disk: this process's lock on the folder, which tells the tools who owns it (decision 0086) */
  owner?: OwnerLock
  close(): Promise<void>
}

export interface TenantScope {
  schema: string
  role: string
}

const SCHEMA_RE = /^t_[a-z0-9_]{1,40}$/
const ROLE_RE = /^[a-z0-9_]{1,63}$/

export function assertSchemaName(schema: string): string {
  if (!SCHEMA_RE.test(schema)) throw new Error(`invalid tenant schema name: ${JSON.stringify(schema)}`)
  return schema
}

export function roleNames(databaseName: string): RoleNames {
  const clean =
    databaseName
      .toLowerCase()
      .replace(/[^a-z0-9_]/g, '_')
      .slice(0, 16) || 'sportello'
  return { prefix: clean, app: `${clean}_app`, tenantGroup: `${clean}_tenants` }
}

export function tenantRoleName(roles: RoleNames, schema: string): string {
  const name = `${roles.prefix}_${assertSchemaName(schema)}`
  if (!ROLE_RE.test(name)) throw new Error(`invalid tenant role name: ${name}`)
  return name
}

/**
 * The error for a statement that returns at least one row by construction and returned none: the connection
 * dropped under it (seen when backends are terminated mid-query). It is an outage, answered with the 503 page
 * (its code is one isDatabaseUnavailable knows), never read as "not found" or "not signed in".
 */
export function droppedUnder(what: string): Error {
  return connectionClosed(`${what}: no row from a statement that always returns one (the connection dropped)`)
}

/**
 * Runs fn in one transaction scoped to a tenant: search_path is the tenant's schema and the role is the
 * tenant's own, both transaction-local, so a pooled connection never carries a tenant into the next use.
 */
export async function withTenant<T>(sql: Sql, tenant: TenantScope, fn: (tx: Tx) => Promise<T>): Promise<T> {
  assertSchemaName(tenant.schema)
  if (!ROLE_RE.test(tenant.role)) throw new Error('invalid tenant role')
  return tenantTransaction(sql, tenant.schema, async (tx) => {
    await tx`select set_config('search_path', ${tenant.schema}, true), set_config('role', ${tenant.role}, true)`
    return fn(tx)
  })
}

/**
 * A transaction for a tenant's work: on the tenant's lanes with its statements tagged when the pool has lanes
 * (PostgreSQL, src/platform/lanes.ts), else on the pool itself (PGlite, the owner pool).
 */
function tenantTransaction<T>(sql: Sql, schema: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const lanes = lanesOf(sql)
  return lanes ? laneTransaction(lanes, schema, fn) : (sql.begin(fn) as Promise<T>)
}

/**
 * Runs fn with a tenant's scope inside a transaction already open, and puts the transaction's own scope back
 * afterwards: for work that must commit with platform rows in one transaction, across the bodies it concerns
 * (a payment recorded, its installments settled and its receipt queued at once). Transaction-local, as
 * withTenant's; if fn throws, the transaction rolls back anyway.
 */
export async function inTenantScope<T>(tx: Tx, tenant: TenantScope, fn: (tx: Tx) => Promise<T>): Promise<T> {
  assertSchemaName(tenant.schema)
  if (!ROLE_RE.test(tenant.role)) throw new Error('invalid tenant role')
  const [before] = await tx<{ search_path: string; role: string }[]>`
    select current_setting('search_path') as search_path, current_setting('role') as role,
      set_config('search_path', ${tenant.schema}, true), set_config('role', ${tenant.role}, true)`
  if (!before) throw droppedUnder('tenant scope')
  const out = await fn(tx)
  await tx`select set_config('role', ${before.role}, true), set_config('search_path', ${before.search_path}, true)`
  return out
}

/** The application pools that are on Citus (withTenantAtOnce). */
const citusPools = new WeakSet<Sql>()

/** A value a statement reads: a parameter, or SQL that yields it (withTenantAtOnce's carried value). */
export type Carried = string | postgres.Fragment

/**
 * withTenant whose first statement also reads what the request needs from the platform schema (the session, the
 * cart), and whose page statements do not wait for it: a page is one transaction of two round trips (BEGIN, the
 * scope, the prelude and fn's statements; COMMIT). `prelude` is a select of at most one row on schema-qualified
 * platform tables; it runs as the application role — privileges are checked when the statement starts, before the
 * tenant's role applies. fn's statements go out behind it without waiting for its answer. They cannot use the prelude's
 * row: what they need of it, `carry` (an SQL expression over the prelude's columns, `p.<column>`), they read in SQL
 * through the fragment handed to fn (`current_setting('sportello.carried', true)`, set by the first statement, local
 * to the transaction; '' without a prelude row). The row, or null, comes back with fn's value: a caller that finds
 * no row discards the value. On Citus the carried value is not pipelined (a distributed statement is planned on
 * the coordinator but runs on a worker, whose session has no such setting): fn then gets the value as a parameter.
 */
export async function withTenantAtOnce<R extends object, T>(
  sql: Sql,
  tenant: TenantScope,
  prelude: (tx: Tx) => postgres.PendingQuery<postgres.Row[]>,
  carry: (tx: Tx) => postgres.Fragment,
  fn: (tx: Tx, carried: Carried) => Promise<T>,
): Promise<{ row: R | null; value: T }> {
  assertSchemaName(tenant.schema)
  if (!ROLE_RE.test(tenant.role)) throw new Error('invalid tenant role')
  const citus = citusPools.has(sql)
  return tenantTransaction(sql, tenant.schema, async (tx) => {
    type First = R & {
      scope_search_path: string
      scope_role: string
      scope_carried: string
      prelude_found: boolean | null
    }
    // then() sends it now, before fn's statements
    const first = tx<First[]>`
      select set_config('search_path', ${tenant.schema}, true) as scope_search_path,
        set_config('role', ${tenant.role}, true) as scope_role,
        set_config('sportello.carried', coalesce((${carry(tx)})::text, ''), true) as scope_carried, p.*
      from (values (1)) as scope left join lateral (select true as prelude_found, x.* from (${prelude(tx)}) as x) as p on true`.then(
      (rows) => {
        // one row by construction: none means the connection dropped under it (an outage: 503, not a 500)
        if (!rows[0]) throw droppedUnder('tenant scope')
        return rows[0]
      },
    )
    let value: T
    let firstRow: First
    if (citus) {
      firstRow = await first
      value = await fn(tx, firstRow.scope_carried)
    } else {
      // fn's statements fail (25P02) when the first one did; its error, which arrives first, is the one thrown
      ;[firstRow, value] = await Promise.all([first, fn(tx, tx`current_setting('sportello.carried', true)`)])
    }
    const { scope_search_path: _s, scope_role: _r, scope_carried: _c, prelude_found, ...row } = firstRow
    return { row: prelude_found ? (row as unknown as R) : null, value }
  })
}

const baseOptions = {
  onnotice: () => {},
  transform: { undefined: null },
  types: {
    // bigint columns hold cents and ids: well inside Number.MAX_SAFE_INTEGER, so read them as numbers.
    bigint: { to: 20, from: [20], serialize: (x: number) => x.toString(), parse: (x: string) => Number(x) },
    // dates of dues stay 'YYYY-MM-DD' strings: no time zone ever shifts them.
    date: { to: 1082, from: [1082], serialize: (x: string) => x, parse: (x: string) => x },
  },
} satisfies postgres.Options<Record<string, postgres.PostgresType>>

/**
 * postgres.js on a connection URL that may name a Unix-socket directory the way libpq does
 * (`postgres://user@localhost/db?host=/var/run/postgresql`): postgres.js itself would send `host` to the server as a
 * setting. On the same machine as PostgreSQL, the socket spares each round trip the loopback TCP stack
 * (docs/operations.md, "PostgreSQL on the same machine").
 */
export function connect(url: string, options: postgres.Options<Record<string, postgres.PostgresType>>): Sql {
  const u = new URL(url)
  const socketDir = u.searchParams.get('host')
  if (!socketDir?.startsWith('/')) return postgres(url, options) as unknown as Sql
  u.searchParams.delete('host')
  return postgres(u.toString(), { ...options, host: socketDir }) as unknown as Sql
}

function appUrl(adminUrl: string, roles: RoleNames): string {
  const u = new URL(adminUrl)
  u.username = roles.app
  u.password = ''
  return u.toString()
}

/**
 * Resolves once the pool knows the array types. postgres.js reads them on each new connection before its first
 * query, into a map shared by the pool; when the connection drops during that read, the query can still go out on
 * a connection of a pool whose map is empty, and a JavaScript array is then sent as 'a,b,c' ("malformed array
 * literal": a 500 after a database blip, test/integration/db-restart.test.ts). A fresh pool is used only after this.
 */
async function knowsArrayTypes(pool: Sql): Promise<void> {
  await pool`select 1`
  const shared = (pool.options as unknown as { shared: { typeArrayMap: Record<number, number> } }).shared
  if (Object.keys(shared.typeArrayMap).length === 0) throw new Error('the array types were not read')
}

/** PostgreSQL's own types have object ids below this (FirstNormalObjectId); tables' row types are above. */
const FIRST_USER_OID = 16384

/**
 * The pool reads the database's types once, keeps PostgreSQL's own and no more, and its next connections do not read
 * them again. postgres.js reads every array type of the database on each new connection and makes a parser and a
 * serializer for each: with a thousand tenants, their tables' row types make about 75,000 (75,000 rows read per
 * connection, 150,000 closures the garbage collector marks again and again). Sportello sends and reads arrays of
 * PostgreSQL's own types only (its migrations create no enum, domain or composite type), and a column of a
 * user-defined type arrives as text, as it would without a parser.
 */
async function typesOnce(pool: Sql): Promise<void> {
  await knowsArrayTypes(pool)
  const options = pool.options as unknown as {
    fetch_types: boolean
    parsers: Record<string, unknown>
    serializers: Record<string, unknown>
    shared: { typeArrayMap: Record<string, number> }
  }
  options.fetch_types = false
  for (const table of [options.parsers, options.serializers])
    for (const key of Object.keys(table)) if (Number(key) >= FIRST_USER_OID) delete table[key]
  const map = options.shared.typeArrayMap
  for (const [key, array] of Object.entries(map))
    if (Number(key) >= FIRST_USER_OID || array >= FIRST_USER_OID) delete map[key]
}

/** A pool and the lanes attached to it. */
function withItsLanes(pool: Sql): Sql[] {
  return [pool, ...(lanesOf(pool)?.pools ?? [])]
}

/** The embedded database's folder: DATA_DIR/pgdata. */
export function embeddedDir(config: Pick<Config, 'dataDir'>): string {
  return resolve(config.dataDir, 'pgdata')
}

/** The lock file of the embedded database (DATA_DIR/pgdata.lock): who owns it now, if anyone. */
export function embeddedLockPath(config: Pick<Config, 'dataDir'>): string {
  return lockPathFor(embeddedDir(config))
}

export interface OpenOptions extends TakeOptions {
  /** who opens it, written in the embedded database's lock: 'server' or the tool's command */
  command?: string
}

export async function openDatabase(config: Config, opts: OpenOptions = {}): Promise<Db> {
  if (config.databaseUrl) {
    const dbName = decodeURIComponent(new URL(config.databaseUrl).pathname.slice(1)) || 'postgres'
    const roles = roleNames(dbName)
    const databaseUrl = config.databaseUrl
    const openAdmin = () =>
      connect(databaseUrl, {
        ...baseOptions,
        max: 2,
        connection: { application_name: 'sportello-admin' },
      })
    const admin = openAdmin()
    await ensureAppRole(admin, roles)
    await typesOnce(admin)
    // Citus plans a distributed statement with its parameters' values and cannot make generic plans of them
    // ("could not create distributed plan"): there the lanes keep PostgreSQL's own choice (decision 0091)
    const citus = await isCitus(admin)
    const url = config.databaseAppUrl ?? appUrl(config.databaseUrl, roles)
    const appOptions = {
      ...baseOptions,
      idle_timeout: 60,
      connect_timeout: config.databaseConnectTimeoutSeconds,
      connection: {
        application_name: 'sportello',
        // the server ends what runs too long or sits idle in a transaction: a request whose answer was
        // already given (the stall watch) holds nothing for long
        statement_timeout: config.databaseStatementTimeoutMs,
        idle_in_transaction_session_timeout: config.databaseStatementTimeoutMs,
      },
    }
    // the platform's pool, and as many lanes of one connection for tenant transactions (src/platform/lanes.ts)
    const openApp = () => {
      const main = connect(url, { ...appOptions, max: config.poolMax })
      if (citus) citusPools.add(main)
      // the lanes share the pool's parsed options, and with them its parsers and array types: postgres.js reads
      // every array type of the database on each new connection (with a thousand tenants, their tables' types:
      // about 75,000, 25 MB of parsers), kept once and not once per lane. A lane's statements are planned once
      // (generic plans: decision 0091), not five times with their first parameters before PostgreSQL decides.
      attachLanes(main, Math.max(2, config.poolMax), (closed) =>
        postgres({
          ...main.options,
          max: 1,
          // the types come from the pool, which read them before the lanes are used (typesOnce below and in renew)
          fetch_types: false,
          onclose: closed,
          // recycled by the lanes themselves, between transactions (lanes.ts); postgres.js's idle timer also runs
          // between two statements of a transaction, so it waits longer than the server lets a transaction idle
          max_lifetime: null,
          idle_timeout: Math.max(60, config.databaseStatementTimeoutMs / 1000 + 5),
          connection: {
            ...main.options.connection,
            plan_cache_mode: citus ? 'auto' : 'force_generic_plan',
            // every transaction on a lane starts `begin read write`; nothing outside one can write (lanes.ts)
            default_transaction_read_only: 'on',
          },
        } as unknown as postgres.Options<Record<string, postgres.PostgresType>>),
      )
      return main
    }
    // one connection for the stall watch's probe: opened on first use, kept, no array types to read; a probe
    // not answered in time leaves it for a fresh one (its socket may be dead for good, and the next probe must
    // not queue behind it)
    const openProbe = () =>
      connect(url, {
        ...baseOptions,
        max: 1,
        connect_timeout: config.databaseConnectTimeoutSeconds,
        fetch_types: false,
        connection: { application_name: 'sportello-probe', statement_timeout: 2000 },
      })
    let probePool = openProbe()
    const u = new URL(config.databaseUrl)
    let renewing = false
    let closed = false
    // every use reads db.sql / db.admin at the time, so renew() reaches the next query everywhere
    const db: Db = {
      kind: 'postgres',
      sql: openApp(),
      admin,
      roles,
      describe: `PostgreSQL at ${u.searchParams.get('host')?.startsWith('/') ? `${u.searchParams.get('host')} (Unix socket)` : `${u.hostname}:${u.port || 5432}`}/${dbName} (application role ${roles.app})`,
      renew() {
        // the fresh pools take over once they know the array types (see knowsArrayTypes); until then, and while
        // the database refuses, the old ones go on answering (or failing, which the pages show as a 503)
        if (renewing || closed) return
        renewing = true
        void (async () => {
          for (let attempt = 1; !closed; attempt++) {
            const fresh = [openApp(), openAdmin()] as const
            try {
              // the lanes read no types of their own: they share the fresh pool's
              await Promise.all(fresh.map(typesOnce))
              if (closed) throw new Error('closed meanwhile')
              const old = [db.sql, db.admin]
              ;[db.sql, db.admin] = fresh
              for (const pool of old.flatMap(withItsLanes)) pool.end({ timeout: 5 }).catch(() => {})
              renewing = false
              return
            } catch {
              for (const pool of fresh.flatMap(withItsLanes)) pool.end({ timeout: 0 }).catch(() => {})
              await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)).unref())
            }
          }
        })()
      },
      probe(timeoutMs: number) {
        const pool = probePool
        let timer: NodeJS.Timeout | undefined
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            if (probePool === pool && !closed) {
              probePool = openProbe()
              pool.end({ timeout: 0 }).catch(() => {})
            }
            reject(new Error('the probe was not answered in time'))
          }, timeoutMs)
        })
        return Promise.race([pool`select 1`, late]).finally(() => clearTimeout(timer))
      },
      async close() {
        closed = true
        await Promise.all([
          ...[db.sql, db.admin].flatMap(withItsLanes).map((pool) => pool.end({ timeout: 5 })),
          probePool.end({ timeout: 1 }),
        ])
      },
    }
    // the application's pool reads the types now, once (typesOnce), before any lane or request needs them
    await typesOnce(db.sql)
    return db
  }
  return openEmbedded(embeddedDir(config), opts)
}

/**
 * PGlite in dir (or memory://), served on a loopback port. A folder on disk is taken with a lock first: two
 * PGlite instances on one folder each write over the other's files and lose data, so a second opener gets
 * DataDirBusy naming the holder (a stale lock, of a process gone, is taken over).
 */
export async function openEmbedded(dir: string, opts: OpenOptions = {}): Promise<Db> {
  const { PGlite } = await import('@electric-sql/pglite')
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket')
  let owner: OwnerLock | undefined
  if (!dir.startsWith('memory://')) {
    await mkdir(dir, { recursive: true })
    owner = await takeOwnerLock(lockPathFor(dir), opts.command ?? 'sportello', opts)
  }
  let pglite: Awaited<ReturnType<typeof PGlite.create>>
  let server: InstanceType<typeof PGLiteSocketServer>
  try {
    pglite = await PGlite.create(dir)
    server = new PGLiteSocketServer({ db: pglite, port: 0, host: '127.0.0.1' })
    await server.start()
  } catch (err) {
    await owner?.release()
    throw err
  }
  const [host, port] = server.getServerConn().split(':')
  // PGlite is one connection: a pool larger than 1 breaks ("portal does not exist").
  const sql = postgres({
    ...baseOptions,
    host,
    port: Number(port),
    user: 'postgres',
    database: 'postgres',
    max: 1,
  })
  const roles = roleNames('sportello')
  await ensureAppRole(sql, roles)
  return {
    kind: 'pglite',
    sql,
    admin: sql,
    roles,
    describe: `embedded PGlite in ${dir} (served on ${host}:${port})`,
    owner,
    async close() {
      try {
        await sql.end({ timeout: 5 })
        await server.stop()
        await pglite.close()
      } finally {
        await owner?.release()
      }
    },
  }
}

/** Creates the application's login role and the tenants' group role when the connecting user may. */
async function ensureAppRole(admin: Sql, roles: RoleNames): Promise<void> {
  const [me] = await admin<{ super: boolean; createrole: boolean }[]>`
    select rolsuper as super, rolcreaterole as createrole from pg_roles where rolname = current_user`
  if (!me?.super && !me?.createrole) return
  // NOINHERIT: the app role may SET ROLE to a tenant role but never holds a tenant's rights by itself.
  await admin.unsafe(`
    do $$ begin
      if not exists (select 1 from pg_roles where rolname = '${roles.app}') then
        create role ${roles.app} login noinherit nosuperuser nocreatedb nocreaterole nobypassrls;
      end if;
      if not exists (select 1 from pg_roles where rolname = '${roles.tenantGroup}') then
        create role ${roles.tenantGroup} nologin;
      end if;
    end $$`)
}
