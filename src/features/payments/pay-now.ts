// Paying at once a notice just issued to the signed-in citizen (a spontaneous payment, a canteen top-up).
import type { Context } from 'hono'
import type { Env, SessionUser } from '../../platform/http.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { addToCart } from '../cart/service.ts'
import { NotPayable, startCheckout } from './service.ts'

/**
 * Puts the notice in the cart too (if the payment is refused or abandoned, it waits there, as the status page
 * says), then hands the citizen over to the provider. Paid or withdrawn meanwhile: its document's page says
 * which.
 */
export async function payIssuedNow(
  c: Context<Env>,
  tenant: Tenant,
  user: SessionUser,
  idempotencyKey: string,
  issued: { installmentId: number; documentId: number },
) {
  const { db, config, provider } = c.var.deps
  await addToCart(db.sql, user.accountId, tenant.id, [issued.installmentId])
  try {
    const started = await startCheckout(db, config, provider, {
      accountId: user.accountId,
      email: user.email,
      lang: c.var.lang,
      idempotencyKey,
      selection: [{ tenant, installmentIds: [issued.installmentId] }],
    })
    return c.redirect(started.redirectUrl, 303)
  } catch (err) {
    if (!(err instanceof NotPayable)) throw err
    return c.redirect(`/t/${tenant.slug}/documenti/${issued.documentId}`, 303)
  }
}
