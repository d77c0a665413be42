// SPID / CIE sign-in through an OpenID Connect provider (an aggregator or gateway speaking plain OIDC):
// the provider's configuration, discovered and cached; the authorization request (code + PKCE S256, state,
// nonce) and its callback; the claims read into an identity; the account found by codice fiscale, linked,
// or created from the claims.
import * as oidc from 'openid-client'
import { z } from 'zod'
import type { Config } from '../../config.ts'
import type { Sql, Tx } from '../../platform/db.ts'
import type { Lang } from '../../platform/i18n.ts'
import { isValidCodiceFiscale, normalizeCodiceFiscale } from '../../platform/it/codice-fiscale.ts'
import { composeMail, enqueueMail } from '../../platform/mail.ts'
import { hmacHex, safeEqual } from '../../platform/tokens.ts'
import { createEmailToken, TOKEN_HOURS } from '../account/service.ts'

export type OidcConfig = NonNullable<Config['oidc']>

// --- signed cookie values -----------------------------------------------------------------------------

/** `base64url(JSON).hmac`: an HMAC (with the session secret and a purpose) guards the value and its age. */
export function sealValue(secret: string, purpose: string, value: object): string {
  const body = Buffer.from(JSON.stringify({ ...value, at: Date.now() })).toString('base64url')
  return `${body}.${hmacHex(secret, `${purpose}:${body}`)}`
}

/** The value sealed for this purpose, or null when absent, tampered with or older than maxAgeSeconds. */
export function openValue<T>(secret: string, purpose: string, sealed: string | undefined, maxAgeSeconds: number) {
  if (!sealed) return null
  const dot = sealed.lastIndexOf('.')
  if (dot < 1) return null
  const body = sealed.slice(0, dot)
  if (!safeEqual(sealed.slice(dot + 1), hmacHex(secret, `${purpose}:${body}`))) return null
  try {
    const value = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T & { at: number }
    if (typeof value.at !== 'number' || Date.now() - value.at > maxAgeSeconds * 1000 || value.at > Date.now() + 60_000)
      return null
    return value
  } catch {
    return null
  }
}

// --- the provider -------------------------------------------------------------------------------------

const DISCOVERY_HOURS = 24
const discovered = new WeakMap<OidcConfig, { at: number; configuration: Promise<oidc.Configuration> }>()

/**
 * The provider's metadata, discovered from `<issuer>/.well-known/openid-configuration` on first use and kept
 * for a day (signing keys are refetched by openid-client when a token names an unknown one). A failed
 * discovery is not kept, so the next request tries again.
 */
export function providerConfiguration(cfg: OidcConfig): Promise<oidc.Configuration> {
  const cached = discovered.get(cfg)
  if (cached && Date.now() - cached.at < DISCOVERY_HOURS * 3600_000) return cached.configuration
  const issuer = new URL(cfg.issuer)
  const configuration = oidc.discovery(
    issuer,
    cfg.clientId,
    undefined,
    cfg.clientSecret ? oidc.ClientSecretBasic(cfg.clientSecret) : oidc.None(),
    {
      // plain http only for a local provider: the configuration refuses an http issuer in production
      execute: issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
      timeout: 10,
    },
  )
  discovered.set(cfg, { at: Date.now(), configuration })
  configuration.catch(() => {
    if (discovered.get(cfg)?.configuration === configuration) discovered.delete(cfg)
  })
  return configuration
}

/** What the browser keeps (signed, HttpOnly) between the redirect to the provider and the callback. */
export interface Flow {
  verifier: string
  state: string
  nonce: string
  torna: string
}

export async function beginLogin(
  cfg: OidcConfig,
  redirectUri: string,
  torna: string,
): Promise<{ url: URL; flow: Flow }> {
  const configuration = await providerConfiguration(cfg)
  const verifier = oidc.randomPKCECodeVerifier()
  const flow: Flow = { verifier, state: oidc.randomState(), nonce: oidc.randomNonce(), torna }
  const params: Record<string, string> = {
    redirect_uri: redirectUri,
    scope: cfg.scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: flow.state,
    nonce: flow.nonce,
  }
  // SPID's OIDC profile asks for attributes through the claims parameter; send it where it is understood
  if (configuration.serverMetadata().claims_parameter_supported) {
    const wanted = {
      [cfg.fiscalClaim]: { essential: true },
      given_name: { essential: true },
      family_name: { essential: true },
      email: null,
      email_verified: null,
    }
    params.claims = JSON.stringify({ id_token: wanted, userinfo: wanted })
  }
  return { url: oidc.buildAuthorizationUrl(configuration, params), flow }
}

/** The person as the provider vouches for them. */
export interface Identity {
  issuer: string
  subject: string
  codiceFiscale: string
  givenName: string
  familyName: string
  email: string | null
  emailVerified: boolean
}

export type IdentityResult = { ok: true; identity: Identity } | { ok: false; problem: 'fiscal' | 'names' }

/** SPID sends "TINIT-RSSMRA80A01H501U" (ETSI prefix for an Italian tax number); CIE and others the bare code. */
export function fiscalCodeFrom(value: unknown): string | null {
  if (typeof value !== 'string') return null
  const code = normalizeCodiceFiscale(value.trim().replace(/^TINIT-/i, ''))
  return code.length === 16 && isValidCodiceFiscale(code) ? code : null
}

function nameFrom(value: unknown): string | null {
  if (typeof value !== 'string') return null
  const name = value.trim().replace(/\s+/g, ' ')
  return name.length >= 1 && name.length <= 80 ? name : null
}

const emailClaim = z.email().max(254)

/** Reads the identity from the merged ID token and userinfo claims. */
export function identityFrom(cfg: OidcConfig, issuer: string, claims: Record<string, unknown>): IdentityResult {
  const codiceFiscale = fiscalCodeFrom(claims[cfg.fiscalClaim])
  if (!codiceFiscale) return { ok: false, problem: 'fiscal' }
  const givenName = nameFrom(claims.given_name)
  const familyName = nameFrom(claims.family_name)
  if (!givenName || !familyName) return { ok: false, problem: 'names' }
  const rawEmail = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : ''
  const email = emailClaim.safeParse(rawEmail).success ? rawEmail : null
  return {
    ok: true,
    identity: {
      issuer,
      subject: String(claims.sub),
      codiceFiscale,
      givenName,
      familyName,
      email,
      emailVerified: email !== null && (claims.email_verified === true || claims.email_verified === 'true'),
    },
  }
}

/**
 * Completes the authorization code grant (state, PKCE verifier, ID token signature, audience and nonce are
 * checked by openid-client) and reads the identity from the ID token and the userinfo response.
 */
export async function finishLogin(cfg: OidcConfig, currentUrl: URL, flow: Flow): Promise<IdentityResult> {
  const configuration = await providerConfiguration(cfg)
  const tokens = await oidc.authorizationCodeGrant(configuration, currentUrl, {
    pkceCodeVerifier: flow.verifier,
    expectedState: flow.state,
    expectedNonce: flow.nonce,
    idTokenExpected: true,
  })
  const idToken = tokens.claims()
  if (!idToken) throw new oidc.ClientError('no ID token in the token response')
  let claims: Record<string, unknown> = { ...idToken }
  if (configuration.serverMetadata().userinfo_endpoint) {
    const info = await oidc.fetchUserInfo(configuration, tokens.access_token, idToken.sub)
    // userinfo answers for the same subject (checked); its values complete or refresh the ID token's
    claims = { ...claims, ...info, sub: idToken.sub }
  }
  return identityFrom(cfg, configuration.serverMetadata().issuer, claims)
}

// --- accounts -----------------------------------------------------------------------------------------

export type SignIn =
  | { kind: 'login'; accountId: number; lang: Lang; created: boolean; mailQueued: boolean }
  | { kind: 'deleted' }
  | { kind: 'needEmail'; reason: 'missing' | 'taken' }

/**
 * The account with the identity's codice fiscale signs in (a password account is thereby linked); without
 * one, an account is created from the claims. The address counts as confirmed only when the provider says
 * it verified it; otherwise the usual confirmation link is mailed. `chosenEmail` is the address the person
 * typed when the provider sent none, or one already used by another account.
 */
export async function signIn(
  sql: Sql,
  config: Config,
  identity: Identity,
  lang: Lang,
  chosenEmail?: string,
): Promise<SignIn> {
  try {
    return await signInOnce(sql, config, identity, lang, chosenEmail)
  } catch (err) {
    // two callbacks for the same person at once: the loser finds the winner's account on a second pass
    if ((err as { code?: string }).code === '23505') return signInOnce(sql, config, identity, lang, chosenEmail)
    throw err
  }
}

async function signInOnce(
  sql: Sql,
  config: Config,
  identity: Identity,
  lang: Lang,
  chosenEmail: string | undefined,
): Promise<SignIn> {
  const by = config.oidc?.label === 'spid' || config.oidc?.label === 'cie' ? config.oidc.label : 'oidc'
  return sql.begin(async (tx) => {
    // Only an account whose codice fiscale was proved is the verified person's; accounts that merely claim it
    // (typed at registration) are candidates to be taken over, never signed into as they are.
    const holders = await tx<
      {
        id: number
        lang: Lang
        email: string
        confirmed: boolean
        deleted: boolean
        proved: boolean
        linked: boolean
      }[]
    >`
      select a.id, a.lang, a.email, a.email_confirmed_at is not null as confirmed,
        a.deletion_requested_at is not null as deleted, a.cf_proved_at is not null as proved,
        exists (select 1 from platform.account_identities i
                where i.account_id = a.id and i.issuer = ${identity.issuer} and i.subject = ${identity.subject}) as linked
      from platform.accounts a where a.codice_fiscale = ${identity.codiceFiscale}
      order by a.cf_proved_at is not null desc, a.id
      for update of a`
    const proved = holders.find((h) => h.proved)
    if (proved) {
      if (proved.deleted) return { kind: 'deleted' as const }
      await linkIdentity(tx, proved.id, identity)
      if (!proved.confirmed && identity.emailVerified && identity.email === proved.email.toLowerCase()) {
        await tx`update platform.accounts set email_confirmed_at = now(), updated_at = now() where id = ${proved.id}`
      }
      return { kind: 'login' as const, accountId: proved.id, lang: proved.lang, created: false, mailQueued: false }
    }
    const claims = holders.filter((h) => !h.deleted)
    if (claims.length) {
      // The verified person gets the account that claimed their codice fiscale (the one already linked to this
      // identity, else the one with the provider's verified address, else the oldest): its password, sessions and
      // pending links end, and its address is the person's own (verified by the provider, or typed and confirmed).
      const target =
        claims.find((h) => h.linked) ??
        claims.find((h) => identity.emailVerified && h.email.toLowerCase() === identity.email) ??
        (claims[0] as (typeof claims)[number])
      const email = chosenEmail ?? (identity.emailVerified ? identity.email : null)
      if (!email) return { kind: 'needEmail' as const, reason: 'missing' as const }
      const [taken] = await tx`select 1 from platform.accounts where lower(email) = ${email} and id <> ${target.id}`
      if (taken) return { kind: 'needEmail' as const, reason: 'taken' as const }
      const confirmed = chosenEmail === undefined && identity.emailVerified
      await tx`
        update platform.accounts set email = ${email}, email_confirmed_at = ${confirmed ? new Date() : null},
          password_hash = null, given_name = ${identity.givenName}, family_name = ${identity.familyName},
          cf_proved_at = now(), cf_proved_by = ${by}, updated_at = now()
        where id = ${target.id}`
      await tx`update platform.sessions set revoked_at = now() where account_id = ${target.id} and revoked_at is null`
      await tx`update platform.email_tokens set used_at = now() where account_id = ${target.id} and used_at is null`
      await tx`delete from platform.account_identities where account_id = ${target.id}`
      await linkIdentity(tx, target.id, identity)
      await tx`
        insert into platform.platform_log (actor_account_id, actor_name, action, detail)
        values (${target.id}, ${`${identity.givenName} ${identity.familyName}`}, 'account.cf_claim_taken_over',
                ${tx.json({ by, passwordEnded: true })})`
      if (!confirmed) await queueConfirmation(tx, config, target.id, identity.givenName, email, lang)
      return { kind: 'login' as const, accountId: target.id, lang, created: false, mailQueued: !confirmed }
    }
    const email = chosenEmail ?? identity.email
    if (!email) return { kind: 'needEmail' as const, reason: 'missing' as const }
    const [taken] = await tx`select 1 from platform.accounts where lower(email) = ${email}`
    if (taken) return { kind: 'needEmail' as const, reason: 'taken' as const }
    const confirmed = chosenEmail === undefined && identity.emailVerified
    const [account] = await tx<{ id: number }[]>`
      insert into platform.accounts (email, email_confirmed_at, given_name, family_name, codice_fiscale, lang,
                                     cf_proved_at, cf_proved_by)
      values (${email}, ${confirmed ? new Date() : null}, ${identity.givenName}, ${identity.familyName},
              ${identity.codiceFiscale}, ${lang}, now(), ${by})
      returning id`
    const accountId = (account as { id: number }).id
    await linkIdentity(tx, accountId, identity)
    if (!confirmed) await queueConfirmation(tx, config, accountId, identity.givenName, email, lang)
    return { kind: 'login' as const, accountId, lang, created: true, mailQueued: !confirmed }
  }) as Promise<SignIn>
}

async function queueConfirmation(tx: Tx, config: Config, accountId: number, name: string, email: string, lang: Lang) {
  const token = await createEmailToken(tx, config, accountId, 'confirm')
  await enqueueMail(
    tx,
    composeMail(
      lang,
      'confirm',
      { name, link: `${config.baseUrl}/conferma-email/${token}`, hours: TOKEN_HOURS.confirm },
      email,
    ),
  )
}

async function linkIdentity(tx: Tx | Sql, accountId: number, identity: Identity) {
  await tx`
    insert into platform.account_identities (account_id, issuer, subject)
    values (${accountId}, ${identity.issuer}, ${identity.subject})
    on conflict (issuer, subject) do update set account_id = excluded.account_id, last_login_at = now()`
}
