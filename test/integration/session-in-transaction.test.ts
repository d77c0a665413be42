// The signed-in pages that read the session in the first statement of their own transaction (debt position of
// one tenant, document detail, cart: docs/performance.md) answer exactly as the middleware's lookup did.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { type Db, openDatabase } from '../../src/platform/db.ts'
import { type Tenant, TenantRegistry } from '../../src/platform/tenancy.ts'
import { signedIn, type TestAccount } from '../helpers/accounts.ts'
import { testApp } from '../helpers/app.ts'
import { Client } from '../helpers/client.ts'
import { testTarget } from '../helpers/db.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { type PausableProxy, startPausableProxy } from '../helpers/tcp-proxy.ts'
import { type App, world } from '../helpers/world.ts'

const w = world()
let db: Db
let tenant: Tenant
let app: App
let me: TestAccount
let other: TestAccount
let client: Client
let mine: { documentId: number; installments: { id: number }[] }
let theirs: { documentId: number }

beforeAll(async () => {
  ;({ db, app, tenant } = w)
  me = await w.account()
  other = await w.account()
  mine = await issue(db, tenant, await givePayer(db, tenant, me.codiceFiscale), [4200, 4300])
  theirs = await issue(db, tenant, await givePayer(db, tenant, other.codiceFiscale, ['Anna', 'Verdi']), [9900])
  client = await w.client(me)
})

const pages = () => [
  `/t/${tenant.slug}/posizione-debitoria`,
  `/t/${tenant.slug}/documenti/${mine.documentId}`,
  '/carrello',
]

describe('pages that look the session up in their own transaction', () => {
  it('show the signed-in user, with a CSRF token of the session in their forms', async () => {
    for (const path of pages()) {
      const res = await client.get(path)
      expect(res.status, path).toBe(200)
      const html = client.lastHtml
      expect(html, path).toContain('action="/esci"')
      // the token in the page is the one the session's forms are checked against
      const csrf = client.csrf()
      expect(csrf, path).toMatch(/^[0-9a-f]{64}$/)
    }
    const add = await client.post('/carrello/aggiungi', {
      ente: tenant.slug,
      rate: String(mine.installments[0]?.id),
      torna: `/t/${tenant.slug}/documenti/${mine.documentId}`,
    })
    expect(add.status).toBe(303)
    const doc = await client.get(`/t/${tenant.slug}/documenti/${mine.documentId}`)
    expect(doc.status).toBe(200)
    // the installment in the cart is marked as such (the cart's ids came with the session)
    expect(client.lastHtml).not.toContain(`id="rata-${mine.installments[0]?.id}"`)
    expect(client.lastHtml).toContain(`id="rata-${mine.installments[1]?.id}"`)
    const cart = await client.get('/carrello')
    expect(cart.status).toBe(200)
    expect(client.lastHtml).toContain(`name="rata" value="${mine.installments[0]?.id}"`)
  })

  it('send a visitor without a session, or with an expired one, to the login page and clear the cookie', async () => {
    const stale = await signedIn(app, me)
    await db.sql`update platform.sessions set last_seen_at = now() - interval '31 minutes'
                 where account_id = ${me.id} and revoked_at is null`
    for (const path of pages()) {
      const res = await stale.get(path)
      expect(res.status, path).toBe(303)
      expect(res.headers.get('location'), path).toBe(`/accesso?torna=${encodeURIComponent(path)}`)
    }
    expect(stale.cookies.has('sid')).toBe(false)
    const anonymous = new Client(app)
    const res = await anonymous.get(pages()[0] as string)
    expect(res.status).toBe(303)
    client = await signedIn(app, me)
  })

  it('keep a session alive: last_seen_at is written when older than a minute', async () => {
    await db.sql`update platform.sessions set last_seen_at = now() - interval '5 minutes'
                 where account_id = ${me.id} and revoked_at is null`
    expect((await client.get(pages()[0] as string)).status).toBe(200)
    const [row] = await db.sql<{ recent: boolean }[]>`
      select bool_or(last_seen_at > now() - interval '1 minute') as recent from platform.sessions
      where account_id = ${me.id} and revoked_at is null`
    expect(row?.recent).toBe(true)
  })

  it("answer 404 for another family's document and for an unknown tenant, still signed in", async () => {
    const res = await client.get(`/t/${tenant.slug}/documenti/${theirs.documentId}`)
    expect(res.status).toBe(404)
    expect(client.lastHtml).toContain('action="/esci"')
    const unknown = await client.get('/t/nessun-ente-qui/posizione-debitoria')
    expect(unknown.status).toBe(404)
    expect(client.lastHtml).toContain('action="/esci"')
    const bad = await client.get(`/t/${tenant.slug}/documenti/abc`)
    expect(bad.status).toBe(404)
  })
})

// Round trips, counted on the wire: the application's connections go through a proxy that counts the times a
// connection speaks again after the database answered. The session, BEGIN and the page's first statement go out
// together; COMMIT is the second.
describe.skipIf(testTarget().kind !== 'postgres')('round trips of the pages that read the session themselves', () => {
  let proxy: PausableProxy
  let proxied: Db
  let c: Client
  beforeAll(async () => {
    const url = new URL(testTarget().url)
    proxy = await startPausableProxy(url.hostname, Number(url.port || 5432))
    url.host = `127.0.0.1:${proxy.port}`
    proxied = await openDatabase(loadConfig({ DATABASE_URL: url.toString(), DATABASE_POOL_MAX: '2', NODE_ENV: 'test' }))
    const { app: proxiedApp, deps } = testApp(proxied)
    // tenants cached as in production (the tests' registry reads them on every request)
    deps.tenants = new TenantRegistry(proxied, 60_000)
    c = await signedIn(proxiedApp, me)
  })
  afterAll(async () => {
    await proxied?.close()
    await proxy?.close()
  })

  /** the fewest round trips of five requests (a write split by the kernel can only count more, never fewer) */
  async function fewest(path: string): Promise<number> {
    let least = Number.POSITIVE_INFINITY
    for (let i = 0; i < 7; i++) {
      proxy.resetTurns()
      const res = await c.get(path)
      expect(res.status, path).toBe(200)
      // the first two requests prepare the statements on the lanes
      if (i >= 2) least = Math.min(least, proxy.turns())
    }
    return least
  }

  // on Citus the page's statements wait for the session's codice fiscale (withTenantAtOnce): three
  const expected = testTarget().citus ? 3 : 2
  it(`the debt position and the document detail: ${expected} (session, scope and page together; COMMIT)`, async () => {
    expect(await fewest(`/t/${tenant.slug}/posizione-debitoria`)).toBe(expected)
    expect(await fewest(`/t/${tenant.slug}/documenti/${mine.documentId}`)).toBe(expected)
  })
})
