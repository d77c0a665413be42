// Staff roles per tenant (admin, operatore, lettore) and the platform operator flag, checked on every route.
import { createMiddleware } from 'hono/factory'
import { Forbidden, NotFound } from './errors.ts'
import type { Env } from './http.ts'
import { loginRedirect } from './session.ts'

export const STAFF_ROLES = ['admin', 'operatore', 'lettore'] as const
export type StaffRole = (typeof STAFF_ROLES)[number]

/** Requires a signed-in member of the route's tenant holding one of the roles; sets c.var.staffRole. */
export function requireStaff(...roles: StaffRole[]) {
  return createMiddleware<Env>(async (c, next) => {
    const user = c.var.user
    if (!user) return loginRedirect(c)
    const tenant = c.var.tenant
    if (!tenant) throw new NotFound()
    const [m] = await c.var.deps.db.sql<{ role: StaffRole }[]>`
      select role from platform.memberships where account_id = ${user.accountId} and tenant_id = ${tenant.id}`
    if (!m || !roles.includes(m.role)) throw new Forbidden()
    c.set('staffRole', m.role)
    await next()
  })
}

export const requireOperator = createMiddleware<Env>(async (c, next) => {
  const user = c.var.user
  if (!user) return loginRedirect(c)
  if (!user.operator) throw new Forbidden()
  await next()
})
