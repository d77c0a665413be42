// What the office exports (decision 0098): payments, refunds and pagoPA receipts of a period, and the lines of the
// yearly file for the Agenzia delle Entrate. Dates are days in Rome.
import { type Db, type Tx, withTenant } from '../../platform/db.ts'
import { taxCategoryOf } from '../../platform/it/tax-categories.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import type { TaxLine } from './tax-file.ts'

export interface Period {
  from: string
  to: string
}

const startOf = (tx: Tx, day: string) => tx`(${day}::date::timestamp at time zone 'Europe/Rome')`
const endOf = (tx: Tx, day: string) => tx`((${day}::date + 1)::timestamp at time zone 'Europe/Rome')`

/** The installments settled in the period (Rome days) with their document, service, holder and pupil. */
const settledIn = (tx: Tx, p: Period) => tx`
  from installment_payments ip
    join installments i on i.id = ip.installment_id
    join documents d on d.id = i.document_id
    join services s on s.id = d.service_id
    join payers pa on pa.id = d.payer_id
    left join pupils pu on pu.id = d.pupil_id
  where ip.paid_at >= ${startOf(tx, p.from)} and ip.paid_at < ${endOf(tx, p.to)}`

export interface PaymentExportRow {
  paid_on: string
  source: string
  channel: string | null
  psp: string | null
  receipt_number: string
  payer: string
  payer_cf: string
  pupil: string | null
  service: string
  document: string
  seq: number
  of: number
  amount_cents: number
  refunded_cents: number
}

/** Every installment settled in the period, whatever the channel. */
export function paymentsOf(tx: Tx, p: Period) {
  return tx<PaymentExportRow[]>`
    select to_char(ip.paid_at at time zone 'Europe/Rome', 'YYYY-MM-DD') as paid_on, ip.source, ip.channel, ip.psp,
      ip.receipt_number, pa.given_name || ' ' || pa.family_name as payer, pa.codice_fiscale as payer_cf,
      pu.given_name || ' ' || pu.family_name as pupil, s.name as service, d.number || '/' || d.year || ' ' || d.description as document,
      i.seq, (select count(*)::int from installments x where x.document_id = d.id) as of, ip.amount_cents,
      i.refunded_cents
    ${settledIn(tx, p)}
    order by ip.paid_at, ip.id`
}

export interface RefundExportRow {
  id: number
  status: string
  created_on: string
  executed_on: string | null
  payer: string
  payer_cf: string
  pupil: string | null
  document: string | null
  seq: number | null
  basis: string
  basis_ref: string
  reason: string
  reason_code: string | null
  paid_cents: number
  amount_cents: number
  iban: string | null
  bank_reference: string | null
}

/** The refunds opened or executed in the period. */
export function refundsOf(tx: Tx, p: Period) {
  return tx<RefundExportRow[]>`
    select r.id, r.status, to_char(r.created_at at time zone 'Europe/Rome', 'YYYY-MM-DD') as created_on, r.executed_on,
      pa.given_name || ' ' || pa.family_name as payer, pa.codice_fiscale as payer_cf,
      pu.given_name || ' ' || pu.family_name as pupil, d.number || '/' || d.year || ' ' || d.description as document,
      i.seq, r.basis, r.basis_ref, r.reason, r.reason_code, r.paid_cents, r.amount_cents, r.iban, r.bank_reference
    from refunds r
      join payers pa on pa.id = r.payer_id
      left join installments i on i.id = r.installment_id
      left join documents d on d.id = i.document_id
      left join pupils pu on pu.id = coalesce(r.pupil_id, d.pupil_id)
    where (r.created_at >= ${startOf(tx, p.from)} and r.created_at < ${endOf(tx, p.to)})
       or r.executed_on between ${p.from}::date and ${p.to}::date
    order by r.id`
}

export interface ReceiptExportRow {
  received_at: Date
  receipt_id: string
  notice_number: string
  outcome: string
  amount_cents: number
  fee_cents: number | null
  psp_name: string
  channel_description: string
  payment_method: string | null
  paid_at: Date | null
  debtor_id: string
  effect: string
  flag: string | null
}

/** The pagoPA node's receipts received in the period, with what each did. */
export function receiptsOf(tx: Tx, p: Period) {
  return tx<ReceiptExportRow[]>`
    select received_at, receipt_id, notice_number, outcome, amount_cents, fee_cents, psp_name, channel_description,
      payment_method, paid_at, debtor_id, effect, flag
    from pagopa_receipts
    where received_at >= ${startOf(tx, p.from)} and received_at < ${endOf(tx, p.to)}
    order by received_at, id`
}

interface PaidLine {
  receipt_number: string
  amount_cents: number
  payment_id: number | null
  year: number
  kind: string
  tax_category: string | null
  holder_cf: string
  holder: string
  pupil_cf: string | null
  pupil: string | null
}

interface RefundLine extends PaidLine {
  id: number
}

/**
 * The lines of the year's file: every installment paid in the calendar year (Rome) of a school or nursery service,
 * counted for who paid it (the account that paid on Sportello, else the document's holder: decision 0013), and
 * every refund executed in the year of such a payment or of canteen credit, for who got it.
 */
export async function taxLines(db: Db, tenant: Tenant, year: number): Promise<TaxLine[]> {
  const period = { from: `${year}-01-01`, to: `${year}-12-31` }
  // both statements go out at once (neither waits for the other's answer)
  const [paid, refunded] = await withTenant(db.sql, tenant, (tx) =>
    Promise.all([
      tx<PaidLine[]>`
      select ip.receipt_number, ip.amount_cents, ip.payment_id,
        extract(year from ip.paid_at at time zone 'Europe/Rome')::int as year, s.kind, s.tax_category,
        pa.codice_fiscale as holder_cf, pa.given_name || ' ' || pa.family_name as holder,
        pu.codice_fiscale as pupil_cf, pu.given_name || ' ' || pu.family_name as pupil
      ${settledIn(tx, period)}
      order by ip.id`,
      tx<RefundLine[]>`
      select r.id, 'R' || r.id as receipt_number, r.amount_cents, null::bigint as payment_id,
        coalesce(extract(year from ip.paid_at at time zone 'Europe/Rome')::int, extract(year from r.executed_on)::int) as year,
        coalesce(s.kind, 'mensa') as kind, s.tax_category,
        pa.codice_fiscale as holder_cf, pa.given_name || ' ' || pa.family_name as holder,
        pu.codice_fiscale as pupil_cf, pu.given_name || ' ' || pu.family_name as pupil
      from refunds r
        join payers pa on pa.id = r.payer_id
        left join installments i on i.id = r.installment_id
        left join installment_payments ip on ip.installment_id = i.id
        left join documents d on d.id = i.document_id
        left join services s on s.id = d.service_id
        left join pupils pu on pu.id = coalesce(r.pupil_id, d.pupil_id)
      where r.status = 'eseguito' and r.basis in ('pagamento', 'credito_mensa')
        and r.executed_on between ${period.from}::date and ${period.to}::date
      order by r.id`,
    ]),
  )
  // who paid on Sportello: the account's codice fiscale (the tenant role may not read platform payments)
  const ids = [...new Set(paid.map((p) => p.payment_id).filter((x): x is number => x !== null))]
  const payers = new Map(
    (ids.length
      ? await db.sql<{ id: number; cf: string; name: string }[]>`
          select p.id, a.codice_fiscale as cf, a.given_name || ' ' || a.family_name as name
          from platform.payments p join platform.accounts a on a.id = p.account_id
          where p.id = any(${ids}) and a.codice_fiscale is not null`
      : []
    ).map((r) => [r.id, r]),
  )
  const lines: TaxLine[] = []
  const push = (l: PaidLine, kind: 'S' | 'R', ref: string) => {
    const category = taxCategoryOf(l.kind, l.tax_category)
    if (category === 'nessuna') return
    const who = l.payment_id !== null ? payers.get(l.payment_id) : undefined
    lines.push({
      supply: category === 'nido' ? 'NIDO' : 'SCOL',
      type: category === 'nido' ? '00' : category === 'erogazioni' ? '03' : '02',
      kind,
      pupilCf: l.pupil_cf,
      pupilName: l.pupil ?? '',
      payerCf: who?.cf ?? l.holder_cf,
      payerName: who?.name ?? l.holder,
      year: l.year,
      cents: l.amount_cents,
      ref,
    })
  }
  for (const l of paid) push(l, 'S', l.receipt_number)
  for (const l of refunded) push(l, 'R', `R${l.id}`)
  return lines
}
