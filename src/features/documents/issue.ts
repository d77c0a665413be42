// Issuing documents (debt positions) with their installments: every installment gets its IUV and notice code.
// Bulk by design: a handful of statements for any number of documents, inside the caller's tenant transaction.
import type { Tx } from '../../platform/db.ts'
import { baseFromSequence, buildNotice } from '../../platform/it/pagopa.ts'

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
  const [numbers, iuvs] = await Promise.all([
    tx<{ n: number }[]>`select nextval('document_number_seq') as n from generate_series(1, ${docs.length})`,
    tx<{ n: number }[]>`select nextval('iuv_seq') as n from generate_series(1, ${totalInstallments})`,
  ])
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
  const inserted = await tx<{ id: number }[]>`insert into documents ${tx(docRows)} returning id`
  let k = 0
  const instRows = docs.flatMap((d, di) =>
    d.installments.map((inst, si) => {
      const { iuv, noticeCode } = buildNotice(tenant.segregationCode, baseFromSequence((iuvs[k++] as { n: number }).n))
      return {
        document_id: (inserted[di] as { id: number }).id,
        seq: si + 1,
        due_date: inst.dueDate,
        amount_cents: inst.amountCents,
        iuv,
        notice_code: noticeCode,
      }
    }),
  )
  // Chunks keep each statement under the protocol's parameter limit (65,535).
  const out: IssuedInstallment[] = []
  for (let i = 0; i < instRows.length; i += 5000) {
    const rows = await tx<{ id: number; document_id: number; seq: number; iuv: string; notice_code: string }[]>`
      insert into installments ${tx(instRows.slice(i, i + 5000))}
      returning id, document_id, seq, iuv, notice_code`
    for (const r of rows)
      out.push({ id: r.id, documentId: r.document_id, seq: r.seq, iuv: r.iuv, noticeCode: r.notice_code })
  }
  // the holder and every payer linked to the pupil (both parents, delegates) can find the document
  const payerIds = [...new Set(docs.map((d) => d.payerId))]
  const pupilIds = [...new Set(docs.map((d) => d.pupilId).filter((x): x is number => x !== null))]
  await tx`
    insert into platform.payer_index (codice_fiscale, tenant_id)
    select distinct p.codice_fiscale, ${tenant.id}::bigint from payers p
    where p.id = any(${payerIds}) or p.id in (select payer_id from pupil_payers where pupil_id = any(${pupilIds}))
    on conflict do nothing`
  return { documentIds: inserted.map((r) => r.id), installments: out }
}
