// Resolves /t/:tenant/... to a tenant row (cached); an unknown or deleted slug is an accessible 404. tenantOf and
// inTenant give a route its tenant and the tenant-scoped transaction.
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { type Tx, withTenant } from './db.ts'
import { NotFound } from './errors.ts'
import type { Env } from './http.ts'
import type { Tenant } from './tenancy.ts'

export const tenantMiddleware = createMiddleware<Env>(async (c, next) => {
  const slug = c.req.param('tenant') ?? ''
  const tenant = await c.var.deps.tenants.get(slug)
  if (!tenant || tenant.status === 'deleted') throw new NotFound()
  // a tenant still in set-up is not public yet: only its office pages (which check membership) answer
  if (tenant.status === 'setup' && !c.req.path.startsWith(`/t/${slug}/ufficio`)) throw new NotFound()
  c.set('tenant', tenant)
  await next()
})

/** The request's tenant, set by tenantMiddleware; 404 where a route has none. */
export function tenantOf(c: Context<Env>): Tenant {
  const t = c.var.tenant
  if (!t) throw new NotFound()
  return t
}

/** The request's one tenant-scoped transaction (withTenant on the request's tenant). */
export function inTenant<T>(c: Context<Env>, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return withTenant(c.var.deps.db.sql, tenantOf(c), fn)
}
