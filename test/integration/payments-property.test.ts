// Property: whatever the order of checkouts, provider notifications (replayed, late, out of order),
// status answers and reconciliation runs — including a crash between the platform and tenant steps —
// no installment is ever paid twice, and no money is lost: every successful payment either settled its
// installments or is flagged for a refund.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { reconcilePayments } from '../../src/features/payments/maintenance.ts'
import { applyNotification, NotPayable, startCheckout } from '../../src/features/payments/service.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { PaymentProvider, ProviderStatus } from '../../src/platform/payment-provider.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createAccount, deleteAccounts, type TestAccount } from '../helpers/accounts.ts'
import { createTestTenant, dropTestTenant, openTestDb } from '../helpers/db.ts'
import { givePayer, issue } from '../helpers/payments.ts'

let db: Db
let tenant: Tenant
let account: TestAccount
let payerId: number
const config = loadConfig({ NODE_ENV: 'test' })

/** A provider whose answers the property decides: status() reports what the test set. */
class ScriptedProvider implements PaymentProvider {
  name = 'scripted'
  states = new Map<string, { status: ProviderStatus; amount: number }>()
  n = 0
  async start(req: Parameters<PaymentProvider['start']>[0]) {
    const ref = `ref-${req.paymentId}-${this.n++}`
    this.states.set(ref, { status: 'pending', amount: req.amountCents })
    return { providerRef: ref, redirectUrl: `/fake/${ref}`, expiresAt: new Date(Date.now() + 480_000) }
  }
  async status(ref: string) {
    const s = this.states.get(ref)
    return {
      status: s?.status ?? 'expired',
      amountCents: s?.amount ?? 0,
      authCode: s?.status === 'succeeded' ? 'OK' : null,
    }
  }
  verifyNotification() {
    return null
  }
}

type Cmd =
  | { kind: 'checkout'; pick: number[]; reuseKey: boolean }
  | { kind: 'notify'; which: number; status: Exclude<ProviderStatus, 'pending'>; replay: boolean; wrongAmount: boolean }
  | { kind: 'providerSays'; which: number; status: ProviderStatus }
  | { kind: 'age'; which: number }
  | { kind: 'crashBeforeApply'; which: number }
  | { kind: 'reconcile' }

const checkoutCmd = fc.record({
  kind: fc.constant('checkout' as const),
  pick: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }),
  reuseKey: fc.boolean(),
})
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: checkoutCmd, weight: 3 },
  {
    arbitrary: fc.record({
      kind: fc.constant('notify' as const),
      which: fc.nat(),
      status: fc.constantFrom('succeeded' as const, 'failed' as const, 'cancelled' as const),
      replay: fc.boolean(),
      wrongAmount: fc.boolean().map((b) => b && Math.random() < 0.2),
    }),
    weight: 4,
  },
  fc.record({
    kind: fc.constant('providerSays' as const),
    which: fc.nat(),
    status: fc.constantFrom<ProviderStatus>('pending', 'succeeded', 'failed', 'expired'),
  }),
  fc.record({ kind: fc.constant('age' as const), which: fc.nat() }),
  fc.record({ kind: fc.constant('crashBeforeApply' as const), which: fc.nat() }),
  fc.constant({ kind: 'reconcile' as const }),
)

beforeAll(async () => {
  db = await openTestDb()
  tenant = await createTestTenant(db)
  account = await createAccount(db)
  payerId = await givePayer(db, tenant, account.codiceFiscale)
})

afterAll(async () => {
  await db.sql`delete from platform.payments where account_id = ${account.id}`
  await deleteAccounts(db, [account])
  await dropTestTenant(db, tenant)
  await db.close()
})

describe('payment state machine', () => {
  it('never pays an installment twice and never loses money', async () => {
    await fc.assert(
      fc.asyncProperty(checkoutCmd, fc.array(cmd, { minLength: 3, maxLength: 25 }), async (first, rest) => {
        const cmds: Cmd[] = [first, ...rest]
        const provider = new ScriptedProvider()
        const doc = await issue(db, tenant, payerId, [1000, 2000, 3000, 4000])
        const ids = doc.installments.map((i) => i.id)
        const payments: { id: number; ref: string; key: string; events: string[] }[] = []
        let lastKey = ''
        for (const c of cmds) {
          if (c.kind === 'checkout') {
            const key = c.reuseKey && lastKey ? lastKey : `k-${Math.random().toString(36).slice(2)}${'x'.repeat(30)}`
            lastKey = key
            try {
              const r = await startCheckout(db, config, provider, {
                accountId: account.id,
                email: account.email,
                lang: 'it',
                idempotencyKey: key,
                selection: [{ tenant, installmentIds: c.pick.map((i) => ids[i] as number) }],
              })
              if (!r.reused) {
                const [p] = await db.sql<
                  { provider_ref: string }[]
                >`select provider_ref from platform.payments where id = ${r.paymentId}`
                payments.push({ id: r.paymentId, ref: p?.provider_ref ?? '', key, events: [] })
              }
            } catch (err) {
              if (!(err instanceof NotPayable)) throw err
            }
          } else if (payments.length && c.kind !== 'reconcile') {
            const p = payments[c.which % payments.length] as (typeof payments)[number]
            if (c.kind === 'notify') {
              const eventId =
                c.replay && p.events.length ? (p.events[0] as string) : `ev-${Math.random().toString(36).slice(2)}`
              p.events.push(eventId)
              const [row] = await db.sql<
                { total_cents: number }[]
              >`select total_cents from platform.payments where id = ${p.id}`
              await applyNotification(db, {
                providerRef: p.ref,
                paymentId: p.id,
                status: c.status,
                amountCents: (row?.total_cents ?? 0) + (c.wrongAmount ? 1 : 0),
                authCode: 'A1',
                occurredAt: new Date(),
                eventId,
              })
              if (!c.wrongAmount) provider.states.set(p.ref, { status: c.status, amount: row?.total_cents ?? 0 })
            } else if (c.kind === 'providerSays') {
              const s = provider.states.get(p.ref)
              if (s) s.status = c.status
            } else if (c.kind === 'age') {
              await db.sql`update platform.payments set updated_at = now() - interval '10 minutes',
                             expires_at = now() - interval '10 minutes', created_at = now() - interval '30 minutes' where id = ${p.id}`
            } else if (c.kind === 'crashBeforeApply') {
              // a process that recorded the outcome in the platform and died before the tenant step
              await db.sql`update platform.payment_items set applied_at = null, outcome = null where payment_id = ${p.id}`
            }
          } else if (c.kind === 'reconcile') {
            await reconcilePayments(db, provider, { staleSeconds: 0, graceSeconds: 0 })
          }
        }
        // let the system settle, as the scheduled job would
        await reconcilePayments(db, provider, { staleSeconds: 0, graceSeconds: 0 })
        await check(
          ids,
          payments.map((p) => p.id),
        )
        if (process.env.PROPERTY_DEBUG)
          console.log(
            JSON.stringify(
              await db.sql`select status, needs_refund, count(*)::int from platform.payments where id = any(${payments.map((p) => p.id)}) group by 1, 2`,
            ),
          )
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 40) },
    )
  }, 300_000)
})

async function check(ids: number[], paymentIds: number[]) {
  const inst = await withTenant(
    db.sql,
    tenant,
    (tx) => tx<
      {
        id: number
        status: string
        pending_payment_id: number | null
        settlements: number
        by: number | null
        amount_cents: number
      }[]
    >`select i.id, i.status, i.pending_payment_id, i.amount_cents,
           (select count(*)::int from installment_payments ip where ip.installment_id = i.id) as settlements,
           (select payment_id from installment_payments ip where ip.installment_id = i.id) as by
    from installments i where i.id = any(${ids})`,
  )
  const pays = await db.sql<{ id: number; status: string; needs_refund: boolean; unapplied: number }[]>`
    select p.id, p.status, p.needs_refund,
      (select count(*)::int from platform.payment_items pi where pi.payment_id = p.id and pi.applied_at is null) as unapplied
    from platform.payments p where p.id = any(${paymentIds})`
  const items = await db.sql<{ payment_id: number; installment_id: number; outcome: string | null }[]>`
    select payment_id, installment_id, outcome from platform.payment_items where payment_id = any(${paymentIds})`
  for (const i of inst) {
    // paid exactly when settled, and settled at most once (the unique key also guarantees it)
    expect(i.settlements).toBeLessThanOrEqual(1)
    expect(i.status === 'pagato').toBe(i.settlements === 1)
    if (i.status === 'in_corso') {
      const holder = pays.find((p) => p.id === i.pending_payment_id)
      expect(
        holder && ['created', 'pending'].includes(holder.status),
        `installment ${i.id} in_corso for ${holder?.status}`,
      ).toBe(true)
    }
  }
  for (const p of pays) {
    if (['succeeded', 'failed', 'cancelled', 'expired'].includes(p.status)) expect(p.unapplied).toBe(0)
    if (p.status === 'succeeded') {
      for (const it of items.filter((x) => x.payment_id === p.id)) {
        const i = inst.find((x) => x.id === it.installment_id)
        // the money of a successful payment is either in the installment or flagged for refund
        if (i?.by !== p.id)
          expect(p.needs_refund, `payment ${p.id} lost money on installment ${it.installment_id}`).toBe(true)
      }
    } else {
      // a payment that did not succeed settled nothing
      expect(inst.filter((i) => i.by === p.id)).toEqual([])
    }
  }
}
