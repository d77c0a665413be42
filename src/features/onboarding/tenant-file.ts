// Tenants as files: a tenant's configuration written as a tenants/*.json file that `npm run tenants -- add`
// accepts, and the two things a file carries beyond the foundation's format (decision record 0064):
// `branding.logoFile` (a PNG beside the file) and `"active": false` on a service that is switched off.
import { readFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { type Db, type TenantScope, tenantRoleName, withTenant } from '../../platform/db.ts'
import { type TenantFile, tenantFileSchema, tenantSettingsSchema } from '../../platform/tenancy.ts'
import { type CheckedLogo, checkLogo, logoKey } from './logo.ts'

export interface ExportedTenant {
  /** the JSON object, in the key order of the demo files */
  json: Record<string, unknown>
  /** the logo to write beside the file, when the tenant has one */
  logo: { fileName: string; body: Buffer } | null
}

export async function exportTenant(db: Db, slug: string): Promise<ExportedTenant | null> {
  const [t] = await db.admin<
    {
      id: number
      slug: string
      kind: 'comune' | 'scuola'
      name: string
      short_name: string
      fiscal_code: string
      codice_meccanografico: string | null
      istat_code: string | null
      segregation_code: string
      schema_name: string
      branding: { logoText: string; accent: string; logo?: string }
      contacts: TenantFile['contacts']
      settings: unknown
    }[]
  >`
    select id, slug, kind, name, short_name, fiscal_code, codice_meccanografico, istat_code, segregation_code,
      schema_name, branding, contacts, settings
    from platform.tenants where slug = ${slug} and status <> 'deleted'`
  if (!t) return null
  const scope: TenantScope = { schema: t.schema_name, role: tenantRoleName(db.roles, t.schema_name) }
  const services = await withTenant(
    db.sql,
    scope,
    (tx) => tx<
      {
        code: string
        kind: string
        name: string
        causale: string
        spontaneous: boolean
        amount_mode: 'importo' | 'quantita'
        unit_price_cents: number | null
        commission: unknown
        tax_category: string | null
        name_en: string | null
        tariffs: { label: string; cents: number }[] | null
        min_cents: number | null
        max_cents: number | null
        active: boolean
      }[]
    >`select code, kind, name, causale, spontaneous, amount_mode, unit_price_cents, commission, tax_category, name_en, tariffs,
        min_cents, max_cents, active
      from services order by id`,
  )
  const [asset] = await db.admin<{ body: Buffer }[]>`
    select body from platform.tenant_assets where tenant_id = ${t.id} and name = 'logo'`
  const logoFileName = `${t.slug}-logo.png`
  const contacts = Object.fromEntries(
    (['email', 'pec', 'phone', 'address', 'website'] as const)
      .filter((k) => t.contacts[k] !== undefined && t.contacts[k] !== null && t.contacts[k] !== '')
      .map((k) => [k, t.contacts[k]]),
  )
  const json: Record<string, unknown> = {
    slug: t.slug,
    kind: t.kind,
    name: t.name,
    shortName: t.short_name,
    fiscalCode: t.fiscal_code,
    ...(t.codice_meccanografico ? { codiceMeccanografico: t.codice_meccanografico } : {}),
    ...(t.istat_code ? { istatCode: t.istat_code } : {}),
    segregationCode: t.segregation_code,
    branding: {
      logoText: t.branding.logoText,
      accent: t.branding.accent,
      ...(asset ? { logoFile: logoFileName } : {}),
    },
    contacts,
    // through the schema: only the settings the file format knows (the wizard's progress stays behind)
    settings: tenantSettingsSchema.parse(t.settings ?? {}),
    services: services.map((s) => ({
      code: s.code,
      kind: s.kind,
      name: s.name,
      ...(s.name_en ? { nameEn: s.name_en } : {}),
      causale: s.causale,
      ...(s.spontaneous ? { spontaneous: true } : {}),
      ...(s.amount_mode !== 'importo' ? { amountMode: s.amount_mode } : {}),
      ...(s.unit_price_cents !== null ? { unitPriceCents: s.unit_price_cents } : {}),
      ...(s.commission ? { commission: s.commission } : {}),
      ...(s.tax_category ? { taxCategory: s.tax_category } : {}),
      ...(s.tariffs?.length ? { tariffs: s.tariffs.map((t) => ({ label: t.label, amountCents: t.cents })) } : {}),
      ...(s.min_cents !== null ? { minCents: s.min_cents } : {}),
      ...(s.max_cents !== null ? { maxCents: s.max_cents } : {}),
      ...(s.active ? {} : { active: false }),
    })),
  }
  // never write a file that `add` would refuse
  const parsed = tenantFileSchema.safeParse(json)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new Error(`tenant ${slug} cannot be written as a valid file:\n${lines.join('\n')}`)
  }
  return { json, logo: asset ? { fileName: logoFileName, body: asset.body } : null }
}

export interface FileExtras {
  inactive: string[]
  logo: CheckedLogo | null
  logoFile: string | null
}

/** Reads and checks the extras of a tenant file before anything is created, so a bad logo onboards nothing. */
export async function readFileExtras(path: string): Promise<FileExtras> {
  const raw = JSON.parse(await readFile(path, 'utf8')) as {
    branding?: { logoFile?: unknown }
    services?: { code?: unknown; active?: unknown }[]
  }
  const inactive = (raw.services ?? [])
    .filter((s) => s.active === false && typeof s.code === 'string')
    .map((s) => s.code as string)
  const logoFile = raw.branding?.logoFile
  if (logoFile === undefined) return { inactive, logo: null, logoFile: null }
  if (typeof logoFile !== 'string' || !logoFile || basename(logoFile) !== logoFile) {
    throw new Error(`${path}: branding.logoFile must be the name of a PNG file beside it`)
  }
  const checked = checkLogo(await readFile(join(dirname(path), logoFile)))
  if ('problem' in checked) throw new Error(`${logoFile}: not an acceptable logo (${checked.problem})`)
  return { inactive, logo: checked, logoFile }
}

/**
 * After `onboardTenant` created a tenant from a file: switches off the services marked `"active": false` and
 * stores the logo named by `branding.logoFile`.
 */
export async function applyFileExtras(
  db: Db,
  extras: FileExtras,
  tenantId: number,
  scope: TenantScope,
): Promise<string[]> {
  const notes: string[] = []
  if (extras.inactive.length) {
    await withTenant(db.sql, scope, (tx) => tx`update services set active = false where code = any(${extras.inactive})`)
    notes.push(`services switched off: ${extras.inactive.join(', ')}`)
  }
  const logo = extras.logo
  if (logo) {
    await db.admin.begin(async (tx) => {
      await tx`insert into platform.tenant_assets (tenant_id, name, content_type, sha256, body, width, height)
               values (${tenantId}, 'logo', 'image/png', ${logo.sha256}, ${logo.body}, ${logo.width}, ${logo.height})
               on conflict (tenant_id, name) do update set sha256 = excluded.sha256, body = excluded.body,
                 width = excluded.width, height = excluded.height, updated_at = now()`
      await tx`update platform.tenants set branding = branding || ${tx.json({ logo: logoKey(logo.sha256) })}
               where id = ${tenantId}`
    })
    notes.push(`logo ${extras.logoFile}`)
  }
  return notes
}
