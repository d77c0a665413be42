// pagoPA Checkout as the payment provider, against a local fake of the cart endpoint that behaves as the
// public "Checkout EC" API describes it (POST /carts, subscription key, 302 to the Checkout page); the
// outcome comes from the node's receipts (played by the simulator), not from Checkout.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.ts'
import { type CartRequest, createCheckoutProvider } from '../../src/features/pagopa/checkout.ts'
import { payNotice } from '../../src/features/pagopa/simulator.ts'
import { reconcilePayments } from '../../src/features/payments/maintenance.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { PaymentProvider } from '../../src/platform/payment-provider.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createAccount, signedIn, type TestAccount } from '../helpers/accounts.ts'
import { testDeps } from '../helpers/app.ts'
import type { Client } from '../helpers/client.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { world } from '../helpers/world.ts'

const KEY = 'chiave-del-nodo-per-il-checkout-0001'
const CHECKOUT_KEY = 'sottoscrizione-checkout-di-prova'

const w = world({ tenant: false })
let db: Db
let a: Tenant
let b: Tenant
let withCommission: Tenant
let fake: Server
let fakeUrl: string
let app: ReturnType<typeof createApp>
let provider: PaymentProvider
let me: TestAccount
let client: Client
const carts: { headers: IncomingMessage['headers']; body: CartRequest }[] = []
let refuseNext: number | null = null

/** The cart endpoint as published: JSON body checked against CartRequest, 302 with Location, ProblemJson on error. */
function fakeCheckout(req: IncomingMessage, res: ServerResponse) {
  let raw = ''
  req.on('data', (d) => {
    raw += d
  })
  req.on('end', () => {
    const problem = (status: number, detail: string) => {
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify({ type: 'about:blank', title: 'Bad Request', status, detail }))
    }
    if (req.method !== 'POST' || req.url !== '/checkout/ec/v2/carts') return problem(404, 'not found')
    if (req.headers['ocp-apim-subscription-key'] !== CHECKOUT_KEY) return problem(401, 'invalid subscription key')
    if (refuseNext) {
      const s = refuseNext
      refuseNext = null
      return problem(s, 'No PSP Service is available')
    }
    let body: CartRequest
    try {
      body = JSON.parse(raw)
    } catch {
      return problem(400, 'not JSON')
    }
    const n = body.paymentNotices
    const urls = body.returnUrls
    const valid =
      Array.isArray(n) &&
      n.length >= 1 &&
      n.length <= 5 &&
      n.every(
        (x) =>
          /^[0-9]{18}$/.test(x.noticeNumber) &&
          /^[0-9]{11}$/.test(x.fiscalCode) &&
          Number.isInteger(x.amount) &&
          x.amount >= 1 &&
          typeof x.companyName === 'string' &&
          x.companyName.length <= 140 &&
          typeof x.description === 'string' &&
          x.description.length <= 140,
      ) &&
      !!urls &&
      ['returnOkUrl', 'returnCancelUrl', 'returnErrorUrl', 'returnWaitingUrl'].every((k) =>
        /^https?:\/\//.test((urls as Record<string, string>)[k] ?? ''),
      ) &&
      (body.emailNotice === undefined || /@/.test(body.emailNotice))
    if (!valid) return problem(400, 'formally invalid input')
    carts.push({ headers: req.headers, body })
    res.writeHead(302, { Location: `${fakeUrl}/c/${carts.length}` })
    res.end()
  })
}

beforeAll(async () => {
  process.env.PAGOPA_NODE_KEY = KEY
  fake = createServer(fakeCheckout)
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()))
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`
  db = w.db
  const settings = {
    cutoff: '09:15',
    reminderDays: [-7, 0, 7],
    lowBalanceMeals: 3,
    iban: 'IT60X0542811101000000123456',
  }
  a = await w.newTenant({ settings: { ...settings, commission: { type: 'none' } } })
  b = await w.newTenant({ settings: { ...settings, commission: { type: 'none' } } })
  withCommission = await w.newTenant({
    settings: { ...settings, commission: { type: 'grossup', basisPoints: 150 } },
  })
  const deps = testDeps(db)
  provider = createCheckoutProvider(db, deps.config, {
    checkoutUrl: `${fakeUrl}/checkout/ec/v2`,
    checkoutKey: CHECKOUT_KEY,
  })
  deps.provider = provider
  app = createApp(deps)
  me = await w.account({ givenName: 'Paolo', familyName: 'Gialli' })
  client = await signedIn(app, me)
})

afterAll(async () => {
  delete process.env.PAGOPA_NODE_KEY
  await new Promise<void>((r) => fake.close(() => r()))
})

async function pay(selection: { tenant: Tenant; ids: number[] }[]) {
  for (const s of selection) {
    await client.get('/carrello')
    const added = await client.post('/carrello/aggiungi', { ente: s.tenant.slug, rate: s.ids.map(String) })
    expect(added.status).toBe(303)
  }
  const summary = await client.get('/carrello/riepilogo')
  const key = /name="chiave" value="([^"]+)"/.exec(await summary.text())?.[1] as string
  const res = await client.post('/carrello/paga', { chiave: key })
  const [p] = await db.sql<{ id: number; status: string }[]>`
    select id, status from platform.payments where idempotency_key = ${key}`
  return { res, payment: p as { id: number; status: string } }
}

async function status(t: Tenant, id: number) {
  const [r] = await withTenant(
    db.sql,
    t,
    (tx) => tx<{ status: string; source: string | null; payment_id: number | null }[]>`
      select i.status, ip.source, ip.payment_id from installments i
      left join installment_payments ip on ip.installment_id = i.id where i.id = ${id}`,
  )
  return r
}

const node = (t: Tenant, noticeNumber: string) =>
  payNotice({
    url: '/pagopa/nodo',
    key: KEY,
    noticeNumber,
    fiscalCode: t.fiscalCode,
    fetch: async (u, i) => app.request(u, i),
  })

describe('pagoPA Checkout provider', () => {
  it('posts the cart, hands the citizen over with a link, and finishes the payment when every receipt has arrived', async () => {
    const pa = await givePayer(db, a, me.codiceFiscale, ['Paolo', 'Gialli'])
    const pb = await givePayer(db, b, me.codiceFiscale, ['Paolo', 'Gialli'])
    const docA = await issue(db, a, pa, [6400, 6400], { description: 'Mensa scolastica febbraio' })
    const docB = await issue(db, b, pb, [15460], { service: 'trasporto', description: 'Trasporto scolastico' })
    const [a1] = docA.installments as { id: number; noticeCode: string }[]
    const [b1] = docB.installments as { id: number; noticeCode: string }[]
    const { res, payment } = await pay([
      { tenant: a, ids: [(a1 as { id: number }).id] },
      { tenant: b, ids: [(b1 as { id: number }).id] },
    ])
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`/pagopa/prosegui/${payment.id}`)
    expect(payment.status).toBe('pending')

    // the cart as the API describes it
    const cart = carts.at(-1)
    expect(cart?.headers['content-type']).toContain('application/json')
    expect(cart?.body.paymentNotices).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ noticeNumber: a1?.noticeCode, fiscalCode: a.fiscalCode, amount: 6400 }),
        expect.objectContaining({ noticeNumber: b1?.noticeCode, fiscalCode: b.fiscalCode, amount: 15460 }),
      ]),
    )
    expect(cart?.body.emailNotice).toBe(me.email)
    expect(cart?.body.returnUrls.returnOkUrl).toMatch(new RegExp(`/pagamenti/${payment.id}\\?esito=ok$`))
    expect(cart?.body.idCart).toBe(`SP${payment.id}`)

    // the hand-off page: a link to Checkout with a visible "Prosegui"
    const handoff = await client.get(`/pagopa/prosegui/${payment.id}`)
    expect(handoff.status).toBe(200)
    const html = await handoff.text()
    expect(html).toContain(`href="${fakeUrl}/c/${carts.length}"`)
    expect(html).toContain('Prosegui su pagoPA')
    await expectValidHtml(html)
    // nobody else's hand-off
    const stranger = await signedIn(app, await createAccount(db))
    expect((await stranger.get(`/pagopa/prosegui/${payment.id}`)).status).toBe(404)

    // pagoPA calls the node for each notice: verify and get accept the notices reserved by our own cart
    const first = await node(a, a1?.noticeCode as string)
    expect(first.steps.map((s) => s.outcome)).toEqual(['OK', 'OK', 'OK'])
    expect(await status(a, a1?.id as number)).toEqual({ status: 'pagato', source: 'checkout', payment_id: payment.id })
    const [half] = await db.sql<{ status: string }[]>`select status from platform.payments where id = ${payment.id}`
    expect(half?.status).toBe('pending')
    const second = await node(b, b1?.noticeCode as string)
    expect(second.paid).toBe(true)
    const [done] = await db.sql<{ status: string; needs_refund: boolean; receipt_number: string }[]>`
      select status, needs_refund, receipt_number from platform.payments where id = ${payment.id}`
    expect(done).toMatchObject({ status: 'succeeded', needs_refund: false })
    expect(await status(b, b1?.id as number)).toEqual({ status: 'pagato', source: 'checkout', payment_id: payment.id })
    // the status page and the archive show it once, with the platform receipt
    const archive = await (await client.get('/archivio')).text()
    expect(archive.split(done?.receipt_number as string).length - 1).toBeGreaterThanOrEqual(1)
    expect(archive).not.toContain(first.receiptId as string)
    // the reconciliation job leaves it alone
    await reconcilePayments(db, provider, { staleSeconds: 0 })
    const [after] = await db.sql<{ status: string }[]>`select status from platform.payments where id = ${payment.id}`
    expect(after?.status).toBe('succeeded')
  })

  it('status() stays pending until the cart is whole, and reconciliation expires an abandoned cart', async () => {
    const pa = await givePayer(db, a, me.codiceFiscale, ['Paolo', 'Gialli'])
    const doc = await issue(db, a, pa, [1000])
    const inst = doc.installments[0] as { id: number }
    const { payment } = await pay([{ tenant: a, ids: [inst.id] }])
    expect((await provider.status(`cart-${payment.id}`)).status).toBe('pending')
    expect(provider.verifyNotification('{}', {})).toBeNull()
    await db.sql`update platform.payments set expires_at = now() - interval '1 hour', updated_at = now() - interval '1 hour'
                 where id = ${payment.id}`
    await reconcilePayments(db, provider, { staleSeconds: 0, graceSeconds: 0 })
    const [p] = await db.sql<{ status: string }[]>`select status from platform.payments where id = ${payment.id}`
    expect(p?.status).toBe('expired')
    expect((await status(a, inst.id))?.status).toBe('da_pagare')
  })

  it('refuses what Checkout cannot take with a calm page, and a Checkout error fails the payment', async () => {
    const pc = await givePayer(db, withCommission, me.codiceFiscale, ['Paolo', 'Gialli'])
    const doc = await issue(db, withCommission, pc, [10000])
    const commission = await pay([{ tenant: withCommission, ids: [(doc.installments[0] as { id: number }).id] }])
    expect(commission.res.status).toBe(409)
    expect(await commission.res.text()).toContain('non si può pagare con pagoPA')
    expect(commission.payment.status).toBe('failed')
    await client.post('/carrello/rimuovi', {
      ente: withCommission.slug,
      rata: String((doc.installments[0] as { id: number }).id),
    })

    const pa = await givePayer(db, a, me.codiceFiscale, ['Paolo', 'Gialli'])
    const six = await issue(db, a, pa, [100, 100, 100, 100, 100, 100])
    const tooMany = await pay([{ tenant: a, ids: six.installments.map((i) => i.id) }])
    expect(tooMany.res.status).toBe(409)
    for (const i of six.installments) {
      await client.get('/carrello')
      await client.post('/carrello/rimuovi', { ente: a.slug, rata: String(i.id) })
    }

    const one = await issue(db, a, pa, [700])
    refuseNext = 422
    const refused = await pay([{ tenant: a, ids: [(one.installments[0] as { id: number }).id] }])
    expect(refused.res.status).toBe(503)
    expect(refused.payment.status).toBe('failed')
    expect((await status(a, (one.installments[0] as { id: number }).id))?.status).toBe('da_pagare')
  })
})
