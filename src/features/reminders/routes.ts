// The "paga ora" link of a reminder email: after login (requireUser sends a signed-out visitor through the
// login page and back), the installments named by the signed link that this citizen may see and still pay
// are added to the cart, and the cart opens. A GET that changes state, on purpose: it only adds to the
// visitor's own cart what they could add themselves, and doing it twice changes nothing.
import { Hono } from 'hono'
import { withTenant } from '../../platform/db.ts'
import type { Env, SessionUser } from '../../platform/http.ts'
import { render } from '../../platform/render.ts'
import { requireUser } from '../../platform/session.ts'
import { addToCart } from '../cart/service.ts'
import { linkSecret, verifyReminderLink } from './link.ts'

export const reminderRoutes = new Hono<Env>()

reminderRoutes.get('/carrello/promemoria/:token', requireUser, async (c) => {
  const user = c.var.user as SessionUser
  const { db, tenants, config } = c.var.deps
  const problem = (reason: 'expired' | 'nothing' | 'unavailable', status: 404 | 410 | 200 = 200) =>
    render(c, 'reminders/link-problem', { title: c.var.t('reminders.link.title'), reason }, status)
  const link = verifyReminderLink(linkSecret(config.sessionSecret), c.req.param('token'))
  if (link === 'expired') return problem('expired', 410)
  if (!link) return problem('nothing', 404)
  const tenant = (await tenants.list()).find((t) => t.id === link.tenantId)
  if (!tenant) return problem('nothing', 404)
  if (tenant.status !== 'active') return problem('unavailable')
  const payable = await withTenant(
    db.sql,
    tenant,
    (tx) => tx<{ id: number }[]>`
      with me as (select id from payers where codice_fiscale = ${user.codiceFiscale})
      select i.id from installments i join documents d on d.id = i.document_id
      where i.id = any(${link.installmentIds}) and i.status = 'da_pagare' and d.cancelled_at is null
        and (d.payer_id in (select id from me)
             or d.pupil_id in (select pupil_id from pupil_payers where payer_id in (select id from me)))`,
  )
  if (payable.length === 0) return problem('nothing')
  await addToCart(
    db.sql,
    user.accountId,
    tenant.id,
    payable.map((r) => r.id),
  )
  return c.redirect('/carrello', 303)
})
