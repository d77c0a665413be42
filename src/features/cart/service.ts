// The cart: installments from any tenant, persisted per account in the platform schema.
import type { Db, Sql, Tx } from '../../platform/db.ts'
import { withTenant } from '../../platform/db.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { heldUntil, loadInstallments, type PayableItem, priceCheckout } from '../payments/service.ts'

export async function cartInstallmentIds(sql: Sql, accountId: number, tenantId: number): Promise<number[]> {
  const rows = await sql<{ installment_id: number }[]>`
    select installment_id from platform.cart_items where account_id = ${accountId} and tenant_id = ${tenantId}`
  return rows.map((r) => r.installment_id)
}

/** This tenant's part of the cart, as a column of the session's first statement (`a`: the user's account). */
export function cartIdsColumn(tx: Tx | Sql, tenantId: number) {
  return tx`(select coalesce(array_agg(ci.installment_id), '{}') from platform.cart_items ci
             where ci.account_id = a.id and ci.tenant_id = ${tenantId}) as cart_ids`
}

export interface CartColumns {
  cart_tenant_ids: number[]
  cart_installment_ids: number[]
}

/** The whole cart in the order it was filled, as columns of the session's statement (see cartIdsColumn). */
export function cartColumns(sql: Tx | Sql) {
  return sql`
    (select coalesce(array_agg(ci.tenant_id order by ci.added_at, ci.installment_id), '{}') from platform.cart_items ci
     where ci.account_id = a.id) as cart_tenant_ids,
    (select coalesce(array_agg(ci.installment_id order by ci.added_at, ci.installment_id), '{}') from platform.cart_items ci
     where ci.account_id = a.id) as cart_installment_ids`
}

export async function addToCart(sql: Sql, accountId: number, tenantId: number, ids: number[]): Promise<number> {
  if (!ids.length) return 0
  const rows = await sql`
    insert into platform.cart_items ${sql(ids.map((id) => ({ account_id: accountId, tenant_id: tenantId, installment_id: id })))}
    on conflict do nothing returning installment_id`
  return rows.length
}

export async function removeFromCart(sql: Sql, accountId: number, tenantId: number, ids: number[]) {
  await sql`delete from platform.cart_items where account_id = ${accountId} and tenant_id = ${tenantId} and installment_id = any(${ids})`
}

export interface CartEntry {
  tenant: Tenant
  installmentId: number
  description: string
  amountCents: number
  iuv: string
  /** the 18-digit notice code printed on the notice (what a family recognises) */
  noticeCode: string
  payable: boolean
  state: string
  /** while in_corso: the payment that holds it (its payer's, or another payer's of the same installment) */
  pendingPaymentId: number | null
}

/**
 * The cart as it stands now: each entry re-read from its tenant, so a paid or cancelled one shows as such.
 * `columns`: the cart already read with the session (cartColumns), or read here.
 */
export async function loadCart(
  db: Db,
  tenants: Tenant[],
  accountId: number,
  columns?: CartColumns,
  lang: 'it' | 'en' = 'it',
) {
  const rows = columns
    ? columns.cart_tenant_ids.map((tenantId, i) => ({
        tenant_id: tenantId,
        installment_id: columns.cart_installment_ids[i] as number,
      }))
    : await db.sql<{ tenant_id: number; installment_id: number }[]>`
        select tenant_id, installment_id from platform.cart_items where account_id = ${accountId} order by added_at, installment_id`
  const entries: CartEntry[] = []
  const payable: PayableItem[] = []
  for (const tenantId of [...new Set(rows.map((r) => r.tenant_id))]) {
    const tenant = tenants.find((t) => t.id === tenantId)
    const ids = rows.filter((r) => r.tenant_id === tenantId).map((r) => r.installment_id)
    if (!tenant) continue
    const found = await withTenant(db.sql, tenant, (tx) => loadInstallments(tx, ids, lang))
    for (const id of ids) {
      const r = found.find((x) => x.id === id)
      if (!r) continue
      const ok = r.status === 'da_pagare' && !r.cancelled && tenant.status === 'active'
      entries.push({
        tenant,
        installmentId: id,
        description: r.description,
        amountCents: r.amount_cents,
        iuv: r.iuv,
        noticeCode: r.notice_code,
        payable: ok,
        state: r.cancelled ? 'annullato' : r.status,
        pendingPaymentId: r.status === 'in_corso' ? r.pending_payment_id : null,
      })
      if (ok) {
        payable.push({
          tenant,
          installmentId: id,
          amountCents: r.amount_cents,
          description: r.description,
          iuv: r.iuv,
          commission: r.service_commission ?? tenant.settings.commission,
        })
      }
    }
  }
  return { entries, payable, price: priceCheckout(payable) }
}

export interface OpenPayment {
  id: number
  totalCents: number
  createdAt: Date
  heldUntil: Date | null
  resumable: boolean
}

/**
 * The payer's own payments that hold entries of the cart (in_corso): each with until when it holds them and
 * whether the provider's page is still open. Another payer's payment of the same installment is not listed.
 */
export async function openPayments(db: Db, accountId: number, entries: CartEntry[]): Promise<OpenPayment[]> {
  const ids = [...new Set(entries.flatMap((e) => (e.pendingPaymentId === null ? [] : [e.pendingPaymentId])))]
  if (ids.length === 0) return []
  const rows = await db.sql<
    { id: number; total_cents: number; created_at: Date; expires_at: Date | null; resumable: boolean }[]
  >`
    select id, total_cents, created_at, expires_at,
      status = 'pending' and redirect_url is not null and expires_at > now() as resumable
    from platform.payments
    where id = any(${ids}) and account_id = ${accountId} and status in ('created', 'pending')
    order by created_at`
  return rows.map((r) => ({
    id: r.id,
    totalCents: r.total_cents,
    createdAt: r.created_at,
    heldUntil: r.expires_at ? heldUntil(r.expires_at) : null,
    resumable: r.resumable,
  }))
}
