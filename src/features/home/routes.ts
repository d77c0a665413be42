// Public pages: the list of tenants, a tenant's home page, the accessibility statement, language switch.
import { Hono } from 'hono'
import { setCookie } from 'hono/cookie'
import { withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { type Env, safeReturnPath } from '../../platform/http.ts'
import { isLang } from '../../platform/i18n.ts'
import { render } from '../../platform/render.ts'
import { publicDocuments } from '../publications/queries.ts'

export const homeRoutes = new Hono<Env>()

homeRoutes.get('/', async (c) => {
  const tenants = (await c.var.deps.tenants.list()).filter((t) => t.status === 'active' || t.status === 'suspended')
  return render(c, 'home/index', { title: c.var.t('home.title'), description: c.var.t('meta.description'), tenants })
})

homeRoutes.get('/lingua/:lang', (c) => {
  const lang = c.req.param('lang')
  if (!isLang(lang)) throw new NotFound()
  setCookie(c, 'lang', lang, {
    path: '/',
    maxAge: 60 * 60 * 24 * 365,
    sameSite: 'Lax',
    httpOnly: true,
    secure: c.var.deps.config.secureCookies,
  })
  return c.redirect(safeReturnPath(c.req.query('torna')), 303)
})

homeRoutes.get('/accessibilita', (c) =>
  render(c, 'home/accessibility', { title: c.var.t('a11y.title'), description: c.var.t('meta.a11y') }),
)

homeRoutes.get('/t/:tenant', async (c) => {
  const tenant = c.var.tenant
  if (!tenant) throw new NotFound()
  // both queries sent at once: one round trip inside the one transaction
  const [services, documents] = await withTenant(c.var.deps.db.sql, tenant, (tx) =>
    Promise.all([
      tx<{ code: string; kind: string; name: string; spontaneous: boolean }[]>`
        select code, kind, name, spontaneous from services where active order by name`,
      publicDocuments(tx, tenant, c.var.lang),
    ]),
  )
  return render(c, 'home/tenant', { title: tenant.name, services, documents })
})
