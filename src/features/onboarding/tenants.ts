// The tenants as platform operators see them: the list with filters and each schema's size on disk, one tenant
// with its members, invitations and log, the platform log, and suspending or resuming a tenant (logged on the
// platform and in the tenant's audit, in one transaction).
import type { Actor } from '../../platform/audit.ts'
import { audit } from '../../platform/audit.ts'
import type { Sql, TenantScope } from '../../platform/db.ts'
import type { Lang } from '../../platform/i18n.ts'
import { enqueueMail } from '../../platform/mail.ts'
import { openInvitations } from '../staff/invitations.ts'
import { onboardingMail } from './mail.ts'
import { platformLog, platformThenTenant } from './platform-log.ts'

// --- tenants for the operator ---------------------------------------------------------------------------

export interface TenantListRow {
  id: number
  slug: string
  name: string
  kind: string
  status: 'setup' | 'active' | 'suspended' | 'deleted'
  schema_name: string
  schema_version: number
  migration_error: string | null
  migrated_at: Date | null
  created_at: Date
  bytes: number | null
}

export const TENANT_FILTERS = ['tutti', 'setup', 'active', 'suspended', 'errori'] as const
export type TenantFilter = (typeof TENANT_FILTERS)[number]
export const PAGE_SIZE = 50

/** A page of tenants with their size on disk (summed over each schema's tables, indexes and TOAST). */
export async function listTenants(
  sql: Sql,
  opts: { filter: TenantFilter; q: string; page: number },
): Promise<{ rows: TenantListRow[]; total: number; counts: Record<string, number> }> {
  const where = sql`t.status <> 'deleted'
    ${opts.filter === 'errori' ? sql`and t.migration_error is not null` : opts.filter === 'tutti' ? sql`` : sql`and t.status = ${opts.filter}`}
    ${opts.q ? sql`and (t.name ilike ${`%${opts.q.replace(/[%_\\]/g, '\\$&')}%`} or t.slug like ${`%${opts.q.toLowerCase().replace(/[%_\\]/g, '\\$&')}%`} or t.fiscal_code = ${opts.q})` : sql``}`
  const [rows, counts] = await Promise.all([
    sql<(Omit<TenantListRow, 'bytes'> & { total: number })[]>`
      select t.id, t.slug, t.name, t.kind, t.status, t.schema_name, t.schema_version, t.migration_error, t.migrated_at,
        t.created_at, count(*) over ()::int as total
      from platform.tenants t where ${where}
      order by t.name limit ${PAGE_SIZE} offset ${(opts.page - 1) * PAGE_SIZE}`,
    sql<{ status: string; n: number; errors: number }[]>`
      select status, count(*)::int as n, count(*) filter (where migration_error is not null)::int as errors
      from platform.tenants where status <> 'deleted' group by status`,
  ])
  const schemas = rows.map((r) => r.schema_name)
  const sizes = schemas.length
    ? await sql<{ schema: string; bytes: number }[]>`
        select n.nspname as schema, coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint as bytes
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any(${schemas}) and c.relkind in ('r', 'p', 'm')
        group by n.nspname`
    : []
  const bySchema = new Map(sizes.map((s) => [s.schema, s.bytes]))
  const summary: Record<string, number> = { tutti: 0, setup: 0, active: 0, suspended: 0, errori: 0 }
  for (const c of counts) {
    summary[c.status] = c.n
    summary.tutti = (summary.tutti ?? 0) + c.n
    summary.errori = (summary.errori ?? 0) + c.errors
  }
  return {
    rows: rows.map(({ total: _t, ...r }) => ({ ...r, bytes: bySchema.get(r.schema_name) ?? null })),
    total: rows[0]?.total ?? 0,
    counts: summary,
  }
}

export function formatBytes(bytes: number | null, lang: Lang): string {
  if (bytes === null) return '—'
  const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const
  let value = bytes
  let i = 0
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024
    i++
  }
  return new Intl.NumberFormat(lang === 'en' ? 'en-GB' : 'it-IT', {
    style: 'unit',
    unit: units[i],
    unitDisplay: 'short',
    maximumFractionDigits: i === 0 ? 0 : 1,
  }).format(value)
}

export interface TenantDetail {
  id: number
  slug: string
  name: string
  short_name: string
  kind: 'comune' | 'scuola'
  status: 'setup' | 'active' | 'suspended' | 'deleted'
  fiscal_code: string
  codice_meccanografico: string | null
  istat_code: string | null
  segregation_code: string
  schema_name: string
  schema_version: number
  migration_error: string | null
  migrated_at: Date | null
  created_at: Date
  contacts: { email?: string; pec?: string; address?: string; phone?: string }
}

export async function loadTenantDetail(sql: Sql, slug: string) {
  const [t] = await sql<TenantDetail[]>`
    select id, slug, name, short_name, kind, status, fiscal_code, codice_meccanografico, istat_code, segregation_code, schema_name,
      schema_version, migration_error, migrated_at, created_at, contacts
    from platform.tenants where slug = ${slug} and status <> 'deleted'`
  if (!t) return null
  const [members, invitations, log, size, request] = await Promise.all([
    sql<{ account_id: number; given_name: string; family_name: string; email: string; role: string }[]>`
      select m.account_id, a.given_name, a.family_name, a.email, m.role
      from platform.memberships m join platform.accounts a on a.id = m.account_id
      where m.tenant_id = ${t.id} order by m.role, a.family_name`,
    openInvitations(sql, t.id),
    sql<LogRow[]>`
      select id, at, actor_name, action, request_id, tenant_slug, detail from platform.platform_log
      where tenant_id = ${t.id} order by at desc, id desc limit 50`,
    sql<{ bytes: number }[]>`
      select coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint as bytes
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${t.schema_name} and c.relkind in ('r', 'p', 'm')`,
    sql<{ id: number; public_ref: string; admin_account_id: number | null }[]>`
      select id, public_ref, admin_account_id from platform.onboarding_requests
      where tenant_id = ${t.id} and status = 'approved' order by decided_at desc limit 1`,
  ])
  return {
    tenant: t,
    members,
    invitations,
    log,
    bytes: size[0]?.bytes ?? 0,
    request: request[0] ?? null,
  }
}

export interface LogRow {
  id: number
  at: Date
  actor_name: string
  action: string
  request_id: number | null
  tenant_slug: string | null
  detail: Record<string, unknown> | null
}

export async function listLog(sql: Sql, before?: number): Promise<LogRow[]> {
  return sql<LogRow[]>`
    select id, at, actor_name, action, request_id, tenant_slug, detail from platform.platform_log
    ${before ? sql`where id < ${before}` : sql``}
    order by id desc limit 100`
}

/** Suspends an active tenant or resumes a suspended one; logged on the platform and in the tenant's audit. */
export async function setSuspended(
  sql: Sql,
  tenant: TenantScope & { id: number; slug: string },
  actor: Actor,
  suspend: boolean,
  reason: string,
): Promise<boolean> {
  const from = suspend ? 'active' : 'suspended'
  const to = suspend ? 'suspended' : 'active'
  const changed = await platformThenTenant(
    sql,
    tenant,
    async (tx) => {
      const rows = await tx<{ name: string }[]>`
        update platform.tenants set status = ${to}, updated_at = now()
        where id = ${tenant.id} and status = ${from} returning name`
      if (!rows[0]) return false
      await platformLog(tx, actor, {
        action: suspend ? 'tenant.suspended' : 'tenant.resumed',
        tenantId: tenant.id,
        tenantSlug: tenant.slug,
        detail: reason ? { reason } : undefined,
      })
      const admins = await tx<{ email: string; lang: Lang; given_name: string }[]>`
        select a.email, a.lang, a.given_name from platform.memberships m join platform.accounts a on a.id = m.account_id
        where m.tenant_id = ${tenant.id} and m.role = 'admin'`
      for (const a of admins) {
        await enqueueMail(
          tx,
          onboardingMail(
            a.lang,
            suspend ? 'suspended' : 'resumed',
            { name: a.given_name, tenant: rows[0].name, reason },
            a.email,
          ),
        )
      }
      return true
    },
    async (tx, ok) => {
      if (!ok) return
      await audit(tx, actor, {
        action: suspend ? 'tenant.suspended' : 'tenant.resumed',
        entity: 'tenant',
        entityId: tenant.id,
        before: { status: from },
        after: { status: to },
        reason: reason || null,
      })
    },
  )
  return changed
}
