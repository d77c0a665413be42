// DATABASE_URL may name PostgreSQL's Unix-socket directory the libpq way (`?host=/var/run/postgresql`): the pools
// and the tenant lanes connect through the socket (docs/operations.md, "PostgreSQL on the same machine").
import { existsSync } from 'node:fs'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { type Db, openDatabase, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createTestTenant, dropTestTenant, openTestDb, testTarget } from '../helpers/db.ts'

const target = testTarget()
let socketDir: string | null = null
if (target.kind === 'postgres') {
  const probe = postgres(target.url, { max: 1, onnotice: () => {} })
  const [row] = await probe<{ dirs: string; port: string }[]>`
    select current_setting('unix_socket_directories') as dirs, current_setting('port') as port`
  await probe.end()
  // a server on this machine whose socket we can see (not one reached over the network)
  const port = new URL(target.url).port || '5432'
  socketDir =
    row && row.port === port
      ? (row.dirs
          .split(',')
          .map((d) => d.trim())
          .find((d) => d.startsWith('/') && existsSync(`${d}/.s.PGSQL.${port}`)) ?? null)
      : null
}

describe.skipIf(!socketDir)('PostgreSQL through its Unix socket', () => {
  let setup: Db
  let db: Db
  let tenant: Tenant
  beforeAll(async () => {
    setup = await openTestDb()
    tenant = await createTestTenant(setup)
    db = await openDatabase(
      loadConfig({ DATABASE_URL: `${target.url}?host=${socketDir}`, DATABASE_POOL_MAX: '4', NODE_ENV: 'test' }),
    )
  })
  afterAll(async () => {
    await db?.close()
    if (tenant) await dropTestTenant(setup, tenant)
    await setup?.close()
  })

  it('connects the pool, the admin connection and the lanes through the socket', async () => {
    expect(db.describe).toContain(`${socketDir} (Unix socket)`)
    // inet_server_addr() is null on a Unix-socket connection
    const [app] = await db.sql<
      { addr: string | null; user: string }[]
    >`select inet_server_addr() as addr, current_user as user`
    expect(app).toEqual({ addr: null, user: db.roles.app })
    const [admin] = await db.admin<{ addr: string | null }[]>`select inet_server_addr() as addr`
    expect(admin?.addr).toBeNull()
    const inTenant = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ addr: string | null; path: string }[]>`
      select inet_server_addr() as addr, current_setting('search_path') as path`,
    )
    expect(inTenant[0]?.addr).toBeNull()
    expect(inTenant[0]?.path).toContain(tenant.schema)
  })

  it('keeps the socket when the pools are renewed', async () => {
    const old = db.sql
    db.renew?.()
    for (let i = 0; i < 100 && db.sql === old; i++) await new Promise((r) => setTimeout(r, 50))
    expect(db.sql).not.toBe(old)
    const [row] = await db.sql<{ addr: string | null }[]>`select inet_server_addr() as addr`
    expect(row?.addr).toBeNull()
  })
})
