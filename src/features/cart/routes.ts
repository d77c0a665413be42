// The cart, the check-your-answers page before paying, and the hand-off to the payment provider.
import { Hono } from 'hono'
import { z } from 'zod'
import { withTenant } from '../../platform/db.ts'
import { Forbidden, NotFound } from '../../platform/errors.ts'
import { formValues } from '../../platform/forms.ts'
import { type Env, type SessionUser, safeReturnPath } from '../../platform/http.ts'
import { render } from '../../platform/render.ts'
import { loginRedirect, requireUser, sessionLookedUpByRoute, withSessionRow } from '../../platform/session.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { newToken } from '../../platform/tokens.ts'
import { visibleInstallments } from '../debts/queries.ts'
import { NotPayable, startCheckout } from '../payments/service.ts'
import { noticeCodeRoutes } from './notice-code.ts'
import { addToCart, type CartColumns, cartColumns, loadCart, openPayments, removeFromCart } from './service.ts'

export const cartRoutes = new Hono<Env>()
// everything below /carrello needs a signed-in user; the cart page itself reads the session and the cart in
// one statement (withSessionRow), so the pattern leaves /carrello alone ('/carrello/*' would match it too)
cartRoutes.use('/carrello/:rest{.+}', requireUser)
sessionLookedUpByRoute(/^\/carrello$/)
cartRoutes.route('/', noticeCodeRoutes)

const ids = z.preprocess(
  (v) => (Array.isArray(v) ? v : v === undefined || v === '' ? [] : [v]),
  z.array(z.coerce.number().int().positive()).max(500),
)
const addSchema = z.object({ ente: z.string().regex(/^[a-z0-9-]{1,40}$/), rate: ids, torna: z.string().optional() })

async function tenantBySlug(c: { var: Env['Variables'] }, slug: string): Promise<Tenant> {
  const t = await c.var.deps.tenants.get(slug)
  if (!t || (t.status !== 'active' && t.status !== 'suspended')) throw new NotFound()
  return t
}

cartRoutes.get('/carrello', async (c) => {
  const found = await withSessionRow<CartColumns>(c, cartColumns)
  if (!found) return loginRedirect(c)
  const cart = await loadCart(
    c.var.deps.db,
    await c.var.deps.tenants.list(),
    found.user.accountId,
    found.extra,
    c.var.lang,
  )
  const open = await openPayments(c.var.deps.db, found.user.accountId, cart.entries)
  return render(c, 'cart/cart', {
    title: c.var.t('cart.title'),
    cart,
    open,
    removed: c.req.query('rimosso'),
    added: /^[0-9]{1,3}$/.test(c.req.query('aggiunto') ?? '') ? Number(c.req.query('aggiunto')) : null,
    cancelled: c.req.query('annullato'),
  })
})

cartRoutes.post('/carrello/aggiungi', async (c) => {
  const user = c.var.user as SessionUser
  const parsed = addSchema.safeParse(await formValues(c))
  if (!parsed.success) throw new NotFound()
  const tenant = await tenantBySlug(c, parsed.data.ente)
  const back = safeReturnPath(parsed.data.torna, '/carrello')
  if (parsed.data.rate.length === 0) {
    // nothing ticked: back to the document with the question asked again
    return c.redirect(`${back}${back.includes('?') ? '&' : '?'}errore=nessuna-rata#rate`, 303)
  }
  // only what this citizen may see is added: another family's installment id is silently refused
  const allowed = await withTenant(c.var.deps.db.sql, tenant, (tx) =>
    visibleInstallments(tx, user.codiceFiscale, parsed.data.rate),
  )
  if (allowed.length !== parsed.data.rate.length) throw new NotFound()
  const added = await addToCart(c.var.deps.db.sql, user.accountId, tenant.id, allowed)
  return c.redirect(`${back}${back.includes('?') ? '&' : '?'}aggiunto=${added}`, 303)
})

const removeSchema = z.object({ ente: z.string().regex(/^[a-z0-9-]{1,40}$/), rata: z.coerce.number().int().positive() })

cartRoutes.post('/carrello/rimuovi', async (c) => {
  const user = c.var.user as SessionUser
  const parsed = removeSchema.safeParse(await formValues(c))
  if (!parsed.success) throw new NotFound()
  const tenant = await tenantBySlug(c, parsed.data.ente)
  await removeFromCart(c.var.deps.db.sql, user.accountId, tenant.id, [parsed.data.rata])
  return c.redirect('/carrello?rimosso=1', 303)
})

cartRoutes.get('/carrello/riepilogo', async (c) => {
  const user = c.var.user as SessionUser
  const cart = await loadCart(c.var.deps.db, await c.var.deps.tenants.list(), user.accountId, undefined, c.var.lang)
  if (cart.payable.length === 0) return c.redirect('/carrello', 303)
  return render(c, 'cart/summary', {
    title: c.var.t('cart.summary.title'),
    cart,
    key: newToken(),
    confirmed: user.emailConfirmed,
  })
})

const paySchema = z.object({ chiave: z.string().regex(/^[A-Za-z0-9_-]{43}$/) })

cartRoutes.post('/carrello/paga', async (c) => {
  const user = c.var.user as SessionUser
  const parsed = paySchema.safeParse(await formValues(c))
  if (!parsed.success) return c.redirect('/carrello/riepilogo', 303)
  if (!user.emailConfirmed) throw new Forbidden()
  const tenants = await c.var.deps.tenants.list()
  const cart = await loadCart(c.var.deps.db, tenants, user.accountId, undefined, c.var.lang)
  const byTenant = new Map<number, { tenant: Tenant; installmentIds: number[] }>()
  for (const it of cart.payable) {
    const g = byTenant.get(it.tenant.id) ?? { tenant: it.tenant, installmentIds: [] }
    g.installmentIds.push(it.installmentId)
    byTenant.set(it.tenant.id, g)
  }
  try {
    const started = await startCheckout(c.var.deps.db, c.var.deps.config, c.var.deps.provider, {
      accountId: user.accountId,
      email: user.email,
      lang: c.var.lang,
      idempotencyKey: parsed.data.chiave,
      selection: [...byTenant.values()],
    })
    return c.redirect(started.redirectUrl, 303)
  } catch (err) {
    if (!(err instanceof NotPayable)) throw err
    const fresh = await loadCart(c.var.deps.db, tenants, user.accountId, undefined, c.var.lang)
    return render(
      c,
      'cart/summary',
      { title: c.var.t('cart.summary.title'), cart: fresh, key: newToken(), confirmed: true, changed: true },
      409,
    )
  }
})
