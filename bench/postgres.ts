// The benchmark's own PostgreSQL: a private cluster started with the settings docs/operations.md recommends for a
// thousand tenants, so the figures do not depend on how the shared development server happens to be configured.
//
//   npx tsx bench/postgres.ts start|stop|status      (npm run bench starts it by itself; BENCH_PG=url skips it)
//
// The cluster lives in bench/pgdata (git-ignored, about 3 GB with the generated data) and listens on 127.0.0.1 at
// BENCH_PG_PORT (5499), trust authentication for local connections only. PostgreSQL refuses to run as root: when the
// benchmark runs as root, initdb and pg_ctl run as the `postgres` user, which owns the directory.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const BENCH_PG_DIR = process.env.BENCH_PG_DIR ?? path.join(ROOT, 'bench', 'pgdata')
export const BENCH_PG_PORT = Number(process.env.BENCH_PG_PORT ?? 5499)

/**
 * docs/operations.md, "PostgreSQL for many tenants": a quarter of the memory for shared_buffers, 4000 files per
 * backend, connections for the pool, the lanes, the benchmark's callers and the tools. Nothing else is changed from
 * PostgreSQL's defaults (fsync and synchronous_commit stay on: the writes measured are real writes).
 */
export function recommendedSettings(memoryBytes = os.totalmem()): Record<string, string> {
  const quarterMb = Math.floor(memoryBytes / 4 / 1024 / 1024)
  return {
    shared_buffers: `${quarterMb}MB`,
    max_files_per_process: '4000',
    max_connections: '200',
    listen_addresses: "'127.0.0.1'",
    port: String(BENCH_PG_PORT),
  }
}

function binDir(): string {
  const base = '/usr/lib/postgresql'
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(path.join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  if (!versions[0]) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql: set BENCH_PG instead')
  return path.join(base, versions[0], 'bin')
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0

function pgRun(tool: string, args: string[], stdio: 'inherit' | 'pipe' = 'pipe'): string {
  const exe = path.join(binDir(), tool)
  const out = asRoot
    ? execFileSync('runuser', ['-u', 'postgres', '--', exe, ...args], { stdio, encoding: 'utf8' })
    : execFileSync(exe, args, { stdio, encoding: 'utf8' })
  return out ?? ''
}

export function benchPgUrl(): string {
  return `postgres://postgres@127.0.0.1:${BENCH_PG_PORT}`
}

function running(): boolean {
  try {
    pgRun('pg_ctl', ['status', '-D', BENCH_PG_DIR])
    return true
  } catch {
    return false
  }
}

/** Creates the cluster when missing, (re)writes its settings and starts it; returns its URL (without database). */
export function ensureBenchPostgres(): string {
  if (!existsSync(path.join(BENCH_PG_DIR, 'PG_VERSION'))) {
    mkdirSync(BENCH_PG_DIR, { recursive: true })
    if (asRoot) execFileSync('chown', ['postgres:postgres', BENCH_PG_DIR])
    pgRun('initdb', ['-D', BENCH_PG_DIR, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8'])
  }
  const conf = Object.entries(recommendedSettings())
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n')
  const confFile = path.join(BENCH_PG_DIR, 'postgresql.auto.conf')
  const wanted = `# written by bench/postgres.ts: docs/operations.md, "PostgreSQL for many tenants"\n${conf}\nunix_socket_directories = '${BENCH_PG_DIR}'\n`
  const changed = !existsSync(confFile) || readFileSync(confFile, 'utf8') !== wanted
  if (changed) {
    writeFileSync(confFile, wanted)
    if (asRoot) execFileSync('chown', ['postgres:postgres', confFile])
  }
  if (running()) {
    if (!changed) return benchPgUrl()
    // settings that need a restart (shared_buffers, max_files_per_process) take effect now
    pgRun('pg_ctl', ['restart', '-D', BENCH_PG_DIR, '-w', '-m', 'fast', '-l', path.join(BENCH_PG_DIR, 'server.log')])
  } else {
    pgRun('pg_ctl', ['start', '-D', BENCH_PG_DIR, '-w', '-l', path.join(BENCH_PG_DIR, 'server.log')])
  }
  return benchPgUrl()
}

export function stopBenchPostgres(): void {
  if (running()) pgRun('pg_ctl', ['stop', '-D', BENCH_PG_DIR, '-w', '-m', 'fast'])
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const cmd = process.argv[2] ?? 'status'
  if (cmd === 'start') console.log(`PostgreSQL for the benchmark: ${ensureBenchPostgres()} (${BENCH_PG_DIR})`)
  else if (cmd === 'stop') stopBenchPostgres()
  else console.log(running() ? `running at ${benchPgUrl()} (${BENCH_PG_DIR})` : `not running (${BENCH_PG_DIR})`)
}
