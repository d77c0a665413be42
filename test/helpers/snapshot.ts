// Database snapshots for "a rejected request changed nothing": for every table of a tenant's schema and of
// `platform`, the row count and an md5 of the ordered rows, in ONE statement built once from the catalog
// (a union of per-table aggregates). Taking one costs a few milliseconds on a test database: the import fuzzer
// takes one before and after each file. The form fuzzer, with ten thousand submissions, uses changeWatcher (at
// the end of this file) instead: row triggers logging every committed change, read in one statement.
//
// The tenant schema is taken whole: no other test file writes to a throwaway tenant. Each platform table is
// narrowed to the rows of this run: its tenant, its accounts, their payments. What legitimately changes on any
// request is left out on purpose, see IGNORED below.
import type { Sql } from '../../src/platform/db.ts'

/**
 * Left out of every snapshot, each for a reason that holds for any request, accepted or not:
 * - platform.throttle: counting failed attempts (logins, password checks, registrations) is what a rejection
 *   is supposed to do;
 * - platform.sessions.last_seen_at: touched at most once a minute on any signed-in request (session.ts);
 * - platform.job_runs: written by the scheduler and by other test files' jobs, owned by no tenant or account
 *   (no form of the fuzz suites starts a job);
 * - the delivery columns of platform.outbox (status, attempts, next attempt, error, message id, sent at): any
 *   test file draining the outbox sends the pending mail of every test file. Which messages exist, to whom and
 *   what they say is still compared;
 * - platform.payments.updated_at: the reconciliation job (of the scheduler, or of any test file running it)
 *   asks the provider about every payment pending for a minute and touches this column when it still is.
 * Nothing in a tenant's schema is left out: no tenant table changes on a rejected request.
 */
export const IGNORED = {
  tables: ['platform.throttle', 'platform.job_runs'],
  columns: [
    'platform.sessions.last_seen_at',
    'platform.payments.updated_at',
    ...['status', 'attempts', 'next_attempt_at', 'last_error', 'message_id', 'sent_at'].map(
      (c) => `platform.outbox.${c}`,
    ),
  ],
} as const

const ourTenant = (col: string) => `t.${col} = $1`
const ourAccount = (col: string) => `t.${col} = any($2)`
const ourPayment = `t.payment_id in (select p.id from platform.payments p where p.account_id = any($2))`

/**
 * Which rows of a platform table belong to this run ($1 tenant id, $2 account ids). Tables with a tenant_id,
 * account_id or payment_id column get the generic rule; these replace it. A platform table with no rule at all
 * makes `snapshotter` throw, so a new table is a decision, not a silent gap.
 */
const PLATFORM_SCOPE: Record<string, string> = {
  tenants: ourTenant('id'),
  accounts: ourAccount('id'),
  outbox: `lower(t.to_address) in (select lower(a.email) from platform.accounts a where a.id = any($2))`,
  onboarding_requests: `${ourTenant('tenant_id')} or t.decided_by = any($2)`,
  platform_log: `${ourTenant('tenant_id')} or t.actor_account_id = any($2)`,
  sandbox_psp_sessions: ourPayment,
  // written by migrations only: taken whole
  schema_migrations: 'true',
}

export interface Scope {
  tenantId: number
  accountIds: number[]
}

export type Snapshot = Map<string, string>

interface Column {
  schema: string
  table: string
  column: string
  type: string
}

const q = (s: string) => `"${s.replaceAll('"', '""')}"`

/** Builds the snapshot statement for a tenant schema and the platform tables, once. */
export async function snapshotter(admin: Sql, tenantSchema: string, scope: Scope) {
  const cols = await admin<Column[]>`
    select n.nspname as schema, c.relname as table, a.attname as column, format_type(a.atttypid, a.atttypmod) as type
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    where c.relkind in ('r', 'p') and n.nspname in (${tenantSchema}, 'platform')
    order by n.nspname, c.relname, a.attnum`
  const tables = new Map<string, Column[]>()
  for (const c of cols) {
    const key = `${c.schema}.${c.table}`
    if ((IGNORED.tables as readonly string[]).includes(key)) continue
    if ((IGNORED.columns as readonly string[]).includes(`${key}.${c.column}`)) continue
    tables.set(key, [...(tables.get(key) ?? []), c])
  }
  const parts: string[] = []
  for (const [key, columns] of tables) {
    const [schema, table] = [columns[0]?.schema as string, columns[0]?.table as string]
    const names = new Set(columns.map((c) => c.column))
    // bytea (files, logos) hashed first: the same answer, a fraction of the text
    const row = columns.map((c) => (c.type === 'bytea' ? `md5(t.${q(c.column)})` : `t.${q(c.column)}`)).join(', ')
    let where = ''
    if (schema === 'platform') {
      const rules: string[] = []
      if (PLATFORM_SCOPE[table]) rules.push(PLATFORM_SCOPE[table] as string)
      else {
        if (names.has('tenant_id')) rules.push(ourTenant('tenant_id'))
        if (names.has('account_id')) rules.push(ourAccount('account_id'))
        if (names.has('payment_id')) rules.push(ourPayment)
      }
      if (!rules.length) throw new Error(`snapshot: no rule for ${key}: scope it in PLATFORM_SCOPE or ignore it`)
      where = ` where ${rules.map((r) => `(${r})`).join(' or ')}`
    }
    parts.push(
      `select '${key}'::text as name, count(*)::text || ':' || coalesce(md5(string_agg(row(${row})::text, '|' order by row(${row})::text)), '') as digest from ${q(schema)}.${q(table)} t${where}`,
    )
  }
  const statement = parts.join('\nunion all\n')
  const accountIds = scope.accountIds
  return {
    tables: [...tables.keys()],
    /** One statement. */
    async take(): Promise<Snapshot> {
      const rows = await admin.unsafe<{ name: string; digest: string }[]>(
        statement,
        [scope.tenantId, accountIds] as never,
        {
          prepare: true,
        },
      )
      return new Map(rows.map((r) => [r.name, r.digest]))
    },
  }
}

/** The tables whose count or rows differ, as "schema.table <rows before> → <rows after> rows". */
export function changedTables(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = []
  for (const [name, digest] of after) {
    const was = before.get(name)
    if (was !== digest) out.push(`${name} ${was?.split(':')[0] ?? '?'} → ${digest.split(':')[0]} rows`)
  }
  return out
}

/**
 * What a request changed, from triggers instead of snapshots: every committed insert, delete, or update that
 * changes a value, on every table of the tenant's schema and of `platform`, is logged by row triggers (IGNORED
 * left out as in the snapshots) into a schema of the watcher's own; `changes()` returns and forgets the tables
 * changed since the last call, in one statement. A rolled-back write leaves no line, like no row. Stricter than a
 * snapshot (a row written and put back is seen) and a fraction of its cost; it sees every row of the database, so
 * it is for a file alone on its database (each worker has its own, test/helpers/workers.ts). `close()` removes
 * the triggers with the schema.
 */
export async function changeWatcher(admin: Sql, tenantSchema: string) {
  const ws = `test_watch_${Math.random().toString(36).slice(2, 10)}`
  const tables = await admin<{ schema: string; table: string; columns: string[] }[]>`
    select n.nspname as schema, c.relname as table,
      array(select a.attname::text from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and not c.relispartition and n.nspname in (${tenantSchema}, 'platform')
    order by 1, 2`
  const ddl = [
    `create schema ${ws}`,
    `create table ${ws}.changes (id bigserial primary key, tbl text not null, op text not null)`,
    // security definer: the request's transaction runs as a tenant role that may not write here
    `create function ${ws}.log() returns trigger language plpgsql security definer set search_path = pg_catalog as $$
      begin insert into ${ws}.changes (tbl, op) values (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, TG_OP); return null; end $$`,
  ]
  const watched: string[] = []
  for (const { schema, table, columns } of tables) {
    const key = `${schema}.${table}`
    if ((IGNORED.tables as readonly string[]).includes(key)) continue
    const left = columns.filter((c) => (IGNORED.columns as readonly string[]).includes(`${key}.${c}`))
    const strip = left.map((c) => ` - '${c}'`).join('')
    const changed = left.length
      ? `(to_jsonb(OLD)${strip}) is distinct from (to_jsonb(NEW)${strip})`
      : 'OLD.* is distinct from NEW.*'
    const t = `${q(schema)}.${q(table)}`
    ddl.push(
      `create trigger ${ws}_w after insert or delete on ${t} for each row execute function ${ws}.log()`,
      `create trigger ${ws}_u after update on ${t} for each row when (${changed}) execute function ${ws}.log()`,
    )
    watched.push(key)
  }
  await admin.begin((tx) => tx.unsafe(ddl.join(';\n')))
  return {
    tables: watched,
    /** "schema.table OP" for each table and kind of change since the last call; the log is emptied */
    async changes(): Promise<string[]> {
      const rows = await admin.unsafe<{ tbl: string; op: string }[]>(`delete from ${ws}.changes returning tbl, op`)
      return [...new Set(rows.map((r) => `${r.tbl} ${r.op}`))].sort()
    },
    async close() {
      await admin.unsafe(`drop schema if exists ${ws} cascade`)
    },
  }
}
