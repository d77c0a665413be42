// One pupil of the canteen in the office: enrollment, tariff, wallet and its movements, attendance on any day
// (audited), and enrolling a pupil.
import { type Context, Hono } from 'hono'
import { actorOf, audit } from '../../../platform/audit.ts'
import { addDays, todayRome } from '../../../platform/dates.ts'
import { NotFound } from '../../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { formatDecimalIt } from '../../../platform/money.ts'
import type { FormErrors } from '../../../platform/render.ts'
import { newToken } from '../../../platform/tokens.ts'
import { calendarGrid, classLabel, dateError, dayInWords, monthInWords } from '../common.ts'
import { siblingsOf } from '../credit.ts'
import { ledgerEntries, listClasses, listEnrollments, listTariffs, pupilDays } from '../queries.ts'
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
} from '../rules.ts'
import {
  ADJUSTMENT_ORDER,
  adjustmentForm,
  dateHrefs,
  dateValues,
  ENROLL_ORDER,
  ENROLLMENT_ORDER,
  enrollForm,
  enrollmentEditForm,
  officeDayForm,
  TARIFF_CHANGE_ORDER,
  tariffChangeForm,
  withDates,
} from '../schema.ts'
import { addAdjustment, enrollInCanteen, officeRecord, setEnrollmentTariff, wallets } from '../service.ts'
import {
  DAY,
  idParam,
  inTenant,
  MONTH,
  OFFICE,
  office,
  PUPIL,
  page,
  readers,
  strings,
  tenantOf,
  writers,
} from './common.ts'

export const pupilRoutes = new Hono<Env>()

// ---- one pupil: enrollment, tariff, wallet, movements, adjustments

export async function pupilData(c: Context<Env>) {
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
      siblings: await siblingsOf(tx, pupilId),
      today,
    }
  })
}

type PupilData = Awaited<ReturnType<typeof pupilData>>

export function pupilPage(
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
    // credit left: refunded (the register's fields) or moved to a sibling
    creditRefundValues: values('credito-rimborso', { beneficiary: d.payers.find((p) => p.holder)?.name ?? '' }),
    creditRefundErrors: errorsOf('credito-rimborso'),
    moveValues: values('credito-sposta', { chiaveSposta: newToken() }),
    moveErrors: errorsOf('credito-sposta'),
    saved: forms.errors ? null : (c.req.query('salvato') ?? null),
  })
}

pupilRoutes.get(`${OFFICE}/alunni/${PUPIL}`, readers, async (c) => pupilPage(c, await pupilData(c)))

pupilRoutes.post(`${OFFICE}/alunni/${PUPIL}/iscrizione`, writers, async (c) => {
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

pupilRoutes.post(`${OFFICE}/alunni/${PUPIL}/tariffa`, writers, async (c) => {
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

pupilRoutes.post(`${OFFICE}/alunni/${PUPIL}/movimenti`, writers, async (c) => {
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

pupilRoutes.get(`${OFFICE}/alunni/${PUPIL}/presenze/${MONTH}`, readers, async (c) => {
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

pupilRoutes.get(`${OFFICE}/alunni/${PUPIL}/giorno/${DAY}`, writers, async (c) => officeDayPage(c, await officeDay(c)))

pupilRoutes.post(`${OFFICE}/alunni/${PUPIL}/giorno/${DAY}`, writers, async (c) => {
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

pupilRoutes.get(`${OFFICE}/iscrizioni/nuova`, writers, async (c) =>
  page(c, 'enroll', {
    title: c.var.t('canteen.office.enroll.title'),
    ...(await enrollData(c)),
    values: { cf: (c.req.query('cf') ?? '').slice(0, 16) },
  }),
)

pupilRoutes.post(`${OFFICE}/iscrizioni/nuova`, writers, async (c) => {
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
