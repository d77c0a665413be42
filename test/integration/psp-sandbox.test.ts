// The sandbox PSP end to end: its API, its hosted card pages (app.request form posts), notifications to a
// real local HTTP listener, and the provider client verifying them.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { createApp } from '../../src/app.ts'
import { deliverPending, MAX_ATTEMPTS } from '../../src/features/psp/delivery.ts'
import { createSandboxProvider } from '../../src/features/psp/sandbox.ts'
import { apiToken, signNotification } from '../../src/features/psp/signature.ts'
import type { Db } from '../../src/platform/db.ts'
import type { Deps } from '../../src/platform/http.ts'
import type { PaymentProvider, StartRequest } from '../../src/platform/payment-provider.ts'
import { testApp } from '../helpers/app.ts'
import { openTestDb } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'

let db: Db
let app: ReturnType<typeof createApp>
let deps: Deps
let provider: PaymentProvider
let hook: Listener

interface Received {
  headers: IncomingHttpHeaders
  body: string
}

/** A merchant's notify endpoint: answers with the queued statuses (then 200) and keeps what it received. */
interface Listener {
  url: string
  received: Received[]
  answers: number[]
  close(): Promise<void>
}

async function startListener(): Promise<Listener> {
  const received: Received[] = []
  const answers: number[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      // an address that always fails, for the give-up test (the sandbox posts only to this server's origin)
      res.writeHead(req.url?.endsWith('/sempre-500') ? 500 : (answers.shift() ?? 200)).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/notifiche/sandbox`,
    received,
    answers,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

async function until<T>(fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 10_000) {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 50))
  }
}

let seq = 0
function startRequest(overrides: Partial<StartRequest> = {}): StartRequest {
  seq++
  return {
    paymentId: 1000 + seq,
    idempotencyKey: `test-${Date.now()}-${seq}-${Math.random().toString(36).slice(2)}`,
    amountCents: 12_345,
    description: 'Mensa scolastica – ottobre',
    payerEmail: 'famiglia@example.org',
    returnUrl: `${deps.config.baseUrl}/t/prova/pagamenti/${seq}/esito`,
    notifyUrl: hook.url,
    lang: 'it',
    ...overrides,
  }
}

async function session(id: string) {
  const [row] = await db.admin<
    {
      status: string
      authCode: string | null
      eventId: string | null
      attempts: number
      nextAt: Date | null
      deliveredAt: Date | null
      lastError: string | null
      submittedAt: Date | null
    }[]
  >`select status, auth_code as "authCode", event_id as "eventId", notify_attempts as attempts,
      notify_next_at as "nextAt", notify_delivered_at as "deliveredAt", notify_last_error as "lastError",
      submitted_at as "submittedAt"
    from platform.sandbox_psp_sessions where id = ${id}`
  if (!row) throw new Error(`no session ${id}`)
  return row
}

const page = (ref: string) => `/sandbox-psp/paga/${ref}`

/** The pay page's form token, read from the page the first time (later the page may show an outcome). */
const tokens = new Map<string, string>()
async function tokenOf(ref: string): Promise<string> {
  const known = tokens.get(ref)
  if (known) return known
  const html = await (await app.request(page(ref))).text()
  const token = /name="token" value="([0-9a-f]{64})"/.exec(html)?.[1]
  if (!token) throw new Error('no form token on the page')
  tokens.set(ref, token)
  return token
}

function post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return app.request(path, {
    method: 'POST',
    body: new URLSearchParams(fields),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
  })
}

const card = (cardNumber: string, extra: Record<string, string> = {}) => ({
  cardholderName: 'Maria Rossi',
  cardNumber,
  expiryMonth: '12',
  expiryYear: String(new Date().getFullYear() + 3),
  cvv: '123',
  ...extra,
})

async function pay(ref: string, fields: Record<string, string>) {
  return post(page(ref), { token: await tokenOf(ref), ...fields })
}

beforeAll(async () => {
  db = await openTestDb()
  hook = await startListener()
  // The sandbox takes only this server's own addresses: the merchant's notify listener stands for this server.
  ;({ app, deps } = testApp(db, { BASE_URL: new URL(hook.url).origin }))
  // The provider client talks HTTP to the app itself, through app.request instead of a socket.
  provider = createSandboxProvider(deps.config, (input, init) => Promise.resolve(app.request(input, init)))
})

afterAll(async () => {
  // let in-flight deliveries settle before the pool closes
  await new Promise((r) => setTimeout(r, 200))
  await hook?.close()
  await db?.close()
})

describe('sandbox PSP API', () => {
  it('refuses calls without the bearer token', async () => {
    const res = await app.request('/sandbox-psp/api/sessions', {
      method: 'POST',
      body: JSON.stringify(startRequest()),
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${'0'.repeat(64)}` },
    })
    expect(res.status).toBe(401)
    expect((await app.request('/sandbox-psp/api/sessions/whatever-whatever-whatever')).status).toBe(401)
  })

  it('rejects a malformed start request', async () => {
    const auth = {
      Authorization: `Bearer ${apiToken(deps.config.pspSandboxSecret)}`,
      'Content-Type': 'application/json',
    }
    const bad = await app.request('/sandbox-psp/api/sessions', {
      method: 'POST',
      body: JSON.stringify({ ...startRequest(), amountCents: 12.5, returnUrl: 'javascript:alert(1)' }),
      headers: auth,
    })
    expect(bad.status).toBe(400)
    const body = (await bad.json()) as { issues: { path: string }[] }
    expect(body.issues.map((i) => i.path).sort()).toEqual(['amountCents', 'returnUrl'])
    const notJson = await app.request('/sandbox-psp/api/sessions', { method: 'POST', body: '{', headers: auth })
    expect(notJson.status).toBe(400)
  })

  it('creates a session, idempotent on the idempotency key', async () => {
    const req = startRequest()
    const before = Date.now()
    const first = await provider.start(req)
    expect(first.redirectUrl).toBe(`${deps.config.baseUrl}/sandbox-psp/paga/${first.providerRef}`)
    const minutes = (first.expiresAt.getTime() - before) / 60_000
    expect(minutes).toBeGreaterThan(7.9)
    expect(minutes).toBeLessThan(8.1)
    const again = await provider.start(req)
    expect(again).toEqual(first)
    expect(await provider.status(first.providerRef)).toEqual({
      status: 'pending',
      amountCents: 12_345,
      authCode: null,
      cardMask: null,
    })
    // the same key for another amount is a caller's bug
    await expect(provider.start({ ...req, amountCents: 1 })).rejects.toThrow(/409/)
  })

  it('answers 404 for an unknown session', async () => {
    await expect(provider.status('AAAAAAAAAAAAAAAAAAAAAAAA')).rejects.toThrow(/404/)
    expect((await app.request(page('AAAAAAAAAAAAAAAAAAAAAAAA'))).status).toBe(404)
    expect((await app.request(page('../../etc'))).status).toBe(404)
  })
})

describe('sandbox PSP card page', () => {
  it('shows amount, description, the time limit, test cards and a labelled card form', async () => {
    const { providerRef } = await provider.start(startRequest({ amountCents: 123_450 }))
    const res = await app.request(page(providerRef))
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const html = await res.text()
    expect(html).toContain('Sandbox PSP – ambiente di prova')
    expect(html).toContain('1.234,50\u00a0€')
    expect(html).toContain('Mensa scolastica – ottobre')
    expect(html).toContain('Hai 8 minuti per pagare')
    expect(html).toMatch(/scade alle \d\d:\d\d \(ora italiana\)/)
    expect(html).toContain('<summary>Carte di prova</summary>')
    expect(html).toContain('4000 0000 0000 0259')
    for (const ac of ['cc-name', 'cc-number', 'cc-exp-month', 'cc-exp-year', 'cc-csc']) {
      expect(html).toContain(`autocomplete="${ac}"`)
    }
    expect(html).toContain('inputmode="numeric"')
    expect(html).toContain('novalidate')
    expect(html).toContain('Annulla il pagamento')
    expect(html).toContain('<title>Pagamento con carta – Sandbox PSP</title>')
    expect(html).not.toContain('class="tenant-bar')
    await expectValidHtml(html)
  })

  it('speaks the language the merchant asked for, unless the citizen chose one', async () => {
    const { providerRef } = await provider.start(startRequest({ lang: 'en' }))
    const en = await (await app.request(page(providerRef))).text()
    expect(en).toContain('<html lang="en">')
    expect(en).toContain('Enter your card details')
    expect(en).toContain('Sandbox PSP – test environment')
    await expectValidHtml(en)
    const it = await (await app.request(page(providerRef), { headers: { cookie: 'lang=it' } })).text()
    expect(it).toContain('<html lang="it">')
  })

  it('422 with an error summary, messages beside the fields and the input kept; nothing changes', async () => {
    const { providerRef } = await provider.start(startRequest())
    const year = new Date().getFullYear()
    const cases: { fields: Record<string, string>; id: string; message: string }[] = [
      { fields: card('4242 4242 4242 4241'), id: 'card-number', message: 'Il numero della carta non è valido' },
      { fields: card('4242 4242'), id: 'card-number', message: 'da 13 a 19 cifre' },
      {
        fields: card('4242424242424242', { expiryMonth: '01', expiryYear: String(year - 1) }),
        id: 'expiry-month',
        message: 'La carta è scaduta',
      },
      {
        fields: card('4242424242424242', { expiryMonth: '13', expiryYear: String(year + 1) }),
        id: 'expiry-month',
        message: 'un mese da 1 a 12',
      },
      { fields: card('4242424242424242', { cvv: '12' }), id: 'cvv', message: 'deve avere 3 cifre' },
      // American Express: 4 digits
      { fields: card('3782 822463 10005', { cvv: '123' }), id: 'cvv', message: 'American Express deve avere 4 cifre' },
      {
        fields: card('4242424242424242', { cardholderName: '  ' }),
        id: 'cardholder-name',
        message: 'Inserisci il nome',
      },
    ]
    for (const c of cases) {
      const res = await pay(providerRef, c.fields)
      expect(res.status, c.message).toBe(422)
      const html = await res.text()
      expect(html).toContain('C&#39;è un problema')
      expect(html).toContain('data-focus')
      expect(html).toContain(`href="#${c.id}"`)
      expect(html).toContain(c.message)
      expect(html).toMatch(/<span class="visually-hidden">Errore:<\/span>/)
      expect(html).toContain('<title>Errore: Pagamento con carta – Sandbox PSP</title>')
      expect(html).toContain(`value="${c.fields.cardholderName}"`)
      expect(html).toContain(`value="${c.fields.cardNumber}"`)
      await expectValidHtml(html)
    }
    // the message is tied to its field
    const res = await pay(providerRef, card('4242424242424241', { cvv: '' }))
    const html = await res.text()
    expect(html).toMatch(/id="card-number"[^>]*aria-describedby="card-number-hint card-number-error"/)
    expect(html).toMatch(/id="cvv"[^>]*aria-describedby="cvv-hint cvv-error"/)
    const s = await session(providerRef)
    expect(s).toMatchObject({ status: 'pending', eventId: null, submittedAt: null, authCode: null })
  })

  it('accepts amex with 4 digits, spaces in the number, and a 2-digit year', async () => {
    const { providerRef } = await provider.start(startRequest())
    const res = await pay(
      providerRef,
      card('3782 822463 10005', { cvv: '1234', expiryYear: String((new Date().getFullYear() + 1) % 100) }),
    )
    expect(res.status).toBe(303)
    expect((await session(providerRef)).status).toBe('succeeded')
  })

  it('refuses a post without the page token', async () => {
    const { providerRef } = await provider.start(startRequest())
    const res = await post(page(providerRef), { token: 'f'.repeat(64), ...card('4242424242424242') })
    expect(res.status).toBe(403)
    const cancel = await post(`${page(providerRef)}/annulla`, {})
    expect(cancel.status).toBe(403)
    expect((await session(providerRef)).status).toBe('pending')
  })

  it('never logs the card', async () => {
    const lines: string[] = []
    const original = deps.log
    deps.log = pino(
      { level: 'trace' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk))
          cb()
        },
      }),
    )
    try {
      const { providerRef } = await provider.start(startRequest())
      await pay(providerRef, card('4000 0000 0000 0028', { cvv: '9' }))
      await pay(providerRef, card('4000000000000028', { cvv: '987' }))
    } finally {
      deps.log = original
    }
    const all = lines.join('\n')
    expect(all).toContain('"path":"/sandbox-psp/paga/')
    expect(all).not.toMatch(/4000 ?0000 ?0000 ?0028/)
    expect(all).not.toMatch(/cardNumber|cvv/i)
  })
})

describe('sandbox PSP outcomes and notifications', () => {
  it('4242…: succeeds, returns to the merchant, notifies with a valid signature', async () => {
    const req = startRequest({ amountCents: 5_800 })
    const { providerRef } = await provider.start(req)
    const before = hook.received.length
    const res = await pay(providerRef, card('4242 4242 4242 4242'))
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(req.returnUrl)
    const s = await session(providerRef)
    expect(s.status).toBe('succeeded')
    expect(s.authCode).toMatch(/^[A-Z0-9]{6}$/)

    const got = await until(() => hook.received.slice(before).find((r) => r.body.includes(providerRef)))
    expect(got.headers['content-type']).toBe('application/json')
    expect(got.headers['x-sandbox-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/)
    const n = provider.verifyNotification(got.body, got.headers as Record<string, string>)
    expect(n).toMatchObject({
      providerRef,
      paymentId: req.paymentId,
      status: 'succeeded',
      amountCents: 5_800,
      authCode: s.authCode,
      eventId: s.eventId,
      // the card by brand and last four digits only
      cardMask: 'VISA ****4242',
    })
    expect(n?.occurredAt).toBeInstanceOf(Date)
    await until(async () => (await session(providerRef)).deliveredAt)
    expect(await provider.status(providerRef)).toEqual({
      status: 'succeeded',
      amountCents: 5_800,
      authCode: s.authCode,
      cardMask: 'VISA ****4242',
    })

    // a second submit (back button, another tab) changes nothing
    const again = await pay(providerRef, card('4000000000000002'))
    expect(again.status).toBe(200)
    expect(await again.text()).toContain('Pagamento già autorizzato')
    expect((await session(providerRef)).status).toBe('succeeded')
  })

  it('4000…0002: refused; the page says so and links back to the merchant; notifies "failed"', async () => {
    const req = startRequest()
    const { providerRef } = await provider.start(req)
    const res = await pay(providerRef, card('4000 0000 0000 0002'))
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(page(providerRef))
    const refused = await app.request(page(providerRef))
    expect(refused.status).toBe(200)
    const html = await refused.text()
    expect(html).toContain('Pagamento rifiutato')
    expect(html).toContain(`href="${req.returnUrl}"`)
    await expectValidHtml(html)
    expect(await provider.status(providerRef)).toEqual({
      status: 'failed',
      amountCents: 12_345,
      authCode: null,
      cardMask: 'VISA ****0002',
    })
    const got = await until(() => hook.received.find((r) => r.body.includes(providerRef)))
    expect(provider.verifyNotification(got.body, got.headers as Record<string, string>)).toMatchObject({
      status: 'failed',
      authCode: null,
    })
  })

  it('4000…0259: hangs pending with no notification, then reports expired', async () => {
    const req = startRequest()
    const { providerRef } = await provider.start(req)
    const res = await pay(providerRef, card('4000000000000259'))
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(req.returnUrl)
    expect(await session(providerRef)).toMatchObject({ status: 'pending', eventId: null, nextAt: null })
    expect((await provider.status(providerRef)).status).toBe('pending')
    const processing = await app.request(page(providerRef))
    expect(await processing.text()).toContain('Pagamento in elaborazione')
    // a second card on the same session is not taken
    const again = await pay(providerRef, card('4242424242424242'))
    expect(await again.text()).toContain('Pagamento in elaborazione')

    await db.admin`update platform.sandbox_psp_sessions set expires_at = now() - interval '1 second' where id = ${providerRef}`
    expect(await provider.status(providerRef)).toEqual({
      status: 'expired',
      amountCents: 12_345,
      authCode: null,
      cardMask: null,
    })
    await deliverPending(db, deps.config)
    expect(await session(providerRef)).toMatchObject({ status: 'expired', eventId: null, nextAt: null })
    expect(hook.received.some((r) => r.body.includes(providerRef))).toBe(false)
  })

  it('cancel: back to the merchant, status cancelled, notified', async () => {
    const req = startRequest()
    const { providerRef } = await provider.start(req)
    const res = await post(`${page(providerRef)}/annulla`, { token: await tokenOf(providerRef) })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(req.returnUrl)
    expect((await provider.status(providerRef)).status).toBe('cancelled')
    const got = await until(() => hook.received.find((r) => r.body.includes(providerRef)))
    expect(provider.verifyNotification(got.body, got.headers as Record<string, string>)?.status).toBe('cancelled')
    // paying a cancelled session is not possible
    const payAfter = await pay(providerRef, card('4242424242424242'))
    expect(await payAfter.text()).toContain('Pagamento annullato')
    expect((await session(providerRef)).status).toBe('cancelled')
  })

  it('expiry: 410 page with a link back, no payment taken, status expired', async () => {
    const req = startRequest()
    const { providerRef } = await provider.start(req)
    const token = await tokenOf(providerRef)
    await db.admin`update platform.sandbox_psp_sessions set expires_at = now() - interval '1 second' where id = ${providerRef}`
    const res = await app.request(page(providerRef))
    expect(res.status).toBe(410)
    const html = await res.text()
    expect(html).toContain('La sessione di pagamento è scaduta')
    expect(html).toContain(`href="${req.returnUrl}"`)
    await expectValidHtml(html)
    const late = await post(page(providerRef), { token, ...card('4242424242424242') })
    expect(late.status).toBe(410)
    const lateCancel = await post(`${page(providerRef)}/annulla`, { token })
    expect(lateCancel.status).toBe(410)
    expect(await provider.status(providerRef)).toEqual({
      status: 'expired',
      amountCents: 12_345,
      authCode: null,
      cardMask: null,
    })
    expect((await session(providerRef)).eventId).toBeNull()
  })

  it('retries with backoff when the merchant answers 500, then delivers', async () => {
    const { providerRef } = await provider.start(startRequest())
    hook.answers.push(500)
    const before = hook.received.length
    await pay(providerRef, card('4242424242424242'))
    await until(async () => (await session(providerRef)).attempts === 1)
    const s = await session(providerRef)
    expect(s.lastError).toBe('HTTP 500')
    expect(s.deliveredAt).toBeNull()
    const wait = ((s.nextAt as Date).getTime() - Date.now()) / 1000
    expect(wait).toBeGreaterThan(2)
    expect(wait).toBeLessThanOrEqual(6)
    // not due yet: a run now sends nothing for it
    await deliverPending(db, deps.config)
    expect((await session(providerRef)).attempts).toBe(1)

    await db.admin`update platform.sandbox_psp_sessions set notify_next_at = now() where id = ${providerRef}`
    await deliverPending(db, deps.config)
    const done = await until(async () => {
      const x = await session(providerRef)
      return x.deliveredAt ? x : null
    })
    expect(done).toMatchObject({ attempts: 2, lastError: null, nextAt: null })
    const bodies = hook.received.slice(before).filter((r) => r.body.includes(providerRef))
    expect(bodies).toHaveLength(2)
    // the same event both times: the merchant deduplicates on eventId
    const ids = bodies.map((b) => provider.verifyNotification(b.body, b.headers as Record<string, string>)?.eventId)
    expect(new Set(ids).size).toBe(1)
  })

  it(`gives up after ${MAX_ATTEMPTS} attempts`, async () => {
    const { providerRef } = await provider.start(
      startRequest({ notifyUrl: `${new URL(hook.url).origin}/notifiche/sempre-500` }),
    )
    await pay(providerRef, card('4242424242424242'))
    await until(async () => (await session(providerRef)).attempts === 1)
    await db.admin`update platform.sandbox_psp_sessions set notify_attempts = ${MAX_ATTEMPTS - 1}, notify_next_at = now()
      where id = ${providerRef}`
    await deliverPending(db, deps.config)
    const s = await until(async () => {
      const x = await session(providerRef)
      return x.attempts === MAX_ATTEMPTS ? x : null
    })
    expect(s.nextAt).toBeNull()
    expect(s.deliveredAt).toBeNull()
    expect(s.lastError).toBeTruthy()
  })
})

describe('verifyNotification', () => {
  const body = JSON.stringify({
    eventId: 'evt-1',
    providerRef: 'AAAAAAAAAAAAAAAAAAAAAAAA',
    paymentId: 7,
    status: 'succeeded',
    amountCents: 100,
    authCode: 'ABC123',
    occurredAt: new Date().toISOString(),
  })
  const now = () => Math.floor(Date.now() / 1000)
  const headers = (sig: string) => ({ 'x-sandbox-signature': sig })

  it('accepts a fresh, correctly signed notification (header name in any case)', () => {
    const sig = signNotification(deps.config.pspSandboxSecret, body)
    expect(provider.verifyNotification(body, headers(sig))).toMatchObject({ eventId: 'evt-1', paymentId: 7 })
    expect(provider.verifyNotification(body, { 'X-Sandbox-Signature': sig })).not.toBeNull()
  })

  it('rejects a forged signature, a changed body, a missing header', () => {
    const forged = signNotification('another-secret-another-secret-another', body)
    expect(provider.verifyNotification(body, headers(forged))).toBeNull()
    const sig = signNotification(deps.config.pspSandboxSecret, body)
    expect(provider.verifyNotification(body.replace('100', '1'), headers(sig))).toBeNull()
    expect(provider.verifyNotification(body, {})).toBeNull()
    expect(provider.verifyNotification(body, headers('t=abc,v1=zz'))).toBeNull()
    expect(provider.verifyNotification(body, headers(sig.replace(/v1=./, 'v1=g')))).toBeNull()
  })

  it('rejects a stale or future timestamp', () => {
    const secret = deps.config.pspSandboxSecret
    expect(provider.verifyNotification(body, headers(signNotification(secret, body, now() - 301)))).toBeNull()
    expect(provider.verifyNotification(body, headers(signNotification(secret, body, now() - 290)))).not.toBeNull()
    expect(provider.verifyNotification(body, headers(signNotification(secret, body, now() + 120)))).toBeNull()
  })

  it('rejects a malformed body even when signed', () => {
    const secret = deps.config.pspSandboxSecret
    for (const b of ['not json', '{}', JSON.stringify({ ...JSON.parse(body), status: 'pending' }), '[]']) {
      expect(provider.verifyNotification(b, headers(signNotification(secret, b)))).toBeNull()
    }
  })
})
