// The canteen in the office: pupils with tariff, meals, net due and balance (filters, CSV), today's counts for
// the kitchen, each pupil's enrollment, wallet and attendance (any day, audited), and the canteen's catalog:
// schools and classes, the school calendar, tariffs and their prices. Every role reads; admin and operatore
// record attendance, enrollments and adjustments; only admin changes the catalog.
import { stringify } from 'csv-stringify/sync'
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { actorOf, audit } from '../../platform/audit.ts'
import { addDays, todayRome } from '../../platform/dates.ts'
import { type Tx, withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { formatDecimalIt } from '../../platform/money.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireStaff } from '../../platform/roles.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { newToken } from '../../platform/tokens.ts'
import { calendarGrid, classLabel, dateError, dayInWords, monthInWords } from './common.ts'
import {
  type EnrollmentRow,
  kitchenCounts,
  ledgerEntries,
  listClasses,
  listClosures,
  listEnrollments,
  listSchools,
  listSchoolYears,
  listTariffs,
  pupilDays,
  SCHOOL_KINDS,
} from './queries.ts'
import {
  defaultPeriod,
  isMonth,
  isoOrNull,
  monthBounds,
  monthOf,
  schoolYearBounds,
  schoolYearOf,
  shiftMonth,
  yearFromParam,
  yearToParam,
} from './rules.ts'
import {
  ADJUSTMENT_ORDER,
  adjustmentForm,
  CLASS_ORDER,
  CLOSURE_ORDER,
  classForm,
  closureForm,
  dateHrefs,
  dateValues,
  ENROLL_ORDER,
  ENROLLMENT_ORDER,
  enrollForm,
  enrollmentEditForm,
  newTariffForm,
  officeDayForm,
  PRICE_ORDER,
  priceForm,
  SCHOOL_ORDER,
  schoolForm,
  TARIFF_CHANGE_ORDER,
  TARIFF_ORDER,
  tariffChangeForm,
  tariffForm,
  withDates,
  YEAR_ORDER,
  yearForm,
} from './schema.ts'
import { addAdjustment, enrollInCanteen, officeRecord, setEnrollmentTariff, type Wallet, wallets } from './service.ts'

export const canteenOfficeRoutes = new Hono<Env>()

const readers = requireStaff('admin', 'operatore', 'lettore')
const writers = requireStaff('admin', 'operatore')
const admins = requireStaff('admin')

const OFFICE = '/t/:tenant/ufficio/mensa'
const ID = ':id{[1-9][0-9]{0,15}}'
const PUPIL = ':pupil{[1-9][0-9]{0,15}}'
const MONTH = ':month{[0-9]{4}-[0-9]{2}}'
const DAY = ':day{[0-9]{4}-[0-9]{2}-[0-9]{2}}'

function tenantOf(c: Context<Env>): Tenant {
  const t = c.var.tenant
  if (!t) throw new NotFound()
  return t
}

function office(c: Context<Env>, rest = ''): string {
  return `/t/${tenantOf(c).slug}/ufficio/mensa${rest}`
}

function inTenant<T>(c: Context<Env>, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return withTenant(c.var.deps.db.sql, tenantOf(c), fn)
}

function idParam(c: Context<Env>, name: string): number {
  const n = Number(c.req.param(name))
  if (!Number.isSafeInteger(n) || n < 1) throw new NotFound()
  return n
}

function strings(v: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x.slice(0, 400)
  return out
}

/** Form values with the days of the week (checkboxes giorni-1 … giorni-7) gathered into giorni: ['1', …]. */
function withArrays(v: Record<string, string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x.slice(0, 400)
  out.giorni = ['1', '2', '3', '4', '5', '6', '7'].filter((d) => out[`giorni-${d}`] === 'si')
  return out
}

function page(
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
async function unlessTaken(tx: Tx, fn: (sp: Tx) => Promise<unknown>): Promise<boolean> {
  try {
    await tx.savepoint((sp) => fn(sp as unknown as Tx))
    return true
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === '23505' || code === '23P01') return false
    throw err
  }
}

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

canteenOfficeRoutes.get(OFFICE, readers, async (c) => {
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

canteenOfficeRoutes.get(`${OFFICE}/export.csv`, readers, async (c) => {
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

canteenOfficeRoutes.get(`${OFFICE}/cucina`, readers, async (c) => {
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

// ---- one pupil: enrollment, tariff, wallet, movements, adjustments

async function pupilData(c: Context<Env>) {
  const pupilId = idParam(c, 'pupil')
  const today = todayRome()
  const year = yearFromParam(c.req.query('anno')) ?? schoolYearOf(today)
  const bounds = schoolYearBounds(year)
  const to = defaultPeriod(year, today).to
  return inTenant(c, async (tx) => {
    const [pupil] = await tx<{ id: number; givenName: string; familyName: string; codiceFiscale: string | null }[]>`
      select id, given_name as "givenName", family_name as "familyName", codice_fiscale as "codiceFiscale"
      from pupils where id = ${pupilId}`
    if (!pupil) throw new NotFound()
    const [enrollment] = await listEnrollments(tx, year, to, { pupilIds: [pupilId] })
    const payers = await tx<{ name: string; codiceFiscale: string; email: string | null; holder: boolean }[]>`
      select p.given_name || ' ' || p.family_name as name, p.codice_fiscale as "codiceFiscale", p.email, pp.holder
      from pupil_payers pp join payers p on p.id = pp.payer_id where pp.pupil_id = ${pupilId}
      order by pp.holder desc, p.family_name, p.given_name`
    const years = await tx<{ school_year: string }[]>`
      select school_year from canteen_enrollments where pupil_id = ${pupilId} order by school_year desc`
    return {
      pupil,
      year,
      years: [...new Set([year, ...years.map((y) => y.school_year)])].sort().reverse(),
      from: bounds.from,
      to,
      enrollment: enrollment ?? null,
      classText: enrollment ? classLabel(c.var.t, enrollment) : null,
      wallet: (await wallets(tx, [pupilId], bounds.from, to)).get(pupilId),
      entries: await ledgerEntries(tx, pupilId, bounds.from, bounds.to),
      payers,
      classes: await listClasses(tx),
      tariffs: await listTariffs(tx, to),
      today,
    }
  })
}

type PupilData = Awaited<ReturnType<typeof pupilData>>

function pupilPage(
  c: Context<Env>,
  d: PupilData,
  forms: { form?: string; values?: Record<string, string>; errors?: FormErrors } = {},
) {
  const e = d.enrollment
  const enrollmentValues = e
    ? {
        classe: e.classId ? String(e.classId) : 'nessuna',
        stato: e.status,
        ...dateValues('inizio', e.startDate),
        ...dateValues('fine', e.endDate),
        isee: e.iseeCents === null ? '' : formatDecimalIt(e.iseeCents),
      }
    : {}
  const values = (name: string, fallback: Record<string, string>) =>
    forms.form === name && forms.values ? forms.values : fallback
  const errorsOf = (name: string) => (forms.form === name ? forms.errors : undefined)
  const yearQ = `?anno=${yearToParam(d.year)}`
  return page(c, 'pupil', {
    title: c.var.t('canteen.office.pupil.title', { name: `${d.pupil.givenName} ${d.pupil.familyName}` }),
    ...d,
    errors: forms.errors,
    yearToParam,
    yearQ,
    base: office(c, `/alunni/${d.pupil.id}`),
    calendarHref: office(c, `/alunni/${d.pupil.id}/presenze/${monthOf(d.to)}`),
    enrollValues: values('iscrizione', enrollmentValues),
    enrollErrors: errorsOf('iscrizione'),
    tariffValues: values('tariffa', dateValues('dal', d.today)),
    tariffErrors: errorsOf('tariffa'),
    adjustValues: values('movimenti', { ...dateValues('data', d.today), chiave: newToken() }),
    adjustErrors: errorsOf('movimenti'),
    saved: forms.errors ? null : (c.req.query('salvato') ?? null),
  })
}

canteenOfficeRoutes.get(`${OFFICE}/alunni/${PUPIL}`, readers, async (c) => pupilPage(c, await pupilData(c)))

canteenOfficeRoutes.post(`${OFFICE}/alunni/${PUPIL}/iscrizione`, writers, async (c) => {
  const d = await pupilData(c)
  if (!d.enrollment) throw new NotFound()
  const enrollment = d.enrollment
  const values = withDates(await formValues(c), ['inizio', 'fine'])
  const parsed = parseWith(
    enrollmentEditForm(d.classes.map((k) => k.id)),
    values,
    c.var.t,
    ENROLLMENT_ORDER,
    dateHrefs(['inizio', 'fine']),
  )
  if (!parsed.ok) return pupilPage(c, d, { form: 'iscrizione', values, errors: parsed.errors })
  const v = parsed.data
  if (schoolYearOf(v.inizio) !== d.year) {
    return pupilPage(c, d, {
      form: 'iscrizione',
      values,
      errors: dateError(c.var.t, 'inizio', 'canteen.errors.startOutsideYear', { year: d.year }),
    })
  }
  await inTenant(c, async (tx) => {
    await tx`update canteen_enrollments set class_id = ${v.classe}, status = ${v.stato}, start_date = ${v.inizio},
               end_date = ${v.fine}, isee_cents = ${v.isee}, updated_at = now() where id = ${enrollment.id}`
    // the first tariff follows the start date, so the enrollment is never without one
    await tx`update canteen_enrollment_tariffs set valid_from = ${v.inizio}
             where enrollment_id = ${enrollment.id}
               and valid_from = (select min(valid_from) from canteen_enrollment_tariffs where enrollment_id = ${enrollment.id})
               and not exists (select 1 from canteen_enrollment_tariffs x where x.enrollment_id = ${enrollment.id}
                               and x.valid_from <= ${v.inizio}::date
                               and x.valid_from > (select min(valid_from) from canteen_enrollment_tariffs where enrollment_id = ${enrollment.id}))`
    await audit(tx, actorOf(c.var.user), {
      action: 'canteen.enrollment.update',
      entity: 'canteen_enrollment',
      entityId: enrollment.id,
      before: {
        classId: enrollment.classId,
        status: enrollment.status,
        startDate: enrollment.startDate,
        endDate: enrollment.endDate,
        iseeCents: enrollment.iseeCents,
      },
      after: { classId: v.classe, status: v.stato, startDate: v.inizio, endDate: v.fine, iseeCents: v.isee },
    })
  })
  return c.redirect(`${office(c, `/alunni/${d.pupil.id}`)}?anno=${yearToParam(d.year)}&salvato=iscrizione`, 303)
})

canteenOfficeRoutes.post(`${OFFICE}/alunni/${PUPIL}/tariffa`, writers, async (c) => {
  const d = await pupilData(c)
  if (!d.enrollment) throw new NotFound()
  const enrollment = d.enrollment
  const values = withDates(await formValues(c), ['dal'])
  const parsed = parseWith(
    tariffChangeForm(d.tariffs.map((t) => t.id)),
    values,
    c.var.t,
    TARIFF_CHANGE_ORDER,
    dateHrefs(['dal']),
  )
  if (!parsed.ok) return pupilPage(c, d, { form: 'tariffa', values, errors: parsed.errors })
  if (parsed.data.dal < enrollment.startDate || schoolYearOf(parsed.data.dal) !== d.year) {
    return pupilPage(c, d, {
      form: 'tariffa',
      values,
      errors: dateError(c.var.t, 'dal', 'canteen.errors.validFromOutside'),
    })
  }
  await inTenant(c, async (tx) => {
    await setEnrollmentTariff(tx, enrollment.id, parsed.data.tariffa as number, parsed.data.dal)
    await audit(tx, actorOf(c.var.user), {
      action: 'canteen.enrollment.tariff',
      entity: 'canteen_enrollment',
      entityId: enrollment.id,
      before: { tariffs: enrollment.tariffs },
      after: { tariffId: parsed.data.tariffa, validFrom: parsed.data.dal },
    })
  })
  return c.redirect(`${office(c, `/alunni/${d.pupil.id}`)}?anno=${yearToParam(d.year)}&salvato=tariffa`, 303)
})

canteenOfficeRoutes.post(`${OFFICE}/alunni/${PUPIL}/movimenti`, writers, async (c) => {
  const d = await pupilData(c)
  const form = strings(await formValues(c))
  const values = withDates(form, ['data'])
  const key = /^[A-Za-z0-9_-]{43}$/.test(form.chiave ?? '') ? (form.chiave as string) : newToken()
  const parsed = parseWith(adjustmentForm, values, c.var.t, ADJUSTMENT_ORDER, dateHrefs(['data']))
  if (!parsed.ok)
    return pupilPage(c, d, { form: 'movimenti', values: { ...values, chiave: key }, errors: parsed.errors })
  const v = parsed.data
  const opening = v.tipo === 'saldo_iniziale'
  const done = await inTenant(c, (tx) =>
    addAdjustment(tx, actorOf(c.var.user), d.pupil.id, {
      kind: v.tipo,
      amountCents: v.importo,
      // the opening balance is dated before the year, so the wallet shows it among previous debts/credits
      entryDate: opening ? addDays(d.from, -1) : (v.data as string),
      note: v.motivo,
      key: opening ? `saldo_iniziale:${d.pupil.id}:${d.year}` : `manuale:${key}`,
    }),
  )
  if (!done && opening) {
    return pupilPage(c, d, {
      form: 'movimenti',
      values: { ...values, chiave: key },
      errors: fieldError(c.var.t, 'tipo', 'canteen.errors.openingExists'),
    })
  }
  return c.redirect(`${office(c, `/alunni/${d.pupil.id}`)}?anno=${yearToParam(d.year)}&salvato=movimenti`, 303)
})

// ---- attendance of one pupil, any day

canteenOfficeRoutes.get(`${OFFICE}/alunni/${PUPIL}/presenze/${MONTH}`, readers, async (c) => {
  const tenant = tenantOf(c)
  const month = c.req.param('month') as string
  if (!isMonth(month)) throw new NotFound()
  const pupilId = idParam(c, 'pupil')
  const now = new Date()
  const { pupil, days } = await inTenant(c, async (tx) => {
    const [pupil] = await tx<{ id: number; givenName: string; familyName: string }[]>`
      select id, given_name as "givenName", family_name as "familyName" from pupils where id = ${pupilId}`
    if (!pupil) throw new NotFound()
    const { from, to } = monthBounds(month)
    return { pupil, days: await pupilDays(tx, pupil.id, from, to) }
  })
  const role = c.var.staffRole
  const canWrite = role === 'admin' || role === 'operatore'
  const pupilBase = office(c, `/alunni/${pupil.id}`)
  const done = c.req.query('esito') === 'giorno' ? isoOrNull(c.req.query('giorno')) : null
  return page(c, 'calendar', {
    title: c.var.t('canteen.calendar.title', { name: `${pupil.givenName} ${pupil.familyName}` }),
    pupil,
    month,
    monthText: monthInWords(c.var.t, month),
    prev: `${pupilBase}/presenze/${shiftMonth(month, -1)}`,
    next: `${pupilBase}/presenze/${shiftMonth(month, 1)}`,
    prevText: monthInWords(c.var.t, shiftMonth(month, -1)),
    nextText: monthInWords(c.var.t, shiftMonth(month, 1)),
    weeks: calendarGrid(c.var.t, month, days, {
      today: todayRome(now),
      cutoff: tenant.settings.cutoff,
      now,
      office: canWrite,
      dayHref: (d) => `${pupilBase}/giorno/${d}`,
    }).map((w) => w.map((cellValue) => (cellValue && !canWrite ? { ...cellValue, href: null } : cellValue))),
    meals: days.reduce((s, d) => s + d.meals, 0),
    cutoff: tenant.settings.cutoff,
    pupilHref: pupilBase,
    done: done ? { dayText: dayInWords(c.var.t, done) } : null,
  })
})

async function officeDay(c: Context<Env>) {
  const pupilId = idParam(c, 'pupil')
  const day = c.req.param('day') as string
  if (!isoOrNull(day)) throw new NotFound()
  return inTenant(c, async (tx) => {
    const [pupil] = await tx<{ id: number; givenName: string; familyName: string }[]>`
      select id, given_name as "givenName", family_name as "familyName" from pupils where id = ${pupilId}`
    if (!pupil) throw new NotFound()
    const [info] = await pupilDays(tx, pupil.id, day, day)
    const charges = await tx<
      { amountCents: number; meals: number; kind: string; actorName: string; note: string | null }[]
    >`
      select amount_cents as "amountCents", meals, kind, actor_name as "actorName", note from canteen_ledger
      where pupil_id = ${pupil.id} and entry_date = ${day} and kind in ('pasto', 'rettifica_pasto') order by id`
    return { pupil, day, info, charges }
  })
}

function officeDayPage(
  c: Context<Env>,
  d: Awaited<ReturnType<typeof officeDay>>,
  values?: Record<string, string>,
  errors?: FormErrors,
) {
  const pupilBase = office(c, `/alunni/${d.pupil.id}`)
  return page(c, 'day', {
    title: c.var.t('canteen.day.title', { day: dayInWords(c.var.t, d.day) }),
    ...d,
    dayText: dayInWords(c.var.t, d.day),
    current: d.info?.attendance ?? 'presente',
    values: values ?? { stato: d.info?.attendance ?? 'presente' },
    errors,
    action: `${pupilBase}/giorno/${d.day}`,
    back: `${pupilBase}/presenze/${monthOf(d.day)}`,
  })
}

canteenOfficeRoutes.get(`${OFFICE}/alunni/${PUPIL}/giorno/${DAY}`, writers, async (c) =>
  officeDayPage(c, await officeDay(c)),
)

canteenOfficeRoutes.post(`${OFFICE}/alunni/${PUPIL}/giorno/${DAY}`, writers, async (c) => {
  const d = await officeDay(c)
  const values = strings(await formValues(c))
  const parsed = parseWith(officeDayForm, values, c.var.t, ['stato', 'motivo'])
  if (!parsed.ok) return officeDayPage(c, d, values, parsed.errors)
  const status = parsed.data.stato === 'presente' ? null : parsed.data.stato
  await inTenant(c, (tx) => officeRecord(tx, actorOf(c.var.user), d.pupil.id, d.day, status, parsed.data.motivo))
  return c.redirect(
    `${office(c, `/alunni/${d.pupil.id}`)}/presenze/${monthOf(d.day)}?esito=giorno&giorno=${d.day}`,
    303,
  )
})

// ---- enrolling a pupil

async function enrollData(c: Context<Env>) {
  const today = todayRome()
  return inTenant(c, async (tx) => ({
    classes: await listClasses(tx, { activeOnly: true }),
    tariffs: (await listTariffs(tx, today)).filter((t) => t.active),
  }))
}

canteenOfficeRoutes.get(`${OFFICE}/iscrizioni/nuova`, writers, async (c) =>
  page(c, 'enroll', {
    title: c.var.t('canteen.office.enroll.title'),
    ...(await enrollData(c)),
    values: { cf: (c.req.query('cf') ?? '').slice(0, 16) },
  }),
)

canteenOfficeRoutes.post(`${OFFICE}/iscrizioni/nuova`, writers, async (c) => {
  const data = await enrollData(c)
  const values = withDates(await formValues(c), ['inizio'])
  const parsed = parseWith(
    enrollForm(
      data.classes.map((k) => k.id),
      data.tariffs.map((t) => t.id),
    ),
    values,
    c.var.t,
    ENROLL_ORDER,
    dateHrefs(['inizio']),
  )
  const title = c.var.t('canteen.office.enroll.title')
  if (!parsed.ok) return page(c, 'enroll', { title, ...data, values, errors: parsed.errors })
  const v = parsed.data
  const outcome = await inTenant(c, async (tx) => {
    const [pupil] = await tx<{ id: number }[]>`select id from pupils where codice_fiscale = ${v.cf}`
    if (!pupil) return null
    const [before] = await tx<{ id: number }[]>`
      select id from canteen_enrollments where pupil_id = ${pupil.id} and school_year = ${schoolYearOf(v.inizio)}`
    const id = await enrollInCanteen(tx, {
      pupilId: pupil.id,
      classId: v.classe,
      tariffId: v.tariffa,
      startDate: v.inizio,
    })
    if (!before) {
      await audit(tx, actorOf(c.var.user), {
        action: 'canteen.enrollment.create',
        entity: 'canteen_enrollment',
        entityId: id,
        after: { pupilId: pupil.id, classId: v.classe, tariffId: v.tariffa, startDate: v.inizio },
      })
    }
    return { pupilId: pupil.id, existed: !!before }
  })
  if (!outcome)
    return page(c, 'enroll', {
      title,
      ...data,
      values,
      errors: fieldError(c.var.t, 'cf', 'canteen.errors.pupilUnknown'),
    })
  if (outcome.existed) {
    return page(c, 'enroll', {
      title,
      ...data,
      values,
      errors: fieldError(c.var.t, 'cf', 'canteen.errors.alreadyEnrolled', { year: schoolYearOf(v.inizio) }),
    })
  }
  return c.redirect(
    `${office(c, `/alunni/${outcome.pupilId}`)}?anno=${yearToParam(schoolYearOf(v.inizio))}&salvato=iscritto`,
    303,
  )
})

// ---- schools and classes

async function schoolsData(c: Context<Env>) {
  return inTenant(c, async (tx) => ({ schools: await listSchools(tx), classes: await listClasses(tx) }))
}

canteenOfficeRoutes.get(`${OFFICE}/scuole`, readers, async (c) =>
  page(c, 'schools', {
    title: c.var.t('canteen.office.schools.title'),
    ...(await schoolsData(c)),
    kinds: SCHOOL_KINDS,
    values: { attiva: 'si', giorni: ['1', '2', '3', '4', '5'] },
    saved: c.req.query('salvato') ?? null,
  }),
)

canteenOfficeRoutes.post(`${OFFICE}/scuole`, admins, async (c) => {
  const values = strings(await formValues(c))
  const parsed = parseWith(schoolForm, values, c.var.t, SCHOOL_ORDER)
  const again = async (errors: FormErrors) =>
    page(c, 'schools', {
      title: c.var.t('canteen.office.schools.title'),
      ...(await schoolsData(c)),
      kinds: SCHOOL_KINDS,
      values: { ...values, giorni: ['1', '2', '3', '4', '5'] },
      form: 'scuola',
      errors,
    })
  if (!parsed.ok) return again(parsed.errors)
  const v = parsed.data
  const ok = await inTenant(c, async (tx) =>
    unlessTaken(tx, async (sp) => {
      const [row] = await sp<{ id: number }[]>`
        insert into canteen_schools (kind, name, address, active) values (${v.tipo}, ${v.nome}, ${v.indirizzo}, true)
        returning id`
      await audit(sp, actorOf(c.var.user), {
        action: 'canteen.school.create',
        entity: 'canteen_school',
        entityId: row?.id,
        after: { kind: v.tipo, name: v.nome, address: v.indirizzo },
      })
    }),
  )
  if (!ok) return again(fieldError(c.var.t, 'nome', 'canteen.errors.schoolTaken'))
  return c.redirect(`${office(c)}/scuole?salvato=scuola`, 303)
})

async function schoolOr404(tx: Tx, id: number) {
  const [s] = (await listSchools(tx)).filter((x) => x.id === id)
  if (!s) throw new NotFound()
  return s
}

canteenOfficeRoutes.get(`${OFFICE}/scuole/${ID}`, admins, async (c) => {
  const school = await inTenant(c, (tx) => schoolOr404(tx, idParam(c, 'id')))
  return page(c, 'school', {
    title: c.var.t('canteen.office.school.title', { name: school.name }),
    school,
    kinds: SCHOOL_KINDS,
    values: {
      tipo: school.kind,
      nome: school.name,
      indirizzo: school.address ?? '',
      attiva: school.active ? 'si' : '',
    },
  })
})

canteenOfficeRoutes.post(`${OFFICE}/scuole/${ID}`, admins, async (c) => {
  const id = idParam(c, 'id')
  const values = strings(await formValues(c))
  const parsed = parseWith(schoolForm, values, c.var.t, SCHOOL_ORDER)
  const school = await inTenant(c, (tx) => schoolOr404(tx, id))
  const again = (errors: FormErrors) =>
    page(c, 'school', {
      title: c.var.t('canteen.office.school.title', { name: school.name }),
      school,
      kinds: SCHOOL_KINDS,
      values,
      errors,
    })
  if (!parsed.ok) return again(parsed.errors)
  const v = parsed.data
  const ok = await inTenant(c, (tx) =>
    unlessTaken(tx, async (sp) => {
      await sp`update canteen_schools set kind = ${v.tipo}, name = ${v.nome}, address = ${v.indirizzo}, active = ${v.attiva}
               where id = ${id}`
      await audit(sp, actorOf(c.var.user), {
        action: 'canteen.school.update',
        entity: 'canteen_school',
        entityId: id,
        before: school,
        after: { kind: v.tipo, name: v.nome, address: v.indirizzo, active: v.attiva },
      })
    }),
  )
  if (!ok) return again(fieldError(c.var.t, 'nome', 'canteen.errors.schoolTaken'))
  return c.redirect(`${office(c)}/scuole?salvato=scuola`, 303)
})

canteenOfficeRoutes.post(`${OFFICE}/classi`, admins, async (c) => {
  const data = await schoolsData(c)
  const values = withArrays(await formValues(c))
  const parsed = parseWith(classForm(data.schools.map((s) => s.id)), values, c.var.t, CLASS_ORDER, { giorni: 'giorni' })
  const again = (errors: FormErrors) =>
    page(c, 'schools', {
      title: c.var.t('canteen.office.schools.title'),
      ...data,
      kinds: SCHOOL_KINDS,
      values,
      form: 'classe',
      errors,
    })
  if (!parsed.ok) return again(parsed.errors)
  const v = parsed.data
  const ok = await inTenant(c, (tx) =>
    unlessTaken(tx, async (sp) => {
      const [row] = await sp<{ id: number }[]>`
        insert into canteen_classes (school_id, name, note, weekdays, active)
        values (${v.scuola}, ${v.nomeClasse}, ${v.nota}, ${v.giorni}::smallint[], true) returning id`
      await audit(sp, actorOf(c.var.user), {
        action: 'canteen.class.create',
        entity: 'canteen_class',
        entityId: row?.id,
        after: { schoolId: v.scuola, name: v.nomeClasse, note: v.nota, weekdays: v.giorni },
      })
    }),
  )
  if (!ok) return again(fieldError(c.var.t, 'nomeClasse', 'canteen.errors.classTaken'))
  return c.redirect(`${office(c)}/scuole?salvato=classe`, 303)
})

async function classOr404(tx: Tx, id: number) {
  const [k] = (await listClasses(tx)).filter((x) => x.id === id)
  if (!k) throw new NotFound()
  return k
}

canteenOfficeRoutes.get(`${OFFICE}/classi/${ID}`, admins, async (c) => {
  const { klass, schools } = await inTenant(c, async (tx) => ({
    klass: await classOr404(tx, idParam(c, 'id')),
    schools: await listSchools(tx),
  }))
  return page(c, 'class', {
    title: c.var.t('canteen.office.class.title', { name: klass.name }),
    klass,
    schools,
    values: {
      scuola: String(klass.schoolId),
      nomeClasse: klass.name,
      nota: klass.note ?? '',
      giorni: klass.weekdays.map(String),
      attiva: klass.active ? 'si' : '',
    },
  })
})

canteenOfficeRoutes.post(`${OFFICE}/classi/${ID}`, admins, async (c) => {
  const id = idParam(c, 'id')
  const { klass, schools } = await inTenant(c, async (tx) => ({
    klass: await classOr404(tx, id),
    schools: await listSchools(tx),
  }))
  const values = withArrays(await formValues(c))
  const parsed = parseWith(classForm(schools.map((s) => s.id)), values, c.var.t, CLASS_ORDER, { giorni: 'giorni' })
  const again = (errors: FormErrors) =>
    page(c, 'class', {
      title: c.var.t('canteen.office.class.title', { name: klass.name }),
      klass,
      schools,
      values,
      errors,
    })
  if (!parsed.ok) return again(parsed.errors)
  const v = parsed.data
  const ok = await inTenant(c, (tx) =>
    unlessTaken(tx, async (sp) => {
      await sp`update canteen_classes set school_id = ${v.scuola}, name = ${v.nomeClasse}, note = ${v.nota},
                 weekdays = ${v.giorni}::smallint[], active = ${v.attiva} where id = ${id}`
      await audit(sp, actorOf(c.var.user), {
        action: 'canteen.class.update',
        entity: 'canteen_class',
        entityId: id,
        before: klass,
        after: { schoolId: v.scuola, name: v.nomeClasse, note: v.nota, weekdays: v.giorni, active: v.attiva },
      })
    }),
  )
  if (!ok) return again(fieldError(c.var.t, 'nomeClasse', 'canteen.errors.classTaken'))
  return c.redirect(`${office(c)}/scuole?salvato=classe`, 303)
})

// ---- the school calendar

canteenOfficeRoutes.get(`${OFFICE}/calendario`, readers, async (c) => {
  const years = await inTenant(c, (tx) => listSchoolYears(tx))
  const next = schoolYearOf(todayRome())
  return page(c, 'years', {
    title: c.var.t('canteen.office.years.title'),
    years,
    values: { anno: next, giorni: ['1', '2', '3', '4', '5'] },
    saved: c.req.query('salvato') ?? null,
  })
})

function yearValues(v: Record<string, string | string[]>) {
  return withArrays({ ...v, ...withDates(strings(v), ['inizio', 'fine']) })
}

canteenOfficeRoutes.post(`${OFFICE}/calendario`, admins, async (c) => {
  const values = yearValues(await formValues(c))
  const parsed = parseWith(yearForm, values, c.var.t, YEAR_ORDER, {
    ...dateHrefs(['inizio', 'fine']),
    giorni: 'giorni',
  })
  const again = async (errors: FormErrors) =>
    page(c, 'years', {
      title: c.var.t('canteen.office.years.title'),
      years: await inTenant(c, (tx) => listSchoolYears(tx)),
      values,
      errors,
    })
  if (!parsed.ok) return again(parsed.errors)
  const v = parsed.data
  const id = await inTenant(c, async (tx) => {
    let created: number | null = null
    const ok = await unlessTaken(tx, async (sp) => {
      const [row] = await sp<{ id: number }[]>`
        insert into canteen_school_years (label, starts_on, ends_on, weekdays)
        values (${v.anno}, ${v.inizio}, ${v.fine}, ${v.giorni}::smallint[]) returning id`
      created = row?.id ?? null
      await audit(sp, actorOf(c.var.user), {
        action: 'canteen.year.create',
        entity: 'canteen_school_year',
        entityId: created,
        after: { label: v.anno, startsOn: v.inizio, endsOn: v.fine, weekdays: v.giorni },
      })
    })
    return ok ? created : null
  })
  if (!id) return again(fieldError(c.var.t, 'anno', 'canteen.errors.yearTaken'))
  return c.redirect(`${office(c)}/calendario/${id}`, 303)
})

async function yearData(c: Context<Env>, id: number) {
  return inTenant(c, async (tx) => {
    const year = (await listSchoolYears(tx)).find((y) => y.id === id)
    if (!year) throw new NotFound()
    return { year, closures: await listClosures(tx, id), schools: await listSchools(tx) }
  })
}

function yearPage(
  c: Context<Env>,
  d: Awaited<ReturnType<typeof yearData>>,
  form: { name?: string; values?: Record<string, string | string[]>; errors?: FormErrors } = {},
) {
  const yearValuesNow = {
    anno: d.year.label,
    ...dateValues('inizio', d.year.startsOn),
    ...dateValues('fine', d.year.endsOn),
    giorni: d.year.weekdays.map(String),
  }
  return page(c, 'year', {
    title: c.var.t('canteen.office.year.title', { year: d.year.label }),
    ...d,
    errors: form.errors,
    editValues: form.name === 'anno' && form.values ? form.values : yearValuesNow,
    editErrors: form.name === 'anno' ? form.errors : undefined,
    closureValues: form.name === 'chiusura' && form.values ? form.values : {},
    closureErrors: form.name === 'chiusura' ? form.errors : undefined,
    saved: c.req.query('salvato') ?? null,
    weekdaysText: d.year.weekdays.map((w) => c.var.t(`canteen.weekday.${w}`)).join(', '),
  })
}

canteenOfficeRoutes.get(`${OFFICE}/calendario/${ID}`, readers, async (c) =>
  yearPage(c, await yearData(c, idParam(c, 'id'))),
)

canteenOfficeRoutes.post(`${OFFICE}/calendario/${ID}`, admins, async (c) => {
  const id = idParam(c, 'id')
  const d = await yearData(c, id)
  const values = yearValues(await formValues(c))
  const parsed = parseWith(yearForm, values, c.var.t, YEAR_ORDER, {
    ...dateHrefs(['inizio', 'fine']),
    giorni: 'giorni',
  })
  if (!parsed.ok) return yearPage(c, d, { name: 'anno', values, errors: parsed.errors })
  const v = parsed.data
  const ok = await inTenant(c, (tx) =>
    unlessTaken(tx, async (sp) => {
      await sp`update canteen_school_years set label = ${v.anno}, starts_on = ${v.inizio}, ends_on = ${v.fine},
                 weekdays = ${v.giorni}::smallint[] where id = ${id}`
      await audit(sp, actorOf(c.var.user), {
        action: 'canteen.year.update',
        entity: 'canteen_school_year',
        entityId: id,
        before: d.year,
        after: { label: v.anno, startsOn: v.inizio, endsOn: v.fine, weekdays: v.giorni },
      })
    }),
  )
  if (!ok)
    return yearPage(c, d, { name: 'anno', values, errors: fieldError(c.var.t, 'anno', 'canteen.errors.yearTaken') })
  return c.redirect(`${office(c)}/calendario/${id}?salvato=anno`, 303)
})

canteenOfficeRoutes.post(`${OFFICE}/calendario/${ID}/chiusure`, admins, async (c) => {
  const id = idParam(c, 'id')
  const d = await yearData(c, id)
  const values = withDates(await formValues(c), ['dal', 'al'])
  const parsed = parseWith(
    closureForm(d.schools.map((s) => s.id)),
    values,
    c.var.t,
    CLOSURE_ORDER,
    dateHrefs(['dal', 'al']),
  )
  if (!parsed.ok) return yearPage(c, d, { name: 'chiusura', values, errors: parsed.errors })
  const v = parsed.data
  if (v.dal < d.year.startsOn || v.al > d.year.endsOn) {
    return yearPage(c, d, {
      name: 'chiusura',
      values,
      errors: dateError(c.var.t, 'dal', 'canteen.errors.closureOutside', { year: d.year.label }),
    })
  }
  await inTenant(c, async (tx) => {
    const [row] = await tx<{ id: number }[]>`
      insert into canteen_closures (school_year_id, starts_on, ends_on, description, school_id)
      values (${id}, ${v.dal}, ${v.al}, ${v.descrizione}, ${v.scuola}) returning id`
    await audit(tx, actorOf(c.var.user), {
      action: 'canteen.closure.create',
      entity: 'canteen_closure',
      entityId: row?.id,
      after: { schoolYearId: id, startsOn: v.dal, endsOn: v.al, description: v.descrizione, schoolId: v.scuola },
    })
  })
  return c.redirect(`${office(c)}/calendario/${id}?salvato=chiusura`, 303)
})

canteenOfficeRoutes.post(
  `${OFFICE}/calendario/${ID}/chiusure/:closure{[1-9][0-9]{0,15}}/elimina`,
  admins,
  async (c) => {
    const id = idParam(c, 'id')
    const closureId = idParam(c, 'closure')
    const found = await inTenant(c, async (tx) => {
      const [row] = await tx<{ id: number; starts_on: string; ends_on: string; description: string }[]>`
      delete from canteen_closures where id = ${closureId} and school_year_id = ${id}
      returning id, starts_on, ends_on, description`
      if (!row) return false
      await audit(tx, actorOf(c.var.user), {
        action: 'canteen.closure.delete',
        entity: 'canteen_closure',
        entityId: closureId,
        before: row,
      })
      return true
    })
    if (!found) throw new NotFound()
    return c.redirect(`${office(c)}/calendario/${id}?salvato=eliminata`, 303)
  },
)

// ---- tariffs

canteenOfficeRoutes.get(`${OFFICE}/tariffe`, readers, async (c) => {
  const today = todayRome()
  const tariffs = await inTenant(c, (tx) => listTariffs(tx, today))
  return page(c, 'tariffs', {
    title: c.var.t('canteen.office.tariffs.title'),
    tariffs,
    values: { attiva: 'si', ...dateValues('dal', today) },
    saved: c.req.query('salvato') ?? null,
  })
})

canteenOfficeRoutes.post(`${OFFICE}/tariffe`, admins, async (c) => {
  const today = todayRome()
  const tariffs = await inTenant(c, (tx) => listTariffs(tx, today))
  const values = withDates(await formValues(c), ['dal'])
  const parsed = parseWith(newTariffForm(tariffs.map((t) => t.id)), values, c.var.t, TARIFF_ORDER, dateHrefs(['dal']))
  const again = (errors: FormErrors) =>
    page(c, 'tariffs', { title: c.var.t('canteen.office.tariffs.title'), tariffs, values, errors })
  if (!parsed.ok) return again(parsed.errors)
  const v = parsed.data
  const ok = await inTenant(c, (tx) =>
    unlessTaken(tx, async (sp) => {
      if (v.predefinita) await sp`update canteen_tariffs set is_default = false where is_default`
      const [row] = await sp<{ id: number }[]>`
        insert into canteen_tariffs (name, description, base_tariff_id, isee_min_cents, isee_max_cents,
          light_meal_charged, is_default, active)
        values (${v.nome}, ${v.descrizione}, ${v.base}, ${v.iseeMin}, ${v.iseeMax}, ${v.bianco === 'si'},
          ${v.predefinita}, true)
        returning id`
      const id = (row as { id: number }).id
      await sp`insert into canteen_tariff_prices (tariff_id, valid_from, price_cents) values (${id}, ${v.dal}, ${v.prezzo})`
      await audit(sp, actorOf(c.var.user), {
        action: 'canteen.tariff.create',
        entity: 'canteen_tariff',
        entityId: id,
        after: { ...v },
      })
    }),
  )
  if (!ok) return again(fieldError(c.var.t, 'nome', 'canteen.errors.tariffTaken'))
  return c.redirect(`${office(c)}/tariffe?salvato=tariffa`, 303)
})

async function tariffData(c: Context<Env>, id: number) {
  const today = todayRome()
  return inTenant(c, async (tx) => {
    const tariffs = await listTariffs(tx, today)
    const tariff = tariffs.find((t) => t.id === id)
    if (!tariff) throw new NotFound()
    return { tariff, others: tariffs.filter((t) => t.id !== id && t.baseTariffId !== id), today }
  })
}

function tariffPage(
  c: Context<Env>,
  d: Awaited<ReturnType<typeof tariffData>>,
  form: { name?: string; values?: Record<string, string>; errors?: FormErrors } = {},
) {
  const t = d.tariff
  const current = {
    nome: t.name,
    descrizione: t.description ?? '',
    base: t.baseTariffId ? String(t.baseTariffId) : 'nessuna',
    iseeMin: t.iseeMinCents === null ? '' : formatDecimalIt(t.iseeMinCents),
    iseeMax: t.iseeMaxCents === null ? '' : formatDecimalIt(t.iseeMaxCents),
    bianco: t.lightMealCharged ? 'si' : 'no',
    predefinita: t.isDefault ? 'si' : '',
    attiva: t.active ? 'si' : '',
  }
  return page(c, 'tariff', {
    title: c.var.t('canteen.office.tariff.title', { name: t.name }),
    ...d,
    errors: form.errors,
    editValues: form.name === 'tariffa' && form.values ? form.values : current,
    editErrors: form.name === 'tariffa' ? form.errors : undefined,
    priceValues: form.name === 'prezzo' && form.values ? form.values : dateValues('dal', d.today),
    priceErrors: form.name === 'prezzo' ? form.errors : undefined,
    saved: c.req.query('salvato') ?? null,
    addDays,
  })
}

canteenOfficeRoutes.get(`${OFFICE}/tariffe/${ID}`, readers, async (c) =>
  tariffPage(c, await tariffData(c, idParam(c, 'id'))),
)

canteenOfficeRoutes.post(`${OFFICE}/tariffe/${ID}`, admins, async (c) => {
  const id = idParam(c, 'id')
  const d = await tariffData(c, id)
  const values = strings(await formValues(c))
  const parsed = parseWith(tariffForm(d.others.map((t) => t.id)), values, c.var.t, TARIFF_ORDER)
  if (!parsed.ok) return tariffPage(c, d, { name: 'tariffa', values, errors: parsed.errors })
  const v = parsed.data
  const ok = await inTenant(c, (tx) =>
    unlessTaken(tx, async (sp) => {
      if (v.predefinita) await sp`update canteen_tariffs set is_default = false where is_default and id <> ${id}`
      await sp`update canteen_tariffs set name = ${v.nome}, description = ${v.descrizione}, base_tariff_id = ${v.base},
                 isee_min_cents = ${v.iseeMin}, isee_max_cents = ${v.iseeMax}, light_meal_charged = ${v.bianco === 'si'},
                 is_default = ${v.predefinita}, active = ${v.attiva}
               where id = ${id}`
      await audit(sp, actorOf(c.var.user), {
        action: 'canteen.tariff.update',
        entity: 'canteen_tariff',
        entityId: id,
        before: { ...d.tariff, prices: undefined },
        after: { ...v },
      })
    }),
  )
  if (!ok)
    return tariffPage(c, d, {
      name: 'tariffa',
      values,
      errors: fieldError(c.var.t, 'nome', 'canteen.errors.tariffTaken'),
    })
  return c.redirect(`${office(c)}/tariffe/${id}?salvato=tariffa`, 303)
})

canteenOfficeRoutes.post(`${OFFICE}/tariffe/${ID}/prezzi`, admins, async (c) => {
  const id = idParam(c, 'id')
  const d = await tariffData(c, id)
  const values = withDates(await formValues(c), ['dal'])
  const parsed = parseWith(priceForm, values, c.var.t, PRICE_ORDER, dateHrefs(['dal']))
  if (!parsed.ok) return tariffPage(c, d, { name: 'prezzo', values, errors: parsed.errors })
  const v = parsed.data
  await inTenant(c, async (tx) => {
    const [before] = await tx<{ price_cents: number }[]>`
      select price_cents from canteen_tariff_prices where tariff_id = ${id} and valid_from = ${v.dal}`
    await tx`insert into canteen_tariff_prices (tariff_id, valid_from, price_cents) values (${id}, ${v.dal}, ${v.prezzo})
             on conflict (tariff_id, valid_from) do update set price_cents = excluded.price_cents`
    await audit(tx, actorOf(c.var.user), {
      action: 'canteen.tariff.price',
      entity: 'canteen_tariff',
      entityId: id,
      before: before ? { validFrom: v.dal, priceCents: before.price_cents } : null,
      after: { validFrom: v.dal, priceCents: v.prezzo },
    })
  })
  return c.redirect(`${office(c)}/tariffe/${id}?salvato=prezzo`, 303)
})
