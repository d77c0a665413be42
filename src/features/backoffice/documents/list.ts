// Documents as the office sees them: the list and one document with its notices, and the office's rows of
// documents (documentsOf), also shown on a payer's and a pupil's page. Issuing one is in issue.ts, cancelling and
// correcting in changes.ts.
import { Hono } from 'hono'
import { z } from 'zod'
import { todayRome } from '../../../platform/dates.ts'
import type { Tx } from '../../../platform/db.ts'
import { NotFound } from '../../../platform/errors.ts'
import type { Env } from '../../../platform/http.ts'
import { containsPattern, historyLabels, historyOf, idParam, inTenant, page, readers, searchField } from '../common.ts'

export const documentRoutes = new Hono<Env>()

// ---- list

const listSchema = z.object({
  q: searchField,
  stato: z.enum(['tutti', 'aperti', 'scaduti', 'pagati', 'annullati']).catch('tutti'),
  pagina: z.coerce.number().int().min(1).max(100_000).catch(1),
})
const PAGE_SIZE = 50

documentRoutes.get('/t/:tenant/ufficio/documenti', readers, async (c) => {
  const f = listSchema.parse(c.req.query())
  const like = containsPattern(f.q)
  const rows = await inTenant(c, (tx) => {
    const q = f.q
      ? tx`(d.number = ${f.q} or d.number || '/' || d.year = ${f.q} or lower(d.description) like ${like}
            or lower(p.given_name || ' ' || p.family_name) like ${like} or lower(p.family_name || ' ' || p.given_name) like ${like}
            or p.codice_fiscale = ${f.q.toUpperCase()}
            or lower(coalesce(pu.given_name || ' ' || pu.family_name, '')) like ${like} or pu.codice_fiscale = ${f.q.toUpperCase()})`
      : tx`true`
    const today = todayRome()
    const state =
      f.stato === 'annullati'
        ? tx`d.cancelled_at is not null`
        : f.stato === 'pagati'
          ? tx`d.cancelled_at is null and not exists (select 1 from installments x where x.document_id = d.id and x.status in ('da_pagare', 'in_corso'))`
          : f.stato === 'scaduti'
            ? tx`d.cancelled_at is null and exists (select 1 from installments x where x.document_id = d.id and x.status = 'da_pagare' and x.due_date < ${today}::date)`
            : f.stato === 'aperti'
              ? tx`d.cancelled_at is null and exists (select 1 from installments x where x.document_id = d.id and x.status in ('da_pagare', 'in_corso'))`
              : tx`true`
    return documentsOfPage(tx, tx`${q} and ${state}`, (f.pagina - 1) * PAGE_SIZE)
  })
  return page(c, 'documents', {
    title: c.var.t('backoffice.documents.title'),
    filter: f,
    documents: rows.slice(0, PAGE_SIZE),
    hasNext: rows.length > PAGE_SIZE,
  })
})

async function documentsOfPage(tx: Tx, where: ReturnType<Tx>, offset: number) {
  const ids = await tx<{ id: number }[]>`
    select d.id from documents d join payers p on p.id = d.payer_id left join pupils pu on pu.id = d.pupil_id
    where ${where} order by d.issue_date desc, d.id desc limit ${PAGE_SIZE + 1} offset ${offset}`
  if (!ids.length) return []
  return documentsOf(tx, tx`d.id = any(${ids.map((r) => r.id)})`, PAGE_SIZE + 1)
}

// ---- one document

interface DocumentRow {
  id: number
  year: number
  number: string
  issue_date: string
  description: string
  total_cents: number
  cancelled_at: Date | null
  cancel_reason: string | null
  service_id: number
  service: string
  payer_id: number
  payer: string
  payer_cf: string
  pupil_id: number | null
  pupil: string | null
  import_id: number | null
}

export interface InstallmentRow {
  id: number
  seq: number
  due_date: string
  amount_cents: number
  iuv: string
  notice_code: string
  status: 'da_pagare' | 'in_corso' | 'pagato' | 'annullato'
  paid_at: Date | null
  receipt_number: string | null
  source: string | null
  channel: string | null
  /** what executed refunds of the settling payment gave back */
  refunded_cents: number
}

export async function loadDocument(tx: Tx, id: number, lock = false) {
  const [doc] = await tx<DocumentRow[]>`
    select d.id, d.year, d.number, d.issue_date, d.description, d.total_cents, d.cancelled_at, d.cancel_reason,
      d.service_id, s.name as service, d.payer_id, p.given_name || ' ' || p.family_name as payer,
      p.codice_fiscale as payer_cf, d.pupil_id, pu.given_name || ' ' || pu.family_name as pupil, d.import_id
    from documents d join services s on s.id = d.service_id join payers p on p.id = d.payer_id
      left join pupils pu on pu.id = d.pupil_id
    where d.id = ${id}`
  if (!doc) throw new NotFound()
  if (lock) await tx`select id from documents where id = ${id} for update`
  const installments = await tx<InstallmentRow[]>`
    select i.id, i.seq, i.due_date, i.amount_cents, i.iuv, i.notice_code, i.status, i.paid_at,
      ip.receipt_number, ip.source, ip.channel, i.refunded_cents
    from installments i left join installment_payments ip on ip.installment_id = i.id
    where i.document_id = ${id} order by i.seq
    ${lock ? tx`for update of i` : tx``}`
  return { doc, installments }
}

documentRoutes.get('/t/:tenant/ufficio/documenti/:id{[0-9]+}', readers, async (c) => {
  const id = idParam(c)
  const data = await inTenant(c, async (tx) => {
    const d = await loadDocument(tx, id)
    // the document's log, refunds and reminders go out together (none waits for another's answer)
    const [history, refunds, solleciti, archive] = await Promise.all([
      historyOf(tx, 'document', id),
      tx<{ id: number; seq: number; amount_cents: number; status: string; executed_on: string | null }[]>`
        select r.id, i.seq, r.amount_cents, r.status, r.executed_on from refunds r
          join installments i on i.id = r.installment_id
        where i.document_id = ${id} order by r.id`,
      tx<{ seq: number; step: number; sent_on: string; channel: string }[]>`
        select i.seq, so.step, so.sent_on, so.channel from solleciti so join installments i on i.id = so.installment_id
        where i.document_id = ${id} order by so.sent_on, i.seq, so.step`,
      // its position in pagoPA's central archive (decision 0100)
      tx<{ state: string; synced_at: Date | null; last_error: string | null; next_attempt_at: Date | null }[]>`
        select state, synced_at, last_error, next_attempt_at from aca_positions where document_id = ${id}`,
    ])
    return { ...d, history, refunds, solleciti, archive: archive[0] ?? null }
  })
  const t = c.var.t
  return page(c, 'document', {
    title: c.var.t('backoffice.document.title', { number: `${data.doc.number}/${data.doc.year}` }),
    ...data,
    history: historyLabels(t, data.history),
    today: todayRome(),
    done: c.req.query('fatto') ?? null,
  })
})

// ---- documents of a payer or pupil, as the office sees them

export interface OfficeDocumentRow {
  id: number
  year: number
  number: string
  issue_date: string
  description: string
  total_cents: number
  open_cents: number
  service: string
  payer: string
  pupil: string | null
  status: 'pagabile' | 'in_corso' | 'pagato' | 'scaduto' | 'annullato'
}

/** Documents matching a condition on `d`, newest first, with the status a citizen would see. */
export async function documentsOf(tx: Tx, where: ReturnType<Tx>, limit = 100): Promise<OfficeDocumentRow[]> {
  return tx<OfficeDocumentRow[]>`
    select d.id, d.year, d.number, d.issue_date, d.description, d.total_cents,
      coalesce(sum(i.amount_cents) filter (where i.status in ('da_pagare', 'in_corso') and d.cancelled_at is null), 0)::bigint as open_cents,
      s.name as service, p.given_name || ' ' || p.family_name as payer,
      pu.given_name || ' ' || pu.family_name as pupil,
      case when d.cancelled_at is not null then 'annullato'
        when bool_and(i.status in ('pagato', 'annullato')) then 'pagato'
        when bool_or(i.status = 'in_corso') then 'in_corso'
        when bool_or(i.status = 'da_pagare' and i.due_date < (now() at time zone 'Europe/Rome')::date) then 'scaduto'
        else 'pagabile' end as status
    from documents d join services s on s.id = d.service_id join payers p on p.id = d.payer_id
      left join pupils pu on pu.id = d.pupil_id join installments i on i.document_id = d.id
    where ${where}
    group by d.id, s.name, p.given_name, p.family_name, pu.given_name, pu.family_name
    order by d.issue_date desc, d.id desc limit ${limit}`
}
