// Request-scoped context shared by every feature: language, tenant, user, CSRF token, dependencies.
import type { Logger } from 'pino'
import type { Config } from '../config.ts'
import type { PaymentProvider } from '../features/psp/types.ts'
import type { Assets } from './assets.ts'
import type { Db } from './db.ts'
import type { Lang, Translate } from './i18n.ts'
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
}

export interface SessionUser {
  accountId: number
  sessionId: number
  givenName: string
  familyName: string
  codiceFiscale: string
  email: string
  emailConfirmed: boolean
  operator: boolean
  lang: 'it' | 'en'
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
  }
}

/** A local path to return to after a redirect: never another site ("//evil", "https://…"). */
export function safeReturnPath(v: string | undefined | null, fallback = '/'): string {
  if (!v?.startsWith('/') || v.startsWith('//') || v.startsWith('/\\') || /[\r\n]/.test(v)) return fallback
  return v
}
