// What the canteen's office pages share: roles, path patterns, the tenant transaction, ids from the path, the page
// renderer with the office's flags, and writes that may meet a unique constraint.
import type { Context } from 'hono'
import type { Tx } from '../../../platform/db.ts'
import { NotFound } from '../../../platform/errors.ts'
import type { Env } from '../../../platform/http.ts'
import { type FormErrors, render } from '../../../platform/render.ts'
import { requireStaff } from '../../../platform/roles.ts'
import { inTenant, tenantOf } from '../../../platform/tenant-middleware.ts'

export { inTenant, tenantOf }

export const readers = requireStaff('admin', 'operatore', 'lettore')
export const writers = requireStaff('admin', 'operatore')
export const admins = requireStaff('admin')

export const OFFICE = '/t/:tenant/ufficio/mensa'
export const ID = ':id{[1-9][0-9]{0,15}}'
export const PUPIL = ':pupil{[1-9][0-9]{0,15}}'
export const MONTH = ':month{[0-9]{4}-[0-9]{2}}'
export const DAY = ':day{[0-9]{4}-[0-9]{2}-[0-9]{2}}'

export function office(c: Context<Env>, rest = ''): string {
  return `/t/${tenantOf(c).slug}/ufficio/mensa${rest}`
}

export function idParam(c: Context<Env>, name: string): number {
  const n = Number(c.req.param(name))
  if (!Number.isSafeInteger(n) || n < 1) throw new NotFound()
  return n
}

export function strings(v: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x.slice(0, 400)
  return out
}

/** Form values with the days of the week (checkboxes giorni-1 … giorni-7) gathered into giorni: ['1', …]. */
export function withArrays(v: Record<string, string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x.slice(0, 400)
  out.giorni = ['1', '2', '3', '4', '5', '6', '7'].filter((d) => out[`giorni-${d}`] === 'si')
  return out
}

export function page(
  c: Context<Env>,
  view: string,
  data: Record<string, unknown> & { title: string; errors?: FormErrors },
  status?: 200 | 404 | 422,
) {
  const role = c.var.staffRole
  return render(
    c,
    `canteen/office/${view}`,
    {
      values: {},
      canWrite: role === 'admin' || role === 'operatore',
      canAdmin: role === 'admin',
      office: office(c),
      ...data,
    },
    status ?? (data.errors ? 422 : 200),
  )
}

/** Runs a write that may hit a unique or exclusion constraint; true when it did, false on the conflict. */
export async function unlessTaken(tx: Tx, fn: (sp: Tx) => Promise<unknown>): Promise<boolean> {
  try {
    await tx.savepoint((sp) => fn(sp as unknown as Tx))
    return true
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === '23505' || code === '23P01') return false
    throw err
  }
}
