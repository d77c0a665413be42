// Issuing one document from the office: the form with its installments, the check page, the confirmation.

import type { Context } from 'hono'
import { Hono } from 'hono'
import { actorOf, audit } from '../../../platform/audit.ts'
import { todayRome } from '../../../platform/dates.ts'
import type { Tx } from '../../../platform/db.ts'
import { type FormValues, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { parseMoney, splitEvenly } from '../../../platform/money.ts'
import type { FormErrors } from '../../../platform/render.ts'
import { issueDocuments } from '../../debts/issue.ts'
import { beneficiaryRules, splitAmount } from '../../debts/split.ts'
import { enqueueIoNotices } from '../../io/service.ts'
import {
  errorsFromMap,
  flatValues,
  inTenant,
  joinDate,
  officePath,
  page,
  parseItalianDate,
  tenantOf,
  writers,
} from '../common.ts'
import { normalizeDescription } from '../imports/parse.ts'
import { ISSUE_ORDER, issueBaseSchema, MAX_INSTALLMENTS } from '../schema.ts'

export const documentIssueRoutes = new Hono<Env>()

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
  const [[service], rules] = await Promise.all([
    tx<ServiceOption[]>`select id, name, code from services where id = ${d.serviceId} and active`,
    beneficiaryRules(tx, [d.serviceId]),
  ])
  if (!service) fields.service = 'backoffice.errors.serviceRequired'
  // other beneficiaries' fixed shares must leave something to the body in every installment (decision 0104)
  const shares = rules.get(d.serviceId) ?? []
  if (service && shares.length && d.installments.some((i) => splitAmount(i.amountCents, shares) === null))
    fields.service = 'backoffice.errors.splitTooSmall'
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

documentIssueRoutes.get('/t/:tenant/ufficio/documenti/nuovo', writers, async (c) => {
  const q = c.req.query()
  const values: Record<string, string> = { year: todayRome().slice(0, 4), count: '1' }
  if (q.intestatario && /^[A-Z0-9]{16}$/.test(q.intestatario)) values.payerCf = q.intestatario
  if (q.alunno && /^[A-Z0-9]{16}$/.test(q.alunno)) values.pupilCf = q.alunno
  return issueForm(c, await activeServices(c), values)
})

documentIssueRoutes.post('/t/:tenant/ufficio/documenti/nuovo', writers, async (c) => {
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

documentIssueRoutes.post('/t/:tenant/ufficio/documenti/nuovo/conferma', writers, async (c) => {
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
    // the notices in the IO app, for a service connected to it (decision 0102)
    await enqueueIoNotices(
      tx,
      tenant,
      issued.installments.map((i) => i.id),
    )
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
