// Decides where the integration tests run and prepares a clean test database there, once per run:
// TEST_DATABASE_URL, else DATABASE_URL's database with "_test" appended, else the local PostgreSQL on
// 127.0.0.1:5432; SPORTELLO_TEST_DB=pglite (or no reachable PostgreSQL) runs them on embedded PGlite.
import postgres from 'postgres'
import type { TestProject } from 'vitest/node'
import { roleNames } from '../../src/platform/db.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    testDb: { kind: 'postgres' | 'pglite'; url: string }
  }
}

function testUrl(): { url: string; explicit: boolean } {
  if (process.env.TEST_DATABASE_URL) return { url: process.env.TEST_DATABASE_URL, explicit: true }
  if (process.env.DATABASE_URL) {
    const u = new URL(process.env.DATABASE_URL)
    u.pathname = `/${decodeURIComponent(u.pathname.slice(1)) || 'sportello'}_test`
    return { url: u.toString(), explicit: true }
  }
  return { url: 'postgres://postgres@127.0.0.1:5432/sportello_test', explicit: false }
}

export default async function setup(project: TestProject) {
  if (process.env.SPORTELLO_TEST_DB === 'pglite') {
    project.provide('testDb', { kind: 'pglite', url: '' })
    return
  }
  const { url, explicit } = testUrl()
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
  // A clean slate each run: the test database and the cluster-wide roles it created last time.
  const roles = roleNames(dbName)
  await admin.unsafe(`drop database if exists ${dbName} with (force)`)
  const stale = await admin<{ rolname: string }[]>`
    select rolname from pg_roles where rolname like ${`${roles.prefix}\\_%`}`
  for (const r of stale) await admin.unsafe(`drop role if exists ${r.rolname}`)
  await admin.unsafe(`create database ${dbName}`)
  await admin.end()
  project.provide('testDb', { kind: 'postgres', url })
}
