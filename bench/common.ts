// What the generator and the benchmark share: the dedicated database, the session secret, connections.
import { createHash } from 'node:crypto'
import { hostname } from 'node:os'
import postgres from 'postgres'
import { loadConfig } from '../src/config.ts'
import { type Db, openDatabase } from '../src/platform/db.ts'
import { BENCH_PG_DIR, benchPgUrl, ensureBenchPostgres } from './postgres.ts'

/** Never the demo or the test database: this one is dropped and recreated by the generator. */
export const BENCH_DB = process.env.BENCH_DB ?? 'sportello_bench'
/**
 * The PostgreSQL server (owner login, trust). By default the benchmark's private cluster with the recommended settings
 * (bench/postgres.ts, started by `startBenchPostgres`); `--shared-pg` uses the development server the tests use
 * (127.0.0.1:5432, its own settings); BENCH_PG names any other (a Citus coordinator, say).
 */
const PRIVATE_PG = !process.env.BENCH_PG && !process.argv.includes('--shared-pg')
export const PG_BASE = process.env.BENCH_PG ?? (PRIVATE_PG ? benchPgUrl() : 'postgres://postgres@127.0.0.1:5432')
// the generator and the tools the benchmark starts reach the same server
process.env.BENCH_PG = PG_BASE

/** Where the server's Unix socket is (`npm run bench -- --socket`). */
export const PG_SOCKET_DIR = PRIVATE_PG ? BENCH_PG_DIR : '/var/run/postgresql'

/** Starts the private cluster when it is the one in use (a no-op for BENCH_PG or --shared-pg). */
export function startBenchPostgres(): void {
  if (PRIVATE_PG) ensureBenchPostgres()
}
/**
 * The benchmark runs the server in production mode, which refuses any secret published in this repository: the
 * secrets are derived from this machine and this database instead (stable between the generator and the runs).
 */
function machineSecret(purpose: string): string {
  return createHash('sha256').update(`${hostname()}|${PG_BASE}|${BENCH_DB}|${purpose}`).digest('base64url')
}
export const SESSION_SECRET = machineSecret('session')
/** What production requires besides the database and the secret; nothing here is ever contacted (jobs are off). */
export const PRODUCTION_SETTINGS: Record<string, string> = {
  SMTP_URL: 'smtp://127.0.0.1:9',
  PAYMENT_PROVIDER: 'pagopa-checkout',
  PAGOPA_CHECKOUT_URL: 'https://checkout.bench.invalid',
  PAGOPA_CHECKOUT_KEY: machineSecret('checkout'),
  PAGOPA_NODE_KEY: machineSecret('node'),
  SECRETS_KEY: machineSecret('secrets'),
}
/** The password of every generated account (one argon2 hash shared by all). */
export const BENCH_PASSWORD = 'benchmark-password-2026'

if (!/^[a-z][a-z0-9_]{0,40}$/.test(BENCH_DB) || /^(sportello|sportello_test|postgres)$/.test(BENCH_DB)) {
  throw new Error(`refusing to use database ${JSON.stringify(BENCH_DB)} for the benchmark`)
}

export function dbUrl(name = BENCH_DB): string {
  return `${PG_BASE.replace(/\/+$/, '')}/${name}`
}

/** The same type parsers as the application (bigint → number, date → 'YYYY-MM-DD'). */
export const PG_TYPES = {
  bigint: { to: 20, from: [20], serialize: (x: number) => x.toString(), parse: (x: string) => Number(x) },
  date: { to: 1082, from: [1082], serialize: (x: string) => x, parse: (x: string) => x },
}

/** The configuration the benchmarked server runs with (production settings, quiet logs, no jobs). */
export function benchConfig(poolMax = 10) {
  return loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: dbUrl(),
    DATABASE_POOL_MAX: String(poolMax),
    SESSION_SECRET,
    ...PRODUCTION_SETTINGS,
    BASE_URL: 'http://127.0.0.1:3999',
    LOG_LEVEL: 'silent',
    JOBS: 'false',
    SEED_DEMO: 'false',
  })
}

/** The application's own connections (owner + application role), as the server opens them. */
export async function openBenchDb(poolMax = 10): Promise<Db> {
  return openDatabase(benchConfig(poolMax))
}

/** An owner pool of the given size (onboarding in parallel needs more than the application's two). */
export function ownerPool(max: number, name = BENCH_DB) {
  return postgres(dbUrl(name), {
    max,
    onnotice: () => {},
    transform: { undefined: null },
    types: PG_TYPES,
    connection: { application_name: 'sportello-bench' },
  })
}

/** A flag whose value may be left out (`--profile` or `--profile DIR`): null when absent. */
export function optionalArg(name: string, fallback: string): string | null {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return null
  const next = process.argv[i + 1]
  return next === undefined || next.startsWith('--') ? fallback : next
}

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1] as string
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`))
  return eq ? eq.slice(name.length + 3) : fallback
}

export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`)
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
}
