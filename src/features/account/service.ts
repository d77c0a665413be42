// Account rules: registration without revealing who is registered, single-use expiring links, password
// changes that revoke sessions. Every email is queued in the same transaction as its event.
import type { Config } from '../../config.ts'
import type { Sql, Tx } from '../../platform/db.ts'
import type { Lang } from '../../platform/i18n.ts'
import { composeMail, enqueueMail } from '../../platform/mail.ts'
import { revokeSessions } from '../../platform/session.ts'
import { clearThrottle } from '../../platform/throttle.ts'
import { hashToken, newToken } from '../../platform/tokens.ts'
import { hashPassword, verifyPassword } from './passwords.ts'

export const TOKEN_HOURS = { confirm: 48, reset: 1, email_change: 24, invite: 72 } as const
type Purpose = keyof typeof TOKEN_HOURS

export async function createEmailToken(
  tx: Tx | Sql,
  config: Config,
  accountId: number,
  purpose: Purpose,
  newEmail: string | null = null,
): Promise<string> {
  const token = newToken()
  // a new link replaces the unused ones of the same purpose
  await tx`update platform.email_tokens set used_at = now()
           where account_id = ${accountId} and purpose = ${purpose} and used_at is null`
  await tx`insert into platform.email_tokens (token_hash, account_id, purpose, new_email, expires_at)
           values (${hashToken(config.sessionSecret, token)}, ${accountId}, ${purpose}, ${newEmail},
                   now() + make_interval(hours => ${TOKEN_HOURS[purpose]}))`
  return token
}

export type TokenCheck =
  | { status: 'ok'; accountId: number; newEmail: string | null }
  | { status: 'expired' | 'used' | 'unknown'; accountId?: number }

/** Uses a link once: the row is locked, checked and marked used in the caller's transaction. */
export async function consumeEmailToken(
  tx: Tx,
  config: Config,
  token: string,
  purpose: Purpose,
  markUsed = true,
): Promise<TokenCheck> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return { status: 'unknown' }
  const [row] = await tx<{ account_id: number; new_email: string | null; expired: boolean; used: boolean }[]>`
    select account_id, new_email, expires_at <= now() as expired, used_at is not null as used
    from platform.email_tokens where token_hash = ${hashToken(config.sessionSecret, token)} and purpose = ${purpose}
    for update`
  if (!row) return { status: 'unknown' }
  if (row.used) return { status: 'used', accountId: row.account_id }
  if (row.expired) return { status: 'expired', accountId: row.account_id }
  if (markUsed)
    await tx`update platform.email_tokens set used_at = now() where token_hash = ${hashToken(config.sessionSecret, token)}`
  return { status: 'ok', accountId: row.account_id, newEmail: row.new_email }
}

export interface Registration {
  givenName: string
  familyName: string
  codiceFiscale: string
  email: string
  password: string
}

/**
 * Registers an account, or — when the email or codice fiscale is already taken — mails the owner instead.
 * The visitor sees the same "check your email" page either way.
 */
export async function register(sql: Sql, config: Config, input: Registration, lang: Lang): Promise<void> {
  const hash = await hashPassword(input.password)
  await sql.begin(async (tx) => {
    // A codice fiscale is only a claim until proved: an unproved account holding the same one reserves nothing and
    // hears nothing of this registration; the owner of a proved one is told, as the owner of the address is.
    const existing = await tx<{ id: number; email: string; lang: Lang; by: 'email' | 'cf' }[]>`
      select id, email, lang, case when lower(email) = ${input.email} then 'email' else 'cf' end as by
      from platform.accounts
      where lower(email) = ${input.email} or (codice_fiscale = ${input.codiceFiscale} and cf_proved_at is not null)`
    if (existing.length) {
      for (const owner of existing) {
        await enqueueMail(
          tx,
          composeMail(
            owner.lang,
            owner.by === 'email' ? 'registerEmailTaken' : 'registerCfTaken',
            {
              login: `${config.baseUrl}/accesso`,
              reset: `${config.baseUrl}/password-dimenticata`,
            },
            owner.email,
          ),
        )
      }
      return
    }
    const [account] = await tx<{ id: number }[]>`
      insert into platform.accounts (email, password_hash, given_name, family_name, codice_fiscale, lang)
      values (${input.email}, ${hash}, ${input.givenName}, ${input.familyName}, ${input.codiceFiscale}, ${lang})
      returning id`
    const token = await createEmailToken(tx, config, (account as { id: number }).id, 'confirm')
    await enqueueMail(
      tx,
      composeMail(
        lang,
        'confirm',
        { name: input.givenName, link: `${config.baseUrl}/conferma-email/${token}`, hours: TOKEN_HOURS.confirm },
        input.email,
      ),
    )
  })
}

export async function sendConfirmation(sql: Sql, config: Config, accountId: number): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [a] = await tx<{ email: string; given_name: string; lang: Lang; confirmed: boolean }[]>`
      select email, given_name, lang, email_confirmed_at is not null as confirmed from platform.accounts where id = ${accountId}`
    if (!a || a.confirmed) return false
    const token = await createEmailToken(tx, config, accountId, 'confirm')
    await enqueueMail(
      tx,
      composeMail(
        a.lang,
        'confirm',
        { name: a.given_name, link: `${config.baseUrl}/conferma-email/${token}`, hours: TOKEN_HOURS.confirm },
        a.email,
      ),
    )
    return true
  }) as Promise<boolean>
}

export async function confirmEmail(sql: Sql, config: Config, token: string): Promise<TokenCheck['status'] | 'already'> {
  return sql.begin(async (tx) => {
    const r = await consumeEmailToken(tx, config, token, 'confirm')
    if (r.status === 'used' && r.accountId) {
      const [a] = await tx<
        { c: boolean }[]
      >`select email_confirmed_at is not null as c from platform.accounts where id = ${r.accountId}`
      return a?.c ? 'already' : 'used'
    }
    if (r.status !== 'ok') return r.status
    await tx`update platform.accounts set email_confirmed_at = coalesce(email_confirmed_at, now()), updated_at = now()
             where id = ${r.accountId}`
    return 'ok'
  }) as Promise<TokenCheck['status'] | 'already'>
}

export interface LoginAccount {
  id: number
  passwordHash: string | null
  lang: Lang
}

export async function findForLogin(sql: Sql, email: string): Promise<LoginAccount | null> {
  const [a] = await sql<{ id: number; password_hash: string | null; lang: Lang }[]>`
    select id, password_hash, lang from platform.accounts where lower(email) = ${email} and deletion_requested_at is null`
  return a ? { id: a.id, passwordHash: a.password_hash, lang: a.lang } : null
}

export async function checkPassword(sql: Sql, account: LoginAccount | null, password: string): Promise<boolean> {
  const { ok, rehash } = await verifyPassword(account?.passwordHash ?? null, password)
  if (ok && rehash && account) {
    await sql`update platform.accounts set password_hash = ${await hashPassword(password)} where id = ${account.id}`
  }
  return ok
}

export async function requestReset(sql: Sql, config: Config, email: string): Promise<void> {
  await sql.begin(async (tx) => {
    const [a] = await tx<{ id: number; given_name: string; lang: Lang; email: string }[]>`
      select id, given_name, lang, email from platform.accounts where lower(email) = ${email} and deletion_requested_at is null`
    if (!a) return
    const token = await createEmailToken(tx, config, a.id, 'reset')
    await enqueueMail(
      tx,
      composeMail(
        a.lang,
        'reset',
        { name: a.given_name, link: `${config.baseUrl}/reimposta-password/${token}` },
        a.email,
      ),
    )
  })
}

export async function resetPassword(
  sql: Sql,
  config: Config,
  token: string,
  password: string,
): Promise<TokenCheck['status']> {
  const hash = await hashPassword(password)
  return sql.begin(async (tx) => {
    const r = await consumeEmailToken(tx, config, token, 'reset')
    if (r.status !== 'ok') return r.status
    // the reset proves control of the mailbox, so it confirms the address too
    const [a] = await tx<{ email: string; lang: Lang; given_name: string }[]>`
      update platform.accounts set password_hash = ${hash}, email_confirmed_at = coalesce(email_confirmed_at, now()), updated_at = now()
      where id = ${r.accountId} returning email, lang, given_name`
    await revokeSessions(tx, r.accountId)
    // the link proved the mailbox: strangers' wrong guesses no longer keep its owner out (their lock is lifted)
    if (a) await clearThrottle(tx, `login:email:${a.email.toLowerCase()}`)
    if (a)
      await enqueueMail(
        tx,
        composeMail(
          a.lang,
          'passwordChanged',
          { name: a.given_name, reset: `${config.baseUrl}/password-dimenticata` },
          a.email,
        ),
      )
    return 'ok'
  }) as Promise<TokenCheck['status']>
}

export async function changePassword(sql: Sql, config: Config, accountId: number, sessionId: number, password: string) {
  const hash = await hashPassword(password)
  await sql.begin(async (tx) => {
    const [a] = await tx<{ email: string; lang: Lang; given_name: string }[]>`
      update platform.accounts set password_hash = ${hash}, updated_at = now() where id = ${accountId}
      returning email, lang, given_name`
    await revokeSessions(tx, accountId, sessionId)
    if (a)
      await enqueueMail(
        tx,
        composeMail(
          a.lang,
          'passwordChanged',
          { name: a.given_name, reset: `${config.baseUrl}/password-dimenticata` },
          a.email,
        ),
      )
  })
}

export interface Profile {
  email: string
  emailConfirmed: boolean
  pendingEmail: string | null
  givenName: string
  familyName: string
  codiceFiscale: string
  phone: string
  address: string
  lang: Lang
  reminders: boolean
  hasPassword: boolean
  cfProved: boolean
  cfProvedBy: string | null
  tenants: { slug: string; name: string }[]
  staffOf: { slug: string; name: string; role: string }[]
}

export async function loadProfile(sql: Sql, accountId: number): Promise<Profile | null> {
  const [a] = await sql<
    {
      email: string
      confirmed: boolean
      pending: string | null
      given_name: string
      family_name: string
      codice_fiscale: string
      phone: string | null
      address: string | null
      lang: Lang
      reminders: boolean
      has_password: boolean
      cf_proved: boolean
      cf_proved_by: string | null
      tenants: { slug: string; name: string }[]
      staff: { slug: string; name: string; role: string }[]
    }[]
  >`
    select a.email, a.email_confirmed_at is not null as confirmed, a.given_name, a.family_name, a.codice_fiscale,
      a.phone, a.address, a.lang, a.reminders, a.password_hash is not null as has_password,
      a.cf_proved_at is not null as cf_proved, a.cf_proved_by,
      (select new_email from platform.email_tokens e where e.account_id = a.id and e.purpose = 'email_change'
         and e.used_at is null and e.expires_at > now() order by e.created_at desc limit 1) as pending,
      coalesce((select json_agg(json_build_object('slug', t.slug, 'name', t.name) order by t.name)
         from platform.payer_index pi join platform.tenants t on t.id = pi.tenant_id
         where pi.codice_fiscale = a.codice_fiscale and a.cf_proved_at is not null
           and t.status in ('active', 'suspended')), '[]') as tenants,
      coalesce((select json_agg(json_build_object('slug', t.slug, 'name', t.name, 'role', m.role) order by t.name)
         from platform.memberships m join platform.tenants t on t.id = m.tenant_id
         where m.account_id = a.id and t.status <> 'deleted'), '[]') as staff
    from platform.accounts a where a.id = ${accountId}`
  if (!a) return null
  return {
    email: a.email,
    emailConfirmed: a.confirmed,
    pendingEmail: a.pending,
    givenName: a.given_name,
    familyName: a.family_name,
    codiceFiscale: a.codice_fiscale,
    phone: a.phone ?? '',
    address: a.address ?? '',
    lang: a.lang,
    reminders: a.reminders,
    hasPassword: a.has_password,
    cfProved: a.cf_proved,
    cfProvedBy: a.cf_proved_by,
    tenants: a.tenants,
    staffOf: a.staff,
  }
}

/** Saves contact details; a new email address takes effect only once confirmed from that mailbox. */
export async function updateProfile(
  sql: Sql,
  config: Config,
  accountId: number,
  input: { email: string; phone: string; address: string; lang: Lang; reminders: boolean },
  sessionId?: number,
): Promise<{ emailChangeRequested: boolean }> {
  return sql.begin(async (tx) => {
    const [a] = await tx<{ email: string; given_name: string }[]>`
      update platform.accounts set phone = ${input.phone || null}, address = ${input.address || null}, lang = ${input.lang},
        reminders = ${input.reminders}, updated_at = now()
      where id = ${accountId} returning email, given_name`
    if (!a || a.email.toLowerCase() === input.email) return { emailChangeRequested: false }
    // the holder proved it is them (password or fresh sign-in): every other session ends now
    await revokeSessions(tx, accountId, sessionId)
    const [taken] = await tx`select 1 from platform.accounts where lower(email) = ${input.email}`
    if (taken) {
      // as at registration, the visitor learns nothing: the owner of that address is told instead
      await enqueueMail(
        tx,
        composeMail(input.lang, 'emailChangeTaken', { login: `${config.baseUrl}/accesso` }, input.email),
      )
      return { emailChangeRequested: true }
    }
    const token = await createEmailToken(tx, config, accountId, 'email_change', input.email)
    await enqueueMail(
      tx,
      composeMail(
        input.lang,
        'emailChange',
        { name: a.given_name, link: `${config.baseUrl}/profilo/email/${token}` },
        input.email,
      ),
    )
    await enqueueMail(
      tx,
      composeMail(input.lang, 'emailChangeNotice', { name: a.given_name, email: input.email }, a.email),
    )
    return { emailChangeRequested: true }
  }) as Promise<{ emailChangeRequested: boolean }>
}

/** A session started within the last ten minutes (an account without a password signs in only by SPID/CIE). */
export async function freshSignIn(sql: Sql, sessionId: number): Promise<boolean> {
  const [s] = await sql<{ fresh: boolean }[]>`
    select created_at > now() - interval '10 minutes' as fresh from platform.sessions where id = ${sessionId}`
  return s?.fresh === true
}

export async function confirmEmailChange(
  sql: Sql,
  config: Config,
  token: string,
  current: { accountId: number; sessionId: number } | null = null,
): Promise<TokenCheck['status'] | 'taken'> {
  return sql.begin(async (tx) => {
    const r = await consumeEmailToken(tx, config, token, 'email_change')
    if (r.status !== 'ok') return r.status
    const [taken] =
      await tx`select 1 from platform.accounts where lower(email) = ${r.newEmail} and id <> ${r.accountId}`
    if (taken) return 'taken'
    await tx`update platform.accounts set email = ${r.newEmail}, email_confirmed_at = now(), updated_at = now() where id = ${r.accountId}`
    // links sent to the old address (a reset) no longer count; sessions other than the one confirming end
    await tx`update platform.email_tokens set used_at = now() where account_id = ${r.accountId} and used_at is null`
    await revokeSessions(tx, r.accountId, current?.accountId === r.accountId ? current.sessionId : undefined)
    return 'ok'
  }) as Promise<TokenCheck['status'] | 'taken'>
}

/**
 * A request to delete the account: sessions end and the request is recorded. Payment records stay, as the
 * law requires of public bodies' receipts; an operator completes the deletion of the personal data.
 */
export async function requestDeletion(sql: Sql, accountId: number) {
  await sql.begin(async (tx) => {
    const [a] = await tx<{ email: string; lang: Lang; given_name: string }[]>`
      update platform.accounts set deletion_requested_at = now(), updated_at = now() where id = ${accountId}
      returning email, lang, given_name`
    await revokeSessions(tx, accountId)
    if (a) await enqueueMail(tx, composeMail(a.lang, 'deletionRequested', { name: a.given_name }, a.email))
  })
}
