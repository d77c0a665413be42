// Production unless it is the demo (issue 23, part 4): the sandbox provider and /dev/mail do not exist outside
// the demo, the sandbox talks only to this server, one-time tokens stay out of the request log, and nothing
// signed-in or personal is cacheable.
import { execFile } from 'node:child_process'
import { Writable } from 'node:stream'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.ts'
import { deliverPending } from '../../src/features/psp/delivery.ts'
import { apiToken } from '../../src/features/psp/signature.ts'
import type { Db } from '../../src/platform/db.ts'
import { createLogger } from '../../src/platform/log.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { signedIn, type TestAccount } from '../helpers/accounts.ts'
import { startServer, testApp, testDeps } from '../helpers/app.ts'
import { nodeArgs } from '../helpers/built.ts'
import { Client } from '../helpers/client.ts'
import { givePayer, issue, payAtSandbox } from '../helpers/payments.ts'
import { PRODUCTION } from '../helpers/production.ts'
import { world } from '../helpers/world.ts'

const w = world()
let db: Db
let tenant: Tenant
let account: TestAccount

beforeAll(async () => {
  ;({ db, tenant } = w)
  account = await w.account()
})

async function sandboxStart(app: ReturnType<typeof testApp>['app'], secret: string, body: Record<string, unknown>) {
  return app.request('/sandbox-psp/api/sessions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${apiToken(secret)}` },
    body: JSON.stringify(body),
  })
}

function startBody(baseUrl: string, overrides: Record<string, unknown> = {}) {
  return {
    paymentId: 424242,
    idempotencyKey: `prod-defaults-${Date.now()}-${Math.random()}`,
    amountCents: 1000,
    description: 'Mensa',
    payerEmail: null,
    returnUrl: `${baseUrl}/pagamenti/424242`,
    notifyUrl: `${baseUrl}/pagamenti/notifica/sandbox`,
    lang: 'it',
    ...overrides,
  }
}

describe('start-up', () => {
  // Vite puts BASE_URL and others into the test process's environment: the child must not inherit them.
  const { BASE_URL: _b, MODE: _m, DEV: _d, PROD: _p, SSR: _s, ...cleanEnv } = process.env

  it('`DATABASE_URL=… npm start` with nothing else refuses to start, naming each missing setting', async () => {
    const env = { ...cleanEnv, NODE_ENV: '', DATABASE_URL: 'postgres://127.0.0.1:1/sportello', JOBS: 'false' }
    const run = promisify(execFile)
    const started = run(process.execPath, nodeArgs('server'), { env, timeout: 60_000 })
    const failure = (await started.then(
      () => null,
      (err: unknown) => err,
    )) as { code: number; stderr: string } | null
    expect(failure?.code).toBe(78)
    for (const name of [
      'SESSION_SECRET',
      'SECRETS_KEY',
      'BASE_URL',
      'SMTP_URL',
      'PAYMENT_PROVIDER',
      'PAGOPA_CHECKOUT_URL',
      'PAGOPA_CHECKOUT_KEY',
      'PAGOPA_NODE_KEY',
    ]) {
      expect(failure?.stderr).toMatch(new RegExp(`^  ${name}: is required in production`, 'm'))
    }
    expect(failure?.stderr).toContain('SPORTELLO_DEMO=1')
  }, 70_000)
})

describe('the sandbox provider and /dev/mail', () => {
  it('do not exist in production, DATABASE_URL being enough to make it production', async () => {
    const { app, deps } = testApp(db, PRODUCTION)
    expect(deps.config.production).toBe(true)
    const [m] = await db.sql<{ id: number }[]>`
      insert into platform.outbox (to_address, subject, text_body) values ('x@example.it', 'prova', 'prova') returning id`
    expect((await app.request('/dev/mail')).status).toBe(404)
    expect((await app.request(`/dev/mail/${m?.id}`)).status).toBe(404)
    await db.sql`delete from platform.outbox where id = ${m?.id as number}`
    const api = await sandboxStart(app, deps.config.pspSandboxSecret, startBody(deps.config.baseUrl))
    expect(api.status).toBe(404)
    expect((await app.request('/sandbox-psp/paga/AAAAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404)
  })

  it('do not exist in the default test configuration either: only an explicit switch turns them on', async () => {
    const { app, deps } = testApp(db, { PSP_SANDBOX: '', DEV_MAIL: '' })
    expect((await app.request('/dev/mail')).status).toBe(404)
    expect((await sandboxStart(app, deps.config.pspSandboxSecret, startBody(deps.config.baseUrl))).status).toBe(404)
    const on = testApp(db)
    expect((await on.app.request('/dev/mail')).status).toBe(200)
  })

  it('the sandbox accepts only this server’s own notify and return addresses', async () => {
    const { app, deps } = testApp(db)
    const secret = deps.config.pspSandboxSecret
    const base = deps.config.baseUrl
    const foreignNotify = await sandboxStart(app, secret, startBody(base, { notifyUrl: 'https://evil.example/hook' }))
    expect(foreignNotify.status).toBe(422)
    expect(await foreignNotify.json()).toMatchObject({ error: 'foreign_url', issues: [{ path: 'notifyUrl' }] })
    const foreignReturn = await sandboxStart(app, secret, startBody(base, { returnUrl: 'https://evil.example/' }))
    expect(foreignReturn.status).toBe(422)
    expect(await foreignReturn.json()).toMatchObject({ issues: [{ path: 'returnUrl' }] })
    // same host, another port: another origin
    const port = await sandboxStart(
      app,
      secret,
      startBody(base, { notifyUrl: `${new URL(base).protocol}//${new URL(base).hostname}:9/x` }),
    )
    expect(port.status).toBe(422)
    const [n] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from platform.sandbox_psp_sessions where notify_url like 'https://evil.example/%'
        or return_url like 'https://evil.example/%'`
    expect(n?.n).toBe(0)
    expect((await sandboxStart(app, secret, startBody(base))).status).toBe(201)
  })
})

describe('the request log', () => {
  it('never holds the token of a reset link', async () => {
    let out = ''
    const sink = new Writable({
      write(chunk, _enc, done) {
        out += chunk.toString()
        done()
      },
    })
    const deps = { ...testDeps(db), log: createLogger('info', sink) }
    const app = createApp(deps)
    const anon = new Client(app)
    // requests without a socket all count against one address: earlier files may have used its hour up
    await db.sql`delete from platform.throttle`
    expect((await anon.submit('/password-dimenticata', { email: account.email })).status).toBe(200)
    const [mail] = await db.sql<{ text_body: string }[]>`
      select text_body from platform.outbox where to_address = ${account.email} order by id desc limit 1`
    const link = /https?:\/\/\S+\/reimposta-password\/(\S+)/.exec(mail?.text_body ?? '')
    const token = link?.[1] as string
    expect(token).toBeTruthy()
    expect((await anon.get(`/reimposta-password/${token}`)).status).toBe(200)
    const posted = await anon.post(`/reimposta-password/${token}`, { password: 'x', passwordConfirm: 'y' })
    expect(posted.status).toBe(422)
    await anon.get(`/reimposta-password/${token}?token=${token}`)
    expect(out).toContain('"path":"/reimposta-password/[redacted]"')
    expect(out.match(/\/reimposta-password\/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(3)
    expect(out).not.toContain(token)
  })
})

describe('Cache-Control', () => {
  let server: Awaited<ReturnType<typeof startServer>>
  let client: Client

  beforeAll(async () => {
    server = await startServer(db)
    client = await signedIn(server.app, account)
  })

  afterAll(async () => {
    await server?.close()
  })

  it('is no-store on signed-in pages, the archive and a receipt PDF', async () => {
    const payer = await givePayer(db, tenant, account.codiceFiscale)
    const doc = await issue(db, tenant, payer, [2500])
    await client.get(`/t/${tenant.slug}/documenti/${doc.documentId}`)
    const add = await client.post('/carrello/aggiungi', {
      ente: tenant.slug,
      rate: [String(doc.installments[0]?.id)],
    })
    expect(add.status).toBe(303)
    const summary = await (await client.get('/carrello/riepilogo')).text()
    const key = /name="chiave" value="([^"]+)"/.exec(summary)?.[1] as string
    const pay = await client.post('/carrello/paga', { chiave: key })
    expect(pay.status).toBe(303)
    const paid = await payAtSandbox(client, pay.headers.get('location') as string)
    const paymentId = Number(new URL(paid.headers.get('location') as string).pathname.split('/').pop())
    for (let i = 0; i < 100; i++) {
      await deliverPending(db, server.deps.config)
      const [p] = await db.sql<{ status: string }[]>`select status from platform.payments where id = ${paymentId}`
      if (p?.status === 'succeeded') break
      await new Promise((r) => setTimeout(r, 50))
    }

    for (const path of [
      '/area-personale',
      '/profilo',
      '/posizione-debitoria',
      '/carrello',
      `/pagamenti/${paymentId}`,
      '/archivio',
      `/pagamenti/${paymentId}/ricevuta.pdf`,
    ]) {
      const res = await client.get(path)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('cache-control'), path).toMatch(/(^|[ ,])no-store($|,)/)
    }
    const pdf = await client.get(`/pagamenti/${paymentId}/ricevuta.pdf`)
    expect(pdf.headers.get('content-type')).toBe('application/pdf')
    // an error page of a signed-in visitor, too
    const missing = await client.get('/pagamenti/999999999')
    expect(missing.headers.get('cache-control')).toBe('no-store')
  })

  it('leaves the static files and the icons cacheable', async () => {
    const css = await client.get(server.deps.assets.url('css/app.css'))
    expect(css.status).toBe(200)
    expect(css.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const icon = await client.get('/favicon.ico')
    expect(icon.status).toBe(200)
    expect(icon.headers.get('cache-control')).toBe('public, max-age=86400')
  })
})
