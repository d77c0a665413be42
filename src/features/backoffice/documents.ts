// Documents as the office sees them: the list, one document with its notices, issuing one document with N
// installments (form → check your answers → issue), cancelling and correcting with a reason.
import type { Context } from 'hono'
import { Hono } from 'hono'
import { z } from 'zod'
import { actorOf, audit } from '../../platform/audit.ts'
import { todayRome } from '../../platform/dates.ts'
import type { Tx } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { type FormValues, formValues, parseWith } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { parseMoney, splitEvenly } from '../../platform/money.ts'
import type { FormErrors } from '../../platform/render.ts'
import { issueDocuments } from '../documents/issue.ts'
import {
  errorsFromMap,
  flatValues,
  idParam,
  inTenant,
  joinDate,
  labelOr,
  officePath,
  page,
  parseItalianDate,
  readers,
  splitDate,
  tenantOf,
  writers,
} from './common.ts'
import { normalizeDescription } from './csv-import.ts'
import { documentsOf } from './people.ts'
import { cancelSchema, ISSUE_ORDER, issueBaseSchema, MAX_INSTALLMENTS } from './schema.ts'

export const documentRoutes = new Hono<Env>()

// ---- list

const listSchema = z.object({
  q: z
    .string()
    .max(80)
    .optional()
    .catch(undefined)
    .transform((s) => (s ?? '').replace(/\s+/g, ' ').trim()),
  stato: z.enum(['tutti', 'aperti', 'scaduti', 'pagati', 'annullati']).catch('tutti'),
  pagina: z.coerce.number().int().min(1).max(100_000).catch(1),
})
const PAGE_SIZE = 50

documentRoutes.get('/t/:tenant/ufficio/documenti', readers, async (c) => {
  const f = listSchema.parse(c.req.query())
  const like = `%${f.q.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`
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

interface InstallmentRow {
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
}

async function loadDocument(tx: Tx, id: number, lock = false) {
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
      ip.receipt_number, ip.source
    from installments i left join installment_payments ip on ip.installment_id = i.id
    where i.document_id = ${id} order by i.seq
    ${lock ? tx`for update of i` : tx``}`
  return { doc, installments }
}

documentRoutes.get('/t/:tenant/ufficio/documenti/:id{[0-9]+}', readers, async (c) => {
  const id = idParam(c)
  const data = await inTenant(c, async (tx) => {
    const d = await loadDocument(tx, id)
    const history = await tx<{ at: Date; actor_name: string; action: string; reason: string | null }[]>`
      select at, actor_name, action, reason from audit_log where entity = 'document' and entity_id = ${String(id)}
      order by at desc, id desc limit 50`
    return { ...d, history }
  })
  const t = c.var.t
  return page(c, 'document', {
    title: c.var.t('backoffice.document.title', { number: `${data.doc.number}/${data.doc.year}` }),
    ...data,
    history: data.history.map((h) => ({ ...h, label: labelOr(t, `backoffice.audit.action.${h.action}`, h.action) })),
    today: todayRome(),
    done: c.req.query('fatto') ?? null,
  })
})

// ---- issue one document

interface ServiceOption {
  id: number
  name: string
  code: string
}

async function activeServices(c: Context<Env>): Promise<ServiceOption[]> {
  return inTenant(c, (tx) => tx<ServiceOption[]>`select id, name, code from services where active order by name`)
}

/** The installment rows the form shows: as many as asked (1–12), with what was typed. */
function rowCount(values: Record<string, unknown>): number {
  const n = Number(String(values.count ?? '1').trim())
  return Number.isInteger(n) && n >= 1 && n <= MAX_INSTALLMENTS ? n : 1
}

interface IssueData {
  serviceId: number
  payerCf: string
  pupilCf: string | null
  description: string
  year: number
  mode: 'even' | 'explicit'
  installments: { dueDate: string; amountCents: number }[]
  totalCents: number
}

/** Parses the whole form; every problem at once, in page order. */
function parseIssue(values: FormValues, t: (k: string, p?: Record<string, string | number>) => string) {
  const base = parseWith(issueBaseSchema, values, t, ISSUE_ORDER)
  const fields: Record<string, string> = {}
  if (!base.ok) for (const [k, v] of Object.entries(base.errors.fields)) fields[k] = v
  const n = rowCount(values)
  const mode = String(values.mode ?? '')
  const dues: string[] = []
  const amounts: number[] = []
  for (let i = 1; i <= n; i++) {
    const raw = joinDate(values as Record<string, unknown>, `due-${i}`)
    const iso = raw ? parseItalianDate(raw) : null
    if (!raw) fields[`due-${i}`] = t('backoffice.errors.dueRequiredN', { n: i })
    else if (!iso) fields[`due-${i}`] = t('backoffice.errors.dueInvalidN', { n: i })
    else if (dues.length && iso <= (dues[dues.length - 1] as string))
      fields[`due-${i}`] = t('backoffice.errors.dueOrderN', { n: i })
    if (iso) dues.push(iso)
    if (mode === 'explicit') {
      const a = String(values[`amount-${i}`] ?? '').trim()
      const cents = a ? parseMoney(a) : null
      if (!a) fields[`amount-${i}`] = t('backoffice.errors.amountRequiredN', { n: i })
      else if (cents === null || cents <= 0 || cents > 99_999_999)
        fields[`amount-${i}`] = t('backoffice.errors.amountInvalidN', { n: i })
      else amounts.push(cents)
    }
  }
  let total = 0
  if (mode === 'even') {
    const raw = String(values.total ?? '').trim()
    const cents = raw ? parseMoney(raw) : null
    if (!raw) fields.total = t('backoffice.errors.totalRequired')
    else if (cents === null || cents <= 0 || cents > 99_999_999) fields.total = t('backoffice.errors.totalInvalid')
    else if (cents < n) fields.total = t('backoffice.errors.totalTooSmall')
    else {
      total = cents
      amounts.push(...splitEvenly(cents, n))
    }
  } else total = amounts.reduce((s, x) => s + x, 0)
  const order = [...ISSUE_ORDER.slice(0, 6), 'total', 'count']
  for (let i = 1; i <= n; i++) order.push(`due-${i}`, `amount-${i}`)
  const hrefs: Record<string, string> = { mode: 'mode' }
  for (let i = 1; i <= n; i++) hrefs[`due-${i}`] = `due-${i}-day`
  if (Object.keys(fields).length || !base.ok) {
    const errors: FormErrors = {
      summary: Object.keys(fields)
        .sort((a, b) => order.indexOf(a) - order.indexOf(b))
        .map((k) => ({ text: fields[k] as string, href: `#${hrefs[k] ?? k}` })),
      fields,
    }
    return { ok: false as const, errors }
  }
  const b = base.data
  const data: IssueData = {
    serviceId: b.service,
    payerCf: b.payerCf,
    pupilCf: b.pupilCf,
    description: b.description,
    year: b.year,
    mode: b.mode,
    installments: dues.map((d, i) => ({ dueDate: d, amountCents: amounts[i] as number })),
    totalCents: total,
  }
  return { ok: true as const, data }
}

interface Resolved {
  service: ServiceOption
  payer: { id: number; name: string }
  pupil: { id: number; name: string } | null
}

/** The checks that need the tenant's data: service, payer, pupil, their link, a duplicate document. */
async function resolveIssue(
  tx: Tx,
  d: IssueData,
): Promise<{ ok: true; r: Resolved } | { ok: false; fields: Record<string, string> }> {
  const fields: Record<string, string> = {}
  const [service] = await tx<ServiceOption[]>`select id, name, code from services where id = ${d.serviceId} and active`
  if (!service) fields.service = 'backoffice.errors.serviceRequired'
  const [payer] = await tx<{ id: number; name: string }[]>`
    select id, given_name || ' ' || family_name as name from payers where codice_fiscale = ${d.payerCf}`
  if (!payer) fields.payerCf = 'backoffice.errors.noSuchPayer'
  let pupil: { id: number; name: string } | null = null
  if (d.pupilCf) {
    const [row] = await tx<{ id: number; name: string }[]>`
      select id, given_name || ' ' || family_name as name from pupils where codice_fiscale = ${d.pupilCf}`
    if (!row) fields.pupilCf = 'backoffice.errors.noSuchPupil'
    else {
      pupil = row
      if (payer) {
        const [link] = await tx`select 1 from pupil_payers where pupil_id = ${row.id} and payer_id = ${payer.id}`
        if (!link) fields.pupilCf = 'backoffice.errors.notLinked'
      }
    }
  }
  if (service && payer && !fields.pupilCf) {
    const [dup] = await tx<{ number: string; year: number }[]>`
      select number, year from documents where service_id = ${service.id} and payer_id = ${payer.id} and year = ${d.year}
        and coalesce(pupil_id, 0) = ${pupil?.id ?? 0} and cancelled_at is null
        and lower(regexp_replace(btrim(description), '\\s+', ' ', 'g')) = ${normalizeDescription(d.description)}
      limit 1`
    if (dup) fields.description = 'backoffice.errors.duplicateDocument'
  }
  if (Object.keys(fields).length) return { ok: false, fields }
  return { ok: true, r: { service: service as ServiceOption, payer: payer as { id: number; name: string }, pupil } }
}

function issueForm(c: Context<Env>, services: ServiceOption[], values: Record<string, string>, errors?: FormErrors) {
  return page(c, 'issue-form', {
    title: c.var.t('backoffice.issue.title'),
    services,
    rows: rowCount(values),
    max: MAX_INSTALLMENTS,
    values,
    errors,
  })
}

documentRoutes.get('/t/:tenant/ufficio/documenti/nuovo', writers, async (c) => {
  const q = c.req.query()
  const values: Record<string, string> = { year: todayRome().slice(0, 4), count: '1' }
  if (q.intestatario && /^[A-Z0-9]{16}$/.test(q.intestatario)) values.payerCf = q.intestatario
  if (q.alunno && /^[A-Z0-9]{16}$/.test(q.alunno)) values.pupilCf = q.alunno
  return issueForm(c, await activeServices(c), values)
})

documentRoutes.post('/t/:tenant/ufficio/documenti/nuovo', writers, async (c) => {
  const t = c.var.t
  const values = await formValues(c)
  const services = await activeServices(c)
  // "update the rows" and "change" re-show the form as typed, without judging it
  if (values.azione === 'rate' || values.azione === 'modifica') return issueForm(c, services, flatValues(values))
  const parsed = parseIssue(values, t)
  if (!parsed.ok) return issueForm(c, services, flatValues(values), parsed.errors)
  const resolved = await inTenant(c, (tx) => resolveIssue(tx, parsed.data))
  if (!resolved.ok) return issueForm(c, services, flatValues(values), errorsFromMap(t, resolved.fields, ISSUE_ORDER))
  return page(c, 'issue-check', {
    title: c.var.t('backoffice.issue.checkTitle'),
    data: parsed.data,
    resolved: resolved.r,
    hidden: flatValues(values),
  })
})

documentRoutes.post('/t/:tenant/ufficio/documenti/nuovo/conferma', writers, async (c) => {
  const t = c.var.t
  const values = await formValues(c)
  const tenant = tenantOf(c)
  const parsed = parseIssue(values, t)
  if (!parsed.ok) return issueForm(c, await activeServices(c), flatValues(values), parsed.errors)
  const d = parsed.data
  const outcome = await inTenant(c, async (tx) => {
    // serialises issues to one payer, so a double submit finds the first document as a duplicate
    await tx`select id from payers where codice_fiscale = ${d.payerCf} for update`
    const r = await resolveIssue(tx, d)
    if (!r.ok) return r
    const today = todayRome()
    const issued = await issueDocuments(tx, tenant, [
      {
        year: d.year,
        issueDate: today,
        serviceId: r.r.service.id,
        payerId: r.r.payer.id,
        pupilId: r.r.pupil?.id ?? null,
        description: d.description,
        installments: d.installments,
      },
    ])
    const id = issued.documentIds[0] as number
    await audit(tx, actorOf(c.var.user), {
      action: 'document.issue',
      entity: 'document',
      entityId: id,
      after: {
        service: r.r.service.code,
        payerCf: d.payerCf,
        pupilCf: d.pupilCf,
        year: d.year,
        description: d.description,
        totalCents: d.totalCents,
        installments: issued.installments.map((x, i) => ({
          seq: x.seq,
          dueDate: d.installments[i]?.dueDate,
          amountCents: d.installments[i]?.amountCents,
          iuv: x.iuv,
        })),
      },
    })
    return { ok: true as const, id }
  })
  if (!outcome.ok)
    return issueForm(c, await activeServices(c), flatValues(values), errorsFromMap(t, outcome.fields, ISSUE_ORDER))
  return c.redirect(officePath(c, `/documenti/${outcome.id}?fatto=emesso`), 303)
})

// ---- cancel

function cancelPage(
  c: Context<Env>,
  data: Awaited<ReturnType<typeof loadDocument>>,
  values: Record<string, string>,
  errors?: FormErrors,
) {
  return page(c, 'cancel', {
    title: c.var.t('backoffice.cancel.title', { number: `${data.doc.number}/${data.doc.year}` }),
    ...data,
    values,
    errors,
  })
}

documentRoutes.get('/t/:tenant/ufficio/documenti/:id{[0-9]+}/annulla', writers, async (c) => {
  const data = await inTenant(c, (tx) => loadDocument(tx, idParam(c)))
  if (data.doc.cancelled_at) return c.redirect(officePath(c, `/documenti/${data.doc.id}`), 303)
  return cancelPage(c, data, {})
})

documentRoutes.post('/t/:tenant/ufficio/documenti/:id{[0-9]+}/annulla', writers, async (c) => {
  const t = c.var.t
  const id = idParam(c)
  const values = await formValues(c)
  const parsed = parseWith(cancelSchema, values, t, ['reason'])
  if (!parsed.ok)
    return cancelPage(c, await inTenant(c, (tx) => loadDocument(tx, id)), flatValues(values), parsed.errors)
  const outcome = await inTenant(c, async (tx) => {
    // rows locked: a checkout reserving an installment waits for this and then finds it cancelled
    const data = await loadDocument(tx, id, true)
    if (data.doc.cancelled_at) return { problem: 'backoffice.errors.alreadyCancelled', data }
    const busy = data.installments.filter((i) => i.status === 'in_corso')
    if (busy.length)
      return {
        problem: 'backoffice.errors.cancelInProgress',
        params: { seqs: busy.map((i) => i.seq).join(', ') },
        data,
      }
    const open = data.installments.filter((i) => i.status === 'da_pagare')
    if (!open.length) return { problem: 'backoffice.errors.nothingToCancel', data }
    await tx`update documents set cancelled_at = now(), cancel_reason = ${parsed.data.reason} where id = ${id}`
    await tx`update installments set status = 'annullato' where document_id = ${id} and status = 'da_pagare'`
    await audit(tx, actorOf(c.var.user), {
      action: 'document.cancel',
      entity: 'document',
      entityId: id,
      reason: parsed.data.reason,
      before: { cancelled: false, installments: data.installments.map((i) => ({ seq: i.seq, status: i.status })) },
      after: {
        cancelled: true,
        installments: data.installments.map((i) => ({
          seq: i.seq,
          status: i.status === 'da_pagare' ? 'annullato' : i.status,
        })),
      },
    })
    return { problem: null, data }
  })
  if (outcome.problem) {
    const text = t(outcome.problem, outcome.params)
    return cancelPage(c, outcome.data, flatValues(values), {
      summary: [{ text, href: '#reason' }],
      fields: { reason: text },
    })
  }
  return c.redirect(officePath(c, `/documenti/${id}?fatto=annullato`), 303)
})

// ---- correct

function correctValues(data: Awaited<ReturnType<typeof loadDocument>>): Record<string, string> {
  const v: Record<string, string> = { description: data.doc.description }
  for (const i of data.installments) {
    if (i.status !== 'da_pagare') continue
    const d = splitDate(i.due_date)
    v[`due-${i.seq}-day`] = d.day
    v[`due-${i.seq}-month`] = d.month
    v[`due-${i.seq}-year`] = d.year
    v[`amount-${i.seq}`] = (i.amount_cents / 100).toFixed(2).replace('.', ',')
  }
  return v
}

function correctPage(
  c: Context<Env>,
  data: Awaited<ReturnType<typeof loadDocument>>,
  values: Record<string, string>,
  errors?: FormErrors,
) {
  return page(c, 'correct', {
    title: c.var.t('backoffice.correct.title', { number: `${data.doc.number}/${data.doc.year}` }),
    ...data,
    values,
    errors,
  })
}

documentRoutes.get('/t/:tenant/ufficio/documenti/:id{[0-9]+}/correggi', writers, async (c) => {
  const data = await inTenant(c, (tx) => loadDocument(tx, idParam(c)))
  if (data.doc.cancelled_at) return c.redirect(officePath(c, `/documenti/${data.doc.id}`), 303)
  return correctPage(c, data, correctValues(data))
})

const correctSchema = z.object({
  description: z
    .string()
    .transform((s) => s.replace(/\s+/g, ' ').trim())
    .pipe(z.string().min(3, 'backoffice.errors.descriptionRequired').max(200, 'backoffice.errors.descriptionTooLong')),
  reason: z
    .string()
    .transform((s) => s.replace(/\s+/g, ' ').trim())
    .pipe(z.string().min(5, 'backoffice.errors.reasonRequired').max(300, 'backoffice.errors.reasonTooLong')),
})

documentRoutes.post('/t/:tenant/ufficio/documenti/:id{[0-9]+}/correggi', writers, async (c) => {
  const t = c.var.t
  const id = idParam(c)
  const values = await formValues(c)
  const outcome = await inTenant(c, async (tx) => {
    const data = await loadDocument(tx, id, true)
    if (data.doc.cancelled_at)
      return { data, errors: errorsFromMap(t, { description: 'backoffice.errors.alreadyCancelled' }, []) }
    const fields: Record<string, string> = {}
    const base = parseWith(correctSchema, values, t, ['description', 'reason'])
    if (!base.ok) Object.assign(fields, base.errors.fields)
    const open = data.installments.filter((i) => i.status === 'da_pagare')
    const changes: { id: number; seq: number; dueDate: string; amountCents: number }[] = []
    // due dates stay in order across the whole document, paid installments included
    let previous = ''
    for (const i of data.installments) {
      if (i.status !== 'da_pagare') {
        previous = i.due_date
        continue
      }
      const raw = joinDate(values as Record<string, unknown>, `due-${i.seq}`)
      const iso = raw ? parseItalianDate(raw) : null
      if (!raw) fields[`due-${i.seq}`] = t('backoffice.errors.dueRequiredN', { n: i.seq })
      else if (!iso) fields[`due-${i.seq}`] = t('backoffice.errors.dueInvalidN', { n: i.seq })
      else if (previous && iso <= previous) fields[`due-${i.seq}`] = t('backoffice.errors.dueOrderN', { n: i.seq })
      const a = String(values[`amount-${i.seq}`] ?? '').trim()
      const cents = a ? parseMoney(a) : null
      if (!a) fields[`amount-${i.seq}`] = t('backoffice.errors.amountRequiredN', { n: i.seq })
      else if (cents === null || cents <= 0 || cents > 99_999_999)
        fields[`amount-${i.seq}`] = t('backoffice.errors.amountInvalidN', { n: i.seq })
      if (iso) previous = iso
      if (iso && cents) changes.push({ id: i.id, seq: i.seq, dueDate: iso, amountCents: cents })
    }
    // an installment that left 'da_pagare' since the form was shown (being paid, paid) is not touched
    const shown = String(values.open ?? '')
    if (shown !== open.map((i) => i.seq).join(',')) fields.description = t('backoffice.errors.changedMeanwhile')
    if (Object.keys(fields).length || !base.ok) {
      const order = ['description', ...data.installments.flatMap((i) => [`due-${i.seq}`, `amount-${i.seq}`]), 'reason']
      const errors: FormErrors = {
        summary: Object.keys(fields)
          .sort((a, b) => order.indexOf(a) - order.indexOf(b))
          .map((k) => ({ text: fields[k] as string, href: `#${k.startsWith('due-') ? `${k}-day` : k}` })),
        fields,
      }
      return { data, errors }
    }
    const b = base.data as z.output<typeof correctSchema>
    const changed = changes.filter((x) => {
      const old = open.find((o) => o.id === x.id)
      return old && (old.due_date !== x.dueDate || old.amount_cents !== x.amountCents)
    })
    if (!changed.length && b.description === data.doc.description)
      return { data, errors: errorsFromMap(t, { description: 'backoffice.errors.nothingChanged' }, []) }
    if (changed.length) {
      // one statement for every row; the IUV and notice code stay (decision 0033)
      await tx`
        update installments i set due_date = v.due_date::date, amount_cents = v.amount_cents::bigint
        from (select unnest(${changed.map((x) => x.id)}::bigint[]) as id, unnest(${changed.map((x) => x.dueDate)}::text[]) as due_date,
                     unnest(${changed.map((x) => x.amountCents)}::bigint[]) as amount_cents) v
        where i.id = v.id and i.status = 'da_pagare'`
    }
    await tx`update documents set description = ${b.description},
      total_cents = (select sum(amount_cents) from installments where document_id = ${id}) where id = ${id}`
    await audit(tx, actorOf(c.var.user), {
      action: 'document.correct',
      entity: 'document',
      entityId: id,
      reason: b.reason,
      before: {
        description: data.doc.description,
        installments: changed.map((x) => {
          const o = open.find((i) => i.id === x.id) as InstallmentRow
          return { seq: o.seq, dueDate: o.due_date, amountCents: o.amount_cents }
        }),
      },
      after: {
        description: b.description,
        installments: changed.map((x) => ({ seq: x.seq, dueDate: x.dueDate, amountCents: x.amountCents })),
      },
    })
    return { data, errors: null }
  })
  if (outcome.errors) return correctPage(c, outcome.data, flatValues(values), outcome.errors)
  return c.redirect(officePath(c, `/documenti/${id}?fatto=corretto`), 303)
})
