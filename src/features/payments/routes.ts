// After the provider: the status page ("in corso" until the outcome), the provider's notifications, the
// receipts and the archive of payments.

import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { todayRome } from '../../platform/dates.ts'
import { withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import type { Env, SessionUser } from '../../platform/http.ts'
import { render, wantsFragment } from '../../platform/render.ts'
import { requireUser } from '../../platform/session.ts'
import { citizenTenants } from '../debts/routes.ts'
import { applyNotification, finish, heldUntil, loadReceipt, receiptPdf, refreshFromProvider } from './service.ts'
import { OFFLINE_METHODS } from './settle.ts'

export const paymentRoutes = new Hono<Env>()

// server to server: signed by the provider, exempt from CSRF (see session.ts)
paymentRoutes.post('/pagamenti/notifica/:provider', async (c) => {
  const { provider, db, log } = c.var.deps
  if (c.req.param('provider') !== provider.name) return c.text('unknown provider', 404)
  const raw = await c.req.text()
  const n = provider.verifyNotification(raw, c.req.header())
  if (!n) {
    await db.sql`insert into platform.payment_events (source, outcome, detail)
                 values ('notification', 'rejected', 'bad signature or body')`
    log.warn({ reqId: c.get('requestId') }, 'payment notification rejected')
    return c.text('rejected', 400)
  }
  await applyNotification(db, n)
  c.var.deps.kickMail()
  return c.text('ok', 200)
})

paymentRoutes.use('/pagamenti/:id{[0-9]+}', requireUser)
paymentRoutes.use('/pagamenti/:id{[0-9]+}/*', requireUser)
paymentRoutes.use('/archivio', requireUser)

interface PaymentRow {
  id: number
  status: 'created' | 'pending' | 'succeeded' | 'failed' | 'cancelled' | 'expired'
  amount_cents: number
  commission_cents: number
  total_cents: number
  receipt_number: string | null
  created_at: Date
  completed_at: Date | null
  needs_refund: boolean
  provider_ref: string | null
  redirect_url: string | null
  expires_at: Date | null
  auth_code: string | null
  card_mask: string | null
  items: { tenant: string; fiscal_code: string; description: string; iuv: string; amount_cents: number }[]
}

async function ownPayment(c: { var: Env['Variables'] }, id: number): Promise<PaymentRow> {
  if (!Number.isSafeInteger(id) || id < 1) throw new NotFound()
  const user = c.var.user as SessionUser
  const [p] = await c.var.deps.db.sql<PaymentRow[]>`
    select p.id, p.status, p.amount_cents, p.commission_cents, p.total_cents, p.receipt_number, p.created_at, p.completed_at,
      p.needs_refund, p.provider_ref, p.redirect_url, p.expires_at, p.auth_code, p.card_mask,
      (select json_agg(json_build_object('tenant', t.name, 'fiscal_code', t.fiscal_code, 'description', pi.description,
                'iuv', pi.iuv, 'amount_cents', pi.amount_cents)
              order by t.name, pi.installment_id)
       from platform.payment_items pi join platform.tenants t on t.id = pi.tenant_id where pi.payment_id = p.id) as items
    from platform.payments p where p.id = ${id} and p.account_id = ${user.accountId}`
  // someone else's payment is as unknown as a missing one
  if (!p) throw new NotFound()
  return p
}

async function statusPage(c: Context<Env>, fragmentOnly: boolean) {
  const id = Number(c.req.param('id'))
  if (!Number.isSafeInteger(id)) throw new NotFound()
  let payment = await ownPayment(c, id)
  if (payment.status === 'pending') {
    // the notification may be late or lost: ask the provider, and apply a final answer
    try {
      await refreshFromProvider(c.var.deps.db, c.var.deps.provider, id)
      c.var.deps.kickMail()
    } catch (err) {
      c.var.deps.log.warn({ err, paymentId: id }, 'provider status unavailable')
    }
    payment = await ownPayment(c, id)
  }
  const pending = payment.status === 'pending' || payment.status === 'created'
  const data = {
    title: c.var.t(`payments.status.${payment.status}.title`),
    payment,
    pending,
    // until when the installments wait for this payment, and whether the provider's page is still open
    heldUntil: pending && payment.expires_at ? heldUntil(payment.expires_at) : null,
    resumable: resumable(payment),
  }
  if (fragmentOnly || wantsFragment(c)) return render(c, 'payments/_status', { ...data, oob: true })
  return render(c, 'payments/status', { ...data, refresh: data.pending ? 5 : undefined })
}

function resumable(p: PaymentRow): boolean {
  return p.status === 'pending' && !!p.redirect_url && !!p.expires_at && p.expires_at.getTime() > Date.now()
}

// back to the provider's page of a payment left open (the same session: nothing is started twice)
paymentRoutes.get('/pagamenti/:id{[0-9]+}/riprendi', async (c) => {
  const payment = await ownPayment(c, Number(c.req.param('id')))
  if (!resumable(payment)) return c.redirect(`/pagamenti/${payment.id}`, 303)
  return c.redirect(payment.redirect_url as string, 303)
})

// the payer gives a payment up: the provider's session is closed (unless it was paid meanwhile, which stands) and
// the installments are payable again at once, not when the session would have expired
paymentRoutes.post('/pagamenti/:id{[0-9]+}/annulla', async (c) => {
  const { db, provider } = c.var.deps
  const payment = await ownPayment(c, Number(c.req.param('id')))
  if (payment.status !== 'pending' && payment.status !== 'created') return c.redirect(`/pagamenti/${payment.id}`, 303)
  const answer = payment.provider_ref && provider.cancel ? await provider.cancel(payment.provider_ref) : null
  if (answer && answer.status !== 'pending' && answer.status !== 'cancelled') {
    // paid (or refused) before the cancel arrived: that outcome is the payment's
    await finish(db, payment.id, answer.status, {
      source: 'status',
      authCode: answer.authCode,
      cardMask: answer.cardMask ?? null,
      amountCents: answer.amountCents,
    })
    c.var.deps.kickMail()
    return c.redirect(`/pagamenti/${payment.id}`, 303)
  }
  await finish(db, payment.id, 'cancelled', { source: 'payer', detail: 'cancelled by the payer' })
  return c.redirect('/carrello?annullato=1', 303)
})

paymentRoutes.get('/pagamenti/:id{[0-9]+}', (c) => statusPage(c, false))
paymentRoutes.get('/pagamenti/:id{[0-9]+}/stato', (c) => statusPage(c, true))

paymentRoutes.get('/pagamenti/:id{[0-9]+}/ricevuta.pdf', async (c) => {
  const id = Number(c.req.param('id'))
  const payment = await ownPayment(c, id)
  if (payment.status !== 'succeeded') throw new NotFound()
  const receipt = await loadReceipt(c.var.deps.db, id)
  if (!receipt) throw new NotFound()
  const pdf = await receiptPdf({ ...receipt, lang: c.var.lang })
  c.header('Content-Type', 'application/pdf')
  c.header('Content-Disposition', `inline; filename="ricevuta-${receipt.receiptNumber}.pdf"`)
  c.header('Cache-Control', 'private, no-store')
  return c.body(new Uint8Array(pdf))
})

const archiveFilter = z.object({
  ente: z
    .string()
    .regex(/^[a-z0-9-]{1,40}$/)
    .optional()
    .catch(undefined),
  anno: z.coerce.number().int().min(2000).max(2100).optional().catch(undefined),
  // paid by default; the attempts that did not end in a payment apart, on request
  stato: z.enum(['pagati', 'tentativi', 'tutti']).catch('pagati'),
  cerca: z.string().trim().max(60).optional().catch(undefined),
})

export interface ArchiveRow {
  /** the channel: paid here online, at pagoPA's other channels (bank, post office, tobacconist, apps: the node's
   *  receipt), or elsewhere as the body recorded it (reconciliation, the counter) */
  kind: 'online' | 'pagopa' | 'altro'
  /** how the body says it was paid, for a payment it recorded itself: at its counter, by bank transfer, otherwise */
  channel?: 'manuale.sportello' | 'manuale.bonifico' | 'manuale.altro'
  date: Date
  tenant: string
  tenantSlug: string
  description: string
  iuv: string
  amountCents: number
  status: string
  receiptNumber: string | null
  receiptUrl: string | null
  paymentUrl: string | null
}

paymentRoutes.get('/archivio', async (c) => {
  const user = c.var.user as SessionUser
  const filter = archiveFilter.parse(c.req.query())
  const tenants = await citizenTenants(c, user.codiceFiscale)
  const rows: ArchiveRow[] = []
  // payments made here
  const online = await c.var.deps.db.sql<
    {
      id: number
      status: string
      created_at: Date
      completed_at: Date | null
      receipt_number: string | null
      slug: string
      tenant: string
      description: string
      iuv: string
      amount_cents: number
    }[]
  >`select p.id, p.status, p.created_at, p.completed_at, p.receipt_number, t.slug, t.name as tenant, pi.description, pi.iuv, pi.amount_cents
    from platform.payments p join platform.payment_items pi on pi.payment_id = p.id join platform.tenants t on t.id = pi.tenant_id
    where p.account_id = ${user.accountId} and p.status <> 'created'
    order by p.created_at desc limit 500`
  for (const r of online) {
    rows.push({
      kind: 'online',
      date: r.completed_at ?? r.created_at,
      tenant: r.tenant,
      tenantSlug: r.slug,
      description: r.description,
      iuv: r.iuv,
      amountCents: r.amount_cents,
      status: r.status,
      receiptNumber: r.receipt_number,
      receiptUrl: r.status === 'succeeded' ? `/pagamenti/${r.id}/ricevuta.pdf` : null,
      paymentUrl: `/pagamenti/${r.id}`,
    })
  }
  // payments made at other channels (bank, post office, tobacconist, pagoPA apps), once reconciled
  for (const t of tenants) {
    const other = await withTenant(
      c.var.deps.db.sql,
      t,
      (tx) => tx<
        {
          installment_id: number
          paid_at: Date
          description: string
          iuv: string
          amount_cents: number
          receipt_number: string
          source: string
          channel: string | null
        }[]
      >`
      with me as (select id from payers where codice_fiscale = ${user.codiceFiscale})
      select ip.installment_id, ip.paid_at, d.description, i.iuv, ip.amount_cents, ip.receipt_number, ip.source, ip.channel
      from installment_payments ip join installments i on i.id = ip.installment_id join documents d on d.id = i.document_id
      where ip.source <> 'checkout'
        and (d.payer_id in (select id from me) or d.pupil_id in (select pupil_id from pupil_payers where payer_id in (select id from me)))
      order by ip.paid_at desc limit 500`,
    )
    for (const r of other) {
      rows.push({
        kind: r.source === 'pagopa' ? 'pagopa' : 'altro',
        channel:
          r.source === 'manuale' && (OFFLINE_METHODS as readonly string[]).includes(r.channel ?? '')
            ? (`manuale.${r.channel}` as ArchiveRow['channel'])
            : undefined,
        date: r.paid_at,
        tenant: t.name,
        tenantSlug: t.slug,
        description: r.description,
        iuv: r.iuv,
        amountCents: r.amount_cents,
        status: 'succeeded',
        receiptNumber: r.receipt_number,
        receiptUrl: null,
        paymentUrl: null,
      })
    }
  }
  const q = filter.cerca?.toLowerCase()
  // the year of a payment is Rome's
  const yearOf = (d: Date) => Number(todayRome(d).slice(0, 4))
  const matching = rows
    .filter((r) => !filter.ente || r.tenantSlug === filter.ente)
    .filter((r) => !filter.anno || yearOf(r.date) === filter.anno)
    .filter(
      (r) =>
        !q ||
        r.description.toLowerCase().includes(q) ||
        r.iuv.includes(q) ||
        (r.receiptNumber ?? '').toLowerCase().includes(q),
    )
    .sort((a, b) => b.date.getTime() - a.date.getTime())
  const paid = matching.filter((r) => r.status === 'succeeded')
  const attempts = matching.filter((r) => r.status !== 'succeeded')
  const years = [...new Set(rows.map((r) => yearOf(r.date)))].sort((a, b) => b - a)
  return render(c, 'payments/archive', {
    title: c.var.t('payments.archive.title'),
    paid: filter.stato === 'tentativi' ? [] : paid,
    attempts: filter.stato === 'pagati' ? [] : attempts,
    // how many attempts the default view leaves out (a link shows them)
    hiddenAttempts: filter.stato === 'pagati' ? attempts.length : 0,
    filter,
    tenants,
    years,
  })
})
