// The catalog: the tenant's services (admin creates and edits, everyone reads) and the tenant's settings
// (contacts, canteen cut-off, reminder days, low-balance threshold, commission rule, accessibility statement).
import { Hono } from 'hono'
import { actorOf, audit } from '../../platform/audit.ts'
import type { CommissionRule } from '../../platform/commission.ts'
import { todayRome } from '../../platform/dates.ts'
import { assertSchemaName } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { TAX_CATEGORIES, type TaxCategory, taxCategoryOf } from '../../platform/it/tax-categories.ts'
import { formatDecimalIt } from '../../platform/money.ts'
import { STAFF_NAV } from '../../platform/staff-nav.ts'
import { SERVICE_KINDS } from '../../platform/tenancy.ts'
import {
  defaultTaxonomyCode,
  KINDS_WITHOUT_DEFAULT,
  TAXONOMY_PREFIXES,
  taxonomyChoices,
  taxonomyEntry,
} from '../pagopa/taxonomy.ts'
import { tariffsOf } from '../spontaneous/service.ts'
import { admins, flatValues, idParam, inTenant, officePath, page, readers, tenantOf } from './common.ts'
import {
  commissionToForm,
  SERVICE_ORDER,
  SETTINGS_ORDER,
  type ServiceForm,
  serviceSchema,
  settingsSchema,
} from './schema.ts'

export const catalogRoutes = new Hono<Env>()

interface ServiceRow {
  id: number
  code: string
  kind: string
  name: string
  name_en: string | null
  causale: string
  spontaneous: boolean
  amount_mode: 'importo' | 'quantita' | 'tariffa'
  unit_price_cents: number | null
  tariffs: { label: string; cents: number }[] | null
  min_cents: number | null
  max_cents: number | null
  commission: CommissionRule | null
  tax_category: TaxCategory | null
  taxonomy_code: string | null
  taxonomy_prefix: string
  active: boolean
}

const SERVICE_COLUMNS = [
  'id',
  'code',
  'kind',
  'name',
  'name_en',
  'causale',
  'spontaneous',
  'amount_mode',
  'unit_price_cents',
  'commission',
  'tax_category',
  'taxonomy_code',
  'taxonomy_prefix',
  'tariffs',
  'min_cents',
  'max_cents',
  'active',
]

/** What the audit log keeps of a service. */
function serviceSnapshot(s: ServiceRow | (ServiceForm & { id?: number })) {
  if ('amount_mode' in s)
    return {
      code: s.code,
      kind: s.kind,
      name: s.name,
      nameEn: s.name_en,
      causale: s.causale,
      spontaneous: s.spontaneous,
      amountMode: s.amount_mode,
      unitPriceCents: s.unit_price_cents,
      commission: s.commission,
      taxCategory: s.tax_category,
      taxonomyCode: s.taxonomy_code,
      taxonomyPrefix: s.taxonomy_prefix,
      tariffs: s.tariffs,
      minCents: s.min_cents,
      maxCents: s.max_cents,
      active: s.active,
    }
  return {
    code: s.code,
    kind: s.kind,
    name: s.name,
    nameEn: s.nameEn,
    causale: s.causale,
    spontaneous: s.spontaneous,
    amountMode: s.amountMode,
    unitPriceCents: s.unitPriceCents,
    commission: s.commission,
    taxCategory: s.taxCategory,
    taxonomyCode: s.taxonomyCode,
    taxonomyPrefix: s.taxonomyPrefix,
    tariffs: s.tariffs,
    minCents: s.minCents,
    maxCents: s.maxCents,
    active: s.active,
  }
}

function serviceToForm(s: ServiceRow): Record<string, string> {
  return {
    code: s.code,
    kind: s.kind,
    name: s.name,
    nameEn: s.name_en ?? '',
    causale: s.causale,
    ...commissionToForm(s.commission),
    spontaneous: s.spontaneous ? 'si' : '',
    amountMode: s.amount_mode,
    unitPrice: s.unit_price_cents === null ? '' : (s.unit_price_cents / 100).toFixed(2).replace('.', ','),
    taxCategory: s.tax_category ?? '',
    taxonomyCode: s.taxonomy_code ?? '',
    taxonomyPrefix: s.taxonomy_prefix,
    tariffs: (tariffsOf(s.tariffs) ?? []).map((t) => `${t.label}; ${formatDecimalIt(t.cents)}`).join('\n'),
    minAmount: s.min_cents === null ? '' : formatDecimalIt(s.min_cents),
    maxAmount: s.max_cents === null ? '' : formatDecimalIt(s.max_cents),
    active: s.active ? 'si' : '',
  }
}

/** The canteen's pages (schools, classes, calendar, tariffs) as registered in the office menu, if any. */
function canteenLinks(c: { var: Env['Variables'] }): { labelKey: string; path: string }[] {
  const role = c.var.staffRole
  return STAFF_NAV.filter((e) => e.path.startsWith('/mensa') && (!role || e.roles.includes(role)))
}

catalogRoutes.get('/t/:tenant/ufficio/catalogo', readers, async (c) => {
  const services = await inTenant(
    c,
    (tx) => tx<ServiceRow[]>`select ${tx(SERVICE_COLUMNS)} from services order by active desc, name, id`,
  )
  const tenant = tenantOf(c)
  return page(c, 'catalog', {
    title: c.var.t('backoffice.catalog.title'),
    services,
    settings: tenant.settings,
    contacts: tenant.contacts,
    canteen: canteenLinks(c),
    saved: c.req.query('salvato') ?? null,
  })
})

const kinds = () => SERVICE_KINDS.map((k) => k)

/** What the service form shows beside the fields: the lists it chooses from and the defaults. */
function formContext(c: Parameters<typeof tenantOf>[0], current: string | null = null) {
  const tenant = tenantOf(c)
  const choices = taxonomyChoices(tenant.kind, todayRome())
  // a code saved before (or from a tenant file) that is not in the shipped list stays selectable
  const extra = current && !choices.some((e) => e.code === current) ? [current] : []
  return {
    kinds: kinds(),
    taxCategories: TAX_CATEGORIES,
    defaultTaxCategory: taxCategoryOf,
    taxonomy: {
      choices,
      extra,
      prefixes: TAXONOMY_PREFIXES,
      defaults: Object.fromEntries(SERVICE_KINDS.map((k) => [k, defaultTaxonomyCode(tenant.kind, k)])),
      withoutDefault: KINDS_WITHOUT_DEFAULT,
      entry: taxonomyEntry,
    },
  }
}

/** A code the office may save: in the list for its body type, or the one the service already has. */
function taxonomyAllowed(c: Parameters<typeof tenantOf>[0], code: string | null, current: string | null): boolean {
  if (code === null || code === current) return true
  return taxonomyChoices(tenantOf(c).kind, todayRome()).some((e) => e.code === code)
}

catalogRoutes.get('/t/:tenant/ufficio/catalogo/servizi/nuovo', admins, (c) =>
  page(c, 'service-form', {
    title: c.var.t('backoffice.service.newTitle'),
    ...formContext(c),
    service: null,
    values: { commissionType: 'inherit', amountMode: 'importo', active: 'si', taxonomyPrefix: '9/' },
  }),
)

catalogRoutes.post('/t/:tenant/ufficio/catalogo/servizi/nuovo', admins, async (c) => {
  const t = c.var.t
  const values = await formValues(c)
  const parsed = parseWith(serviceSchema, values, t, SERVICE_ORDER)
  const again = (errors: import('../../platform/render.ts').FormErrors) =>
    page(c, 'service-form', {
      title: t('backoffice.service.newTitle'),
      ...formContext(c),
      service: null,
      values: flatValues(values),
      errors,
    })
  if (!parsed.ok) return again(parsed.errors)
  const s = parsed.data
  if (!taxonomyAllowed(c, s.taxonomyCode, null))
    return again(fieldError(t, 'taxonomyCode', 'backoffice.errors.taxonomyNotListed'))
  const id = await inTenant(c, async (tx) => {
    const [row] = await tx<{ id: number }[]>`
      insert into services (code, kind, name, name_en, causale, spontaneous, amount_mode, unit_price_cents, commission,
        tax_category, taxonomy_code, taxonomy_prefix, tariffs, min_cents, max_cents, active)
      values (${s.code}, ${s.kind}, ${s.name}, ${s.nameEn}, ${s.causale}, ${s.spontaneous}, ${s.amountMode}, ${s.unitPriceCents},
              ${s.commission === null ? null : tx.json(s.commission)}, ${s.taxCategory}, ${s.taxonomyCode}, ${s.taxonomyPrefix},
              ${s.tariffs === null ? null : tx.json(s.tariffs)}, ${s.minCents}, ${s.maxCents}, ${s.active})
      on conflict (code) do nothing returning id`
    if (!row) return null
    await audit(tx, actorOf(c.var.user), {
      action: 'service.create',
      entity: 'service',
      entityId: row.id,
      after: serviceSnapshot(s),
    })
    return row.id
  })
  if (id === null) return again(fieldError(t, 'code', 'backoffice.errors.codeTaken'))
  return c.redirect(officePath(c, '/catalogo?salvato=servizio'), 303)
})

async function loadService(c: Parameters<typeof inTenant>[0], id: number): Promise<ServiceRow> {
  const [row] = await inTenant(
    c,
    (tx) => tx<ServiceRow[]>`select ${tx(SERVICE_COLUMNS)} from services where id = ${id}`,
  )
  if (!row) throw new NotFound()
  return row
}

catalogRoutes.get('/t/:tenant/ufficio/catalogo/servizi/:id', readers, async (c) => {
  const service = await loadService(c, idParam(c))
  return page(c, 'service-form', {
    title: c.var.t('backoffice.service.editTitle', { name: service.name }),
    ...formContext(c, service.taxonomy_code),
    service,
    values: serviceToForm(service),
  })
})

catalogRoutes.post('/t/:tenant/ufficio/catalogo/servizi/:id', admins, async (c) => {
  const t = c.var.t
  const id = idParam(c)
  const values = await formValues(c)
  const current = await loadService(c, id)
  // the code is the service's key in CSV imports: it does not change once created
  const parsed = parseWith(serviceSchema, { ...values, code: current.code }, t, SERVICE_ORDER)
  const again = (errors: import('../../platform/render.ts').FormErrors) =>
    page(c, 'service-form', {
      title: t('backoffice.service.editTitle', { name: current.name }),
      ...formContext(c, current.taxonomy_code),
      service: current,
      values: { ...flatValues(values), code: current.code },
      errors,
    })
  if (!parsed.ok) return again(parsed.errors)
  const s = parsed.data
  if (!taxonomyAllowed(c, s.taxonomyCode, current.taxonomy_code))
    return again(fieldError(t, 'taxonomyCode', 'backoffice.errors.taxonomyNotListed'))
  await inTenant(c, async (tx) => {
    const [before] = await tx<ServiceRow[]>`select ${tx(SERVICE_COLUMNS)} from services where id = ${id} for update`
    if (!before) throw new NotFound()
    await tx`
      update services set kind = ${s.kind}, name = ${s.name}, name_en = ${s.nameEn}, causale = ${s.causale}, spontaneous = ${s.spontaneous},
        amount_mode = ${s.amountMode}, unit_price_cents = ${s.unitPriceCents},
        commission = ${s.commission === null ? null : tx.json(s.commission)}, tax_category = ${s.taxCategory},
        taxonomy_code = ${s.taxonomyCode}, taxonomy_prefix = ${s.taxonomyPrefix},
        tariffs = ${s.tariffs === null ? null : tx.json(s.tariffs)}, min_cents = ${s.minCents}, max_cents = ${s.maxCents},
        active = ${s.active}
      where id = ${id}`
    await audit(tx, actorOf(c.var.user), {
      action: 'service.update',
      entity: 'service',
      entityId: id,
      before: serviceSnapshot(before),
      after: serviceSnapshot(s),
    })
  })
  return c.redirect(officePath(c, '/catalogo?salvato=servizio'), 303)
})

// ---- tenant settings

function settingsToForm(tenant: ReturnType<typeof tenantOf>): Record<string, string> {
  return {
    email: tenant.contacts.email ?? '',
    pec: tenant.contacts.pec ?? '',
    phone: tenant.contacts.phone ?? '',
    address: tenant.contacts.address ?? '',
    cutoff: tenant.settings.cutoff,
    reminderDays: tenant.settings.reminderDays.join(', '),
    lowBalanceMeals: String(tenant.settings.lowBalanceMeals),
    ...commissionToForm(tenant.settings.commission),
    accessibilityUrl: tenant.settings.accessibilityUrl ?? '',
  }
}

catalogRoutes.get('/t/:tenant/ufficio/impostazioni', readers, (c) =>
  page(c, 'settings', {
    title: c.var.t('backoffice.settings.title'),
    values: settingsToForm(tenantOf(c)),
    saved: c.req.query('salvato') === '1',
  }),
)

catalogRoutes.post('/t/:tenant/ufficio/impostazioni', admins, async (c) => {
  const t = c.var.t
  const tenant = tenantOf(c)
  const values = await formValues(c)
  const parsed = parseWith(settingsSchema, values, t, SETTINGS_ORDER)
  if (!parsed.ok)
    return page(c, 'settings', {
      title: t('backoffice.settings.title'),
      values: flatValues(values),
      errors: parsed.errors,
    })
  const { contacts, settings } = parsed.data
  const sql = c.var.deps.db.sql
  // platform.tenants is written as the application role, then the same transaction becomes the tenant's to
  // write its audit entry: the change and its record commit together or not at all.
  await sql.begin(async (tx) => {
    const [before] = await tx<{ contacts: Record<string, unknown>; settings: Record<string, unknown> }[]>`
      select contacts, settings from platform.tenants where id = ${tenant.id} for update`
    if (!before) throw new NotFound()
    // keys this form does not manage (website, IBAN…) are kept; a field left empty removes its key
    const nextContacts: Record<string, unknown> = { ...before.contacts, ...contacts }
    const nextSettings: Record<string, unknown> = { ...before.settings, ...settings }
    for (const o of [nextContacts, nextSettings]) for (const k of Object.keys(o)) if (o[k] === null) delete o[k]
    await tx`update platform.tenants set contacts = ${tx.json(nextContacts as never)}, settings = ${tx.json(nextSettings as never)},
      updated_at = now() where id = ${tenant.id}`
    await tx`select set_config('search_path', ${assertSchemaName(tenant.schema)}, true), set_config('role', ${tenant.role}, true)`
    await audit(tx, actorOf(c.var.user), {
      action: 'settings.update',
      entity: 'tenant_settings',
      entityId: tenant.slug,
      before: { contacts: before.contacts, settings: before.settings },
      after: { contacts: nextContacts, settings: nextSettings },
    })
  })
  c.var.deps.tenants.invalidate(tenant.slug)
  return c.redirect(officePath(c, '/impostazioni?salvato=1'), 303)
})
