// A body asks to join: the sign-up's checks (what a tenant already holds, a free address) and the request recorded
// with its mails and its platform log entry; the requests as the platform operator reads them (the list, one
// request, what clashes with it, the first administrator's existing account).
import type { Config } from '../../config.ts'
import type { Sql, Tx } from '../../platform/db.ts'
import type { Lang } from '../../platform/i18n.ts'
import { enqueueMail } from '../../platform/mail.ts'
import { newToken } from '../../platform/tokens.ts'
import { findInvitee, type Invitee } from '../staff/invitations.ts'
import { numberedSlug, suggestSlug } from './defaults.ts'
import { onboardingMail } from './mail.ts'
import { platformLog } from './platform-log.ts'
import type { SignUp } from './schema.ts'

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
