// Decides where the integration tests run and prepares a clean test database there, once per run:
// TEST_DATABASE_URL (reset at start), else DATABASE_URL's server, else the local PostgreSQL on 127.0.0.1:5432,
// where each run gets a database of its own (st_<random>, dropped at the end) so runs side by side never
// meet. SPORTELLO_TEST_DB=pglite (or no reachable PostgreSQL) runs them on embedded PGlite.
import postgres from 'postgres'
import type { TestProject } from 'vitest/node'
import { roleNames } from '../../src/platform/db.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    testDb: { kind: 'postgres' | 'pglite'; url: string }
  }
}

function testUrl(): { url: string; explicit: boolean; throwaway: boolean } {
  if (process.env.TEST_DATABASE_URL) return { url: process.env.TEST_DATABASE_URL, explicit: true, throwaway: false }
  const run = `st_${Math.random().toString(36).slice(2, 10)}_test`
  if (process.env.DATABASE_URL) {
    const u = new URL(process.env.DATABASE_URL)
    u.pathname = `/${run}`
    return { url: u.toString(), explicit: true, throwaway: true }
  }
  return { url: `postgres://postgres@127.0.0.1:5432/${run}`, explicit: false, throwaway: true }
}

export default async function setup(project: TestProject) {
  if (process.env.SPORTELLO_TEST_DB === 'pglite') {
    project.provide('testDb', { kind: 'pglite', url: '' })
    return
  }
  const { url, explicit, throwaway } = testUrl()
  const u = new URL(url)
  const dbName = decodeURIComponent(u.pathname.slice(1))
  if (!/^[a-z0-9_]+_test$|^sportello_test$/.test(dbName))
    throw new Error(`refusing to reset ${dbName}: test databases end in _test`)
  const maintenance = new URL(url)
  maintenance.pathname = '/postgres'
  const admin = postgres(maintenance.toString(), { max: 1, onnotice: () => {}, connect_timeout: 3 })
  try {
    await admin`select 1`
  } catch (err) {
    await admin.end({ timeout: 1 }).catch(() => {})
    if (explicit) throw err
    console.warn('No PostgreSQL on 127.0.0.1:5432: running the tests on embedded PGlite.')
    project.provide('testDb', { kind: 'pglite', url: '' })
    return
  }
  const roles = roleNames(dbName)
  // A clean slate: the test database and the cluster-wide roles it created last time.
  const reset = async (sql: postgres.Sql) => {
    await sql.unsafe(`drop database if exists ${dbName} with (force)`)
    const stale = await sql<{ rolname: string }[]>`
      select rolname from pg_roles where rolname like ${`${roles.prefix}\\_%`}`
    for (const r of stale) await sql.unsafe(`drop role if exists ${r.rolname}`)
  }
  await reset(admin)
  await admin.unsafe(`create database ${dbName}`)
  await admin.end()
  project.provide('testDb', { kind: 'postgres', url })
  if (!throwaway) return
  return async () => {
    const sql = postgres(maintenance.toString(), { max: 1, onnotice: () => {} })
    try {
      await reset(sql)
    } finally {
      await sql.end()
    }
  }
}
