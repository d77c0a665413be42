// Decides where the integration tests run and prepares a clean test database there, once per run:
// TEST_DATABASE_URL (reset at start), else DATABASE_URL's server, else the local PostgreSQL on 127.0.0.1:5432,
// where each run gets a database of its own (st_<random>, dropped at the end) so runs side by side never
// meet. SPORTELLO_TEST_DB=pglite (or no reachable PostgreSQL) runs them on embedded PGlite.
import { execFileSync } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import type { TestProject } from 'vitest/node'
import { isCitus, recreateCitusDatabases } from '../../src/platform/citus.ts'
import { roleNames } from '../../src/platform/db.ts'
import { testWorkers, workerDatabases } from './workers.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** url: the first worker's database; urls: one per worker (test/helpers/db.ts testTarget picks this worker's) */
    testDb: { kind: 'postgres' | 'pglite'; url: string; urls: string[]; citus?: boolean }
    /** the folder of this run's compiled build (npm run build): what the tests start as child processes */
    built: string
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

/**
 * The server and the command-line tools as `npm start` and `npm run <tool>` run them: `npm run build`, into a
 * folder of this run's own (dist/.test-<random>) so that runs side by side never overwrite each other's.
 */
function build(): { dir: string; remove: () => void } {
  const dir = join('dist', `.test-${Math.random().toString(36).slice(2, 10)}`)
  execFileSync('npm', ['run', '-s', 'build', '--', `--outdir=${dir}`], { stdio: 'inherit' })
  return { dir: join(process.cwd(), dir), remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export default async function setup(project: TestProject) {
  const built = build()
  project.provide('built', built.dir)
  const databases = await prepareDatabases(project)
  return async () => {
    built.remove()
    await databases?.()
  }
}

async function prepareDatabases(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.SPORTELLO_TEST_DB === 'pglite') {
    project.provide('testDb', { kind: 'pglite', url: '', urls: [] })
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
    project.provide('testDb', { kind: 'pglite', url: '', urls: [] })
    return
  }
  // one database per worker, so that files run side by side never meet (the first keeps the given name)
  const names = workerDatabases(dbName, testWorkers())
  // on a Citus cluster (../shared/citus/cluster.sh), each test database is made on every node; left in place at the
  // end (the cluster is the developer's), reset at the next run
  if (await isCitus(admin)) {
    await admin.end()
    await recreateCitusDatabases(maintenance.toString(), names, async (sql, name) => {
      const stale = await sql<{ rolname: string }[]>`
        select rolname from pg_roles where rolname like ${`${roleNames(name).prefix}\\_%`}`
      for (const r of stale) await sql.unsafe(`drop role if exists ${r.rolname}`)
    })
    const urls = names.map((name) => {
      const w = new URL(url)
      w.pathname = `/${name}`
      return w.toString()
    })
    project.provide('testDb', { kind: 'postgres', url: urls[0] as string, urls, citus: true })
    return
  }
  // A clean slate: the test databases and the cluster-wide roles they created last time.
  const reset = async (sql: postgres.Sql) => {
    for (const name of names) {
      await sql.unsafe(`drop database if exists ${name} with (force)`)
      const stale = await sql<{ rolname: string }[]>`
        select rolname from pg_roles where rolname like ${`${roleNames(name).prefix}\\_%`}`
      for (const r of stale) await sql.unsafe(`drop role if exists ${r.rolname}`)
    }
  }
  await reset(admin)
  for (const name of names) await admin.unsafe(`create database ${name}`)
  await admin.end()
  const urls = names.map((name) => {
    const w = new URL(url)
    w.pathname = `/${name}`
    return w.toString()
  })
  project.provide('testDb', { kind: 'postgres', url: urls[0] as string, urls })
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
