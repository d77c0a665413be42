// The sandbox PSP: a simulated payment provider served by Sportello itself under /sandbox-psp, with its own
// server-to-server API, hosted card pages and signed notifications. The demo and the tests pay through it.
import { randomBytes, randomInt, randomUUID } from 'node:crypto'
import { type Context, Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { getCookie } from 'hono/cookie'
import { Forbidden, NotFound } from '../../platform/errors.ts'
import type { Deps, Env } from '../../platform/http.ts'
import { isLang, translator } from '../../platform/i18n.ts'
import { formatMoney } from '../../platform/money.ts'
import { render } from '../../platform/render.ts'
import { cardMask, sandboxOutcome, TEST_CARDS } from './card.ts'
import { deliverPending } from './delivery.ts'
import {
  completeSession,
  createSession,
  getSession,
  markSubmitted,
  type SandboxSession,
  SESSION_MINUTES,
} from './queries.ts'
import { cardFormSchema, FIELD_IDS, startRequestSchema } from './schema.ts'
import { apiToken, pageToken, safeEqual } from './signature.ts'

export { deliverPending } from './delivery.ts'

export const SANDBOX_PATH = '/sandbox-psp'

export const sandboxPspRoutes = new Hono<Env>()

// Only in the demo or with PSP_SANDBOX=1 outside production (config.pspSandbox): otherwise nothing here exists.
sandboxPspRoutes.use('*', async (c, next) => {
  if (!c.var.deps.config.pspSandbox) throw new NotFound()
  await next()
})

// Card data must never sit in a cache; the sandbox is not for search engines either.
sandboxPspRoutes.use('*', async (c, next) => {
  await next()
  c.header('Cache-Control', 'no-store')
  c.header('X-Robots-Tag', 'noindex')
})
sandboxPspRoutes.use('*', bodyLimit({ maxSize: 32 * 1024 }))

// ---- server-to-server API -------------------------------------------------------------------------------

function authorized(c: Context<Env>): boolean {
  const m = /^Bearer ([0-9a-f]{64})$/.exec(c.req.header('Authorization') ?? '')
  return !!m && safeEqual(m[1] as string, apiToken(c.var.deps.config.pspSandboxSecret))
}

function sameOrigin(url: string, baseUrl: string): boolean {
  try {
    return new URL(url).origin === new URL(baseUrl).origin
  } catch {
    return false
  }
}

function sessionJson(s: SandboxSession) {
  return {
    providerRef: s.id,
    paymentId: s.paymentId,
    status: s.status,
    amountCents: s.amountCents,
    authCode: s.authCode,
    cardMask: s.cardMask,
    expiresAt: s.expiresAt.toISOString(),
    completedAt: s.completedAt?.toISOString() ?? null,
  }
}

sandboxPspRoutes.post('/api/sessions', async (c) => {
  if (!authorized(c)) return c.json({ error: 'unauthorized' }, 401)
  let body: unknown
  try {
    body = await c.req.json()
  } catch {
    return c.json({ error: 'invalid_json' }, 400)
  }
  const parsed = startRequestSchema.safeParse(body)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
    return c.json({ error: 'invalid_request', issues }, 400)
  }
  const req = parsed.data
  // Only this server's own addresses: the sandbox never posts to, nor sends a citizen back to, another site.
  const foreign = (['returnUrl', 'notifyUrl'] as const).filter((k) => !sameOrigin(req[k], c.var.deps.config.baseUrl))
  if (foreign.length) {
    const issues = foreign.map((path) => ({ path, message: 'must be an address of this server (BASE_URL)' }))
    return c.json({ error: 'foreign_url', issues }, 422)
  }
  const { session, created } = await createSession(c.var.deps.db.sql, randomBytes(18).toString('base64url'), req)
  // The same key with a different payment or amount is a bug on the caller's side, not a retry.
  if (!created && (session.paymentId !== req.paymentId || session.amountCents !== req.amountCents)) {
    return c.json({ error: 'idempotency_key_reused' }, 409)
  }
  return c.json(
    {
      providerRef: session.id,
      redirectUrl: `${c.var.deps.config.baseUrl}${SANDBOX_PATH}/paga/${session.id}`,
      expiresAt: session.expiresAt.toISOString(),
    },
    created ? 201 : 200,
  )
})

sandboxPspRoutes.get('/api/sessions/:id', async (c) => {
  if (!authorized(c)) return c.json({ error: 'unauthorized' }, 401)
  const s = await getSession(c.var.deps.db.sql, c.req.param('id'))
  if (!s) return c.json({ error: 'not_found' }, 404)
  return c.json(sessionJson(s))
})

// the merchant closes a session its payer gave up: cancelled unless the card was already submitted (then the
// outcome stands); answers the session as it is afterwards
sandboxPspRoutes.post('/api/sessions/:id/cancel', async (c) => {
  if (!authorized(c)) return c.json({ error: 'unauthorized' }, 401)
  const s = await getSession(c.var.deps.db.sql, c.req.param('id'))
  if (!s) return c.json({ error: 'not_found' }, 404)
  if (s.status === 'pending' && !s.submittedAt) {
    const updated = await completeSession(c.var.deps.db.sql, s.id, {
      status: 'cancelled',
      authCode: null,
      eventId: randomUUID(),
    })
    if (updated) kickDelivery(c.var.deps)
  }
  const now = await getSession(c.var.deps.db.sql, s.id)
  return c.json(sessionJson(now ?? s))
})

// ---- hosted pages --------------------------------------------------------------------------------------

/** The citizen's language: the site's language cookie when set, else the one the merchant asked for. */
function useLang(c: Context<Env>, s: SandboxSession) {
  const cookie = getCookie(c, 'lang')
  const lang = isLang(cookie) ? cookie : s.lang
  c.set('lang', lang)
  c.set('t', translator(lang))
}

const timeFmt = new Intl.DateTimeFormat('it-IT', {
  timeZone: 'Europe/Rome',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
})

type CardValues = { cardholderName: string; cardNumber: string; expiryMonth: string; expiryYear: string; cvv: string }
const EMPTY: CardValues = { cardholderName: '', cardNumber: '', expiryMonth: '', expiryYear: '', cvv: '' }

function payPage(
  c: Context<Env>,
  s: SandboxSession,
  values: CardValues,
  formErrors?: { summary: { text: string; href: string }[]; fields: Record<string, string> },
) {
  const t = c.var.t
  const lang = c.var.lang
  const title = `${t('psp.pay.title')} – ${t('psp.shortName')}`
  // The error prefix goes on the title here, not through `errors`, so the page never depends on whether
  // the shared layout renders an error summary of its own.
  return render(
    c,
    'psp/pay',
    {
      title: formErrors ? `${t('psp.error.prefix')} ${title}` : title,
      layout: 'layouts/provider',
      heading: t('psp.pay.heading'),
      session: {
        id: s.id,
        amount: formatMoney(s.amountCents, lang),
        description: s.description,
        expiresTime: timeFmt.format(s.expiresAt),
        minutes: SESSION_MINUTES,
      },
      action: `${SANDBOX_PATH}/paga/${s.id}`,
      token: pageToken(c.var.deps.config.pspSandboxSecret, s.id),
      cardValues: values,
      formErrors: formErrors ?? null,
      testCards: TEST_CARDS,
    },
    formErrors ? 422 : 200,
  )
}

type OutcomeKind = 'refused' | 'expired' | 'cancelled' | 'succeeded' | 'processing'

function outcomeKind(s: SandboxSession): OutcomeKind | null {
  switch (s.status) {
    case 'failed':
      return 'refused'
    case 'expired':
      return 'expired'
    case 'cancelled':
      return 'cancelled'
    case 'succeeded':
      return 'succeeded'
    default:
      return s.submittedAt ? 'processing' : null
  }
}

function outcomePage(c: Context<Env>, s: SandboxSession, kind: OutcomeKind) {
  const t = c.var.t
  return render(
    c,
    'psp/outcome',
    {
      title: `${t(`psp.outcome.${kind}.title`)} – ${t('psp.shortName')}`,
      layout: 'layouts/provider',
      heading: t(`psp.outcome.${kind}.title`),
      kind,
      minutes: SESSION_MINUTES,
      returnUrl: s.returnUrl,
    },
    kind === 'expired' ? 410 : 200,
  )
}

async function loadSession(c: Context<Env>): Promise<SandboxSession> {
  const s = await getSession(c.var.deps.db.sql, c.req.param('id') ?? '')
  if (!s) throw new NotFound()
  useLang(c, s)
  return s
}

async function formFields(c: Context<Env>): Promise<Record<string, string>> {
  const body = await c.req.parseBody()
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string') out[k] = v
  return out
}

function checkToken(c: Context<Env>, s: SandboxSession, fields: Record<string, string>) {
  if (!safeEqual(fields.token ?? '', pageToken(c.var.deps.config.pspSandboxSecret, s.id))) throw new Forbidden()
}

/** Sends the notification right away, outside the request; the scheduled run retries what fails. */
function kickDelivery(deps: Deps) {
  setImmediate(() => {
    deliverPending(deps.db, deps.config, { log: deps.log }).catch((err) =>
      deps.log.error({ err }, 'sandbox psp delivery run failed'),
    )
  })
}

const AUTH_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'
function authCode(): string {
  return Array.from({ length: 6 }, () => AUTH_ALPHABET[randomInt(AUTH_ALPHABET.length)]).join('')
}

sandboxPspRoutes.get('/paga/:id', async (c) => {
  const s = await loadSession(c)
  const kind = outcomeKind(s)
  if (kind) return outcomePage(c, s, kind)
  return payPage(c, s, EMPTY)
})

sandboxPspRoutes.post('/paga/:id', async (c) => {
  const s = await loadSession(c)
  const fields = await formFields(c)
  checkToken(c, s, fields)
  const done = outcomeKind(s)
  if (done) return outcomePage(c, s, done)

  // Never log the card: this handler logs nothing of the form, and errors carry no field values.
  const parsed = cardFormSchema().safeParse(fields)
  const values: CardValues = {
    cardholderName: fields.cardholderName ?? '',
    cardNumber: fields.cardNumber ?? '',
    expiryMonth: fields.expiryMonth ?? '',
    expiryYear: fields.expiryYear ?? '',
    cvv: fields.cvv ?? '',
  }
  if (!parsed.success) {
    const t = c.var.t
    const byField: Record<string, string> = {}
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? '')
      if (key in FIELD_IDS && !(key in byField)) byField[key] = t(issue.message)
    }
    const summary = (Object.keys(FIELD_IDS) as (keyof typeof FIELD_IDS)[])
      .filter((k) => byField[k])
      .map((k) => ({ text: byField[k] as string, href: `#${FIELD_IDS[k]}` }))
    return payPage(c, s, values, { summary, fields: byField })
  }

  const sql = c.var.deps.db.sql
  const outcome = sandboxOutcome(parsed.data.cardNumber)
  const updated =
    outcome === 'hang'
      ? await markSubmitted(sql, s.id)
      : await completeSession(sql, s.id, {
          status: outcome,
          authCode: outcome === 'succeeded' ? authCode() : null,
          eventId: randomUUID(),
          cardMask: cardMask(parsed.data.cardNumber),
        })
  if (!updated) {
    // Lost a race (a second tab, the time limit): show where the session stands now.
    const now = await loadSession(c)
    const kind = outcomeKind(now)
    return kind ? outcomePage(c, now, kind) : c.redirect(`${SANDBOX_PATH}/paga/${s.id}`, 303)
  }
  if (outcome !== 'hang') kickDelivery(c.var.deps)
  if (outcome === 'failed') return c.redirect(`${SANDBOX_PATH}/paga/${s.id}`, 303)
  return c.redirect(s.returnUrl, 303)
})

sandboxPspRoutes.post('/paga/:id/annulla', async (c) => {
  const s = await loadSession(c)
  checkToken(c, s, await formFields(c))
  if (s.status === 'cancelled') return c.redirect(s.returnUrl, 303)
  const done = outcomeKind(s)
  if (done) return outcomePage(c, s, done)
  const updated = await completeSession(c.var.deps.db.sql, s.id, {
    status: 'cancelled',
    authCode: null,
    eventId: randomUUID(),
  })
  if (!updated) {
    const now = await loadSession(c)
    const kind = outcomeKind(now)
    if (kind && kind !== 'cancelled') return outcomePage(c, now, kind)
  } else {
    kickDelivery(c.var.deps)
  }
  return c.redirect(s.returnUrl, 303)
})
