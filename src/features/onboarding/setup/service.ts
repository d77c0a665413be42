// The set-up wizard of a new tenant: identity and contacts, branding, services, rules, then go-live. Each
// section is marked done in settings.setupDone when saved; going live needs all of them and an active service.
// Platform rows change as the application role and the tenant's audit entry is written in the same transaction
// (platformThenTenant); tenant tables change inside withTenant.

import type { z } from 'zod'
import type { Actor } from '../../../platform/audit.ts'
import { audit } from '../../../platform/audit.ts'
import type { CommissionRule } from '../../../platform/commission.ts'
import { contrastRatio } from '../../../platform/contrast.ts'
import { type Sql, type Tx, withTenant } from '../../../platform/db.ts'
import { parseMoney } from '../../../platform/money.ts'
import type { Tenant } from '../../../platform/tenancy.ts'
import { type CheckedLogo, logoKey } from '../logo.ts'
import { platformLog, platformThenTenant } from '../platform-log.ts'
import type { brandingSchema, identitySchema, newServiceSchema, rulesSchema, serviceSchema } from '../schema.ts'
import { parseRate } from '../schema.ts'

export const SECTIONS = ['ente', 'aspetto', 'servizi', 'regole'] as const
export type Section = (typeof SECTIONS)[number]

/** The page text colour and the page background: what the accent is checked against. */
export const TEXT_COLOUR = '#1a1a1a'
export const WHITE = '#ffffff'
export const MIN_CONTRAST_WHITE = 4.5

export interface ContrastReport {
  accent: string
  white: number
  text: number
  ok: boolean
}

export function contrastReport(accent: string): ContrastReport {
  const white = contrastRatio(accent, WHITE)
  const text = contrastRatio(accent, TEXT_COLOUR)
  return { accent, white, text, ok: white >= MIN_CONTRAST_WHITE }
}

export interface SetupRow {
  id: number
  slug: string
  kind: 'comune' | 'scuola'
  status: Tenant['status']
  name: string
  short_name: string
  fiscal_code: string
  codice_meccanografico: string | null
  istat_code: string | null
  segregation_code: string
  branding: { logoText: string; accent: string; logo?: string }
  contacts: { email: string; pec?: string; phone?: string; address: string; website?: string }
  settings: Record<string, unknown> & {
    cutoff?: string
    commission?: CommissionRule
    reminderDays?: number[]
    lowBalanceMeals?: number
    accessibilityUrl?: string
    setupDone?: string[]
  }
}

export interface ServiceRow {
  id: number
  code: string
  kind: string
  name: string
  causale: string
  spontaneous: boolean
  amount_mode: 'importo' | 'quantita'
  unit_price_cents: number | null
  active: boolean
}

async function readSetup(tx: Tx, tenantId: number, lock = false): Promise<SetupRow> {
  const [row] = await tx<SetupRow[]>`
    select id, slug, kind, status, name, short_name, fiscal_code, codice_meccanografico, istat_code, segregation_code,
      branding, contacts, settings
    from platform.tenants where id = ${tenantId} ${lock ? tx`for update` : tx``}`
  if (!row) throw new Error('tenant vanished')
  return row
}

const SERVICE_COLUMNS = [
  'id',
  'code',
  'kind',
  'name',
  'causale',
  'spontaneous',
  'amount_mode',
  'unit_price_cents',
  'active',
]

/** Everything the wizard shows, in one tenant transaction (the tenant role may read its platform row). */
export async function loadSetup(sql: Sql, tenant: Tenant): Promise<{ setup: SetupRow; services: ServiceRow[] }> {
  return withTenant(sql, tenant, async (tx) => {
    const [setup, services] = await Promise.all([
      readSetup(tx, tenant.id),
      tx<ServiceRow[]>`select ${tx(SERVICE_COLUMNS)} from services order by active desc, name`,
    ])
    return { setup, services }
  })
}

export function doneSections(setup: SetupRow): Set<Section> {
  const done = Array.isArray(setup.settings.setupDone) ? setup.settings.setupDone : []
  return new Set(SECTIONS.filter((s) => done.includes(s)))
}

function withDone(settings: SetupRow['settings'], section: Section): SetupRow['settings'] {
  const done = new Set(Array.isArray(settings.setupDone) ? settings.setupDone : [])
  done.add(section)
  return { ...settings, setupDone: SECTIONS.filter((s) => done.has(s)) }
}

/** Updates the tenant's platform row and writes the tenant's audit entry, in one transaction. */
async function changeTenantRow(
  sql: Sql,
  tenant: Tenant,
  actor: Actor,
  action: string,
  change: (tx: Tx, before: SetupRow) => Promise<{ before: unknown; after: unknown } | null>,
): Promise<boolean> {
  return platformThenTenant(
    sql,
    tenant,
    async (tx) => {
      const before = await readSetup(tx, tenant.id, true)
      return change(tx, before)
    },
    async (tx, diff) => {
      if (diff) await audit(tx, actor, { action, entity: 'tenant', entityId: tenant.id, ...diff })
    },
  ).then((d) => d !== null)
}

export async function saveIdentity(
  sql: Sql,
  tenant: Tenant,
  actor: Actor,
  input: z.output<typeof identitySchema>,
): Promise<void> {
  await changeTenantRow(sql, tenant, actor, 'tenant.identity', async (tx, before) => {
    const contacts = {
      email: input.email,
      address: input.address,
      ...(input.pec ? { pec: input.pec } : {}),
      ...(input.phone ? { phone: input.phone } : {}),
      ...(input.website ? { website: input.website } : {}),
    }
    const { accessibilityUrl: _old, ...rest } = before.settings
    const settings = withDone(
      input.accessibilityUrl ? { ...rest, accessibilityUrl: input.accessibilityUrl } : rest,
      'ente',
    )
    // the segregation code can change only before go-live: after it, notices already carry the old one
    const segregation =
      before.status === 'setup' && input.segregationCode ? input.segregationCode : before.segregation_code
    await tx`update platform.tenants set name = ${input.name}, short_name = ${input.shortName},
               contacts = ${tx.json(contacts)}, settings = ${tx.json(settings as Parameters<typeof tx.json>[0])},
               segregation_code = ${segregation}, updated_at = now()
             where id = ${tenant.id}`
    return {
      before: {
        name: before.name,
        shortName: before.short_name,
        contacts: before.contacts,
        accessibilityUrl: before.settings.accessibilityUrl,
        segregationCode: before.segregation_code,
      },
      after: {
        name: input.name,
        shortName: input.shortName,
        contacts,
        accessibilityUrl: input.accessibilityUrl || undefined,
        segregationCode: segregation,
      },
    }
  })
}

export async function saveBranding(
  sql: Sql,
  tenant: Tenant,
  actor: Actor,
  input: z.output<typeof brandingSchema>,
): Promise<void> {
  await changeTenantRow(sql, tenant, actor, 'tenant.branding', async (tx, before) => {
    const branding = { ...before.branding, logoText: input.logoText, accent: input.accent }
    await tx`update platform.tenants set branding = ${tx.json(branding)},
               settings = ${tx.json(withDone(before.settings, 'aspetto') as Parameters<typeof tx.json>[0])}, updated_at = now()
             where id = ${tenant.id}`
    return {
      before: { logoText: before.branding.logoText, accent: before.branding.accent },
      after: { logoText: input.logoText, accent: input.accent },
    }
  })
}

export async function saveLogo(sql: Sql, tenant: Tenant, actor: Actor, logo: CheckedLogo | null): Promise<void> {
  await changeTenantRow(sql, tenant, actor, logo ? 'tenant.logo' : 'tenant.logoRemoved', async (tx, before) => {
    const { logo: oldKey, ...rest } = before.branding
    if (logo) {
      await tx`insert into platform.tenant_assets (tenant_id, name, content_type, sha256, body, width, height)
               values (${tenant.id}, 'logo', 'image/png', ${logo.sha256}, ${logo.body}, ${logo.width}, ${logo.height})
               on conflict (tenant_id, name) do update set sha256 = excluded.sha256, body = excluded.body,
                 width = excluded.width, height = excluded.height, updated_at = now()`
    } else {
      await tx`delete from platform.tenant_assets where tenant_id = ${tenant.id} and name = 'logo'`
    }
    const branding: SetupRow['branding'] = logo ? { ...rest, logo: logoKey(logo.sha256) } : rest
    await tx`update platform.tenants set branding = ${tx.json(branding)}, updated_at = now() where id = ${tenant.id}`
    return {
      before: { logo: oldKey ?? null },
      after: logo
        ? { logo: branding.logo, bytes: logo.body.length, width: logo.width, height: logo.height }
        : { logo: null },
    }
  })
}

export function commissionFromForm(input: z.output<typeof rulesSchema>): CommissionRule {
  switch (input.commission) {
    case 'none':
      return { type: 'none' }
    case 'fixed':
      return { type: 'fixed', cents: parseMoney(input.commissionFixed) ?? 0 }
    case 'percent':
      return { type: 'percent', basisPoints: parseRate(input.commissionRate) ?? 0 }
    case 'grossup':
      return { type: 'grossup', basisPoints: parseRate(input.commissionRate) ?? 0 }
  }
}

export async function saveRules(
  sql: Sql,
  tenant: Tenant,
  actor: Actor,
  input: z.output<typeof rulesSchema>,
): Promise<void> {
  await changeTenantRow(sql, tenant, actor, 'tenant.rules', async (tx, before) => {
    const rules = {
      cutoff: input.cutoff,
      commission: commissionFromForm(input),
      reminderDays: input.reminderDays,
      lowBalanceMeals: input.lowBalanceMeals,
    }
    const settings = withDone({ ...before.settings, ...rules }, 'regole')
    await tx`update platform.tenants set settings = ${tx.json(settings as Parameters<typeof tx.json>[0])}, updated_at = now()
             where id = ${tenant.id}`
    return {
      before: {
        cutoff: before.settings.cutoff,
        commission: before.settings.commission,
        reminderDays: before.settings.reminderDays,
        lowBalanceMeals: before.settings.lowBalanceMeals,
      },
      after: rules,
    }
  })
}

/** The services section is done when the administrator confirms it and at least one service is active. */
export async function confirmServices(sql: Sql, tenant: Tenant, actor: Actor): Promise<boolean> {
  return platformThenTenant(
    sql,
    tenant,
    async (tx) => {
      const before = await readSetup(tx, tenant.id, true)
      await tx`update platform.tenants set settings = ${tx.json(withDone(before.settings, 'servizi') as Parameters<typeof tx.json>[0])},
                 updated_at = now() where id = ${tenant.id}`
      return true
    },
    async (tx) => {
      const [n] = await tx<{ n: number }[]>`select count(*)::int as n from services where active`
      // nothing active: roll the whole transaction back, the page says why
      if (!n?.n) throw new NoActiveService()
      await audit(tx, actor, { action: 'tenant.servicesConfirmed', entity: 'tenant', entityId: tenant.id })
    },
  ).catch((err) => {
    if (err instanceof NoActiveService) return false
    throw err
  })
}

class NoActiveService extends Error {}

function serviceValues(input: z.output<typeof serviceSchema>) {
  return {
    name: input.name,
    causale: input.causale,
    spontaneous: input.spontaneous,
    amount_mode: input.amountMode,
    unit_price_cents: input.unitPrice,
    active: input.active,
  }
}

export async function addService(
  sql: Sql,
  tenant: Tenant,
  actor: Actor,
  input: z.output<typeof newServiceSchema>,
): Promise<number> {
  return withTenant(sql, tenant, async (tx) => {
    const taken = await tx<
      { code: string }[]
    >`select code from services where code = ${input.kind} or code like ${`${input.kind}-%`}`
    const used = new Set(taken.map((r) => r.code))
    let code: string = input.kind
    for (let i = 2; used.has(code); i++) code = `${input.kind}-${i}`
    const values = { code, kind: input.kind, ...serviceValues(input) }
    const [row] = await tx<{ id: number }[]>`insert into services ${tx(values)} returning id`
    const id = (row as { id: number }).id
    await audit(tx, actor, { action: 'service.created', entity: 'service', entityId: id, after: values })
    return id
  })
}

export async function loadService(sql: Sql, tenant: Tenant, id: number): Promise<ServiceRow | null> {
  const [row] = await withTenant(
    sql,
    tenant,
    (tx) => tx<ServiceRow[]>`select ${tx(SERVICE_COLUMNS)} from services where id = ${id}`,
  )
  return row ?? null
}

export async function updateService(
  sql: Sql,
  tenant: Tenant,
  actor: Actor,
  id: number,
  input: z.output<typeof serviceSchema>,
): Promise<boolean> {
  return withTenant(sql, tenant, async (tx) => {
    const [before] = await tx<ServiceRow[]>`select ${tx(SERVICE_COLUMNS)} from services where id = ${id} for update`
    if (!before) return false
    const values = serviceValues(input)
    await tx`update services set ${tx(values)} where id = ${id}`
    const { id: _i, code: _c, kind: _k, ...old } = before
    await audit(tx, actor, { action: 'service.updated', entity: 'service', entityId: id, before: old, after: values })
    return true
  })
}

export type GoLiveProblem = { section: Section | 'servizi-attivi' }

/** What still stands between the tenant and going live. */
export function goLiveProblems(setup: SetupRow, services: ServiceRow[]): GoLiveProblem[] {
  const done = doneSections(setup)
  const problems: GoLiveProblem[] = SECTIONS.filter((s) => !done.has(s)).map((section) => ({ section }))
  if (!services.some((s) => s.active)) problems.push({ section: 'servizi-attivi' })
  return problems
}

/** setup → active: the tenant's pages become public. */
export async function goLive(sql: Sql, tenant: Tenant, actor: Actor): Promise<boolean> {
  return platformThenTenant(
    sql,
    tenant,
    async (tx) => {
      const rows = await tx`update platform.tenants set status = 'active', updated_at = now()
                            where id = ${tenant.id} and status = 'setup' returning id`
      if (!rows.length) return false
      await platformLog(tx, actor, { action: 'tenant.live', tenantId: tenant.id, tenantSlug: tenant.slug })
      return true
    },
    async (tx, ok) => {
      if (ok)
        await audit(tx, actor, {
          action: 'tenant.live',
          entity: 'tenant',
          entityId: tenant.id,
          before: { status: 'setup' },
          after: { status: 'active' },
        })
    },
  )
}

// --- canteen tariffs (the canteen's tables; tariffs beyond a name and a price are the canteen pages' job) ----

export async function hasCanteen(sql: Sql, tenant: Tenant): Promise<boolean> {
  const [row] = await withTenant(
    sql,
    tenant,
    (tx) => tx<{ ok: boolean }[]>`
      select exists (select 1 from services where kind = 'mensa') as ok`,
  )
  return row?.ok ?? false
}

export async function addTariff(
  sql: Sql,
  tenant: Tenant,
  actor: Actor,
  input: { name: string; priceCents: number; isDefault: boolean; validFrom: string },
): Promise<'ok' | 'taken'> {
  return withTenant(sql, tenant, async (tx) => {
    const [taken] = await tx`select 1 from canteen_tariffs where lower(name) = lower(${input.name})`
    if (taken) return 'taken'
    if (input.isDefault) await tx`update canteen_tariffs set is_default = false where is_default`
    const [row] = await tx<{ id: number }[]>`
      insert into canteen_tariffs (name, is_default) values (${input.name}, ${input.isDefault}) returning id`
    const id = (row as { id: number }).id
    await tx`insert into canteen_tariff_prices (tariff_id, valid_from, price_cents)
             values (${id}, ${input.validFrom}, ${input.priceCents})`
    await audit(tx, actor, { action: 'tariff.created', entity: 'canteen_tariff', entityId: id, after: input })
    return 'ok'
  })
}
