// pagoPA Checkout as a PaymentProvider. start() builds the cart of the payment's notices as the public
// "Checkout EC" API describes it (POST {PAGOPA_CHECKOUT_URL}/carts with the subscription key; the answer is a
// 302 whose Location is the Checkout page) and hands the citizen a page with a "Prosegui su pagoPA" link to it.
// The outcome never comes from Checkout: pagoPA calls paSendRT for each notice, and the payment is finished
// when its cart is whole (service.ts completeCheckout). status() reads exactly that; there is no notification.
import type { Config } from '../../config.ts'
import type { Db } from '../../platform/db.ts'
import { HttpError } from '../../platform/errors.ts'
import type { PaymentProvider, StartRequest } from '../../platform/payment-provider.ts'
import type { PagopaConfig } from './config.ts'
import { clip } from './soap.ts'

/** Shown to the citizen as a calm error page: 503 when Checkout fails, 409 when the cart cannot go there. */
export class CheckoutError extends HttpError {
  constructor(message: string, kind: 'unavailable' | 'cart' = 'unavailable') {
    super(
      kind === 'cart' ? 409 : 503,
      kind === 'cart' ? 'pagopa.errors.checkoutCart' : 'pagopa.errors.checkout',
      message,
    )
  }
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

export const CHECKOUT_PROVIDER = 'pagopa-checkout'
/** pagoPA Checkout takes at most five notices per cart */
export const MAX_NOTICES = 5
/** a payment token lives at most 30 minutes at the node; the cart is given up two hours after the hand-off */
const CART_MINUTES = 120

export interface CartRequest {
  emailNotice?: string
  paymentNotices: {
    noticeNumber: string
    fiscalCode: string
    amount: number
    companyName: string
    description: string
  }[]
  returnUrls: { returnOkUrl: string; returnCancelUrl: string; returnErrorUrl: string; returnWaitingUrl: string }
  idCart: string
  allCCP: boolean
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** The hand-off page on our side (a link to Checkout: a form's redirect to another site would break CSP). */
export const handoffPath = (paymentId: number) => `/pagopa/prosegui/${paymentId}`

export function createCheckoutProvider(
  db: Db,
  config: Pick<Config, 'baseUrl'>,
  pagopa: Pick<PagopaConfig, 'checkoutUrl' | 'checkoutKey'>,
  fetchImpl: FetchLike = fetch,
): PaymentProvider {
  return {
    name: CHECKOUT_PROVIDER,

    async start(req: StartRequest) {
      if (!pagopa.checkoutUrl || !pagopa.checkoutKey) throw new CheckoutError('pagoPA Checkout is not configured')
      const items = await db.sql<
        {
          iuv: string
          amount_cents: number
          commission_cents: number
          description: string
          fiscal_code: string
          name: string
        }[]
      >`select pi.iuv, pi.amount_cents, pi.commission_cents, pi.description, t.fiscal_code, t.name
        from platform.payment_items pi join platform.tenants t on t.id = pi.tenant_id
        where pi.payment_id = ${req.paymentId} order by t.name, pi.installment_id`
      if (items.length === 0) throw new CheckoutError('payment without notices')
      if (items.length > MAX_NOTICES)
        throw new CheckoutError(`pagoPA Checkout takes at most ${MAX_NOTICES} notices`, 'cart')
      // pagoPA lets the PSP charge its fee; a creditor surcharge cannot travel in a cart (decision 0075)
      if (items.some((i) => i.commission_cents > 0))
        throw new CheckoutError('a commission cannot be collected through pagoPA Checkout', 'cart')
      const back = `${config.baseUrl}/pagamenti/${req.paymentId}`
      const cart: CartRequest = {
        ...(req.payerEmail && EMAIL_RE.test(req.payerEmail) ? { emailNotice: req.payerEmail } : {}),
        paymentNotices: items.map((i) => ({
          noticeNumber: `3${i.iuv}`,
          fiscalCode: i.fiscal_code,
          amount: i.amount_cents,
          companyName: clip(i.name, 140),
          description: clip(i.description, 140),
        })),
        returnUrls: {
          returnOkUrl: `${back}?esito=ok`,
          returnCancelUrl: `${back}?esito=annullato`,
          returnErrorUrl: `${back}?esito=errore`,
          returnWaitingUrl: `${back}?esito=attesa`,
        },
        idCart: `SP${req.paymentId}`,
        allCCP: false,
      }
      let res: Response
      try {
        res = await fetchImpl(`${pagopa.checkoutUrl}/carts`, {
          method: 'POST',
          redirect: 'manual',
          headers: {
            'Content-Type': 'application/json',
            Accept: 'application/json',
            'Ocp-Apim-Subscription-Key': pagopa.checkoutKey,
          },
          body: JSON.stringify(cart),
          signal: AbortSignal.timeout(15_000),
        })
      } catch (err) {
        throw new CheckoutError(`pagoPA Checkout unreachable: ${err instanceof Error ? err.message : String(err)}`)
      }
      const location = res.headers.get('location')
      if ((res.status !== 302 && res.status !== 303) || !location) {
        const text = await res.text().catch(() => '')
        throw new CheckoutError(`pagoPA Checkout refused the cart: HTTP ${res.status} ${text.slice(0, 300)}`)
      }
      const checkoutUrl = new URL(location, pagopa.checkoutUrl).toString()
      if (!/^https?:$/.test(new URL(checkoutUrl).protocol)) throw new CheckoutError('unexpected Checkout address')
      await db.sql`insert into platform.pagopa_carts (payment_id, checkout_url) values (${req.paymentId}, ${checkoutUrl})
                   on conflict (payment_id) do update set checkout_url = excluded.checkout_url`
      return {
        providerRef: `cart-${req.paymentId}`,
        redirectUrl: handoffPath(req.paymentId),
        expiresAt: new Date(Date.now() + CART_MINUTES * 60_000),
      }
    },

    /** Succeeded once every notice of the cart has its receipt; pending until then. */
    async status(providerRef: string) {
      const id = Number(/^cart-([0-9]{1,15})$/.exec(providerRef)?.[1])
      if (!Number.isSafeInteger(id)) return { status: 'pending', amountCents: 0, authCode: null }
      const [r] = await db.sql<{ items: number; receipts: number; total_cents: number }[]>`
        select (select count(*)::int from platform.payment_items where payment_id = ${id}) as items,
               (select count(*)::int from platform.pagopa_cart_receipts where payment_id = ${id}) as receipts,
               (select total_cents from platform.payments where id = ${id}) as total_cents`
      const whole = !!r && r.items > 0 && r.receipts >= r.items
      return { status: whole ? 'succeeded' : 'pending', amountCents: r?.total_cents ?? 0, authCode: null }
    },

    /** Checkout sends no notification to the creditor: the receipts come through paSendRT. */
    verifyNotification() {
      return null
    },
  }
}
