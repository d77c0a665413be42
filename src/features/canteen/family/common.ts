// What the family's canteen pages share: path patterns, the tenant and the signed-in user, the tenant transaction,
// and one of the citizen's own pupils (found through the proved codice fiscale).
import type { Context } from 'hono'
import type { Tx } from '../../../platform/db.ts'
import { NotFound } from '../../../platform/errors.ts'
import type { Env, SessionUser } from '../../../platform/http.ts'
import { inTenant, tenantOf } from '../../../platform/tenant-middleware.ts'
import { type CitizenPupil, citizenPupils } from '../queries.ts'

export { inTenant, tenantOf }

export const BASE = '/t/:tenant/mensa'
export const PUPIL = ':pupil{[1-9][0-9]{0,15}}'
export const MONTH = ':month{[0-9]{4}-[0-9]{2}}'
export const DAY = ':day{[0-9]{4}-[0-9]{2}-[0-9]{2}}'

export function userOf(c: Context<Env>): SessionUser {
  return c.var.user as SessionUser
}

export function base(c: Context<Env>): string {
  return `/t/${tenantOf(c).slug}/mensa`
}

/** One of the citizen's canteen pupils, or 404 (another family's pupil is as unknown as a missing one). */
export async function ownPupil(tx: Tx, cf: string, param: string | undefined): Promise<CitizenPupil> {
  const id = Number(param)
  const pupil = (await citizenPupils(tx, cf)).find((p) => p.id === id)
  if (!pupil) throw new NotFound()
  return pupil
}
