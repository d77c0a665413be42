// Onboarding rules: a body asks to join, an operator approves (the tenant is created in status 'setup' and its
// first administrator invited) or rejects; operators suspend and resume tenants. Everything an operator or the
// onboarding does is written to platform.platform_log in the same transaction as the change.
import type { Config } from '../../config.ts'
import type { Actor } from '../../platform/audit.ts'
import { audit } from '../../platform/audit.ts'
import { type Db, type Sql, type TenantScope, type Tx, tenantRoleName } from '../../platform/db.ts'
import { type Lang, translator } from '../../platform/i18n.ts'
import { enqueueMail, type MailMessage, textToHtml } from '../../platform/mail.ts'
import { dropTenantSchema } from '../../platform/migrate.ts'
import { onboardTenant, type TenantFile, tenantFileSchema, tenantSettingsSchema } from '../../platform/tenancy.ts'
import { newToken } from '../../platform/tokens.ts'
import { createInvitation, findInvitee, INVITATION_HOURS, type Invitee, openInvitations } from '../staff/invitations.ts'
import { DEFAULT_ACCENT, defaultServices, logoTextFor, numberedSlug, shortNameFor, suggestSlug } from './defaults.ts'
import { platformLog, platformThenTenant } from './platform-log.ts'
import type { SignUp } from './schema.ts'

// --- shared helpers -----------------------------------------------------------------------------------

export { platformLog, platformThenTenant }

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

/** The first address, among the name's suggestion and its numbered variants, that no tenant uses. */
export async function freeSlug(sql: Sql | Tx, base: string): Promise<string> {
  if (!base) return ''
  const candidates = [base, ...Array.from({ length: 30 }, (_, i) => numberedSlug(base, i + 2))]
  const taken = await sql<{ slug: string }[]>`select slug from platform.tenants where slug = any(${candidates})`
  const used = new Set(taken.map((r) => r.slug))
  return candidates.find((c) => !used.has(c)) ?? ''
}

/**
 * Resolves the address (the suggestion when left blank) and finds what a tenant already holds: the fiscal code,
 * the codice meccanografico or the address. Requests block nothing, pending or not: anyone may ask, so a waiting
 * request must not keep the real body out; the operator decides, and the tenants' keys apply on approval.
 */
export async function checkSignUp(
  sql: Sql | Tx,
  input: SignUp,
): Promise<{ slug: string; suggested: boolean; duplicates: Duplicate[] }> {
  const duplicates: Duplicate[] = []
  const mecc = input.kind === 'scuola' ? input.codiceMeccanografico : ''
  const rows = await sql<{ by: 'fiscal' | 'mecc' | 'slug'; name: string }[]>`
    select case when fiscal_code = ${input.fiscalCode} then 'fiscal' when slug = ${input.slug} then 'slug'
             else 'mecc' end as by, name
    from platform.tenants
    where fiscal_code = ${input.fiscalCode} or slug = ${input.slug}
       or (${mecc} <> '' and codice_meccanografico = ${mecc})`
  const fiscal = rows.find((r) => r.by === 'fiscal')
  if (fiscal) {
    duplicates.push({ field: 'fiscalCode', key: 'onboarding.errors.fiscalCodeTenant', params: { name: fiscal.name } })
  }
  const meccRow = rows.find((r) => r.by === 'mecc')
  if (meccRow && !fiscal) {
    duplicates.push({
      field: 'codiceMeccanografico',
      key: 'onboarding.errors.meccanograficoTenant',
      params: { name: meccRow.name },
    })
  }
  let slug = input.slug
  let suggested = false
  if (!slug) {
    slug = await freeSlug(sql, suggestSlug(input.name))
    suggested = true
  } else if (rows.some((r) => r.by === 'slug')) {
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

/**
 * Records a request and tells the applicant and the platform operators, in one transaction. The mails are fixed
 * text naming the request by its reference and the platform's own links: nothing the visitor wrote (names, the
 * body's name) goes into a mail, so the form cannot relay a message from the platform's sender.
 */
export async function submitRequest(
  sql: Sql,
  config: Config,
  input: SignUp & { slug: string },
  lang: Lang,
): Promise<SubmitResult> {
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
    for (const to of new Set([input.email, input.adminEmail])) {
      await enqueueMail(tx, {
        ...onboardingMail(lang, 'received', { ref }, to),
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
          { ref, link: `${config.baseUrl}/piattaforma/richieste/${id}` },
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

/**
 * The account the first administrator already has: by the request's email, else by a PROVED codice fiscale (a
 * claimed one matches nobody). The invitation then goes to that account's own address.
 */
export async function findAdminAccount(sql: Sql | Tx, email: string, cf: string): Promise<Invitee | null> {
  return findInvitee(sql, email, cf)
}

/** What the operator should know before deciding: tenants and other waiting requests with the same keys. */
export async function requestClashes(sql: Sql | Tx, r: RequestRow) {
  const [tenants, requests] = await Promise.all([
    sql<{ slug: string; name: string; fiscal: boolean; sameSlug: boolean }[]>`
      select slug, name, fiscal_code = ${r.fiscal_code} as fiscal, slug = ${r.slug} as "sameSlug"
      from platform.tenants where fiscal_code = ${r.fiscal_code} or slug = ${r.slug}`,
    sql<{ id: number; public_ref: string; created_at: Date; fiscal: boolean; sameSlug: boolean }[]>`
      select id, public_ref, created_at, fiscal_code = ${r.fiscal_code} as fiscal, slug = ${r.slug} as "sameSlug"
      from platform.onboarding_requests
      where status = 'pending' and id <> ${r.id} and (fiscal_code = ${r.fiscal_code} or slug = ${r.slug})
      order by created_at`,
  ])
  return { tenants, requests }
}

/** The tenant file an approved request becomes: identity from the form, defaults for everything else. */
export function tenantFileFor(r: RequestRow, segregationCode: string, slug = r.slug): TenantFile {
  return tenantFileSchema.parse({
    slug,
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

export type Decision =
  | { ok: true; tenantId: number; slug: string }
  | { ok: false; reason: 'decided' }
  | { ok: false; reason: 'fiscalTaken'; name: string }
  | { ok: false; reason: 'slugTaken'; suggestion: string }

/** Whether a tenant already holds the request's fiscal code or the address chosen for it. */
async function approvalClash(sql: Sql, r: RequestRow, slug: string): Promise<Decision | null> {
  const [fiscal] = await sql<{ name: string }[]>`select name from platform.tenants where fiscal_code = ${r.fiscal_code}`
  if (fiscal) return { ok: false, reason: 'fiscalTaken', name: fiscal.name }
  const [taken] = await sql<{ slug: string }[]>`select slug from platform.tenants where slug = ${slug}`
  if (taken) return { ok: false, reason: 'slugTaken', suggestion: await freeSlug(sql, slug) }
  return null
}

/**
 * Invites the first administrator of an approved request: to the account found by the request's email or by a
 * proved codice fiscale (at that account's own address, accepted only signed in), else to the address typed,
 * where accepting creates the account. The mail names the request by its reference, nothing the visitor wrote.
 */
async function inviteFirstAdmin(
  tx: Tx,
  config: Config,
  actor: Actor,
  r: {
    id: number
    public_ref: string
    tenantId: number
    admin_email: string
    admin_codice_fiscale: string
    admin_given_name: string
    admin_family_name: string
    lang: Lang
  },
  message: string,
) {
  const inv = await createInvitation(tx, config, actor, {
    tenantId: r.tenantId,
    role: 'admin',
    email: r.admin_email,
    codiceFiscale: r.admin_codice_fiscale,
    givenName: r.admin_given_name,
    familyName: r.admin_family_name,
    requestId: r.id,
    lang: r.lang,
  })
  const params = {
    ref: r.public_ref,
    link: inv.link,
    hours: INVITATION_HOURS,
    message: message ? `\n\n${message}\n` : '',
  }
  await enqueueMail(tx, onboardingMail(inv.lang, inv.accountId ? 'inviteExisting' : 'inviteNew', params, inv.to))
  return inv
}

/**
 * Approves a request: the tenant (schema, role, migrations, default services of its kind) in status 'setup',
 * then in one more transaction the request's decision, the first administrator's invitation, the mails and the
 * log. No account and no membership yet: those come when the invitation is accepted. If that second step fails
 * the new tenant is removed again. A tenant already holding the fiscal code or the address is a clear refusal.
 */
export async function approveRequest(
  db: Db,
  config: Config,
  actor: Actor,
  id: number,
  input: { segregationCode: string; message: string; slug?: string },
): Promise<Decision> {
  const request = await loadRequest(db.sql, id)
  if (request?.status !== 'pending') return { ok: false, reason: 'decided' }
  const slug = input.slug || request.slug
  const clash = await approvalClash(db.sql, request, slug)
  if (clash) return clash
  const file = tenantFileFor(request, input.segregationCode, slug)
  let created: { id: number; schema: string }
  try {
    created = await onboardTenant(db, file, { status: 'setup' })
  } catch (err) {
    if (isUniqueViolation(err)) {
      const again = await loadRequest(db.sql, id)
      if (again?.status !== 'pending') return { ok: false, reason: 'decided' }
      const raced = await approvalClash(db.sql, request, slug)
      if (raced) return raced
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
              decision_message = ${input.message || null}, tenant_id = ${created.id}, slug = ${slug}
          where id = ${id} and status = 'pending' returning id`
        if (done.length === 0) throw new AlreadyDecided()
        const inv = await inviteFirstAdmin(tx, config, actor, { ...request, tenantId: created.id }, input.message)
        if (request.email.toLowerCase() !== inv.to) {
          await enqueueMail(
            tx,
            onboardingMail(
              request.lang,
              'approved',
              { ref: request.public_ref, message: input.message ? `\n\n${input.message}\n` : '' },
              request.email,
            ),
          )
        }
        const account = inv.accountId ? 'existing' : 'new'
        await platformLog(tx, actor, {
          action: 'request.approved',
          requestId: id,
          tenantId: created.id,
          tenantSlug: slug,
          detail: {
            ref: request.public_ref,
            slug,
            segregationCode: input.segregationCode,
            adminAccount: account,
            message: input.message || undefined,
          },
        })
        await platformLog(tx, actor, {
          action: 'admin.invited',
          requestId: id,
          tenantId: created.id,
          tenantSlug: slug,
          detail: { invitationId: inv.id, accountId: inv.accountId, email: inv.to, account },
        })
        return { invitationId: inv.id, to: inv.to }
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
          entity: 'invitation',
          entityId: r.invitationId,
          after: { role: 'admin', email: r.to },
        })
      },
    )
    return { ok: true, tenantId: created.id, slug }
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
    const [r] = await tx<{ email: string; admin_email: string; lang: Lang; public_ref: string }[]>`
      update platform.onboarding_requests
      set status = 'rejected', decided_at = now(), decided_by = ${actor.accountId}, decision_message = ${reason}
      where id = ${id} and status = 'pending'
      returning email, admin_email, lang, public_ref`
    if (!r) return { ok: false }
    for (const to of new Set([r.email, r.admin_email])) {
      await enqueueMail(tx, {
        ...onboardingMail(r.lang, 'rejected', { ref: r.public_ref, reason }, to),
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

/**
 * Sends the first administrator a fresh invitation from the approved request (the old link stops working),
 * found again by the request's email or proved codice fiscale.
 */
export async function resendInvite(sql: Sql, config: Config, actor: Actor, tenantId: number): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [r] = await tx<
      {
        id: number
        public_ref: string
        admin_email: string
        admin_codice_fiscale: string
        admin_given_name: string
        admin_family_name: string
        lang: Lang
        slug: string
      }[]
    >`
      select r.id, r.public_ref, r.admin_email, r.admin_codice_fiscale, r.admin_given_name, r.admin_family_name,
        r.lang, t.slug
      from platform.onboarding_requests r join platform.tenants t on t.id = r.tenant_id
      where r.tenant_id = ${tenantId} and r.status = 'approved' order by r.decided_at desc limit 1`
    if (!r) return false
    const inv = await inviteFirstAdmin(tx, config, actor, { ...r, tenantId }, '')
    await platformLog(tx, actor, {
      action: 'admin.invited',
      requestId: r.id,
      tenantId,
      tenantSlug: r.slug,
      detail: {
        invitationId: inv.id,
        accountId: inv.accountId,
        email: inv.to,
        account: inv.accountId ? 'existing' : 'new',
        again: true,
      },
    })
    return true
  }) as Promise<boolean>
}
