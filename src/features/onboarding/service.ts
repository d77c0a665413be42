// Onboarding rules: a body asks to join, an operator approves (the tenant is created in status 'setup' and its
// first administrator invited) or rejects; operators suspend and resume tenants. Everything an operator or the
// onboarding does is written to platform.platform_log in the same transaction as the change.
import type { Config } from '../../config.ts'
import type { Actor } from '../../platform/audit.ts'
import { audit } from '../../platform/audit.ts'
import { assertSchemaName, type Db, type Sql, type TenantScope, type Tx, tenantRoleName } from '../../platform/db.ts'
import { type Lang, translator } from '../../platform/i18n.ts'
import { enqueueMail, type MailMessage, textToHtml } from '../../platform/mail.ts'
import { dropTenantSchema } from '../../platform/migrate.ts'
import { onboardTenant, type TenantFile, tenantFileSchema, tenantSettingsSchema } from '../../platform/tenancy.ts'
import { newToken } from '../../platform/tokens.ts'
import { createEmailToken, TOKEN_HOURS } from '../account/service.ts'
import { DEFAULT_ACCENT, defaultServices, logoTextFor, numberedSlug, shortNameFor, suggestSlug } from './defaults.ts'
import type { SignUp } from './schema.ts'

// --- shared helpers -----------------------------------------------------------------------------------

export async function platformLog(
  tx: Tx | Sql,
  actor: Actor,
  entry: {
    action: string
    requestId?: number | null
    tenantId?: number | null
    tenantSlug?: string | null
    detail?: Record<string, unknown>
  },
): Promise<void> {
  await tx`
    insert into platform.platform_log (actor_account_id, actor_name, action, request_id, tenant_id, tenant_slug, detail)
    values (${actor.accountId}, ${actor.name}, ${entry.action}, ${entry.requestId ?? null}, ${entry.tenantId ?? null},
            ${entry.tenantSlug ?? null},
            ${entry.detail ? tx.json(entry.detail as Parameters<typeof tx.json>[0]) : null})`
}

/**
 * One transaction that first changes platform rows as the application role (the tenant role may only read
 * platform.tenants), then scopes itself to the tenant exactly as withTenant does, for the tenant's own audit
 * entry. So a change and its audit entry commit together (decision record 0063).
 */
export async function platformThenTenant<T>(
  sql: Sql,
  tenant: TenantScope,
  platform: (tx: Tx) => Promise<T>,
  scoped: (tx: Tx, result: T) => Promise<void>,
): Promise<T> {
  assertSchemaName(tenant.schema)
  if (!/^[a-z0-9_]{1,63}$/.test(tenant.role)) throw new Error('invalid tenant role')
  return sql.begin(async (tx) => {
    const result = await platform(tx)
    await tx`select set_config('search_path', ${tenant.schema}, true), set_config('role', ${tenant.role}, true)`
    await scoped(tx, result)
    return result
  }) as Promise<T>
}

/** A message from onboarding.json: onboarding.mail.<key>.subject / .body, with the common signature. */
export function onboardingMail(
  lang: Lang,
  key: string,
  params: Record<string, string | number>,
  to: string,
): MailMessage {
  const t = translator(lang)
  const text = `${t(`onboarding.mail.${key}.body`, params)}\n\n${t('mail.signature')}`
  return { to, subject: t(`onboarding.mail.${key}.subject`, params), text, html: textToHtml(text, lang) }
}

function isUniqueViolation(err: unknown): err is { code: string; constraint_name?: string } {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505'
}

// --- sign-up --------------------------------------------------------------------------------------------

export interface Duplicate {
  field: 'fiscalCode' | 'codiceMeccanografico' | 'slug'
  key: string
  params: Record<string, string>
}

/** The first free address among the name's suggestion and its numbered variants. */
export async function freeSlug(sql: Sql | Tx, base: string): Promise<string> {
  if (!base) return ''
  const candidates = [base, ...Array.from({ length: 30 }, (_, i) => numberedSlug(base, i + 2))]
  const taken = await sql<{ slug: string }[]>`
    select slug from platform.tenants where slug = any(${candidates})
    union select slug from platform.onboarding_requests where status = 'pending' and slug = any(${candidates})`
  const used = new Set(taken.map((r) => r.slug))
  return candidates.find((c) => !used.has(c)) ?? ''
}

export async function slugAvailable(sql: Sql | Tx, slug: string): Promise<boolean> {
  const [row] = await sql<{ taken: boolean }[]>`
    select exists (select 1 from platform.tenants where slug = ${slug})
        or exists (select 1 from platform.onboarding_requests where status = 'pending' and slug = ${slug}) as taken`
  return !row?.taken
}

/**
 * Resolves the address (the suggestion when left blank) and finds what already exists: a tenant or an open
 * request with the same fiscal code, codice meccanografico or address. Rejected requests block nothing.
 */
export async function checkSignUp(
  sql: Sql | Tx,
  input: SignUp,
): Promise<{ slug: string; suggested: boolean; duplicates: Duplicate[] }> {
  const duplicates: Duplicate[] = []
  const mecc = input.kind === 'scuola' ? input.codiceMeccanografico : ''
  const rows = await sql<
    { source: 'tenant' | 'request'; by: 'fiscal' | 'mecc' | 'slug'; name: string; created_at: Date }[]
  >`
    select 'tenant' as source, case when fiscal_code = ${input.fiscalCode} then 'fiscal'
             when slug = ${input.slug} then 'slug' else 'mecc' end as by, name, created_at
    from platform.tenants
    where fiscal_code = ${input.fiscalCode} or slug = ${input.slug}
       or (${mecc} <> '' and codice_meccanografico = ${mecc})
    union all
    select 'request', case when fiscal_code = ${input.fiscalCode} then 'fiscal'
             when slug = ${input.slug} then 'slug' else 'mecc' end, name, created_at
    from platform.onboarding_requests
    where status = 'pending'
      and (fiscal_code = ${input.fiscalCode} or slug = ${input.slug} or (${mecc} <> '' and codice_meccanografico = ${mecc}))`
  const fiscal = rows.find((r) => r.by === 'fiscal')
  if (fiscal) {
    duplicates.push(
      fiscal.source === 'tenant'
        ? { field: 'fiscalCode', key: 'onboarding.errors.fiscalCodeTenant', params: { name: fiscal.name } }
        : {
            field: 'fiscalCode',
            key: 'onboarding.errors.fiscalCodePending',
            params: { date: fiscal.created_at.toLocaleDateString('it-IT', { timeZone: 'Europe/Rome' }) },
          },
    )
  }
  const meccRow = rows.find((r) => r.by === 'mecc')
  if (meccRow && !fiscal) {
    duplicates.push({
      field: 'codiceMeccanografico',
      key:
        meccRow.source === 'tenant'
          ? 'onboarding.errors.meccanograficoTenant'
          : 'onboarding.errors.meccanograficoPending',
      params: { name: meccRow.name },
    })
  }
  let slug = input.slug
  let suggested = false
  if (!slug) {
    slug = await freeSlug(sql, suggestSlug(input.name))
    suggested = true
  } else if (rows.some((r) => r.by === 'slug') || !(await slugAvailable(sql, slug))) {
    const alternative = await freeSlug(sql, slug)
    duplicates.push({ field: 'slug', key: 'onboarding.errors.slugTaken', params: { suggestion: alternative } })
  }
  return { slug, suggested, duplicates }
}

function publicRef(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'
  const bytes = Buffer.from(newToken(), 'base64url')
  const chars = [...bytes.subarray(0, 8)].map((b) => alphabet[b % alphabet.length])
  return `${chars.slice(0, 4).join('')}-${chars.slice(4).join('')}`
}

export type SubmitResult = { ok: true; ref: string; id: number } | { ok: false; duplicates: Duplicate[] }

/** Records a request and tells the applicant and the platform operators, in one transaction. */
export async function submitRequest(
  sql: Sql,
  config: Config,
  input: SignUp & { slug: string },
  lang: Lang,
): Promise<SubmitResult> {
  try {
    return (await sql.begin(async (tx) => {
      const check = await checkSignUp(tx, input)
      if (check.duplicates.length) return { ok: false, duplicates: check.duplicates }
      const ref = publicRef()
      const [row] = await tx<{ id: number }[]>`
        insert into platform.onboarding_requests (public_ref, kind, name, fiscal_code, codice_meccanografico, istat_code,
          address, pec, email, admin_given_name, admin_family_name, admin_codice_fiscale, admin_email, slug, lang)
        values (${ref}, ${input.kind}, ${input.name}, ${input.fiscalCode},
          ${input.kind === 'scuola' ? input.codiceMeccanografico : null},
          ${input.kind === 'comune' && input.istatCode ? input.istatCode : null},
          ${input.address}, ${input.pec}, ${input.email}, ${input.adminGivenName}, ${input.adminFamilyName},
          ${input.adminCodiceFiscale}, ${input.adminEmail}, ${check.slug}, ${lang})
        returning id`
      const id = (row as { id: number }).id
      const params = { name: input.name, ref, admin: `${input.adminGivenName} ${input.adminFamilyName}` }
      for (const to of new Set([input.email, input.adminEmail])) {
        await enqueueMail(tx, {
          ...onboardingMail(lang, 'received', params, to),
          dedupeKey: `onboarding:${id}:received:${to}`,
        })
      }
      const operators = await tx<{ email: string; lang: Lang }[]>`
        select email, lang from platform.accounts where operator and deletion_requested_at is null`
      for (const op of operators) {
        await enqueueMail(tx, {
          ...onboardingMail(
            op.lang,
            'newRequest',
            { name: input.name, ref, link: `${config.baseUrl}/piattaforma/richieste/${id}` },
            op.email,
          ),
          dedupeKey: `onboarding:${id}:operator:${op.email}`,
        })
      }
      await platformLog(
        tx,
        { accountId: null, name: `${input.adminGivenName} ${input.adminFamilyName}` },
        {
          action: 'request.submitted',
          requestId: id,
          detail: { ref, name: input.name, fiscalCode: input.fiscalCode, slug: check.slug },
        },
      )
      return { ok: true, ref, id }
    })) as SubmitResult
  } catch (err) {
    // two submissions racing past the check: the partial unique indexes decide, with the same clear answer
    if (isUniqueViolation(err)) {
      const check = await checkSignUp(sql, input)
      if (check.duplicates.length) return { ok: false, duplicates: check.duplicates }
    }
    throw err
  }
}

// --- requests for the operator --------------------------------------------------------------------------

export interface RequestRow {
  id: number
  public_ref: string
  status: 'pending' | 'approved' | 'rejected'
  kind: 'comune' | 'scuola'
  name: string
  fiscal_code: string
  codice_meccanografico: string | null
  istat_code: string | null
  address: string
  pec: string
  email: string
  admin_given_name: string
  admin_family_name: string
  admin_codice_fiscale: string
  admin_email: string
  slug: string
  lang: Lang
  created_at: Date
  decided_at: Date | null
  decided_by_name: string | null
  decision_message: string | null
  tenant_slug: string | null
  admin_account_id: number | null
}

const REQUEST_COLUMNS = (sql: Sql | Tx) => sql`
  r.id, r.public_ref, r.status, r.kind, r.name, r.fiscal_code, r.codice_meccanografico, r.istat_code, r.address,
  r.pec, r.email, r.admin_given_name, r.admin_family_name, r.admin_codice_fiscale, r.admin_email, r.slug, r.lang,
  r.created_at, r.decided_at, r.decision_message, r.admin_account_id,
  (select a.given_name || ' ' || a.family_name from platform.accounts a where a.id = r.decided_by) as decided_by_name,
  (select t.slug from platform.tenants t where t.id = r.tenant_id) as tenant_slug`

export async function listRequests(sql: Sql, status: 'pending' | 'decided'): Promise<RequestRow[]> {
  return sql<RequestRow[]>`
    select ${REQUEST_COLUMNS(sql)} from platform.onboarding_requests r
    where ${status === 'pending' ? sql`r.status = 'pending'` : sql`r.status <> 'pending'`}
    order by ${status === 'pending' ? sql`r.created_at` : sql`r.decided_at desc`}
    limit 200`
}

export async function loadRequest(sql: Sql | Tx, id: number): Promise<RequestRow | null> {
  const [row] = await sql<
    RequestRow[]
  >`select ${REQUEST_COLUMNS(sql)} from platform.onboarding_requests r where r.id = ${id}`
  return row ?? null
}

export interface ExistingAccount {
  id: number
  email: string
  hasPassword: boolean
  byEmail: boolean
  lang: Lang
}

/** The account the first administrator already has, found by email first and then by codice fiscale. */
export async function findAdminAccount(sql: Sql | Tx, email: string, cf: string): Promise<ExistingAccount | null> {
  const [a] = await sql<{ id: number; email: string; has_password: boolean; by_email: boolean; lang: Lang }[]>`
    select id, email, password_hash is not null as has_password, lower(email) = ${email} as by_email, lang
    from platform.accounts where lower(email) = ${email} or codice_fiscale = ${cf}
    order by (lower(email) = ${email}) desc limit 1`
  return a ? { id: a.id, email: a.email, hasPassword: a.has_password, byEmail: a.by_email, lang: a.lang } : null
}

/** The tenant file an approved request becomes: identity from the form, defaults for everything else. */
export function tenantFileFor(r: RequestRow, segregationCode: string): TenantFile {
  return tenantFileSchema.parse({
    slug: r.slug,
    kind: r.kind,
    name: r.name,
    shortName: shortNameFor(r.name),
    fiscalCode: r.fiscal_code,
    ...(r.kind === 'scuola' && r.codice_meccanografico ? { codiceMeccanografico: r.codice_meccanografico } : {}),
    ...(r.kind === 'comune' && r.istat_code ? { istatCode: r.istat_code } : {}),
    segregationCode,
    branding: { logoText: logoTextFor(r.name), accent: DEFAULT_ACCENT },
    contacts: { email: r.email, pec: r.pec, address: r.address },
    settings: tenantSettingsSchema.parse({}),
    services: defaultServices(r.kind),
  })
}

export type Decision = { ok: true; tenantId: number; slug: string } | { ok: false; reason: 'decided' | 'taken' }

/** Writes the invitation of an administrator (a new token replaces the unused ones) into the outbox. */
async function sendInvite(
  tx: Tx,
  config: Config,
  accountId: number,
  opts: { to: string; lang: Lang; givenName: string; tenantName: string; newAccount: boolean; message: string },
) {
  const token = await createEmailToken(tx, config, accountId, 'invite')
  const key = opts.newAccount ? 'inviteNew' : 'inviteExisting'
  const params = {
    name: opts.givenName,
    tenant: opts.tenantName,
    link: `${config.baseUrl}/invito/${token}`,
    hours: TOKEN_HOURS.invite,
    message: opts.message ? `\n\n${opts.message}\n` : '',
  }
  await enqueueMail(tx, onboardingMail(opts.lang, key, params, opts.to))
}

/**
 * Approves a request: the tenant (schema, role, migrations, default services of its kind) in status 'setup',
 * then in one more transaction the request's decision, the administrator's account and membership, the
 * invitation, the mails and the log. If that second step fails the new tenant is removed again.
 */
export async function approveRequest(
  db: Db,
  config: Config,
  actor: Actor,
  id: number,
  input: { segregationCode: string; message: string },
): Promise<Decision> {
  const request = await loadRequest(db.sql, id)
  if (request?.status !== 'pending') return { ok: false, reason: 'decided' }
  const file = tenantFileFor(request, input.segregationCode)
  let created: { id: number; schema: string }
  try {
    created = await onboardTenant(db, file, { status: 'setup' })
  } catch (err) {
    if (isUniqueViolation(err)) {
      const again = await loadRequest(db.sql, id)
      return { ok: false, reason: again?.status === 'pending' ? 'taken' : 'decided' }
    }
    throw err
  }
  const scope = { schema: created.schema, role: tenantRoleName(db.roles, created.schema) }
  try {
    await platformThenTenant(
      db.sql,
      scope,
      async (tx) => {
        const done = await tx`update platform.onboarding_requests
          set status = 'approved', decided_at = now(), decided_by = ${actor.accountId},
              decision_message = ${input.message || null}, tenant_id = ${created.id}
          where id = ${id} and status = 'pending' returning id`
        if (done.length === 0) throw new AlreadyDecided()
        let account = await findAdminAccount(tx, request.admin_email, request.admin_codice_fiscale)
        const newAccount = !account?.hasPassword
        if (!account) {
          const [row] = await tx<{ id: number }[]>`
            insert into platform.accounts (email, given_name, family_name, codice_fiscale, lang)
            values (${request.admin_email}, ${request.admin_given_name}, ${request.admin_family_name},
                    ${request.admin_codice_fiscale}, ${request.lang})
            returning id`
          account = {
            id: (row as { id: number }).id,
            email: request.admin_email,
            hasPassword: false,
            byEmail: true,
            lang: request.lang,
          }
        }
        await tx`insert into platform.memberships (account_id, tenant_id, role)
                 values (${account.id}, ${created.id}, 'admin')
                 on conflict (account_id, tenant_id) do update set role = 'admin'`
        await tx`update platform.onboarding_requests set admin_account_id = ${account.id} where id = ${id}`
        await sendInvite(tx, config, account.id, {
          to: request.admin_email,
          lang: request.lang,
          givenName: request.admin_given_name,
          tenantName: request.name,
          newAccount,
          message: input.message,
        })
        if (request.email !== request.admin_email) {
          await enqueueMail(
            tx,
            onboardingMail(
              request.lang,
              'approved',
              {
                name: request.name,
                ref: request.public_ref,
                admin: `${request.admin_given_name} ${request.admin_family_name}`,
                message: input.message ? `\n\n${input.message}\n` : '',
              },
              request.email,
            ),
          )
        }
        const detail = {
          ref: request.public_ref,
          slug: request.slug,
          segregationCode: input.segregationCode,
          adminAccountId: account.id,
          adminAccount: newAccount ? 'new' : 'existing',
          message: input.message || undefined,
        }
        await platformLog(tx, actor, {
          action: 'request.approved',
          requestId: id,
          tenantId: created.id,
          tenantSlug: request.slug,
          detail,
        })
        await platformLog(tx, actor, {
          action: 'admin.invited',
          requestId: id,
          tenantId: created.id,
          tenantSlug: request.slug,
          detail: { accountId: account.id, email: request.admin_email },
        })
        return { accountId: account.id }
      },
      async (tx, r) => {
        await audit(tx, actor, {
          action: 'tenant.created',
          entity: 'tenant',
          entityId: created.id,
          after: { ...file, services: file.services.map((s) => s.code) },
          reason: `richiesta ${request.public_ref}`,
        })
        await audit(tx, actor, {
          action: 'member.invited',
          entity: 'membership',
          entityId: r.accountId,
          after: { role: 'admin', email: request.admin_email },
        })
      },
    )
    return { ok: true, tenantId: created.id, slug: request.slug }
  } catch (err) {
    await db.admin`delete from platform.tenants where id = ${created.id}`
    await dropTenantSchema(db.admin, db.roles, created.schema)
    if (err instanceof AlreadyDecided) return { ok: false, reason: 'decided' }
    throw err
  }
}

class AlreadyDecided extends Error {}

export async function rejectRequest(sql: Sql, actor: Actor, id: number, reason: string): Promise<{ ok: boolean }> {
  return sql.begin(async (tx) => {
    const [r] = await tx<{ name: string; email: string; admin_email: string; lang: Lang; public_ref: string }[]>`
      update platform.onboarding_requests
      set status = 'rejected', decided_at = now(), decided_by = ${actor.accountId}, decision_message = ${reason}
      where id = ${id} and status = 'pending'
      returning name, email, admin_email, lang, public_ref`
    if (!r) return { ok: false }
    for (const to of new Set([r.email, r.admin_email])) {
      await enqueueMail(tx, {
        ...onboardingMail(r.lang, 'rejected', { name: r.name, ref: r.public_ref, reason }, to),
        dedupeKey: `onboarding:${id}:rejected:${to}`,
      })
    }
    await platformLog(tx, actor, { action: 'request.rejected', requestId: id, detail: { ref: r.public_ref, reason } })
    return { ok: true }
  }) as Promise<{ ok: boolean }>
}

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
  const [members, log, size, request] = await Promise.all([
    sql<
      {
        account_id: number
        given_name: string
        family_name: string
        email: string
        role: string
        has_password: boolean
      }[]
    >`
      select m.account_id, a.given_name, a.family_name, a.email, m.role, a.password_hash is not null as has_password
      from platform.memberships m join platform.accounts a on a.id = m.account_id
      where m.tenant_id = ${t.id} order by m.role, a.family_name`,
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
  return { tenant: t, members, log, bytes: size[0]?.bytes ?? 0, request: request[0] ?? null }
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

/** Sends the first administrator a fresh invitation (the old link stops working). */
export async function resendInvite(sql: Sql, config: Config, actor: Actor, tenantId: number): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [r] = await tx<
      {
        id: number
        name: string
        admin_email: string
        admin_given_name: string
        lang: Lang
        admin_account_id: number
        has_password: boolean
        slug: string
      }[]
    >`
      select r.id, t.name, r.admin_email, r.admin_given_name, r.lang, r.admin_account_id,
        a.password_hash is not null as has_password, t.slug
      from platform.onboarding_requests r join platform.tenants t on t.id = r.tenant_id
      join platform.accounts a on a.id = r.admin_account_id
      where r.tenant_id = ${tenantId} and r.status = 'approved' order by r.decided_at desc limit 1`
    if (!r) return false
    await sendInvite(tx, config, r.admin_account_id, {
      to: r.admin_email,
      lang: r.lang,
      givenName: r.admin_given_name,
      tenantName: r.name,
      newAccount: !r.has_password,
      message: '',
    })
    await platformLog(tx, actor, {
      action: 'admin.invited',
      requestId: r.id,
      tenantId,
      tenantSlug: r.slug,
      detail: { accountId: r.admin_account_id, email: r.admin_email, again: true },
    })
    return true
  }) as Promise<boolean>
}
