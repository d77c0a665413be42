// Changing an issued document: cancelling it (the paid installments stay) and correcting it, each with a reason
// in the audit log.

import type { Context } from 'hono'
import { Hono } from 'hono'
import { z } from 'zod'
import { actorOf, audit } from '../../../platform/audit.ts'
import { chars, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { formatDecimalIt, parseMoney } from '../../../platform/money.ts'
import type { FormErrors } from '../../../platform/render.ts'
import { beneficiaryRules, minimumAmount, splitAmount, transferRows } from '../../debts/split.ts'
import {
  errorsFromMap,
  flatValues,
  idParam,
  inTenant,
  joinDate,
  officePath,
  page,
  parseItalianDate,
  splitDate,
  writers,
} from '../common.ts'
import { cancelSchema } from '../schema.ts'
import { type InstallmentRow, loadDocument } from './list.ts'

export const documentChangeRoutes = new Hono<Env>()

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

documentChangeRoutes.get('/t/:tenant/ufficio/documenti/:id{[0-9]+}/annulla', writers, async (c) => {
  const data = await inTenant(c, (tx) => loadDocument(tx, idParam(c)))
  if (data.doc.cancelled_at) return c.redirect(officePath(c, `/documenti/${data.doc.id}`), 303)
  return cancelPage(c, data, {})
})

documentChangeRoutes.post('/t/:tenant/ufficio/documenti/:id{[0-9]+}/annulla', writers, async (c) => {
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

documentChangeRoutes.get('/t/:tenant/ufficio/documenti/:id{[0-9]+}/correggi', writers, async (c) => {
  const data = await inTenant(c, (tx) => loadDocument(tx, idParam(c)))
  if (data.doc.cancelled_at) return c.redirect(officePath(c, `/documenti/${data.doc.id}`), 303)
  return correctPage(c, data, correctValues(data))
})

const correctSchema = z.object({
  description: z
    .string()
    .transform((s) => s.replace(/\s+/g, ' ').trim())
    .pipe(
      z
        .string()
        .refine((s) => chars(s) >= 3, 'backoffice.errors.descriptionRequired')
        .max(200, 'backoffice.errors.descriptionTooLong'),
    ),
  reason: z
    .string()
    .transform((s) => s.replace(/\s+/g, ' ').trim())
    .pipe(
      z
        .string()
        .refine((s) => chars(s) >= 5, 'backoffice.errors.reasonRequired')
        .max(300, 'backoffice.errors.reasonTooLong'),
    ),
})

documentChangeRoutes.post('/t/:tenant/ufficio/documenti/:id{[0-9]+}/correggi', writers, async (c) => {
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
    // other beneficiaries' shares must leave something to the body in every corrected amount (decision 0104)
    const shares = (await beneficiaryRules(tx, [data.doc.service_id])).get(data.doc.service_id) ?? []
    if (shares.length)
      for (const x of changes)
        if (splitAmount(x.amountCents, shares) === null)
          fields[`amount-${x.seq}`] = t('backoffice.errors.splitTooSmallN', {
            n: x.seq,
            amount: formatDecimalIt(minimumAmount(shares)),
          })
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
        update installments i set due_date = v.due_date, amount_cents = v.amount_cents
        from (select unnest(${changed.map((x) => x.id)}::bigint[]) as id, unnest(${changed.map((x) => x.dueDate)}::date[]) as due_date,
                     unnest(${changed.map((x) => x.amountCents)}::bigint[]) as amount_cents) v
        where i.id = v.id and i.status = 'da_pagare'`
      // their transfers to the other beneficiaries follow the new amounts
      if (shares.length) {
        await tx`delete from installment_transfers where installment_id = any(${changed.map((x) => x.id)}::bigint[])`
        const rows = changed.flatMap((x) => transferRows(x.id, splitAmount(x.amountCents, shares) ?? []))
        if (rows.length) await tx`insert into installment_transfers ${tx(rows)}`
      }
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
