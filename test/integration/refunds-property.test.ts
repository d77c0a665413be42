// Property: whatever the order of payments recorded by the office, online payments (succeeding, failing, expiring,
// succeeding late), refunds opened, raced, executed and cancelled, and proposals completed, no installment is paid
// twice, no payment is refunded beyond what it brought in, the installment's refunded amount is exactly what was
// executed of its payment, and every online payment that found its installment paid has its proposed refund.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { finish, NotPayable, startCheckout } from '../../src/features/payments/service.ts'
import { todayRome } from '../../src/platform/dates.ts'
import { withTenant } from '../../src/platform/db.ts'
import type { Client } from '../helpers/client.ts'
import { settings } from '../helpers/db.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { receiptRequest } from '../helpers/receipts.ts'
import { world } from '../helpers/world.ts'

const NODE_KEY = 'chiave-del-nodo-per-la-proprieta-dei-rimborsi'
const TENANT_IBAN = 'IT60X0542811101000000123456'
beforeAll(() => {
  process.env.PAGOPA_NODE_KEY = NODE_KEY
})
afterAll(() => {
  delete process.env.PAGOPA_NODE_KEY
})
const w = world({
  tenant: { settings: settings({ iban: TENANT_IBAN }) },
  roles: ['operatore', 'cittadino'],
})
let office: Client
let second: Client
let payer = 0
const [y, m, d] = todayRome().split('-') as [string, string, string]
const DATE = { 'paid-day': d, 'paid-month': m, 'paid-year': y }
const EXEC = { 'executed-day': d, 'executed-month': m, 'executed-year': y }
const IBAN = 'IT42L1234512345123456789012'

const provider = {
  name: 'scripted',
  start: async (req: { paymentId: number }) => ({
    providerRef: `ref-${req.paymentId}`,
    redirectUrl: '/fake',
    expiresAt: new Date(Date.now() + 480_000),
  }),
  status: async () => ({ status: 'pending' as const, amountCents: 0, authCode: null }),
  verifyNotification: () => null,
}

type Cmd =
  | { kind: 'offline'; seq: number }
  | { kind: 'checkout'; seqs: number[] }
  | { kind: 'outcome'; which: number; status: 'succeeded' | 'failed' | 'expired' }
  | { kind: 'refund'; seq: number; percent: number; race: boolean }
  | { kind: 'execute'; which: number }
  | { kind: 'cancel'; which: number }
  | { kind: 'complete'; which: number; percent: number }
  | { kind: 'receipt'; seq: number }

const seq = fc.integer({ min: 1, max: 3 })
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('offline' as const), seq }), weight: 3 },
  {
    arbitrary: fc.record({
      kind: fc.constant('checkout' as const),
      seqs: fc.uniqueArray(seq, { minLength: 1, maxLength: 3 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('outcome' as const),
      which: fc.nat(),
      status: fc.constantFrom('succeeded' as const, 'failed' as const, 'expired' as const),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('refund' as const),
      seq,
      percent: fc.integer({ min: 1, max: 120 }),
      race: fc.boolean(),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant('execute' as const), which: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('receipt' as const), seq }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('cancel' as const), which: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constant('complete' as const),
      which: fc.nat(),
      percent: fc.integer({ min: 1, max: 120 }),
    }),
    weight: 2,
  },
)

const euros = (cents: number) => (cents / 100).toFixed(2).replace('.', ',')

beforeAll(async () => {
  office = await w.client('operatore')
  second = await w.client('operatore')
  payer = await givePayer(w.db, w.tenant, w.accounts.cittadino.codiceFiscale)
  // a page with a form each: the clients post with their session's token
  for (const c of [office, second]) {
    await c.get(`/t/${w.tenant.slug}/ufficio/documenti/nuovo`)
    expect(c.csrf()).not.toBe('')
  }
})

describe('offline payments, online payments and refunds in any order', () => {
  it('never pay an installment twice nor refund more than was paid', async () => {
    // what the runs did, so that the property is known to have met each case
    const seen = new Map<string, number>()
    const saw = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1)
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 4, maxLength: 14 }), async (cmds) => {
        const doc = await issue(w.db, w.tenant, payer, [1000, 2500, 4000])
        const ids = doc.installments.map((i) => i.id)
        const amounts = [1000, 2500, 4000]
        const payments: number[] = []
        const base = `/t/${w.tenant.slug}/ufficio`
        // the refunds in a state the command applies to (most of the time), or any (the others: refused)
        const refundIds = async (states: string[], any: boolean) =>
          (
            await withTenant(
              w.db.sql,
              w.tenant,
              (tx) => tx<{ id: number }[]>`select id from refunds where installment_id = any(${ids})
                and (${any} or status = any(${states}::text[])) order by id`,
            )
          ).map((r) => r.id)
        for (const c of cmds) {
          if (c.kind === 'offline') {
            const res = await office.post(`${base}/documenti/${doc.documentId}/pagamento`, {
              rata: String(c.seq),
              method: 'sportello',
              ...DATE,
              amount: euros(amounts[c.seq - 1] as number),
              reference: `Q-${Math.random().toString(36).slice(2, 8)}`,
            })
            expect([303, 422]).toContain(res.status)
            saw(`offline ${res.status}`)
          } else if (c.kind === 'receipt') {
            // the node's receipt for the notice: settles it, or (paid, in a cart) is kept with a proposed refund
            const inst = doc.installments[c.seq - 1] as { noticeCode: string }
            const res = await w.app.request('/pagopa/nodo', {
              method: 'POST',
              headers: { 'Content-Type': 'text/xml; charset=utf-8', 'Ocp-Apim-Subscription-Key': NODE_KEY },
              body: receiptRequest({
                notice: inst.noticeCode,
                cents: amounts[c.seq - 1] as number,
                cf: w.tenant.fiscalCode,
                iban: TENANT_IBAN,
              }),
            })
            expect(res.status).toBe(200)
            saw('receipt')
          } else if (c.kind === 'checkout') {
            try {
              const r = await startCheckout(w.db, w.deps.config, provider, {
                accountId: w.accounts.cittadino.id,
                email: w.accounts.cittadino.email,
                lang: 'it',
                idempotencyKey: `p-${Math.random().toString(36).slice(2)}${'x'.repeat(30)}`,
                selection: [{ tenant: w.tenant, installmentIds: c.seqs.map((s) => ids[s - 1] as number) }],
              })
              payments.push(r.paymentId)
            } catch (err) {
              if (!(err instanceof NotPayable)) throw err
            }
          } else if (c.kind === 'outcome') {
            if (!payments.length) continue
            const pid = payments[c.which % payments.length] as number
            await finish(w.db, pid, c.status, {
              source: 'test',
              eventId: `e-${Math.random().toString(36).slice(2)}`,
              authCode: 'A',
            })
          } else if (c.kind === 'refund') {
            const form = {
              rata: String(c.seq),
              amount: euros(Math.max(1, Math.round(((amounts[c.seq - 1] as number) * c.percent) / 100))),
              reason: 'Prova',
              iban: IBAN,
              beneficiary: 'Mario Rossi',
            }
            const path = `${base}/documenti/${doc.documentId}/rimborso`
            const answers = await Promise.all(
              c.race ? [office.post(path, form), second.post(path, form)] : [office.post(path, form)],
            )
            for (const a of answers) {
              expect([303, 422]).toContain(a.status)
              saw(`refund ${a.status}`)
            }
          } else {
            const states = { execute: ['aperto'], cancel: ['proposto', 'aperto'], complete: ['proposto'] }[c.kind]
            const all = await refundIds(states, c.which % 4 === 0)
            if (!all.length) continue
            const id = all[c.which % all.length] as number
            const res =
              c.kind === 'execute'
                ? await office.post(`${base}/rimborsi/${id}/esegui`, { bankReference: 'TRN', ...EXEC })
                : c.kind === 'cancel'
                  ? await office.post(`${base}/rimborsi/${id}/annulla`, { cancelReason: 'Prova' })
                  : await office.post(`${base}/rimborsi/${id}/apri`, {
                      amount: euros(Math.max(1, Math.round((4000 * c.percent) / 100))),
                      iban: IBAN,
                      beneficiary: 'Mario Rossi',
                    })
            expect([303, 422]).toContain(res.status)
            saw(`${c.kind} ${res.status}`)
          }
        }
        await check(ids, payments, saw)
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 25) },
    )
    if (process.env.PROPERTY_DEBUG) console.log(Object.fromEntries(seen))
    for (const what of ['offline 303', 'refund 303', 'refund 422', 'receipt'])
      expect(seen.get(what), what).toBeGreaterThan(0)
  }, 300_000)
})

async function check(ids: number[], paymentIds: number[], saw: (what: string) => void) {
  const inst = await withTenant(
    w.db.sql,
    w.tenant,
    (tx) => tx<
      {
        id: number
        status: string
        refunded_cents: number
        settlements: number
        paid_cents: number | null
        payment_id: number | null
        open_cents: number
        executed_cents: number
      }[]
    >`select i.id, i.status, i.refunded_cents,
        (select count(*)::int from installment_payments ip where ip.installment_id = i.id) as settlements,
        (select ip.amount_cents from installment_payments ip where ip.installment_id = i.id) as paid_cents,
        (select ip.payment_id from installment_payments ip where ip.installment_id = i.id) as payment_id,
        (select coalesce(sum(r.amount_cents), 0)::int from refunds r where r.installment_id = i.id
           and r.basis = 'pagamento' and r.status <> 'annullato') as open_cents,
        (select coalesce(sum(r.amount_cents), 0)::int from refunds r where r.installment_id = i.id
           and r.basis = 'pagamento' and r.status = 'eseguito') as executed_cents
      from installments i where i.id = any(${ids})`,
  )
  for (const i of inst) {
    expect(i.settlements).toBeLessThanOrEqual(1)
    expect(i.status === 'pagato').toBe(i.settlements === 1)
    // never more refunded (or being refunded) than the payment brought in
    expect(i.open_cents).toBeLessThanOrEqual(i.paid_cents ?? 0)
    expect(i.refunded_cents).toBe(i.executed_cents)
  }
  const proposals = await withTenant(
    w.db.sql,
    w.tenant,
    (tx) => tx<{ proposal_key: string | null; amount_cents: number; paid_cents: number; basis: string }[]>`
      select proposal_key, amount_cents, paid_cents, basis from refunds where installment_id = any(${ids})`,
  )
  for (const p of proposals) expect(p.amount_cents).toBeLessThanOrEqual(p.paid_cents)
  // every pagoPA receipt kept without settling (paid twice): its proposed refund
  const kept = await withTenant(
    w.db.sql,
    w.tenant,
    (tx) => tx<{ receipt_id: string }[]>`
      select receipt_id from pagopa_receipts where installment_id = any(${ids}) and flag in ('already_paid', 'cancelled')`,
  )
  for (const k of kept) {
    expect(proposals.some((p) => p.proposal_key === `pagopa:${k.receipt_id}`)).toBe(true)
    saw('pagoPA proposal')
  }
  // every online payment that succeeded: each of its installments settled by it, or a refund proposed for it
  const items = await w.db.sql<
    { payment_id: number; installment_id: number; outcome: string | null; status: string }[]
  >`
    select pi.payment_id, pi.installment_id, pi.outcome, p.status from platform.payment_items pi
      join platform.payments p on p.id = pi.payment_id where pi.payment_id = any(${paymentIds})`
  for (const it of items) {
    if (it.status !== 'succeeded') continue
    const mine = inst.find((i) => i.id === it.installment_id)
    if (mine?.payment_id === it.payment_id) continue
    expect(it.outcome).toBe('already_paid')
    saw('proposal')
    expect(proposals.some((p) => p.proposal_key === `checkout:${it.payment_id}:${it.installment_id}`)).toBe(true)
  }
}
