// The wallet: its figures against the ledger (property test), pre-loading meals through the normal checkout
// and the sandbox provider (credited once), canteen notices credited as "paid by notice", abandoned pre-loads
// withdrawn, and the low-balance email once per threshold crossing.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lowBalanceJob } from '../../src/features/canteen/jobs.ts'
import { walletRows } from '../../src/features/canteen/queries.ts'
import { type LedgerLine, ledgerFigures } from '../../src/features/canteen/rules.ts'
import { creditWallets, withdrawAbandonedTopups } from '../../src/features/canteen/service.ts'
import { settleInstallments } from '../../src/features/payments/settle.ts'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createAccount, deleteAccounts, signedIn, type TestAccount } from '../helpers/accounts.ts'
import {
  addPupil,
  type CanteenSetup,
  canteenTenant,
  enroll,
  jobContext,
  ledger,
  rome,
  setupCanteen,
  setupCurrentYear,
} from '../helpers/canteen.ts'
import type { Client } from '../helpers/client.ts'
import { dropTestTenant } from '../helpers/db.ts'
import { issue, payAtSandbox } from '../helpers/payments.ts'
import { type World, world } from '../helpers/world.ts'

const w = world({ canteen: true, serve: true })
let db: Db
let t: Tenant
let s: CanteenSetup & { start: string }
let server: World['server']
let me: TestAccount
let client: Client
let pupilId: number
let payerId: number
const tenants: Tenant[] = []

beforeAll(async () => {
  ;({ db, server, tenant: t } = w)
  s = await setupCurrentYear(db, t)
  me = await w.account({ givenName: 'Alberto', familyName: 'Molteni' })
  ;({ pupilId, payerId } = await addPupil(db, t, { payerCf: me.codiceFiscale, given: 'Emma', family: 'Molteni' }))
  await enroll(db, t, pupilId, { classId: s.classId, tariffId: s.residente, start: s.start })
  client = await w.client(me)
})

afterAll(async () => {
  for (const x of tenants) await dropTestTenant(db, x)
})

/** Waits until the installment's settlement is recorded (by the status page or the provider's notification). */
async function settled(installmentId: number) {
  for (let i = 0; i < 100; i++) {
    const [row] = await withTenant(
      db.sql,
      t,
      (tx) => tx<{ status: string }[]>`select status from installments where id = ${installmentId}`,
    )
    if (row?.status === 'pagato') return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('installment not settled')
}

describe('the figures of the wallet', () => {
  it('the SQL figures equal the reference arithmetic for random ledgers and periods (property)', async () => {
    const kinds = ['pasto', 'rettifica_pasto', 'ricarica', 'avviso', 'rettifica', 'saldo_iniziale'] as const
    const day = (n: number) => addDays('2026-08-01', n)
    const line = fc.record({
      kind: fc.constantFrom(...kinds),
      entryDate: fc.integer({ min: 0, max: 364 }).map(day),
      amountCents: fc.integer({ min: -50_000, max: 50_000 }).filter((x) => x !== 0),
      meals: fc.integer({ min: -1, max: 1 }),
      grossCents: fc.integer({ min: 0, max: 1000 }),
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 0, max: 364 }),
        fc.integer({ min: 0, max: 364 }),
        async (lines: LedgerLine[], a, b) => {
          const [from, to] = [day(Math.min(a, b)), day(Math.max(a, b))]
          const { pupilId: id } = await addPupil(db, t)
          const got = await withTenant(db.sql, t, async (tx) => {
            await tx`insert into canteen_ledger ${tx(
              lines.map((l, i) => ({
                pupil_id: id,
                kind: l.kind,
                entry_date: l.entryDate,
                amount_cents: l.amountCents,
                meals: l.meals,
                gross_cents: l.grossCents,
                entry_key: `prop:${id}:${i}`,
              })),
            )}`
            return (await walletRows(tx, [id], from, to))[0]
          })
          const want = ledgerFigures(lines, from, to)
          expect(got).toMatchObject({ ...want, pupilId: id, openNoticesCents: 0, pendingTopupCents: 0 })
        },
      ),
      { numRuns: 25 },
    )
  })
})

describe('pre-loading meals', () => {
  let paymentPath = ''

  it('refuses a wrong number of meals, keeping what was typed', async () => {
    const form = await client.get(`/t/${t.slug}/mensa/ricarica`)
    expect(form.status).toBe(200)
    const html = await form.text()
    expect(html).toContain('RESIDENTE')
    expect(html).toContain('5,80\u00a0€')
    for (const [pasti, message] of [
      ['', 'Inserisci il numero di pasti'],
      ['dieci', 'numero intero'],
      ['0', 'tra 1 e 200'],
      ['201', 'tra 1 e 200'],
    ]) {
      const res = await client.post(`/t/${t.slug}/mensa/ricarica`, { alunno: String(pupilId), pasti: pasti as string })
      expect(res.status).toBe(422)
      const body = await res.text()
      expect(body).toContain('href="#pasti"')
      expect(body).toContain(message)
      expect(body).toContain(`value="${pasti}"`)
    }
    // another family's pupil is not a choice
    const other = await addPupil(db, t)
    await enroll(db, t, other.pupilId, { classId: null, tariffId: s.residente, start: s.start })
    const res = await client.post(`/t/${t.slug}/mensa/ricarica`, { alunno: String(other.pupilId), pasti: '10' })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('href="#alunno"')
  })

  it('10 meals at RESIDENTE € 5,80 = € 58,00, paid through the checkout and credited once', async () => {
    const res = await client.post(`/t/${t.slug}/mensa/ricarica`, { alunno: String(pupilId), pasti: '10' })
    expect(res.status).toBe(303)
    const check = await client.get(res.headers.get('location') as string)
    const html = await check.text()
    expect(html).toContain('Controlla la ricarica')
    expect(html).toContain('58,00\u00a0€')
    expect(html).toContain('10 × 5,80\u00a0€')
    const key = /name="chiave" value="([^"]+)"/.exec(html)?.[1] as string
    const form = { alunno: String(pupilId), pasti: '10', chiave: key }
    const pay = await client.post(`/t/${t.slug}/mensa/ricarica/paga`, form)
    expect(pay.status).toBe(303)
    const redirect = pay.headers.get('location') as string
    expect(redirect).toMatch(/\/sandbox-psp\/paga\//)
    // a double submit of the same page finds the same payment and issues no second document
    const again = await client.post(`/t/${t.slug}/mensa/ricarica/paga`, form)
    expect(again.headers.get('location')).toMatch(/^\/pagamenti\/\d+$/)
    const topups = await withTenant(
      db.sql,
      t,
      (tx) => tx<{ installment_id: number; meals: number; unit_price_cents: number }[]>`
        select installment_id, meals, unit_price_cents from canteen_topups where pupil_id = ${pupilId}`,
    )
    expect(topups).toHaveLength(1)
    expect(topups[0]).toMatchObject({ meals: 10, unit_price_cents: 580 })
    // nothing credited while the payment is in progress
    expect(await ledger(db, t, pupilId)).toEqual([])
    const paid = await payAtSandbox(client, redirect)
    paymentPath = new URL(paid.headers.get('location') as string).pathname
    const status = await client.get(paymentPath)
    expect(await status.text()).toContain('Pagamento riuscito')
    // the provider's notification may be applying the payment in the tenant at this very moment
    await settled(topups[0]?.installment_id as number)
    expect(await ledger(db, t, pupilId)).toEqual([
      { kind: 'ricarica', entry_date: todayRome(), amount_cents: 5800, meals: 0, gross_cents: null },
    ])
    // the settlement replayed (a late notification, the reconciliation job) credits nothing twice
    await withTenant(db.sql, t, async (tx) => {
      await settleInstallments(tx, [
        {
          installmentId: topups[0]?.installment_id as number,
          paymentId: null,
          source: 'riconciliazione',
          receiptNumber: 'X',
          amountCents: 5800,
          paidAt: new Date(),
        },
      ])
      await creditWallets(tx, [topups[0]?.installment_id as number])
    })
    expect((await ledger(db, t, pupilId)).length).toBe(1)
  })

  it('the wallet shows the new balance and the meals it pays for', async () => {
    const res = await client.get(`/t/${t.slug}/mensa`)
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('Portafoglio aggiornato al')
    expect(html).toContain('Ricariche pagate online')
    expect(html).toContain('58,00\u00a0€')
    expect(html).toContain('10 al prezzo attuale di 5,80\u00a0€')
    expect(html).toContain('Primaria DANTE ALIGHIERI 3 B (tempo pieno)')
  })

  it('shows a chosen period of a school year; a wrong date is an error, the year as a whole is shown', async () => {
    const year = s.start.slice(0, 4)
    const next = String(Number(year) + 1)
    const q = `anno=${year}-${next}&dal-day=1&dal-month=8&dal-year=${year}&al-day=2&al-month=8&al-year=${year}`
    const html = await (await client.get(`/t/${t.slug}/mensa?${q}`)).text()
    expect(html).toContain(`dal 01/08/${year} al 02/08/${year}`)
    // the top-up of today is after the period: the period's balance is nothing, today's balance is all
    expect(html).toContain(`Saldo al 02/08/${year}</th><td class="num">0,00\u00a0€`)
    const bad = await client.get(`/t/${t.slug}/mensa?anno=${year}-${next}&dal-day=40&dal-month=8&dal-year=${year}`)
    expect(bad.status).toBe(422)
    const badHtml = await bad.text()
    expect(badHtml).toContain('href="#dal-day"')
    expect(badHtml).toContain('value="40"')
    // a citizen without canteen pupils is told so
    const other = await createAccount(db)
    const c = await signedIn(server.app, other)
    const none = await c.get('/mensa')
    expect(await none.text()).toContain('Non risultano figli iscritti alla mensa')
    await deleteAccounts(db, [other])
  })
})

describe('canteen notices paid', () => {
  it('are credited to the pupil as "paid by notice"; a notice without a pupil to the payer\'s enrolled pupil', async () => {
    const withPupil = await withTenant(db.sql, t, async (tx) => {
      const { issueDocuments } = await import('../../src/features/debts/issue.ts')
      const [svc] = await tx<{ id: number }[]>`select id from services where code = 'mensa'`
      return issueDocuments(tx, t, [
        {
          year: 2026,
          issueDate: todayRome(),
          serviceId: (svc as { id: number }).id,
          payerId,
          pupilId,
          description: 'Mensa ottobre',
          installments: [{ dueDate: todayRome(), amountCents: 3480 }],
        },
      ])
    })
    const noPupil = await issue(db, t, payerId, [1160], { description: 'Mensa arretrati' })
    const transport = await issue(db, t, payerId, [5000], { service: 'trasporto' })
    const ids = [
      withPupil.installments[0]?.id as number,
      noPupil.installments[0]?.id as number,
      transport.installments[0]?.id as number,
    ]
    await withTenant(db.sql, t, (tx) =>
      settleInstallments(
        tx,
        ids.map((id, i) => ({
          installmentId: id,
          paymentId: null,
          source: 'riconciliazione' as const,
          receiptNumber: `RIC-${i}`,
          amountCents: [3480, 1160, 5000][i] as number,
          paidAt: new Date(),
        })),
      ),
    )
    const notices = (await ledger(db, t, pupilId)).filter((l) => l.kind === 'avviso')
    expect(notices.map((l) => l.amount_cents).sort()).toEqual([1160, 3480])
    const html = await (await client.get(`/t/${t.slug}/mensa`)).text()
    expect(html).toContain('Pagato con avviso pagoPA')
    expect(html).toContain('46,40\u00a0€')
  })
})

describe('abandoned pre-loads', () => {
  it('are withdrawn after a day: the document cancelled, out of the cart', async () => {
    const res = await client.post(`/t/${t.slug}/mensa/ricarica`, { alunno: String(pupilId), pasti: '3' })
    const html = await (await client.get(res.headers.get('location') as string)).text()
    const key = /name="chiave" value="([^"]+)"/.exec(html)?.[1] as string
    // the provider's page is never completed: the payment is given up and the notice waits in the cart
    const pay = await client.post(`/t/${t.slug}/mensa/ricarica/paga`, {
      alunno: String(pupilId),
      pasti: '3',
      chiave: key,
    })
    expect(pay.status).toBe(303)
    const [topup] = await withTenant(
      db.sql,
      t,
      (tx) => tx<{ installment_id: number }[]>`
        select installment_id from canteen_topups where idempotency_key = ${key}`,
    )
    const inst = (topup as { installment_id: number }).installment_id
    await db.sql`update platform.payments set status = 'cancelled' where account_id = ${me.id} and idempotency_key = ${key}`
    await withTenant(
      db.sql,
      t,
      (tx) => tx`update installments set status = 'da_pagare', pending_payment_id = null where id = ${inst}`,
    )
    expect(await withTenant(db.sql, t, (tx) => withdrawAbandonedTopups(tx, new Date()))).toEqual([])
    const later = new Date(Date.now() + 25 * 3_600_000)
    expect(await withTenant(db.sql, t, (tx) => withdrawAbandonedTopups(tx, later))).toEqual([inst])
    const [doc] = await withTenant(
      db.sql,
      t,
      (tx) => tx<{ status: string; cancelled: boolean }[]>`
        select i.status, d.cancelled_at is not null as cancelled from installments i join documents d on d.id = i.document_id
        where i.id = ${inst}`,
    )
    expect(doc).toEqual({ status: 'annullato', cancelled: true })
  })
})

describe('the low-balance alert', () => {
  it('emails once per crossing of the threshold, with a link to the pre-load page', async () => {
    const u = await canteenTenant(db, { lowBalanceMeals: 3 })
    tenants.push(u)
    const su = await setupCanteen(db, u)
    const email = `low.${Math.random().toString(36).slice(2, 8)}@example.it`
    const kid = await addPupil(db, u, { payerEmail: email, given: 'Luca' })
    await enroll(db, u, kid.pupilId, { classId: su.classId, tariffId: su.residente })
    const ctx = (at: string) => jobContext(db, rome(at), [u], { BASE_URL: 'https://sportello.example' })
    const credit = (cents: number, key: string) =>
      withTenant(
        db.sql,
        u,
        (tx) => tx`insert into canteen_ledger (pupil_id, kind, entry_date, amount_cents, entry_key)
                                       values (${kid.pupilId}, 'ricarica', '2026-11-20', ${cents}, ${key})`,
      )
    const mails = () => db.sql<{ subject: string; text_body: string; dedupe_key: string }[]>`
      select subject, text_body, dedupe_key from platform.outbox where to_address = ${email} order by id`
    await credit(5800, 'k1')
    expect(await lowBalanceJob(ctx('2026-11-23T16:00'))).toMatchObject({ crossed: 0, emails: 0 })
    // 10 meals → 2 left: below 3 meals
    await credit(-4640, 'k2')
    expect(await lowBalanceJob(ctx('2026-11-23T16:00'))).toMatchObject({ crossed: 1, emails: 1 })
    expect(await lowBalanceJob(ctx('2026-11-24T16:00'))).toMatchObject({ crossed: 0, emails: 0 })
    let sent = await mails()
    expect(sent).toHaveLength(1)
    expect(sent[0]?.subject).toBe('Mensa: credito in esaurimento per Luca Bruni')
    expect(sent[0]?.text_body).toContain('11,60\u00a0€')
    expect(sent[0]?.text_body).toContain(`https://sportello.example/t/${u.slug}/mensa/ricarica?alunno=${kid.pupilId}`)
    // topped up above the threshold, then down again: a second crossing, a second email
    await credit(5800, 'k3')
    expect(await lowBalanceJob(ctx('2026-11-25T16:00'))).toMatchObject({ rearmed: 1, emails: 0 })
    await credit(-5800, 'k4')
    // a crash after the decision: the email is not lost, and the next run sends it once
    const crash = ctx('2026-11-26T16:00')
    crash.step = (name) => {
      if (name === 'decided') throw new Error('crash')
    }
    await expect(lowBalanceJob(crash)).rejects.toThrow()
    expect(await mails()).toHaveLength(1)
    expect(await lowBalanceJob(ctx('2026-11-26T16:05'))).toMatchObject({ crossed: 0, emails: 1 })
    expect(await lowBalanceJob(ctx('2026-11-26T16:10'))).toMatchObject({ emails: 0 })
    sent = await mails()
    expect(sent.map((m) => m.dedupe_key)).toEqual([
      `canteen-low:${u.id}:${kid.pupilId}:1`,
      `canteen-low:${u.id}:${kid.pupilId}:2`,
    ])
    await db.sql`delete from platform.outbox where to_address = ${email}`
  })
})
