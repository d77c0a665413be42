// The payment state machine: created → pending → succeeded | failed | cancelled | expired.
// A payment lives in the platform schema (a cart may span tenants); each tenant schema records which of
// its installments it settled, with a unique key per installment. Every outcome is applied once: a
// replayed, late, out-of-order or forged notification changes nothing and is logged.
import type { Config } from '../../config.ts'
import { type CommissionRule, commissionCents, commissionRuleSchema } from '../../platform/commission.ts'
import {
  type Db,
  inTenantScope,
  type Sql,
  type TenantScope,
  type Tx,
  tenantRoleName,
  withTenant,
} from '../../platform/db.ts'
import type { Lang } from '../../platform/i18n.ts'
import { composeMail, enqueueMail, registerAttachment } from '../../platform/mail.ts'
import { formatMoney } from '../../platform/money.ts'
import type { PaymentProvider, ProviderNotification, ProviderStatus } from '../../platform/payment-provider.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { renderReceiptPdf } from './receipt-pdf.ts'
import { proposeRefunds } from './refunds.ts'
import { settleInstallments } from './settle.ts'

export type PaymentStatus = 'created' | 'pending' | 'succeeded' | 'failed' | 'cancelled' | 'expired'
export const FINAL: PaymentStatus[] = ['succeeded', 'failed', 'cancelled', 'expired']

/** How long after the provider's session expires the reconciliation job gives a pending payment up. */
export const RELEASE_GRACE_SECONDS = 120

/**
 * Until when a pending payment holds its installments: the provider's session, the grace for a late answer, and
 * the reconciliation job's minute (it runs every minute and releases what is past its grace on its first run).
 */
export function heldUntil(expiresAt: Date): Date {
  return new Date(expiresAt.getTime() + (RELEASE_GRACE_SECONDS + 60) * 1000)
}

export interface PayableItem {
  tenant: Tenant
  installmentId: number
  amountCents: number
  description: string
  iuv: string
  commission: CommissionRule
  /** the installment's place in its document and the pupil it is for, for the receipt */
  seq?: number
  seqOf?: number
  pupilName?: string | null
}

export interface CheckoutLine {
  tenant: Tenant
  items: PayableItem[]
  subtotalCents: number
  commissionCents: number
}

/**
 * Commission per tenant: the rule of each service (or the tenant's) applies to that group's subtotal,
 * because the provider charges per creditor transfer, not per notice.
 */
export function priceCheckout(items: PayableItem[]): {
  lines: CheckoutLine[]
  amountCents: number
  commissionCents: number
  totalCents: number
} {
  const byTenant = new Map<number, PayableItem[]>()
  for (const it of items) byTenant.set(it.tenant.id, [...(byTenant.get(it.tenant.id) ?? []), it])
  const lines: CheckoutLine[] = []
  for (const group of byTenant.values()) {
    const byRule = new Map<string, { rule: CommissionRule; sum: number }>()
    for (const it of group) {
      const key = JSON.stringify(it.commission)
      const g = byRule.get(key) ?? { rule: it.commission, sum: 0 }
      g.sum += it.amountCents
      byRule.set(key, g)
    }
    const commission = [...byRule.values()].reduce((s, g) => s + commissionCents(g.rule, g.sum), 0)
    const subtotal = group.reduce((s, it) => s + it.amountCents, 0)
    lines.push({
      tenant: (group[0] as PayableItem).tenant,
      items: group,
      subtotalCents: subtotal,
      commissionCents: commission,
    })
  }
  const amountCents = lines.reduce((s, l) => s + l.subtotalCents, 0)
  const commission = lines.reduce((s, l) => s + l.commissionCents, 0)
  return { lines, amountCents, commissionCents: commission, totalCents: amountCents + commission }
}

interface InstallmentRow {
  id: number
  amount_cents: number
  iuv: string
  status: string
  cancelled: boolean
  description: string
  service_commission: CommissionRule | null
  /** the payment holding it while it is in_corso */
  pending_payment_id: number | null
  seq: number
  seq_of: number
  pupil_name: string | null
  notice_code: string
}

/**
 * Reads the installments of one tenant that a citizen asks to pay, with their current amount and state; the
 * description names the installment ("– rata 2", "– installment 2") in the citizen's language.
 */
export async function loadInstallments(tx: Tx, ids: number[], lang: Lang = 'it'): Promise<InstallmentRow[]> {
  if (ids.length === 0) return []
  const rows = await tx<InstallmentRow[]>`
    select i.id, i.amount_cents, i.iuv, i.notice_code, i.status, i.pending_payment_id, d.cancelled_at is not null as cancelled, i.seq,
      (select count(*)::int from installments x where x.document_id = d.id) as seq_of,
      (select pu.given_name || ' ' || pu.family_name from pupils pu where pu.id = d.pupil_id) as pupil_name,
      d.description || case when count(*) over (partition by d.id) > 1 or d.total_cents <> i.amount_cents
        then ${lang === 'en' ? ' – installment ' : ' – rata '} || i.seq else '' end as description,
      s.commission as service_commission
    from installments i join documents d on d.id = i.document_id join services s on s.id = d.service_id
    where i.id = any(${ids})`
  // a service's own rule, checked: anything unreadable falls back to the tenant's rule
  for (const r of rows) {
    const raw: unknown =
      typeof r.service_commission === 'string' ? JSON.parse(r.service_commission) : r.service_commission
    const parsed = raw ? commissionRuleSchema.safeParse(raw) : null
    r.service_commission = parsed?.success ? parsed.data : null
  }
  return rows
}

export class NotPayable extends Error {
  constructor(readonly installmentIds: number[]) {
    super('some installments are no longer payable')
  }
}

export interface StartedPayment {
  paymentId: number
  redirectUrl: string
  reused: boolean
}

export interface CheckoutRequest {
  accountId: number
  email: string
  lang: Lang
  idempotencyKey: string
  /** installment ids per tenant */
  selection: { tenant: Tenant; installmentIds: number[] }[]
}

/**
 * Starts a payment: records it (one per idempotency key: a double submit finds the first), reserves the
 * installments in each tenant (da_pagare → in_corso, all or none), and hands over to the provider.
 */
export async function startCheckout(
  db: Db,
  config: Config,
  provider: PaymentProvider,
  req: CheckoutRequest,
): Promise<StartedPayment> {
  const [existing] = await db.sql<
    { id: number; status: PaymentStatus; provider_ref: string | null; account_id: number }[]
  >`
    select id, status, provider_ref, account_id from platform.payments where idempotency_key = ${req.idempotencyKey}`
  if (existing) {
    if (existing.account_id !== req.accountId) throw new NotPayable([])
    return { paymentId: existing.id, redirectUrl: `/pagamenti/${existing.id}`, reused: true }
  }

  // price from the tenants' current data, never from the form
  const items: PayableItem[] = []
  const notPayable: number[] = []
  for (const sel of req.selection) {
    // a suspended (or not yet live) tenant takes no payments, whoever the caller
    if (sel.tenant.status !== 'active') {
      notPayable.push(...sel.installmentIds)
      continue
    }
    const rows = await withTenant(db.sql, sel.tenant, (tx) => loadInstallments(tx, sel.installmentIds, req.lang))
    for (const id of sel.installmentIds) {
      const r = rows.find((x) => x.id === id)
      if (r?.status !== 'da_pagare' || r.cancelled) notPayable.push(id)
      else {
        items.push({
          tenant: sel.tenant,
          installmentId: r.id,
          amountCents: r.amount_cents,
          description: r.description,
          iuv: r.iuv,
          commission: r.service_commission ?? sel.tenant.settings.commission,
          seq: r.seq,
          seqOf: r.seq_of,
          pupilName: r.pupil_name,
        })
      }
    }
  }
  if (notPayable.length || items.length === 0) throw new NotPayable(notPayable)
  const price = priceCheckout(items)

  const inserted = await db.sql<{ id: number }[]>`
    insert into platform.payments (account_id, idempotency_key, provider, amount_cents, commission_cents, total_cents, email, lang)
    values (${req.accountId}, ${req.idempotencyKey}, ${provider.name}, ${price.amountCents}, ${price.commissionCents},
            ${price.totalCents}, ${req.email}, ${req.lang})
    on conflict (idempotency_key) do nothing returning id`
  if (!inserted[0]) {
    // a concurrent submit of the same form won the insert
    const [row] = await db.sql<
      { id: number }[]
    >`select id from platform.payments where idempotency_key = ${req.idempotencyKey}`
    return {
      paymentId: (row as { id: number }).id,
      redirectUrl: `/pagamenti/${(row as { id: number }).id}`,
      reused: true,
    }
  }
  const paymentId = inserted[0].id
  await db.sql`insert into platform.payment_items ${db.sql(
    price.lines.flatMap((l) =>
      l.items.map((it, i) => ({
        payment_id: paymentId,
        tenant_id: l.tenant.id,
        installment_id: it.installmentId,
        amount_cents: it.amountCents,
        // the tenant's commission is shown on its first item
        commission_cents: i === 0 ? l.commissionCents : 0,
        description: it.description,
        iuv: it.iuv,
        seq: it.seq ?? null,
        seq_of: it.seqOf ?? null,
        pupil_name: it.pupilName ?? null,
      })),
    ),
  )}`

  // reserve, tenant by tenant; if one tenant's installments changed meanwhile, release what was reserved
  const reserved: Tenant[] = []
  for (const line of price.lines) {
    const ids = line.items.map((i) => i.installmentId)
    const ok = await withTenant(db.sql, line.tenant, async (tx) => {
      const rows = await tx`update installments set status = 'in_corso', pending_payment_id = ${paymentId}
        where id = any(${ids}) and status = 'da_pagare'
          and document_id in (select id from documents where cancelled_at is null)
        returning id`
      if (rows.length !== ids.length) throw new NotPayable(ids.filter((id) => !rows.some((r) => r.id === id)))
      return true
    }).catch((err) => {
      if (err instanceof NotPayable) return err
      throw err
    })
    if (ok instanceof NotPayable) {
      await finish(db, paymentId, 'cancelled', { source: 'checkout', detail: 'installments changed before payment' })
      throw ok
    }
    reserved.push(line.tenant)
  }

  const description =
    price.lines.length === 1 && (price.lines[0] as CheckoutLine).items.length === 1
      ? ((price.lines[0] as CheckoutLine).items[0] as PayableItem).description
      : req.lang === 'en'
        ? `Payment of ${items.length} notices`
        : `Pagamento di ${items.length} avvisi`
  let started: Awaited<ReturnType<PaymentProvider['start']>>
  try {
    started = await provider.start({
      paymentId,
      idempotencyKey: req.idempotencyKey,
      amountCents: price.totalCents,
      description: description.slice(0, 140),
      payerEmail: req.email,
      returnUrl: `${config.baseUrl}/pagamenti/${paymentId}`,
      notifyUrl: `${config.baseUrl}/pagamenti/notifica/${provider.name}`,
      lang: req.lang,
    })
  } catch (err) {
    await finish(db, paymentId, 'failed', { source: 'checkout', detail: `provider start failed: ${String(err)}` })
    throw err
  }
  await db.sql`update platform.payments set status = 'pending', provider_ref = ${started.providerRef},
                 expires_at = ${started.expiresAt}, redirect_url = ${started.redirectUrl}, updated_at = now()
               where id = ${paymentId} and status = 'created'`
  return { paymentId, redirectUrl: started.redirectUrl, reused: false }
}

interface Outcome {
  source: string
  eventId?: string
  detail?: string
  authCode?: string | null
  cardMask?: string | null
  amountCents?: number
}

/**
 * Moves a payment to a final state, once. Returns whether this call changed it. A success reported after
 * the payment was given up (expired, cancelled, failed) is still a success — the money moved — and is
 * applied; installments meanwhile settled otherwise are flagged for a refund.
 */
export async function finish(
  db: Db,
  paymentId: number,
  status: Exclude<PaymentStatus, 'created' | 'pending'>,
  o: Outcome,
): Promise<boolean> {
  const changed = await db.sql.begin(async (tx) => {
    // the event is logged whatever happens; its outcome says what it did
    const [event] = await tx<{ id: number }[]>`
      insert into platform.payment_events (payment_id, event_id, source, status, outcome, detail)
      values (${paymentId}, ${o.eventId ?? null}, ${o.source}, ${status}, 'applied', ${o.detail ?? null})
      on conflict (event_id) do nothing returning id`
    if (!event) {
      await tx`insert into platform.payment_events (payment_id, source, status, outcome, detail)
               values (${paymentId}, ${o.source}, ${status}, 'duplicate', ${`replay of ${o.eventId}`})`
      return false
    }
    const mark = (outcome: 'ignored' | 'rejected', detail: string) =>
      tx`update platform.payment_events set outcome = ${outcome}, detail = ${detail} where id = ${event.id}`
    const [p] = await tx<{ status: PaymentStatus; total_cents: number }[]>`
      select status, total_cents from platform.payments where id = ${paymentId} for update`
    if (!p) {
      await mark('rejected', 'unknown payment')
      return false
    }
    const late = status === 'succeeded' && (p.status === 'expired' || p.status === 'cancelled' || p.status === 'failed')
    if (FINAL.includes(p.status) && !late) {
      await mark('ignored', `already ${p.status}`)
      return false
    }
    if (status === 'succeeded' && o.amountCents !== undefined && o.amountCents !== p.total_cents) {
      await mark('rejected', `amount ${o.amountCents} differs from ${p.total_cents}`)
      await tx`update platform.payments set needs_refund = true, failure_reason = 'amount mismatch', updated_at = now() where id = ${paymentId}`
      return false
    }
    if (status === 'succeeded') {
      await tx`update platform.payments set status = 'succeeded', auth_code = ${o.authCode ?? null},
                 card_mask = ${o.cardMask ?? null}, completed_at = now(),
                 updated_at = now(), failure_reason = null,
                 receipt_number = 'SP-' || to_char(now() at time zone 'Europe/Rome', 'YYYY') || '-' || lpad(nextval('platform.receipt_number_seq')::text, 8, '0')
               where id = ${paymentId}`
    } else {
      await tx`update platform.payments set status = ${status}, completed_at = now(), updated_at = now(),
                 failure_reason = ${o.detail ?? null} where id = ${paymentId}`
    }
    if (late) {
      // settled below where still open; the rest flagged for a refund
      await tx`update platform.payment_items set applied_at = null, outcome = null where payment_id = ${paymentId}`
    }
    // in this same transaction: the installments settled (or released), the receipt queued — the family is
    // never told of a success that is not recorded everywhere, and a crash leaves all of it or none
    await completeIn(tx, db, paymentId)
    return true
  })
  return changed as boolean
}

/**
 * Records a final payment in each tenant schema: paid installments get their settlement row (unique per
 * installment), given-up ones go back to payable. finish() does it in the transaction that records the final
 * state; this is for a final payment whose items were left unapplied (before that was so), run by the
 * reconciliation job. Idempotent.
 */
export async function applyToTenants(db: Db, paymentId: number): Promise<void> {
  await db.sql.begin((tx) => completeIn(tx, db, paymentId))
}

/**
 * Inside `tx`: the unapplied items of a final payment settled or released in their tenants' schemas (each in its
 * own scope, inTenantScope), marked applied, taken out of the cart; a payment settled elsewhere meanwhile flagged
 * for a refund; the receipt queued. Statements per tenant, not per item.
 */
async function completeIn(tx: Tx, db: Db, paymentId: number): Promise<void> {
  const [p] = await tx<
    {
      status: PaymentStatus
      receipt_number: string | null
      completed_at: Date | null
      provider: string
      auth_code: string | null
      account_id: number | null
    }[]
  >`
    select status, receipt_number, completed_at, provider, auth_code, account_id from platform.payments where id = ${paymentId}`
  if (!p || !FINAL.includes(p.status)) return
  const items = await tx<{ tenant_id: number; installment_id: number; schema_name: string }[]>`
    select pi.tenant_id, pi.installment_id, t.schema_name
    from platform.payment_items pi join platform.tenants t on t.id = pi.tenant_id
    where pi.payment_id = ${paymentId} and pi.applied_at is null`
  const tenantIds = [...new Set(items.map((i) => i.tenant_id))]
  let refund = false
  for (const tenantId of tenantIds) {
    const mine = items.filter((i) => i.tenant_id === tenantId)
    const schema = (mine[0] as { schema_name: string }).schema_name
    const scope: TenantScope = { schema, role: tenantRoleName(db.roles, schema) }
    const ids = mine.map((i) => i.installment_id)
    const outcomes = await inTenantScope(tx, scope, async (tx) => {
      if (p.status === 'succeeded') {
        const rows = await tx<
          { id: number; amount_cents: number }[]
        >`select id, amount_cents from installments where id = any(${ids})`
        await settleInstallments(
          tx,
          rows.map((r) => ({
            installmentId: r.id,
            paymentId,
            source: 'checkout' as const,
            receiptNumber: p.receipt_number as string,
            amountCents: r.amount_cents,
            paidAt: p.completed_at as Date,
            psp: p.provider,
            authCode: p.auth_code,
          })),
        )
        // the rest were settled before (by this payment on an earlier run, or elsewhere)
        const already = await tx<{ installment_id: number; payment_id: number | null }[]>`
          select installment_id, payment_id from installment_payments where installment_id = any(${ids})`
        const outcomes = ids.map((id) => {
          const row = already.find((a) => a.installment_id === id)
          return row && row.payment_id !== paymentId ? 'already_paid' : 'paid'
        })
        // paid twice: a refund proposed for the office (decision 0096); a pagoPA cart's money is proposed by its
        // receipts, one per notice, so it is not proposed here a second time
        if (p.provider !== 'pagopa-checkout')
          await proposeRefunds(
            tx,
            rows
              .filter((r) => outcomes[ids.indexOf(r.id)] === 'already_paid')
              .map((r) => ({
                installmentId: r.id,
                basis: 'pagamento_online' as const,
                basisRef: p.receipt_number as string,
                paidCents: r.amount_cents,
                reasonCode: 'doppio_online' as const,
                key: `checkout:${paymentId}:${r.id}`,
              })),
          )
        return outcomes
      }
      await tx`update installments set status = 'da_pagare', pending_payment_id = null
               where id = any(${ids}) and pending_payment_id = ${paymentId} and status = 'in_corso'`
      return ids.map(() => 'released')
    })
    await tx`update platform.payment_items pi set applied_at = now(), outcome = u.outcome
             from unnest(${ids}::bigint[], ${outcomes}::text[]) as u(installment_id, outcome)
             where pi.payment_id = ${paymentId} and pi.tenant_id = ${tenantId} and pi.installment_id = u.installment_id`
    if (outcomes.includes('already_paid')) refund = true
    if (p.status === 'succeeded' && p.account_id) {
      await tx`delete from platform.cart_items where account_id = ${p.account_id} and tenant_id = ${tenantId}
               and installment_id = any(${ids})`
    }
  }
  if (refund) await tx`update platform.payments set needs_refund = true where id = ${paymentId}`
  if (p.status === 'succeeded') await queueReceipt(tx, paymentId)
}

export interface ReceiptData {
  paymentId: number
  receiptNumber: string
  paidAt: Date
  lang: Lang
  email: string | null
  payer: { name: string; codiceFiscale: string }
  provider: string
  authCode: string | null
  cardMask: string | null
  items: {
    tenantName: string
    tenantFiscalCode: string
    causale: string
    pupilName: string | null
    installment: { seq: number; of: number } | null
    iuv: string
    amountCents: number
  }[]
  commissionCents: number
  totalCents: number
}

export async function loadReceipt(db: Pick<Db, 'sql'>, paymentId: number): Promise<ReceiptData | null> {
  const [p] = await db.sql<
    {
      receipt_number: string | null
      completed_at: Date | null
      lang: Lang
      email: string | null
      provider: string
      auth_code: string | null
      card_mask: string | null
      commission_cents: number
      total_cents: number
      given_name: string | null
      family_name: string | null
      codice_fiscale: string | null
      status: string
    }[]
  >`select p.receipt_number, p.completed_at, p.lang, p.email, p.provider, p.auth_code, p.card_mask, p.commission_cents, p.total_cents, p.status,
           a.given_name, a.family_name, a.codice_fiscale
    from platform.payments p left join platform.accounts a on a.id = p.account_id where p.id = ${paymentId}`
  if (p?.status !== 'succeeded' || !p.receipt_number || !p.completed_at) return null
  const items = await db.sql<
    {
      name: string
      fiscal_code: string
      description: string
      iuv: string
      amount_cents: number
      seq: number | null
      seq_of: number | null
      pupil_name: string | null
    }[]
  >`
    select t.name, t.fiscal_code, pi.description, pi.iuv, pi.amount_cents, pi.seq, pi.seq_of, pi.pupil_name
    from platform.payment_items pi join platform.tenants t on t.id = pi.tenant_id
    where pi.payment_id = ${paymentId} order by t.name, pi.installment_id`
  return {
    paymentId,
    receiptNumber: p.receipt_number,
    paidAt: p.completed_at,
    lang: p.lang,
    email: p.email,
    payer: { name: `${p.given_name ?? ''} ${p.family_name ?? ''}`.trim(), codiceFiscale: p.codice_fiscale ?? '' },
    provider: p.provider,
    authCode: p.auth_code,
    cardMask: p.card_mask,
    items: items.map((i) => ({
      tenantName: i.name,
      tenantFiscalCode: i.fiscal_code,
      causale: i.description,
      pupilName: i.pupil_name,
      installment: i.seq && i.seq_of ? { seq: i.seq, of: i.seq_of } : null,
      iuv: i.iuv,
      amountCents: i.amount_cents,
    })),
    commissionCents: p.commission_cents,
    totalCents: p.total_cents,
  }
}

export async function receiptPdf(r: ReceiptData): Promise<Buffer> {
  return renderReceiptPdf({
    lang: r.lang,
    receiptNumber: r.receiptNumber,
    paidAt: r.paidAt,
    payer: r.payer,
    provider: r.provider,
    authCode: r.authCode,
    cardMask: r.cardMask,
    items: r.items,
    commissionCents: r.commissionCents,
    totalCents: r.totalCents,
  })
}

/**
 * The receipt email, queued once per payment (dedupe key) in the transaction that records the success; its PDF
 * is made when the mail is sent, from what was committed (registerAttachment below).
 */
async function queueReceipt(tx: Tx, paymentId: number) {
  const [r] = await tx<
    { receipt_number: string | null; lang: Lang; email: string | null; total_cents: number; items: number }[]
  >`
    select receipt_number, lang, email, total_cents,
      (select count(*) from platform.payment_items where payment_id = p.id)::int as items
    from platform.payments p where id = ${paymentId}`
  if (!r?.email || !r.receipt_number) return
  const msg = composeMail(
    r.lang,
    'receipt',
    { number: r.receipt_number, total: formatMoney(r.total_cents, r.lang), count: r.items },
    r.email,
  )
  await enqueueMail(tx, {
    ...msg,
    dedupeKey: `receipt:${paymentId}`,
    attachments: [
      {
        filename: `ricevuta-${r.receipt_number}.pdf`,
        contentType: 'application/pdf',
        render: { kind: 'payment-receipt', ref: paymentId },
      },
    ],
  })
}

registerAttachment('payment-receipt', async (sql, paymentId) => {
  if (paymentId === undefined) return null
  const r = await loadReceipt({ sql }, paymentId)
  return r ? receiptPdf(r) : null
})

/** A provider notification: verified by the caller, applied here once. */
export async function applyNotification(db: Db, n: ProviderNotification): Promise<boolean> {
  const [p] = await db.sql<
    { provider_ref: string | null }[]
  >`select provider_ref from platform.payments where id = ${n.paymentId}`
  if (!p || (p.provider_ref && p.provider_ref !== n.providerRef)) {
    await db.sql`insert into platform.payment_events (payment_id, event_id, source, status, outcome, detail)
                 values (${p ? n.paymentId : null}, ${n.eventId}, 'notification', ${n.status}, 'rejected', 'unknown payment or reference')
                 on conflict (event_id) do nothing`
    return false
  }
  return finish(db, n.paymentId, n.status, {
    source: 'notification',
    eventId: n.eventId,
    authCode: n.authCode,
    cardMask: n.cardMask ?? null,
    amountCents: n.amountCents,
  })
}

/** Asks the provider for a pending payment's state and applies a final answer (recovers lost notifications). */
export async function refreshFromProvider(
  db: Db,
  provider: PaymentProvider,
  paymentId: number,
): Promise<ProviderStatus | null> {
  const [p] = await db.sql<{ status: PaymentStatus; provider_ref: string | null; expires_at: Date | null }[]>`
    select status, provider_ref, expires_at from platform.payments where id = ${paymentId}`
  if (p?.status !== 'pending' || !p.provider_ref) return null
  const s = await provider.status(p.provider_ref)
  if (s.status !== 'pending') {
    await finish(db, paymentId, s.status, {
      source: 'status',
      authCode: s.authCode,
      cardMask: s.cardMask ?? null,
      amountCents: s.amountCents,
    })
  }
  return s.status
}

export type { Sql }
