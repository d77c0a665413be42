// A payment the family left open at the provider: the cart and the payment's page say until when its installments
// are held, the family resumes the same session at the provider or cancels it and gets the installments back at
// once, and the reconciliation job gives it up on time. Over real HTTP against the sandbox provider.
import { beforeAll, describe, expect, it } from 'vitest'
import { reconcilePayments } from '../../src/features/payments/maintenance.ts'
import { heldUntil, RELEASE_GRACE_SECONDS } from '../../src/features/payments/service.ts'
import { formatDateTime } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { formatMoney } from '../../src/platform/money.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import type { TestAccount } from '../helpers/accounts.ts'
import type { Client } from '../helpers/client.ts'
import { deliverNotifications, givePayer, issue, payAtSandbox } from '../helpers/payments.ts'
import { textOfPdf } from '../helpers/pdf.ts'
import { world } from '../helpers/world.ts'

const w = world({ serve: true })
let db: Db
let t: Tenant
let me: TestAccount
let client: Client
let payer = 0

beforeAll(async () => {
  ;({ db, tenant: t } = w)
  me = await w.account()
  payer = await givePayer(db, t, me.codiceFiscale)
  client = await w.client(me)
})

async function statuses(ids: number[]) {
  const rows = await withTenant(
    db.sql,
    t,
    (tx) => tx<{ status: string }[]>`select status from installments where id = any(${ids}) order by id`,
  )
  return rows.map((r) => r.status)
}

/** A document of two installments, both in the cart, checked out and left at the provider's page. */
async function leftOpen() {
  const doc = await issue(db, t, payer, [2500, 2600])
  const ids = doc.installments.map((i) => i.id)
  await client.submit(
    `/t/${t.slug}/documenti/${doc.documentId}`,
    { ente: t.slug, rate: ids.map(String) },
    '/carrello/aggiungi',
  )
  const summary = await (await client.get('/carrello/riepilogo')).text()
  const key = /name="chiave" value="([^"]+)"/.exec(summary)?.[1] as string
  const res = await client.post('/carrello/paga', { chiave: key })
  expect(res.status).toBe(303)
  const redirect = res.headers.get('location') as string
  const [p] = await db.sql<{ id: number; expires_at: Date; provider_ref: string }[]>`
    select id, expires_at, provider_ref from platform.payments where account_id = ${me.id} order by id desc limit 1`
  return { ids, redirect, payment: p as { id: number; expires_at: Date; provider_ref: string } }
}

describe('a payment left open', () => {
  it('is shown in the cart with until when it holds the installments, and resumes at the same provider page', async () => {
    const { ids, redirect, payment } = await leftOpen()
    expect(await statuses(ids)).toEqual(['in_corso', 'in_corso'])
    const cart = await (await client.get('/carrello')).text()
    expect(cart).toContain(`Pagamento di ${formatMoney(5100)} non concluso`)
    // the provider's session, the grace for a late answer and the job's minute
    const until = heldUntil(payment.expires_at)
    expect(until.getTime() - payment.expires_at.getTime()).toBe((RELEASE_GRACE_SECONDS + 60) * 1000)
    expect(cart).toContain(`restano riservate fino al ${formatDateTime(until)}`)
    expect(cart).toContain(`href="/pagamenti/${payment.id}/riprendi"`)
    expect(cart).toContain(`action="/pagamenti/${payment.id}/annulla"`)
    expect(cart).toContain('nel pagamento non concluso qui sopra')
    // the payment's own page says the same
    const page = await (await client.get(`/pagamenti/${payment.id}`)).text()
    expect(page).toContain(`fino al ${formatDateTime(until)}`)
    expect(page).toContain('Riprendi il pagamento')

    const resume = await client.get(`/pagamenti/${payment.id}/riprendi`)
    expect(resume.status).toBe(303)
    expect(resume.headers.get('location')).toBe(redirect)
    const paid = await payAtSandbox(client, resume.headers.get('location') as string)
    expect(paid.status).toBe(303)
    await deliverNotifications(db, w.server)
    expect(await statuses(ids)).toEqual(['pagato', 'pagato'])
    // once paid there is nothing to resume: the payment's page
    const again = await client.get(`/pagamenti/${payment.id}/riprendi`)
    expect(again.headers.get('location')).toBe(`/pagamenti/${payment.id}`)
    expect(await (await client.get('/carrello')).text()).not.toContain('non concluso')
  })

  it('cancelled by the family: the installments are payable at once and the provider page takes no card', async () => {
    const { ids, redirect, payment } = await leftOpen()
    await client.get('/carrello')
    const res = await client.post(`/pagamenti/${payment.id}/annulla`, {})
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/carrello?annullato=1')
    expect(await statuses(ids)).toEqual(['da_pagare', 'da_pagare'])
    const [p] = await db.sql<{ status: string }[]>`select status from platform.payments where id = ${payment.id}`
    expect(p?.status).toBe('cancelled')
    const cart = await (await client.get('/carrello?annullato=1')).text()
    expect(cart).toContain('Pagamento annullato: nessun addebito')
    expect(cart).not.toContain('non concluso')
    expect(cart).toContain('href="/carrello/riepilogo"')
    // the provider closed its session: the card page says so and takes nothing
    expect((await w.deps.provider.status(payment.provider_ref)).status).toBe('cancelled')
    const late = await payAtSandbox(client, redirect)
    expect(late.status).not.toBe(303)
    await deliverNotifications(db, w.server)
    expect(await statuses(ids)).toEqual(['da_pagare', 'da_pagare'])
    // cancelling again changes nothing
    await client.get(`/pagamenti/${payment.id}`)
    const twice = await client.post(`/pagamenti/${payment.id}/annulla`, {})
    expect(twice.headers.get('location')).toBe(`/pagamenti/${payment.id}`)
    await client.submit('/carrello', { ente: t.slug, rata: String(ids[0]) }, '/carrello/rimuovi')
    await client.submit('/carrello', { ente: t.slug, rata: String(ids[1]) }, '/carrello/rimuovi')
  })

  it('paid at the provider before the cancel arrived: the payment stands, never cancelled', async () => {
    const { ids, redirect, payment } = await leftOpen()
    // paid, its notification not yet delivered
    expect((await payAtSandbox(client, redirect)).status).toBe(303)
    await client.get('/carrello')
    const res = await client.post(`/pagamenti/${payment.id}/annulla`, {})
    expect(res.headers.get('location')).toBe(`/pagamenti/${payment.id}`)
    expect(await statuses(ids)).toEqual(['pagato', 'pagato'])
    await deliverNotifications(db, w.server)
    const [p] = await db.sql<{ status: string; receipt_number: string | null }[]>`
      select status, receipt_number from platform.payments where id = ${payment.id}`
    expect(p?.status).toBe('succeeded')
    expect(p?.receipt_number).toMatch(/^SP-/)
  })

  it('is given up by the reconciliation job on its first run after the time it was held until', async () => {
    const { ids, payment } = await leftOpen()
    // the provider's session ended RELEASE_GRACE_SECONDS and a second ago; asked about a moment ago
    await db.sql`update platform.payments
      set expires_at = now() - make_interval(secs => ${RELEASE_GRACE_SECONDS + 1}), updated_at = now()
      where id = ${payment.id}`
    await db.sql`update platform.sandbox_psp_sessions set expires_at = now() - interval '1 second'
      where id = ${payment.provider_ref}`
    await reconcilePayments(db, w.deps.provider)
    expect(await statuses(ids)).toEqual(['da_pagare', 'da_pagare'])
    const [p] = await db.sql<{ status: string }[]>`select status from platform.payments where id = ${payment.id}`
    expect(p?.status).toBe('expired')
    for (const id of ids) await client.submit('/carrello', { ente: t.slug, rata: String(id) }, '/carrello/rimuovi')
  })
})

describe('who may resume or cancel', () => {
  it("someone else's payment, an unknown one, a malformed address: 404; a cancel without the form's token: 403", async () => {
    const { ids, payment } = await leftOpen()
    const stranger = await w.client(await w.account())
    await stranger.get('/area-personale')
    expect((await stranger.get(`/pagamenti/${payment.id}/riprendi`)).status).toBe(404)
    expect((await stranger.post(`/pagamenti/${payment.id}/annulla`, {})).status).toBe(404)
    expect((await client.get('/pagamenti/999999999/riprendi')).status).toBe(404)
    expect((await client.get('/pagamenti/abc/riprendi')).status).toBe(404)
    await client.get('/carrello')
    expect((await client.post('/pagamenti/999999999/annulla', {})).status).toBe(404)
    expect((await client.post(`/pagamenti/${payment.id}/annulla`, {}, null)).status).toBe(403)
    const anonymous = await w.client('anonimo')
    const res = await anonymous.get(`/pagamenti/${payment.id}/riprendi`)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toMatch(/^\/accesso/)
    // nothing changed for the owner
    expect(await statuses(ids)).toEqual(['in_corso', 'in_corso'])
  })
})

describe('the archive', () => {
  it('lists what was paid; the attempts apart, each named by its outcome, the channel in a column of its own', async () => {
    const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ')
    const html = await (await client.get('/archivio')).text()
    const paidTable = /<table[\s\S]*?<\/table>/.exec(html)?.[0] as string
    expect(paidTable).toContain('Pagamenti, dal più recente')
    expect(text(paidTable)).toContain('Online su Sportello')
    expect(text(paidTable)).toContain('Pagato')
    // no attempt among the payments: no failed, cancelled, expired or pending row by default
    for (const word of ['Annullato da te', 'Scaduto senza pagare', 'Non riuscito', 'In corso'])
      expect(text(html)).not.toContain(word)
    expect(html.match(/<table/g)).toHaveLength(1)
    const [n] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from platform.payments p join platform.payment_items pi on pi.payment_id = p.id
      where p.account_id = ${me.id} and p.status not in ('succeeded', 'created')`
    expect(html).toContain(`Mostra anche i tentativi non conclusi (${n?.n})`)
    const all = await (await client.get('/archivio?stato=tutti')).text()
    expect(all.match(/<table/g)).toHaveLength(2)
    const attempts = all.slice(all.indexOf('id="tentativi"'))
    for (const word of ['Annullato da te', 'Scaduto senza pagare', 'In corso']) expect(text(attempts)).toContain(word)
    expect(text(attempts)).not.toMatch(/Pagato(?! su)/)
    const only = await (await client.get('/archivio?stato=tentativi')).text()
    expect(only.match(/<table/g)).toHaveLength(1)
    expect(only).toContain('id="tentativi"')
  })
})

describe("the payment's outcome page", () => {
  it('a success: when, how much to each body with the IUVs, the authorisation, the receipt, what happens next', async () => {
    const [p] = await db.sql<{ id: number; receipt_number: string; auth_code: string; total_cents: number }[]>`
      select id, receipt_number, auth_code, total_cents from platform.payments
      where account_id = ${me.id} and status = 'succeeded' order by id limit 1`
    const html = await (await client.get(`/pagamenti/${p?.id}`)).text()
    // spaces and line breaks folded, the no-break space of amounts kept
    const text = html.replace(/<[^>]+>/g, ' ').replace(/[ \t\n]+/g, ' ')
    expect(text).toContain(`Hai pagato ${formatMoney(p?.total_cents as number)} il `)
    expect(text).toMatch(/il \d\d\/\d\d\/\d{4}, \d\d:\d\d/)
    expect(text).toContain(p?.receipt_number)
    expect(text).toContain(`Codice di autorizzazione ${p?.auth_code}`)
    // the card by its brand and last four digits, as the provider reported it
    expect(text).toContain('Carta VISA ****4242')
    expect(text).toContain(`${t.name} (Codice fiscale ${t.fiscalCode})`)
    expect(text).toContain('Codice IUV')
    expect(text).toContain('Totale pagato')
    expect(text).not.toContain('Totale da pagare')
    expect(text).toContain('E adesso')
    expect(html).toContain(`href="/pagamenti/${p?.id}/ricevuta.pdf"`)
    // the receipt: the provider by its name, each installment's place in its document
    const pdf = Buffer.from(await (await client.get(`/pagamenti/${p?.id}/ricevuta.pdf`)).arrayBuffer())
    const receipt = textOfPdf(pdf)
    expect(receipt).toContain('Sandbox PSP – ambiente di prova')
    expect(receipt).toContain('Rata 1 di 2')
    expect(receipt).toContain('Rata 2 di 2')
    expect(receipt).toContain('VISA ****4242')
    const [stored] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from platform.sandbox_psp_sessions where card_mask like '%4242 4242%'`
    expect(stored?.n).toBe(0)
  })

  it('a refusal offers another card', async () => {
    const doc = await issue(db, t, payer, [1900])
    const id = doc.installments[0]?.id as number
    await client.submit(
      `/t/${t.slug}/documenti/${doc.documentId}`,
      { ente: t.slug, rate: String(id) },
      '/carrello/aggiungi',
    )
    const summary = await (await client.get('/carrello/riepilogo')).text()
    const key = /name="chiave" value="([^"]+)"/.exec(summary)?.[1] as string
    const res = await client.post('/carrello/paga', { chiave: key })
    await payAtSandbox(client, res.headers.get('location') as string, '4000 0000 0000 0002')
    await deliverNotifications(db, w.server)
    const [p] = await db.sql<{ id: number }[]>`
      select id from platform.payments where account_id = ${me.id} and status = 'failed' order by id desc limit 1`
    const html = await (await client.get(`/pagamenti/${p?.id}`)).text()
    expect(html).toContain('Pagamento non riuscito')
    expect(html).toMatch(
      /<a class="button" href="\/carrello\/riepilogo">Riprova con un&#39;altra carta<\/a>|<a class="button" href="\/carrello\/riepilogo">Riprova con un'altra carta<\/a>/,
    )
    expect(await statuses([id])).toEqual(['da_pagare'])
  })
})
