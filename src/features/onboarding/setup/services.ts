// The set-up wizard's services: the list to confirm, a new service, one service changed; and, when the tenant has a
// canteen service, the canteen's tariffs.
import { type Context, Hono } from 'hono'
import { todayRome } from '../../../platform/dates.ts'
import { withTenant } from '../../../platform/db.ts'
import { NotFound } from '../../../platform/errors.ts'
import { type FormValues, fieldError, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { type FormErrors, render } from '../../../platform/render.ts'
import type { Tenant } from '../../../platform/tenancy.ts'
import { listTariffs } from '../../canteen/queries.ts'
import { newServiceSchema, SERVICE_ORDER, serviceSchema, tariffSchema } from '../schema.ts'
import { actor, adminOnly, BASE, base } from './common.ts'
import { addService, addTariff, confirmServices, hasCanteen, loadService, loadSetup, updateService } from './service.ts'

export const serviceRoutes = new Hono<Env>()

// services

serviceRoutes.get(`${BASE}/servizi`, adminOnly, async (c) => {
  const { setup, services } = await loadSetup(c.var.deps.db.sql, c.var.tenant as Tenant)
  return render(c, 'onboarding/setup/services', {
    title: c.var.t('onboarding.setup.services.title'),
    setup,
    services,
    canteen: await hasCanteen(c.var.deps.db.sql, c.var.tenant as Tenant),
    saved: c.req.query('salvato') ?? null,
  })
})

serviceRoutes.post(`${BASE}/servizi`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const ok = await confirmServices(c.var.deps.db.sql, tenant, actor(c))
  if (!ok) {
    const { setup, services } = await loadSetup(c.var.deps.db.sql, tenant)
    return render(
      c,
      'onboarding/setup/services',
      {
        title: c.var.t('onboarding.setup.services.title'),
        setup,
        services,
        errors: {
          summary: [{ text: c.var.t('onboarding.errors.noActiveService'), href: '#services' }],
          fields: {},
        },
      },
      422,
    )
  }
  return c.redirect(`${base(c)}?salvato=servizi`, 303)
})

function serviceForm(c: Context<Env>, opts: { id?: number; values: FormValues; errors?: FormErrors }) {
  return render(
    c,
    'onboarding/setup/service',
    {
      title: c.var.t(opts.id ? 'onboarding.setup.service.editTitle' : 'onboarding.setup.service.newTitle'),
      id: opts.id ?? null,
      values: opts.values,
      errors: opts.errors,
    },
    opts.errors ? 422 : 200,
  )
}

serviceRoutes.get(`${BASE}/servizi/nuovo`, adminOnly, (c) =>
  serviceForm(c, { values: { amountMode: 'importo', active: 'si' } }),
)

serviceRoutes.post(`${BASE}/servizi/nuovo`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const values = await formValues(c)
  const parsed = parseWith(newServiceSchema, values, c.var.t, SERVICE_ORDER)
  if (!parsed.ok) return serviceForm(c, { values, errors: parsed.errors })
  await addService(c.var.deps.db.sql, tenant, actor(c), parsed.data)
  return c.redirect(`${base(c)}/servizi?salvato=nuovo`, 303)
})

function serviceId(c: Context<Env>): number {
  const id = Number(c.req.param('id'))
  if (!Number.isSafeInteger(id) || id < 1) throw new NotFound()
  return id
}

serviceRoutes.get(`${BASE}/servizi/:id{[0-9]+}`, adminOnly, async (c) => {
  const id = serviceId(c)
  const s = await loadService(c.var.deps.db.sql, c.var.tenant as Tenant, id)
  if (!s) throw new NotFound()
  return serviceForm(c, {
    id,
    values: {
      kindLabel: s.kind,
      name: s.name,
      causale: s.causale,
      spontaneous: s.spontaneous ? 'si' : '',
      amountMode: s.amount_mode,
      unitPrice: s.unit_price_cents === null ? '' : (s.unit_price_cents / 100).toFixed(2).replace('.', ','),
      active: s.active ? 'si' : '',
    },
  })
})

serviceRoutes.post(`${BASE}/servizi/:id{[0-9]+}`, adminOnly, async (c) => {
  const id = serviceId(c)
  const tenant = c.var.tenant as Tenant
  const values = await formValues(c)
  const parsed = parseWith(serviceSchema, values, c.var.t, SERVICE_ORDER)
  if (!parsed.ok) {
    const s = await loadService(c.var.deps.db.sql, tenant, id)
    if (!s) throw new NotFound()
    return serviceForm(c, { id, values: { ...values, kindLabel: s.kind }, errors: parsed.errors })
  }
  if (!(await updateService(c.var.deps.db.sql, tenant, actor(c), id, parsed.data))) throw new NotFound()
  return c.redirect(`${base(c)}/servizi?salvato=${id}`, 303)
})

// canteen tariffs, when the tenant has a canteen service

async function tariffsPage(c: Context<Env>, values: FormValues, errors?: FormErrors) {
  const tenant = c.var.tenant as Tenant
  if (!(await hasCanteen(c.var.deps.db.sql, tenant))) throw new NotFound()
  const tariffs = await withTenant(c.var.deps.db.sql, tenant, (tx) => listTariffs(tx, todayRome()))
  return render(
    c,
    'onboarding/setup/tariffs',
    {
      title: c.var.t('onboarding.setup.tariffs.title'),
      tariffs,
      values,
      errors,
      saved: c.req.query('salvato') === '1',
    },
    errors ? 422 : 200,
  )
}

serviceRoutes.get(`${BASE}/tariffe`, adminOnly, (c) => tariffsPage(c, {}))

serviceRoutes.post(`${BASE}/tariffe`, adminOnly, async (c) => {
  const tenant = c.var.tenant as Tenant
  const values = await formValues(c)
  const parsed = parseWith(tariffSchema, values, c.var.t, ['tariffName', 'price', 'isDefault'])
  if (!parsed.ok) return tariffsPage(c, values, parsed.errors)
  if (!(await hasCanteen(c.var.deps.db.sql, tenant))) throw new NotFound()
  const r = await addTariff(c.var.deps.db.sql, tenant, actor(c), {
    name: parsed.data.tariffName,
    priceCents: parsed.data.price as number,
    isDefault: parsed.data.isDefault,
    validFrom: todayRome(),
  })
  if (r === 'taken')
    return tariffsPage(c, values, fieldError(c.var.t, 'tariffName', 'onboarding.errors.tariffNameTaken'))
  return c.redirect(`${base(c)}/tariffe?salvato=1`, 303)
})
