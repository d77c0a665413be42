// Request-scoped context shared by every feature: language, tenant, user, CSRF token, dependencies.
import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import type { Assets } from './assets.ts'
import type { Db } from './db.ts'
import type { DatabaseWatch } from './db-watch.ts'
import type { Lang, Translate } from './i18n.ts'
import type { PaymentProvider } from './payment-provider.ts'
import type { Tenant, TenantRegistry } from './tenancy.ts'

export interface Deps {
  config: Config
  db: Db
  tenants: TenantRegistry
  assets: Assets
  log: Logger
  /** asks the outbox sender to drain now (after a request queued mail) */
  kickMail: () => void
  provider: PaymentProvider
  /** PostgreSQL: bounds the waits of requests while the database stalls (src/platform/db-watch.ts) */
  watch?: DatabaseWatch
}

export interface SessionUser {
  accountId: number
  sessionId: number
  givenName: string
  familyName: string
  /** the proved codice fiscale, or '' while it is only claimed (docs/security.md): every lookup by it uses this */
  codiceFiscale: string
  /** the codice fiscale the account holder typed or the identity provider vouched for (shown, never searched) */
  claimedCf: string
  cfProved: boolean
  email: string
  emailConfirmed: boolean
  operator: boolean
  lang: 'it' | 'en'
  /** installments in the cart when the page began (shown in the header) */
  cartCount: number
}

export type Env = {
  Variables: {
    deps: Deps
    requestId: string
    lang: Lang
    t: Translate
    assets: Assets
    tenant?: Tenant
    user?: SessionUser | null
    csrfToken?: string
    staffRole?: 'admin' | 'operatore' | 'lettore'
    /** this response's CSP nonce for the inline styles (hono/secure-headers' NONCE) */
    secureHeadersNonce?: string
  }
}

const RETURN_BASE = new URL('http://return.invalid/')
/** Control characters (a browser drops tabs and newlines from an address) and backslashes (read as slashes). */
function unsafeInReturn(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const code = v.charCodeAt(i)
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x5c) return true
  }
  return false
}

/** The path part percent-decoded until it no longer changes (at most 3 times), or null when it is malformed. */
function decodedPath(v: string): string | null {
  let path = v.replace(/[?#].*$/s, '')
  for (let i = 0; i < 3 && path.includes('%'); i++) {
    try {
      const next = decodeURIComponent(path)
      if (next === path) break
      path = next
    } catch {
      return null
    }
  }
  return path
}

/**
 * A path of this site to return to after a redirect, or `fallback`: never another site, however written
 * ("//evil", "/\\evil", "/%09/evil", "https:evil", "/.//evil"…). The value must be a plain path (no control
 * characters, no backslashes, also once percent-decoded); it is parsed with the WHATWG URL parser (as a
 * browser reads the Location header) against a base, kept only when it stays on that origin, and returned
 * as the parser wrote it back: ASCII only, so a header can always carry it.
 */
export function safeReturnPath(v: string | undefined | null, fallback = '/'): string {
  if (typeof v !== 'string' || !v.startsWith('/') || v.length > 2048 || unsafeInReturn(v)) return fallback
  const path = decodedPath(v)
  if (path === null || unsafeInReturn(path) || path.startsWith('//')) return fallback
  let url: URL
  try {
    url = new URL(v, RETURN_BASE)
  } catch {
    return fallback
  }
  if (url.origin !== RETURN_BASE.origin) return fallback
  const out = url.pathname + url.search + url.hash
  // "/.//evil" is "//evil" once its dot segment is gone
  if (!out.startsWith('/') || out.startsWith('//')) return fallback
  return out
}
