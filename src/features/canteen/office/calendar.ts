// The school calendar: school years and their closures (admin changes them; every role reads).
import { type Context, Hono } from 'hono'
import { actorOf, audit } from '../../../platform/audit.ts'
import { todayRome } from '../../../platform/dates.ts'
import { NotFound } from '../../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import type { FormErrors } from '../../../platform/render.ts'
import { dateError } from '../common.ts'
import { listClosures, listSchools, listSchoolYears } from '../queries.ts'
import { schoolYearOf } from '../rules.ts'
import { CLOSURE_ORDER, closureForm, dateHrefs, dateValues, withDates, YEAR_ORDER, yearForm } from '../schema.ts'
import {
  admins,
  ID,
  idParam,
  inTenant,
  OFFICE,
  office,
  page,
  readers,
  strings,
  unlessTaken,
  withArrays,
} from './common.ts'

export const calendarRoutes = new Hono<Env>()

// ---- the school calendar

calendarRoutes.get(`${OFFICE}/calendario`, readers, async (c) => {
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

calendarRoutes.post(`${OFFICE}/calendario`, admins, async (c) => {
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

calendarRoutes.get(`${OFFICE}/calendario/${ID}`, readers, async (c) => yearPage(c, await yearData(c, idParam(c, 'id'))))

calendarRoutes.post(`${OFFICE}/calendario/${ID}`, admins, async (c) => {
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

calendarRoutes.post(`${OFFICE}/calendario/${ID}/chiusure`, admins, async (c) => {
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

calendarRoutes.post(`${OFFICE}/calendario/${ID}/chiusure/:closure{[1-9][0-9]{0,15}}/elimina`, admins, async (c) => {
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
})
