// The office's refund register (decision 0096): the list, a refund opened from a document's paid installment, a
// proposal completed, an open refund executed with the bank's reference or cancelled. The rules and the family's
// email are in payments/refunds.ts; this is the forms (422 with the summary, nothing saved) and the pages.
import type { Context } from 'hono'
import { Hono } from 'hono'
import { z } from 'zod'
import { actorOf } from '../../platform/audit.ts'
import { todayRome } from '../../platform/dates.ts'
import type { Tx } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { type FormValues, formValues, parseWith } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { formatDecimalIt, parseMoney } from '../../platform/money.ts'
import type { FormErrors } from '../../platform/render.ts'
import {
  cancelRefund,
  executeRefund,
  normaliseIban,
  openProposal,
  openRefund,
  type RefundError,
  type RefundRow,
} from '../payments/refunds.ts'
import {
  flatValues,
  historyLabels,
  historyOf,
  idParam,
  inTenant,
  joinDate,
  officePath,
  optionalText,
  page,
  parseItalianDate,
  readers,
  tenantOf,
  text,
  writers,
} from './common.ts'
import { loadDocument } from './documents/list.ts'

const E = 'refunds.errors.'

export const moneyField = z
  .string()
  .trim()
  .min(1, `${E}amountRequired`)
  .transform((v, ctx) => {
    const cents = parseMoney(v)
    if (cents === null || cents <= 0) {
      ctx.addIssue({ code: 'custom', message: `${E}amountInvalid` })
      return z.NEVER
    }
    return cents
  })

const iban = z
  .string()
  .trim()
  .min(1, `${E}ibanRequired`)
  .transform((v, ctx) => {
    const n = normaliseIban(v)
    if (!n) {
      ctx.addIssue({ code: 'custom', message: `${E}ibanInvalid` })
      return z.NEVER
    }
    return n
  })

const refundFields = {
  amount: moneyField,
  reason: text(1, 500, `${E}reasonRequired`, `${E}reasonTooLong`),
  iban,
  beneficiary: text(1, 140, `${E}beneficiaryRequired`, `${E}beneficiaryTooLong`),
}
/** A refund's amount, reason, IBAN and account holder (also the canteen credit's refund form). */
export const openSchema = z.object(refundFields)
/** A proposal already says why (its reason code): the office's own words are optional. */
const proposalSchema = z.object({ ...refundFields, reason: optionalText(500, `${E}reasonTooLong`) })
export const OPEN_ORDER = ['rata', 'amount', 'reason', 'iban', 'beneficiary']
const executeSchema = z.object({
  bankReference: text(1, 140, `${E}bankReferenceRequired`, `${E}bankReferenceTooLong`),
})
const cancelSchema = z.object({ cancelReason: text(1, 500, `${E}cancelReasonRequired`, `${E}cancelReasonTooLong`) })

export function errorsOf(
  fields: Record<string, string>,
  order: string[],
  hrefs: Record<string, string> = {},
): FormErrors {
  const names = Object.keys(fields).sort((a, b) => order.indexOf(a) - order.indexOf(b))
  return { summary: names.map((k) => ({ text: fields[k] as string, href: hrefs[k] ?? `#${k}` })), fields }
}

function serviceError(c: Context<Env>, e: RefundError): Record<string, string> {
  const t = c.var.t
  if (e.field === 'amount')
    return {
      amount: e.maxCents > 0 ? t(`${E}amountOver`, { max: formatDecimalIt(e.maxCents) }) : t(`${E}nothingLeft`),
    }
  if (e.field === 'rata') return { rata: t(`${E}rata.${e.code}`) }
  return { status: t(`${E}status.${e.code}`) }
}

export const refundRoutes = new Hono<Env>()

// ---- the register

const listSchema = z.object({
  stato: z.enum(['da-fare', 'proposti', 'aperti', 'eseguiti', 'annullati', 'tutti']).catch('da-fare'),
  pagina: z.coerce.number().int().min(1).max(100_000).catch(1),
})
const PAGE_SIZE = 50
const STATE_OF: Record<string, string[]> = {
  'da-fare': ['proposto', 'aperto'],
  proposti: ['proposto'],
  aperti: ['aperto'],
  eseguiti: ['eseguito'],
  annullati: ['annullato'],
  tutti: ['proposto', 'aperto', 'eseguito', 'annullato'],
}

export interface RegisterRow {
  id: number
  created_at: Date
  status: RefundRow['status']
  origin: RefundRow['origin']
  basis: RefundRow['basis']
  reason_code: string | null
  reason: string
  amount_cents: number
  executed_on: string | null
  payer: string
  payer_cf: string
  document_id: number | null
  document: string | null
  seq: number | null
  pupil: string | null
}

refundRoutes.get('/t/:tenant/ufficio/rimborsi', readers, async (c) => {
  const f = listSchema.parse(c.req.query())
  const { rows, counts } = await inTenant(c, async (tx) => {
    const [rows, counts] = await Promise.all([
      tx<RegisterRow[]>`
        select r.id, r.created_at, r.status, r.origin, r.basis, r.reason_code, r.reason, r.amount_cents, r.executed_on,
          p.given_name || ' ' || p.family_name as payer, p.codice_fiscale as payer_cf, d.id as document_id,
          d.number || '/' || d.year || ' – ' || d.description as document, i.seq,
          pu.given_name || ' ' || pu.family_name as pupil
        from refunds r join payers p on p.id = r.payer_id
          left join installments i on i.id = r.installment_id left join documents d on d.id = i.document_id
          left join pupils pu on pu.id = coalesce(r.pupil_id, d.pupil_id)
        where r.status = any(${STATE_OF[f.stato] as string[]}::text[])
        order by r.created_at desc, r.id desc limit ${PAGE_SIZE + 1} offset ${(f.pagina - 1) * PAGE_SIZE}`,
      tx<{ status: string; n: number; cents: number }[]>`
        select status, count(*)::int as n, coalesce(sum(amount_cents), 0)::bigint as cents from refunds
        where status in ('proposto', 'aperto') group by status`,
    ])
    return { rows, counts }
  })
  return page(c, 'refunds', {
    title: c.var.t('refunds.office.title'),
    filter: f,
    refunds: rows.slice(0, PAGE_SIZE),
    hasNext: rows.length > PAGE_SIZE,
    counts: Object.fromEntries(counts.map((r) => [r.status, { n: r.n, cents: Number(r.cents) }])),
  })
})

// ---- a refund opened from a document's paid installment

type DocumentData = Awaited<ReturnType<typeof loadDocument>>
interface Room {
  seq: number
  paid_cents: number
  used_cents: number
}

async function refundableOf(tx: Tx, data: DocumentData): Promise<Room[]> {
  const ids = data.installments.filter((i) => i.status === 'pagato').map((i) => i.id)
  if (!ids.length) return []
  const rows = await tx<{ id: number; paid_cents: number; used_cents: number }[]>`
    select ip.installment_id as id, ip.amount_cents as paid_cents,
      coalesce((select sum(r.amount_cents) from refunds r where r.installment_id = ip.installment_id
                and r.basis = 'pagamento' and r.status <> 'annullato'), 0)::bigint as used_cents
    from installment_payments ip where ip.installment_id = any(${ids})`
  return rows.map((r) => ({
    seq: (data.installments.find((i) => i.id === r.id) as { seq: number }).seq,
    paid_cents: Number(r.paid_cents),
    used_cents: Number(r.used_cents),
  }))
}

function newRefundPage(
  c: Context<Env>,
  data: DocumentData,
  rooms: Room[],
  values: Record<string, string>,
  errors?: FormErrors,
) {
  return page(c, 'refund-form', {
    title: c.var.t('refunds.new.title', { number: `${data.doc.number}/${data.doc.year}` }),
    ...data,
    rooms: rooms.sort((a, b) => a.seq - b.seq),
    values,
    errors,
  })
}

refundRoutes.get('/t/:tenant/ufficio/documenti/:id{[0-9]+}/rimborso', writers, async (c) => {
  const { data, rooms } = await inTenant(c, async (tx) => {
    const data = await loadDocument(tx, idParam(c))
    return { data, rooms: await refundableOf(tx, data) }
  })
  const open = rooms.filter((r) => r.paid_cents > r.used_cents)
  if (!open.length) return c.redirect(officePath(c, `/documenti/${data.doc.id}`), 303)
  const asked = c.req.query('rata')
  const chosen = open.find((r) => String(r.seq) === asked) ?? (open.length === 1 ? open[0] : undefined)
  return newRefundPage(c, data, rooms, {
    rata: chosen ? String(chosen.seq) : '',
    amount: chosen ? formatDecimalIt(chosen.paid_cents - chosen.used_cents) : '',
    beneficiary: data.doc.payer,
  })
})

refundRoutes.post('/t/:tenant/ufficio/documenti/:id{[0-9]+}/rimborso', writers, async (c) => {
  const t = c.var.t
  const id = idParam(c)
  const values = await formValues(c)
  const kept = flatValues(values)
  const outcome = await inTenant(c, async (tx) => {
    const data = await loadDocument(tx, id)
    const fields: Record<string, string> = {}
    const parsed = parseWith(openSchema, values, t, OPEN_ORDER)
    if (!parsed.ok) Object.assign(fields, parsed.errors.fields)
    const inst = data.installments.find((i) => String(i.seq) === String(values.rata ?? ''))
    if (!values.rata) fields.rata = t(`${E}rata.required`)
    else if (!inst) fields.rata = t(`${E}rata.unknown`)
    else if (inst.status !== 'pagato') fields.rata = t(`${E}rata.notPaid`)
    if (!fields.rata && parsed.ok && inst) {
      const { amount, ...rest } = parsed.data
      const done = await openRefund(tx, actorOf(c.var.user), { installmentId: inst.id, amountCents: amount, ...rest })
      if (done.ok) return { id: done.id }
      Object.assign(fields, serviceError(c, done.error))
    }
    return {
      data,
      rooms: await refundableOf(tx, data),
      errors: errorsOf(fields, OPEN_ORDER),
    }
  })
  if ('id' in outcome) return c.redirect(officePath(c, `/rimborsi/${outcome.id}?fatto=aperto`), 303)
  return newRefundPage(c, outcome.data, outcome.rooms, kept, outcome.errors)
})

// ---- one refund

interface RefundView extends RefundRow {
  payer: string
  payer_cf: string
  document_id: number | null
  document_number: string | null
  description: string | null
  seq: number | null
  installment_status: string | null
  pupil: string | null
}

async function loadRefund(tx: Tx, id: number) {
  const [r] = await tx<RefundView[]>`
    select r.*, p.given_name || ' ' || p.family_name as payer, p.codice_fiscale as payer_cf, d.id as document_id,
      d.number || '/' || d.year as document_number, d.description, i.seq, i.status as installment_status,
      pu.given_name || ' ' || pu.family_name as pupil
    from refunds r join payers p on p.id = r.payer_id
      left join installments i on i.id = r.installment_id left join documents d on d.id = i.document_id
      left join pupils pu on pu.id = coalesce(r.pupil_id, d.pupil_id)
    where r.id = ${id}`
  if (!r) throw new NotFound()
  return { refund: r, history: await historyOf(tx, 'refund', id) }
}

function refundPage(
  c: Context<Env>,
  data: Awaited<ReturnType<typeof loadRefund>>,
  form: { name: 'apri' | 'esegui' | 'annulla'; values: Record<string, string>; errors: FormErrors } | null = null,
) {
  const r = data.refund
  const values =
    form?.values ??
    (r.status === 'proposto' ? { amount: formatDecimalIt(r.amount_cents), beneficiary: r.payer, reason: r.reason } : {})
  return page(c, 'refund', {
    title: c.var.t('refunds.one.title', { id: r.id }),
    ...data,
    history: historyLabels(c.var.t, data.history),
    form: form?.name ?? null,
    values,
    errors: form?.errors,
    today: todayRome(),
    done: c.req.query('fatto') ?? null,
  })
}

refundRoutes.get('/t/:tenant/ufficio/rimborsi/:id{[0-9]+}', readers, async (c) => {
  const data = await inTenant(c, (tx) => loadRefund(tx, idParam(c)))
  return refundPage(c, data)
})

/** The refund's forms: checked, done in the refund's transaction, or the page again with the errors (422). */
async function refundAction(
  c: Context<Env>,
  name: 'apri' | 'esegui' | 'annulla',
  act: (
    tx: Tx,
    values: FormValues,
    fields: Record<string, string>,
  ) => Promise<{ ok: true } | { ok: false; error: RefundError } | null | undefined>,
  order: string[],
  hrefs: Record<string, string> = {},
) {
  const id = idParam(c)
  const values = await formValues(c)
  const outcome = await inTenant(c, async (tx) => {
    const fields: Record<string, string> = {}
    const done = await act(tx, values, fields)
    if (done === null) throw new NotFound()
    if (done && !done.ok) Object.assign(fields, serviceError(c, done.error))
    if (done?.ok) return null
    // the page again with the errors (an unknown refund is a 404 here, even when the form was wrong)
    return { data: await loadRefund(tx, id), errors: errorsOf(fields, order, { status: '#stato', ...hrefs }) }
  })
  if (!outcome) {
    // an executed refund queued the family's email
    if (name === 'esegui') c.var.deps.kickMail()
    return c.redirect(officePath(c, `/rimborsi/${id}?fatto=${name}`), 303)
  }
  return refundPage(c, outcome.data, { name, values: flatValues(values), errors: outcome.errors })
}

refundRoutes.post('/t/:tenant/ufficio/rimborsi/:id{[0-9]+}/apri', writers, (c) =>
  refundAction(
    c,
    'apri',
    async (tx, values, fields) => {
      const parsed = parseWith(proposalSchema, values, c.var.t, OPEN_ORDER)
      if (!parsed.ok) return void Object.assign(fields, parsed.errors.fields)
      const { amount, reason, ...rest } = parsed.data
      return openProposal(tx, actorOf(c.var.user), idParam(c), { amountCents: amount, reason: reason ?? '', ...rest })
    },
    OPEN_ORDER,
  ),
)

refundRoutes.post('/t/:tenant/ufficio/rimborsi/:id{[0-9]+}/esegui', writers, (c) =>
  refundAction(
    c,
    'esegui',
    async (tx, values, fields) => {
      const t = c.var.t
      const parsed = parseWith(executeSchema, values, t, ['bankReference'])
      if (!parsed.ok) Object.assign(fields, parsed.errors.fields)
      const [r] = await tx<{ created_at: Date }[]>`select created_at from refunds where id = ${idParam(c)}`
      if (!r) return null
      const raw = joinDate(values as Record<string, unknown>, 'executed')
      const on = raw ? parseItalianDate(raw) : null
      const created = todayRome(r.created_at)
      if (!raw) fields.executed = t(`${E}executedRequired`)
      else if (!on) fields.executed = t(`${E}executedInvalid`)
      else if (on > todayRome()) fields.executed = t(`${E}executedFuture`)
      else if (on < created) fields.executed = t(`${E}executedBeforeOpen`)
      if (!parsed.ok || !on || Object.keys(fields).length) return undefined
      const tenant = tenantOf(c)
      return executeRefund(
        tx,
        actorOf(c.var.user),
        idParam(c),
        { bankReference: parsed.data.bankReference, executedOn: on },
        { tenant, baseUrl: c.var.deps.config.baseUrl },
      )
    },
    ['bankReference', 'executed'],
    { executed: '#executed-day' },
  ),
)

refundRoutes.post('/t/:tenant/ufficio/rimborsi/:id{[0-9]+}/annulla', writers, (c) =>
  refundAction(
    c,
    'annulla',
    async (tx, values, fields) => {
      const parsed = parseWith(cancelSchema, values, c.var.t, ['cancelReason'])
      if (!parsed.ok) return void Object.assign(fields, parsed.errors.fields)
      return cancelRefund(tx, actorOf(c.var.user), idParam(c), parsed.data.cancelReason)
    },
    ['cancelReason'],
  ),
)
