import { readdirSync } from 'node:fs'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/platform/db.ts'
import { MIGRATIONS_DIR, migratePlatform, migrateTenants } from '../../src/platform/migrate.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createTestTenant, dropTestTenant, openTestDb, testTarget } from '../helpers/db.ts'

let db: Db
let a: Tenant
let b: Tenant
let c: Tenant
let dir: string

/** The next free migration number after the highest in a folder (numbers may have gaps). */
function maxVersion(folder: string): number {
  return Math.max(
    0,
    ...readdirSync(folder)
      .map((f) => Number(f.slice(0, 5)))
      .filter(Number.isFinite),
  )
}

beforeAll(async () => {
  db = await openTestDb()
  ;[a, b, c] = await Promise.all([createTestTenant(db), createTestTenant(db), createTestTenant(db)])
  // a copy of the tenant migrations plus one new migration, as a deploy would bring
  dir = await mkdtemp(join(tmpdir(), 'sportello-mig-'))
  await cp(join(MIGRATIONS_DIR, 'tenant'), dir, { recursive: true })
  const next = String(maxVersion(dir) + 1).padStart(5, '0')
  await writeFile(join(dir, `${next}_extra.sql`), 'create table extra (id bigint primary key, note text not null);\n')
})

afterAll(async () => {
  for (const t of [a, b, c]) if (t) await dropTestTenant(db, t)
  await rm(dir, { recursive: true, force: true })
  await db.close()
})

describe('migrations', () => {
  it('platform migrations are idempotent', async () => {
    expect(await migratePlatform(db.admin, db.roles)).toEqual([])
  })

  it('up-to-date tenants are skipped at once', async () => {
    const r = await migrateTenants(db.admin, db.roles, { only: [a.slug, b.slug, c.slug] })
    expect(r.migrated).toEqual([])
    expect(r.failed).toEqual([])
  })

  it('a failing tenant is recorded and reported without stopping the others, and a rerun resumes', async () => {
    // b already has a table the new migration wants to create: its migration fails
    await db.admin.unsafe(`create table ${b.schema}.extra (x int)`)
    const only = [a.slug, b.slug, c.slug]
    const first = await migrateTenants(db.admin, db.roles, { only, dir, concurrency: 2 })
    expect(first.migrated.sort()).toEqual([a.slug, c.slug].sort())
    expect(first.failed).toHaveLength(1)
    expect(first.failed[0]?.slug).toBe(b.slug)
    expect(first.failed[0]?.error).toMatch(/already exists/)
    const rows = await db.admin<{ slug: string; schema_version: number; migration_error: string | null }[]>`
      select slug, schema_version, migration_error from platform.tenants where slug = any(${only})`
    const bySlug = Object.fromEntries(rows.map((r) => [r.slug, r]))
    expect(bySlug[b.slug]?.migration_error).toMatch(/already exists/)
    expect(bySlug[a.slug]?.migration_error).toBeNull()
    expect(bySlug[a.slug]?.schema_version).toBe(first.latest)
    // nothing of the failed migration stayed behind in b (one transaction per tenant)
    const [col] = await db.admin<{ n: number }[]>`
      select count(*)::int as n from information_schema.columns where table_schema = ${b.schema} and table_name = 'extra'`
    expect(col?.n).toBe(1)

    // the operator fixes b; the rerun migrates b alone
    await db.admin.unsafe(`drop table ${b.schema}.extra`)
    const second = await migrateTenants(db.admin, db.roles, { only, dir })
    expect(second.migrated).toEqual([b.slug])
    expect(second.failed).toEqual([])
    const third = await migrateTenants(db.admin, db.roles, { only, dir })
    expect(third.migrated).toEqual([])
    // the tenant role can use the new table through the default privileges
    await db.sql.begin(async (tx) => {
      await tx`select set_config('search_path', ${a.schema}, true), set_config('role', ${a.role}, true)`
      await tx`insert into extra (id, note) values (1, 'ok')`
    })
  })

  // PGlite is one connection: a second session holding a lock cannot exist there
  it.skipIf(testTarget().kind === 'pglite')(
    'a lock held elsewhere makes the tenant fail fast with the lock timeout, not hang',
    async () => {
      const reserved = await db.admin.reserve()
      const d2 = await mkdtemp(join(tmpdir(), 'sportello-mig-'))
      try {
        await reserved`begin`
        await reserved.unsafe(`lock table ${c.schema}.services in access exclusive mode`)
        await cp(dir, d2, { recursive: true })
        const next = String(maxVersion(d2) + 1).padStart(5, '0')
        await writeFile(join(d2, `${next}_touch_services.sql`), 'alter table services add column note text;\n')
        const r = await migrateTenants(db.admin, db.roles, { only: [c.slug], dir: d2, lockTimeout: '200ms' })
        expect(r.failed[0]?.error).toMatch(/lock timeout/)
        await reserved`rollback`
        const again = await migrateTenants(db.admin, db.roles, { only: [c.slug], dir: d2 })
        expect(again.migrated).toEqual([c.slug])
      } finally {
        reserved.release()
        await rm(d2, { recursive: true, force: true })
      }
    },
  )
})
