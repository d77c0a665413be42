// Sessions: an opaque token in an HttpOnly SameSite=Lax cookie, its HMAC in platform.sessions; idle and
// absolute expiry; rotation on login and on privilege change; CSRF tokens derived per session.
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import type { Sql, Tx } from './db.ts'
import { HttpError } from './errors.ts'
import type { Env, SessionUser } from './http.ts'
import { hashToken, hmacHex, newToken, safeEqual } from './tokens.ts'

export const SESSION_COOKIE = 'sid'
export const ANON_COOKIE = 'aid'
export const IDLE_MINUTES = 30
export const ABSOLUTE_HOURS = 12
/** last_seen_at is written at most this often, so a page view is not a write */
const TOUCH_SECONDS = 60

interface SessionRow {
  session_id: number
  account_id: number
  given_name: string
  family_name: string
  codice_fiscale: string
  email: string
  email_confirmed: boolean
  operator: boolean
  lang: 'it' | 'en'
  stale: boolean
}

export async function lookupSession(sql: Sql, secret: string, token: string): Promise<SessionUser | null> {
  const [row] = await sql<SessionRow[]>`
    select s.id as session_id, a.id as account_id, a.given_name, a.family_name, a.codice_fiscale, a.email,
           a.email_confirmed_at is not null as email_confirmed, a.operator, a.lang,
           s.last_seen_at < now() - make_interval(secs => ${TOUCH_SECONDS}) as stale
    from platform.sessions s join platform.accounts a on a.id = s.account_id
    where s.token_hash = ${hashToken(secret, token)} and s.revoked_at is null and s.expires_at > now()
      and s.last_seen_at > now() - make_interval(mins => ${IDLE_MINUTES})`
  if (!row) return null
  if (row.stale) await sql`update platform.sessions set last_seen_at = now() where id = ${row.session_id}`
  return {
    accountId: row.account_id,
    sessionId: row.session_id,
    givenName: row.given_name,
    familyName: row.family_name,
    codiceFiscale: row.codice_fiscale,
    email: row.email,
    emailConfirmed: row.email_confirmed,
    operator: row.operator,
    lang: row.lang,
  }
}

function cookieOptions(c: Context<Env>) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax' as const,
    secure: c.var.deps.config.secureCookies,
  }
}

/** Creates a fresh session (a new token every time: login rotates) and sets the cookie. */
export async function startSession(c: Context<Env>, tx: Tx | Sql, accountId: number): Promise<void> {
  const token = newToken()
  const old = getCookie(c, SESSION_COOKIE)
  if (old) {
    await tx`update platform.sessions set revoked_at = now()
             where token_hash = ${hashToken(c.var.deps.config.sessionSecret, old)} and revoked_at is null`
  }
  await tx`
    insert into platform.sessions (token_hash, account_id, expires_at, ip, user_agent)
    values (${hashToken(c.var.deps.config.sessionSecret, token)}, ${accountId},
            now() + make_interval(hours => ${ABSOLUTE_HOURS}), ${clientIp(c)}, ${(c.req.header('user-agent') ?? '').slice(0, 300)})`
  setCookie(c, SESSION_COOKIE, token, cookieOptions(c))
}

export async function endSession(c: Context<Env>, sql: Sql): Promise<void> {
  const token = getCookie(c, SESSION_COOKIE)
  if (token) {
    await sql`update platform.sessions set revoked_at = now()
              where token_hash = ${hashToken(c.var.deps.config.sessionSecret, token)}`
  }
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c))
}

/** Revokes every session of an account, or every other one when keepSessionId is given. */
export async function revokeSessions(tx: Tx | Sql, accountId: number, keepSessionId?: number) {
  await tx`update platform.sessions set revoked_at = now()
           where account_id = ${accountId} and revoked_at is null
             ${keepSessionId ? tx`and id <> ${keepSessionId}` : tx``}`
}

export function clientIp(c: Context<Env>): string {
  if (c.var.deps.config.trustProxy) {
    const fwd = c.req.header('x-forwarded-for')?.split(',')[0]?.trim()
    if (fwd) return fwd.slice(0, 64)
  }
  // @hono/node-server exposes the Node request on c.env
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming
  return incoming?.socket?.remoteAddress ?? 'unknown'
}

/** Paths whose POSTs come from other servers, authenticated by their own signatures. */
const CSRF_EXEMPT = ['/sandbox-psp/', '/pagamenti/notifica/', '/pagopa/']

/**
 * Resolves the session user and the CSRF token for every request; checks the token on unsafe methods.
 * Anonymous visitors get a random cookie so their forms (login, registration) carry a token too.
 */
export const sessionMiddleware = createMiddleware<Env>(async (c, next) => {
  const { config, db } = c.var.deps
  const token = getCookie(c, SESSION_COOKIE)
  const user = token ? await lookupSession(db.sql, config.sessionSecret, token) : null
  if (token && !user) deleteCookie(c, SESSION_COOKIE, cookieOptions(c))
  c.set('user', user)
  let basis: string
  if (user && token) basis = `s:${token}`
  else {
    let anon = getCookie(c, ANON_COOKIE)
    if (!anon || !/^[A-Za-z0-9_-]{43}$/.test(anon)) {
      anon = newToken()
      setCookie(c, ANON_COOKIE, anon, cookieOptions(c))
    }
    basis = `a:${anon}`
  }
  const csrf = hmacHex(config.sessionSecret, `csrf:${basis}`)
  c.set('csrfToken', csrf)
  const method = c.req.method
  if (
    method !== 'GET' &&
    method !== 'HEAD' &&
    method !== 'OPTIONS' &&
    !CSRF_EXEMPT.some((p) => c.req.path.startsWith(p))
  ) {
    const header = c.req.header('x-csrf-token')
    let sent = header
    if (!sent) {
      const type = c.req.header('content-type') ?? ''
      if (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data')) {
        const body = await c.req.parseBody({ all: true })
        const v = body._csrf
        sent = typeof v === 'string' ? v : undefined
      }
    }
    if (!sent || !safeEqual(sent, csrf)) throw new HttpError(403, 'errors.csrf')
  }
  await next()
})

/** Requires a signed-in user; otherwise redirects to the login page and back afterwards. */
export const requireUser = createMiddleware<Env>(async (c, next) => {
  if (!c.var.user) {
    const back = c.req.method === 'GET' ? c.req.path + (new URL(c.req.url).search || '') : '/'
    return c.redirect(`/accesso?torna=${encodeURIComponent(back)}`, 303)
  }
  await next()
})
