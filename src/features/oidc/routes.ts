// SPID / CIE sign-in through a configurable OpenID Connect provider: the redirect to the provider, its
// callback, and the email page for a new account whose provider sent no usable address.
import { type Context, Hono } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { AuthorizationResponseError } from 'openid-client'
import { z } from 'zod'
import { NotFound } from '../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import { type Env, safeReturnPath } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { startSession } from '../../platform/session.ts'
import { safeEqual } from '../../platform/tokens.ts'
import { emailField } from '../account/schema.ts'
import {
  beginLogin,
  type Flow,
  finishLogin,
  type Identity,
  type OidcConfig,
  openValue,
  sealValue,
  signIn,
} from './service.ts'

export const oidcRoutes = new Hono<Env>()

const BASE = '/accesso/spid'
const FLOW_COOKIE = 'oidc_flow'
const PENDING_COOKIE = 'oidc_pending'
/** from the redirect to the provider to its callback */
const FLOW_SECONDS = 600
/** from the callback to the email page's submission */
const PENDING_SECONDS = 1200
/** provider errors that mean "the person stopped or was not let through", not a fault */
const CANCELLED = ['access_denied', 'login_required', 'consent_required', 'interaction_required']

type Problem =
  | 'cancelled'
  | 'providerError'
  | 'state'
  | 'failed'
  | 'unavailable'
  | 'fiscal'
  | 'names'
  | 'deleted'
  | 'expired'

interface Pending {
  identity: Identity
  torna: string
  reason: 'missing' | 'taken'
}

function cookieOptions(c: Context<Env>, maxAge?: number) {
  return {
    path: BASE,
    httpOnly: true,
    sameSite: 'Lax' as const,
    secure: c.var.deps.config.secureCookies,
    ...(maxAge ? { maxAge } : {}),
  }
}

/** The provider did not answer (connection refused, DNS, timeout), as opposed to an answer that failed a check. */
function unreachable(err: unknown, depth = 0): boolean {
  const e = err as { name?: string; message?: string; cause?: unknown } | null
  if (!e || depth > 3) return false
  if (e instanceof TypeError && e.message === 'fetch failed') return true
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return true
  return unreachable(e.cause, depth + 1)
}

function requireOidc(c: Context<Env>): OidcConfig {
  const cfg = c.var.deps.config.oidc
  if (!cfg) throw new NotFound()
  return cfg
}

function problem(c: Context<Env>, kind: Problem, status: ContentfulStatusCode) {
  return render(c, 'oidc/problem', { title: c.var.t(`oidc.problem.${kind}.title`), problem: kind }, status)
}

function emailPage(
  c: Context<Env>,
  pending: Pending,
  extra: { values?: Record<string, unknown>; errors?: FormErrors } = {},
  status: ContentfulStatusCode = 200,
) {
  return render(
    c,
    'oidc/email',
    { title: c.var.t('oidc.email.title'), identity: pending.identity, reason: pending.reason, values: {}, ...extra },
    status,
  )
}

/** Signs in, or asks for an email address, or refuses; clears the pending cookie when done with it. */
async function complete(c: Context<Env>, identity: Identity, torna: string, chosenEmail?: string) {
  const { db, config } = c.var.deps
  const outcome = await signIn(db.sql, config, identity, c.var.lang, chosenEmail)
  if (outcome.kind === 'needEmail') return outcome
  deleteCookie(c, PENDING_COOKIE, cookieOptions(c))
  if (outcome.kind === 'deleted') return problem(c, 'deleted', 403)
  await startSession(c, db.sql, outcome.accountId)
  setCookie(c, 'lang', outcome.lang, {
    path: '/',
    maxAge: 31536000,
    sameSite: 'Lax',
    httpOnly: true,
    secure: config.secureCookies,
  })
  if (outcome.mailQueued) c.var.deps.kickMail()
  c.var.deps.log.info(
    { reqId: c.get('requestId'), accountId: outcome.accountId, created: outcome.created },
    'oidc sign-in',
  )
  return c.redirect(safeReturnPath(torna, '/area-personale'), 303)
}

oidcRoutes.get(BASE, async (c) => {
  const cfg = requireOidc(c)
  const torna = safeReturnPath(c.req.query('torna'), '/area-personale')
  if (c.var.user) return c.redirect(torna, 303)
  const { config, log } = c.var.deps
  let start: Awaited<ReturnType<typeof beginLogin>>
  try {
    start = await beginLogin(cfg, `${config.baseUrl}${BASE}/callback`, torna)
  } catch (err) {
    log.warn({ reqId: c.get('requestId'), err }, 'oidc provider not reachable')
    return problem(c, 'unavailable', 502)
  }
  setCookie(c, FLOW_COOKIE, sealValue(config.sessionSecret, 'oidc-flow', start.flow), cookieOptions(c, FLOW_SECONDS))
  return c.redirect(start.url.href, 302)
})

oidcRoutes.get(`${BASE}/callback`, async (c) => {
  const cfg = requireOidc(c)
  const { config, log } = c.var.deps
  const flow = openValue<Flow>(config.sessionSecret, 'oidc-flow', getCookie(c, FLOW_COOKIE), FLOW_SECONDS)
  // one callback per flow: a reload or a replayed link finds no flow
  deleteCookie(c, FLOW_COOKIE, cookieOptions(c))
  const error = c.req.query('error')
  if (error) {
    log.info({ reqId: c.get('requestId'), error, description: c.req.query('error_description') }, 'oidc provider error')
    return CANCELLED.includes(error) ? problem(c, 'cancelled', 200) : problem(c, 'providerError', 502)
  }
  const state = c.req.query('state')
  if (!flow || !state || !safeEqual(state, flow.state)) return problem(c, 'state', 400)
  const current = new URL(`${config.baseUrl}${BASE}/callback${new URL(c.req.url).search}`)
  let result: Awaited<ReturnType<typeof finishLogin>>
  try {
    result = await finishLogin(cfg, current, flow)
  } catch (err) {
    if (err instanceof AuthorizationResponseError) {
      log.info({ reqId: c.get('requestId'), error: err.error }, 'oidc provider error')
      return CANCELLED.includes(err.error) ? problem(c, 'cancelled', 200) : problem(c, 'providerError', 502)
    }
    log.warn({ reqId: c.get('requestId'), err }, 'oidc callback failed')
    return problem(c, unreachable(err) ? 'unavailable' : 'failed', 502)
  }
  if (!result.ok) {
    log.info({ reqId: c.get('requestId'), problem: result.problem }, 'oidc identity refused')
    return problem(c, result.problem, 403)
  }
  const done = await complete(c, result.identity, flow.torna)
  if (!(done instanceof Response)) {
    const pending: Pending = { identity: result.identity, torna: flow.torna, reason: done.reason }
    setCookie(
      c,
      PENDING_COOKIE,
      sealValue(config.sessionSecret, 'oidc-pending', pending),
      cookieOptions(c, PENDING_SECONDS),
    )
    return c.redirect(`${BASE}/email`, 303)
  }
  return done
})

function readPending(c: Context<Env>): Pending | null {
  return openValue<Pending>(
    c.var.deps.config.sessionSecret,
    'oidc-pending',
    getCookie(c, PENDING_COOKIE),
    PENDING_SECONDS,
  )
}

const emailSchema = z.object({ email: emailField })

oidcRoutes.get(`${BASE}/email`, (c) => {
  requireOidc(c)
  const pending = readPending(c)
  if (!pending) return problem(c, 'expired', 400)
  return emailPage(c, pending)
})

oidcRoutes.post(`${BASE}/email`, async (c) => {
  requireOidc(c)
  const pending = readPending(c)
  if (!pending) return problem(c, 'expired', 400)
  const t = c.var.t
  const parsed = parseWith(emailSchema, await formValues(c), t, ['email'])
  if (!parsed.ok) return emailPage(c, pending, { values: parsed.values, errors: parsed.errors }, 422)
  const done = await complete(c, pending.identity, pending.torna, parsed.data.email)
  if (done instanceof Response) return done
  return emailPage(
    c,
    pending,
    { values: { email: parsed.data.email }, errors: fieldError(t, 'email', 'oidc.errors.emailTaken') },
    422,
  )
})
