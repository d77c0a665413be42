// The operator decides on a request: approval creates the tenant in status 'setup' and invites its first
// administrator (invited again on request, resendInvite), rejection tells the applicant. Everything is written to
// platform.platform_log in the same transaction as the change.
import type { Config } from '../../config.ts'
import type { Actor } from '../../platform/audit.ts'
import { audit } from '../../platform/audit.ts'
import { type Db, type Sql, type Tx, tenantRoleName } from '../../platform/db.ts'
import type { Lang } from '../../platform/i18n.ts'
import { enqueueMail } from '../../platform/mail.ts'
import { dropTenantSchema } from '../../platform/migrate.ts'
import { onboardTenant, type TenantFile, tenantFileSchema, tenantSettingsSchema } from '../../platform/tenancy.ts'
import { createInvitation, INVITATION_HOURS } from '../staff/invitations.ts'
import { DEFAULT_ACCENT, defaultServices, logoTextFor, shortNameFor } from './defaults.ts'
import { onboardingMail } from './mail.ts'
import { platformLog, platformThenTenant } from './platform-log.ts'
import { freeSlug, loadRequest, type RequestRow } from './requests.ts'

function isUniqueViolation(err: unknown): err is { code: string; constraint_name?: string } {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505'
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
