// A database that stops answering without refusing anything (a paused network, a frozen server): the server
// runs as a child process whose connections to PostgreSQL go through a proxy that can pause. While paused,
// /health answers 503 within a second, signed-in pages answer the calm 503 page within seconds and then at once,
// nobody is signed out; once the database answers again (after a stall long enough to renew the pools), every
// page answers 200 again by itself and the session is still there. decision 0089, docs/operations.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_PASSWORD, type TestAccount } from '../helpers/accounts.ts'
import type { Client } from '../helpers/client.ts'
import { testTarget } from '../helpers/db.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { type ServerProcess, startServerProcess } from '../helpers/server-process.ts'
import { type PausableProxy, startPausableProxy } from '../helpers/tcp-proxy.ts'
import { world } from '../helpers/world.ts'

const target = testTarget()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const w = world()
let proxy: PausableProxy
let server: ServerProcess
let pages: string[] = []
let installmentId = 0
let account: TestAccount

beforeAll(async () => {
  if (target.kind !== 'postgres') return
  account = await w.account()
  const payer = await givePayer(w.db, w.tenant, account.codiceFiscale)
  const doc = await issue(w.db, w.tenant, payer, [1500])
  installmentId = doc.installments[0]?.id as number
  pages = [
    `/t/${w.tenant.slug}`,
    `/t/${w.tenant.slug}/posizione-debitoria`,
    `/t/${w.tenant.slug}/documenti/${doc.documentId}`,
    '/carrello',
  ]
  const url = new URL(target.url)
  proxy = await startPausableProxy(url.hostname, Number(url.port || 5432))
  url.host = `127.0.0.1:${proxy.port}`
  url.searchParams.set('application_name', `st-stall-${Math.random().toString(36).slice(2, 8)}`)
  server = await startServerProcess({
    DATABASE_URL: url.toString(),
    SEED_DEMO: 'false',
    JOBS: 'false',
    LOG_LEVEL: 'info',
    NODE_ENV: 'development',
    // the pools are renewed after 2 s of stall instead of 10: the test's stall need not last as long
    DATABASE_STALL_RENEW: '2',
    // DATABASE_URL alone is production: this is the demo on PostgreSQL
    SPORTELLO_DEMO: '1',
  })
}, 120_000)

afterAll(async () => {
  proxy?.resume()
  await server?.kill()
  await proxy?.close()
})

async function timed(c: Client, path: string) {
  const t0 = performance.now()
  const res = await c.get(path)
  const body = await res.text()
  return {
    path,
    res,
    body,
    ms: performance.now() - t0,
    signedOut: /(^|[,;]\s*)sid=;/.test(res.headers.get('set-cookie') ?? ''),
  }
}

describe.skipIf(target.kind !== 'postgres')('a stalled database', () => {
  it('is bounded: /health says so within a second, pages answer 503 without signing anyone out, and all recovers alone', async () => {
    const c = server.client()
    expect((await c.submit('/accesso', { email: account.email, password: TEST_PASSWORD })).status).toBe(303)
    for (const p of [...pages, '/health']) expect((await c.get(p)).status, p).toBe(200)
    const csrf = c.csrf()

    proxy.pause()
    const pausedAt = performance.now()
    // nothing refused, nothing answered: /health finds it out within a second
    const health = await timed(c, '/health')
    expect(health.res.status).toBe(503)
    expect(health.body).toContain('"unavailable"')
    expect(health.ms).toBeLessThan(1000)

    // pages: the calm 503 page, the session kept; at once now that the stall is known
    const during = await Promise.all(pages.map((p) => timed(c, p)))
    for (const r of during) {
      expect(r.res.status, r.path).toBe(503)
      expect(r.res.headers.get('retry-after'), r.path).toBeTruthy()
      expect(r.body, r.path).toContain('non raggiungibile')
      expect(r.signedOut, r.path).toBe(false)
      expect(r.ms, r.path).toBeLessThan(1000)
    }
    const add = await c.post('/carrello/aggiungi', { ente: w.tenant.slug, rate: [String(installmentId)] }, csrf)
    expect(add.status).toBe(503)

    // a stall that lasts: still bounded, and long enough for the pools to be renewed (DATABASE_STALL_RENEW)
    while (performance.now() - pausedAt < 4500) {
      const r = await timed(c, pages[1] as string)
      expect(r.res.status).toBe(503)
      expect(r.signedOut).toBe(false)
      expect(r.ms).toBeLessThan(1000)
      await sleep(1000)
    }
    proxy.resume()

    // recovers by itself: every page 200 within seconds, signed in as before
    const resumed = performance.now()
    for (;;) {
      const rs = await Promise.all([...pages, '/health'].map((p) => timed(c, p)))
      for (const r of rs) expect(r.signedOut, r.path).toBe(false)
      if (rs.every((r) => r.res.status === 200)) break
      expect(performance.now() - resumed, rs.map((r) => `${r.path} ${r.res.status}`).join(', ')).toBeLessThan(15_000)
      await sleep(250)
    }
    const cart = await c.get('/carrello')
    expect(cart.status).toBe(200)
    expect(
      (await c.post('/carrello/aggiungi', { ente: w.tenant.slug, rate: [String(installmentId)] }, csrf)).status,
    ).toBe(303)
    expect(server.exited()).toBeNull()
    const log = server.output()
    expect(log).toContain('the database does not answer')
    expect(log).toContain('renewing the database pools')
    expect(log).toContain('the database answers again')
    expect(log).not.toMatch(/"level":(50|60)/)
  }, 90_000)
})
