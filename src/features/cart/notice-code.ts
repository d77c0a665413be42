// Paying a notice by its code: as pagoPA lets anyone pay a notice knowing its code and its creditor, any signed-in
// account — a codice fiscale not yet proved too — can put a body's notice in its cart by the 18-digit code printed
// on it. The page shows what the notice is for and its amount, nothing of whom it is addressed to; misses are
// throttled so codes cannot be tried in bulk.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { withTenant } from '../../platform/db.ts'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env, SessionUser } from '../../platform/http.ts'
import { noticeCodeProblem } from '../../platform/it/pagopa.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireUser } from '../../platform/session.ts'
import { checkThrottle, recordFailure, type ThrottleRule } from '../../platform/throttle.ts'
import { addToCart } from './service.ts'

export const noticeCodeRoutes = new Hono<Env>()

const PATH = '/t/:tenant/paga-avviso'
/** twenty codes that match nothing in an hour, then an hour's pause */
const MISSES: ThrottleRule = { windowMinutes: 60, delayAfter: 1000, maxDelaySeconds: 0, lockAfter: 20, lockMinutes: 60 }

const schema = z.object({
  codice: z
    .string()
    .transform((v) => v.replace(/[\s.-]/g, ''))
    .pipe(
      z
        .string()
        .min(1, 'cart.byCode.errors.required')
        .regex(/^[0-9]{18}$/, 'cart.byCode.errors.format')
        .refine((v) => noticeCodeProblem(v) === null, 'cart.byCode.errors.check'),
    ),
})

noticeCodeRoutes.use(PATH, requireUser)

function form(c: Context<Env>, values: Record<string, unknown> = {}, errors?: FormErrors) {
  const tenant = c.var.tenant
  return render(
    c,
    'cart/notice-code',
    { title: c.var.t('cart.byCode.title', { tenant: tenant?.name ?? '' }), values, errors },
    errors ? 422 : 200,
  )
}

noticeCodeRoutes.get(PATH, (c) => form(c))

noticeCodeRoutes.post(PATH, async (c) => {
  const t = c.var.t
  const user = c.var.user as SessionUser
  const tenant = c.var.tenant
  if (!tenant) return c.notFound()
  const parsed = parseWith(schema, await formValues(c), t, ['codice'])
  if (!parsed.ok) return form(c, parsed.values, parsed.errors)
  if (tenant.status !== 'active')
    return form(c, { codice: parsed.data.codice }, fieldError(t, 'codice', 'cart.byCode.errors.suspended'))
  const { sql } = c.var.deps.db
  const key = `notice-code:account:${user.accountId}`
  if ((await checkThrottle(sql, key, MISSES)).locked)
    return render(c, 'account/too-many', { title: t('errors.tooMany') }, 429)
  const [found] = await withTenant(
    sql,
    tenant,
    (tx) => tx<{ id: number }[]>`
      select i.id from installments i join documents d on d.id = i.document_id
      where i.notice_code = ${parsed.data.codice} and i.status = 'da_pagare' and d.cancelled_at is null`,
  )
  if (!found) {
    await recordFailure(sql, key, MISSES)
    return form(
      c,
      { codice: parsed.data.codice },
      fieldError(t, 'codice', 'cart.byCode.errors.notFound', { tenant: tenant.name }),
    )
  }
  await addToCart(sql, user.accountId, tenant.id, [found.id])
  return c.redirect('/carrello?aggiunto=1', 303)
})
