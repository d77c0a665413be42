// The canteen for families: the wallet (portafoglio) of each pupil, pre-loading meals through the normal
// checkout, and the attendance calendar where a family marks absences and light meals before the cut-off.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { actorOf } from '../../platform/audit.ts'
import { todayRome } from '../../platform/dates.ts'
import { type Tx, withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env, SessionUser } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireUser } from '../../platform/session.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { newToken } from '../../platform/tokens.ts'
import { requireProvedCf } from '../account/proof-routes.ts'
import { citizenTenants } from '../debts/routes.ts'
import { payIssuedNow } from '../payments/pay-now.ts'
import { priceCheckout } from '../payments/service.ts'
import { calendarGrid, classLabel, dateError, dayInWords, monthInWords } from './common.ts'
import { type CitizenPupil, citizenPupils, listEnrollments, pupilDays } from './queries.ts'
import {
  defaultPeriod,
  familyWindow,
  isMonth,
  isoOrNull,
  mealsLeft,
  monthBounds,
  monthOf,
  romeTime,
  schoolYearBounds,
  schoolYearOf,
  shiftMonth,
  yearFromParam,
  yearToParam,
} from './rules.ts'
import {
  type AttendanceChoice,
  dateHrefs,
  dateValues,
  dayForm,
  MAX_TOPUP_MEALS,
  PERIOD_ORDER,
  periodForm,
  TOPUP_ORDER,
  topupForm,
  walletFilter,
  withDates,
} from './schema.ts'
import {
  canteenService,
  familyMark,
  issueTopup,
  TopupKeyTaken,
  type TopupOption,
  topupOptions,
  wallets,
} from './service.ts'

export const canteenRoutes = new Hono<Env>()

const BASE = '/t/:tenant/mensa'
const PUPIL = ':pupil{[1-9][0-9]{0,15}}'
const MONTH = ':month{[0-9]{4}-[0-9]{2}}'
const DAY = ':day{[0-9]{4}-[0-9]{2}-[0-9]{2}}'

// a family's pupils and wallets are found through the codice fiscale: only a proved one opens them
canteenRoutes.use('/mensa', requireUser, requireProvedCf)
canteenRoutes.use(BASE, requireUser, requireProvedCf)
canteenRoutes.use(`${BASE}/*`, requireUser, requireProvedCf)

function tenantOf(c: Context<Env>): Tenant {
  const t = c.var.tenant
  if (!t) throw new NotFound()
  return t
}

function userOf(c: Context<Env>): SessionUser {
  return c.var.user as SessionUser
}

function base(c: Context<Env>): string {
  return `/t/${tenantOf(c).slug}/mensa`
}

function inTenant<T>(c: Context<Env>, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return withTenant(c.var.deps.db.sql, tenantOf(c), fn)
}

/** One of the citizen's canteen pupils, or 404 (another family's pupil is as unknown as a missing one). */
async function ownPupil(tx: Tx, cf: string, param: string | undefined): Promise<CitizenPupil> {
  const id = Number(param)
  const pupil = (await citizenPupils(tx, cf)).find((p) => p.id === id)
  if (!pupil) throw new NotFound()
  return pupil
}

// ---- the entry from the personal area: the tenants where the citizen has canteen pupils

canteenRoutes.get('/mensa', async (c) => {
  const user = userOf(c)
  const found: { tenant: Tenant; pupils: CitizenPupil[] }[] = []
  for (const tenant of await citizenTenants(c, user.codiceFiscale)) {
    const pupils = await withTenant(c.var.deps.db.sql, tenant, (tx) => citizenPupils(tx, user.codiceFiscale))
    if (pupils.length) found.push({ tenant, pupils })
  }
  if (found.length === 1) return c.redirect(`/t/${(found[0] as { tenant: Tenant }).tenant.slug}/mensa`, 303)
  return render(c, 'canteen/tenants', { title: c.var.t('canteen.tenants.title'), found })
})

// ---- the wallet

canteenRoutes.get(BASE, async (c) => {
  const tenant = tenantOf(c)
  const user = userOf(c)
  const now = new Date()
  const today = todayRome(now)
  const query = withDates(c.req.query(), ['dal', 'al'])
  const filter = parseWith(walletFilter, query, c.var.t, ['dal', 'al'], dateHrefs(['dal', 'al']))
  const data = await inTenant(c, async (tx) => {
    const pupils = await citizenPupils(tx, user.codiceFiscale)
    const years = [...new Set(pupils.flatMap((p) => p.years))].sort().reverse()
    const current = schoolYearOf(today)
    const year =
      yearFromParam(c.req.query('anno')) ?? (years.includes(current) || years.length === 0 ? current : years[0])
    const bounds = schoolYearBounds(year as string)
    let from = bounds.from
    let to = defaultPeriod(year as string, today).to
    if (filter.ok) {
      from = filter.data.dal ?? from
      to = filter.data.al ?? to
    }
    const ids = pupils.map((p) => p.id)
    const money = await wallets(tx, ids, from, to)
    const enrollments = await listEnrollments(tx, year as string, today, { pupilIds: ids })
    const currentEnrollments =
      year === current ? enrollments : await listEnrollments(tx, current, today, { pupilIds: ids })
    return {
      years,
      year: year as string,
      from,
      to,
      pupils: pupils.map((p) => {
        const enrollment = enrollments.find((e) => e.pupilId === p.id) ?? null
        const price = currentEnrollments.find((e) => e.pupilId === p.id)?.priceCents ?? enrollment?.priceCents ?? null
        const wallet = money.get(p.id)
        return {
          pupil: p,
          enrollment,
          classText: enrollment ? classLabel(c.var.t, enrollment) : null,
          wallet,
          priceCents: price,
          mealsLeft: mealsLeft(wallet?.balanceCents ?? 0, price),
        }
      }),
    }
  })
  const values = filter.ok
    ? { ...dateValues('dal', data.from), ...dateValues('al', data.to) }
    : (filter.values as Record<string, string>)
  return render(
    c,
    'canteen/wallet',
    {
      title: c.var.t('canteen.wallet.title'),
      ...data,
      yearParam: yearToParam(data.year),
      yearToParam,
      values,
      errors: filter.ok ? undefined : filter.errors,
      updatedDate: today,
      updatedTime: romeTime(now),
      month: monthOf(today),
      base: base(c),
      suspended: tenant.status === 'suspended',
    },
    filter.ok ? 200 : 422,
  )
})

// ---- pre-load meals (ricarica)

async function topupData(c: Context<Env>) {
  const user = userOf(c)
  const today = todayRome()
  return inTenant(c, async (tx) => ({
    options: await topupOptions(tx, user.codiceFiscale, today),
    service: await canteenService(tx),
  }))
}

function payable(options: TopupOption[]): (TopupOption & { priceCents: number })[] {
  return options.filter((o): o is TopupOption & { priceCents: number } => o.priceCents !== null)
}

function topupPage(
  c: Context<Env>,
  data: Awaited<ReturnType<typeof topupData>>,
  values: Record<string, string>,
  errors?: FormErrors,
) {
  const tenant = tenantOf(c)
  if (!data.service || tenant.status === 'suspended' || payable(data.options).length === 0) {
    return render(
      c,
      'canteen/topup-unavailable',
      {
        title: c.var.t('canteen.topup.title'),
        reason: tenant.status === 'suspended' ? 'suspended' : !data.service ? 'noService' : 'noPupils',
        options: data.options,
        base: base(c),
      },
      tenant.status === 'suspended' ? 403 : 200,
    )
  }
  return render(
    c,
    'canteen/topup',
    {
      title: c.var.t('canteen.topup.title'),
      options: data.options,
      values,
      errors,
      maxMeals: MAX_TOPUP_MEALS,
      base: base(c),
    },
    errors ? 422 : 200,
  )
}

function pickTopup(v: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of ['alunno', 'pasti']) {
    const x = v[k]
    if (typeof x === 'string') out[k] = x.slice(0, 40)
  }
  return out
}

canteenRoutes.get(`${BASE}/ricarica`, async (c) => {
  const data = await topupData(c)
  const values = pickTopup(c.req.query())
  // a single pupil is chosen already (GOV.UK: no radio pre-selected when there is a real choice)
  const ok = payable(data.options)
  if (!values.alunno && ok.length === 1) values.alunno = String((ok[0] as TopupOption).pupilId)
  return topupPage(c, data, values)
})

canteenRoutes.post(`${BASE}/ricarica`, async (c) => {
  const data = await topupData(c)
  const values = pickTopup(await formValues(c))
  const parsed = parseWith(topupForm(payable(data.options).map((o) => o.pupilId)), values, c.var.t, TOPUP_ORDER)
  if (!parsed.ok) return topupPage(c, data, values, parsed.errors)
  return c.redirect(`${base(c)}/ricarica/controlla?alunno=${parsed.data.alunno}&pasti=${parsed.data.pasti}`, 303)
})

canteenRoutes.get(`${BASE}/ricarica/controlla`, async (c) => {
  const tenant = tenantOf(c)
  const user = userOf(c)
  const data = await topupData(c)
  const values = pickTopup(c.req.query())
  const options = payable(data.options)
  const parsed = parseWith(topupForm(options.map((o) => o.pupilId)), values, c.var.t, TOPUP_ORDER)
  if (!parsed.ok || !data.service || tenant.status === 'suspended') {
    return topupPage(c, data, values, parsed.ok ? undefined : parsed.errors)
  }
  const option = options.find((o) => o.pupilId === parsed.data.alunno) as TopupOption & { priceCents: number }
  const amountCents = parsed.data.pasti * option.priceCents
  const price = priceCheckout([
    {
      tenant,
      installmentId: 0,
      amountCents,
      description: data.service.causale,
      iuv: '',
      commission: data.service.commission ?? tenant.settings.commission,
    },
  ])
  return render(c, 'canteen/topup-check', {
    title: c.var.t('canteen.check.title'),
    option,
    meals: parsed.data.pasti,
    price,
    service: data.service,
    key: newToken(),
    confirmed: user.emailConfirmed,
    changeHref: `${base(c)}/ricarica?alunno=${option.pupilId}&pasti=${parsed.data.pasti}`,
    base: base(c),
  })
})

const keySchema = z.object({ chiave: z.string().regex(/^[A-Za-z0-9_-]{43}$/) })

canteenRoutes.post(`${BASE}/ricarica/paga`, async (c) => {
  const tenant = tenantOf(c)
  const user = userOf(c)
  const form = await formValues(c)
  const values = pickTopup(form)
  const key = keySchema.safeParse(form)
  if (!key.success || !user.emailConfirmed || tenant.status === 'suspended') {
    return c.redirect(`${base(c)}/ricarica`, 303)
  }
  const now = new Date()
  // one tenant transaction: the pupil's tariff and price as they are now, the answers checked again, the document
  const outcome = await inTenant(c, async (tx) => {
    const options = payable(await topupOptions(tx, user.codiceFiscale, todayRome(now)))
    const service = await canteenService(tx)
    const parsed = parseWith(topupForm(options.map((o) => o.pupilId)), values, c.var.t, TOPUP_ORDER)
    if (!parsed.ok || !service) return null
    const option = options.find((o) => o.pupilId === parsed.data.alunno) as TopupOption & { priceCents: number }
    try {
      return await issueTopup(tx, tenant, user, option, service, parsed.data.pasti, key.data.chiave, now)
    } catch (err) {
      if (err instanceof TopupKeyTaken) return null
      throw err
    }
  })
  if (!outcome) return c.redirect(`${base(c)}/ricarica?${new URLSearchParams(values)}`, 303)
  return payIssuedNow(c, tenant, user, key.data.chiave, outcome)
})

// ---- the attendance calendar

canteenRoutes.get(`${BASE}/presenze/${PUPIL}`, (c) =>
  c.redirect(`${base(c)}/presenze/${c.req.param('pupil')}/${monthOf(todayRome())}`, 303),
)

const doneQuery = z.object({
  esito: z.enum(['giorno', 'periodo']).optional().catch(undefined),
  stato: z.enum(['presente', 'assente', 'bianco']).optional().catch(undefined),
  giorno: z
    .string()
    .optional()
    .transform((s) => isoOrNull(s))
    .catch(null),
  n: z.coerce.number().int().min(0).max(400).optional().catch(undefined),
  chiusi: z.coerce.number().int().min(0).max(400).optional().catch(undefined),
})

canteenRoutes.get(`${BASE}/presenze/${PUPIL}/${MONTH}`, async (c) => {
  const tenant = tenantOf(c)
  const user = userOf(c)
  const month = c.req.param('month') as string
  if (!isMonth(month)) throw new NotFound()
  const now = new Date()
  const today = todayRome(now)
  const { pupil, days } = await inTenant(c, async (tx) => {
    const pupil = await ownPupil(tx, user.codiceFiscale, c.req.param('pupil'))
    const { from, to } = monthBounds(month)
    return { pupil, days: await pupilDays(tx, pupil.id, from, to) }
  })
  const pupilBase = `${base(c)}/presenze/${pupil.id}`
  const done = doneQuery.parse(c.req.query())
  return render(c, 'canteen/calendar', {
    title: c.var.t('canteen.calendar.title', { name: `${pupil.givenName} ${pupil.familyName}` }),
    pupil,
    month,
    monthText: monthInWords(c.var.t, month),
    prev: `${pupilBase}/${shiftMonth(month, -1)}`,
    next: `${pupilBase}/${shiftMonth(month, 1)}`,
    prevText: monthInWords(c.var.t, shiftMonth(month, -1)),
    nextText: monthInWords(c.var.t, shiftMonth(month, 1)),
    weeks: calendarGrid(c.var.t, month, days, {
      today,
      cutoff: tenant.settings.cutoff,
      now,
      office: false,
      dayHref: (d) => `${pupilBase}/giorno/${d}`,
    }),
    meals: days.reduce((s, d) => s + d.meals, 0),
    cutoff: tenant.settings.cutoff,
    periodHref: `${pupilBase}/periodo`,
    walletHref: base(c),
    done:
      done.esito && done.stato && (done.esito === 'periodo' || done.giorno)
        ? { ...done, dayText: done.giorno ? dayInWords(c.var.t, done.giorno) : null }
        : null,
    office: false,
  })
})

async function dayData(c: Context<Env>) {
  const user = userOf(c)
  const day = c.req.param('day') as string
  if (!isoOrNull(day)) throw new NotFound()
  return inTenant(c, async (tx) => {
    const pupil = await ownPupil(tx, user.codiceFiscale, c.req.param('pupil'))
    const [info] = await pupilDays(tx, pupil.id, day, day)
    return { pupil, day, info }
  })
}

function dayPage(
  c: Context<Env>,
  d: Awaited<ReturnType<typeof dayData>>,
  opts: { values?: Record<string, string>; errors?: FormErrors; status?: 200 | 422 } = {},
) {
  const tenant = tenantOf(c)
  const window = familyWindow(d.day, tenant.settings.cutoff, new Date())
  const pupilBase = `${base(c)}/presenze/${d.pupil.id}`
  const current: AttendanceChoice = d.info?.attendance ?? 'presente'
  return render(
    c,
    'canteen/day',
    {
      title: c.var.t('canteen.day.title', { day: dayInWords(c.var.t, d.day) }),
      pupil: d.pupil,
      day: d.day,
      dayText: dayInWords(c.var.t, d.day),
      service: d.info?.service ?? false,
      closure: d.info?.closure ?? null,
      current,
      window,
      cutoff: tenant.settings.cutoff,
      action: `${pupilBase}/giorno/${d.day}`,
      back: `${pupilBase}/${monthOf(d.day)}`,
      periodHref: `${pupilBase}/periodo`,
      values: opts.values ?? { stato: current },
      errors: opts.errors,
      office: false,
    },
    opts.status ?? 200,
  )
}

canteenRoutes.get(`${BASE}/presenze/${PUPIL}/giorno/${DAY}`, async (c) => dayPage(c, await dayData(c)))

canteenRoutes.post(`${BASE}/presenze/${PUPIL}/giorno/${DAY}`, async (c) => {
  const tenant = tenantOf(c)
  const values = Object.fromEntries(
    Object.entries(await formValues(c)).filter((e): e is [string, string] => typeof e[1] === 'string'),
  )
  const d = await dayData(c)
  const parsed = parseWith(dayForm, values, c.var.t, ['stato'])
  if (!parsed.ok) return dayPage(c, d, { values, errors: parsed.errors, status: 422 })
  const status = parsed.data.stato === 'presente' ? null : parsed.data.stato
  const now = new Date()
  const result = await inTenant(c, (tx) =>
    familyMark(tx, tenant, actorOf(c.var.user), d.pupil.id, d.day, d.day, status, now),
  )
  if (result.closed.length || result.noService.length) {
    // past the cut-off (or not a service day): a clear message, nothing changed
    const key = result.closed.length ? 'canteen.errors.afterCutoff' : 'canteen.errors.noService'
    return dayPage(c, d, {
      values,
      errors: fieldError(c.var.t, 'stato', key, { cutoff: tenant.settings.cutoff }),
      status: 422,
    })
  }
  return c.redirect(
    `${base(c)}/presenze/${d.pupil.id}/${monthOf(d.day)}?esito=giorno&stato=${parsed.data.stato}&giorno=${d.day}`,
    303,
  )
})

async function periodPupil(c: Context<Env>) {
  const user = userOf(c)
  return inTenant(c, (tx) => ownPupil(tx, user.codiceFiscale, c.req.param('pupil')))
}

function periodPage(
  c: Context<Env>,
  pupil: CitizenPupil,
  values: Record<string, string>,
  errors?: FormErrors,
  status: 200 | 422 = 200,
) {
  const tenant = tenantOf(c)
  const pupilBase = `${base(c)}/presenze/${pupil.id}`
  return render(
    c,
    'canteen/period',
    {
      title: c.var.t('canteen.period.title'),
      pupil,
      values,
      errors,
      cutoff: tenant.settings.cutoff,
      action: `${pupilBase}/periodo`,
      back: `${pupilBase}/${monthOf(todayRome())}`,
    },
    status,
  )
}

canteenRoutes.get(`${BASE}/presenze/${PUPIL}/periodo`, async (c) => periodPage(c, await periodPupil(c), {}))

canteenRoutes.post(`${BASE}/presenze/${PUPIL}/periodo`, async (c) => {
  const tenant = tenantOf(c)
  const pupil = await periodPupil(c)
  const values = withDates(await formValues(c), ['dal', 'al'])
  const parsed = parseWith(periodForm, values, c.var.t, PERIOD_ORDER, dateHrefs(['dal', 'al']))
  if (!parsed.ok) return periodPage(c, pupil, values, parsed.errors, 422)
  const now = new Date()
  const today = todayRome(now)
  if (parsed.data.dal < today) {
    return periodPage(c, pupil, values, dateError(c.var.t, 'dal', 'canteen.errors.fromPast'), 422)
  }
  const status = parsed.data.stato === 'presente' ? null : parsed.data.stato
  const result = await inTenant(c, (tx) =>
    familyMark(tx, tenant, actorOf(c.var.user), pupil.id, parsed.data.dal, parsed.data.al, status, now),
  )
  if (result.changed.length === 0 && result.closed.length) {
    return periodPage(
      c,
      pupil,
      values,
      dateError(c.var.t, 'dal', 'canteen.errors.afterCutoff', { cutoff: tenant.settings.cutoff }),
      422,
    )
  }
  const month = monthOf(result.changed[0] ?? parsed.data.dal)
  const q = new URLSearchParams({
    esito: 'periodo',
    stato: parsed.data.stato,
    n: String(result.changed.length),
    chiusi: String(result.closed.length),
  })
  return c.redirect(`${base(c)}/presenze/${pupil.id}/${month}?${q}`, 303)
})
