// pagoPA: the creditor SOAP endpoint the node calls (POST /pagopa/nodo), the hand-off page to pagoPA
// Checkout, and the office page (receipts flagged for staff, the tenant's pagoPA settings).
import { timingSafeEqual } from 'node:crypto'
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { z } from 'zod'
import { actorOf, audit } from '../../platform/audit.ts'
import { withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { type FormValues, formValues, parseWith } from '../../platform/forms.ts'
import type { Env, SessionUser } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireStaff } from '../../platform/roles.ts'
import { requireUser } from '../../platform/session.ts'
import { type Tenant, tenantSettingsSchema } from '../../platform/tenancy.ts'
import { pagopaConfig } from './config.ts'
import { errorBody, paymentOptions } from './payment-options.ts'
import { type BodyShare, handleNodeRequest, loadSettings, type ReceiptData, splitRows } from './service.ts'
import { Fault, soapFault } from './soap.ts'

export const pagopaRoutes = new Hono<Env>()

const MAX_BODY = 1024 * 1024

function keyMatches(sent: string | undefined, keys: string[]): boolean {
  if (!sent) return false
  const a = Buffer.from(sent)
  // compare against every key, whatever matches, so timing tells nothing
  let ok = false
  for (const k of keys) {
    const b = Buffer.from(k)
    if (a.length === b.length && timingSafeEqual(a, b)) ok = true
  }
  return ok
}

const xml = (c: Context<Env>, body: string, status: 200 | 400 | 401 | 405 | 413) =>
  c.body(body, status, { 'Content-Type': 'text/xml; charset=utf-8', 'Cache-Control': 'no-store' })

// The node's calls. Disabled (404) until PAGOPA_NODE_KEY is set; the key travels in Ocp-Apim-Subscription-Key,
// mutual TLS (where used) is the reverse proxy's job (docs/pagopa.md).
pagopaRoutes.all(
  '/pagopa/nodo',
  async (c, next) => {
    const config = pagopaConfig()
    if (config.nodeKeys.length === 0) throw new NotFound()
    if (!keyMatches(c.req.header('Ocp-Apim-Subscription-Key'), config.nodeKeys)) {
      c.var.deps.log.warn({ reqId: c.get('requestId') }, 'pagoPA node call without a valid subscription key')
      return xml(c, soapFault(new Fault('PAA_SYSTEM_ERROR', 'unauthorized'), config.brokerId ?? 'Sportello'), 401)
    }
    if (c.req.method !== 'POST') {
      c.header('Allow', 'POST')
      return xml(c, soapFault(new Fault('PAA_SINTASSI_XSD', 'use POST'), config.brokerId ?? 'Sportello'), 405)
    }
    await next()
  },
  bodyLimit({
    maxSize: MAX_BODY,
    onError: (c) => xml(c, soapFault(new Fault('PAA_SINTASSI_XSD', 'the request is too large'), 'Sportello'), 413),
  }),
  async (c) => {
    const { db, tenants, log } = c.var.deps
    const body = await c.req.text()
    const result = await handleNodeRequest(
      { db, tenants, log, config: pagopaConfig() },
      body,
      c.req.header('SOAPAction'),
    )
    log.info({ reqId: c.get('requestId'), operation: result.operation, outcome: result.outcome }, 'pagoPA node call')
    if (result.operation?.startsWith('paSendRT')) c.var.deps.kickMail()
    return xml(c, result.body, result.status)
  },
)

// The payment options pagoPA asks for a notice (orgs_payment_options, decision 0103): authenticated like the node's
// calls (the station's subscription key), off (404) until PAGOPA_NODE_KEY is set. Station base: https://<host>/pagopa
pagopaRoutes.post(
  '/pagopa/payment-options/organizations/:cf/notices/:nav',
  async (c, next) => {
    const config = pagopaConfig()
    if (config.nodeKeys.length === 0) throw new NotFound()
    if (!keyMatches(c.req.header('Ocp-Apim-Subscription-Key'), config.nodeKeys))
      return c.json({ statusCode: 401, message: 'Access denied due to missing or invalid subscription key.' }, 401)
    await next()
  },
  bodyLimit({
    maxSize: 16 * 1024,
    onError: (c) => c.json(errorBody({ status: 400, code: 'ODP-101', message: 'PAA_SINTASSI too large' }), 400),
  }),
  async (c) => {
    const { db, tenants } = c.var.deps
    const r = await paymentOptions({ db, tenants }, c.req.param('cf'), c.req.param('nav'))
    c.header('Cache-Control', 'no-store')
    if (!r.ok) return c.json(errorBody(r.error), r.error.status)
    return c.json(r.body, 200)
  },
)

// The hand-off to pagoPA Checkout: a page with a link, because a form's redirect to another site would be
// blocked by our Content-Security-Policy (form-action 'self').
pagopaRoutes.get('/pagopa/prosegui/:id{[0-9]+}', requireUser, async (c) => {
  const user = c.var.user as SessionUser
  const id = Number(c.req.param('id'))
  if (!Number.isSafeInteger(id)) throw new NotFound()
  const [p] = await c.var.deps.db.sql<{ status: string; total_cents: number; checkout_url: string; items: number }[]>`
    select p.status, p.total_cents, c.checkout_url,
      (select count(*)::int from platform.payment_items pi where pi.payment_id = p.id) as items
    from platform.payments p join platform.pagopa_carts c on c.payment_id = p.id
    where p.id = ${id} and p.account_id = ${user.accountId}`
  if (!p) throw new NotFound()
  if (p.status !== 'pending') return c.redirect(`/pagamenti/${id}`, 303)
  return render(c, 'pagopa/handoff', {
    title: c.var.t('pagopa.handoff.title'),
    payment: { id, totalCents: p.total_cents, items: p.items, checkoutUrl: p.checkout_url },
  })
})

// ---- office ----

const anyRole = requireStaff('admin', 'operatore', 'lettore')
const resolvers = requireStaff('admin', 'operatore')
const adminOnly = requireStaff('admin')

interface ReceiptRow {
  id: number
  receipt_id: string
  notice_number: string
  iuv: string
  description: string
  payer_name: string | null
  psp_name: string
  channel_description: string
  payment_method: string | null
  amount_cents: number
  expected_cents: number
  fee_cents: number | null
  outcome: string
  effect: string
  flag: string | null
  paid_at: Date | null
  received_at: Date
  resolved_at: Date | null
  resolved_by_name: string | null
  resolution_note: string | null
}

const receiptColumns = (tx: import('../../platform/db.ts').Tx) => tx`
  r.id, r.receipt_id, r.notice_number, i.iuv, d.description, r.payer_name, r.psp_name, r.channel_description,
  r.payment_method, r.amount_cents, r.expected_cents, r.fee_cents, r.outcome, r.effect, r.flag, r.paid_at,
  r.received_at, r.resolved_at, r.resolved_by_name, r.resolution_note`

type SettingsValues = Record<'iban' | 'payableDays', string>

async function officeData(c: Context<Env>) {
  const tenant = c.var.tenant as Tenant
  return withTenant(c.var.deps.db.sql, tenant, async (tx) => {
    const [flagged, recent, settings, archiveCounts, archiveErrors] = await Promise.all([
      tx<ReceiptRow[]>`select ${receiptColumns(tx)}
        from pagopa_receipts r join installments i on i.id = r.installment_id join documents d on d.id = i.document_id
        where r.flag is not null and r.resolved_at is null order by r.received_at desc limit 200`,
      tx<ReceiptRow[]>`select ${receiptColumns(tx)}
        from pagopa_receipts r join installments i on i.id = r.installment_id join documents d on d.id = i.document_id
        order by r.received_at desc limit 20`,
      loadSettings(tx),
      tx<{ state: string; n: number }[]>`select state, count(*)::int as n from aca_positions group by state`,
      tx<
        {
          document_id: number
          number: string
          year: number
          last_error: string | null
          attempts: number
          next_attempt_at: Date | null
        }[]
      >`select a.document_id, d.number, d.year, a.last_error, a.attempts, a.next_attempt_at
        from aca_positions a join documents d on d.id = a.document_id
        where a.state = 'errore' order by a.next_attempt_at limit 100`,
    ])
    const counts = Object.fromEntries(archiveCounts.map((r) => [r.state, r.n]))
    const archive = { counts, total: archiveCounts.reduce((s, r) => s + r.n, 0), errors: archiveErrors }
    return { flagged, recent, settings, archive }
  })
}

function settingsValues(tenant: Tenant, s: { payableDaysAfterDue: number | null }) {
  return {
    iban: tenant.settings.iban ?? '',
    payableDays: s.payableDaysAfterDue === null ? '' : String(s.payableDaysAfterDue),
  }
}

async function officePage(
  c: Context<Env>,
  opts: { values?: FormValues | SettingsValues; errors?: FormErrors; status?: 200 | 422 } = {},
) {
  const tenant = c.var.tenant as Tenant
  const data = await officeData(c)
  return render(
    c,
    'pagopa/office',
    {
      title: c.var.t('pagopa.office.title'),
      ...data,
      role: c.var.staffRole,
      enabled: pagopaConfig().nodeKeys.length > 0,
      values: opts.values ?? settingsValues(tenant, data.settings),
      errors: opts.errors,
      saved: c.req.query('salvato') === '1',
      resolved: c.req.query('risolta') === '1',
    },
    opts.status ?? 200,
  )
}

pagopaRoutes.get('/t/:tenant/ufficio/pagopa', anyRole, (c) => officePage(c))

const settingsSchema = z.object({
  iban: z
    .string()
    .trim()
    .transform((s) => s.replace(/\s+/g, '').toUpperCase())
    .refine((s) => s === '' || tenantSettingsSchema.shape.iban.safeParse(s).success, 'pagopa.errors.iban'),
  payableDays: z
    .string()
    .trim()
    .refine((s) => s === '' || (/^[0-9]{1,4}$/.test(s) && Number(s) <= 3650), 'pagopa.errors.payableDays')
    .transform((s) => (s === '' ? null : Number(s))),
})

pagopaRoutes.post('/t/:tenant/ufficio/pagopa/impostazioni', adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const { db, tenants } = c.var.deps
  const parsed = parseWith(settingsSchema, await formValues(c), c.var.t, ['iban', 'payableDays'])
  if (!parsed.ok) return officePage(c, { values: parsed.values, errors: parsed.errors, status: 422 })
  const { iban, payableDays } = parsed.data
  const beforeIban = tenant.settings.iban ?? null
  const afterIban = iban === '' ? null : (tenantSettingsSchema.shape.iban.parse(iban) as string)
  // the IBAN is a platform setting of the tenant; written first, put back if the tenant's part fails
  const setIban = (value: string | null) =>
    db.sql`update platform.tenants set settings = ${
      value === null ? db.sql`settings - 'iban'` : db.sql`settings || jsonb_build_object('iban', ${value}::text)`
    }, updated_at = now() where id = ${tenant.id}`
  if (afterIban !== beforeIban) await setIban(afterIban)
  try {
    await withTenant(db.sql, tenant, async (tx) => {
      const before = await loadSettings(tx)
      await tx`insert into pagopa_settings (id, payable_days_after_due, updated_at)
               values (1, ${payableDays}, now())
               on conflict (id) do update set payable_days_after_due = excluded.payable_days_after_due,
                 updated_at = excluded.updated_at`
      await audit(tx, actorOf(c.var.user), {
        action: 'pagopa.settings.update',
        entity: 'pagopa_settings',
        entityId: 1,
        before: { iban: beforeIban, ...before },
        after: { iban: afterIban, payableDaysAfterDue: payableDays },
      })
    })
  } catch (err) {
    if (afterIban !== beforeIban) await setIban(beforeIban)
    throw err
  }
  tenants.invalidate(tenant.slug)
  return c.redirect(`/t/${tenant.slug}/ufficio/pagopa?salvato=1`, 303)
})

async function loadReceipt(c: Context<Env>, id: number) {
  const tenant = c.var.tenant as Tenant
  const [row] = await withTenant(
    c.var.deps.db.sql,
    tenant,
    (tx) => tx<
      (ReceiptRow & { transfers: unknown; expected_transfers: unknown; psp_id: string; channel_id: string })[]
    >`
      select ${receiptColumns(tx)}, r.transfers, r.expected_transfers, r.psp_id, r.channel_id
      from pagopa_receipts r join installments i on i.id = r.installment_id join documents d on d.id = i.document_id
      where r.id = ${id}`,
  )
  if (!row) throw new NotFound()
  const transfers = row.transfers as ReceiptData['transfers']
  const expected = row.expected_transfers as BodyShare[] | null
  return { ...row, transfers, split: expected ? splitRows(expected, transfers) : null }
}

function receiptId(c: Context<Env>): number {
  const id = Number(c.req.param('id'))
  if (!Number.isSafeInteger(id) || id < 1) throw new NotFound()
  return id
}

pagopaRoutes.get('/t/:tenant/ufficio/pagopa/ricevute/:id{[0-9]+}', anyRole, async (c) => {
  const receipt = await loadReceipt(c, receiptId(c))
  return render(c, 'pagopa/receipt', {
    title: c.var.t('pagopa.receipt.title'),
    receipt,
    role: c.var.staffRole,
    values: {},
  })
})

const resolveSchema = z.object({
  note: z
    .string()
    // PostgreSQL text cannot hold NUL
    .transform((s) => s.replaceAll('\u0000', '').trim())
    .pipe(z.string().min(1, 'pagopa.errors.noteRequired').max(500, 'pagopa.errors.noteTooLong')),
})

pagopaRoutes.post('/t/:tenant/ufficio/pagopa/ricevute/:id{[0-9]+}/risolvi', resolvers, async (c) => {
  const tenant = c.var.tenant as Tenant
  const id = receiptId(c)
  const parsed = parseWith(resolveSchema, await formValues(c), c.var.t, ['note'])
  if (!parsed.ok) {
    const receipt = await loadReceipt(c, id)
    return render(
      c,
      'pagopa/receipt',
      {
        title: c.var.t('pagopa.receipt.title'),
        receipt,
        role: c.var.staffRole,
        values: parsed.values,
        errors: parsed.errors,
      },
      422,
    )
  }
  const user = c.var.user as SessionUser
  const actor = actorOf(user)
  const done = await withTenant(c.var.deps.db.sql, tenant, async (tx) => {
    const [row] = await tx<{ flag: string | null; receipt_id: string }[]>`
      update pagopa_receipts set resolved_at = now(), resolved_by_account_id = ${actor.accountId},
        resolved_by_name = ${actor.name}, resolution_note = ${parsed.data.note}
      where id = ${id} and flag is not null and resolved_at is null
      returning flag, receipt_id`
    if (!row) return false
    await audit(tx, actor, {
      action: 'pagopa.receipt.resolve',
      entity: 'pagopa_receipt',
      entityId: row.receipt_id,
      before: { flag: row.flag, resolved: false },
      after: { flag: row.flag, resolved: true },
      reason: parsed.data.note,
    })
    return true
  })
  if (!done) {
    // unknown, not flagged, or resolved meanwhile: show it as it is
    await loadReceipt(c, id)
    return c.redirect(`/t/${tenant.slug}/ufficio/pagopa/ricevute/${id}`, 303)
  }
  return c.redirect(`/t/${tenant.slug}/ufficio/pagopa?risolta=1`, 303)
})
