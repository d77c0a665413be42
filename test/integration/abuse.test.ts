// Nothing from outside can stop the service with a body: limits on every unsafe route (declared or chunked,
// refused before anything parses them, /health answering within a second throughout), uploads larger than a
// form only from the staff of that body. One at a time (SERIAL_FILES): /health's second is measured.
// Logins, return addresses and client addresses: abuse-logins.test.ts.
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { createApp } from '../../src/app.ts'
import type { Db } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { addMembership, createAccount, deleteAccounts, signedIn, type TestAccount } from '../helpers/accounts.ts'
import { startServer } from '../helpers/app.ts'
import { Client } from '../helpers/client.ts'
import { createTestTenant, dropTestTenant, openTestDb } from '../helpers/db.ts'

/** The limit of an ordinary form (src/platform/body-limit.ts). */
const FORM_LIMIT = 32 * 1024

let db: Db
let tenant: Tenant
const accounts: TestAccount[] = []
let server: Awaited<ReturnType<typeof startServer>>
/** a unique network per run, so that this file's per-IP counts meet nobody else's */
const net = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`

async function account(opts: Parameters<typeof createAccount>[1] = {}) {
  const a = await createAccount(db, opts)
  accounts.push(a)
  return a
}

beforeAll(async () => {
  db = await openTestDb()
  tenant = await createTestTenant(db)
  server = await startServer(db)
})

afterAll(async () => {
  await server?.close()
  await db.sql`delete from platform.throttle where key like ${`%${net}.%`} or key = any(${accounts.map((a) => `login:email:${a.email}`)})`
  await deleteAccounts(db, accounts)
  await dropTestTenant(db, tenant)
  await db.close()
})

// --- body limits -------------------------------------------------------------------------------------------

/** Paths answered as server-to-server endpoints: a plain-text refusal, and a larger limit. */
const MACHINE = ['/pagopa/nodo', '/pagamenti/notifica/', '/sandbox-psp/api/']

/** Every route of the app that takes a body (every method but GET and HEAD), its parameters filled in. */
function unsafeRoutes(app: ReturnType<typeof createApp>): string[] {
  const out = new Set<string>()
  for (const r of app.routes) {
    if (r.method === 'GET' || r.method === 'HEAD') continue
    // middleware mounted with app.use is not a route of its own
    if (r.path.endsWith('*')) continue
    if (r.method === 'ALL' && !MACHINE.some((m) => r.path.startsWith(m))) continue
    out.add(
      r.path.replace(/:([a-zA-Z]+)(\{[^}]*\})?/g, (_, name: string, re?: string) => {
        if (name === 'tenant') return tenant.slug
        if (name === 'provider') return 'sandbox'
        if (name === 'token') return 'A'.repeat(43)
        if (name === 'kind' && re) return re.match(/\(\?:([a-z]+)/)?.[1] ?? 'x'
        if (re?.includes('pdf')) return '1.pdf'
        return '1'
      }),
    )
  }
  return [...out]
}

const HUNDRED_MB = 100 * 1024 * 1024

/**
 * Streams `total` bytes to the server with node's http (with Content-Length, or chunked without it) and
 * stops as soon as an answer arrives or the server closes the connection: the status (0 when the
 * connection closed before any answer) and how much was written.
 */
function stream(
  path: string,
  opts: { chunked: boolean; total?: number; headers?: Record<string, string> },
): Promise<{ status: number; type: string; sent: number; ms: number }> {
  const total = opts.total ?? HUNDRED_MB
  const started = performance.now()
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(64 * 1024, 'a')
    let sent = 0
    let done = false
    let status = 0
    let type = ''
    const finish = () => {
      if (done) return
      done = true
      req.destroy()
      resolve({ status, type, sent, ms: performance.now() - started })
    }
    const req = http.request(`${server.url}${path}`, {
      method: 'POST',
      // a fresh keep-alive connection, as a browser's: the server answers, then drops the rest for a moment
      agent: new http.Agent({ keepAlive: true }),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(opts.chunked ? {} : { 'content-length': String(total) }),
        ...opts.headers,
      },
    })
    req.on('response', (res) => {
      status = res.statusCode ?? 0
      type = String(res.headers['content-type'] ?? '')
      res.resume()
      res.on('end', finish)
      res.on('error', finish)
    })
    req.on('error', finish)
    req.on('close', () => setTimeout(finish, 50))
    const pump = () => {
      while (!done && sent < total) {
        const part = chunk.subarray(0, Math.min(chunk.length, total - sent))
        sent += part.length
        if (!req.write(part)) {
          req.once('drain', pump)
          return
        }
      }
      if (!done) req.end()
    }
    pump()
  })
}

/** GET /health every 50 ms until stopped: the slowest answer, and any that was not 200. */
function watchHealth() {
  let stop = false
  let slowest = 0
  const problems: string[] = []
  const loop = (async () => {
    while (!stop) {
      const t0 = performance.now()
      try {
        const res = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(5000) })
        if (res.status !== 200) problems.push(`health ${res.status}`)
        await res.arrayBuffer()
      } catch (err) {
        problems.push(`health failed: ${(err as Error).message}`)
      }
      slowest = Math.max(slowest, performance.now() - t0)
      await new Promise((r) => setTimeout(r, 50))
    }
  })()
  return {
    async stop() {
      stop = true
      await loop
      return { slowest, problems }
    },
  }
}

describe('body limits', () => {
  it('refuses a form body just over the limit on every unsafe route, before the CSRF check reads it', async () => {
    const routes = unsafeRoutes(server.app)
    expect(routes.length).toBeGreaterThan(40)
    expect(routes).toContain('/accesso')
    expect(routes).toContain('/pagopa/nodo')
    const failures: string[] = []
    for (const path of routes) {
      const machine = MACHINE.some((m) => path.startsWith(m))
      const size = machine ? 2 * 1024 * 1024 : FORM_LIMIT + 1
      const body = `_csrf=x&a=${'a'.repeat(size)}`
      const res = await server.app.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      })
      const type = res.headers.get('content-type') ?? ''
      if (res.status !== 413) failures.push(`${path}: ${res.status}`)
      else if (!machine && !type.includes('text/html')) failures.push(`${path}: ${type}`)
      else if (!machine && !(await res.text()).includes('<h1>La richiesta è troppo grande</h1>'))
        failures.push(`${path}: no page`)
    }
    expect(failures).toEqual([])
  })

  it('cuts off 100 MB bodies, declared or chunked, on every unsafe route while /health answers within a second', async () => {
    const health = watchHealth()
    const failures: string[] = []
    for (const path of unsafeRoutes(server.app)) {
      for (const chunked of [false, true]) {
        const r = await stream(path, { chunked })
        const how = `${path} ${chunked ? 'chunked' : 'declared'}`
        if (r.status !== 413) failures.push(`${how}: ${r.status}`)
        // cut off while it streams in: the answer comes after the limit and what the sockets buffer, not 100 MB
        if (r.sent > 16 * 1024 * 1024) failures.push(`${how}: answered after ${r.sent} bytes`)
      }
    }
    const { slowest, problems } = await health.stop()
    expect(failures).toEqual([])
    expect(problems).toEqual([])
    expect(slowest).toBeLessThan(1000)
  }, 300_000)
})

/** A PDF of about `size` bytes that passes the content check (magic number and end-of-file marker). */
function pdfOf(size: number): Uint8Array {
  const head = Buffer.from('%PDF-1.4\n')
  const tail = Buffer.from('\n%%EOF\n')
  return new Uint8Array(Buffer.concat([head, Buffer.alloc(size - head.length - tail.length, 0x20), tail]))
}

describe('uploads', () => {
  it('takes a body larger than a form only from the staff of that body, and refuses 100 MB from them too', async () => {
    const admin = await account()
    await addMembership(db, admin.id, tenant.id, 'admin')
    const citizen = await account()
    const page = `/t/${tenant.slug}/ufficio/documenti-ente`
    const upload = async (client: Client) =>
      client.postMultipart(
        page,
        { title: 'Regolamento della mensa', category: 'regolamento' },
        { file: { name: 'regolamento.pdf', type: 'application/pdf', bytes: pdfOf(1024 * 1024) } },
      )

    const staff = await signedIn(server.app, admin)
    await staff.get(page)
    const res = await upload(staff)
    expect(res.status).toBe(303)
    const [doc] = await db.admin<{ size: number }[]>`
      select size_bytes as size from ${db.admin(tenant.schema)}.tenant_documents where title = 'Regolamento della mensa'`
    expect(doc?.size).toBe(1024 * 1024)

    // the same megabyte from a signed-in citizen, or from nobody, is refused before anything reads it
    const other = await signedIn(server.app, citizen)
    await other.get('/area-personale')
    expect((await upload(other)).status).toBe(413)
    const anonymous = new Client(server.app)
    await anonymous.get('/accesso')
    expect((await upload(anonymous)).status).toBe(413)

    // and the staff's own limit holds, declared or chunked
    const cookie = `sid=${staff.cookies.get('sid')}`
    for (const chunked of [false, true]) {
      const r = await stream(page, { chunked, headers: { cookie, 'content-type': 'multipart/form-data; boundary=x' } })
      expect(r.status, chunked ? 'chunked' : 'declared').toBe(413)
    }
  }, 60_000)
})

/**
 * Opens an upload of `declared` bytes, sends its first 64 KB and holds the rest back: the answer if the
 * server gives one at once (a refusal), and `drop()` to abandon it.
 */
function heldUpload(path: string, cookie: string, declared: number) {
  let status = 0
  let answered: () => void = () => {}
  const answer = new Promise<void>((r) => {
    answered = r
  })
  const req = http.request(`${server.url}${path}`, {
    method: 'POST',
    agent: new http.Agent({ keepAlive: false }),
    headers: { cookie, 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(declared) },
  })
  req.on('response', (res) => {
    status = res.statusCode ?? 0
    res.resume()
    answered()
  })
  req.on('error', () => answered())
  req.write(Buffer.alloc(64 * 1024, 'a'))
  return {
    /** the status if answered within `ms`, else 0 (still reading) */
    async statusWithin(ms: number) {
      await Promise.race([answer, new Promise((r) => setTimeout(r, ms))])
      return status
    },
    drop: () => req.destroy(),
  }
}

describe('upload memory', () => {
  it('holds at most two uploads per account at once; a third is asked to come back, and gets in once one ends', async () => {
    const admin = await account()
    await addMembership(db, admin.id, tenant.id, 'admin')
    const staff = await signedIn(server.app, admin)
    const page = `/t/${tenant.slug}/ufficio/documenti-ente`
    await staff.get(page)
    const cookie = `sid=${staff.cookies.get('sid')}`
    const first = heldUpload(page, cookie, 2 * 1024 * 1024)
    const second = heldUpload(page, cookie, 2 * 1024 * 1024)
    expect(await first.statusWithin(300)).toBe(0)
    expect(await second.statusWithin(50)).toBe(0)
    const third = heldUpload(page, cookie, 2 * 1024 * 1024)
    expect(await third.statusWithin(2000)).toBe(503)
    third.drop()
    const res = await fetch(`${server.url}${page}`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(FORM_LIMIT * 2) },
      body: Buffer.alloc(FORM_LIMIT * 2, 'a'),
    })
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('10')
    expect(await res.text()).toContain('Troppi caricamenti in corso')

    // another account is not held up by this one's uploads
    const other = await account()
    await addMembership(db, other.id, tenant.id, 'admin')
    const colleague = await signedIn(server.app, other)
    await colleague.get(page)
    const res2 = await colleague.postMultipart(
      page,
      { title: 'Carta dei servizi', category: 'regolamento' },
      { file: { name: 'carta.pdf', type: 'application/pdf', bytes: pdfOf(1024 * 1024) } },
    )
    expect(res2.status).toBe(303)

    // once one upload ends (here: abandoned), the account's next one is read
    first.drop()
    await new Promise((r) => setTimeout(r, 200))
    const res3 = await staff.postMultipart(
      page,
      { title: 'Tariffe', category: 'regolamento' },
      { file: { name: 'tariffe.pdf', type: 'application/pdf', bytes: pdfOf(1024 * 1024) } },
    )
    expect(res3.status).toBe(303)
    second.drop()
  }, 60_000)

  it("takes an application's attachment from a citizen only once the codice fiscale is proved", async () => {
    const path = `/t/${tenant.slug}/istanze/nuova/domanda/1`
    const body = `_csrf=x&note=${'a'.repeat(FORM_LIMIT * 2)}`
    const unproved = await signedIn(server.app, await account({ proved: false }))
    await unproved.get('/area-personale')
    const refused = await server.app.request(path, {
      method: 'POST',
      headers: { cookie: `sid=${unproved.cookies.get('sid')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })
    expect(refused.status).toBe(413)
    const proved = await signedIn(server.app, await account())
    await proved.get('/area-personale')
    const taken = await server.app.request(path, {
      method: 'POST',
      headers: { cookie: `sid=${proved.cookies.get('sid')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })
    // read whole and handed on: what answers is the route (the CSRF check), not the limit
    expect(taken.status).not.toBe(413)
    expect(taken.status).toBeLessThan(500)
  })
})
