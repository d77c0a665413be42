// What the set-up wizard's pages share: admin only, the wizard's path under /t/:tenant/ufficio/configurazione, and
// the signed-in administrator as the actor of the audit entries.
import type { Context } from 'hono'
import { actorOf } from '../../../platform/audit.ts'
import type { Env, SessionUser } from '../../../platform/http.ts'
import { requireStaff } from '../../../platform/roles.ts'
import type { Tenant } from '../../../platform/tenancy.ts'

export const adminOnly = requireStaff('admin')
export const BASE = '/t/:tenant/ufficio/configurazione'

export function base(c: Context<Env>): string {
  return `/t/${(c.var.tenant as Tenant).slug}/ufficio/configurazione`
}

export function actor(c: Context<Env>) {
  return actorOf(c.var.user as SessionUser)
}
