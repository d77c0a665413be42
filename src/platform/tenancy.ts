// Tenants: the file format in tenants/, onboarding (schema, role, migrations, seed) and the cached registry.
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { electronicFormatIBAN, isValidIBAN } from 'ibantools'
import { z } from 'zod'
import { commissionRuleSchema } from './commission.ts'
import { contrastRatio } from './contrast.ts'
import { type Db, droppedUnder, type Sql, type TenantScope, tenantRoleName } from './db.ts'
import { isValidPartitaIva } from './it/codice-fiscale.ts'
import { TAX_CATEGORIES } from './it/tax-categories.ts'
import { applyTenantMigrations, createTenantSchema, latestVersion, loadMigrations, MIGRATIONS_DIR } from './migrate.ts'

export const SERVICE_KINDS = [
  'mensa',
  'trasporto',
  'nido',
  'assicurazione',
  'contributo',
  'gite',
  'extrascolastico',
  'tributi',
  'altro',
] as const
export type ServiceKind = (typeof SERVICE_KINDS)[number]

/** The kinds of service that are for a pupil: a payment of these may name one; town-hall dues never do. */
export const PUPIL_SERVICE_KINDS: readonly string[] = SERVICE_KINDS.filter((k) => k !== 'tributi' && k !== 'altro')

const hhmm = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'expected HH:MM')

export const tenantSettingsSchema = z.object({
  cutoff: hhmm.default('09:15'),
  commission: commissionRuleSchema.default({ type: 'none' }),
  /** days relative to the due date on which reminders go out: -7 = a week before */
  reminderDays: z.array(z.number().int().min(-60).max(60)).max(6).default([-7, 0, 7]),
  lowBalanceMeals: z.number().int().min(0).max(100).default(3),
  /** the body's CBILL code (five letters or digits), printed on its notices for the banks' CBILL channel */
  cbill: z
    .string()
    .regex(/^[A-Z0-9]{5}$/)
    .optional(),
  accessibilityUrl: z.url().optional(),
  /** the account pagoPA transfers credit (IBAN check digits verified by ibantools, ISO 13616 mod 97) */
  iban: z
    .string()
    .transform((s) => electronicFormatIBAN(s) ?? '')
    .refine((s) => isValidIBAN(s), 'not a valid IBAN')
    .optional(),
})
export type TenantSettings = z.infer<typeof tenantSettingsSchema>

export const serviceFileSchema = z
  .object({
    code: z.string().regex(/^[a-z0-9-]{1,40}$/),
    kind: z.enum(SERVICE_KINDS),
    name: z.string().min(2).max(120),
    /** the name the English pages show (absent: the Italian one) */
    nameEn: z.string().min(2).max(120).optional(),
    causale: z.string().min(2).max(140),
    spontaneous: z.boolean().default(false),
    amountMode: z.enum(['importo', 'quantita', 'tariffa']).default('importo'),
    unitPriceCents: z.number().int().positive().optional(),
    /** the fixed tariffs a family chooses from (amountMode "tariffa") */
    tariffs: z
      .array(z.object({ label: z.string().trim().min(1).max(80), amountCents: z.number().int().positive() }))
      .min(1)
      .max(12)
      .optional(),
    /** bounds of a free amount (amountMode "importo") */
    minCents: z.number().int().positive().optional(),
    maxCents: z.number().int().positive().optional(),
    commission: commissionRuleSchema.optional(),
    /** the item of the tax return its payments go under; absent: the default of its kind (tax-categories.ts) */
    taxCategory: z.enum(TAX_CATEGORIES).optional(),
    /** pagoPA's taxonomy code (7 digits and the legal reason); absent: the default of its kind for the body */
    taxonomyCode: z
      .string()
      .regex(/^[0-9]{7}(IM|TS|SP|SA|AP)$/)
      .optional(),
    /** the taxonomy's prefix: 9/ (ordinary) or 6/, 7/, 8/ to keep the service out of SEPA Request-To-Pay */
    taxonomyPrefix: z.enum(['9/', '6/', '7/', '8/']).optional(),
  })
  .refine((s) => s.amountMode !== 'tariffa' || (s.tariffs?.length ?? 0) > 0, {
    path: ['tariffs'],
    message: 'a tariff service lists its tariffs',
  })
  .refine((s) => s.minCents === undefined || s.maxCents === undefined || s.minCents <= s.maxCents, {
    path: ['maxCents'],
    message: 'maxCents is below minCents',
  })

export const tenantFileSchema = z
  .object({
    slug: z.string().regex(/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/, 'lower-case letters, digits and hyphens'),
    kind: z.enum(['comune', 'scuola']),
    name: z.string().min(3).max(160),
    shortName: z.string().min(2).max(60),
    fiscalCode: z.string().refine(isValidPartitaIva, 'not a valid 11-digit fiscal code'),
    codiceMeccanografico: z
      .string()
      .regex(/^[A-Z]{4}[A-Z0-9]{6}$/, 'e.g. MIIC8AB005')
      .optional(),
    istatCode: z
      .string()
      .regex(/^[0-9]{6}$/)
      .optional(),
    segregationCode: z.string().regex(/^[0-4][0-9]$/, 'two digits, 00–49'),
    branding: z.object({
      logoText: z.string().min(1).max(4),
      accent: z
        .string()
        .regex(/^#[0-9a-fA-F]{6}$/)
        .refine((c) => contrastRatio(c, '#ffffff') >= 4.5, 'accent colour must have 4.5:1 contrast with white'),
    }),
    contacts: z.object({
      email: z.email(),
      pec: z.email().optional(),
      phone: z.string().max(40).optional(),
      address: z.string().max(200),
      website: z.url().optional(),
    }),
    settings: tenantSettingsSchema.default(tenantSettingsSchema.parse({})),
    services: z.array(serviceFileSchema).default([]),
  })
  .refine((t) => t.kind !== 'scuola' || t.codiceMeccanografico, {
    path: ['codiceMeccanografico'],
    message: 'schools need a codice meccanografico',
  })
export type TenantFile = z.infer<typeof tenantFileSchema>

export interface Tenant extends TenantScope {
  id: number
  slug: string
  kind: 'comune' | 'scuola'
  name: string
  shortName: string
  fiscalCode: string
  segregationCode: string
  status: 'setup' | 'active' | 'suspended' | 'deleted'
  branding: { logoText: string; accent: string }
  contacts: TenantFile['contacts']
  settings: TenantSettings
}

export function schemaForSlug(slug: string): string {
  return `t_${slug.replace(/-/g, '_')}`
}

export async function readTenantFile(path: string): Promise<TenantFile> {
  const raw = JSON.parse(await readFile(path, 'utf8'))
  const parsed = tenantFileSchema.safeParse(raw)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new Error(`${path} is not a valid tenant file:\n${lines.join('\n')}`)
  }
  return parsed.data
}

export async function listTenantFiles(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f))
}

/**
 * Onboards a tenant in one transaction: the platform row, schema and role, every tenant migration and the
 * services of the file. Either all of it exists afterwards or none of it.
 */
export async function onboardTenant(
  db: Db,
  file: TenantFile,
  opts: { schema?: string; status?: Tenant['status'] } = {},
): Promise<{ id: number; schema: string }> {
  const schema = opts.schema ?? schemaForSlug(file.slug)
  const migrations = await loadMigrations(join(MIGRATIONS_DIR, 'tenant'))
  return db.admin.begin(async (tx) => {
    const [row] = await tx<{ id: number }[]>`
      insert into platform.tenants (slug, kind, name, short_name, fiscal_code, codice_meccanografico, istat_code,
        segregation_code, schema_name, status, branding, contacts, settings)
      values (${file.slug}, ${file.kind}, ${file.name}, ${file.shortName}, ${file.fiscalCode},
        ${file.codiceMeccanografico ?? null}, ${file.istatCode ?? null}, ${file.segregationCode}, ${schema},
        ${opts.status ?? 'active'}, ${tx.json(file.branding)}, ${tx.json(file.contacts)}, ${tx.json(file.settings)})
      returning id`
    await createTenantSchema(tx, db.roles, schema)
    await applyTenantMigrations(tx, db.roles, schema, migrations)
    if (file.services.length) {
      await tx`insert into services ${tx(
        file.services.map((s) => ({
          code: s.code,
          kind: s.kind,
          name: s.name,
          causale: s.causale,
          spontaneous: s.spontaneous,
          amount_mode: s.amountMode,
          unit_price_cents: s.unitPriceCents ?? null,
          commission: s.commission ? tx.json(s.commission) : null,
          tax_category: s.taxCategory ?? null,
          taxonomy_code: s.taxonomyCode ?? null,
          taxonomy_prefix: s.taxonomyPrefix ?? '9/',
          name_en: s.nameEn ?? null,
          tariffs: s.tariffs ? tx.json(s.tariffs.map((t) => ({ label: t.label, cents: t.amountCents }))) : null,
          min_cents: s.minCents ?? null,
          max_cents: s.maxCents ?? null,
        })),
      )}`
    }
    await tx`update platform.tenants set schema_version = ${latestVersion(migrations)}, migrated_at = now() where id = ${(row as { id: number }).id}`
    return { id: (row as { id: number }).id, schema }
  }) as Promise<{ id: number; schema: string }>
}

interface TenantRow {
  id: number
  slug: string
  kind: 'comune' | 'scuola'
  name: string
  short_name: string
  fiscal_code: string
  segregation_code: string
  schema_name: string
  status: Tenant['status']
  branding: Tenant['branding']
  contacts: Tenant['contacts']
  settings: unknown
}

function toTenant(r: TenantRow, db: Db): Tenant {
  return {
    id: r.id,
    slug: r.slug,
    kind: r.kind,
    name: r.name,
    shortName: r.short_name,
    fiscalCode: r.fiscal_code,
    segregationCode: r.segregation_code,
    schema: r.schema_name,
    role: tenantRoleName(db.roles, r.schema_name),
    status: r.status,
    branding: r.branding,
    contacts: r.contacts,
    settings: tenantSettingsSchema.parse(r.settings ?? {}),
  }
}

const TENANT_COLUMNS = [
  'id',
  'slug',
  'kind',
  'name',
  'short_name',
  'fiscal_code',
  'segregation_code',
  'schema_name',
  'status',
  'branding',
  'contacts',
  'settings',
] as const

/**
 * Tenant lookups with a short-lived cache: a request resolves its tenant without a round trip, and a change
 * (suspension, branding) reaches every instance within the TTL.
 */
export class TenantRegistry {
  private bySlug = new Map<string, { tenant: Tenant | null; at: number }>()
  private all: { list: Tenant[]; at: number } | null = null

  constructor(
    private db: Db,
    private ttlMs = 10_000,
  ) {}

  private get sql(): Sql {
    return this.db.sql
  }

  async get(slug: string): Promise<Tenant | null> {
    if (!/^[a-z0-9-]{1,40}$/.test(slug)) return null
    const hit = this.bySlug.get(slug)
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.tenant
    // one row by construction (id null: no such tenant), so that a statement cut short by a dropped connection
    // is an outage (503), never an unknown tenant cached for the TTL
    const [row] = await this.sql<TenantRow[]>`
      select t.* from (values (1)) as one left join lateral (
        select ${this.sql(TENANT_COLUMNS as unknown as string[])} from platform.tenants
        where slug = ${slug} and status <> 'deleted') as t on true`
    if (!row) throw droppedUnder('tenant lookup')
    const tenant = row.id !== null ? toTenant(row, this.db) : null
    this.bySlug.set(slug, { tenant, at: Date.now() })
    return tenant
  }

  async list(): Promise<Tenant[]> {
    if (this.all && Date.now() - this.all.at < this.ttlMs) return this.all.list
    // at least one row by construction (a row of nulls when there is no tenant): see get()
    const rows = await this.sql<TenantRow[]>`
      select t.* from (values (1)) as one left join lateral (
        select ${this.sql(TENANT_COLUMNS as unknown as string[])} from platform.tenants
        where status <> 'deleted') as t on true
      order by t.name`
    if (rows.length === 0) throw droppedUnder('tenant list')
    const list = rows.filter((r) => r.id !== null).map((r) => toTenant(r, this.db))
    this.all = { list, at: Date.now() }
    for (const t of list) this.bySlug.set(t.slug, { tenant: t, at: Date.now() })
    return list
  }

  invalidate(slug?: string) {
    if (slug) this.bySlug.delete(slug)
    else this.bySlug.clear()
    this.all = null
  }
}
