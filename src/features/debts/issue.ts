// Issuing documents (debt positions) with their installments: every installment gets its IUV and notice code.
// Bulk by design: a handful of statements for any number of documents, inside the caller's tenant transaction.
import type { Tx } from '../../platform/db.ts'
import { baseFromSequence, buildNotice } from '../../platform/it/pagopa.ts'
import { beneficiaryRules, minimumAmount, SplitError, splitAmount, type TransferShare, transferRows } from './split.ts'

export { SplitError }

export interface InstallmentInput {
  dueDate: string
  amountCents: number
}

export interface DocumentInput {
  year: number
  issueDate: string
  serviceId: number
  payerId: number
  pupilId: number | null
  description: string
  installments: InstallmentInput[]
}

export interface IssuedInstallment {
  id: number
  documentId: number
  seq: number
  iuv: string
  noticeCode: string
}

interface TenantCodes {
  segregationCode: string
}

export async function issueDocuments(
  tx: Tx,
  tenant: TenantCodes & { id: number },
  docs: DocumentInput[],
): Promise<{ documentIds: number[]; installments: IssuedInstallment[] }> {
  if (docs.length === 0) return { documentIds: [], installments: [] }
  for (const d of docs) {
    if (d.installments.length === 0) throw new Error('a document needs at least one installment')
    for (const i of d.installments) {
      if (!Number.isSafeInteger(i.amountCents) || i.amountCents <= 0)
        throw new Error('installment amounts are positive cents')
    }
  }
  const totalInstallments = docs.reduce((n, d) => n + d.installments.length, 0)
  // a document in installments also gets a notice for the whole amount (decision 0103)
  const inParts = docs.filter((d) => d.installments.length > 1).length
  // one round trip: the numbers, and the services' beneficiaries (a refused split leaves gaps in the sequences,
  // as any rollback does)
  const [numbers, iuvs, fullIuvs, rules] = await Promise.all([
    tx<{ n: number }[]>`select nextval('document_number_seq') as n from generate_series(1, ${docs.length})`,
    tx<{ n: number }[]>`select nextval('iuv_seq') as n from generate_series(1, ${totalInstallments})`,
    inParts
      ? tx<{ n: number }[]>`select nextval('iuv_seq') as n from generate_series(1, ${inParts})`
      : Promise.resolve([] as { n: number }[]),
    beneficiaryRules(
      tx,
      docs.map((d) => d.serviceId),
    ),
  ])
  // several beneficiaries: every installment's split, checked before anything is written (decision 0104)
  const splits: (TransferShare[] | null)[][] = docs.map((d) =>
    d.installments.map((i) => {
      const r = rules.get(d.serviceId)
      if (!r?.length) return null
      const shares = splitAmount(i.amountCents, r)
      if (!shares) throw new SplitError(d.serviceId, i.amountCents, minimumAmount(r) - 1)
      return shares
    }),
  )
  const docRows = docs.map((d, i) => ({
    year: d.year,
    number: String((numbers[i] as { n: number }).n).padStart(6, '0'),
    issue_date: d.issueDate,
    service_id: d.serviceId,
    payer_id: d.payerId,
    pupil_id: d.pupilId,
    description: d.description,
    total_cents: d.installments.reduce((s, x) => s + x.amountCents, 0),
  }))
  // Chunks keep each statement under the protocol's parameter limit (65,535): 8 columns × 5,000 rows.
  // Ids are matched back by (year, number), unique per tenant, not by the order rows come back in.
  const docIds = new Map<string, number>()
  for (let i = 0; i < docRows.length; i += CHUNK) {
    const rows = await tx<{ id: number; year: number; number: string }[]>`
      insert into documents ${tx(docRows.slice(i, i + CHUNK))} returning id, year, number`
    for (const r of rows) docIds.set(`${r.year}/${r.number}`, r.id)
  }
  const documentIds = docRows.map((r) => docIds.get(`${r.year}/${r.number}`) as number)
  let k = 0
  const instRows = docs.flatMap((d, di) =>
    d.installments.map((inst, si) => {
      const { iuv, noticeCode } = buildNotice(tenant.segregationCode, baseFromSequence((iuvs[k++] as { n: number }).n))
      return {
        document_id: documentIds[di] as number,
        seq: si + 1,
        due_date: inst.dueDate,
        amount_cents: inst.amountCents,
        iuv,
        notice_code: noticeCode,
      }
    }),
  )
  const out: IssuedInstallment[] = []
  for (let i = 0; i < instRows.length; i += CHUNK) {
    const chunk = instRows.slice(i, i + CHUNK)
    const rows = await insertInstallments(tx, tenant.segregationCode, chunk)
    for (const r of rows)
      out.push({ id: r.id, documentId: r.document_id, seq: r.seq, iuv: r.iuv, noticeCode: r.notice_code })
  }
  if (rules.size) {
    const docIndex = new Map(documentIds.map((id, di) => [id, di]))
    const transfers = out.flatMap((o) => {
      const shares = splits[docIndex.get(o.documentId) as number]?.[o.seq - 1]
      return shares ? transferRows(o.id, shares) : []
    })
    for (let i = 0; i < transfers.length; i += CHUNK)
      await tx`insert into installment_transfers ${tx(transfers.slice(i, i + CHUNK))}`
  }
  if (inParts) {
    let f = 0
    const fullRows = docs.flatMap((d, di) => {
      if (d.installments.length < 2) return []
      const n = buildNotice(tenant.segregationCode, baseFromSequence((fullIuvs[f++] as { n: number }).n))
      return [{ document_id: documentIds[di] as number, iuv: n.iuv, notice_code: n.noticeCode }]
    })
    // a number from the sequence is free unless a notice was created outside it (imported): then that document
    // simply has no single-payment notice
    const taken = new Set(
      (
        await tx<{ iuv: string }[]>`select iuv from installments where iuv = any(${fullRows.map((r) => r.iuv)}::text[])`
      ).map((r) => r.iuv),
    )
    const free = fullRows.filter((r) => !taken.has(r.iuv))
    for (let i = 0; i < free.length; i += CHUNK)
      await tx`insert into full_notices ${tx(free.slice(i, i + CHUNK))} on conflict do nothing`
  }
  // the holder and every payer linked to the pupil (both parents, delegates) can find the document
  const payerIds = [...new Set(docs.map((d) => d.payerId))]
  const pupilIds = [...new Set(docs.map((d) => d.pupilId).filter((x): x is number => x !== null))]
  await tx`
    insert into platform.payer_index (codice_fiscale, tenant_id)
    select distinct p.codice_fiscale, ${tenant.id}::bigint from payers p
    where p.id = any(${payerIds}) or p.id in (select payer_id from pupil_payers where pupil_id = any(${pupilIds}))
    on conflict do nothing`
  return { documentIds, installments: out }
}

const CHUNK = 5000
const MAX_IUV_RETRIES = 5

interface InstallmentRow {
  document_id: number
  seq: number
  due_date: string
  amount_cents: number
  iuv: string
  notice_code: string
}

/**
 * Inserts installments; an IUV already taken (a notice created outside the sequence: imported, migrated from a
 * previous system) makes the insert fail on its unique index, and the colliding rows get fresh IUVs from the
 * sequence and are tried again. A savepoint keeps the caller's transaction usable after the failed attempt.
 */
async function insertInstallments(tx: Tx, segregationCode: string, rows: InstallmentRow[]) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await tx.savepoint(
        (sp) =>
          sp<{ id: number; document_id: number; seq: number; iuv: string; notice_code: string }[]>`
          insert into installments ${sp(rows)} returning id, document_id, seq, iuv, notice_code`,
      )
    } catch (err) {
      const e = err as { code?: string; constraint_name?: string; message?: string }
      // on Citus the error comes from the worker: the name is the shard's (installments_iuv_key_102184) and only in
      // the message
      const constraint = e.constraint_name ?? /unique constraint "([^"]+)"/.exec(e.message ?? '')?.[1] ?? ''
      const iuvConflict = e.code === '23505' && /^installments_(iuv|notice_code)_key(_\d+)?$/.test(constraint)
      if (!iuvConflict || attempt >= MAX_IUV_RETRIES) throw err
      const taken = new Set(
        (await tx<{ iuv: string }[]>`select iuv from installments where iuv = any(${rows.map((r) => r.iuv)})`).map(
          (r) => r.iuv,
        ),
      )
      const clash = rows.filter((r) => taken.has(r.iuv))
      if (clash.length === 0) continue // taken by a concurrent transaction that since rolled back
      const fresh = await tx<{ n: number }[]>`
        select nextval('iuv_seq') as n from generate_series(1, ${clash.length})`
      clash.forEach((r, j) => {
        const n = buildNotice(segregationCode, baseFromSequence((fresh[j] as { n: number }).n))
        r.iuv = n.iuv
        r.notice_code = n.noticeCode
      })
    }
  }
}
