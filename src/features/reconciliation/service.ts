// Importing a reporting flow or bank statement into a tenant: every line matched to an installment by IUV
// and amount, external payments settled with the flow's receipt number (settleInstallments, source
// 'riconciliazione'), the rest listed as discrepancies for staff. One transaction per flow, serialized per
// flow id: the same version imported again changes nothing, a later version supersedes the earlier one and
// settles only what is new, an earlier version arriving late is ignored. Bulk throughout: a handful of
// statements whatever the number of lines.
import { createHash } from 'node:crypto'
import { type Actor, audit } from '../../platform/audit.ts'
import { type Sql, type Tx, withTenant } from '../../platform/db.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { proposeRefunds } from '../payments/refunds.ts'
import { type Settlement, settleInstallments } from '../payments/settle.ts'
import { type FlowLine, type ParsedFlow, parseFlowFile } from './parse.ts'

export type LineResult =
  | 'matched'
  | 'confirmed'
  | 'unknown_iuv'
  | 'amount_differs'
  | 'already_paid'
  | 'paid_twice'
  | 'cancelled'
  | 'revoked'
  | 'withdrawn'

export const DISCREPANCY_KINDS: LineResult[] = [
  'unknown_iuv',
  'amount_differs',
  'already_paid',
  'paid_twice',
  'cancelled',
  'revoked',
  'withdrawn',
]

/** A readable file that this tenant must not import (e.g. a flow addressed to another creditor). */
export class ImportRefused extends Error {
  constructor(
    readonly code: 'otherCreditor',
    detail?: string,
  ) {
    super(detail ? `${code}: ${detail}` : code)
  }
}

export type ImportSource = 'upload' | 'cartella' | 'api'

export interface ImportRequest {
  bytes: Uint8Array
  fileName: string | null
  source: ImportSource
  actor: Actor
  /** tests: called between steps; throwing simulates a crash there */
  step?: (name: string) => void | Promise<void>
}

export interface ImportOutcome {
  /** imported: a new flow or a later version; unchanged: this version was imported before; older: superseded already */
  status: 'imported' | 'unchanged' | 'older'
  importId: number | null
  kind: ParsedFlow['kind']
  flowId: string
  lines: number
  matched: number
  confirmed: number
  discrepancies: number
}

interface InstallmentMatch {
  id: number
  iuv: string
  amount_cents: number
  status: string
  cancelled: boolean
  settled_source: string | null
  settled_receipt: string | null
  /** what a flow line brings for it: the amount less the other beneficiaries' transfers (decision 0104) */
  own_cents: number
  /** a document's single-payment notice (decision 0103): its installments, the first being `id` */
  parts?: { id: number; amount_cents: number; settled_source: string | null; settled_receipt: string | null }[]
}

interface PreviousLine {
  line_key: string
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
  resolved_at: Date | null
  resolved_by: number | null
  resolved_by_name: string | null
  resolution_note: string | null
}

interface LineRow {
  line_no: number
  line_key: string
  iuv: string | null
  reference: string
  amount_cents: number
  paid_on: string | null
  outcome_code: string | null
  payer_name: string | null
  remittance: string | null
  installment_id: number | null
  result: LineResult
  resolved_at: Date | null
  resolved_by: number | null
  resolved_by_name: string | null
  resolution_note: string | null
}

/** The lines whose money goes back to the family, and why. */
const REFUNDABLE: Partial<Record<LineResult, 'doppio_flusso' | 'annullato_flusso'>> = {
  already_paid: 'doppio_flusso',
  paid_twice: 'doppio_flusso',
  cancelled: 'annullato_flusso',
}

// settleInstallments binds nine arrays, whatever the number of rows: chunks only bound a statement's size
const SETTLE_CHUNK = 50_000

/** Decides each line's meaning, in file order (a second payment of the same notice is "paid twice"). */
export function classify(
  lines: FlowLine[],
  installments: Map<string, InstallmentMatch>,
): {
  rows: Omit<LineRow, 'resolved_at' | 'resolved_by' | 'resolved_by_name' | 'resolution_note'>[]
  duplicates: number
} {
  const seen = new Set<string>()
  const paidHere = new Map<number, string>()
  const rows: Omit<LineRow, 'resolved_at' | 'resolved_by' | 'resolved_by_name' | 'resolution_note'>[] = []
  let duplicates = 0
  lines.forEach((l) => {
    if (seen.has(l.key)) {
      duplicates++
      return
    }
    seen.add(l.key)
    const inst = l.iuv ? installments.get(l.iuv) : undefined
    let result: LineResult
    if (l.outcomeCode === '3') result = 'revoked'
    else if (!inst) result = 'unknown_iuv'
    else if (inst.parts) {
      // the whole document at once: confirmed when its receipt settled every installment, paid before when any
      // installment was paid otherwise
      const receipts = inst.parts.map((p) => p.settled_receipt ?? paidHere.get(p.id) ?? null)
      if (receipts.every((r) => r === l.reference)) result = 'confirmed'
      else if (receipts.some((r) => r !== null))
        result = inst.parts.some((p) => paidHere.has(p.id)) ? 'paid_twice' : 'already_paid'
      else if (inst.cancelled || inst.status === 'annullato') result = 'cancelled'
      else if (Number(inst.own_cents) !== l.amountCents) result = 'amount_differs'
      else {
        result = 'matched'
        for (const p of inst.parts) paidHere.set(p.id, l.reference)
      }
    } else {
      const receipt = inst.settled_receipt ?? paidHere.get(inst.id) ?? null
      const source = inst.settled_receipt ? inst.settled_source : paidHere.has(inst.id) ? 'riconciliazione' : null
      if (receipt !== null) {
        if (receipt === l.reference) result = 'confirmed'
        else result = source === 'riconciliazione' ? 'paid_twice' : 'already_paid'
      } else if (inst.cancelled || inst.status === 'annullato') result = 'cancelled'
      else if (Number(inst.own_cents ?? inst.amount_cents) !== l.amountCents) result = 'amount_differs'
      else {
        result = 'matched'
        paidHere.set(inst.id, l.reference)
      }
    }
    rows.push({
      line_no: rows.length + 1,
      line_key: l.key,
      iuv: l.iuv,
      reference: l.reference,
      amount_cents: l.amountCents,
      paid_on: l.paidOn,
      outcome_code: l.outcomeCode,
      payer_name: l.payerName,
      remittance: l.remittance,
      installment_id: inst?.id ?? null,
      result,
    })
  })
  return { rows, duplicates }
}

function noonOf(date: string | null, fallback: Date): Date {
  return date ? new Date(`${date}T10:00:00Z`) : fallback
}

/** Reads the file and imports each flow it holds (one for pagoPA, one per statement for camt.053). */
export async function importFile(sql: Sql, tenant: Tenant, req: ImportRequest): Promise<ImportOutcome[]> {
  const xml = new TextDecoder('utf-8').decode(req.bytes)
  const flows = parseFlowFile(xml)
  for (const f of flows) {
    if (f.kind === 'fdr' && f.receiver !== tenant.fiscalCode) throw new ImportRefused('otherCreditor', f.receiver ?? '')
  }
  const sha = createHash('sha256').update(req.bytes).digest('hex')
  await req.step?.('parsed')
  const out: ImportOutcome[] = []
  for (const flow of flows) out.push(await importFlow(sql, tenant, flow, { ...req, sha }))
  return out
}

/**
 * Imports one flow already read (from a file, or from pagoPA's FdR REST interface): a new flow, or a later version
 * that replaces the current one; the same version again changes nothing, an older one is skipped.
 */
export async function importFlow(
  sql: Sql,
  tenant: Tenant,
  flow: ParsedFlow,
  req: Omit<ImportRequest, 'bytes'> & { sha: string; revision?: number },
): Promise<ImportOutcome> {
  const step = req.step ?? (() => {})
  const base = { kind: flow.kind, flowId: flow.flowId }
  const outcome = await withTenant(sql, tenant, async (tx): Promise<ImportOutcome> => {
    // one import of a given flow at a time in this tenant (upload and drop folder, or two instances)
    await tx`select pg_advisory_xact_lock(hashtext(${`reconciliation:${tenant.schema}:${flow.kind}:${flow.flowId}`}))`
    const versions = await tx<
      {
        id: number
        flow_at: Date
        status: string
        line_count: number
        matched: number
        confirmed: number
        discrepancies: number
      }[]
    >`
      select id, flow_at, status, line_count, matched, confirmed, discrepancies from reconciliation_imports
      where kind = ${flow.kind} and flow_id = ${flow.flowId} order by flow_at desc`
    const same = versions.find((v) => v.flow_at.getTime() === flow.flowAt.getTime())
    if (same)
      return {
        ...base,
        status: 'unchanged',
        importId: same.id,
        lines: same.line_count,
        matched: same.matched,
        confirmed: same.confirmed,
        discrepancies: same.discrepancies,
      }
    const latest = versions[0]
    if (latest && latest.flow_at > flow.flowAt)
      return { ...base, status: 'older', importId: latest.id, lines: 0, matched: 0, confirmed: 0, discrepancies: 0 }
    const previous = versions.find((v) => v.status === 'current') ?? null

    const iuvs = [...new Set(flow.lines.map((l) => l.iuv).filter((x): x is string => !!x))]
    const found = iuvs.length
      ? await tx<InstallmentMatch[]>`
          select i.id, i.iuv, i.amount_cents, i.status, d.cancelled_at is not null as cancelled,
            ip.source as settled_source, ip.receipt_number as settled_receipt,
            i.amount_cents - coalesce((select sum(t.amount_cents) from installment_transfers t
                                       where t.installment_id = i.id), 0)::bigint as own_cents
          from installments i join documents d on d.id = i.document_id
            left join installment_payments ip on ip.installment_id = i.id
          where i.iuv = any(${iuvs}::text[])`
      : []
    const byIuv = new Map<string, InstallmentMatch>(found.map((i) => [i.iuv, i]))
    // IUVs of single-payment notices: the document's installments together
    const rest = iuvs.filter((v) => !byIuv.has(v))
    const fulls = rest.length
      ? await tx<
          {
            iuv: string
            id: number
            amount_cents: number
            own_cents: number
            status: string
            cancelled: boolean
            settled_source: string | null
            settled_receipt: string | null
          }[]
        >`
          select f.iuv, i.id, i.amount_cents, i.status, d.cancelled_at is not null as cancelled,
            ip.source as settled_source, ip.receipt_number as settled_receipt,
            i.amount_cents - coalesce((select sum(t.amount_cents) from installment_transfers t
                                       where t.installment_id = i.id), 0)::bigint as own_cents
          from full_notices f join documents d on d.id = f.document_id join installments i on i.document_id = d.id
            left join installment_payments ip on ip.installment_id = i.id
          where f.iuv = any(${rest}::text[]) order by f.iuv, i.seq`
      : []
    for (const r of fulls) {
      const m = byIuv.get(r.iuv)
      const part = {
        id: r.id,
        amount_cents: r.amount_cents,
        settled_source: r.settled_source,
        settled_receipt: r.settled_receipt,
      }
      if (!m)
        byIuv.set(r.iuv, {
          id: r.id,
          iuv: r.iuv,
          amount_cents: r.amount_cents,
          own_cents: Number(r.own_cents),
          status: r.status,
          cancelled: r.cancelled,
          settled_source: null,
          settled_receipt: null,
          parts: [part],
        })
      else {
        m.amount_cents += r.amount_cents
        m.own_cents += Number(r.own_cents)
        if (r.status === 'annullato') m.status = 'annullato'
        m.parts?.push(part)
      }
    }
    const { rows } = classify(flow.lines, byIuv)
    await step('classified')

    // settle the matched lines, in chunks (the protocol's parameter limit)
    const matched = rows.filter((r) => r.result === 'matched')
    const paidAtFallback = new Date()
    const settledIds = new Set<number>()
    for (let i = 0; i < matched.length; i += SETTLE_CHUNK) {
      const chunk = matched.slice(i, i + SETTLE_CHUNK)
      const settlements: Settlement[] = chunk.flatMap((r) => {
        // the installment is settled for its whole amount (what the family paid); with other beneficiaries the
        // line brings only the body's share
        const m = r.iuv ? byIuv.get(r.iuv) : undefined
        const parts = m?.parts ?? [{ id: r.installment_id as number, amount_cents: m?.amount_cents ?? r.amount_cents }]
        return parts.map((p) => ({
          installmentId: p.id,
          paymentId: null,
          source: 'riconciliazione',
          receiptNumber: r.reference,
          amountCents: p.amount_cents,
          paidAt: noonOf(r.paid_on, paidAtFallback),
          psp: flow.sender,
          channel: flow.kind === 'fdr' ? 'pagopa' : 'banca',
        }))
      })
      for (const id of await settleInstallments(tx, settlements)) settledIds.add(id)
    }
    // settled meanwhile by someone else (a checkout applied a moment ago): paid on both channels
    for (const r of matched) if (!settledIds.has(r.installment_id as number)) r.result = 'already_paid'
    await step('settled')

    // carried over from the version this one replaces: resolutions, and what it settled but this one drops
    const prevLines = previous
      ? await tx<PreviousLine[]>`
          select line_key, line_no, iuv, reference, amount_cents, paid_on, outcome_code, payer_name, remittance,
            installment_id, result, resolved_at, resolved_by, resolved_by_name, resolution_note
          from reconciliation_lines where import_id = ${previous.id}`
      : []
    const prevByKey = new Map(prevLines.map((p) => [p.line_key, p]))
    const all: LineRow[] = rows.map((r) => {
      const p = prevByKey.get(r.line_key)
      const keep = p && p.result === r.result && p.resolved_at
      return {
        ...r,
        resolved_at: keep ? p.resolved_at : null,
        resolved_by: keep ? p.resolved_by : null,
        resolved_by_name: keep ? p.resolved_by_name : null,
        resolution_note: keep ? p.resolution_note : null,
      }
    })
    const newKeys = new Set(rows.map((r) => r.line_key))
    for (const p of prevLines) {
      if (newKeys.has(p.line_key)) continue
      const wasPaid = p.result === 'matched' || p.result === 'confirmed'
      if (!wasPaid && p.result !== 'withdrawn') continue
      all.push({ ...p, line_no: all.length + 1, result: 'withdrawn' })
    }

    const counts = {
      lines: rows.length,
      matched: all.filter((r) => r.result === 'matched').length,
      confirmed: all.filter((r) => r.result === 'confirmed').length,
      discrepancies: all.filter((r) => r.result !== 'matched' && r.result !== 'confirmed').length,
    }
    const [imp] = await tx<{ id: number }[]>`
      insert into reconciliation_imports (kind, flow_id, flow_at, settlement_ref, settlement_date, sender, receiver,
        declared_count, declared_cents, line_count, total_cents, matched, confirmed, discrepancies, source, file_name,
        file_sha256, imported_by, imported_by_name, revision)
      values (${flow.kind}, ${flow.flowId}, ${flow.flowAt}, ${flow.settlementRef}, ${flow.settlementDate}, ${flow.sender},
        ${flow.receiver}, ${flow.declaredCount}, ${flow.declaredCents}, ${counts.lines},
        ${rows.reduce((s, r) => s + r.amount_cents, 0)}, ${counts.matched}, ${counts.confirmed}, ${counts.discrepancies},
        ${req.source}, ${req.fileName?.slice(0, 200) ?? null}, ${req.sha}, ${req.actor.accountId}, ${req.actor.name},
        ${req.revision ?? null})
      returning id`
    const importId = (imp as { id: number }).id
    await step('import-recorded')
    await insertLines(tx, importId, all)
    await step('lines-recorded')
    // money received twice or for a cancelled notice goes back: a refund proposed for the office, once per
    // payment — a pagoPA line's IUR is the receipt's id, so the receipt and its line propose one (decision 0096)
    await proposeRefunds(
      tx,
      rows
        .filter((r) => r.installment_id !== null && REFUNDABLE[r.result] !== undefined)
        .map((r) => ({
          installmentId: r.installment_id as number,
          basis: 'riga_flusso' as const,
          basisRef: r.reference,
          paidCents: r.amount_cents,
          reasonCode: REFUNDABLE[r.result] as 'doppio_flusso' | 'annullato_flusso',
          key: flow.kind === 'fdr' ? `pagopa:${r.reference}` : `banca:${flow.flowId}:${r.line_key}`,
        })),
    )
    if (previous) {
      await tx`update reconciliation_imports set status = 'superseded', superseded_by = ${importId} where id = ${previous.id}`
    }
    await audit(tx, req.actor, {
      action: previous ? 'reconciliation.replace' : 'reconciliation.import',
      entity: 'reconciliation_import',
      entityId: importId,
      before: previous ? { importId: previous.id } : undefined,
      after: { kind: flow.kind, flowId: flow.flowId, flowAt: flow.flowAt.toISOString(), ...counts },
    })
    await step('audited')
    return { ...base, status: 'imported', importId, ...counts }
  })
  await step('committed')
  return outcome
}

async function insertLines(tx: Tx, importId: number, rows: LineRow[]) {
  for (let i = 0; i < rows.length; i += 50_000) {
    const part = rows.slice(i, i + 50_000)
    await tx`
      insert into reconciliation_lines (import_id, line_no, line_key, iuv, reference, amount_cents, paid_on, outcome_code,
        payer_name, remittance, installment_id, result, resolved_at, resolved_by, resolved_by_name, resolution_note)
      select ${importId}, * from unnest(
        ${part.map((r) => r.line_no)}::int[], ${part.map((r) => r.line_key)}::text[], ${part.map((r) => r.iuv)}::text[],
        ${part.map((r) => r.reference)}::text[], ${part.map((r) => r.amount_cents)}::bigint[],
        ${part.map((r) => r.paid_on)}::date[], ${part.map((r) => r.outcome_code)}::text[],
        ${part.map((r) => r.payer_name)}::text[], ${part.map((r) => r.remittance)}::text[],
        ${part.map((r) => r.installment_id)}::bigint[], ${part.map((r) => r.result)}::text[],
        ${part.map((r) => r.resolved_at)}::timestamptz[], ${part.map((r) => r.resolved_by)}::bigint[],
        ${part.map((r) => r.resolved_by_name)}::text[], ${part.map((r) => r.resolution_note)}::text[])`
  }
}

/** Marks a discrepancy resolved with the staff member's note; audited. False when it is not open. */
export async function resolveDiscrepancy(tx: Tx, lineId: number, note: string, actor: Actor): Promise<boolean> {
  const rows = await tx<{ result: string; iuv: string | null; reference: string }[]>`
    update reconciliation_lines set resolved_at = now(), resolved_by = ${actor.accountId},
      resolved_by_name = ${actor.name}, resolution_note = ${note}
    where id = ${lineId} and discrepancy and resolved_at is null
      and import_id in (select id from reconciliation_imports where status = 'current')
    returning result, iuv, reference`
  const row = rows[0]
  if (!row) return false
  await audit(tx, actor, {
    action: 'reconciliation.resolve',
    entity: 'reconciliation_line',
    entityId: lineId,
    before: { result: row.result, iuv: row.iuv, reference: row.reference, resolved: false },
    after: { resolved: true },
    reason: note,
  })
  return true
}
