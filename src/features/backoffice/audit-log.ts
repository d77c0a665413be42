// The tenant's audit log, read-only: filters by who, entity and period, 50 entries a page, before/after shown
// as a table of the fields that changed.
import { Hono } from 'hono'
import { z } from 'zod'
import type { Env } from '../../platform/http.ts'
import { inTenant, labelOr, page, parseItalianDate, readers } from './common.ts'

export const auditRoutes = new Hono<Env>()

const PAGE_SIZE = 50

const filterSchema = z.object({
  chi: z
    .string()
    .regex(/^[0-9]{1,15}$/)
    .optional()
    .catch(undefined),
  entita: z
    .string()
    .regex(/^[a-z_]{1,40}$/)
    .optional()
    .catch(undefined),
  pagina: z.coerce.number().int().min(1).max(100_000).catch(1),
})

export interface Change {
  field: string
  before: string
  after: string
}

function show(v: unknown): string {
  if (v === undefined) return ''
  if (v === null) return '—'
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return JSON.stringify(v)
}

/** The fields of before/after, flattened one level (contacts.email…), with only the ones that differ. */
export function changes(before: unknown, after: unknown): Change[] {
  const flat = (o: unknown, prefix = ''): Record<string, unknown> => {
    if (o === null || typeof o !== 'object' || Array.isArray(o))
      return o === undefined || o === null ? {} : { [prefix || 'valore']: o }
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
      const key = prefix ? `${prefix}.${k}` : k
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && !prefix) Object.assign(out, flat(v, key))
      else out[key] = v
    }
    return out
  }
  const b = flat(before)
  const a = flat(after)
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])]
  return keys
    .filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]))
    .map((k) => ({ field: k, before: show(b[k]), after: show(a[k]) }))
}

interface Entry {
  id: number
  at: Date
  actor_name: string
  action: string
  entity: string
  entity_id: string | null
  before: unknown
  after: unknown
  reason: string | null
}

auditRoutes.get('/t/:tenant/ufficio/registro', readers, async (c) => {
  const q = c.req.query()
  const f = filterSchema.parse(q)
  // the period: two three-field dates, each optional; a bad one is reported beside its field
  const dateOf = (name: string) => {
    const d = (q[`${name}-day`] ?? '').trim()
    const m = (q[`${name}-month`] ?? '').trim()
    const y = (q[`${name}-year`] ?? '').trim()
    if (!d && !m && !y) return { iso: null, bad: false, raw: { d, m, y } }
    const iso = parseItalianDate(`${d}/${m}/${y}`)
    return { iso, bad: iso === null, raw: { d, m, y } }
  }
  const from = dateOf('dal')
  const to = dateOf('al')
  const { actors, entities, rows } = await inTenant(c, async (tx) => {
    const actors = await tx<{ id: string; name: string }[]>`
      select distinct on (actor_account_id) actor_account_id::text as id, actor_name as name
      from audit_log where actor_account_id is not null order by actor_account_id, at desc`
    const entities = await tx<{ entity: string }[]>`select distinct entity from audit_log order by entity`
    const rows = await tx<Entry[]>`
      select id, at, actor_name, action, entity, entity_id, before, after, reason from audit_log
      where ${f.chi ? tx`actor_account_id = ${Number(f.chi)}` : tx`true`}
        and ${f.entita ? tx`entity = ${f.entita}` : tx`true`}
        and ${from.iso ? tx`at >= (${from.iso}::date)::timestamp at time zone 'Europe/Rome'` : tx`true`}
        and ${to.iso ? tx`at < (${to.iso}::date + 1)::timestamp at time zone 'Europe/Rome'` : tx`true`}
      order by at desc, id desc limit ${PAGE_SIZE + 1} offset ${(f.pagina - 1) * PAGE_SIZE}`
    return { actors, entities, rows }
  })
  const t = c.var.t
  const fields: Record<string, string> = {}
  if (from.bad) fields.dal = t('backoffice.audit.badDate')
  if (to.bad) fields.al = t('backoffice.audit.badDate')
  const errors = Object.keys(fields).length
    ? { summary: Object.keys(fields).map((k) => ({ text: fields[k] as string, href: `#${k}-day` })), fields }
    : undefined
  const query = new URLSearchParams()
  if (f.chi) query.set('chi', f.chi)
  if (f.entita) query.set('entita', f.entita)
  for (const [name, d] of [
    ['dal', from],
    ['al', to],
  ] as const)
    if (d.iso) {
      query.set(`${name}-day`, d.raw.d)
      query.set(`${name}-month`, d.raw.m)
      query.set(`${name}-year`, d.raw.y)
    }
  const base = query.toString()
  return page(c, 'audit', {
    title: t('backoffice.audit.title'),
    actors,
    entities: entities.map((e) => ({
      value: e.entity,
      label: labelOr(t, `backoffice.audit.entityName.${e.entity}`, e.entity),
    })),
    entries: rows.slice(0, PAGE_SIZE).map((r) => ({
      ...r,
      actionLabel: labelOr(t, `backoffice.audit.action.${r.action}`, r.action),
      entityLabel: labelOr(t, `backoffice.audit.entityName.${r.entity}`, r.entity),
      changes: changes(r.before, r.after),
    })),
    filter: f,
    values: {
      chi: f.chi ?? '',
      entita: f.entita ?? '',
      'dal-day': from.raw.d,
      'dal-month': from.raw.m,
      'dal-year': from.raw.y,
      'al-day': to.raw.d,
      'al-month': to.raw.m,
      'al-year': to.raw.y,
    },
    prev: f.pagina > 1 ? `?${base}${base ? '&' : ''}pagina=${f.pagina - 1}` : null,
    next: rows.length > PAGE_SIZE ? `?${base}${base ? '&' : ''}pagina=${f.pagina + 1}` : null,
    errors,
  })
})
