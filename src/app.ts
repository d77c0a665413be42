// The Hono application: global middleware, one app.route() per feature, errors mapped to calm pages.
import { Hono } from 'hono'
import { compress } from 'hono/compress'
import { getCookie } from 'hono/cookie'
import { requestId } from 'hono/request-id'
import { NONCE, secureHeaders } from 'hono/secure-headers'
import { proofRoutes } from './features/account/proof-routes.ts'
import { accountRoutes } from './features/account/routes.ts'
import { applicationRoutes } from './features/applications/routes.ts'
import { ATTACHMENT_LIMIT } from './features/applications/schema.ts'
import { applicationStaffRoutes } from './features/applications/staff-routes.ts'
import { MAX_FILE_BYTES as CSV_IMPORT_BYTES } from './features/backoffice/imports/parse.ts'
import { backofficeRoutes } from './features/backoffice/routes.ts'
import { canteenOfficeRoutes } from './features/canteen/office-routes.ts'
import { canteenRoutes } from './features/canteen/routes.ts'
import { cartRoutes } from './features/cart/routes.ts'
import { controlRoutes } from './features/control/routes.ts'
import { debtRoutes } from './features/debts/routes.ts'
import { devMailRoutes } from './features/devmail/routes.ts'
import { exportRoutes } from './features/exports/routes.ts'
import { homeRoutes } from './features/home/routes.ts'
import { ioRoutes } from './features/io/routes.ts'
import { oidcRoutes } from './features/oidc/routes.ts'
import { LOGO_MAX_BYTES } from './features/onboarding/logo.ts'
import { onboardingRoutes } from './features/onboarding/routes.ts'
import { connectionRoutes } from './features/pagopa/connection-routes.ts'
import { pagopaRoutes } from './features/pagopa/routes.ts'
import { paymentRoutes } from './features/payments/routes.ts'
import { jobsRoutes } from './features/platform/jobs-routes.ts'
import { platformRoutes } from './features/platform/routes.ts'
import { sandboxPspRoutes } from './features/psp/sandbox-server.ts'
import { DOCUMENT_LIMIT, publicationRoutes } from './features/publications/routes.ts'
import {
  MAX_UPLOAD_BYTES as RECONCILIATION_UPLOAD_BYTES,
  reconciliationRoutes,
} from './features/reconciliation/routes.ts'
import { reminderRoutes } from './features/reminders/routes.ts'
import { sollecitiRoutes } from './features/solleciti/routes.ts'
import { spontaneousRoutes } from './features/spontaneous/routes.ts'
import { staffRoutes } from './features/staff/routes.ts'
import { taxRoutes } from './features/tax/routes.ts'
import { type BodyRule, bodyLimits, UploadBudget } from './platform/body-limit.ts'
import { noStoreByDefault } from './platform/cache-control.ts'
import { stalledError } from './platform/db-watch.ts'
import { BadRequest, HttpError, NotFound } from './platform/errors.ts'
import type { Deps, Env } from './platform/http.ts'
import { isLang, translator } from './platform/i18n.ts'
import { redactPath } from './platform/redact.ts'
import { render } from './platform/render.ts'
import { sessionMiddleware } from './platform/session.ts'
import { tenantMiddleware } from './platform/tenant-middleware.ts'

/** Connection-level failures (server restart, network, pool) as opposed to errors of a query. */
/** What robots.txt keeps crawlers out of: the signed-in and office areas, payments, the developer tools. */
const ROBOTS_DISALLOW = [
  '/area-personale',
  '/posizione-debitoria',
  '/archivio',
  '/carrello',
  '/pagamenti',
  '/profilo',
  '/piattaforma',
  '/t/*/ufficio',
  '/t/*/posizione-debitoria',
  '/t/*/documenti/',
  '/sandbox-psp',
  '/dev',
]

export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; errno?: string }
  const code = e?.code ?? e?.errno ?? ''
  return (
    [
      'CONNECTION_CLOSED',
      'CONNECTION_ENDED',
      'CONNECTION_DESTROYED',
      'CONNECT_TIMEOUT',
      'ECONNREFUSED',
      'ECONNRESET',
      'EPIPE',
    ].includes(code) ||
    // admin_shutdown, crash_shutdown, cannot_connect_now, terminated by an administrator
    ['57P01', '57P02', '57P03', '08000', '08003', '08006'].includes(code)
  )
}

const MiB = 1024 * 1024
const TENANT = '/t/([a-z0-9-]+)'

/**
 * The routes that accept more than an ordinary form (src/platform/body-limit.ts), each a little over its
 * feature's own limit so that the feature's page explains a file slightly too big: uploads for the people
 * who may make them, and the server-to-server endpoints.
 */
const BODY_RULES: BodyRule[] = [
  {
    path: new RegExp(`^${TENANT}/ufficio/riconciliazione$`),
    limit: RECONCILIATION_UPLOAD_BYTES + MiB,
    who: 'staff',
    fileLimit: RECONCILIATION_UPLOAD_BYTES,
  },
  {
    path: new RegExp(`^${TENANT}/ufficio/documenti/importa$`),
    limit: CSV_IMPORT_BYTES + MiB,
    who: 'staff',
    fileLimit: CSV_IMPORT_BYTES,
  },
  {
    path: new RegExp(`^${TENANT}/ufficio/documenti-ente(?:/[^/]+)?$`),
    limit: DOCUMENT_LIMIT + MiB,
    who: 'staff',
    fileLimit: DOCUMENT_LIMIT,
  },
  {
    path: new RegExp(`^${TENANT}/ufficio/configurazione/aspetto/logo$`),
    limit: LOGO_MAX_BYTES + MiB / 4,
    who: 'staff',
    fileLimit: LOGO_MAX_BYTES,
  },
  // a citizen's application with its attachment (a medical certificate for a diet)
  {
    path: new RegExp(`^${TENANT}/istanze/(?:nuova/[^/]+(?:/[^/]+)?|[0-9]+/modifica)$`),
    limit: ATTACHMENT_LIMIT + MiB,
    who: 'user',
    fileLimit: ATTACHMENT_LIMIT,
  },
  // the pagoPA node's SOAP calls (the route keeps its own 1 MiB check), the provider's notifications, the sandbox's API
  { path: /^\/pagopa\/nodo$/, limit: MiB, who: 'machine' },
  { path: /^\/pagamenti\/notifica\/[^/]+$/, limit: 64 * 1024, who: 'machine' },
  { path: /^\/sandbox-psp\/api\//, limit: 64 * 1024, who: 'machine' },
]

const ACCEPTS_COMPRESSION = /\b(gzip|deflate)\b/i

export function createApp(deps: Deps) {
  const app = new Hono<Env>()

  app.use(requestId({ headerName: 'X-Request-Id', generator: () => crypto.randomUUID() }))
  app.use(async (c, next) => {
    // read per request: the logger (and its level) may be replaced while the server runs
    if (!deps.log.isLevelEnabled('info')) return next()
    const started = performance.now()
    await next()
    deps.log.info(
      {
        reqId: c.get('requestId'),
        method: c.req.method,
        // one-time links carry their token in the path: logged as [redacted] (src/platform/redact.ts)
        path: redactPath(c.req.path),
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      },
      'request',
    )
  })
  // no-store on every response that sets no caching of its own: signed-in and personal pages never sit in a cache
  app.use(noStoreByDefault)
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // the stylesheet inline in a browser's first page (render.ts): this response's nonce, never 'unsafe-inline'
        styleSrc: ["'self'", NONCE],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
      strictTransportSecurity: deps.config.secureCookies ? 'max-age=31536000; includeSubDomains' : false,
      referrerPolicy: 'same-origin',
      crossOriginEmbedderPolicy: false,
    }),
  )
  // compressed for clients that accept it; for the others the response is left as it is (hono's compress would
  // otherwise set Vary through c.header() on the finished response, which makes @hono/node-server rebuild it as a
  // full Response: see cache-control.ts), and Vary says that the answer depends on Accept-Encoding all the same
  const compressed = compress()
  app.use(async (c, next) => {
    if (ACCEPTS_COMPRESSION.test(c.req.header('Accept-Encoding') ?? '')) return compressed(c, next)
    await next()
    const vary = c.res.headers.get('Vary')
    if (!vary) c.res.headers.set('Vary', 'Accept-Encoding')
    else if (vary !== '*' && !/accept-encoding/i.test(vary)) c.res.headers.set('Vary', `${vary}, Accept-Encoding`)
  })

  // Static files: hashed names, cached for a year.
  app.get('/static/*', (c) => {
    const asset = deps.assets.get(c.req.path)
    if (!asset) throw new NotFound()
    c.header('Cache-Control', 'public, max-age=31536000, immutable')
    c.header('Content-Type', asset.type)
    return c.body(new Uint8Array(asset.body))
  })

  // the browser's default icon, the app manifest (home-screen icons) and robots.txt: fixed addresses, cached a day
  const favicon = deps.assets.named('favicon.ico')
  const fixedFile = (path: string, type: string, body: string | Uint8Array<ArrayBuffer>) =>
    app.get(path, (c) => {
      c.header('Cache-Control', 'public, max-age=86400')
      c.header('Content-Type', type)
      return typeof body === 'string' ? c.body(body) : c.body(body)
    })
  fixedFile('/favicon.ico', favicon.type, new Uint8Array(favicon.body))
  const manifest = JSON.stringify({
    name: 'Sportello',
    short_name: 'Sportello',
    lang: 'it',
    start_url: '/',
    display: 'browser',
    background_color: '#ffffff',
    theme_color: '#0b4f9c',
    icons: [
      { src: deps.assets.url('icons/icon-192.png'), sizes: '192x192', type: 'image/png' },
      { src: deps.assets.url('icons/icon-512.png'), sizes: '512x512', type: 'image/png' },
      { src: deps.assets.url('icons/icon.svg'), sizes: 'any', type: 'image/svg+xml' },
    ],
  })
  fixedFile('/manifest.webmanifest', 'application/manifest+json; charset=utf-8', manifest)
  // personal, office and payment pages answer only a signed-in visitor; crawlers are kept to the public ones
  const robots = ['User-agent: *', ...ROBOTS_DISALLOW.map((p) => `Disallow: ${p}`), ''].join('\n')
  fixedFile('/robots.txt', 'text/plain; charset=utf-8', robots)

  app.use(async (c, next) => {
    c.set('deps', deps)
    c.set('assets', deps.assets)
    const cookie = getCookie(c, 'lang')
    const lang = isLang(cookie) ? cookie : 'it'
    c.set('lang', lang)
    c.set('t', translator(lang))
    await next()
  })

  // ok only when the database answers: on PostgreSQL within the stall watch's probe timeout (half a second),
  // through a connection of its own and through the pool
  app.get('/health', async (c) => {
    const watch = deps.watch
    try {
      if (watch && (watch.stalled || !(await watch.check()))) throw stalledError()
      const query = () => deps.db.sql`select 1`
      await (watch ? watch.guard(query) : query())
      return c.json({ status: 'ok', database: deps.db.kind })
    } catch {
      return c.json({ status: 'unavailable' }, 503)
    }
  })

  // while the database stalls, requests answer the 503 page at once, or as soon as the stall is found
  const watch = deps.watch
  if (watch) app.use((_c, next) => watch.guard(next))

  // no address of ours holds a NUL character, and PostgreSQL text cannot: refused before a query meets one
  app.use(async (c, next) => {
    if (c.req.url.includes('%00')) throw new BadRequest()
    await next()
  })

  // body limits per route, before anything reads a body (the session middleware's CSRF check included); GET and
  // HEAD are left alone (reading the body of a GET makes the adapter build a full Request, ~70 µs each)
  app.use(bodyLimits(BODY_RULES, new UploadBudget(deps.config.uploadMemoryBytes)))
  app.use(sessionMiddleware)
  app.use('/t/:tenant/*', tenantMiddleware)
  app.use('/t/:tenant', tenantMiddleware)

  app.route('/', homeRoutes)
  app.route('/', accountRoutes)
  app.route('/', proofRoutes)
  app.route('/', oidcRoutes)
  app.route('/', debtRoutes)
  app.route('/', cartRoutes)
  app.route('/', reminderRoutes)
  app.route('/', paymentRoutes)
  app.route('/', spontaneousRoutes)
  app.route('/', taxRoutes)
  app.route('/', staffRoutes)
  app.route('/', canteenRoutes)
  app.route('/', canteenOfficeRoutes)
  app.route('/', backofficeRoutes)
  app.route('/', controlRoutes)
  app.route('/', sollecitiRoutes)
  app.route('/', exportRoutes)
  app.route('/', publicationRoutes)
  app.route('/', applicationRoutes)
  app.route('/', applicationStaffRoutes)
  app.route('/', reconciliationRoutes)
  app.route('/', platformRoutes)
  app.route('/', onboardingRoutes)
  app.route('/', jobsRoutes)
  app.route('/', devMailRoutes)
  app.route('/', pagopaRoutes)
  app.route('/', connectionRoutes)
  app.route('/', ioRoutes)
  app.route('/sandbox-psp', sandboxPspRoutes)

  app.notFound((c) => {
    if (!c.get('t')) {
      c.set('lang', 'it')
      c.set('t', translator('it'))
      c.set('assets', deps.assets)
    }
    return render(
      c,
      'errors/error',
      { title: c.get('t')('errors.notFound'), status: 404, bodyKey: 'errors.notFoundBody' },
      404,
    )
  })

  app.onError((err, c) => {
    if (!c.get('t')) {
      c.set('lang', 'it')
      c.set('t', translator('it'))
      c.set('assets', deps.assets)
    }
    const t = c.get('t')
    if (err instanceof HttpError) {
      if (err.status === 503) c.header('Retry-After', '30')
      return render(
        c,
        'errors/error',
        { title: t(err.messageKey), status: err.status, bodyKey: `${err.messageKey}Body` },
        err.status,
      )
    }
    if (isDatabaseUnavailable(err)) {
      // the database restarted or is unreachable: a calm "try again shortly", and the pool reconnects
      deps.log.warn({ reqId: c.get('requestId'), err: (err as Error).message }, 'database unavailable')
      c.header('Retry-After', '30')
      return render(
        c,
        'errors/error',
        { title: t('errors.unavailable'), status: 503, bodyKey: 'errors.unavailableBody' },
        503,
      )
    }
    deps.log.error({ reqId: c.get('requestId'), err }, 'unhandled error')
    return render(c, 'errors/error', { title: t('errors.server'), status: 500, bodyKey: 'errors.serverBody' }, 500)
  })

  return app
}
