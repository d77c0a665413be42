// The canteen's pupils in the office: the list with tariff, meals, net due and balance (filters, CSV), and today's
// counts for the kitchen.
import { stringify } from 'csv-stringify/sync'
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { addDays, todayRome } from '../../../platform/dates.ts'
import { parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { formatDecimalIt } from '../../../platform/money.ts'
import { classLabel, dayInWords } from '../common.ts'
import {
  type EnrollmentRow,
  kitchenCounts,
  listClasses,
  listEnrollments,
  listSchools,
  listTariffs,
} from '../queries.ts'
import { defaultPeriod, isoOrNull, schoolYearBounds, schoolYearOf, yearFromParam, yearToParam } from '../rules.ts'
import { dateHrefs, dateValues, withDates } from '../schema.ts'
import { type Wallet, wallets } from '../service.ts'
import { inTenant, OFFICE, office, page, readers, strings, tenantOf } from './common.ts'

export const pupilListRoutes = new Hono<Env>()

// ---- pupils in the canteen

const listFilter = z.object({
  anno: z.string().optional().catch(undefined),
  scuola: z.coerce.number().int().positive().optional().catch(undefined),
  classe: z.coerce.number().int().positive().optional().catch(undefined),
  tariffa: z.coerce.number().int().positive().optional().catch(undefined),
  cerca: z.string().trim().max(60).optional().catch(undefined),
})

interface PupilLine {
  e: EnrollmentRow
  classText: string
  wallet: Wallet | undefined
}

async function pupilList(c: Context<Env>) {
  const f = listFilter.parse(c.req.query())
  const today = todayRome()
  const year = yearFromParam(f.anno) ?? schoolYearOf(today)
  const bounds = schoolYearBounds(year)
  const to = defaultPeriod(year, today).to
  return inTenant(c, async (tx) => {
    const [schools, classes, tariffs, years] = await Promise.all([
      listSchools(tx),
      listClasses(tx),
      listTariffs(tx, today),
      tx<{ label: string }[]>`
        select label from canteen_school_years union select school_year from canteen_enrollments order by 1 desc`,
    ])
    let rows = await listEnrollments(tx, year, to, { schoolId: f.scuola, classId: f.classe, tariffId: f.tariffa })
    if (f.cerca) {
      const q = f.cerca.toLowerCase()
      rows = rows.filter((r) =>
        `${r.givenName} ${r.familyName} ${r.familyName} ${r.codiceFiscale ?? ''}`.toLowerCase().includes(q),
      )
    }
    const money = await wallets(
      tx,
      rows.map((r) => r.pupilId),
      bounds.from,
      to,
    )
    const lines: PupilLine[] = rows.map((e) => ({ e, classText: classLabel(c.var.t, e), wallet: money.get(e.pupilId) }))
    const sum = (k: keyof Wallet) => lines.reduce((s, l) => s + ((l.wallet?.[k] as number) ?? 0), 0)
    return {
      filter: f,
      year,
      years: [...new Set([year, ...years.map((y) => y.label)])].sort().reverse(),
      from: bounds.from,
      to,
      schools,
      classes,
      tariffs,
      lines,
      totals: {
        meals: sum('meals'),
        reductions: sum('reductionsCents'),
        consumed: sum('consumedCents'),
        paid: sum('paidNoticeCents') + sum('paidSiteCents'),
        balance: sum('balanceCents'),
      },
    }
  })
}

pupilListRoutes.get(OFFICE, readers, async (c) => {
  const data = await pupilList(c)
  const q = new URLSearchParams(strings(c.req.query()))
  q.set('anno', yearToParam(data.year))
  return page(c, 'pupils', {
    title: c.var.t('canteen.office.title'),
    ...data,
    yearToParam,
    csvHref: `${office(c)}/export.csv?${q}`,
  })
})

/** Text typed by people may start like a spreadsheet formula: such cells get a leading apostrophe. */
function cell(v: string | null | undefined): string {
  if (!v) return ''
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v
}

pupilListRoutes.get(`${OFFICE}/export.csv`, readers, async (c) => {
  const t = c.var.t
  const data = await pupilList(c)
  const header = [
    'service',
    'familyName',
    'givenName',
    'cf',
    'tariff',
    'price',
    'reductions',
    'meals',
    'netDue',
    'paidNotice',
    'paidSite',
    'balance',
    'schoolKind',
    'school',
    'class',
    'status',
  ].map((k) => t(`canteen.csv.${k}`))
  const rows = data.lines.map(({ e, wallet: w }) => [
    t('canteen.csv.serviceName'),
    cell(e.familyName),
    cell(e.givenName),
    e.codiceFiscale ?? '',
    cell(e.tariffName),
    e.priceCents === null ? '' : formatDecimalIt(e.priceCents),
    formatDecimalIt(w?.reductionsCents ?? 0),
    w?.meals ?? 0,
    formatDecimalIt(w?.consumedCents ?? 0),
    formatDecimalIt(w?.paidNoticeCents ?? 0),
    formatDecimalIt(w?.paidSiteCents ?? 0),
    formatDecimalIt(w?.balanceCents ?? 0),
    e.schoolKind ? t(`canteen.schoolKind.${e.schoolKind}`) : '',
    cell(e.schoolName),
    cell(e.className ? `${e.className}${e.classNote ? ` (${e.classNote})` : ''}` : ''),
    t(`canteen.enrollmentStatus.${e.status}`),
  ])
  const csv = stringify([header, ...rows], {
    bom: true,
    delimiter: ';',
    record_delimiter: 'windows',
    quoted_string: false,
  })
  c.header('Content-Type', 'text/csv; charset=utf-8')
  c.header('Content-Disposition', `attachment; filename="mensa-${tenantOf(c).slug}-${yearToParam(data.year)}.csv"`)
  c.header('Cache-Control', 'private, no-store')
  return c.body(csv)
})

// ---- the kitchen: today's counts per school

pupilListRoutes.get(`${OFFICE}/cucina`, readers, async (c) => {
  const today = todayRome()
  const values = withDates(c.req.query(), ['giorno'])
  const parsed = parseWith(
    z.object({ giorno: z.string().optional() }).transform((v, ctx) => {
      if (!v.giorno) return today
      const [d = '', m = '', y = ''] = v.giorno.split('/')
      const iso = isoOrNull(`${y.trim()}-${m.trim().padStart(2, '0')}-${d.trim().padStart(2, '0')}`)
      if (!iso) {
        ctx.addIssue({ code: 'custom', path: ['giorno'], message: 'canteen.errors.dayInvalid' })
        return z.NEVER
      }
      return iso
    }),
    values,
    c.var.t,
    ['giorno'],
    dateHrefs(['giorno']),
  )
  const day = parsed.ok ? parsed.data : today
  const rows = await inTenant(c, (tx) => kitchenCounts(tx, day))
  const schools = new Map<string, { name: string; rows: typeof rows; served: number; light: number; absent: number }>()
  for (const r of rows) {
    const key = String(r.schoolId ?? 0)
    const name = r.schoolName
      ? `${c.var.t(`canteen.schoolKind.${r.schoolKind}`)} ${r.schoolName}`
      : c.var.t('canteen.noClass')
    const s = schools.get(key) ?? { name, rows: [], served: 0, light: 0, absent: 0 }
    s.rows.push(r)
    s.served += r.served
    s.light += r.light
    s.absent += r.absent
    schools.set(key, s)
  }
  const list = [...schools.values()]
  const q = (d: string) => new URLSearchParams(dateValues('giorno', d)).toString()
  return page(c, 'kitchen', {
    title: c.var.t('canteen.kitchen.title'),
    day,
    dayText: dayInWords(c.var.t, day),
    schools: list,
    total: {
      served: list.reduce((s, x) => s + x.served, 0),
      light: list.reduce((s, x) => s + x.light, 0),
      absent: list.reduce((s, x) => s + x.absent, 0),
    },
    values: parsed.ok ? dateValues('giorno', day) : values,
    errors: parsed.ok ? undefined : parsed.errors,
    prevHref: `${office(c)}/cucina?${q(addDays(day, -1))}`,
    nextHref: `${office(c)}/cucina?${q(addDays(day, 1))}`,
    prevText: dayInWords(c.var.t, addDays(day, -1)),
    nextText: dayInWords(c.var.t, addDays(day, 1)),
    isToday: day === today,
  })
})
