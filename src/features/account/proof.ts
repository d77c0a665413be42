// Proving a codice fiscale (docs/security.md). A codice fiscale typed at registration is a claim: what is found
// through it opens only once it is proved, by SPID/CIE (oidc/service.ts), or here: a single-use code that reaches the
// person through a channel a body already holds for that payer — mailed to the address on the payer's record, or
// printed by the office on an activation letter — or the office's own confirmation at the counter. Codes are stored
// as HMACs, expire, are throttled per account and every step is logged.
import { randomInt } from 'node:crypto'
import type { Config } from '../../config.ts'
import { type Actor, audit } from '../../platform/audit.ts'
import { type Sql, type Tx, withTenant } from '../../platform/db.ts'
import type { Lang } from '../../platform/i18n.ts'
import { composeMail, enqueueMail } from '../../platform/mail.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { clearThrottle, reserveAttempt, type ThrottleRule } from '../../platform/throttle.ts'
import { hashToken } from '../../platform/tokens.ts'

/** Unambiguous letters and digits (no 0/O, 1/I): 32^8 ≈ 10^12 codes. */
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'
export const EMAIL_CODE_MINUTES = 30
export const LETTER_DAYS = 60

export const PROOF_RULES = {
  /** codes tried per account: four an hour (a right one clears the count), counted before they are checked */
  tries: { windowMinutes: 60, delayAfter: 1000, maxDelaySeconds: 0, lockAfter: 4, lockMinutes: 60 },
  /** rounds of codes mailed per account: three an hour */
  sends: { windowMinutes: 60, delayAfter: 1000, maxDelaySeconds: 0, lockAfter: 3, lockMinutes: 60 },
} satisfies Record<string, ThrottleRule>

export function newProofCode(): string {
  let s = ''
  for (let i = 0; i < 8; i++) s += ALPHABET[randomInt(ALPHABET.length)]
  return `${s.slice(0, 4)}-${s.slice(4)}`
}

/** The code as typed (spaces, dashes, lower case forgiven), or null when it cannot be one. */
export function normalizeProofCode(input: string): string | null {
  const s = input.toUpperCase().replace(/[\s-]/g, '')
  if (s.length !== 8 || [...s].some((ch) => !ALPHABET.includes(ch))) return null
  return `${s.slice(0, 4)}-${s.slice(4)}`
}

function codeHash(config: Config, cf: string, code: string): Buffer {
  return hashToken(config.sessionSecret, `cf-proof:${cf}:${code}`)
}

/** "m•••@example.it": enough for the person to recognise the address, nothing for anyone else. */
export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@')
  return `${local.slice(0, 1)}•••@${domain}`
}

async function log(tx: Tx | Sql, accountId: number, name: string, action: string, detail: object) {
  await tx`
    insert into platform.platform_log (actor_account_id, actor_name, action, detail)
    values (${accountId}, ${name}, ${action}, ${tx.json(detail as Parameters<typeof tx.json>[0])})`
}

export interface Claimant {
  accountId: number
  claimedCf: string
  givenName: string
  familyName: string
  lang: Lang
}

/**
 * Mails a fresh code to every address the bodies hold for this codice fiscale (the earlier unused codes end).
 * The visitor learns nothing of whether any address was found: the page says the same either way.
 */
export async function sendEmailCodes(
  sql: Sql,
  config: Config,
  who: Claimant,
  /** the active bodies whose payers include the claimed codice fiscale (citizenTenants) */
  tenants: Tenant[],
): Promise<'sent' | 'throttled'> {
  if (!(await reserveAttempt(sql, `cfproof:send:${who.accountId}`, PROOF_RULES.sends)).allowed) return 'throttled'
  const found = new Map<string, number>()
  for (const tenant of tenants) {
    const rows = await withTenant(
      sql,
      tenant,
      (tx) => tx<{ email: string }[]>`
        select email from payers where codice_fiscale = ${who.claimedCf} and email is not null and email <> ''`,
    )
    for (const r of rows) if (!found.has(r.email.toLowerCase())) found.set(r.email.toLowerCase(), tenant.id)
  }
  await sql.begin(async (tx) => {
    await tx`update platform.cf_proofs set used_at = now()
             where account_id = ${who.accountId} and channel = 'email_code' and used_at is null`
    for (const [email, tenantId] of found) {
      const code = newProofCode()
      await tx`
        insert into platform.cf_proofs (codice_fiscale, account_id, channel, tenant_id, code_hash, expires_at)
        values (${who.claimedCf}, ${who.accountId}, 'email_code', ${tenantId}, ${codeHash(config, who.claimedCf, code)},
                now() + make_interval(mins => ${EMAIL_CODE_MINUTES}))`
      await enqueueMail(tx, composeMail(who.lang, 'cfProofCode', { code, minutes: EMAIL_CODE_MINUTES }, email))
    }
    await log(tx, who.accountId, `${who.givenName} ${who.familyName}`, 'account.cf_proof_sent', {
      addresses: found.size,
    })
  })
  return 'sent'
}

export type Redeemed = 'proved' | 'wrong' | 'throttled' | 'taken'

/** Redeems a code mailed to this account or printed on a letter for its codice fiscale. */
export async function redeemCode(sql: Sql, config: Config, who: Claimant, typed: string): Promise<Redeemed> {
  const key = `cfproof:try:${who.accountId}`
  // the attempt is counted before the code is looked at, so parallel guesses cannot pass the limit
  if (!(await reserveAttempt(sql, key, PROOF_RULES.tries)).allowed) return 'throttled'
  const code = normalizeProofCode(typed)
  if (!code) return 'wrong'
  const result = await sql.begin(async (tx) => {
    const [proof] = await tx<{ id: number; channel: 'email_code' | 'letter'; tenant_id: number | null }[]>`
      select id, channel, tenant_id from platform.cf_proofs
      where codice_fiscale = ${who.claimedCf} and code_hash = ${codeHash(config, who.claimedCf, code)}
        and used_at is null and expires_at > now()
        and (account_id = ${who.accountId} or (channel = 'letter' and account_id is null))
      for update`
    if (!proof) return 'wrong' as const
    const [holder] = await tx`
      select 1 from platform.accounts where codice_fiscale = ${who.claimedCf} and cf_proved_at is not null
        and id <> ${who.accountId}`
    if (holder) return 'taken' as const
    await tx`update platform.cf_proofs set used_at = now(), used_by = ${who.accountId} where id = ${proof.id}`
    await tx`update platform.cf_proofs set used_at = now()
             where account_id = ${who.accountId} and channel = 'email_code' and used_at is null`
    await tx`update platform.accounts set cf_proved_at = now(), cf_proved_by = ${proof.channel}, updated_at = now()
             where id = ${who.accountId} and cf_proved_at is null`
    await log(tx, who.accountId, `${who.givenName} ${who.familyName}`, 'account.cf_proved', {
      by: proof.channel,
      tenantId: proof.tenant_id,
    })
    return 'proved' as const
  })
  if (result === 'proved') await clearThrottle(sql, key)
  return result
}

// --- the office -----------------------------------------------------------------------------------------

export interface Claim {
  id: number
  email: string
  given_name: string
  family_name: string
  created_at: Date
  proved: boolean
  proved_by: string | null
}

/** The accounts that claim or hold this codice fiscale, for the office's payer page. */
export async function claimsOf(tx: Tx, cf: string): Promise<Claim[]> {
  return tx<Claim[]>`
    select id, email, given_name, family_name, created_at, cf_proved_at is not null as proved, cf_proved_by as proved_by
    from platform.accounts where codice_fiscale = ${cf} and deletion_requested_at is null
    order by cf_proved_at is not null desc, created_at`
}

/** An activation letter's code for this payer (the earlier unused letter of this body ends). */
export async function createLetter(
  tx: Tx,
  config: Config,
  tenantId: number,
  actor: Actor,
  payer: { id: number; codice_fiscale: string },
): Promise<{ code: string; expiresAt: Date }> {
  await tx`update platform.cf_proofs set used_at = now()
           where codice_fiscale = ${payer.codice_fiscale} and tenant_id = ${tenantId} and channel = 'letter' and used_at is null`
  const code = newProofCode()
  const [row] = await tx<{ expires_at: Date }[]>`
    insert into platform.cf_proofs (codice_fiscale, channel, tenant_id, code_hash, created_by, expires_at)
    values (${payer.codice_fiscale}, 'letter', ${tenantId}, ${codeHash(config, payer.codice_fiscale, code)},
            ${actor.accountId}, now() + make_interval(days => ${LETTER_DAYS}))
    returning expires_at`
  await audit(tx, actor, { action: 'payer.activation_letter', entity: 'payer', entityId: payer.id })
  return { code, expiresAt: (row as { expires_at: Date }).expires_at }
}

/** The office confirms, having seen an identity document, that this account is the payer's. */
export async function confirmByOffice(
  tx: Tx,
  actor: Actor,
  payer: { id: number; codice_fiscale: string },
  accountId: number,
  reason: string,
): Promise<'proved' | 'taken' | 'unknown'> {
  const [holder] = await tx`
    select 1 from platform.accounts where codice_fiscale = ${payer.codice_fiscale} and cf_proved_at is not null`
  if (holder) return 'taken'
  const [done] = await tx<{ email: string }[]>`
    update platform.accounts set cf_proved_at = now(), cf_proved_by = 'office', updated_at = now()
    where id = ${accountId} and codice_fiscale = ${payer.codice_fiscale} and cf_proved_at is null
      and deletion_requested_at is null
    returning email`
  if (!done) return 'unknown'
  await audit(tx, actor, {
    action: 'payer.account_confirmed',
    entity: 'payer',
    entityId: payer.id,
    after: { accountId, email: done.email },
    reason,
  })
  return 'proved'
}
