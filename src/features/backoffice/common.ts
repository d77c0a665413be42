// Shared pieces of the back office: who may read and change what, the tenant transaction, ids from the path,
// three-field dates and the form-page helper (422 with values and errors, nothing saved).
import type { Context } from 'hono'
import { z } from 'zod'
import type { Tx } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import type { Env } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireStaff } from '../../platform/roles.ts'
import { inTenant, tenantOf } from '../../platform/tenant-middleware.ts'

export { inTenant, tenantOf }

/** Every staff role reads. */
export const readers = requireStaff('admin', 'operatore', 'lettore')
/** Day-to-day changes (payers, pupils, dues): admin and operatore; lettore never changes anything. */
export const writers = requireStaff('admin', 'operatore')
/** The tenant's catalog and settings: admin only. */
export const admins = requireStaff('admin')

/** A positive id from the path, or 404. */
export function idParam(c: Context<Env>, name = 'id'): number {
  const v = c.req.param(name) ?? ''
  if (!/^[1-9][0-9]{0,15}$/.test(v)) throw new NotFound()
  const n = Number(v)
  if (!Number.isSafeInteger(n)) throw new NotFound()
  return n
}

export function officePath(c: Context<Env>, rest = ''): string {
  return `/t/${tenantOf(c).slug}/ufficio${rest}`
}

export function canChange(c: Context<Env>, level: 'writers' | 'admins'): boolean {
  const r = c.var.staffRole
  return level === 'admins' ? r === 'admin' : r === 'admin' || r === 'operatore'
}

/** Renders a page; with errors the status is 422 and the layout prints the error summary. */
export function page(c: Context<Env>, view: string, data: Record<string, unknown> & { title: string }) {
  const errors = data.errors as FormErrors | undefined
  return render(
    c,
    `backoffice/${view}`,
    { values: {}, role: c.var.staffRole, canWrite: canChange(c, 'writers'), canAdmin: canChange(c, 'admins'), ...data },
    errors ? 422 : 200,
  )
}

// ---- three-field dates ('dd', 'mm', 'yyyy' → 'YYYY-MM-DD')

/** The three inputs of a date named `name` from the form values, as one string for zod ('' when all empty). */
export function joinDate(values: Record<string, unknown>, name: string): string {
  const d = String(values[`${name}-day`] ?? '').trim()
  const m = String(values[`${name}-month`] ?? '').trim()
  const y = String(values[`${name}-year`] ?? '').trim()
  if (!d && !m && !y) return ''
  return `${d}/${m}/${y}`
}

export function splitDate(iso: string | null | undefined): { day: string; month: string; year: string } {
  if (!iso) return { day: '', month: '', year: '' }
  const [y, m, d] = iso.split('-')
  return { day: d ?? '', month: m ?? '', year: y ?? '' }
}

/** 'd/m/yyyy' → 'YYYY-MM-DD' or null (the calendar is checked: no 31/02). */
export function parseItalianDate(s: string): string | null {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(s.trim())
  if (!m) return null
  const iso = `${m[3]}-${(m[2] as string).padStart(2, '0')}-${(m[1] as string).padStart(2, '0')}`
  const d = new Date(`${iso}T00:00:00Z`)
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== iso) return null
  const year = Number(m[3])
  if (year < 2000 || year > 2100) return null
  return iso
}

export const dateField = (requiredKey: string, invalidKey: string) =>
  z
    .string()
    .trim()
    .min(1, requiredKey)
    .transform((v, ctx) => {
      const iso = parseItalianDate(v)
      if (!iso) {
        ctx.addIssue({ code: 'custom', message: invalidKey })
        return z.NEVER
      }
      return iso
    })

export const optionalDateField = (invalidKey: string) =>
  z
    .string()
    .trim()
    .transform((v, ctx) => {
      if (v === '') return null
      const iso = parseItalianDate(v)
      if (!iso) {
        ctx.addIssue({ code: 'custom', message: invalidKey })
        return z.NEVER
      }
      return iso
    })

/** Free text of a form: trimmed, inner runs of whitespace collapsed. */
export const text = (min: number, max: number, requiredKey: string, tooLongKey: string) =>
  z
    .string()
    .transform((s) => s.replace(/\s+/g, ' ').trim())
    .pipe(z.string().min(min, requiredKey).max(max, tooLongKey))

export const optionalText = (max: number, tooLongKey: string) =>
  z
    .string()
    .optional()
    .transform((s) => (s ?? '').replace(/\s+/g, ' ').trim())
    .pipe(z.string().max(max, tooLongKey))
    .transform((s) => (s === '' ? null : s))

/** Values as strings for re-rendering a form (arrays keep their first element). */
export function flatValues(values: Record<string, string | string[]>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(values)) out[k] = Array.isArray(v) ? (v[0] ?? '') : v
  return out
}

export function errorsFromMap(
  t: (k: string) => string,
  fields: Record<string, string>,
  order: string[],
  hrefs: Record<string, string> = {},
): FormErrors {
  const names = Object.keys(fields).sort((a, b) => {
    const ia = order.indexOf(a)
    const ib = order.indexOf(b)
    return (ia < 0 ? 999 : ia) - (ib < 0 ? 999 : ib)
  })
  const translated: Record<string, string> = {}
  for (const n of names) translated[n] = t(fields[n] as string)
  return {
    summary: names.map((n) => ({ text: translated[n] as string, href: `#${hrefs[n] ?? n}` })),
    fields: translated,
  }
}

/** A message if the catalogue has it, else the fallback: the audit log also holds other features' actions. */
export function labelOr(t: (k: string) => string, key: string, fallback: string): string {
  try {
    return t(key)
  } catch {
    return fallback
  }
}

export interface HistoryEntry {
  at: Date
  actor_name: string
  action: string
  reason: string | null
}

/** The last 50 entries of the activity log about one thing (a document, a refund), newest first. */
export function historyOf(tx: Tx, entity: string, id: number) {
  return tx<HistoryEntry[]>`
    select at, actor_name, action, reason from audit_log where entity = ${entity} and entity_id = ${String(id)}
    order by at desc, id desc limit 50`
}

/** The entries with their action in words (views/backoffice/_history.eta). */
export function historyLabels(t: (k: string) => string, rows: HistoryEntry[]) {
  return rows.map((h) => ({ ...h, label: labelOr(t, `backoffice.audit.action.${h.action}`, h.action) }))
}

/** A typed search (?q=): at most 80 characters, spaces collapsed; anything else reads as no search. */
export const searchField = z
  .string()
  .max(80)
  .optional()
  .catch(undefined)
  .transform((s) => (s ?? '').replace(/\s+/g, ' ').trim())

/** The search as an ILIKE pattern that matches it anywhere, its own %, _ and \ taken literally. */
export function containsPattern(q: string): string {
  return `%${q.toLowerCase().replace(/[\\%_]/g, (m) => `\\${m}`)}%`
}
