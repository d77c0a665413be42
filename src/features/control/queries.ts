// Payment control: what fell due and what was paid, aggregated in SQL over one scope of installments (service,
// school year, period, state), grouped by service, payer and pupil; the debtors; the payments received.
import type { Sql, Tx } from '../../platform/db.ts'

export const INSTALLMENT_STATES = ['tutti', 'da_pagare', 'scaduto', 'in_corso', 'pagato', 'annullato'] as const
export type InstallmentState = (typeof INSTALLMENT_STATES)[number]
export const PAYMENT_STATES = ['tutti', 'succeeded', 'in_corso', 'failed', 'cancelled', 'expired'] as const
export type PaymentState = (typeof PAYMENT_STATES)[number]

export interface ControlFilter {
  serviceId: number | null
  /** the school year starting on 1 September of this year; null: every year */
  schoolYear: number | null
  /** 'YYYY-MM' inside the school year; null: the whole year */
  month: string | null
  state: InstallmentState
  paymentState: PaymentState
  page: number
}

export const PAGE_SIZE = 100

/** The first and last day ('YYYY-MM-DD') the filter covers, or null for no limit. */
export function filterRange(f: ControlFilter): { from: string; to: string } | null {
  if (f.month) {
    const [y, m] = f.month.split('-').map(Number) as [number, number]
    const last = new Date(Date.UTC(y, m, 0)).getUTCDate()
    return { from: `${f.month}-01`, to: `${f.month}-${String(last).padStart(2, '0')}` }
  }
  if (f.schoolYear) return { from: `${f.schoolYear}-09-01`, to: `${f.schoolYear + 1}-08-31` }
  return null
}

/** The school year a date falls in: from 1 September to 31 August. */
export function schoolYearOf(date: string): number {
  const y = Number(date.slice(0, 4))
  return Number(date.slice(5, 7)) >= 9 ? y : y - 1
}

/** The months of a school year, September to August, as 'YYYY-MM'. */
export function schoolYearMonths(year: number): string[] {
  return Array.from({ length: 12 }, (_, i) => {
    const m = ((8 + i) % 12) + 1
    return `${m >= 9 ? year : year + 1}-${String(m).padStart(2, '0')}`
  })
}

/**
 * The installments in scope with their state as the office reads it: paid wins over everything (the money
 * came in), then cancelled (the installment or its document), in progress, overdue (unpaid and due before
 * today in Rome), to pay.
 */
function scope(tx: Tx, f: ControlFilter, today: string) {
  const range = filterRange(f)
  return tx`
    scope as (
      select i.id, i.amount_cents, i.due_date, d.payer_id, d.pupil_id, d.service_id,
        coalesce(ip.amount_cents, i.paid_cents, i.amount_cents) as settled_cents,
        case
          when i.status = 'pagato' then 'pagato'
          when i.status = 'annullato' or d.cancelled_at is not null then 'annullato'
          when i.status = 'in_corso' then 'in_corso'
          when i.due_date < ${today}::date then 'scaduto'
          else 'da_pagare' end as state
      from installments i
        join documents d on d.id = i.document_id
        left join installment_payments ip on ip.installment_id = i.id
      where ${f.serviceId ? tx`d.service_id = ${f.serviceId}` : tx`true`}
        and ${range ? tx`i.due_date between ${range.from}::date and ${range.to}::date` : tx`true`}
    ),
    chosen as (
      select id, amount_cents, due_date, payer_id, pupil_id, service_id, settled_cents, state from scope
      where ${f.state === 'tutti' ? tx`state <> 'annullato'` : tx`state = ${f.state}`}
    )`
}

/** The sums every grouping shows, over the rows of `chosen`. */
function sums(tx: Tx) {
  return tx`
    count(*)::int as installments,
    coalesce(sum(amount_cents) filter (where state <> 'annullato'), 0)::bigint as due_cents,
    coalesce(sum(settled_cents) filter (where state = 'pagato'), 0)::bigint as paid_cents,
    coalesce(sum(amount_cents) filter (where state in ('da_pagare', 'scaduto', 'in_corso')), 0)::bigint as open_cents,
    coalesce(sum(amount_cents) filter (where state = 'scaduto'), 0)::bigint as overdue_cents,
    count(*) filter (where state = 'scaduto')::int as overdue_count`
}

export interface Sums {
  installments: number
  due_cents: number
  paid_cents: number
  open_cents: number
  overdue_cents: number
  overdue_count: number
}

export interface Totals extends Sums {
  payers: number
  pupils: number
}

export interface ServiceRow extends Sums {
  service_id: number
  service: string
}

export interface PayerRow extends Sums {
  payer_id: number
  given_name: string
  family_name: string
  codice_fiscale: string
  email: string | null
  phone: string | null
  rows_total: number
}

export interface PupilRow extends Sums {
  pupil_id: number
  given_name: string
  family_name: string
  codice_fiscale: string | null
  holders: string | null
  rows_total: number
}

export interface DebtorRow {
  payer_id: number
  given_name: string
  family_name: string
  codice_fiscale: string
  email: string | null
  phone: string | null
  address: string | null
  overdue_count: number
  overdue_cents: number
  oldest_due: string
  pupils: string | null
  rows_total: number
}

export async function totals(tx: Tx, f: ControlFilter, today: string): Promise<Totals> {
  const [row] = await tx<Totals[]>`
    with ${scope(tx, f, today)}
    select ${sums(tx)}, count(distinct payer_id)::int as payers, count(distinct pupil_id)::int as pupils
    from chosen`
  return row as Totals
}

export function byService(tx: Tx, f: ControlFilter, today: string) {
  return tx<ServiceRow[]>`
    with ${scope(tx, f, today)}
    select c.service_id, s.name as service, ${sums(tx)}
    from chosen c join services s on s.id = c.service_id
    group by c.service_id, s.name
    order by s.name, c.service_id`
}

/** limit null: every row (the CSV export). */
export function byPayer(tx: Tx, f: ControlFilter, today: string, limit: number | null) {
  return tx<PayerRow[]>`
    with ${scope(tx, f, today)},
    g as (select payer_id, ${sums(tx)} from chosen group by payer_id)
    select g.payer_id, p.given_name, p.family_name, p.codice_fiscale, p.email, p.phone,
      g.installments, g.due_cents, g.paid_cents, g.open_cents, g.overdue_cents, g.overdue_count,
      count(*) over ()::int as rows_total
    from g join payers p on p.id = g.payer_id
    order by g.open_cents desc, p.family_name, p.given_name, p.id
    ${limit === null ? tx`` : tx`limit ${limit} offset ${(f.page - 1) * limit}`}`
}

export function byPupil(tx: Tx, f: ControlFilter, today: string, limit: number | null) {
  return tx<PupilRow[]>`
    with ${scope(tx, f, today)},
    g as (select pupil_id, ${sums(tx)} from chosen where pupil_id is not null group by pupil_id)
    select g.pupil_id, pu.given_name, pu.family_name, pu.codice_fiscale,
      (select string_agg(py.given_name || ' ' || py.family_name, ', ' order by pp.holder desc, py.family_name)
         from pupil_payers pp join payers py on py.id = pp.payer_id where pp.pupil_id = g.pupil_id) as holders,
      g.installments, g.due_cents, g.paid_cents, g.open_cents, g.overdue_cents, g.overdue_count,
      count(*) over ()::int as rows_total
    from g join pupils pu on pu.id = g.pupil_id
    order by g.open_cents desc, pu.family_name, pu.given_name, pu.id
    ${limit === null ? tx`` : tx`limit ${limit} offset ${(f.page - 1) * limit}`}`
}

/** Overdue installments grouped by payer, the oldest debt first. The state filter does not apply here. */
export function debtors(tx: Tx, f: ControlFilter, today: string, limit: number | null) {
  return tx<DebtorRow[]>`
    with ${scope(tx, { ...f, state: 'scaduto' }, today)},
    g as (
      select payer_id, count(*)::int as overdue_count, sum(amount_cents)::bigint as overdue_cents,
        min(due_date) as oldest_due, array_agg(distinct pupil_id) filter (where pupil_id is not null) as pupil_ids
      from chosen group by payer_id)
    select g.payer_id, p.given_name, p.family_name, p.codice_fiscale, p.email, p.phone, p.address,
      g.overdue_count, g.overdue_cents, g.oldest_due,
      (select string_agg(pu.given_name || ' ' || pu.family_name, ', ' order by pu.family_name, pu.given_name)
         from pupils pu where pu.id = any(g.pupil_ids)) as pupils,
      count(*) over ()::int as rows_total
    from g join payers p on p.id = g.payer_id
    order by g.oldest_due, g.overdue_cents desc, p.family_name, p.id
    ${limit === null ? tx`` : tx`limit ${limit} offset ${(f.page - 1) * limit}`}`
}

/** The school years that have installments, newest first. */
export async function schoolYears(tx: Tx): Promise<number[]> {
  const rows = await tx<{ y: number }[]>`
    select distinct (extract(year from due_date) - case when extract(month from due_date) >= 9 then 0 else 1 end)::int as y
    from installments order by y desc`
  return rows.map((r) => r.y)
}

export function services(tx: Tx) {
  return tx<{ id: number; name: string }[]>`select id, name from services order by name, id`
}

// ---- payments received ------------------------------------------------------------------------------------

/** One item of a platform payment that belongs to this tenant. */
export interface PlatformItem {
  payment_id: number
  installment_id: number
  amount_cents: number
  commission_cents: number
  status: string
  provider: string
  provider_ref: string | null
  receipt_number: string | null
  needs_refund: boolean
  created_at: string
  completed_at: string | null
}

/**
 * The items of platform payments (checkout, pagoPA cart) that belong to this tenant, started in the period.
 * Runs on the application's pool: the tenant role cannot read platform.payments, and each row carries only
 * this tenant's items and amounts, never another tenant's.
 */
export function platformItems(sql: Sql, tenantId: number, range: { from: string; to: string } | null) {
  return sql<PlatformItem[]>`
    select pi.payment_id, pi.installment_id, pi.amount_cents, pi.commission_cents, p.status, p.provider,
      p.provider_ref, p.receipt_number, p.needs_refund,
      to_char(p.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MSOF') as created_at,
      to_char(p.completed_at, 'YYYY-MM-DD"T"HH24:MI:SS.MSOF') as completed_at
    from platform.payment_items pi join platform.payments p on p.id = pi.payment_id
    where pi.tenant_id = ${tenantId}
      and ${
        range
          ? sql`p.created_at >= (${range.from}::date::timestamp at time zone 'Europe/Rome')
                and p.created_at < ((${range.to}::date + 1)::timestamp at time zone 'Europe/Rome')`
          : sql`true`
      }`
}

export interface PaymentRow {
  kind: 'piattaforma' | 'altro'
  ref: string
  payment_id: number | null
  at: Date
  status: string
  provider: string
  provider_ref: string | null
  receipt_number: string | null
  needs_refund: boolean
  amount_cents: number
  commission_cents: number
  installments: number
  payer: string | null
  payer_cf: string | null
  description: string | null
  rows_total: number
  /** what succeeded across every row of the filter, not only this page */
  succeeded_total: number
}

/**
 * Platform payments (this tenant's items, passed in) and settlements of other channels (pagoPA node, bank,
 * reconciliation, manual: installment_payments without a platform payment), merged, filtered, newest first.
 */
export function payments(tx: Tx, f: ControlFilter, items: PlatformItem[], limit: number | null): Promise<PaymentRow[]> {
  const range = filterRange(f)
  const ps = f.paymentState
  const stateCond =
    ps === 'tutti' ? tx`true` : ps === 'in_corso' ? tx`status in ('created', 'pending')` : tx`status = ${ps}`
  return tx<PaymentRow[]>`
    with items as (
      select payment_id, installment_id, amount_cents, commission_cents, status, provider, provider_ref,
        receipt_number, needs_refund, created_at, completed_at
      from jsonb_to_recordset(${tx.json(items as unknown as Parameters<typeof tx.json>[0])}::jsonb) as x(
        payment_id bigint, installment_id bigint, amount_cents bigint, commission_cents bigint, status text,
        provider text, provider_ref text, receipt_number text, needs_refund boolean, created_at timestamptz,
        completed_at timestamptz)
    ),
    platform_rows as (
      select 'piattaforma'::text as kind, x.payment_id::text as ref, x.payment_id, min(x.created_at) as at,
        min(x.status) as status, min(x.provider) as provider, min(x.provider_ref) as provider_ref,
        min(x.receipt_number) as receipt_number, bool_or(x.needs_refund) as needs_refund,
        sum(x.amount_cents)::bigint as amount_cents, sum(x.commission_cents)::bigint as commission_cents,
        count(*)::int as installments,
        min(p.given_name || ' ' || p.family_name) as payer, min(p.codice_fiscale) as payer_cf,
        string_agg(distinct d.description, '; ') as description
      from items x
        join installments i on i.id = x.installment_id
        join documents d on d.id = i.document_id
        join payers p on p.id = d.payer_id
      where ${f.serviceId ? tx`d.service_id = ${f.serviceId}` : tx`true`}
      group by x.payment_id
    ),
    other_rows as (
      select 'altro'::text as kind, ip.receipt_number as ref, null::bigint as payment_id, ip.paid_at as at,
        'succeeded'::text as status, ip.source as provider, coalesce(ip.psp, ip.channel) as provider_ref,
        ip.receipt_number, false as needs_refund, ip.amount_cents, 0::bigint as commission_cents, 1 as installments,
        p.given_name || ' ' || p.family_name as payer, p.codice_fiscale as payer_cf, d.description
      from installment_payments ip
        join installments i on i.id = ip.installment_id
        join documents d on d.id = i.document_id
        join payers p on p.id = d.payer_id
      where ip.payment_id is null
        and ${f.serviceId ? tx`d.service_id = ${f.serviceId}` : tx`true`}
        and ${
          range
            ? tx`ip.paid_at >= (${range.from}::date::timestamp at time zone 'Europe/Rome')
                 and ip.paid_at < ((${range.to}::date + 1)::timestamp at time zone 'Europe/Rome')`
            : tx`true`
        }
    ),
    merged as (
      select kind, ref, payment_id, at, status, provider, provider_ref, receipt_number, needs_refund, amount_cents,
        commission_cents, installments, payer, payer_cf, description from platform_rows
      union all
      select kind, ref, payment_id, at, status, provider, provider_ref, receipt_number, needs_refund, amount_cents,
        commission_cents, installments, payer, payer_cf, description from other_rows)
    select kind, ref, payment_id, at, status, provider, provider_ref, receipt_number, needs_refund, amount_cents,
      commission_cents, installments, payer, payer_cf, description, count(*) over ()::int as rows_total,
      coalesce(sum(amount_cents) filter (where status = 'succeeded') over (), 0)::bigint as succeeded_total
    from merged
    where ${stateCond}
    order by at desc, ref desc
    ${limit === null ? tx`` : tx`limit ${limit} offset ${(f.page - 1) * limit}`}`
}
