// Forward-only numbered SQL migrations: the platform schema first, then every tenant schema.

import { randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { assertSchemaName, type RoleNames, type Sql, type Tx, tenantRoleName } from './db.ts'
import { projectPath } from './paths.ts'

export interface Migration {
  version: number
  name: string
  sql: string
}

export const MIGRATIONS_DIR = projectPath('migrations')

const cache = new Map<string, Migration[]>()

export async function loadMigrations(dir: string): Promise<Migration[]> {
  const hit = cache.get(dir)
  if (hit) return hit
  const files = (await readdir(dir)).filter((f) => /^\d{5}_[a-z0-9_]+\.sql$/.test(f)).sort()
  const list: Migration[] = []
  for (const f of files) {
    list.push({ version: Number(f.slice(0, 5)), name: f, sql: await readFile(join(dir, f), 'utf8') })
  }
  // numbers may have gaps (work merged from parallel branches); a number used twice is a mistake
  list.forEach((m, i) => {
    if (i > 0 && m.version === (list[i - 1] as Migration).version)
      throw new Error(`migration number used twice: ${m.name}`)
  })
  cache.set(dir, list)
  return list
}

export function latestVersion(migrations: Migration[]): number {
  return migrations.reduce((m, x) => Math.max(m, x.version), 0)
}

// postgres-semicolons is CommonJS and ships its TypeScript source beside its build: its index.js is required by
// name, so that every runner (node, tsx, vitest, the esbuild build) loads the same file, and typed here
const semicolons = createRequire(import.meta.url)('postgres-semicolons/index.js') as {
  parseSplits(sql: string, standardConformingStrings: boolean): { positions: (number | [number, number])[] }
  nonEmptyStatements(sql: string, positions: (number | [number, number])[]): string[]
}

/**
 * Runs a script of several statements in the caller's transaction, one statement per message: Citus refuses a
 * string of several when it propagates DDL to a worker ("cannot insert multiple commands into a prepared
 * statement"). The statements are split by postgres-semicolons (quotes, comments and $tag$ bodies respected)
 * and sent pipelined, in order, so the script still costs about one round trip.
 */
export async function runScript(tx: Tx | Sql, script: string): Promise<void> {
  const statements = semicolons.nonEmptyStatements(script, semicolons.parseSplits(script, true).positions)
  await Promise.all(statements.map((statement) => tx.unsafe(statement)))
}

function fill(sqlText: string, vars: Record<string, string>): string {
  return sqlText.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    const v = vars[k]
    if (v === undefined || !/^[a-z0-9_]+$/.test(v)) throw new Error(`migration placeholder {{${k}}} has no safe value`)
    return v
  })
}

export async function migratePlatform(admin: Sql, roles: RoleNames, dir = join(MIGRATIONS_DIR, 'platform')) {
  const migrations = await loadMigrations(dir)
  const applied: string[] = []
  await admin.begin(async (tx) => {
    // One runner at a time across instances; the lock goes with the transaction.
    await tx`select pg_advisory_xact_lock(hashtext('sportello.platform.migrate'))`
    // on Citus with schema-based sharding, a new schema becomes a distributed schema of its own, on one worker:
    // the platform schema stays on the coordinator, whose tables every tenant's may join (docs/scaling.md).
    // Elsewhere the setting is a placeholder nobody reads.
    await tx`select set_config('citus.enable_schema_based_sharding', 'off', true)`
    await runScript(
      tx,
      `create schema if not exists platform;
      create table if not exists platform.schema_migrations (
        version int primary key, name text not null, applied_at timestamptz not null default now())`,
    )
    const rows = await tx<{ version: number }[]>`select version from platform.schema_migrations`
    const done = new Set(rows.map((r) => r.version))
    for (const m of migrations) {
      if (done.has(m.version)) continue
      await runScript(tx, fill(m.sql, { app_role: roles.app, tenant_group: roles.tenantGroup }))
      await tx`insert into platform.schema_migrations (version, name) values (${m.version}, ${m.name})`
      applied.push(m.name)
    }
  })
  return applied
}

export interface TenantMigrationResult {
  checked: number
  skipped: number
  migrated: string[]
  failed: { slug: string; error: string }[]
  latest: number
}

interface TenantRow {
  id: number
  slug: string
  schema_name: string
  schema_version: number
}

/**
 * Brings tenant schemas to the latest version. Current tenants are skipped by one query; the rest run on a
 * bounded pool of workers, each tenant in its own transaction with a lock_timeout; a failure is recorded on
 * the tenant and reported, and the others go on. A rerun resumes where it stopped.
 */
export async function migrateTenants(
  admin: Sql,
  roles: RoleNames,
  opts: { only?: string[]; concurrency?: number; lockTimeout?: string; dir?: string } = {},
): Promise<TenantMigrationResult> {
  const migrations = await loadMigrations(opts.dir ?? join(MIGRATIONS_DIR, 'tenant'))
  const latest = latestVersion(migrations)
  const [count] = await admin<
    { n: number }[]
  >`select count(*)::int as n from platform.tenants where status <> 'deleted'`
  const pending = await admin<TenantRow[]>`
    select id, slug, schema_name, schema_version from platform.tenants
    where status <> 'deleted' and schema_version < ${latest}
      ${opts.only ? admin`and slug = any(${opts.only})` : admin``}
    order by id`
  const result: TenantMigrationResult = {
    checked: count?.n ?? 0,
    skipped: (count?.n ?? 0) - pending.length,
    migrated: [],
    failed: [],
    latest,
  }
  let next = 0
  const worker = async () => {
    while (next < pending.length) {
      const t = pending[next++] as TenantRow
      try {
        await migrateOneTenant(admin, roles, t, migrations, opts.lockTimeout ?? '5s')
        result.migrated.push(t.slug)
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err)
        result.failed.push({ slug: t.slug, error: message })
        await admin`update platform.tenants set migration_error = ${message}, migrated_at = now() where id = ${t.id}`
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 4) }, worker))
  return result
}

async function migrateOneTenant(
  admin: Sql,
  roles: RoleNames,
  t: TenantRow,
  migrations: Migration[],
  lockTimeout: string,
) {
  const schema = assertSchemaName(t.schema_name)
  await admin.begin(async (tx) => {
    await tx`select set_config('lock_timeout', ${lockTimeout}, true)`
    await applyTenantMigrations(tx, roles, schema, migrations)
    await tx`update platform.tenants set schema_version = ${latestVersion(migrations)}, migration_error = null, migrated_at = now()
             where id = ${t.id}`
  })
}

/** Applies the pending tenant migrations inside the caller's transaction; leaves search_path on the schema. */
export async function applyTenantMigrations(tx: Tx, roles: RoleNames, schema: string, migrations: Migration[]) {
  assertSchemaName(schema)
  const role = tenantRoleName(roles, schema)
  await tx`select set_config('search_path', ${schema}, true)`
  await tx`select pg_advisory_xact_lock(hashtext(${`sportello.tenant.${schema}`}))`
  await tx.unsafe(`create table if not exists ${schema}.schema_migrations (
    version bigint primary key, name text not null, applied_at timestamptz not null default now())`)
  const rows = await tx<{ version: number }[]>`select version from schema_migrations`
  const done = new Set(rows.map((r) => r.version))
  for (const m of migrations) {
    if (done.has(m.version)) continue
    await runScript(tx, fill(m.sql, { tenant_role: role, app_role: roles.app, tenant_group: roles.tenantGroup }))
    await tx`insert into schema_migrations (version, name) values (${m.version}, ${m.name})`
  }
}

/**
 * Creates a tenant's schema and role with the privileges it needs on its own schema alone. The role is NOLOGIN on
 * PostgreSQL. On Citus the schema becomes a distributed schema on one worker, and the coordinator opens its
 * connections to that worker as the role the transaction set (withTenant's SET LOCAL ROLE): there the role must
 * log in. It gets a random password nobody is told, which the coordinator keeps in pg_dist_authinfo for every node;
 * the workers' pg_hba admits the tenants' group only from the coordinator (docs/scaling.md).
 */
export async function createTenantSchema(tx: Tx | Sql, roles: RoleNames, schema: string) {
  assertSchemaName(schema)
  const role = tenantRoleName(roles, schema)
  const [ext] = await tx<{ citus: boolean }[]>`
    select exists (select 1 from pg_extension where extname = 'citus') as citus`
  const login = ext?.citus ? randomBytes(24).toString('hex') : null
  await runScript(
    tx,
    `
    do $$ begin
      if not exists (select 1 from pg_roles where rolname = '${role}') then
        create role ${role} nologin;
      end if;
    end $$;
    ${
      login
        ? `alter role ${role} login password '${login}';
    delete from pg_dist_authinfo where nodeid = 0 and rolename = '${role}';
    insert into pg_dist_authinfo (nodeid, rolename, authinfo) values (0, '${role}', 'password=${login}');`
        : ''
    }
    grant ${role} to ${roles.app};
    grant ${roles.tenantGroup} to ${role};
    create schema ${schema};
    grant usage on schema ${schema} to ${role};
    alter default privileges in schema ${schema} grant select, insert, update, delete on tables to ${role};
    alter default privileges in schema ${schema} grant usage, select on sequences to ${role};
  `,
  )
}

/** Drops a tenant's schema and role (tests and rejected onboarding only). */
export async function dropTenantSchema(admin: Sql, roles: RoleNames, schema: string) {
  assertSchemaName(schema)
  const role = tenantRoleName(roles, schema)
  await admin.unsafe(`drop schema if exists ${schema} cascade`)
  await admin.unsafe(`
    do $$ begin
      if exists (select 1 from pg_roles where rolname = '${role}') then
        execute 'drop owned by ${role}';
        execute 'drop role ${role}';
      end if;
      if exists (select 1 from pg_extension where extname = 'citus') then
        execute 'delete from pg_dist_authinfo where rolename = ''${role}''';
      end if;
    end $$`)
}
