// Payment control (controllo pagamenti) for office staff: per payer, per pupil, the debtors and the payments
// received, with filters and CSV exports. Every staff role reads; nothing here changes data.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { actorOf, audit } from '../../platform/audit.ts'
import { todayRome } from '../../platform/dates.ts'
import { withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import type { Env } from '../../platform/http.ts'
import { render } from '../../platform/render.ts'
import { requireStaff } from '../../platform/roles.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { debtorsCsv, payersCsv, paymentsCsv, pupilsCsv, servicesCsv } from './csv.ts'
import {
  byPayer,
  byPupil,
  byService,
  type ControlFilter,
  debtors,
  filterRange,
  INSTALLMENT_STATES,
  PAGE_SIZE,
  PAYMENT_STATES,
  payments,
  platformItems,
  schoolYearMonths,
  schoolYearOf,
  schoolYears,
  services,
  totals,
} from './queries.ts'
import { sourceLabel } from './sources.ts'

export const controlRoutes = new Hono<Env>()

const readers = requireStaff('admin', 'operatore', 'lettore')

export const VIEWS = ['pagatori', 'alunni', 'morosi', 'transazioni'] as const
type View = (typeof VIEWS)[number]

/** Filters come from a GET form: anything unexpected falls back to its default, never an error. */
export function parseFilter(query: Record<string, string>, today: string): ControlFilter {
  const current = schoolYearOf(today)
  const q = z
    .object({
      servizio: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional().catch(undefined),
      anno: z
        .union([z.literal('tutti'), z.coerce.number().int().min(2000).max(2100)])
        .optional()
        .catch(undefined),
      periodo: z
        .string()
        .regex(/^\d{4}-(0[1-9]|1[0-2])$/)
        .optional()
        .catch(undefined),
      stato: z.enum(INSTALLMENT_STATES).catch('tutti'),
      esito: z.enum(PAYMENT_STATES).catch('tutti'),
      pagina: z.coerce.number().int().min(1).max(100_000).catch(1),
    })
    .parse(query)
  const schoolYear = q.anno === 'tutti' ? null : (q.anno ?? current)
  // a month only means something inside the chosen school year
  const month = schoolYear && q.periodo && schoolYearMonths(schoolYear).includes(q.periodo) ? q.periodo : null
  return {
    serviceId: q.servizio ?? null,
    schoolYear,
    month,
    state: q.stato,
    paymentState: q.esito,
    page: q.pagina,
  }
}

/** The query string of a filter (for links between the views, pages and exports). */
export function filterQuery(f: ControlFilter, page = 1): string {
  const p = new URLSearchParams()
  if (f.serviceId) p.set('servizio', String(f.serviceId))
  p.set('anno', f.schoolYear ? String(f.schoolYear) : 'tutti')
  if (f.month) p.set('periodo', f.month)
  if (f.state !== 'tutti') p.set('stato', f.state)
  if (f.paymentState !== 'tutti') p.set('esito', f.paymentState)
  if (page > 1) p.set('pagina', String(page))
  return p.toString()
}

function tenantOf(c: Context<Env>): Tenant {
  const t = c.var.tenant
  if (!t) throw new NotFound()
  return t
}

async function controlPage(c: Context<Env>, view: View) {
  const tenant = tenantOf(c)
  const today = todayRome()
  const f = parseFilter(c.req.query(), today)
  // the platform's payments first (the tenant role may not read them), then one tenant transaction
  const items = view === 'transazioni' ? await platformItems(c.var.deps.db.sql, tenant.id, filterRange(f)) : []
  const data = await withTenant(c.var.deps.db.sql, tenant, async (tx) => {
    const common = { services: await services(tx), years: await schoolYears(tx) }
    if (view === 'transazioni') return { ...common, rows: await payments(tx, f, items, PAGE_SIZE) }
    const sum = await totals(tx, f, today)
    if (view === 'pagatori')
      return {
        ...common,
        totals: sum,
        perService: await byService(tx, f, today),
        rows: await byPayer(tx, f, today, PAGE_SIZE),
      }
    if (view === 'alunni') return { ...common, totals: sum, rows: await byPupil(tx, f, today, PAGE_SIZE) }
    return { ...common, totals: sum, rows: await debtors(tx, f, today, PAGE_SIZE) }
  })
  const years = [...new Set([schoolYearOf(today), ...data.years])].sort((a, b) => b - a)
  const rowsTotal = (data.rows[0] as { rows_total?: number } | undefined)?.rows_total ?? 0
  return render(c, 'control/index', {
    title: c.var.t(`control.view.${view}.title`),
    view,
    views: VIEWS,
    filter: f,
    query: filterQuery(f),
    pageQuery: (n: number) => filterQuery(f, n),
    months: f.schoolYear ? schoolYearMonths(f.schoolYear) : [],
    years,
    services: data.services,
    totals: 'totals' in data ? data.totals : null,
    perService: 'perService' in data ? data.perService : [],
    rows: data.rows,
    rowsTotal,
    pages: Math.max(1, Math.ceil(rowsTotal / PAGE_SIZE)),
    pageSize: PAGE_SIZE,
    today,
    base: `/t/${tenant.slug}/ufficio/pagamenti`,
    sourceLabel: (p: string) => sourceLabel(c.var.t, p),
  })
}

controlRoutes.get('/t/:tenant/ufficio/pagamenti', readers, (c) => controlPage(c, 'pagatori'))
controlRoutes.get('/t/:tenant/ufficio/pagamenti/:view{(?:alunni|morosi|transazioni)}', readers, (c) =>
  controlPage(c, c.req.param('view') as View),
)

const EXPORTS = ['servizi', 'pagatori', 'alunni', 'morosi', 'transazioni'] as const
type Export = (typeof EXPORTS)[number]

controlRoutes.get(
  '/t/:tenant/ufficio/pagamenti/esporta/:file{(?:servizi|pagatori|alunni|morosi|transazioni)\\.csv}',
  readers,
  async (c) => {
    const tenant = tenantOf(c)
    const t = c.var.t
    const today = todayRome()
    const what = c.req.param('file').replace('.csv', '') as Export
    if (!EXPORTS.includes(what)) throw new NotFound()
    const f = parseFilter(c.req.query(), today)
    const items = what === 'transazioni' ? await platformItems(c.var.deps.db.sql, tenant.id, filterRange(f)) : []
    const body = await withTenant(c.var.deps.db.sql, tenant, async (tx) => {
      // an export carries personal data out of the service: the audit log says who took what
      await audit(tx, actorOf(c.var.user), {
        action: 'control.export',
        entity: 'controllo_pagamenti',
        after: { export: what, filter: filterQuery(f) },
      })
      switch (what) {
        case 'servizi':
          return servicesCsv(t, await byService(tx, f, today))
        case 'pagatori':
          return payersCsv(t, await byPayer(tx, f, today, null))
        case 'alunni':
          return pupilsCsv(t, await byPupil(tx, f, today, null))
        case 'morosi':
          return debtorsCsv(t, await debtors(tx, f, today, null), today)
        default:
          return paymentsCsv(t, await payments(tx, f, items, null))
      }
    })
    const name = `${what}-${tenant.slug}-${today}.csv`
    c.header('Content-Type', 'text/csv; charset=utf-8')
    c.header('Content-Disposition', `attachment; filename="${name}"`)
    c.header('Cache-Control', 'private, no-store')
    return c.body(body)
  },
)
