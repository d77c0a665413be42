// The embedded database has one owner (decision 0086), checked on the built server on PGlite in a folder of its own:
// killed (SIGKILL) after a confirmed payment, an onboarding and a CSV issue, then started again, it has all three;
// stopped (SIGTERM), it lets the folder go and keeps what it did; every command-line tool run while it runs is done
// by the server, and what it did is there after a restart; a second server, or a tool while another tool holds the
// folder, is refused at once naming the holder, and a lock left by a dead process is taken over.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { output } from '../../src/cli/commands/command.ts'
import { askServer, MAX_REQUEST_BYTES } from '../../src/cli/control.ts'
import { cf } from '../../src/cli/demo-seed.ts'
import { openEmbedded } from '../../src/platform/db.ts'
import { readTenantFile } from '../../src/platform/tenancy.ts'
import { nodeArgs } from '../helpers/built.ts'
import { Client } from '../helpers/client.ts'
import { testTenantFile } from '../helpers/db.ts'
import { payAtSandbox } from '../helpers/payments.ts'

// Vite puts BASE_URL, MODE, DEV, PROD and SSR into the test process's environment: children must not inherit them.
const { BASE_URL: _b, MODE: _m, DEV: _d, PROD: _p, SSR: _s, ...cleanEnv } = process.env
const PASSWORD = 'prova-sportello-2026'
const NODE_KEY = 'chiave-demo-del-nodo-locale'
const SIENA_CF = '00050800523'
const run = Math.random().toString(36).slice(2, 8)

let dir: string
let data: string
let lockPath: string
let port: number
let base: string
let env: NodeJS.ProcessEnv
let server: ChildProcess | null = null
let serverLog = ''

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
}

async function start(timeoutMs = 120_000): Promise<ChildProcess> {
  const child = spawn(process.execPath, nodeArgs('server'), { env })
  server = child
  serverLog = ''
  const keep = (d: Buffer) => {
    serverLog += d.toString()
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${serverLog}`)
    try {
      // serving, and saying so in its lock (written just after it starts listening: a moment later on a busy machine)
      if ((await fetch(`${base}/health`)).ok && (await lock())?.state === 'ready') return child
    } catch {}
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`server did not start: ${serverLog}`)
}

async function stop(signal: 'SIGKILL' | 'SIGTERM'): Promise<number | null> {
  const child = server
  if (!child) return null
  server = null
  if (child.exitCode !== null) return child.exitCode
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  child.kill(signal)
  return exited
}

/** A tool of the build, as `npm run <tool>` starts it: its exit code and output (it never throws). */
function tool(
  entry: Parameters<typeof nodeArgs>[0],
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = Date.now()
  return new Promise((resolve) => {
    execFile(process.execPath, nodeArgs(entry, ...args), { env: { ...env, ...extraEnv } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
      resolve({ code, stdout, stderr, ms: Date.now() - started })
    })
  })
}

/** A Client speaking HTTP to the server process. */
function httpClient(): Client {
  return new Client({
    request: (path: string, init?: RequestInit) => fetch(base + path, { ...init, redirect: 'manual' }),
  } as never)
}

async function signIn(email: string): Promise<Client> {
  const c = httpClient()
  const res = await c.submit('/accesso', { email, password: PASSWORD })
  expect(res.status).toBe(303)
  return c
}

/** Mario Rossi's payable installments in Siena (the demo's): id, document and notice code. */
async function payable(c: Client): Promise<{ id: number; doc: number; notice: string }[]> {
  const position = await (await c.get('/t/siena/posizione-debitoria')).text()
  const docs = [...new Set([...position.matchAll(/href="\/t\/siena\/documenti\/(\d+)"/g)].map((m) => Number(m[1])))]
  const found: { id: number; doc: number; notice: string }[] = []
  for (const doc of docs) {
    const html = await (await c.get(`/t/siena/documenti/${doc}`)).text()
    for (const row of html.match(/<tr[^>]*>[\s\S]*?<\/tr>/g) ?? []) {
      const id = /name="rate" value="(\d+)"/.exec(row)?.[1]
      // the notice code is printed in groups of four (spans): read as text
      const notice = /(?<!\d)(\d{18})(?!\d)/.exec(row.replace(/<[^>]+>/g, ''))?.[1]
      if (id && notice) found.push({ id: Number(id), doc, notice })
    }
  }
  return found
}

/** Pays one installment by card at the sandbox provider, up to the confirmation page: the payment's id. */
async function payByCard(c: Client, installment: { id: number; doc: number }): Promise<number> {
  await c.get(`/t/siena/documenti/${installment.doc}`)
  expect((await c.post('/carrello/aggiungi', { ente: 'siena', rate: [String(installment.id)] })).status).toBe(303)
  const summary = await (await c.get('/carrello/riepilogo')).text()
  const key = /name="chiave" value="([^"]+)"/.exec(summary)?.[1] as string
  const res = await c.post('/carrello/paga', { chiave: key })
  expect(res.status).toBe(303)
  const paid = await payAtSandbox(c, res.headers.get('location') as string)
  expect(paid.status).toBe(303)
  const back = new URL(paid.headers.get('location') as string, base).pathname
  expect(back).toMatch(/^\/pagamenti\/\d+$/)
  // confirmed: the page the citizen is sent back to says so (the notification, or the provider asked there)
  for (let i = 0; i < 50; i++) {
    if ((await (await c.get(back)).text()).includes('Pagamento riuscito')) break
    await new Promise((r) => setTimeout(r, 100))
  }
  expect(await (await c.get(back)).text()).toContain('Pagamento riuscito')
  return Number(back.split('/').pop())
}

const HEADER =
  'cf_intestatario;nome_intestatario;cognome_intestatario;email_intestatario;cf_alunno;nome_alunno;cognome_alunno;servizio;anno;descrizione;importo;rate;scadenze;importi_rate'

/** Issues documents from a CSV file at the office of Siena, confirmed: what the import page then says. */
async function issueFromCsv(office: Client, description: string): Promise<string> {
  const path = '/t/siena/ufficio/documenti/importa'
  const year = new Date().getFullYear() + 1
  const lines = [
    HEADER,
    `${cf('BNCMRC80A01H501')};Marco;Bianco;;;;;mensa;${year};${description} 1;120,00;2;31/01/${year}|28/02/${year};`,
    `${cf('VRDNNA82C41H501')};Anna;Verde;;;;;trasporto;${year};${description} 2;75,50;1;31/03/${year};`,
  ]
  await office.get(path)
  const res = await office.postMultipart(
    path,
    {},
    { file: { name: 'dovuti.csv', type: 'text/csv', bytes: new TextEncoder().encode(`${lines.join('\n')}\n`) } },
  )
  expect(res.status).toBe(303)
  const check = res.headers.get('location') as string
  expect(await (await office.get(check)).text()).toContain('2 documenti, 3 rate')
  expect((await office.post(check, {})).status).toBe(303)
  return (await office.get(check)).text()
}

async function tenantFile(): Promise<{ slug: string; path: string }> {
  const file = testTenantFile({ slug: `emb-${run}-${Math.random().toString(36).slice(2, 6)}` })
  const path = join(dir, `${file.slug}.json`)
  await writeFile(path, JSON.stringify(file))
  return { slug: file.slug, path }
}

async function lock(): Promise<Record<string, unknown> | null> {
  try {
    return JSON.parse(await readFile(lockPath, 'utf8'))
  } catch {
    return null
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sportello-owner-'))
  data = join(dir, 'data')
  lockPath = join(data, 'pgdata.lock')
  port = await freePort()
  base = `http://127.0.0.1:${port}`
  env = {
    ...cleanEnv,
    DATA_DIR: data,
    PORT: String(port),
    BASE_URL: base,
    // the demo on the embedded database, as `npm start` with nothing set
    DATABASE_URL: '',
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    JOBS: 'false',
    PAGOPA_NODE_KEY: NODE_KEY,
  }
})

afterAll(async () => {
  await stop('SIGKILL')
  await rm(dir, { recursive: true, force: true })
})

describe('one owner of the embedded database', () => {
  let mario: Client
  let office: Client
  let paymentId: number
  let onboarded: string
  const issued = `Gita sul lago ${run}`

  it('killed (SIGKILL) after a confirmed payment, an onboarding and a CSV issue, it has all three on restart', async () => {
    const first = await start()
    const owner = await lock()
    expect(owner).toMatchObject({ pid: first.pid, command: 'server', state: 'ready', address: base })
    expect(owner?.socket).toBe(join(data, 'control.sock'))

    // a payment, confirmed
    mario = await signIn('mario.rossi@example.it')
    const [installment] = await payable(mario)
    expect(installment).toBeDefined()
    paymentId = await payByCard(mario, installment as { id: number; doc: number })

    // an onboarding, by the tool while the server runs: the server does it, and serves the tenant at once
    const file = await tenantFile()
    onboarded = file.slug
    const add = await tool('cli/tenants', ['add', file.path])
    expect(add.stderr).toContain(
      `run by the server that owns the embedded database ${join(data, 'pgdata')}, the Sportello server (pid ${first.pid}`,
    )
    expect(add.stdout).toMatch(new RegExp(`onboarded ${file.slug} \\(schema t_`))
    expect(add.code).toBe(0)
    expect((await fetch(`${base}/t/${file.slug}`)).status).toBe(200)

    // a CSV issue at the office
    office = await signIn('ufficio@siena.example')
    expect(await issueFromCsv(office, issued)).toContain('Documenti emessi')

    expect(await stop('SIGKILL')).toBeNull()
    // the dead server's lock stays behind; the next start takes it over
    expect((await lock())?.pid).toBe(first.pid)
    const second = await start()
    expect((await lock())?.pid).toBe(second.pid)

    // the sessions too were kept: the same cookies see the payment, confirmed, and its receipt
    expect(await (await mario.get(`/pagamenti/${paymentId}`)).text()).toContain('Pagamento riuscito')
    const receipt = await mario.get(`/pagamenti/${paymentId}/ricevuta.pdf`)
    expect(receipt.headers.get('content-type')).toBe('application/pdf')
    expect((await fetch(`${base}/t/${onboarded}`)).status).toBe(200)
    const documents = await (
      await office.get(`/t/siena/ufficio/documenti?q=${encodeURIComponent(issued.toLowerCase())}`)
    ).text()
    expect(documents).toContain(`${issued} 1`)
    expect(documents).toContain(`${issued} 2`)
  }, 300_000)

  it('stopped (SIGTERM), it lets the folder go and keeps what it was told just before', async () => {
    if (!server) await start()
    const file = await tenantFile()
    expect((await tool('cli/tenants', ['add', file.path])).code).toBe(0)
    expect(await stop('SIGTERM')).toBe(0)
    expect(existsSync(lockPath)).toBe(false)
    expect(existsSync(join(data, 'control.sock'))).toBe(false)
    await start()
    expect((await fetch(`${base}/t/${file.slug}`)).status).toBe(200)
    expect((await fetch(`${base}/t/${onboarded}`)).status).toBe(200)
    expect(await (await mario.get(`/pagamenti/${paymentId}`)).text()).toContain('Pagamento riuscito')
  }, 180_000)

  it('every command works while the server runs, done by it, and what it did is there after a restart', async () => {
    const owner = server ?? (await start())
    const by = `run by the server that owns the embedded database ${join(data, 'pgdata')}, the Sportello server (pid ${owner.pid}`

    const file = await tenantFile()
    const add = await tool('cli/tenants', ['add', file.path])
    expect(add).toMatchObject({ code: 0, stdout: expect.stringContaining(`onboarded ${file.slug}`) })
    expect(add.stderr).toContain(by)

    const list = await tool('cli/tenants', ['list'])
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(new RegExp(`${file.slug}\\s+comune\\s+active`))
    expect(list.stdout).toMatch(/siena\s+comune\s+active/)

    // export: the default file is the tool's TENANTS_DIR, written by the server at that absolute path
    const exportsDir = join(dir, 'exports')
    const exported = await tool('cli/tenants', ['export', file.slug], { TENANTS_DIR: exportsDir })
    expect(exported.code).toBe(0)
    expect(exported.stdout).toContain(`exported ${file.slug} to ${join(exportsDir, `${file.slug}.json`)}`)
    await expect(readTenantFile(join(exportsDir, `${file.slug}.json`))).resolves.toMatchObject({ slug: file.slug })
    const again = await tool('cli/tenants', ['export', file.slug], { TENANTS_DIR: exportsDir })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('--force')
    // --out - streams the file back through the server
    const streamed = await tool('cli/tenants', ['export', file.slug, '--out', '-'])
    expect(streamed.code).toBe(0)
    expect(JSON.parse(streamed.stdout).slug).toBe(file.slug)
    // a relative path is the tool's, not the server's
    const relative = await tool('cli/tenants', ['add', `./${file.slug}-missing.json`])
    expect(relative.code).toBe(1)
    expect(relative.stderr).toContain(join(process.cwd(), `${file.slug}-missing.json`))

    const migrate = await tool('cli/migrate', [])
    expect(migrate.code).toBe(0)
    expect(migrate.stdout).toMatch(/tenants: \d+ checked, .*0 failed/)
    expect(migrate.stderr).toContain(by)

    const job = await tool('cli/job', ['reminders', '--tenant', 'siena'])
    expect(job.code).toBe(0)
    const runId = Number(/job reminders \(run (\d+)\) succeeded/.exec(job.stdout)?.[1])
    expect(runId).toBeGreaterThan(0)
    expect((await tool('cli/job', ['nessuno'])).code).toBe(64)

    // the control socket takes small requests of known commands only
    const socket = join(data, 'control.sock')
    const huge = await new Promise<number | string>((resolve) => {
      const r = request({ socketPath: socket, path: '/command', method: 'POST', agent: false }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      r.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
      r.end(JSON.stringify({ command: 'tenants', args: ['add', 'x'.repeat(MAX_REQUEST_BYTES)] }))
    })
    expect(huge).toBe(413)
    let refusal = ''
    const quiet = output(
      () => {},
      (t) => {
        refusal += t
      },
    )
    expect(await askServer(socket, { command: 'psql', args: [] }, quiet)).toBe(70)
    expect(refusal).toContain('HTTP 404')

    // pagopa:sim speaks HTTP to the server, as the pagoPA node does: it pays a notice at the tobacconist
    const [notice] = await payable(mario)
    expect(notice).toBeDefined()
    const sim = await tool('cli/pagopa-simulator', [
      notice?.notice as string,
      SIENA_CF,
      '--url',
      base,
      '--key',
      NODE_KEY,
    ])
    expect(sim.stdout).toContain('Paid:')
    expect(sim.code).toBe(0)
    const simReceipt = /receipt ([^\s.]+)\./.exec(sim.stdout)?.[1] as string
    expect(simReceipt).toBeTruthy()
    // the server is still the owner, and nobody else opened the folder meanwhile
    expect((await lock())?.pid).toBe(owner.pid)

    expect(await stop('SIGKILL')).toBeNull()
    await start()
    expect((await tool('cli/tenants', ['list'])).stdout).toContain(file.slug)
    expect((await fetch(`${base}/t/${file.slug}`)).status).toBe(200)
    // the archive prints long codes in groups (spans): compared as text
    expect((await (await mario.get('/archivio')).text()).replace(/<[^>]+>/g, '')).toContain(simReceipt)
    const after = (await payable(mario)).map((i) => i.notice)
    expect(after).not.toContain(notice?.notice)

    // and in the database itself, opened here once the server has stopped
    expect(await stop('SIGTERM')).toBe(0)
    const db = await openEmbedded(join(data, 'pgdata'), { command: 'embedded-owner.test.ts' })
    try {
      const [jobRun] = await db.sql<{ trigger: string; outcome: string; instance: string }[]>`
        select trigger, outcome, instance from platform.job_runs where id = ${runId}`
      expect(jobRun).toMatchObject({ trigger: 'manual', outcome: 'succeeded', instance: 'cli-via-server' })
      const [paid] = await db.sql<{ status: string }[]>`
        select status from platform.payments where id = ${paymentId}`
      expect(paid?.status).toBe('succeeded')
      const tenants = await db.sql<{ slug: string }[]>`
        select slug from platform.tenants where slug like ${`emb-${run}-%`}`
      expect(tenants).toHaveLength(3)
    } finally {
      await db.close()
    }
    expect(existsSync(lockPath)).toBe(false)
  }, 300_000)

  it('pagopa:sim never opens the database: nothing of it is in its build', async () => {
    const { metafile } = await build({
      entryPoints: ['src/cli/pagopa-simulator.ts'],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    })
    const inputs = Object.keys(metafile.inputs)
    expect(inputs).toContain('src/features/pagopa/simulator.ts')
    expect(inputs.filter((i) => /platform\/(db|owner-lock|migrate)\.ts$/.test(i))).toEqual([])
    const packages = Object.values(metafile.inputs).flatMap((i) =>
      i.imports.filter((x) => x.external).map((x) => x.path),
    )
    expect(packages.filter((p) => /^(postgres|@electric-sql\/)/.test(p))).toEqual([])
  })

  it('a second server, or a tool while another tool holds the folder, is refused at once naming the holder', async () => {
    const owner = await start()
    const other = await freePort()
    const started = Date.now()
    const second = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = spawn(process.execPath, nodeArgs('server'), { env: { ...env, PORT: String(other) } })
      let out = ''
      c.stdout?.on('data', (d) => {
        out += d
      })
      c.stderr?.on('data', (d) => {
        out += d
      })
      c.once('exit', (code) => resolve({ code, out }))
    })
    expect(second.code).toBe(75)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(second.out).toContain(`in use by the Sportello server (pid ${owner.pid}`)
    expect(second.out).toContain(`at ${base}`)
    expect(second.out).toContain(`kill -TERM ${owner.pid}`)
    // the first one serves on, its lock untouched
    expect((await fetch(`${base}/t/${onboarded}`)).status).toBe(200)
    expect((await lock())?.pid).toBe(owner.pid)
    expect(await stop('SIGTERM')).toBe(0)

    // a tool holds it (a long `npm run migrate` without a server, played by a live process): refused before anything
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 120000)'])
    try {
      await new Promise((r) => holder.once('spawn', r))
      const held = {
        pid: holder.pid,
        hostname: hostname(),
        command: 'npm run migrate',
        startedAt: new Date().toISOString(),
        state: 'starting',
        token: 'held-by-a-tool',
      }
      await writeFile(lockPath, JSON.stringify(held))
      const file = await tenantFile()
      const refused = await tool('cli/tenants', ['add', file.path])
      expect(refused.code).toBe(75)
      expect(refused.ms).toBeLessThan(10_000)
      expect(refused.stderr).toContain(`in use by \`npm run migrate\` (pid ${holder.pid}`)
      expect(refused.stderr).toContain('Nothing was done')
      expect(await lock()).toEqual(held)
    } finally {
      const gone = new Promise((r) => holder.once('exit', r))
      holder.kill('SIGKILL')
      await gone
    }

    // its process gone, the lock is stale: the tool takes it over, opens the database itself and lets it go
    const list = await tool('cli/tenants', ['list'])
    expect(list.code).toBe(0)
    expect(list.stderr).toContain('database: embedded PGlite')
    expect(list.stdout).toContain(onboarded)
    expect(existsSync(lockPath)).toBe(false)
  }, 300_000)
})
