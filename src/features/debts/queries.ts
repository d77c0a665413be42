// A citizen's documents in one tenant: those issued to them, and those of the pupils they are linked to.
import type { Carried, Tx } from '../../platform/db.ts'
import { sumByBody } from './split.ts'

export type DocumentStatus = 'pagabile' | 'in_corso' | 'pagato' | 'scaduto' | 'annullato'

export interface DocumentSummary {
  id: number
  year: number
  number: string
  issue_date: string
  description: string
  total_cents: number
  residual_cents: number
  service: string
  /** the service's English name, when the body gave one */
  service_en: string | null
  service_kind: string
  holder: string
  pupil: string | null
  status: DocumentStatus
  next_due: string | null
  installments: number
  /** installments past their due date and still payable, and their sum (listDocuments) */
  overdue_ids?: number[]
  overdue_cents?: number
}

export interface InstallmentView {
  id: number
  seq: number
  due_date: string
  amount_cents: number
  iuv: string
  notice_code: string
  status: 'da_pagare' | 'in_corso' | 'pagato' | 'annullato'
  overdue: boolean
  paid_at: Date | null
  receipt_number: string | null
  in_cart: boolean
  /** what executed refunds of its payment gave back */
  refunded_cents: number
  /** refunds the family sees: open and executed */
  refunds: { amount_cents: number; status: 'aperto' | 'eseguito'; executed_on: string | null }[]
}

/**
 * What a document's installments add up to — residual, the status a citizen sees (from today's date in Rome),
 * next due date, count — as a lateral subquery `f` beside `documents d`. Aggregating per document in a
 * subquery, and reading service, payer and pupil through scalar subqueries rather than joins, keeps the
 * planner's join search small: in a tenant transaction every statement is planned again on each request
 * (a pooled connection's cached plans do not survive the search_path of another tenant), and planning the
 * one big join cost several times more than running it (docs/performance.md).
 */
function figuresSql(tx: Tx, today: string) {
  return tx`cross join lateral (
    select coalesce(sum(i.amount_cents) filter (where i.status in ('da_pagare', 'in_corso') and d.cancelled_at is null), 0)::bigint as residual_cents,
      case
        when d.cancelled_at is not null then 'annullato'
        when bool_and(i.status = 'pagato') then 'pagato'
        when bool_or(i.status = 'in_corso') then 'in_corso'
        when bool_or(i.status = 'da_pagare' and i.due_date < ${today}::date) then 'scaduto'
        else 'pagabile' end as status,
      min(i.due_date) filter (where i.status = 'da_pagare') as next_due,
      count(i.id)::int as installments,
      -- what is overdue and still payable here: "pay all overdue" puts these in the cart
      coalesce(array_agg(i.id order by i.seq) filter (
        where i.status = 'da_pagare' and i.due_date < ${today}::date and d.cancelled_at is null), '{}') as overdue_ids,
      coalesce(sum(i.amount_cents) filter (
        where i.status = 'da_pagare' and i.due_date < ${today}::date and d.cancelled_at is null), 0)::bigint as overdue_cents
    from installments i where i.document_id = d.id) as f`
}

/** Service, holder and pupil of document `d`, as scalar subqueries (see figuresSql). */
function namesSql(tx: Tx) {
  return tx`(select s.name from services s where s.id = d.service_id) as service,
      (select s.name_en from services s where s.id = d.service_id) as service_en,
      (select s.kind from services s where s.id = d.service_id) as service_kind,
      (select p.given_name || ' ' || p.family_name from payers p where p.id = d.payer_id) as holder,
      (select pu.given_name || ' ' || pu.family_name from pupils pu where pu.id = d.pupil_id) as pupil`
}

/** The documents a codice fiscale may see in this tenant, newest first. */
export async function listDocuments(
  tx: Tx,
  cf: Carried,
  today: string,
  filter: { state: 'aperti' | 'pagati' | 'tutti'; year?: number },
) {
  const rows = await tx<DocumentSummary[]>`
    with me as (select id from payers where codice_fiscale = ${cf}),
    visible as (
      select d.id from documents d where d.payer_id = (select id from me)
      union
      select d.id from documents d
      where d.pupil_id in (select pp.pupil_id from pupil_payers pp where pp.payer_id = (select id from me))
    )
    select d.id, d.year, d.number, d.issue_date, d.description, d.total_cents, f.residual_cents,
      ${namesSql(tx)}, f.status, f.next_due, f.installments, f.overdue_ids, f.overdue_cents
    from documents d ${figuresSql(tx, today)}
    where d.id in (select id from visible) and f.installments > 0
      and ${filter.year ? tx`d.year = ${filter.year}` : tx`true`}
    order by d.issue_date desc, d.id desc`
  if (filter.state === 'aperti')
    return rows.filter((r) => r.status === 'pagabile' || r.status === 'scaduto' || r.status === 'in_corso')
  if (filter.state === 'pagati') return rows.filter((r) => r.status === 'pagato')
  return rows
}

/** The payer rows of a codice fiscale, as the CTE `me` the visibility condition reads. */
const meCte = (tx: Tx, cf: Carried) => tx`with me as (select id from payers where codice_fiscale = ${cf})`

/** Document `d` is the codice fiscale's: issued to it, or to a pupil it is linked to (needs meCte). */
const visibleTo = (tx: Tx, d: string) =>
  tx`(${tx(d)}.payer_id in (select id from me)
      or ${tx(d)}.pupil_id in (select pupil_id from pupil_payers where payer_id in (select id from me)))`

/**
 * One document with its installments, or null when the codice fiscale may not see it. Both statements go out at
 * once (neither waits for the other's answer); the installments' own statement checks the same visibility.
 */
export async function loadDocument(tx: Tx, cf: Carried, today: string, documentId: number) {
  const [[doc], installments] = await Promise.all([
    tx<(DocumentSummary & { cancel_reason: string | null; holder_cf: string; causale: string })[]>`
      ${meCte(tx, cf)}
      select d.id, d.year, d.number, d.issue_date, d.description, d.total_cents, d.cancel_reason,
        (select s.causale from services s where s.id = d.service_id) as causale, f.residual_cents,
        ${namesSql(tx)}, (select p.codice_fiscale from payers p where p.id = d.payer_id) as holder_cf,
        f.status, f.next_due, f.installments
      from documents d ${figuresSql(tx, today)}
      where d.id = ${documentId} and f.installments > 0 and ${visibleTo(tx, 'd')}`,
    tx<Omit<InstallmentView, 'in_cart'>[]>`
      ${meCte(tx, cf)}
      select i.id, i.seq, i.due_date, i.amount_cents, i.iuv, i.notice_code, i.status,
        i.status = 'da_pagare' and i.due_date < ${today}::date as overdue, i.paid_at, ip.receipt_number,
        i.refunded_cents,
        (select coalesce(json_agg(json_build_object('amount_cents', r.amount_cents, 'status', r.status,
                  'executed_on', r.executed_on) order by r.id), '[]')
         from refunds r where r.installment_id = i.id and r.status in ('aperto', 'eseguito')) as refunds
      from installments i left join installment_payments ip on ip.installment_id = i.id
      where i.document_id = ${documentId}
        and exists (select 1 from documents v where v.id = ${documentId} and ${visibleTo(tx, 'v')})
      order by i.seq`,
  ])
  if (!doc) return null
  return { doc, installments }
}

export interface NoticeRow {
  id: number
  notice_code: string
  iuv: string
  amount_cents: number
  due_date: string
  status: string
  causale: string
  description: string
  payer_name: string
  payer_cf: string
  payer_address: string | null
  pupil_name: string | null
  cancelled: boolean
  seq: number
  seq_of: number
  /** the other beneficiaries' shares (decision 0104) */
  transfers: { name: string; fiscalCode: string; amountCents: number }[] | null
}

/** The installments the codice fiscale may see that match `where`, with what a printed notice of each needs. */
function notices(tx: Tx, cf: string, where: ReturnType<Tx>) {
  return tx<NoticeRow[]>`
    ${meCte(tx, cf)}
    select i.id, i.notice_code, i.iuv, i.amount_cents, i.due_date, i.status, s.causale, d.description,
      p.given_name || ' ' || p.family_name as payer_name, p.codice_fiscale as payer_cf, p.address as payer_address,
      pu.given_name || ' ' || pu.family_name as pupil_name, d.cancelled_at is not null as cancelled, i.seq,
      (select count(*)::int from installments x where x.document_id = d.id) as seq_of,
      (select json_agg(json_build_object('name', t.name, 'fiscalCode', t.fiscal_code, 'amountCents', t.amount_cents)
         order by t.id_transfer) from installment_transfers t where t.installment_id = i.id) as transfers
    from installments i join documents d on d.id = i.document_id join services s on s.id = d.service_id
      join payers p on p.id = d.payer_id left join pupils pu on pu.id = d.pupil_id
    where ${where} and ${visibleTo(tx, 'd')}
    order by i.seq`
}

/**
 * The notices of a document the codice fiscale may see that can still be paid (to pay, in their order). Empty when
 * the document is not theirs, cancelled, or fully paid.
 */
export async function loadDocumentNotices(tx: Tx, cf: string, documentId: number): Promise<NoticeRow[]> {
  const [rows, full] = await Promise.all([
    notices(tx, cf, tx`d.id = ${documentId} and d.cancelled_at is null and i.status = 'da_pagare'`),
    tx<
      { iuv: string; notice_code: string }[]
    >`select iuv, notice_code from full_notices where document_id = ${documentId}`,
  ])
  const first = rows[0]
  // while every installment is to pay, the notice for the whole amount comes first, as the notice model prints it
  // (decision 0103); the rows above already proved the document is this codice fiscale's
  if (!first || !full[0] || rows.length !== first.seq_of || first.seq_of < 2) return rows
  return [
    {
      ...first,
      id: 0,
      seq: 0,
      notice_code: full[0].notice_code,
      iuv: full[0].iuv,
      amount_cents: rows.reduce((s, r) => s + r.amount_cents, 0),
      transfers: sumByBody(rows.map((r) => r.transfers ?? [])),
    },
    ...rows,
  ]
}

/** An installment the codice fiscale may see, with what its printed notice needs. */
export async function loadNotice(tx: Tx, cf: string, installmentId: number): Promise<NoticeRow | null> {
  const [row] = await notices(tx, cf, tx`i.id = ${installmentId}`)
  return row ?? null
}

/** Which of these installments the codice fiscale may put in the cart: visible to it and still payable. */
export async function visibleInstallments(tx: Tx, cf: string, ids: number[]): Promise<number[]> {
  if (!ids.length) return []
  const rows = await tx<{ id: number }[]>`
    with me as (select id from payers where codice_fiscale = ${cf})
    select i.id from installments i join documents d on d.id = i.document_id
    where i.id = any(${ids}) and i.status = 'da_pagare' and d.cancelled_at is null
      and (d.payer_id in (select id from me)
           or d.pupil_id in (select pupil_id from pupil_payers where payer_id in (select id from me)))`
  return rows.map((r) => r.id)
}

export interface OwedFigures {
  due_cents: number
  due_count: number
  overdue_count: number
  overdue_cents: number
  next_due: string | null
}

/** What a codice fiscale owes in this tenant, in one row: to pay, overdue, and the next due date. */
export async function owedFigures(tx: Tx, cf: string, today: string): Promise<OwedFigures> {
  const [row] = await tx<OwedFigures[]>`
    ${meCte(tx, cf)}
    select coalesce(sum(i.amount_cents) filter (where i.status in ('da_pagare', 'in_corso')), 0)::bigint as due_cents,
      (count(*) filter (where i.status in ('da_pagare', 'in_corso')))::int as due_count,
      (count(*) filter (where i.status = 'da_pagare' and i.due_date < ${today}::date))::int as overdue_count,
      coalesce(sum(i.amount_cents) filter (where i.status = 'da_pagare' and i.due_date < ${today}::date), 0)::bigint
        as overdue_cents,
      min(i.due_date) filter (where i.status = 'da_pagare' and i.due_date >= ${today}::date) as next_due
    from installments i join documents d on d.id = i.document_id
    where d.cancelled_at is null and ${visibleTo(tx, 'd')}`
  return row as OwedFigures
}
