// The office dashboard: this month's dues and collections, what is overdue, payments in progress, the last
// reconciliation run, applications waiting; two small charts drawn on the server as SVG, each with its table.
import type { Sql, Tx } from '../../platform/db.ts'
import { formatMoney } from '../../platform/money.ts'

export interface DashboardFigures {
  dueMonthCents: number
  dueMonthCount: number
  collectedMonthCents: number
  collectedMonthCount: number
  overdueCents: number
  overdueCount: number
  pendingCents: number
  pendingCount: number
  payers: number
  pupils: number
  documents: number
}

export interface MonthPoint {
  month: string // YYYY-MM
  dueCents: number
  collectedCents: number
}

export interface ServicePoint {
  service: string
  overdueCents: number
  overdueCount: number
}

/** 1 September of the school year that holds `today` ('YYYY-MM-DD'). */
export function schoolYearStart(today: string): string {
  const y = Number(today.slice(0, 4))
  const m = Number(today.slice(5, 7))
  return `${m >= 9 ? y : y - 1}-09-01`
}

export function schoolYearMonths(today: string): string[] {
  const start = schoolYearStart(today)
  const y = Number(start.slice(0, 4))
  return Array.from({ length: 12 }, (_, i) => {
    const m = 9 + i
    return `${m > 12 ? y + 1 : y}-${String(((m - 1) % 12) + 1).padStart(2, '0')}`
  })
}

export async function dashboardData(tx: Tx, today: string) {
  const monthStart = `${today.slice(0, 7)}-01`
  const yearStart = schoolYearStart(today)
  const [figures] = await tx<DashboardFigures[]>`
    with live as (
      select i.amount_cents, i.due_date, i.status from installments i join documents d on d.id = i.document_id
      where d.cancelled_at is null and i.status <> 'annullato'
    )
    select
      coalesce(sum(amount_cents) filter (where due_date >= ${monthStart}::date and due_date < (${monthStart}::date + interval '1 month')), 0)::bigint as "dueMonthCents",
      count(*) filter (where due_date >= ${monthStart}::date and due_date < (${monthStart}::date + interval '1 month'))::int as "dueMonthCount",
      coalesce(sum(amount_cents) filter (where status = 'da_pagare' and due_date < ${today}::date), 0)::bigint as "overdueCents",
      count(*) filter (where status = 'da_pagare' and due_date < ${today}::date)::int as "overdueCount",
      coalesce(sum(amount_cents) filter (where status = 'in_corso'), 0)::bigint as "pendingCents",
      count(*) filter (where status = 'in_corso')::int as "pendingCount",
      (select coalesce(sum(amount_cents), 0) from installment_payments
        where paid_at >= (${monthStart}::date)::timestamp at time zone 'Europe/Rome')::bigint as "collectedMonthCents",
      (select count(*) from installment_payments
        where paid_at >= (${monthStart}::date)::timestamp at time zone 'Europe/Rome')::int as "collectedMonthCount",
      (select count(*) from payers)::int as payers, (select count(*) from pupils)::int as pupils,
      (select count(*) from documents where cancelled_at is null)::int as documents
    from live`
  const due = await tx<{ month: string; cents: number }[]>`
    select to_char(i.due_date, 'YYYY-MM') as month, sum(i.amount_cents)::bigint as cents
    from installments i join documents d on d.id = i.document_id
    where d.cancelled_at is null and i.status <> 'annullato' and i.due_date >= ${yearStart}::date
      and i.due_date < (${yearStart}::date + interval '1 year')
    group by 1`
  const collected = await tx<{ month: string; cents: number }[]>`
    select to_char(paid_at at time zone 'Europe/Rome', 'YYYY-MM') as month, sum(amount_cents)::bigint as cents
    from installment_payments
    where paid_at >= (${yearStart}::date)::timestamp at time zone 'Europe/Rome'
      and paid_at < (${yearStart}::date + interval '1 year')::timestamp at time zone 'Europe/Rome'
    group by 1`
  const byService = await tx<ServicePoint[]>`
    select s.name as service, sum(i.amount_cents)::bigint as "overdueCents", count(*)::int as "overdueCount"
    from installments i join documents d on d.id = i.document_id join services s on s.id = d.service_id
    where d.cancelled_at is null and i.status = 'da_pagare' and i.due_date < ${today}::date
    group by s.name order by 2 desc, 1`
  const months: MonthPoint[] = schoolYearMonths(today).map((month) => ({
    month,
    dueCents: due.find((r) => r.month === month)?.cents ?? 0,
    collectedCents: collected.find((r) => r.month === month)?.cents ?? 0,
  }))
  // applications belong to another feature: counted only where its table exists in this schema
  let applications: number | null = null
  const [hasApplications] = await tx<{ ok: boolean }[]>`
    select exists (select 1 from information_schema.columns
      where table_schema = current_schema() and table_name = 'applications' and column_name = 'status') as ok`
  if (hasApplications?.ok) {
    try {
      const [r] = await tx.savepoint(
        (sp) => sp<{ n: number }[]>`
          select count(*)::int as n from applications where status in ('inviata', 'in_lavorazione')`,
      )
      applications = r?.n ?? 0
    } catch {
      applications = null
    }
  }
  return { figures: figures as DashboardFigures, months, byService, applications }
}

export interface LastRun {
  startedAt: Date
  finishedAt: Date | null
  outcome: string | null
}

/** The last run of the reconciliation job (platform.job_runs), or null when there is none or no such table. */
export async function lastReconciliation(sql: Sql): Promise<LastRun | null> {
  const [exists] = await sql<{ ok: boolean }[]>`select to_regclass('platform.job_runs') is not null as ok`
  if (!exists?.ok) return null
  const [row] = await sql<{ started_at: Date; finished_at: Date | null; outcome: string | null }[]>`
    select started_at, finished_at, outcome from platform.job_runs where job = 'reconciliation'
    order by started_at desc limit 1`
  return row ? { startedAt: row.started_at, finishedAt: row.finished_at, outcome: row.outcome } : null
}

// ---- SVG charts: plain bars, a text alternative, no script; the table beside each carries the data

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string)

const DUE_FILL = '#0b4f9c'
const COLLECTED_FILL = '#0b6b35'

/** Collected vs due per month: two bars per month, month initials below, a legend in words. */
export function monthsChart(
  points: MonthPoint[],
  labels: {
    id: string
    title: string
    desc: string
    due: string
    collected: string
    monthShort: (m: string) => string
  },
): string {
  const W = 640
  const H = 240
  const left = 8
  const bottom = 40
  const top = 30
  const max = Math.max(1, ...points.flatMap((p) => [p.dueCents, p.collectedCents]))
  const slot = (W - left * 2) / points.length
  const bar = Math.max(4, slot / 2 - 4)
  const scale = (v: number) => ((H - bottom - top) * v) / max
  const bars = points
    .map((p, i) => {
      const x = left + i * slot + 2
      const hd = scale(p.dueCents)
      const hc = scale(p.collectedCents)
      return [
        `<rect x="${x.toFixed(1)}" y="${(H - bottom - hd).toFixed(1)}" width="${bar.toFixed(1)}" height="${hd.toFixed(1)}" fill="${DUE_FILL}"/>`,
        `<rect x="${(x + bar + 2).toFixed(1)}" y="${(H - bottom - hc).toFixed(1)}" width="${bar.toFixed(1)}" height="${hc.toFixed(1)}" fill="${COLLECTED_FILL}" stroke="#1a1a1a" stroke-width="1" stroke-dasharray="3 2"/>`,
        `<text x="${(x + bar).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle" font-size="12" fill="#1a1a1a">${esc(labels.monthShort(p.month))}</text>`,
      ].join('')
    })
    .join('')
  const legend =
    `<rect x="${left}" y="6" width="14" height="14" fill="${DUE_FILL}"/>` +
    `<text x="${left + 20}" y="18" font-size="13" fill="#1a1a1a">${esc(labels.due)}</text>` +
    `<rect x="${left + 200}" y="6" width="14" height="14" fill="${COLLECTED_FILL}" stroke="#1a1a1a" stroke-dasharray="3 2"/>` +
    `<text x="${left + 220}" y="18" font-size="13" fill="#1a1a1a">${esc(labels.collected)}</text>`
  return (
    `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${labels.id}-title ${labels.id}-desc" focusable="false">` +
    `<title id="${labels.id}-title">${esc(labels.title)}</title><desc id="${labels.id}-desc">${esc(labels.desc)}</desc>` +
    `<line x1="${left}" y1="${H - bottom}" x2="${W - left}" y2="${H - bottom}" stroke="#1a1a1a"/>${legend}${bars}</svg>`
  )
}

/** Overdue amount per service: horizontal bars with the service name and the amount written beside. */
export function servicesChart(
  points: ServicePoint[],
  labels: { id: string; title: string; desc: string; lang: 'it' | 'en' },
): string {
  const W = 640
  const row = 30
  const H = Math.max(1, points.length) * row + 10
  const labelW = 200
  const amountW = 110
  const max = Math.max(1, ...points.map((p) => p.overdueCents))
  const bars = points
    .map((p, i) => {
      const y = 5 + i * row
      const w = ((W - labelW - amountW) * p.overdueCents) / max
      const name = p.service.length > 28 ? `${p.service.slice(0, 27)}…` : p.service
      return (
        `<text x="0" y="${y + 17}" font-size="13" fill="#1a1a1a">${esc(name)}</text>` +
        `<rect x="${labelW}" y="${y + 4}" width="${Math.max(2, w).toFixed(1)}" height="${row - 10}" fill="#b3261e"/>` +
        `<text x="${(labelW + Math.max(2, w) + 6).toFixed(1)}" y="${y + 17}" font-size="13" fill="#1a1a1a">${esc(formatMoney(p.overdueCents, labels.lang))}</text>`
      )
    })
    .join('')
  return (
    `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${labels.id}-title ${labels.id}-desc" focusable="false">` +
    `<title id="${labels.id}-title">${esc(labels.title)}</title><desc id="${labels.id}-desc">${esc(labels.desc)}</desc>${bars}</svg>`
  )
}
