// Resolves /t/:tenant/... to a tenant row (cached); an unknown or deleted slug is an accessible 404.
import { createMiddleware } from 'hono/factory'
import { NotFound } from './errors.ts'
import type { Env } from './http.ts'

export const tenantMiddleware = createMiddleware<Env>(async (c, next) => {
  const slug = c.req.param('tenant') ?? ''
  const tenant = await c.var.deps.tenants.get(slug)
  if (!tenant || tenant.status === 'deleted') throw new NotFound()
  // a tenant still in set-up is not public yet: only its office pages (which check membership) answer
  if (tenant.status === 'setup' && !c.req.path.startsWith(`/t/${slug}/ufficio`)) throw new NotFound()
  c.set('tenant', tenant)
  await next()
})
