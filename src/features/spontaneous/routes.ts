// Spontaneous payments: choose a service the tenant lets citizens pay without a notice, fill the form
// (payer from the account, causale, amount or quantity, optional pupil), check, pay at the provider.
import { type Context, Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import { z } from 'zod'
import { type CommissionRule, describeCommission } from '../../platform/commission.ts'
import { withTenant } from '../../platform/db.ts'
import { Forbidden, NotFound } from '../../platform/errors.ts'
import { type FormValues, formValues, parseWith } from '../../platform/forms.ts'
import type { Env, SessionUser } from '../../platform/http.ts'
import type { Translate } from '../../platform/i18n.ts'
import { formatDecimalIt, formatMoney } from '../../platform/money.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireUser } from '../../platform/session.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { newToken } from '../../platform/tokens.ts'
import { requireProvedCf } from '../account/proof-routes.ts'
import { payIssuedNow } from '../payments/pay-now.ts'
import { priceCheckout } from '../payments/service.ts'
import { CAUSALE_MAX, FIELD_ORDER, MAX_QUANTITY, NO_PUPIL, spontaneousSchema, toInput } from './schema.ts'
import {
  type IssuedRequest,
  issueSpontaneous,
  KeyOfAnotherAccount,
  loadServiceForm,
  type PupilRow,
  pupilsFor,
  type ServiceRow,
  spontaneousServices,
} from './service.ts'

export const spontaneousRoutes = new Hono<Env>()

const BASE = '/t/:tenant/pagamento-spontaneo'
const CODE = ':code{[a-z0-9-]{1,40}}'

/** A suspended tenant takes no payment: every page of the flow says so instead. */
const notSuspended = createMiddleware<Env>(async (c, next) => {
  if (c.var.tenant?.status === 'suspended') {
    return render(c, 'spontaneous/unavailable', { title: c.var.t('spontaneous.suspended.title'), suspended: true }, 403)
  }
  await next()
})

// a spontaneous payment issues a document in the payer's name: only for a proved codice fiscale
spontaneousRoutes.use(BASE, requireUser, requireProvedCf, notSuspended)
spontaneousRoutes.use(`${BASE}/*`, requireUser, requireProvedCf, notSuspended)

function base(tenant: Tenant) {
  return `/t/${tenant.slug}/pagamento-spontaneo`
}

/** The form's values as they travel in links and hidden fields (strings only, bounded). */
function pick(v: FormValues | Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of ['causale', 'importo', 'quantita', 'tariffa', 'alunno']) {
    const x = v[k]
    if (typeof x === 'string') out[k] = x.slice(0, 400)
  }
  return out
}

function commissionLabel(t: Translate, rule: CommissionRule, lang: 'it' | 'en'): string {
  const d = describeCommission(rule)
  return t(`spontaneous.${d.key}`, rule.type === 'fixed' ? { amount: formatMoney(rule.cents, lang) } : d.params)
}

function formPage(
  c: Context<Env>,
  data: { service: ServiceRow; pupils: PupilRow[]; values: Record<string, string>; errors?: FormErrors },
  status: 200 | 422 = 200,
) {
  const tenant = c.var.tenant as Tenant
  return render(
    c,
    'spontaneous/form',
    {
      title: c.var.t('spontaneous.form.title', { service: data.service.name }),
      ...data,
      base: base(tenant),
      causaleMax: CAUSALE_MAX,
      maxQuantity: MAX_QUANTITY,
      noPupil: NO_PUPIL,
    },
    status,
  )
}

async function serviceOr404(c: Context<Env>) {
  const user = c.var.user as SessionUser
  const found = await loadServiceForm(
    c.var.deps.db,
    c.var.tenant as Tenant,
    c.req.param('code') ?? '',
    user.codiceFiscale,
  )
  if (!found) throw new NotFound()
  return found
}

function parse(c: Context<Env>, service: ServiceRow, pupils: PupilRow[], values: Record<string, string>) {
  const parsed = parseWith(
    spontaneousSchema(
      service,
      pupils.map((p) => p.id),
    ),
    values,
    c.var.t,
    FIELD_ORDER,
  )
  return parsed.ok ? { ok: true as const, input: toInput(service, parsed.data) } : parsed
}

/** The query string that carries the answers to the check page and back to the form ("Cambia"). */
function answersQuery(service: ServiceRow, input: ReturnType<typeof toInput>): string {
  const q = new URLSearchParams()
  if (service.amountMode === 'tariffa') q.set('tariffa', String(input.tariff?.index))
  else q.set('causale', input.causale)
  if (service.amountMode === 'quantita') q.set('quantita', String(input.quantity))
  else if (service.amountMode === 'importo') q.set('importo', formatDecimalIt(input.amountCents))
  q.set('alunno', input.pupilId === null ? NO_PUPIL : String(input.pupilId))
  return q.toString()
}

spontaneousRoutes.get(BASE, async (c) => {
  const tenant = c.var.tenant as Tenant
  const services = await withTenant(c.var.deps.db.sql, tenant, (tx) => spontaneousServices(tx))
  if (services.length === 0) {
    return render(c, 'spontaneous/unavailable', { title: c.var.t('spontaneous.none.title'), suspended: false })
  }
  return render(c, 'spontaneous/services', { title: c.var.t('spontaneous.list.title'), services, base: base(tenant) })
})

spontaneousRoutes.get(`${BASE}/${CODE}`, async (c) => {
  const { service, pupils } = await serviceOr404(c)
  // coming back from the check page ("Cambia") the answers travel in the query string
  const query = pick(c.req.query())
  const values = { causale: service.causale, ...query }
  return formPage(c, { service, pupils, values })
})

spontaneousRoutes.post(`${BASE}/${CODE}`, async (c) => {
  const tenant = c.var.tenant as Tenant
  const { service, pupils } = await serviceOr404(c)
  const values = pick(await formValues(c))
  const r = parse(c, service, pupils, values)
  if (!r.ok) return formPage(c, { service, pupils, values, errors: r.errors }, 422)
  return c.redirect(`${base(tenant)}/${service.code}/controlla?${answersQuery(service, r.input)}`, 303)
})

spontaneousRoutes.get(`${BASE}/${CODE}/controlla`, async (c) => {
  const tenant = c.var.tenant as Tenant
  const user = c.var.user as SessionUser
  const { service, pupils } = await serviceOr404(c)
  const values = pick(c.req.query())
  const r = parse(c, service, pupils, values)
  if (!r.ok) return formPage(c, { service, pupils, values, errors: r.errors }, 422)
  const rule = service.commission ?? tenant.settings.commission
  const price = priceCheckout([
    {
      tenant,
      installmentId: 0,
      amountCents: r.input.amountCents,
      description: r.input.causale,
      iuv: '',
      commission: rule,
    },
  ])
  const query = answersQuery(service, r.input)
  return render(c, 'spontaneous/check', {
    title: c.var.t('spontaneous.check.title'),
    service,
    input: r.input,
    pupil: pupils.find((p) => p.id === r.input.pupilId) ?? null,
    hasPupils: pupils.length > 0,
    price,
    commissionLabel: commissionLabel(c.var.t, rule, c.var.lang),
    changeHref: `${base(tenant)}/${service.code}?${query}`,
    action: `${base(tenant)}/${service.code}/paga`,
    hidden: Object.fromEntries(new URLSearchParams(query)),
    key: newToken(),
    confirmed: user.emailConfirmed,
    base: base(tenant),
  })
})

const keySchema = z.object({ chiave: z.string().regex(/^[A-Za-z0-9_-]{43}$/) })

spontaneousRoutes.post(`${BASE}/${CODE}/paga`, async (c) => {
  const tenant = c.var.tenant as Tenant
  const user = c.var.user as SessionUser
  const { db } = c.var.deps
  const form = await formValues(c)
  const values = pick(form)
  const key = keySchema.safeParse(form)
  if (!key.success) return c.redirect(`${base(tenant)}/${c.req.param('code')}`, 303)
  if (!user.emailConfirmed) throw new Forbidden()
  // one tenant transaction: the service and pupils as they are now, the answers checked again, the document
  type Outcome =
    | null
    | { kind: 'invalid'; service: ServiceRow; pupils: PupilRow[]; errors: FormErrors }
    | { kind: 'issued'; issued: IssuedRequest }
  const outcome = await withTenant(db.sql, tenant, async (tx): Promise<Outcome> => {
    const service = (await spontaneousServices(tx)).find((s) => s.code === c.req.param('code'))
    if (!service) return null
    const pupils = await pupilsFor(tx, service, user.codiceFiscale)
    const r = parse(c, service, pupils, values)
    if (!r.ok) return { kind: 'invalid', service, pupils, errors: r.errors }
    try {
      return { kind: 'issued', issued: await issueSpontaneous(tx, tenant, user, service, r.input, key.data.chiave) }
    } catch (err) {
      if (err instanceof KeyOfAnotherAccount) return null
      throw err
    }
  })
  if (!outcome) throw new NotFound()
  if (outcome.kind === 'invalid') {
    return formPage(c, { service: outcome.service, pupils: outcome.pupils, values, errors: outcome.errors }, 422)
  }
  const { issued } = outcome
  return payIssuedNow(c, tenant, user, key.data.chiave, issued)
})
