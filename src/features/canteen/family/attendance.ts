// The family's attendance calendar: a pupil's month, one day (present, absent, light meal) and a period at once,
// each changeable until the cut-off.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { actorOf } from '../../../platform/audit.ts'
import { todayRome } from '../../../platform/dates.ts'
import { NotFound } from '../../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { type FormErrors, render } from '../../../platform/render.ts'
import { calendarGrid, dateError, dayInWords, monthInWords } from '../common.ts'
import { type CitizenPupil, pupilDays } from '../queries.ts'
import { familyWindow, isMonth, isoOrNull, monthBounds, monthOf, shiftMonth } from '../rules.ts'
import { type AttendanceChoice, dateHrefs, dayForm, PERIOD_ORDER, periodForm, withDates } from '../schema.ts'
import { familyMark } from '../service.ts'
import { BASE, base, DAY, inTenant, MONTH, ownPupil, PUPIL, tenantOf, userOf } from './common.ts'

export const attendanceRoutes = new Hono<Env>()

// ---- the attendance calendar

attendanceRoutes.get(`${BASE}/presenze/${PUPIL}`, (c) =>
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

attendanceRoutes.get(`${BASE}/presenze/${PUPIL}/${MONTH}`, async (c) => {
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

attendanceRoutes.get(`${BASE}/presenze/${PUPIL}/giorno/${DAY}`, async (c) => dayPage(c, await dayData(c)))

attendanceRoutes.post(`${BASE}/presenze/${PUPIL}/giorno/${DAY}`, async (c) => {
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

attendanceRoutes.get(`${BASE}/presenze/${PUPIL}/periodo`, async (c) => periodPage(c, await periodPupil(c), {}))

attendanceRoutes.post(`${BASE}/presenze/${PUPIL}/periodo`, async (c) => {
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
