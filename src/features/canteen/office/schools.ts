// The canteen's schools and classes (admin changes them; every role reads).
import { type Context, Hono } from 'hono'
import { actorOf, audit } from '../../../platform/audit.ts'
import type { Tx } from '../../../platform/db.ts'
import { NotFound } from '../../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import type { FormErrors } from '../../../platform/render.ts'
import { listClasses, listSchools, SCHOOL_KINDS } from '../queries.ts'
import { CLASS_ORDER, classForm, SCHOOL_ORDER, schoolForm } from '../schema.ts'
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

export const schoolRoutes = new Hono<Env>()

// ---- schools and classes

async function schoolsData(c: Context<Env>) {
  return inTenant(c, async (tx) => ({ schools: await listSchools(tx), classes: await listClasses(tx) }))
}

schoolRoutes.get(`${OFFICE}/scuole`, readers, async (c) =>
  page(c, 'schools', {
    title: c.var.t('canteen.office.schools.title'),
    ...(await schoolsData(c)),
    kinds: SCHOOL_KINDS,
    values: { attiva: 'si', giorni: ['1', '2', '3', '4', '5'] },
    saved: c.req.query('salvato') ?? null,
  }),
)

schoolRoutes.post(`${OFFICE}/scuole`, admins, async (c) => {
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

schoolRoutes.get(`${OFFICE}/scuole/${ID}`, admins, async (c) => {
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

schoolRoutes.post(`${OFFICE}/scuole/${ID}`, admins, async (c) => {
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

schoolRoutes.post(`${OFFICE}/classi`, admins, async (c) => {
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

schoolRoutes.get(`${OFFICE}/classi/${ID}`, admins, async (c) => {
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

schoolRoutes.post(`${OFFICE}/classi/${ID}`, admins, async (c) => {
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
