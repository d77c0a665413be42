// Eta rendering: a page inside the base layout, or the bare fragment for a targeted htmx request.
import { Eta } from 'eta'
import type { Context } from 'hono'
import { getCookie, setCookie } from 'hono/cookie'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { formatDate, formatDateTime, todayRome } from './dates.ts'
import type { Env } from './http.ts'
import { formatMoney } from './money.ts'
import { projectPath } from './paths.ts'
import { STAFF_NAV } from './staff-nav.ts'

export const VIEWS_DIR = projectPath('views')

export const eta = new Eta({
  views: VIEWS_DIR,
  cache: true,
  autoEscape: true,
  autoTrim: [false, 'nl'],
  useWith: false,
})

// Eta resolves a template's path on every render (JSON.stringify and three path operations, 3% of a page's CPU
// under load); the names are the code's own (views and partials), so each is resolved once
const resolvedPaths = new Map<string, string>()
const resolveTemplatePath = eta.resolvePath
eta.resolvePath = function (template, options) {
  const key = `${options?.filepath ?? ''}\0${template}`
  let resolved = resolvedPaths.get(key)
  if (resolved === undefined) {
    resolved = resolveTemplatePath.call(this, template, options)
    resolvedPaths.set(key, resolved)
  }
  return resolved
}

export interface FormErrors {
  summary: { text: string; href: string }[]
  fields: Record<string, string>
}

export interface PageData {
  title: string
  /** the page's meta description; by default the body's (tenant pages) or Sportello's */
  description?: string
  /** the page's frame: Sportello's (layouts/base, the default) or the payment provider's (layouts/provider) */
  layout?: 'layouts/base' | 'layouts/provider'
  errors?: FormErrors
  values?: Record<string, unknown>
  [key: string]: unknown
}

/** True for requests that want only a fragment: htmx, but not boosted navigation (which swaps the body). */
export function wantsFragment(c: Context): boolean {
  return c.req.header('HX-Request') === 'true' && c.req.header('HX-Boosted') !== 'true'
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/**
 * A long code (notice code, IUV, receipt number) as groups of four (or its own parts, when it has hyphens) that wrap
 * between groups, never inside one;
 * copied, it is the code without spaces (the gaps are margins). HTML: print it with <%~ %>.
 */
export function codeGroups(value: string | number | null | undefined): string {
  const clean = String(value ?? '').replace(/\s+/g, '')
  if (!clean) return ''
  // a code with its own separators (a receipt number, SP-2026-00000001) breaks only after them
  const groups = clean.includes('-') ? (clean.match(/[^-]*-|[^-]+$/g) ?? []) : (clean.match(/.{1,4}/g) ?? [])
  return `<span class="code code-groups${clean.includes('-') ? ' code-groups--parts' : ''}">${groups.map((g) => `<span>${g.replace(/[&<>"']/g, (ch) => ESCAPES[ch] as string)}</span>`).join('')}</span>`
}

/** The stylesheet every page needs, by logical name. */
export const STYLESHEET = 'css/app.css'
/** The cookie that says which version of the stylesheet this browser has cached (its value: the version). */
export const CSS_COOKIE = 'css'
const YEAR_SECONDS = 365 * 24 * 3600

/**
 * The stylesheet arrives inside the first page a browser loads (no request that blocks the first render, within the
 * first round trip once compressed), which also sets `css=<version>`; later pages link the file, which the browser
 * then has in its cache (immutable, hashed name). A new version of the stylesheet is inlined once again.
 * Decision 0094.
 */
function stylesheet(c: Context<Env>) {
  const asset = c.get('assets').named(STYLESHEET)
  const inline = getCookie(c, CSS_COOKIE) === asset.hash ? null : asset.text
  return { inline, href: asset.url, version: asset.hash, nonce: c.get('secureHeadersNonce') ?? '' }
}

export function pageContext(c: Context<Env>, data: PageData) {
  const lang = c.get('lang')
  const tenant = c.get('tenant') ?? null
  const t = c.get('t')
  const csrfToken = c.get('csrfToken') ?? ''
  const partial = (name: string) => (params: Record<string, unknown>) => eta.render(`partials/${name}`, { t, params })
  return {
    ...data,
    lang,
    t,
    tenant,
    path: c.req.path,
    url: c.req.url,
    requestId: c.get('requestId'),
    assets: c.get('assets'),
    csrfToken,
    csrf: () => `<input type="hidden" name="_csrf" value="${csrfToken}">`,
    field: partial('_field'),
    checkbox: partial('_checkbox'),
    radios: partial('_radios'),
    select: partial('_select'),
    statusBadge: partial('_status'),
    user: c.get('user') ?? null,
    staffRole: c.get('staffRole') ?? null,
    staffNav: STAFF_NAV,
    money: (cents: number) => formatMoney(cents, lang),
    date: formatDate,
    /** the day of an instant in Rome, 'YYYY-MM-DD' */
    romeDate: (at: Date) => todayRome(at),
    dateTime: formatDateTime,
    longCode: codeGroups,
    description:
      data.description ?? (tenant ? t('meta.tenantDescription', { name: tenant.name }) : t('meta.description')),
    fullTitle: [data.errors ? `${t('errors.prefix')} ${data.title}` : data.title, tenant?.shortName, t('app.name')]
      .filter(Boolean)
      .join(' – '),
  }
}

export function renderView(c: Context<Env>, view: string, data: PageData): string {
  const it = pageContext(c, data)
  const summary = data.errors ? eta.render('partials/_error-summary', it) : ''
  const body = summary + eta.render(view, it)
  if (wantsFragment(c)) return body
  const css = stylesheet(c)
  if (css.inline) {
    setCookie(c, CSS_COOKIE, css.version, {
      path: '/',
      maxAge: YEAR_SECONDS,
      httpOnly: true,
      sameSite: 'Lax',
      secure: c.var.deps?.config.secureCookies ?? false,
    })
  }
  return eta.render(data.layout ?? 'layouts/base', { ...it, body, css })
}

export function render(c: Context<Env>, view: string, data: PageData, status: ContentfulStatusCode = 200) {
  return c.html(renderView(c, view, data), status)
}
