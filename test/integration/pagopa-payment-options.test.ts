// The payment options pagoPA asks the creditor for (orgs_payment_options) and the single-payment notice of a document
// in installments (decision 0103): every answer checked against the published interface; the same options whichever
// notice of the document is asked; amounts and due dates as paVerifyPaymentNotice and paGetPayment answer them and
// as the printed notice shows them; the whole paid at once settles every installment; an installment paid first
// takes the single payment away; a flow line of the single payment is reconciled against all the installments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadDocumentNotices } from '../../src/features/debts/queries.ts'
import { api } from '../../src/features/pagopa/platform-sim/openapi.ts'
import { payNotice } from '../../src/features/pagopa/simulator.ts'
import { importFlow } from '../../src/features/reconciliation/service.ts'
import { romeInstant } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { settings } from '../helpers/db.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { type App, world } from '../helpers/world.ts'

const KEY = 'chiave-di-prova-del-nodo-opzioni-0123'
beforeAll(() => {
  process.env.PAGOPA_NODE_KEY = KEY
})
afterAll(() => {
  delete process.env.PAGOPA_NODE_KEY
})
const w = world({ tenant: { settings: settings({ iban: 'IT60X0542811101000000123456' }) } })
let db: Db
let x: Tenant
let app: App
let payerId: number
let cf: string

beforeAll(async () => {
  ;({ db, tenant: x, app } = w)
  cf = (await w.account()).codiceFiscale
  payerId = await givePayer(db, x, cf, ['Olivia', 'Opzioni'])
})

const options = (nav: string, key = KEY, org = x.fiscalCode) =>
  app.request(`/pagopa/payment-options/organizations/${org}/notices/${nav}`, {
    method: 'POST',
    headers: { 'Ocp-Apim-Subscription-Key': key },
  })

async function checked(res: Response, status: number) {
  expect(res.status).toBe(status)
  const body = (await res.json()) as Record<string, unknown>
  const spec = await api('orgs_payment_options')
  expect(spec.checkResponse('getPaymentOptionsByNoticeNumber', status, body)).toEqual([])
  return body
}

async function fullNotice(documentId: number) {
  const [f] = await withTenant(
    db.sql,
    x,
    (tx) =>
      tx<
        { iuv: string; notice_code: string }[]
      >`select iuv, notice_code from full_notices where document_id = ${documentId}`,
  )
  return f as { iuv: string; notice_code: string }
}

const node = (noticeNumber: string, more: Partial<Parameters<typeof payNotice>[0]> = {}) =>
  payNotice({
    url: '/pagopa/nodo',
    key: KEY,
    noticeNumber,
    fiscalCode: x.fiscalCode,
    version: 2,
    fetch: async (u, i) => app.request(u, i),
    ...more,
  })

const cents = (amount: string | undefined) => Math.round(Number(amount) * 100)
const child = (
  n: { children: { local: string; text: string; children: unknown[] }[] } | null | undefined,
  ...path: string[]
) => {
  let cur: unknown = n
  for (const p of path)
    cur = (cur as { children: { local: string }[] } | undefined)?.children.find((c) => c.local === p)
  return (cur as { text?: string } | undefined)?.text?.trim()
}

describe('the payment options endpoint', () => {
  it("is refused without the key, and answers the interface's errors for bad, unknown and foreign notices", async () => {
    const doc = await issue(db, x, payerId, [1000])
    const nav = doc.installments[0]?.noticeCode as string
    expect((await options(nav, 'chiave-sbagliata')).status).toBe(401)
    expect(((await checked(await options('12345'), 400)) as { appErrorCode: string }).appErrorCode).toBe('ODP-101')
    expect(
      ((await checked(await options(nav, KEY, '99999999999'), 400)) as { appErrorCode: string }).appErrorCode,
    ).toBe('ODP-104')
    expect(((await checked(await options('301999999999999999'), 404)) as { appErrorCode: string }).appErrorCode).toBe(
      'ODP-107',
    )
    // a single notice: one way to pay, and no single-payment notice of its own
    const body = await checked(await options(nav), 200)
    expect((body.paymentOptions as unknown[]).length).toBe(1)
    expect(await fullNotice(doc.documentId)).toBeUndefined()
  })

  it('offers the whole amount and the installments, the same for every notice of the document, as verify, get payment and the printed notice say', async () => {
    const doc = await issue(db, x, payerId, [3000, 2000, 2500])
    const full = await fullNotice(doc.documentId)
    expect(full.notice_code).toMatch(/^3[0-9]{17}$/)
    const body = await checked(await options(full.notice_code), 200)
    for (const i of doc.installments) expect(await checked(await options(i.noticeCode), 200)).toEqual(body)
    const [whole, plan] = body.paymentOptions as {
      amount: number
      numberOfInstallments: number
      status: string
      installments: { nav: string; amount: number; dueDate: string; status: string }[]
    }[]
    expect(whole).toMatchObject({ amount: 7500, numberOfInstallments: 1, status: 'PO_UNPAID' })
    expect(whole?.installments[0]).toMatchObject({ nav: full.notice_code, amount: 7500, status: 'POI_UNPAID' })
    expect(plan).toMatchObject({ amount: 7500, numberOfInstallments: 3, status: 'PO_UNPAID' })
    expect(plan?.installments.map((i) => [i.nav, i.amount])).toEqual(
      doc.installments.map((i, k) => [i.noticeCode, [3000, 2000, 2500][k]]),
    )
    // the printed notices: the whole first, then each installment, the same codes and amounts
    const printed = await withTenant(db.sql, x, (tx) => loadDocumentNotices(tx, cf, doc.documentId))
    const offered = [...(whole?.installments ?? []), ...(plan?.installments ?? [])]
    expect(printed.map((p) => [p.notice_code, p.amount_cents])).toEqual(offered.map((o) => [o.nav, o.amount]))
    for (const [k, o] of offered.entries()) {
      // what the node reads for the same notice
      const r = await node(o.nav, { dryRun: true })
      const verify = r.steps[0]?.answer
      expect(child(verify as never, 'outcome')).toBe('OK')
      expect(cents(child(verify as never, 'paymentList', 'paymentOptionDescription', 'amount'))).toBe(o.amount)
      const due = child(verify as never, 'paymentList', 'paymentOptionDescription', 'dueDate') as string
      expect(romeInstant(`${due}T23:59:59`).toISOString()).toBe(o.dueDate)
      expect(printed[k]?.due_date).toBe(due)
      const data = r.steps[1]?.answer?.children.find((c) => c.local === 'data')
      expect(cents(child(data as never, 'paymentAmount'))).toBe(o.amount)
      expect(child(data as never, 'creditorReferenceId')).toBe(o.nav.slice(1))
    }
  })

  it('the whole paid at once settles every installment, once', async () => {
    const doc = await issue(db, x, payerId, [1500, 1500])
    const full = await fullNotice(doc.documentId)
    const r = await node(full.notice_code)
    expect(r.paid).toBe(true)
    const rows = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ status: string; paid: number; receipt: string }[]>`
        select i.status, ip.amount_cents as paid, ip.receipt_number as receipt
        from installments i join installment_payments ip on ip.installment_id = i.id
        where i.document_id = ${doc.documentId} order by i.seq`,
    )
    expect(rows).toEqual([
      { status: 'pagato', paid: 1500, receipt: r.receiptId },
      { status: 'pagato', paid: 1500, receipt: r.receiptId },
    ])
    // every notice of it is now paid
    expect(((await checked(await options(full.notice_code), 409)) as { appErrorCode: string }).appErrorCode).toBe(
      'ODP-108',
    )
    const again = await node(doc.installments[0]?.noticeCode as string, { dryRun: true })
    expect(again.steps[0]?.faultCode).toBe('PAA_PAGAMENTO_DUPLICATO')
    // its flow line confirms the receipt; nothing is settled twice
    const out = await importFlow(
      db.sql,
      x,
      flow(`SINGOLO-${doc.documentId}`, [{ iuv: full.iuv, iur: r.receiptId as string, cents: 3000 }]),
      {
        source: 'upload',
        fileName: null,
        actor: { accountId: null, name: 'test' },
        sha: `sha-${doc.documentId}`,
      },
    )
    expect(out).toMatchObject({ status: 'imported', confirmed: 1, matched: 0, discrepancies: 0 })
  })

  it('an installment paid first takes the single payment away', async () => {
    const doc = await issue(db, x, payerId, [1200, 1300])
    const full = await fullNotice(doc.documentId)
    expect((await node(doc.installments[0]?.noticeCode as string)).paid).toBe(true)
    const body = await checked(await options(full.notice_code), 200)
    const [whole, plan] = body.paymentOptions as { status: string; installments: { status: string }[] }[]
    expect(whole?.status).toBe('PO_INVALID')
    expect(plan?.status).toBe('PO_PARTIALLY_PAID')
    expect(plan?.installments.map((i) => i.status)).toEqual(['POI_PAID', 'POI_UNPAID'])
    const r = await node(full.notice_code, { dryRun: true })
    expect(r.steps[0]?.faultCode).toBe('PAA_PAGAMENTO_DUPLICATO')
    const printed = await withTenant(db.sql, x, (tx) => loadDocumentNotices(tx, cf, doc.documentId))
    expect(printed.map((p) => p.notice_code)).toEqual([doc.installments[1]?.noticeCode])
  })

  it('a flow line of an unpaid single-payment notice settles all the installments; a cancelled document is refused', async () => {
    const doc = await issue(db, x, payerId, [700, 800])
    const full = await fullNotice(doc.documentId)
    const out = await importFlow(
      db.sql,
      x,
      flow(`RIGA-${doc.documentId}`, [{ iuv: full.iuv, iur: 'IUR-INTERO-1', cents: 1500 }]),
      {
        source: 'upload',
        fileName: null,
        actor: { accountId: null, name: 'test' },
        sha: `sha-riga-${doc.documentId}`,
      },
    )
    expect(out).toMatchObject({ matched: 1, discrepancies: 0 })
    const paid = await withTenant(
      db.sql,
      x,
      (tx) =>
        tx<{ status: string }[]>`select status from installments where document_id = ${doc.documentId} order by seq`,
    )
    expect(paid.map((p) => p.status)).toEqual(['pagato', 'pagato'])
    const other = await issue(db, x, payerId, [900, 900])
    await withTenant(
      db.sql,
      x,
      (tx) => tx`update documents set cancelled_at = now(), cancel_reason = 'prova' where id = ${other.documentId}`,
    )
    const cancelled = await checked(await options(other.installments[0]?.noticeCode as string), 422)
    expect((cancelled as { appErrorCode: string }).appErrorCode).toBe('ODP-111')
  })
})

function flow(flowId: string, lines: { iuv: string; iur: string; cents: number }[]) {
  return {
    kind: 'fdr' as const,
    flowId,
    flowAt: new Date(),
    settlementRef: null,
    settlementDate: null,
    sender: 'Banca di prova',
    receiver: x.fiscalCode,
    declaredCount: lines.length,
    declaredCents: lines.reduce((s, l) => s + l.cents, 0),
    lines: lines.map((l) => ({
      key: `${l.iuv}|${l.iur}|1`,
      iuv: l.iuv,
      reference: l.iur,
      amountCents: l.cents,
      paidOn: null,
      outcomeCode: '0',
      payerName: null,
      remittance: null,
    })),
    skipped: 0,
  }
}
