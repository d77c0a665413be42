// Invitations to a tenant's staff: the first administrator of an approved onboarding request, and every person an
// administrator adds. A single-use, expiring link, stored as an HMAC, that grants nothing until the person accepts.
// For an existing account (found by the email, or by a PROVED codice fiscale) the link goes to that account's own
// address and is accepted only signed in as that account: no link sets an existing account's password or signs
// anyone into it. For a person without an account, accepting creates one (its codice fiscale an unproved claim).
import type { Config } from '../../config.ts'
import { type Actor, audit } from '../../platform/audit.ts'
import { type Db, type Sql, type Tx, tenantRoleName } from '../../platform/db.ts'
import { type Lang, translator } from '../../platform/i18n.ts'
import { type MailMessage, textToHtml } from '../../platform/mail.ts'
import type { StaffRole } from '../../platform/roles.ts'
import { hashToken, newToken } from '../../platform/tokens.ts'
import { TOKEN_HOURS } from '../account/service.ts'
import { platformLog, platformThenTenant } from '../onboarding/platform-log.ts'

export const INVITATION_HOURS = TOKEN_HOURS.invite

export interface Invitee {
  id: number
  email: string
  lang: Lang
  /** found by the address itself (else by a proved codice fiscale, with another address) */
  byEmail: boolean
}

/**
 * The existing account a person is: by the email, else by a proved codice fiscale. A codice fiscale that is only
 * claimed matches nobody (whoever typed it may not be that person).
 */
export async function findInvitee(
  sql: Sql | Tx,
  email: string,
  codiceFiscale?: string | null,
): Promise<Invitee | null> {
  const address = email.toLowerCase()
  const cf = codiceFiscale ?? ''
  const [a] = await sql<{ id: number; email: string; lang: Lang; by_email: boolean }[]>`
    select id, email, lang, lower(email) = ${address} as by_email from platform.accounts
    where lower(email) = ${address} or (${cf} <> '' and codice_fiscale = ${cf} and cf_proved_at is not null)
    order by (lower(email) = ${address}) desc limit 1`
  return a ? { id: a.id, email: a.email, lang: a.lang, byEmail: a.by_email } : null
}

export interface NewInvitation {
  tenantId: number
  role: StaffRole
  /** the address given for the person (lower-cased) */
  email: string
  /** an onboarding request's administrator: a proved codice fiscale finds the account; else a claim to propose */
  codiceFiscale?: string | null
  givenName?: string | null
  familyName?: string | null
  requestId?: number | null
  /** the language of the mail for a person without an account (an account gets its own) */
  lang: Lang
}

export interface CreatedInvitation {
  id: number
  link: string
  /** where the link goes: the existing account's own address, or the address given */
  to: string
  accountId: number | null
  lang: Lang
}

/** Records an invitation (replacing the open one of the same person, or of the same request); no mail, no log. */
export async function createInvitation(
  tx: Tx,
  config: Config,
  actor: Actor,
  input: NewInvitation,
): Promise<CreatedInvitation> {
  const account = await findInvitee(tx, input.email, input.codiceFiscale)
  // an account found by its proved codice fiscale hears of it at its own address, never at the one typed
  const to = account && !account.byEmail ? account.email.toLowerCase() : input.email.toLowerCase()
  const lang = account?.lang ?? input.lang
  await tx`
    update platform.invitations set revoked_at = now()
    where tenant_id = ${input.tenantId} and accepted_at is null and revoked_at is null
      and (lower(email) = ${to} ${input.requestId ? tx`or request_id = ${input.requestId}` : tx``})`
  const token = newToken()
  const [row] = await tx<{ id: number }[]>`
    insert into platform.invitations (token_hash, tenant_id, role, email, account_id, given_name, family_name,
      codice_fiscale, request_id, invited_by, invited_by_name, lang, expires_at)
    values (${hashToken(config.sessionSecret, token)}, ${input.tenantId}, ${input.role}, ${to}, ${account?.id ?? null},
      ${account ? null : (input.givenName ?? null)}, ${account ? null : (input.familyName ?? null)},
      ${account ? null : (input.codiceFiscale ?? null)}, ${input.requestId ?? null}, ${actor.accountId}, ${actor.name},
      ${lang}, now() + make_interval(hours => ${INVITATION_HOURS}))
    returning id`
  return {
    id: (row as { id: number }).id,
    link: `${config.baseUrl}/invito/${token}`,
    to,
    accountId: account?.id ?? null,
    lang,
  }
}

export interface Invitation {
  id: number
  tenantId: number
  tenantSlug: string
  tenantName: string
  tenantSchema: string
  tenantStatus: 'setup' | 'active' | 'suspended'
  role: StaffRole
  email: string
  /** the account that must accept: the one found at invitation time, else one that now holds the address */
  accountId: number | null
  givenName: string | null
  familyName: string | null
  codiceFiscale: string | null
  requestId: number | null
  lang: Lang
}

export type InvitationProblem = 'unknown' | 'expired' | 'used' | 'revoked'
export type InvitationCheck = { status: 'ok'; invitation: Invitation } | { status: InvitationProblem }

/** What a link is for, without using it; `lock` holds the row until the caller's transaction ends. */
export async function loadInvitation(
  sql: Sql | Tx,
  config: Config,
  token: string,
  lock = false,
): Promise<InvitationCheck> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return { status: 'unknown' }
  const [r] = await sql<
    {
      id: number
      tenant_id: number
      slug: string
      name: string
      schema_name: string
      tenant_status: Invitation['tenantStatus']
      role: StaffRole
      email: string
      account_id: number | null
      given_name: string | null
      family_name: string | null
      codice_fiscale: string | null
      request_id: number | null
      lang: Lang
      expired: boolean
      accepted: boolean
      revoked: boolean
    }[]
  >`
    select i.id, i.tenant_id, t.slug, t.name, t.schema_name, t.status as tenant_status, i.role, i.email,
      coalesce(i.account_id, (select a.id from platform.accounts a where lower(a.email) = lower(i.email))) as account_id,
      i.given_name, i.family_name, i.codice_fiscale, i.request_id, i.lang, i.expires_at <= now() as expired,
      i.accepted_at is not null as accepted, i.revoked_at is not null as revoked
    from platform.invitations i join platform.tenants t on t.id = i.tenant_id and t.status <> 'deleted'
    where i.token_hash = ${hashToken(config.sessionSecret, token)}
    ${lock ? sql`for update of i` : sql``}`
  if (!r) return { status: 'unknown' }
  if (r.accepted) return { status: 'used' }
  if (r.revoked) return { status: 'revoked' }
  if (r.expired) return { status: 'expired' }
  return {
    status: 'ok',
    invitation: {
      id: r.id,
      tenantId: r.tenant_id,
      tenantSlug: r.slug,
      tenantName: r.name,
      tenantSchema: r.schema_name,
      tenantStatus: r.tenant_status,
      role: r.role,
      email: r.email,
      accountId: r.account_id,
      givenName: r.given_name,
      familyName: r.family_name,
      codiceFiscale: r.codice_fiscale,
      requestId: r.request_id,
      lang: r.lang,
    },
  }
}

export interface NewAccount {
  givenName: string
  familyName: string
  codiceFiscale: string
  passwordHash: string
  lang: Lang
}

export type AcceptResult =
  | { status: 'ok'; invitation: Invitation; accountId: number; created: boolean }
  | { status: InvitationProblem | 'otherAccount' | 'signIn' }

/**
 * Accepts an invitation: as the signed-in account it is for, or, for a person without an account, by creating
 * it. The membership, the invitation's use, the platform log and the tenant's audit commit together; `then`
 * runs in the same transaction before the tenant's part (to start a session).
 */
export async function acceptInvitation(
  db: Db,
  config: Config,
  token: string,
  as: { accountId: number } | { newAccount: NewAccount },
  then?: (tx: Tx, accountId: number) => Promise<void>,
): Promise<AcceptResult> {
  const peek = await loadInvitation(db.sql, config, token)
  if (peek.status !== 'ok') return peek
  const scope = { schema: peek.invitation.tenantSchema, role: tenantRoleName(db.roles, peek.invitation.tenantSchema) }
  return platformThenTenant<AcceptResult>(
    db.sql,
    scope,
    async (tx) => {
      const check = await loadInvitation(tx, config, token, true)
      if (check.status !== 'ok') return check
      const inv = check.invitation
      let accountId: number
      let created = false
      if ('accountId' in as) {
        if (inv.accountId !== as.accountId) return { status: 'otherAccount' }
        accountId = as.accountId
        // the link reached this address and its owner signed in: the address is confirmed
        await tx`update platform.accounts set email_confirmed_at = coalesce(email_confirmed_at, now()), updated_at = now()
                 where id = ${accountId} and lower(email) = ${inv.email}`
      } else {
        if (inv.accountId !== null) return { status: 'signIn' }
        const a = as.newAccount
        // the codice fiscale is a claim (cf_proved_at stays null); the address is confirmed by the link itself
        const [row] = await tx<{ id: number }[]>`
          insert into platform.accounts (email, email_confirmed_at, password_hash, given_name, family_name,
                                         codice_fiscale, lang)
          values (${inv.email}, now(), ${a.passwordHash}, ${a.givenName}, ${a.familyName}, ${a.codiceFiscale}, ${a.lang})
          on conflict do nothing
          returning id`
        if (!row) return { status: 'signIn' }
        accountId = row.id
        created = true
      }
      // an invitation adds a membership; it never changes one that exists (the role form does, signing out)
      await tx`insert into platform.memberships (account_id, tenant_id, role)
               values (${accountId}, ${inv.tenantId}, ${inv.role}) on conflict (account_id, tenant_id) do nothing`
      await tx`update platform.invitations set accepted_at = now(), accepted_by = ${accountId} where id = ${inv.id}`
      if (inv.requestId)
        await tx`update platform.onboarding_requests set admin_account_id = ${accountId} where id = ${inv.requestId}`
      const [who] = await tx<{ name: string }[]>`
        select given_name || ' ' || family_name as name from platform.accounts where id = ${accountId}`
      await platformLog(
        tx,
        { accountId, name: who?.name ?? '' },
        {
          action: 'invite.accepted',
          requestId: inv.requestId,
          tenantId: inv.tenantId,
          tenantSlug: inv.tenantSlug,
          detail: { invitationId: inv.id, role: inv.role, account: created ? 'new' : 'existing' },
        },
      )
      if (then) await then(tx, accountId)
      return { status: 'ok', invitation: inv, accountId, created }
    },
    async (tx, r) => {
      if (r.status !== 'ok') return
      const [who] = await tx<{ name: string }[]>`
        select given_name || ' ' || family_name as name from platform.accounts where id = ${r.accountId}`
      await audit(
        tx,
        { accountId: r.accountId, name: who?.name ?? '' },
        {
          action: 'member.joined',
          entity: 'membership',
          entityId: r.accountId,
          after: { role: r.invitation.role, invitationId: r.invitation.id },
        },
      )
    },
  )
}

export interface OpenInvitation {
  id: number
  email: string
  role: StaffRole
  invited_by_name: string
  created_at: Date
  expires_at: Date
  expired: boolean
}

/** Invitations not yet accepted nor revoked (expired ones too: they can be sent again). */
export async function openInvitations(sql: Sql | Tx, tenantId: number): Promise<OpenInvitation[]> {
  return sql<OpenInvitation[]>`
    select id, email, role, invited_by_name, created_at, expires_at, expires_at <= now() as expired
    from platform.invitations
    where tenant_id = ${tenantId} and accepted_at is null and revoked_at is null
    order by created_at desc`
}

/** A staff invitation's mail: fixed text, the tenant, the role and the link. */
export function staffInviteMail(
  lang: Lang,
  opts: { tenantName: string; role: StaffRole; link: string; existing: boolean },
  to: string,
): MailMessage {
  const t = translator(lang)
  const params = {
    tenant: opts.tenantName,
    role: t(`staff.role.${opts.role}`),
    link: opts.link,
    hours: INVITATION_HOURS,
  }
  const body = t(opts.existing ? 'staff.mail.invite.bodyExisting' : 'staff.mail.invite.bodyNew', params)
  const text = `${body}\n\n${t('mail.signature')}`
  return { to, subject: t('staff.mail.invite.subject', params), text, html: textToHtml(text, lang) }
}
