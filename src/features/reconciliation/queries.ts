// What the office's reconciliation pages read: imported flows, their lines, and the discrepancies to resolve.
import type { Tx } from '../../platform/db.ts'
import type { LineResult } from './service.ts'

export interface ImportRow {
  id: number
  kind: 'fdr' | 'camt053'
  flow_id: string
  flow_at: Date
  settlement_ref: string | null
  settlement_date: string | null
  sender: string | null
  receiver: string | null
  declared_count: number | null
  declared_cents: number | null
  line_count: number
  total_cents: number
  matched: number
  confirmed: number
  discrepancies: number
  open_discrepancies: number
  source: 'upload' | 'cartella' | 'api'
  file_name: string | null
  status: 'current' | 'superseded'
  superseded_by: number | null
  imported_at: Date
  imported_by_name: string
}

const importColumns = (tx: Tx) => tx`
  r.id, r.kind, r.flow_id, r.flow_at, r.settlement_ref, r.settlement_date, r.sender, r.receiver, r.declared_count,
  r.declared_cents, r.line_count, r.total_cents, r.matched, r.confirmed, r.discrepancies, r.source, r.file_name,
  r.status, r.superseded_by, r.imported_at, r.imported_by_name,
  case when r.status = 'current' then (select count(*)::int from reconciliation_lines l
    where l.import_id = r.id and l.discrepancy and l.resolved_at is null) else 0 end as open_discrepancies`

export async function listImports(tx: Tx, limit = 50): Promise<ImportRow[]> {
  return tx<ImportRow[]>`
    select ${importColumns(tx)} from reconciliation_imports r order by r.imported_at desc, r.id desc limit ${limit}`
}

export async function loadImport(tx: Tx, id: number): Promise<ImportRow | null> {
  const [row] = await tx<ImportRow[]>`select ${importColumns(tx)} from reconciliation_imports r where r.id = ${id}`
  return row ?? null
}

export interface LineView {
  id: number
  import_id: number
  line_no: number
  iuv: string | null
  reference: string
  amount_cents: number
  paid_on: string | null
  outcome_code: string | null
  payer_name: string | null
  remittance: string | null
  installment_id: number | null
  result: LineResult
  discrepancy: boolean
  resolved_at: Date | null
  resolved_by_name: string | null
  resolution_note: string | null
  flow_id: string
  kind: 'fdr' | 'camt053'
  import_status: 'current' | 'superseded'
  document_description: string | null
  installment_seq: number | null
  installment_cents: number | null
  installment_status: string | null
  holder: string | null
  settled_source: string | null
  settled_receipt: string | null
}

const lineSelect = (tx: Tx) => tx`
  select l.id, l.import_id, l.line_no, l.iuv, l.reference, l.amount_cents, l.paid_on, l.outcome_code, l.payer_name,
    l.remittance, l.installment_id, l.result, l.discrepancy, l.resolved_at, l.resolved_by_name, l.resolution_note,
    r.flow_id, r.kind, r.status as import_status,
    d.description as document_description, i.seq as installment_seq, i.amount_cents as installment_cents,
    i.status as installment_status, p.given_name || ' ' || p.family_name as holder,
    ip.source as settled_source, ip.receipt_number as settled_receipt
  from reconciliation_lines l
    join reconciliation_imports r on r.id = l.import_id
    left join installments i on i.id = l.installment_id
    left join documents d on d.id = i.document_id
    left join payers p on p.id = d.payer_id
    left join installment_payments ip on ip.installment_id = l.installment_id`

export async function importLines(tx: Tx, importId: number, which: 'discrepancies' | 'matched', limit: number) {
  return tx<LineView[]>`
    ${lineSelect(tx)}
    where l.import_id = ${importId} and ${which === 'discrepancies' ? tx`l.discrepancy` : tx`not l.discrepancy`}
    order by l.line_no limit ${limit}`
}

export async function resultCounts(tx: Tx, importId: number): Promise<Record<string, number>> {
  const rows = await tx<{ result: string; n: number }[]>`
    select result, count(*)::int as n from reconciliation_lines where import_id = ${importId} group by result`
  return Object.fromEntries(rows.map((r) => [r.result, r.n]))
}

/** Discrepancies of the current version of every flow: open ones, or those already resolved. */
export async function listDiscrepancies(tx: Tx, state: 'aperte' | 'risolte', limit = 500) {
  return tx<LineView[]>`
    ${lineSelect(tx)}
    where l.discrepancy and r.status = 'current'
      and ${state === 'aperte' ? tx`l.resolved_at is null` : tx`l.resolved_at is not null`}
    order by ${state === 'aperte' ? tx`r.imported_at desc, l.line_no` : tx`l.resolved_at desc`}
    limit ${limit}`
}

export async function loadLine(tx: Tx, id: number): Promise<LineView | null> {
  const [row] = await tx<LineView[]>`${lineSelect(tx)} where l.id = ${id}`
  return row ?? null
}

export async function openDiscrepancyCount(tx: Tx): Promise<number> {
  const [row] = await tx<{ n: number }[]>`
    select count(*)::int as n from reconciliation_lines l join reconciliation_imports r on r.id = l.import_id
    where l.discrepancy and l.resolved_at is null and r.status = 'current'`
  return row?.n ?? 0
}
