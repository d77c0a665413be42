// `npm run bench`: the HTTP stack's ceiling (bare Hono), each page's database-bound ceiling (its own SQL through
// postgres.js), the pages themselves on the real server, and the operations (onboarding, migrate check, jobs),
// against the database bench/generate.ts builds. A Markdown table on stdout, JSON in bench/results/.
//
//   npm run bench [-- --duration 10 --connections 64 --warmup 15 --pages tenant,position,document,cart
//                     --scale 1 --generate --skip-ops --node-options "--max-semi-space-size=16" --profile [DIR]
//                     --socket [DIR]]
//
// --profile writes the server's V8 CPU profile (bench/results/profile by default); `npx tsx bench/profile.ts FILE`
// sums it by package and by function.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import autocannon, { type Result } from 'autocannon'
import postgres from 'postgres'
import { Assets } from '../src/platform/assets.ts'
import { CSS_COOKIE, STYLESHEET } from '../src/platform/render.ts'
import { hashToken } from '../src/platform/tokens.ts'
import {
  arg,
  BENCH_DB,
  dbUrl,
  flag,
  openBenchDb,
  optionalArg,
  PG_SOCKET_DIR,
  PRODUCTION_SETTINGS,
  SESSION_SECRET,
  seconds,
  startBenchPostgres,
} from './common.ts'
import { backendPids, cpuMs, machineBusyMs } from './cpu.ts'
import { measureOperations, type OperationResult } from './ops.ts'
import { type BenchUser, loadUsers, shuffled } from './users.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

interface PageSpec {
  name: 'static' | 'tenant' | 'position' | 'document' | 'cart'
  label: string
  signedIn: boolean
  path: (u: BenchUser) => string
  /** what a right answer contains (checked before measuring) */
  marker: (u: BenchUser) => string
}

const PAGES: PageSpec[] = [
  {
    // the floor of a rendered page: every middleware, the anonymous session check, Eta's page and layout, and no
    // database at all (no ceiling of its own: it is compared with the hello-world)
    name: 'static',
    label: 'accessibility statement `/accessibilita` (anonymous, no database)',
    signedIn: false,
    path: () => '/accessibilita',
    marker: () => 'Dichiarazione di accessibilit',
  },
  {
    name: 'tenant',
    label: 'public tenant page `/t/:slug` (anonymous)',
    signedIn: false,
    path: (u) => `/t/${u.slug}`,
    marker: (u) => `class="tenant-bar__name" href="/t/${u.slug}"`,
  },
  {
    name: 'position',
    label: 'debt position of one tenant `/t/:slug/posizione-debitoria`',
    signedIn: true,
    path: (u) => `/t/${u.slug}/posizione-debitoria`,
    marker: () => 'class="filters"',
  },
  {
    name: 'document',
    label: 'document detail `/t/:slug/documenti/:id`',
    signedIn: true,
    path: (u) => `/t/${u.slug}/documenti/${u.documentId}`,
    marker: () => 'id="rate"',
  },
  {
    name: 'cart',
    label: 'cart `/carrello`',
    signedIn: true,
    path: () => '/carrello',
    marker: () => 'action="/carrello/rimuovi"',
  },
]

interface Measured {
  perSecond: number
  p50: number
  p99: number
  requests: number
  errors: number
  non2xx?: number
  /** CPU per request (µs): the Node process (server, or the ceiling's client) and the database backends */
  nodeUs?: number
  databaseUs?: number
  /** share of the machine's cores other processes (other people's tests) used meanwhile */
  others?: number
}

/**
 * The hello-world's server CPU per request in the reference run (docs/performance.md, 2026-12-07 14:30): the machine's
 * speed then. Figures of a run are also shown scaled to that speed by the same run's hello-world.
 */
const REFERENCE_HELLO_US = 29

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || !b ? '' : (a / b).toFixed(a / b >= 10 ? 0 : 2)
}

interface PageResult {
  name: string
  label: string
  /** null for the page that reads no database */
  ceiling: Measured | null
  page: Measured
  ofDatabase: number | null
  ofHttp: number
  /** what the page weighs, gzip-compressed: a browser's first page (the stylesheet inline) and later pages (cached) */
  weight?: { firstVisit: number; later: number }
}

/**
 * The load is a returning browser's: it has the stylesheet cached and says so with the `css` cookie (render.ts), so the
 * page links the stylesheet instead of carrying it inline, as every page after a browser's first does.
 */
const CSS = new Assets().named(STYLESHEET)
const CSS_VERSION = CSS.hash
function cookiesOf(page: PageSpec, u: BenchUser): string {
  return page.signedIn ? `sid=${u.token}; ${CSS_COOKIE}=${CSS_VERSION}` : `${CSS_COOKIE}=${CSS_VERSION}`
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

/** A bench script through tsx, or the compiled server (dist/server.mjs, as `npm start` runs it) as it is. */
function startNode(
  script: string,
  env: Record<string, string>,
  args: string[] = [],
  nodeArgs: string[] = [],
): ChildProcess {
  const runner = script.endsWith('.mjs') ? ['--enable-source-maps'] : ['--import', 'tsx']
  return spawn(process.execPath, [...runner, ...nodeArgs, script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
}

async function waitFor(url: string, child: ChildProcess, timeoutMs: number) {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode}`)
    try {
      const res = await fetch(url)
      if (res.ok) return
    } catch {}
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`)
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
    setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 5000).unref()
  })
}

/** Resident memory (and its peak) of a process, from /proc. */
async function memoryOf(pid: number): Promise<{ rssMb: number; peakMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0)
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 }
}

function cpuOfSelf(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

function fromAutocannon(r: Result): Measured {
  return {
    perSecond: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  }
}

async function load(url: string, opts: { connections: number; duration: number; users: BenchUser[]; page?: PageSpec }) {
  const { users, page } = opts
  let i = 0
  return autocannon({
    url,
    connections: opts.connections,
    duration: opts.duration,
    timeout: 30,
    requests: page
      ? [
          {
            method: 'GET',
            setupRequest: (req) => {
              const u = users[i++ % users.length] as BenchUser
              return {
                ...req,
                path: page.path(u),
                headers: { ...req.headers, cookie: cookiesOf(page, u) },
              }
            },
          },
        ]
      : undefined,
  })
}

function runCeiling(page: string, duration: number, warmup: number, connections: number): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const child = startNode('bench/ceiling.ts', {}, [
      '--page',
      page,
      '--duration',
      String(duration),
      '--warmup',
      String(warmup),
      '--connections',
      String(connections),
    ])
    let out = ''
    child.stdout?.on('data', (d) => {
      out += d
    })
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`ceiling of ${page} failed (${code})`))
      const r = JSON.parse(out.trim().split('\n').pop() as string)
      resolve({
        perSecond: r.perSecond,
        p50: r.p50,
        p99: r.p99,
        requests: r.requests,
        errors: r.errors,
        nodeUs: r.nodeUs,
        databaseUs: r.databaseUs,
      })
    })
  })
}

/** One request per page for a few users: the right page, not a login redirect or an error. */
/** Checks the page answers right for a few users; returns its weight for the first of them. */
async function preflight(base: string, page: PageSpec, users: BenchUser[]): Promise<PageResult['weight']> {
  let weight: PageResult['weight']
  for (const u of users.slice(0, 5)) {
    const res = await fetch(base + page.path(u), { redirect: 'manual', headers: { cookie: cookiesOf(page, u) } })
    const body = await res.text()
    if (res.status !== 200 || !body.includes(page.marker(u))) {
      throw new Error(`${page.path(u)} answered ${res.status} without ${page.marker(u)}: is the database current?`)
    }
    if (!weight) {
      // a first visit: no `css` cookie, the stylesheet comes inside the page
      const first = await fetch(base + page.path(u), {
        redirect: 'manual',
        headers: page.signedIn ? { cookie: `sid=${u.token}` } : {},
      })
      weight = { firstVisit: gzipSync(await first.text()).length, later: gzipSync(body).length }
    }
  }
  return weight
}

async function databaseReady(): Promise<boolean> {
  const root = postgres(dbUrl('postgres'), { max: 1, onnotice: () => {} })
  try {
    const [exists] = await root`select 1 as one from pg_database where datname = ${BENCH_DB}`
    if (!exists) return false
  } finally {
    await root.end()
  }
  const sql = postgres(dbUrl(), { max: 1, onnotice: () => {} })
  try {
    const [t] = await sql`select to_regclass('public.bench_users') is not null as ok`
    if (!t?.ok) return false
    // the sessions were hashed with this machine's secret (common.ts): a database made with another is rebuilt
    const [u] = await sql<{ token: string }[]>`select token from public.bench_users limit 1`
    if (!u) return false
    const [s] =
      await sql`select 1 as one from platform.sessions where token_hash = ${hashToken(SESSION_SECRET, u.token)}`
    return Boolean(s)
  } finally {
    await sql.end()
  }
}

/** The V8 flags of `npm start` (package.json), so that the server is measured as it is run. */
async function startFlags(): Promise<string> {
  const pkg = JSON.parse(await readFile(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }
  return (pkg.scripts.start?.match(/--max-[a-z-]+=\d+/g) ?? []).join(' ')
}

function generate(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/generate.ts', '--scale', arg('scale', '1'), '--concurrency', arg('concurrency', '4')],
      { cwd: ROOT, stdio: 'inherit' },
    )
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`generator failed (${code})`))))
  })
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const pct = (x: number) => `${Math.round(x * 100)}%`

async function main() {
  // --report FILE: the tables again from a run's JSON (no measuring)
  const again = arg('report', '')
  if (again) {
    console.log(report(JSON.parse(await readFile(again, 'utf8')), again))
    return
  }
  startBenchPostgres()
  const duration = Number(arg('duration', '10'))
  const warmup = Number(arg('warmup', '15'))
  const connections = Number(arg('connections', '64'))
  const wanted = arg('pages', PAGES.map((p) => p.name).join(',')).split(',')
  const pages = PAGES.filter((p) => wanted.includes(p.name))
  const startedAt = new Date()
  const nodeOptions = arg('node-options', await startFlags())
  // --profile DIR: the server writes a V8 CPU profile there when it stops (open it in Chrome's DevTools, or
  // summarise it with bench/profile.ts)
  const socketDir = optionalArg('socket', PG_SOCKET_DIR)
  const profile = optionalArg('profile', 'bench/results/profile')
  const profileDir = profile ? path.resolve(profile) : null

  if (flag('generate') || !(await databaseReady())) await generate()
  let db = await openBenchDb(2)
  let [info] = await db.admin<
    { value: Record<string, number> }[]
  >`select value from public.bench_info where key = 'generated'`
  // a --scale other than the database's own builds it again at that scale
  if (process.argv.includes('--scale') && Number(arg('scale', '1')) !== info?.value.scale) {
    await db.close()
    await generate()
    db = await openBenchDb(2)
    ;[info] = await db.admin<{ value: Record<string, number> }[]>`
      select value from public.bench_info where key = 'generated'`
  }
  // the generator's sessions are made fresh for this run (idle expiry is 30 minutes)
  const all = await loadUsers(db)
  await db.admin`
    update platform.sessions set last_seen_at = now(), expires_at = now() + interval '12 hours', revoked_at = null
    where token_hash in (
      select decode(h, 'hex') from unnest(${all.map((u) => hashToken(SESSION_SECRET, u.token).toString('hex'))}::text[]) as h)`
  const users = shuffled(all)
  const cartUsers = users.filter((u) => u.cartItems > 0)
  const [pg] = await db.admin<{ version: string; settings: string }[]>`
    select current_setting('server_version') as version,
      format('shared_buffers %s, max_files_per_process %s, max_connections %s', current_setting('shared_buffers'),
        current_setting('max_files_per_process'), current_setting('max_connections')) as settings`
  const loadBefore = os.loadavg()

  // the operations come first: a tenant migration left behind by a newer checkout runs here, not at server start
  const ops: OperationResult[] = flag('skip-ops') ? [] : await measureOperations(db)
  // what the operations (and a fresh generation) wrote reaches the disk now, not through a checkpoint spread over the
  // page runs (with 6 GB of shared buffers it would take a core's quarter and the disk's time during them)
  await db.admin`checkpoint`
  await db.close()

  // (a) the HTTP stack alone
  const helloPort = await freePort()
  const hello = startNode('bench/hello.ts', { PORT: String(helloPort) })
  await waitFor(`http://127.0.0.1:${helloPort}/`, hello, 30_000)
  await load(`http://127.0.0.1:${helloPort}`, { connections, duration: Math.min(2, warmup), users })
  const helloCpu = cpuMs([hello.pid as number])
  const helloResult = fromAutocannon(await load(`http://127.0.0.1:${helloPort}`, { connections, duration, users }))
  helloResult.nodeUs = Math.round(((cpuMs([hello.pid as number]) - helloCpu) * 1000) / helloResult.requests)
  await stop(hello)
  console.error(`hello world: ${fmt(helloResult.perSecond)} req/s`)

  // the real server, as production runs it (compiled by npm run build; jobs off: nothing else competes for the two cores)
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' })
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const server = startNode(
    'dist/server.mjs',
    {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      BASE_URL: base,
      // --socket DIR: the server reaches PostgreSQL through its Unix socket in DIR (libpq's ?host=)
      DATABASE_URL: socketDir ? `${dbUrl()}?host=${socketDir}` : dbUrl(),
      SESSION_SECRET,
      ...PRODUCTION_SETTINGS,
      LOG_LEVEL: 'silent',
      JOBS: 'false',
      SEED_DEMO: 'false',
      // the heap flags `npm start` runs with (package.json), or --node-options "…" to try others
      NODE_OPTIONS: nodeOptions,
    },
    [],
    profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  )
  const serverStarted = performance.now()
  await waitFor(`${base}/health`, server, 300_000)
  const startupMs = performance.now() - serverStarted
  const idleMemory = await memoryOf(server.pid as number)

  const results: PageResult[] = []
  let memory = idleMemory
  // sees the server's database backends, for their CPU time
  const watch = postgres(dbUrl(), { max: 1, onnotice: () => {} })
  try {
    for (const page of pages) {
      const who = page.name === 'cart' ? cartUsers : users
      const weight = await preflight(base, page, who)
      const ceiling = page.name === 'static' ? null : await runCeiling(page.name, duration, warmup, connections)
      await load(base, { connections, duration: warmup, users: who, page })
      const pids = await backendPids(watch, 'sportello')
      const ours = () => cpuMs([server.pid as number, ...pids]) + cpuOfSelf()
      const before = {
        server: cpuMs([server.pid as number]),
        database: cpuMs(pids),
        ours: ours(),
        all: machineBusyMs(),
      }
      const t0 = performance.now()
      const measured = fromAutocannon(await load(base, { connections, duration, users: who, page }))
      const wall = performance.now() - t0
      measured.nodeUs = Math.round(((cpuMs([server.pid as number]) - before.server) * 1000) / measured.requests)
      measured.databaseUs = Math.round(((cpuMs(pids) - before.database) * 1000) / measured.requests)
      measured.others = Math.max(0, (machineBusyMs() - before.all - (ours() - before.ours)) / (wall * os.cpus().length))
      results.push({
        name: page.name,
        label: page.label,
        ceiling,
        page: measured,
        ofDatabase: ceiling ? measured.perSecond / ceiling.perSecond : null,
        ofHttp: measured.perSecond / helloResult.perSecond,
        weight,
      })
      console.error(
        `${page.name}: ${fmt(measured.perSecond)} req/s${ceiling ? ` (database ceiling ${fmt(ceiling.perSecond)}/s)` : ''}, p99 ${measured.p99} ms`,
      )
    }
    memory = await memoryOf(server.pid as number)
  } finally {
    await stop(server)
    await watch.end()
  }
  const loadAfter = os.loadavg()

  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    postgres: pg ? `${pg.version} (${pg.settings})` : undefined,
    loadBefore: loadBefore.map((x) => Number(x.toFixed(2))),
    loadAfter: loadAfter.map((x) => Number(x.toFixed(2))),
  }
  const json = {
    startedAt: startedAt.toISOString(),
    settings: { duration, warmup, connections, poolMax: 10, database: BENCH_DB, nodeOptions },
    data: info?.value ?? null,
    machine,
    hello: helloResult,
    pages: results,
    server: { startupMs, idleRssMb: idleMemory.rssMb, rssMb: memory.rssMb, peakRssMb: memory.peakMb },
    operations: ops,
  }
  await mkdir(`${ROOT}bench/results`, { recursive: true })
  const file = `bench/results/${startedAt.toISOString().replace(/[:.]/g, '-')}.json`
  await writeFile(`${ROOT}${file}`, `${JSON.stringify(json, null, 2)}\n`)
  console.log(report(json, file))
}

function report(
  r: {
    settings: { duration: number; connections: number; nodeOptions: string }
    data: Record<string, number> | null
    machine: {
      cpu: string
      cores: number
      memoryGb: number
      node: string
      postgres?: string
      loadBefore: number[]
      loadAfter: number[]
    }
    hello: Measured
    pages: PageResult[]
    server: { rssMb: number; peakRssMb: number; idleRssMb: number }
    operations: OperationResult[]
  },
  file: string,
): string {
  const d = r.data
  const helloUs = r.hello.nodeUs ?? REFERENCE_HELLO_US
  const lines = [
    '',
    `Sportello benchmark — ${r.machine.cores} × ${r.machine.cpu}, ${r.machine.memoryGb} GB, Node ${r.machine.node}, PostgreSQL ${r.machine.postgres}`,
    d
      ? `Data: ${fmt(d.tenants ?? 0)} tenants, ${fmt(d.people ?? 0)} payers, ${fmt(d.installments ?? 0)} installments, ${fmt(d.documents ?? 0)} documents, ${fmt(d.accounts ?? 0)} accounts (scale ${d.scale})`
      : '',
    `${r.settings.connections} connections, ${r.settings.duration} s each; server flags: ${r.settings.nodeOptions || 'none'}; load average before ${r.machine.loadBefore.join(' ')}, after ${r.machine.loadAfter.join(' ')}`,
    '',
    `The machine's speed in this run: the hello-world costs its server ${fmt(helloUs)} µs of CPU per request (${REFERENCE_HELLO_US} µs in the reference run of docs/performance.md); CPU figures move with it, their ratios to this run's own floors do not.`,
    '',
    '| what | req/s | p50 ms | p99 ms | of DB ceiling | of hello world | server CPU µs/req | ÷ hello-world CPU | database CPU µs/req | ÷ its SQL alone | targets (signed-in pages) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    `| (a) bare Hono hello-world | ${fmt(r.hello.perSecond)} | ${r.hello.p50} | ${r.hello.p99} | | 100% | ${r.hello.nodeUs === undefined ? '' : fmt(r.hello.nodeUs)} | 1 | | | |`,
  ]
  for (const p of r.pages) {
    if (!p.ceiling) continue
    lines.push(
      `| (b) SQL of: ${p.name} | ${fmt(p.ceiling.perSecond)} | ${fmt(p.ceiling.p50, 1)} | ${fmt(p.ceiling.p99, 1)} | 100% | | ${fmt(p.ceiling.nodeUs ?? 0)} (client) | ${ratio(p.ceiling.nodeUs, helloUs)} | ${fmt(p.ceiling.databaseUs ?? 0)} | 1 | |`,
    )
  }
  for (const p of r.pages) {
    const signed = p.name !== 'tenant' && p.name !== 'static'
    const bad = (p.page.errors ?? 0) + (p.page.non2xx ?? 0)
    // issue targets, judged by CPU per request (requests per second move with the machine's other load)
    // judged at the reference run's speed: this run's CPU scaled by the hello-world's (a machine twice as slow
    // doubles every figure; the targets were set on the reference run's)
    const atReference = (us: number | undefined) => ((us ?? Number.POSITIVE_INFINITY) * REFERENCE_HELLO_US) / helloUs
    const verdict = [
      `database ≤ 600 µs ${atReference(p.page.databaseUs) <= 600 ? 'met' : 'missed'} (${fmt(atReference(p.page.databaseUs))} at reference speed)`,
      `server ≤ 500 µs ${atReference(p.page.nodeUs) <= 500 ? 'met' : 'missed'} (${fmt(atReference(p.page.nodeUs))})`,
      `≥ 60% of ceiling ${(p.ofDatabase ?? 0) >= 0.6 ? 'met' : 'missed'}`,
    ].join(', ')
    lines.push(
      `| ${p.label}${bad ? ` (${bad} errors/non-2xx)` : ''} | ${fmt(p.page.perSecond)} | ${p.page.p50} | ${p.page.p99} | ${p.ofDatabase === null ? '' : pct(p.ofDatabase)} | ${pct(p.ofHttp)} | ${fmt(p.page.nodeUs ?? 0)} | ${ratio(p.page.nodeUs, helloUs)} | ${fmt(p.page.databaseUs ?? 0)} | ${p.ceiling ? ratio(p.page.databaseUs, p.ceiling.databaseUs) : ''} | ${signed ? verdict : ''} |`,
    )
  }
  lines.push(
    '',
    `Other processes during the page runs (their share of the cores): ${r.pages.map((p) => `${p.name} ${pct(p.page.others ?? 0)}`).join(', ')}`,
  )
  const cssBytes = gzipSync(CSS.body).length
  lines.push(
    '',
    `Page weight, gzip (the stylesheet alone: ${fmt(cssBytes)} B; 14 KB is what the first round trip carries):`,
    '',
    '| page | first visit (stylesheet inline) | later pages (stylesheet cached) |',
    '| --- | ---: | ---: |',
    ...r.pages
      .filter((p) => p.weight)
      .map((p) => `| ${p.label} | ${fmt(p.weight?.firstVisit ?? 0)} B | ${fmt(p.weight?.later ?? 0)} B |`),
  )
  lines.push(
    '',
    '| measurement | value | target |',
    '| --- | ---: | --- |',
    `| server RSS after the page runs (peak) | ${fmt(r.server.rssMb)} MB (${fmt(r.server.peakRssMb)} MB) | < 200 MB: ${r.server.peakRssMb < 200 ? 'met' : 'missed'} |`,
  )
  for (const o of r.operations) {
    lines.push(
      `| ${o.label} | ${o.ms === null ? o.note : `${seconds(o.ms)}${o.note ? ` (${o.note})` : ''}`} | ${o.target ?? ''} |`,
    )
  }
  lines.push('', `JSON: ${file}`)
  return lines.join('\n')
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
