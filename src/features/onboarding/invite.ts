// The first administrator's invitation link: a new account chooses its password there; an existing account
// signs in and accepts. Either way the link is used once and the administrator lands in the set-up wizard.
import type { Config } from '../../config.ts'
import type { Tx } from '../../platform/db.ts'
import type { Lang } from '../../platform/i18n.ts'
import { hashPassword } from '../account/passwords.ts'
import { consumeEmailToken, type TokenCheck } from '../account/service.ts'
import { platformLog } from './service.ts'

export interface InviteInfo {
  accountId: number
  email: string
  givenName: string
  familyName: string
  hasPassword: boolean
  lang: Lang
  /** the tenant the invitation is for (the latest approved request naming this administrator) */
  tenant: { id: number; slug: string; name: string } | null
  /** the address the invitation was sent to */
  invitedEmail: string | null
}

export type InviteCheck = { status: 'ok'; info: InviteInfo } | { status: Exclude<TokenCheck['status'], 'ok'> }

/** Reads what a link is for, without using it (the row is locked until the caller's transaction ends). */
export async function inspectInvite(tx: Tx, config: Config, token: string, markUsed = false): Promise<InviteCheck> {
  const r = await consumeEmailToken(tx, config, token, 'invite', markUsed)
  if (r.status !== 'ok') return { status: r.status }
  const [a] = await tx<
    {
      id: number
      email: string
      given_name: string
      family_name: string
      has_password: boolean
      lang: Lang
      tenant_id: number | null
      slug: string | null
      name: string | null
      admin_email: string | null
    }[]
  >`
    select a.id, a.email, a.given_name, a.family_name, a.password_hash is not null as has_password, a.lang,
      t.id as tenant_id, t.slug, t.name, r.admin_email
    from platform.accounts a
    left join lateral (
      select tenant_id, admin_email from platform.onboarding_requests
      where admin_account_id = a.id and status = 'approved' order by decided_at desc limit 1
    ) r on true
    left join platform.tenants t on t.id = r.tenant_id and t.status <> 'deleted'
    where a.id = ${r.accountId}`
  if (!a) return { status: 'unknown' }
  return {
    status: 'ok',
    info: {
      accountId: a.id,
      email: a.email,
      givenName: a.given_name,
      familyName: a.family_name,
      hasPassword: a.has_password,
      lang: a.lang,
      tenant: a.tenant_id && a.slug && a.name ? { id: a.tenant_id, slug: a.slug, name: a.name } : null,
      invitedEmail: a.admin_email,
    },
  }
}

/**
 * A new account sets its password through the link: the link is used, the password stored, and the address
 * confirmed when the link went to the account's own address (it proves control of that mailbox).
 */
export async function acceptAsNewAccount(
  tx: Tx,
  config: Config,
  token: string,
  password: string,
): Promise<InviteCheck | { status: 'hasPassword' }> {
  const hash = await hashPassword(password)
  const check = await inspectInvite(tx, config, token, true)
  if (check.status !== 'ok') return check
  if (check.info.hasPassword) return { status: 'hasPassword' }
  await tx`
    update platform.accounts set password_hash = ${hash}, updated_at = now(),
      email_confirmed_at = case when lower(email) = ${check.info.invitedEmail ?? ''} then coalesce(email_confirmed_at, now())
                                else email_confirmed_at end
    where id = ${check.info.accountId}`
  await platformLog(
    tx,
    { accountId: check.info.accountId, name: `${check.info.givenName} ${check.info.familyName}` },
    {
      action: 'invite.accepted',
      tenantId: check.info.tenant?.id ?? null,
      tenantSlug: check.info.tenant?.slug ?? null,
      detail: { account: 'new' },
    },
  )
  return check
}

/** An existing account, signed in, accepts the invitation: the link is used and the acceptance logged. */
export async function acceptAsExistingAccount(
  tx: Tx,
  config: Config,
  token: string,
  accountId: number,
): Promise<InviteCheck | { status: 'otherAccount' }> {
  const peek = await inspectInvite(tx, config, token, false)
  if (peek.status !== 'ok') return peek
  if (peek.info.accountId !== accountId) return { status: 'otherAccount' }
  const check = await inspectInvite(tx, config, token, true)
  if (check.status !== 'ok') return check
  await tx`
    update platform.accounts set email_confirmed_at = coalesce(email_confirmed_at, now()), updated_at = now()
    where id = ${accountId} and lower(email) = ${check.info.invitedEmail ?? ''}`
  await platformLog(
    tx,
    { accountId, name: `${check.info.givenName} ${check.info.familyName}` },
    {
      action: 'invite.accepted',
      tenantId: check.info.tenant?.id ?? null,
      tenantSlug: check.info.tenant?.slug ?? null,
      detail: { account: 'existing' },
    },
  )
  return check
}
