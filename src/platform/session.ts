// Sessions: an opaque token in an HttpOnly SameSite=Lax cookie, its HMAC in platform.sessions; idle and
// absolute expiry; rotation on login and on privilege change; CSRF tokens derived per session.
import { isIP } from 'node:net'
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import type postgres from 'postgres'
import { type Carried, droppedUnder, type Sql, type TenantScope, type Tx, withTenantAtOnce } from './db.ts'
import { HttpError } from './errors.ts'
import type { Env, SessionUser } from './http.ts'
import { hashToken, hmacHex, newToken, safeEqual } from './tokens.ts'

export const SESSION_COOKIE = 'sid'
export const ANON_COOKIE = 'aid'
export const IDLE_MINUTES = 30
export const ABSOLUTE_HOURS = 12
/** last_seen_at is written at most this often, so a page view is not a write */
const TOUCH_SECONDS = 60

export interface SessionRow {
  session_id: number
  account_id: number
  given_name: string
  family_name: string
  codice_fiscale: string
  email: string
  email_confirmed: boolean
  cf_proved: boolean
  operator: boolean
  lang: 'it' | 'en'
  stale: boolean
  cart_count: number
}

/** The session of a token hash joined to its account, when valid: the select every lookup uses. */
export function sessionSelect(tx: Tx | Sql, tokenHash: Buffer, extra?: postgres.PendingQuery<postgres.Row[]>) {
  return tx`
    select s.id as session_id, a.id as account_id, a.given_name, a.family_name, a.codice_fiscale, a.email,
           a.email_confirmed_at is not null as email_confirmed,
           a.cf_proved_at is not null as cf_proved, a.operator, a.lang,
           s.last_seen_at < now() - make_interval(secs => ${TOUCH_SECONDS}) as stale,
           (select count(*)::int from platform.cart_items ci where ci.account_id = a.id) as cart_count
           ${extra ? tx`, ${extra}` : tx``}
    from platform.sessions s join platform.accounts a on a.id = s.account_id
    where s.token_hash = ${tokenHash} and s.revoked_at is null and s.expires_at > now()
      and s.last_seen_at > now() - make_interval(mins => ${IDLE_MINUTES})`
}

/**
 * sessionSelect as a statement of its own that returns exactly one row whatever it finds (`found` null when no
 * session matches): an empty result can then only mean the statement did not complete, which is an outage
 * (the 503 page, the cookie kept), never "signed out".
 */
async function lookupRow<X extends object>(
  sql: Sql,
  tokenHash: Buffer,
  extra?: postgres.PendingQuery<postgres.Row[]>,
): Promise<(SessionRow & X) | null> {
  const [row] = await sql<(SessionRow & X & { found: boolean | null })[]>`
    select p.* from (values (1)) as one
    left join lateral (select true as found, x.* from (${sessionSelect(sql, tokenHash, extra)}) as x) as p on true`
  if (!row) throw droppedUnder('session lookup')
  return row.found ? row : null
}

function toUser(row: SessionRow): SessionUser {
  return {
    accountId: row.account_id,
    sessionId: row.session_id,
    givenName: row.given_name,
    familyName: row.family_name,
    // what is found through a codice fiscale opens only for a proved one: '' matches no payer
    codiceFiscale: row.cf_proved ? row.codice_fiscale : '',
    claimedCf: row.codice_fiscale,
    cfProved: row.cf_proved,
    email: row.email,
    emailConfirmed: row.email_confirmed,
    operator: row.operator,
    lang: row.lang,
    cartCount: row.cart_count,
  }
}

/** last_seen_at is written at most once a minute, so most page views are not writes. */
export async function touch(sql: Sql, sessionId: number) {
  await sql`update platform.sessions set last_seen_at = now() where id = ${sessionId}`
}

export async function lookupSession(sql: Sql, secret: string, token: string): Promise<SessionUser | null> {
  const row = await lookupRow(sql, hashToken(secret, token))
  if (!row) return null
  if (row.stale) await touch(sql, row.session_id)
  return toUser(row)
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

/**
 * The client's address for per-IP limits and the session record. Behind TRUST_PROXY=n proxies, each appends
 * the address it saw to X-Forwarded-For, so the client is the n-th entry from the right: whatever stands
 * left of it was written by the client itself and proves nothing. Without proxies the header is ignored.
 */
export function clientIp(c: Context<Env>): string {
  // @hono/node-server exposes the Node request on c.env
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming
  const peer = incoming?.socket?.remoteAddress ?? 'unknown'
  const hops = c.var.deps.config.trustProxy
  if (hops > 0) {
    // several X-Forwarded-For headers arrive joined by commas
    const chain = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean)
    // fewer entries than proxies: the request skipped the outer ones, and the left-most is the nearest known
    const v = chain[Math.max(0, chain.length - hops)]
    if (v && isIP(v)) return v
  }
  return peer
}

/** Paths whose POSTs come from other servers, authenticated by their own signatures. */
const CSRF_EXEMPT = ['/sandbox-psp/', '/pagamenti/notifica/', '/pagopa/']

/** GET routes that look the session up themselves, in the first statement of their own transaction. */
const routeLookups: RegExp[] = []
/** The session cookie of a request whose lookup was left to its route (until the route does it). */
const leftToRoute = new WeakMap<Context<Env>, string>()

/**
 * Declares GET routes that find the session themselves (withTenantSession, withSessionRow): for them the
 * middleware leaves c.var.user undefined and the route's first statement reads the session together with the
 * tenant's scope and its own platform data — one round trip less. When the pattern captures a tenant slug,
 * the route is left to do so only for a tenant that answers (active or suspended), so that the tenant
 * middleware's 404 still shows a signed-in visitor as signed in.
 */
export function sessionLookedUpByRoute(...patterns: RegExp[]) {
  routeLookups.push(...patterns)
}

async function lookupLeftToRoute(c: Context<Env>): Promise<boolean> {
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return false
  for (const p of routeLookups) {
    const m = p.exec(c.req.path)
    if (!m) continue
    if (m[1] === undefined) return true
    const tenant = await c.var.deps.tenants.get(m[1])
    return tenant?.status === 'active' || tenant?.status === 'suspended'
  }
  return false
}

/** Sets the request's user and CSRF token (anonymous visitors get a random cookie for their forms). */
function applySession(c: Context<Env>, token: string | undefined, user: SessionUser | null) {
  const { config } = c.var.deps
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
  c.set('csrfToken', hmacHex(config.sessionSecret, `csrf:${basis}`))
}

/**
 * Resolves the session user and the CSRF token for every request; checks the token on unsafe methods.
 * Anonymous visitors get a random cookie so their forms (login, registration) carry a token too.
 */
export const sessionMiddleware = createMiddleware<Env>(async (c, next) => {
  const { config, db } = c.var.deps
  const token = getCookie(c, SESSION_COOKIE)
  if (token && (await lookupLeftToRoute(c))) {
    leftToRoute.set(c, token)
    return next()
  }
  const user = token ? await lookupSession(db.sql, config.sessionSecret, token) : null
  applySession(c, token, user)
  const csrf = c.get('csrfToken') as string
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

/**
 * A signed-in tenant page in one transaction of two round trips: its first statement sets the tenant's scope and,
 * for routes declared with sessionLookedUpByRoute, finds the session too, with `extra` columns of the route's own
 * (platform tables; `a` is the user's platform.accounts row); the page's statements go out with it
 * (withTenantAtOnce) and read the session's codice fiscale in SQL: `cf`, '' (no payer) unless a session with a
 * proved codice fiscale was found. Null when nobody is signed in (the session cookie is cleared, the page's rows
 * discarded): the caller sends the visitor to the login page (loginRedirect).
 */
export async function withTenantSession<T, X extends object = Record<string, never>>(
  c: Context<Env>,
  tenant: TenantScope,
  fn: (tx: Tx, cf: Carried) => Promise<T>,
  extra?: (tx: Tx) => postgres.PendingQuery<postgres.Row[]>,
): Promise<{ value: T; user: SessionUser; extra: X } | null> {
  const { config, db } = c.var.deps
  const token = leftToRoute.get(c)
  leftToRoute.delete(c)
  if (token === undefined) {
    // the middleware found the session already
    const user = c.var.user ?? null
    if (!user) return null
    const prelude = (tx: Tx) =>
      extra ? tx`select ${extra(tx)} from platform.accounts a where a.id = ${user.accountId}` : tx`select 1 as none`
    const { row, value } = await withTenantAtOnce<X, T>(
      db.sql,
      tenant,
      prelude,
      (tx) => tx`null`,
      (tx) => fn(tx, user.codiceFiscale),
    )
    return { value, user, extra: (row ?? {}) as X }
  }
  const { row, value } = await withTenantAtOnce<SessionRow & X, T>(
    db.sql,
    tenant,
    (tx) => sessionSelect(tx, hashToken(config.sessionSecret, token), extra?.(tx)),
    // what is found through a codice fiscale opens only for a proved one (toUser says the same)
    (tx) => tx`case when p.cf_proved then p.codice_fiscale end`,
    fn,
  )
  const user = row ? toUser(row) : null
  applySession(c, token, user)
  if (!row || !user) return null
  if (row.stale) await touch(db.sql, row.session_id)
  return { value, user, extra: row }
}

/**
 * The signed-in user and `extra` columns of a platform page, in one statement (the cart): null when nobody
 * is signed in. For routes declared with sessionLookedUpByRoute; elsewhere the middleware's user is used.
 */
export async function withSessionRow<X extends object>(
  c: Context<Env>,
  extra: (sql: Sql) => postgres.PendingQuery<postgres.Row[]>,
): Promise<{ user: SessionUser; extra: X } | null> {
  const { config, db } = c.var.deps
  const token = leftToRoute.get(c)
  leftToRoute.delete(c)
  if (token === undefined) {
    const user = c.var.user ?? null
    if (!user) return null
    const [row] = await db.sql<X[]>`select ${extra(db.sql)} from platform.accounts a where a.id = ${user.accountId}`
    return { user, extra: (row ?? {}) as X }
  }
  const row = await lookupRow<X>(db.sql, hashToken(config.sessionSecret, token), extra(db.sql))
  const user = row ? toUser(row) : null
  applySession(c, token, user)
  if (!row || !user) return null
  if (row.stale) await touch(db.sql, row.session_id)
  return { user, extra: row }
}

/** Where requireUser sends a visitor who is not signed in: the login page, and back here afterwards. */
export function loginRedirect(c: Context<Env>) {
  const back = c.req.method === 'GET' ? c.req.path + (new URL(c.req.url).search || '') : '/'
  return c.redirect(`/accesso?torna=${encodeURIComponent(back)}`, 303)
}

/** Requires a signed-in user; otherwise redirects to the login page and back afterwards. */
export const requireUser = createMiddleware<Env>(async (c, next) => {
  await resolveSession(c)
  if (!c.var.user) return loginRedirect(c)
  await next()
})

/**
 * Looks up a session the middleware left to the route, for code that needs the user before the route's own
 * statement (a middleware of another feature on the same path): correct, only without the saved round trip.
 */
export async function resolveSession(c: Context<Env>): Promise<SessionUser | null> {
  const token = leftToRoute.get(c)
  if (token !== undefined) {
    leftToRoute.delete(c)
    const { config, db } = c.var.deps
    applySession(c, token, await lookupSession(db.sql, config.sessionSecret, token))
  }
  return c.var.user ?? null
}
