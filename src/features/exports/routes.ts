// The office's exports (decision 0098): payments, refunds and pagoPA receipts of a period as CSV for accounting, the
// debtors through the payment control's export, and the yearly files for the Agenzia delle Entrate with their
// summary. Every download is in the activity log (who took which personal data out).
import type { Context } from 'hono'
import { Hono } from 'hono'
import { actorOf, audit } from '../../platform/audit.ts'
import { todayRome } from '../../platform/dates.ts'
import { withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import type { Env } from '../../platform/http.ts'
import type { FormErrors } from '../../platform/render.ts'
import { joinDate, page, parseItalianDate, readers, splitDate, tenantOf } from '../backoffice/common.ts'
import { paymentsCsv, receiptsCsv, refundsCsv, taxSummaryCsv } from './csv.ts'
import { type Period, paymentsOf, receiptsOf, refundsOf, taxLines } from './queries.ts'
import { records, type Supply, taxFile } from './tax-file.ts'

export const exportRoutes = new Hono<Env>()

const BASE = '/t/:tenant/ufficio/esportazioni'

/** The period of the query (three-field dates dal and al), this year so far when absent; errors for the page. */
function periodOf(c: Context<Env>): { period: Period | null; values: Record<string, string>; errors?: FormErrors } {
  const q = c.req.query()
  const today = todayRome()
  const given = ['dal', 'al'].some((n) => ['day', 'month', 'year'].some((p) => (q[`${n}-${p}`] ?? '').trim()))
  if (!given) {
    const from = `${today.slice(0, 4)}-01-01`
    const values: Record<string, string> = {}
    for (const [n, iso] of [
      ['dal', from],
      ['al', today],
    ] as const) {
      const s = splitDate(iso)
      values[`${n}-day`] = s.day
      values[`${n}-month`] = s.month
      values[`${n}-year`] = s.year
    }
    return { period: { from, to: today }, values }
  }
  const t = c.var.t
  const fields: Record<string, string> = {}
  const parsed: Record<string, string | null> = {}
  for (const n of ['dal', 'al']) {
    const raw = joinDate(q, n)
    parsed[n] = raw ? parseItalianDate(raw) : null
    if (!raw) fields[n] = t(`exports.errors.${n}Required`)
    else if (!parsed[n]) fields[n] = t(`exports.errors.${n}Invalid`)
  }
  if (!Object.keys(fields).length && (parsed.al as string) < (parsed.dal as string))
    fields.al = t('exports.errors.alBeforeDal')
  const values = Object.fromEntries(
    ['dal', 'al'].flatMap((n) =>
      ['day', 'month', 'year'].map((p) => [`${n}-${p}`, (q[`${n}-${p}`] ?? '').slice(0, 8)]),
    ),
  )
  if (Object.keys(fields).length) {
    const names = ['dal', 'al'].filter((n) => fields[n])
    return {
      period: null,
      values,
      errors: { summary: names.map((n) => ({ text: fields[n] as string, href: `#${n}-day` })), fields },
    }
  }
  return { period: { from: parsed.dal as string, to: parsed.al as string }, values }
}

async function exportsPage(c: Context<Env>) {
  const p = periodOf(c)
  const years = await withTenant(
    c.var.deps.db.sql,
    tenantOf(c),
    (tx) => tx<{ y: number }[]>`
      select distinct extract(year from paid_at at time zone 'Europe/Rome')::int as y from installment_payments
      order by y desc`,
  )
  const thisYear = Number(todayRome().slice(0, 4))
  const list = [...new Set([thisYear - 1, thisYear, ...years.map((r) => r.y)])].sort((a, b) => b - a)
  return page(c, 'exports', {
    title: c.var.t('exports.title'),
    values: p.values,
    errors: p.errors,
    query: new URLSearchParams(p.values).toString(),
    years: list,
    taxYear: thisYear - 1,
  })
}

exportRoutes.get(BASE, readers, (c) => exportsPage(c))

const FILES = ['pagamenti', 'rimborsi', 'ricevute'] as const

exportRoutes.get(`${BASE}/:file{(?:pagamenti|rimborsi|ricevute)\\.csv}`, readers, async (c) => {
  const what = c.req.param('file').replace('.csv', '') as (typeof FILES)[number]
  const p = periodOf(c)
  if (!p.period) return exportsPage(c)
  const period = p.period
  const t = c.var.t
  const tenant = tenantOf(c)
  const body = await withTenant(c.var.deps.db.sql, tenant, async (tx) => {
    await audit(tx, actorOf(c.var.user), {
      action: 'exports.download',
      entity: 'export',
      after: { file: what, ...period },
    })
    if (what === 'pagamenti') return paymentsCsv(t, await paymentsOf(tx, period))
    if (what === 'rimborsi') return refundsCsv(t, await refundsOf(tx, period))
    return receiptsCsv(t, await receiptsOf(tx, period))
  })
  c.header('Content-Type', 'text/csv; charset=utf-8')
  c.header('Content-Disposition', `attachment; filename="${what}-${tenant.slug}-${period.from}-${period.to}.csv"`)
  c.header('Cache-Control', 'private, no-store')
  return c.body(body)
})

// the yearly files for the Agenzia delle Entrate: one per supply, and the summary of both
exportRoutes.get(
  `${BASE}/agenzia-entrate/:file{(?:scol|nido|riepilogo)-[0-9]{4}\\.(?:txt|csv)}`,
  readers,
  async (c) => {
    const [name, ext] = c.req.param('file').split('.') as [string, string]
    const [what, yearText] = name.split('-') as [string, string]
    const year = Number(yearText)
    if (year < 2017 || year > Number(todayRome().slice(0, 4)) || (what === 'riepilogo') !== (ext === 'csv'))
      throw new NotFound()
    const tenant = tenantOf(c)
    const lines = await taxLines(c.var.deps.db, tenant, year)
    await withTenant(c.var.deps.db.sql, tenant, (tx) =>
      audit(tx, actorOf(c.var.user), { action: 'exports.download', entity: 'export', after: { file: name, year } }),
    )
    c.header('Cache-Control', 'private, no-store')
    if (what === 'riepilogo') {
      const parts = (['SCOL', 'NIDO'] as const).map((s) => ({ supply: s, ...records(lines, s) }))
      c.header('Content-Type', 'text/csv; charset=utf-8')
      c.header('Content-Disposition', `attachment; filename="agenzia-entrate-riepilogo-${tenant.slug}-${year}.csv"`)
      return c.body(taxSummaryCsv(c.var.t, parts))
    }
    const supply: Supply = what === 'nido' ? 'NIDO' : 'SCOL'
    const text = taxFile(records(lines, supply).records, {
      supply,
      year,
      body: { fiscalCode: tenant.fiscalCode, name: tenant.name, address: tenant.contacts.address },
      today: todayRome(),
    })
    c.header('Content-Type', 'text/plain; charset=us-ascii')
    c.header('Content-Disposition', `attachment; filename="${supply}-${tenant.fiscalCode}-${year}.txt"`)
    return c.body(text)
  },
)
