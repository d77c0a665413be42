// A payment the office received itself — at the counter, by bank transfer, through another channel — recorded against
// one or more installments of a document: settled through the same settlement as every payment (paid once: an online,
// pagoPA or reconciled payment of the same installment afterwards is flagged for a refund, never counted twice),
// audited, shown to the family in its archive with its channel. Decision 0095.
import type { Context } from 'hono'
import { Hono } from 'hono'
import { z } from 'zod'
import { actorOf, audit } from '../../../platform/audit.ts'
import { formatDate, romeInstant, todayRome } from '../../../platform/dates.ts'
import { formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { formatDecimalIt, parseMoney } from '../../../platform/money.ts'
import type { FormErrors } from '../../../platform/render.ts'
import { OFFLINE_METHODS, settleInstallments } from '../../payments/settle.ts'
import { flatValues, idParam, inTenant, joinDate, officePath, page, parseItalianDate, writers } from '../common.ts'
import { loadDocument } from './list.ts'

const E = 'backoffice.offline.errors.'
export const OFFLINE_ORDER = ['rata', 'method', 'paid', 'amount', 'reference', 'note']

const offlineSchema = z.object({
  method: z.enum(OFFLINE_METHODS, { error: `${E}methodRequired` }),
  reference: z
    .string()
    .transform((s) => s.replace(/\s+/g, ' ').trim())
    .pipe(z.string().min(1, `${E}referenceRequired`).max(140, `${E}referenceTooLong`)),
  note: z
    .string()
    .optional()
    .transform((s) => (s ?? '').trim())
    .pipe(z.string().max(500, `${E}noteTooLong`)),
})

type DocumentData = Awaited<ReturnType<typeof loadDocument>>

function offlinePage(
  c: Context<Env>,
  data: DocumentData,
  values: Record<string, string | string[]>,
  errors?: FormErrors,
) {
  return page(c, 'offline-payment', {
    title: c.var.t('backoffice.offline.title', { number: `${data.doc.number}/${data.doc.year}` }),
    ...data,
    values,
    chosen: Array.isArray(values.rata) ? values.rata : values.rata ? [values.rata] : [],
    methods: OFFLINE_METHODS,
    today: todayRome(),
    errors,
  })
}

export const offlinePaymentRoutes = new Hono<Env>()

offlinePaymentRoutes.get('/t/:tenant/ufficio/documenti/:id{[0-9]+}/pagamento', writers, async (c) => {
  const data = await inTenant(c, (tx) => loadDocument(tx, idParam(c)))
  if (data.doc.cancelled_at || !data.installments.some((i) => i.status === 'da_pagare'))
    return c.redirect(officePath(c, `/documenti/${data.doc.id}`), 303)
  // ?rata=N preselects the installment the office came for; none: every open one
  const asked = c.req.query('rata')
  const open = data.installments.filter((i) => i.status === 'da_pagare').map((i) => String(i.seq))
  const chosen = asked && open.includes(asked) ? [asked] : open
  return offlinePage(c, data, { rata: chosen })
})

offlinePaymentRoutes.post('/t/:tenant/ufficio/documenti/:id{[0-9]+}/pagamento', writers, async (c) => {
  const t = c.var.t
  const id = idParam(c)
  const values = await formValues(c)
  const kept = { ...flatValues(values), rata: values.rata ?? [] } as Record<string, string | string[]>
  const outcome = await inTenant(c, async (tx) => {
    // rows locked: a checkout reserving one of these installments waits, then finds it paid
    const data = await loadDocument(tx, id, true)
    const fields: Record<string, string> = {}
    const base = parseWith(offlineSchema, values, t, OFFLINE_ORDER)
    if (!base.ok) Object.assign(fields, base.errors.fields)
    const raw = joinDate(values as Record<string, unknown>, 'paid')
    const paidOn = raw ? parseItalianDate(raw) : null
    const today = todayRome()
    if (!raw) fields.paid = t(`${E}paidRequired`)
    else if (!paidOn) fields.paid = t(`${E}paidInvalid`)
    else if (paidOn > today) fields.paid = t(`${E}paidFuture`)
    else if (paidOn < data.doc.issue_date)
      fields.paid = t(`${E}paidBeforeIssue`, { date: formatDate(data.doc.issue_date) })
    const amountRaw = String(values.amount ?? '').trim()
    const amount = amountRaw ? parseMoney(amountRaw) : null
    if (!amountRaw) fields.amount = t(`${E}amountRequired`)
    else if (amount === null || amount <= 0) fields.amount = t(`${E}amountInvalid`)
    const form = base.ok ? base.data : null
    // the installments are checked whatever else is wrong, so that every problem is named at once
    const picked = values.rata
    const seqs = [...new Set((Array.isArray(picked) ? picked : picked ? [picked] : []).map(String))]
    const chosen = data.installments.filter((i) => seqs.includes(String(i.seq)))
    if (!seqs.length) fields.rata = t(`${E}rataRequired`)
    else if (data.doc.cancelled_at || chosen.length !== seqs.length) fields.rata = t(`${E}rataUnknown`)
    else {
      const notOpen = chosen.filter((i) => i.status !== 'da_pagare')
      if (notOpen.some((i) => i.status === 'in_corso'))
        fields.rata = t(`${E}rataInProgress`, { seqs: notOpen.map((i) => i.seq).join(', ') })
      else if (notOpen.length) fields.rata = t(`${E}rataNotOpen`, { seqs: notOpen.map((i) => i.seq).join(', ') })
    }
    const due = chosen.reduce((sum, i) => sum + i.amount_cents, 0)
    // what was received must be what is due: a part payment is not recorded (the office corrects the document first)
    if (!fields.amount && !fields.rata && amount !== null && amount !== due)
      fields.amount = t(`${E}amountMismatch`, { due: formatDecimalIt(due) })
    if (Object.keys(fields).length || !form || !paidOn || amount === null) {
      const names = Object.keys(fields).sort((a, b) => OFFLINE_ORDER.indexOf(a) - OFFLINE_ORDER.indexOf(b))
      const hrefs: Record<string, string> = {
        rata: `#rata-${chosen[0]?.seq ?? data.installments[0]?.seq ?? 1}`,
        method: '#method',
        paid: '#paid-day',
      }
      return {
        data,
        errors: {
          summary: names.map((k) => ({ text: fields[k] as string, href: hrefs[k] ?? `#${k}` })),
          fields,
        } satisfies FormErrors,
      }
    }
    // paid today: now; an earlier day: that day at noon, Rome time (a date, shown as a date)
    const paidAt = paidOn === today ? new Date() : romeInstant(`${paidOn}T12:00:00`)
    const settled = await settleInstallments(
      tx,
      chosen.map((i) => ({
        installmentId: i.id,
        paymentId: null,
        source: 'manuale' as const,
        receiptNumber: form.reference,
        amountCents: i.amount_cents,
        paidAt,
        channel: form.method,
        note: form.note || null,
      })),
    )
    // the rows were locked and open: all of them settle here, or nothing does
    if (settled.length !== chosen.length) throw new Error('offline payment: an open installment did not settle')
    await audit(tx, actorOf(c.var.user), {
      action: 'document.offlinePayment',
      entity: 'document',
      entityId: id,
      reason: `${t(`backoffice.offline.method.${form.method}`)} – ${form.reference}`,
      before: { installments: chosen.map((i) => ({ seq: i.seq, status: i.status })) },
      after: {
        installments: chosen.map((i) => ({ seq: i.seq, status: 'pagato' })),
        method: form.method,
        paidOn,
        amountCents: due,
        reference: form.reference,
        note: form.note || null,
      },
    })
    return { data, errors: null }
  })
  if (outcome.errors) return offlinePage(c, outcome.data, kept, outcome.errors)
  return c.redirect(officePath(c, `/documenti/${id}?fatto=pagato`), 303)
})
