// The payment journey against the sandbox provider over real HTTP: debt position, cart across two tenants,
// check, pay, notification, receipt email with PDF, archive; refusal, cancel, expiry, replays, double submit.
import { beforeAll, describe, expect, it } from 'vitest'
import { reconcilePayments } from '../../src/features/payments/maintenance.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { drainOutbox } from '../../src/platform/mail.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createAccount, deleteAccounts, signedIn, type TestAccount } from '../helpers/accounts.ts'
import type { Client } from '../helpers/client.ts'
import { createTestTenant, dropTestTenant, settings } from '../helpers/db.ts'
import { cancelAtSandbox, deliverNotifications, givePayer, issue, payAtSandbox } from '../helpers/payments.ts'
import { type World, world } from '../helpers/world.ts'

const w = world({ smtp: true, serve: true })
let db: Db
let a: Tenant
let b: Tenant
let server: World['server']
let smtp: World['smtp']
let me: TestAccount
let other: TestAccount
let client: Client

async function statuses(t: Tenant, ids: number[]) {
  const rows = await withTenant(
    db.sql,
    t,
    (tx) => tx<{ id: number; status: string }[]>`
    select id, status from installments where id = any(${ids}) order by id`,
  )
  return rows.map((r) => r.status)
}

async function checkout(c: Client) {
  const summary = await c.get('/carrello/riepilogo')
  expect(summary.status).toBe(200)
  const html = await summary.text()
  const key = /name="chiave" value="([^"]+)"/.exec(html)?.[1] as string
  const res = await c.post('/carrello/paga', { chiave: key })
  return { res, key, html }
}

const deliver = () => deliverNotifications(db, server)

beforeAll(async () => {
  ;({ db, smtp, server, tenant: a } = w)
  b = await w.newTenant({ settings: settings({ commission: { type: 'grossup', basisPoints: 150 } }) })
  me = await w.account()
  other = await w.account()
  client = await w.client(me)
})

describe('paying from two tenants', () => {
  it('lists documents from both tenants, pays a choice of installments, and records the receipt once', async () => {
    const pa = await givePayer(db, a, me.codiceFiscale)
    const pb = await givePayer(db, b, me.codiceFiscale)
    const docA = await issue(db, a, pa, [6400, 6400, 6400], { description: 'Mensa aprile–giugno' })
    const docB = await issue(db, b, pb, [15460], { service: 'trasporto', description: 'Trasporto scolastico' })

    const position = await client.get('/posizione-debitoria')
    const html = await position.text()
    expect(html).toContain('Mensa aprile–giugno')
    expect(html).toContain('Trasporto scolastico')
    expect(html).toContain(a.name)
    expect(html).toContain(b.name)

    // document detail, choose installment 1 of A
    const detail = await client.get(`/t/${a.slug}/documenti/${docA.documentId}`)
    expect(detail.status).toBe(200)
    const first = docA.installments[0]?.id as number
    const add = await client.post('/carrello/aggiungi', {
      ente: a.slug,
      rate: [String(first)],
      torna: `/t/${a.slug}/documenti/${docA.documentId}`,
    })
    expect(add.status).toBe(303)
    await client.get(`/t/${b.slug}/documenti/${docB.documentId}`)
    await client.post('/carrello/aggiungi', { ente: b.slug, rate: [String(docB.installments[0]?.id)] })
    const cart = await (await client.get('/carrello')).text()
    expect(cart).toContain('64,00')
    expect(cart).toContain('154,60')

    // check your answers: the gross-up commission of B, none for A
    const { res, html: summary } = await checkout(client)
    expect(summary).toContain('2,36\u00a0€')
    expect(summary).toContain('220,96\u00a0€') // 64,00 + 154,60 + 2,36
    expect(res.status).toBe(303)
    const redirect = res.headers.get('location') as string
    expect(redirect).toMatch(/\/sandbox-psp\/paga\//)
    expect(await statuses(a, [first])).toEqual(['in_corso'])

    // the position shows "in corso" while the provider works
    expect(await (await client.get(`/t/${a.slug}/documenti/${docA.documentId}`)).text()).toContain('In corso')

    const paid = await payAtSandbox(client, redirect)
    expect(paid.status).toBe(303)
    const back = new URL(paid.headers.get('location') as string).pathname
    expect(back).toMatch(/^\/pagamenti\/\d+$/)
    const paymentId = Number(back.split('/').pop())
    await deliver()
    const status = await client.get(back)
    expect(await status.text()).toContain('Pagamento riuscito')
    expect(
      await statuses(
        a,
        docA.installments.map((i) => i.id),
      ),
    ).toEqual(['pagato', 'da_pagare', 'da_pagare'])
    expect(await statuses(b, [docB.installments[0]?.id as number])).toEqual(['pagato'])

    // the receipt email, with its PDF
    await drainOutbox(db.sql, server.deps.config, 500, me.email)
    const mail = smtp.to(me.email).find((m) => m.subject.startsWith('Ricevuta di pagamento'))
    expect(mail?.attachments[0]?.contentType).toBe('application/pdf')
    expect(mail?.attachments[0]?.content.subarray(0, 5).toString()).toBe('%PDF-')

    // a replayed notification changes nothing
    const [p] = await db.sql<
      { receipt_number: string }[]
    >`select receipt_number from platform.payments where id = ${paymentId}`
    await db.sql`update platform.sandbox_psp_sessions set notify_delivered_at = null, notify_next_at = now(), notify_attempts = 0 where payment_id = ${paymentId}`
    await deliver()
    const [p2] = await db.sql<{ receipt_number: string; n: number }[]>`
      select receipt_number, (select count(*)::int from platform.payment_events where payment_id = ${paymentId} and outcome = 'duplicate') as n
      from platform.payments where id = ${paymentId}`
    expect(p2?.receipt_number).toBe(p?.receipt_number)
    expect(p2?.n).toBeGreaterThanOrEqual(1)
    const settled = await withTenant(
      db.sql,
      a,
      (tx) => tx`select 1 from installment_payments where payment_id = ${paymentId}`,
    )
    expect(settled).toHaveLength(1)

    // archive and receipt PDF; the cart is empty again
    const archive = await (await client.get('/archivio')).text()
    expect(archive).toContain(p?.receipt_number as string)
    const pdf = await client.get(`/pagamenti/${paymentId}/ricevuta.pdf`)
    expect(pdf.headers.get('content-type')).toBe('application/pdf')
    expect(await (await client.get('/carrello')).text()).toContain('Il carrello è vuoto')
  })

  it("another family gets 404 for this family's document, notice, payment and receipt, and cannot cart them", async () => {
    const pa = await givePayer(db, a, me.codiceFiscale)
    const doc = await issue(db, a, pa, [1000])
    const intruder = await signedIn(server.app, other)
    const [pay] = await db.sql<{ id: number }[]>`select id from platform.payments where account_id = ${me.id} limit 1`
    for (const path of [
      `/t/${a.slug}/documenti/${doc.documentId}`,
      `/t/${a.slug}/avvisi/${doc.installments[0]?.id}.pdf`,
      `/pagamenti/${pay?.id}`,
      `/pagamenti/${pay?.id}/ricevuta.pdf`,
      `/t/${a.slug}/documenti/999999`,
      `/t/${a.slug}/documenti/abc`,
    ]) {
      expect((await intruder.get(path)).status, path).toBe(404)
    }
    await intruder.get('/carrello')
    const steal = await intruder.post('/carrello/aggiungi', { ente: a.slug, rate: [String(doc.installments[0]?.id)] })
    expect(steal.status).toBe(404)
    const [n] = await db.sql<
      { n: number }[]
    >`select count(*)::int as n from platform.cart_items where account_id = ${other.id}`
    expect(n?.n).toBe(0)
  })

  it('a refused card, a cancel and an expiry release the installments; nothing is paid', async () => {
    const pa = await givePayer(db, a, me.codiceFiscale)
    const doc = await issue(db, a, pa, [2500])
    const id = doc.installments[0]?.id as number
    await client.get(`/t/${a.slug}/documenti/${doc.documentId}`)
    await client.post('/carrello/aggiungi', { ente: a.slug, rate: [String(id)] })

    // refused
    let { res } = await checkout(client)
    const refused = await payAtSandbox(client, res.headers.get('location') as string, '4000 0000 0000 0002')
    expect([200, 303, 402]).toContain(refused.status)
    await deliver()
    expect(await statuses(a, [id])).toEqual(['da_pagare'])

    // cancelled
    ;({ res } = await checkout(client))
    const cancelled = await cancelAtSandbox(client, res.headers.get('location') as string)
    expect(cancelled.status).toBe(303)
    await deliver()
    expect(await statuses(a, [id])).toEqual(['da_pagare'])
    const page = await client.get(new URL(cancelled.headers.get('location') as string).pathname)
    expect(await page.text()).toContain('Pagamento annullato')

    // abandoned at the provider: expires, installment released
    ;({ res } = await checkout(client))
    const paymentPath = (res.headers.get('location') as string).split('/').pop() as string
    const [pending] = await db.sql<{ id: number }[]>`
      select id from platform.payments where provider_ref = ${paymentPath}`
    expect(await statuses(a, [id])).toEqual(['in_corso'])
    await db.sql`update platform.sandbox_psp_sessions set expires_at = now() - interval '1 minute', created_at = now() - interval '10 minutes' where id = ${paymentPath}`
    await db.sql`update platform.payments set expires_at = now() - interval '5 minutes', updated_at = now() - interval '5 minutes' where id = ${pending?.id as number}`
    await reconcilePayments(db, server.deps.provider)
    const [after] = await db.sql<
      { status: string }[]
    >`select status from platform.payments where id = ${pending?.id as number}`
    expect(after?.status).toBe('expired')
    expect(await statuses(a, [id])).toEqual(['da_pagare'])
    const none = await withTenant(
      db.sql,
      a,
      (tx) => tx`select 1 from installment_payments where installment_id = ${id}`,
    )
    expect(none).toHaveLength(0)
  })

  it('a payment service that does not answer gets a calm 503; nothing is reserved, and a later try pays once', async () => {
    const pa = await givePayer(db, a, me.codiceFiscale)
    const doc = await issue(db, a, pa, [1800])
    const id = doc.installments[0]?.id as number
    await client.get(`/t/${a.slug}/documenti/${doc.documentId}`)
    await client.post('/carrello/aggiungi', { ente: a.slug, rate: [String(id)] })
    const base = server.deps.config.baseUrl
    // the provider's API is reached at baseUrl: a closed port stands for a provider that is down
    server.deps.config.baseUrl = 'http://127.0.0.1:9'
    let down: Awaited<ReturnType<typeof checkout>>
    try {
      down = await checkout(client)
    } finally {
      server.deps.config.baseUrl = base
    }
    expect(down.res.status).toBe(503)
    expect(down.res.headers.get('retry-after')).toBe('30')
    const body = await down.res.text()
    expect(body).toContain('Il servizio di pagamento non risponde')
    expect(body).not.toMatch(/at .*\.ts:\d+|ProviderError|127\.0\.0\.1:9/)
    expect(await statuses(a, [id])).toEqual(['da_pagare'])
    const [failed] = await db.sql<{ status: string }[]>`
      select status from platform.payments where idempotency_key = ${down.key}`
    expect(failed?.status).toBe('failed')

    const { res } = await checkout(client)
    expect(res.status).toBe(303)
    const paid = await payAtSandbox(client, res.headers.get('location') as string, '4242 4242 4242 4242')
    expect([200, 303]).toContain(paid.status)
    await deliver()
    expect(await statuses(a, [id])).toEqual(['pagato'])
    const rows = await withTenant(
      db.sql,
      a,
      (tx) => tx`select 1 from installment_payments where installment_id = ${id}`,
    )
    expect(rows).toHaveLength(1)
  })

  it('a double submit of the check page makes one payment', async () => {
    const pa = await givePayer(db, a, me.codiceFiscale)
    const doc = await issue(db, a, pa, [3000])
    await client.get(`/t/${a.slug}/documenti/${doc.documentId}`)
    await client.post('/carrello/aggiungi', { ente: a.slug, rate: doc.installments.map((i) => String(i.id)) })
    const summary = await (await client.get('/carrello/riepilogo')).text()
    const key = /name="chiave" value="([^"]+)"/.exec(summary)?.[1] as string
    const csrf = client.csrf(summary)
    const [r1, r2] = await Promise.all([
      client.post('/carrello/paga', { chiave: key }, csrf),
      client.post('/carrello/paga', { chiave: key }, csrf),
    ])
    expect([r1.status, r2.status]).toEqual([303, 303])
    const [n] = await db.sql<
      { n: number }[]
    >`select count(*)::int as n from platform.payments where idempotency_key = ${key}`
    expect(n?.n).toBe(1)
  })

  it('an unconfirmed account sees the check page but cannot pay', async () => {
    const unconfirmed = await createAccount(db, { confirmed: false })
    const c = await signedIn(server.app, unconfirmed)
    const pa = await givePayer(db, a, unconfirmed.codiceFiscale)
    const doc = await issue(db, a, pa, [1200])
    await c.get(`/t/${a.slug}/documenti/${doc.documentId}`)
    await c.post('/carrello/aggiungi', { ente: a.slug, rate: [String(doc.installments[0]?.id)] })
    const summary = await (await c.get('/carrello/riepilogo')).text()
    expect(summary).toContain('confermare il tuo indirizzo email')
    expect(summary).not.toContain('name="chiave"')
    expect((await c.post('/carrello/paga', { chiave: 'x'.repeat(43) })).status).toBe(403)
    await deleteAccounts(db, [unconfirmed])
  })
})

describe('commission rules of a service', () => {
  it("a service's own rule from the tenant file applies at checkout", async () => {
    const t = await createTestTenant(db, {
      services: [
        {
          code: 'mensa',
          kind: 'mensa',
          name: 'Mensa',
          causale: 'Mensa',
          spontaneous: false,
          amountMode: 'importo',
          commission: { type: 'fixed', cents: 150 },
        },
      ],
    })
    try {
      const [svc] = await withTenant(db.sql, t, (tx) => tx<{ commission: unknown }[]>`select commission from services`)
      expect(svc?.commission).toEqual({ type: 'fixed', cents: 150 })
      const payer = await givePayer(db, t, me.codiceFiscale)
      const doc = await issue(db, t, payer, [1000])
      await client.get(`/t/${t.slug}/documenti/${doc.documentId}`)
      await client.post('/carrello/aggiungi', { ente: t.slug, rate: [String(doc.installments[0]?.id)] })
      const summary = await (await client.get('/carrello/riepilogo')).text()
      expect(summary).toContain('1,50\u00a0€')
      await db.sql`delete from platform.cart_items where account_id = ${me.id}`
    } finally {
      await dropTestTenant(db, t)
    }
  })
})
