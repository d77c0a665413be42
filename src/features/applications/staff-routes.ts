// The office's side of applications: the queue, one application, taking it in charge, the decision, and the
// application forms per service. Every role reads; admin and operatore handle applications; admin alone
// defines the forms. Linking an applicant to a child the body already knows is a change of the body's people
// records, checked on its own (decision 0044). Every change is in the audit log, in its own transaction.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { actorOf, audit } from '../../platform/audit.ts'
import { addDays, isIsoDate, todayRome } from '../../platform/dates.ts'
import { type Tx, withTenant } from '../../platform/db.ts'
import { Forbidden, NotFound } from '../../platform/errors.ts'
import { chars, formErrors, formValues } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireStaff, type StaffRole } from '../../platform/roles.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { contentDisposition } from '../publications/files.ts'
import { type Choices, loadChoices } from './catalog.ts'
import { describe } from './mail.ts'
import {
  allForms,
  allServices,
  attachmentOf,
  findForm,
  type KnownChild,
  knownChild,
  QUEUE_PAGE,
  type QueueFilter,
  queue,
  queueCounts,
  staffApplication,
} from './queries.ts'
import { FORM_FIELDS, fieldsOf, type Issue, joinDate, KINDS, splitDate } from './schema.ts'
import { type Decision, decide, takeInCharge } from './service.ts'

export const applicationStaffRoutes = new Hono<Env>()

const readers = requireStaff('admin', 'operatore', 'lettore')
const handlers = requireStaff('admin', 'operatore')
const admins = requireStaff('admin')

function tenantOf(c: Context<Env>): Tenant {
  const t = c.var.tenant
  if (!t) throw new NotFound()
  return t
}

function idParam(c: Context<Env>, name = 'id'): number {
  const v = c.req.param(name) ?? ''
  if (!/^[1-9][0-9]{0,15}$/.test(v) || !Number.isSafeInteger(Number(v))) throw new NotFound()
  return Number(v)
}

function inTenant<T>(c: Context<Env>, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return withTenant(c.var.deps.db.sql, tenantOf(c), fn)
}

const base = (c: Context<Env>) => `/t/${tenantOf(c).slug}/ufficio/istanze`
const canHandle = (c: Context<Env>) => c.var.staffRole === 'admin' || c.var.staffRole === 'operatore'
/**
 * Who may link an applicant to a child the body knows: those who may link payers to pupils in the people
 * records (backoffice/people/pupils.ts), whatever the routes of applications let through.
 */
const LINKERS: readonly StaffRole[] = ['admin', 'operatore']
const canLink = (c: Context<Env>) => c.var.staffRole !== undefined && LINKERS.includes(c.var.staffRole)
/** The office must choose between linking the applicant and not: a known child they are not linked to. */
const mustChoose = (child: KnownChild | null) => child !== null && !child.applicantLinked
const issue = (path: string, message: string) => ({ code: 'custom', path: [path], message, input: undefined }) as Issue

// ---- the queue ---------------------------------------------------------------------------------------------------

const queueSchema = z.object({
  stato: z.enum(['aperte', 'tutte', 'inviata', 'in_lavorazione', 'accolta', 'respinta']).catch('aperte'),
  tipo: z.enum(KINDS).optional().catch(undefined),
  servizio: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional().catch(undefined),
  pagina: z.coerce.number().int().min(1).max(100_000).catch(1),
})

applicationStaffRoutes.get('/t/:tenant/ufficio/istanze', readers, async (c) => {
  const q = queueSchema.parse(c.req.query())
  const filter: QueueFilter = { status: q.stato, kind: q.tipo ?? null, serviceId: q.servizio ?? null, page: q.pagina }
  const data = await inTenant(c, async (tx) => ({
    rows: await queue(tx, filter),
    counts: await queueCounts(tx),
    services: await allServices(tx),
  }))
  const total = data.rows[0]?.rows_total ?? 0
  const query = (page: number) => {
    const p = new URLSearchParams({ stato: filter.status })
    if (filter.kind) p.set('tipo', filter.kind)
    if (filter.serviceId) p.set('servizio', String(filter.serviceId))
    if (page > 1) p.set('pagina', String(page))
    return p.toString()
  }
  return render(c, 'applications/staff-queue', {
    title: c.var.t('applications.staff.title'),
    ...data,
    filter,
    total,
    pages: Math.max(1, Math.ceil(total / QUEUE_PAGE)),
    query,
    kinds: KINDS,
    base: base(c),
  })
})

// ---- one application ---------------------------------------------------------------------------------------------

async function detailPage(
  c: Context<Env>,
  extra: { values?: Record<string, unknown>; errors?: FormErrors } = {},
  status: 200 | 422 = 200,
) {
  const id = idParam(c)
  const data = await inTenant(c, async (tx) => {
    const app = await staffApplication(tx, id)
    if (!app) throw new NotFound()
    const choices = app.kind === 'iscrizione' ? await loadChoices(tx, app.service_kind) : null
    const child = app.kind === 'iscrizione' ? await knownChild(tx, app) : null
    const history = await tx<{ at: Date; actor_name: string; action: string }[]>`
      select at, actor_name, action from audit_log
      where entity = 'application' and entity_id = ${String(id)} order by at, id`
    return { app, choices, child, history }
  })
  const { app, choices, child } = data
  const defaults = {
    ...splitDate('startDate', app.answers.startDate ?? todayRome()),
    classId: app.answers.class?.id ? String(app.answers.class.id) : '',
    tariffId: app.answers.tariff?.id ? String(app.answers.tariff.id) : '',
  }
  return render(
    c,
    'applications/staff-show',
    {
      title: c.var.t('applications.staff.showTitle', { ref: app.id }),
      app,
      what: describe(c.var.t, app),
      fields: fieldsOf(app.kind, app.form_fields ?? []),
      choices,
      child,
      mustChoose: mustChoose(child),
      pupilHref: child ? `/t/${tenantOf(c).slug}/ufficio/anagrafiche/alunni/${child.id}` : null,
      history: data.history,
      canHandle: canHandle(c),
      canLink: canLink(c),
      open: app.status === 'inviata' || app.status === 'in_lavorazione',
      base: base(c),
      done: ['presa', 'decisa'].includes(c.req.query('esito') ?? '') ? c.req.query('esito') : null,
      values: extra.values ?? defaults,
      errors: extra.errors,
    },
    status,
  )
}

applicationStaffRoutes.get('/t/:tenant/ufficio/istanze/:id{[0-9]+}', readers, (c) => detailPage(c))

applicationStaffRoutes.get('/t/:tenant/ufficio/istanze/:id{[0-9]+}/allegato', readers, async (c) => {
  const id = idParam(c)
  const file = await inTenant(c, async (tx) => {
    if (!(await staffApplication(tx, id))) return null
    return attachmentOf(tx, id)
  })
  if (!file) throw new NotFound()
  c.header('Content-Type', file.content_type)
  c.header('Content-Disposition', contentDisposition(file.file_name))
  c.header('Cache-Control', 'private, no-store')
  return c.body(new Uint8Array(file.content))
})

applicationStaffRoutes.post('/t/:tenant/ufficio/istanze/:id{[0-9]+}/presa-in-carico', handlers, async (c) => {
  const id = idParam(c)
  await inTenant(c, (tx) => takeInCharge(tx, actorOf(c.var.user), id))
  return c.redirect(`${base(c)}/${id}?esito=presa`, 303)
})

const decisionSchema = z.object({
  outcome: z.enum(['accolta', 'respinta'], { error: 'applications.errors.outcomeRequired' }),
  message: z.string().trim().max(2000, 'applications.errors.messageTooLong'),
})
const DECISION_ORDER = ['outcome', 'message', 'link', 'linkReason', 'startDate', 'classId', 'tariffId']

const linkSchema = z.discriminatedUnion(
  'link',
  [
    z.object({
      link: z.literal('collega'),
      linkReason: z
        .string()
        .trim()
        .min(1, 'applications.errors.linkReasonRequired')
        .max(1000, 'applications.errors.linkReasonTooLong'),
    }),
    z.object({ link: z.literal('non_collegare') }),
  ],
  { error: 'applications.errors.linkRequired' },
)

/**
 * The enrollment part of an acceptance: a start date; class and tariff may be left empty (the canteen then
 * applies its default tariff), but what is chosen must be on the lists.
 */
function enrollmentChecks(
  values: Record<string, unknown>,
  choices: Choices,
  today: string,
): { issues: Issue[]; enrollment: { startDate: string; classId: number | null; tariffId: number | null } } {
  const issues: Issue[] = []
  const startDate = joinDate(values, 'startDate')
  if (!startDate) issues.push(issue('startDate', 'applications.errors.enrollStartRequired'))
  else if (!isIsoDate(startDate)) issues.push(issue('startDate', 'applications.errors.startDateInvalid'))
  else if (startDate < addDays(today, -366) || startDate > addDays(today, 730))
    issues.push(issue('startDate', 'applications.errors.enrollStartRange'))
  const pick = (list: { id: number }[], name: string, key: string) => {
    if (!list.length) return null
    const v = typeof values[name] === 'string' ? (values[name] as string) : ''
    if (!v) return null
    const found = list.find((x) => String(x.id) === v)
    if (!found) issues.push(issue(name, key))
    return found?.id ?? null
  }
  const classId = pick(choices.classes, 'classId', 'applications.errors.classRequired')
  const tariffId = pick(choices.tariffs, 'tariffId', 'applications.errors.tariffRequired')
  return { issues, enrollment: { startDate, classId, tariffId } }
}

applicationStaffRoutes.post('/t/:tenant/ufficio/istanze/:id{[0-9]+}/decisione', handlers, async (c) => {
  const id = idParam(c)
  const t = c.var.t
  const values = await formValues(c)
  const tenant = tenantOf(c)
  const actor = actorOf(c.var.user)
  const input = { ...values, message: typeof values.message === 'string' ? values.message : '' }
  const r = decisionSchema.safeParse(input)
  const outcome = await inTenant(c, async (tx) => {
    const app = await staffApplication(tx, id)
    if (!app) throw new NotFound()
    const issues: Issue[] = r.success ? [] : [...r.error.issues]
    if (r.success && r.data.outcome === 'respinta' && !r.data.message)
      issues.push(issue('message', 'applications.errors.messageRequired'))
    let enrollment = null
    let link: Decision['link'] = null
    if (r.success && r.data.outcome === 'accolta' && app.kind === 'iscrizione') {
      if (mustChoose(await knownChild(tx, app))) {
        const l = linkSchema.safeParse({
          link: values.link,
          linkReason: typeof values.linkReason === 'string' ? values.linkReason : '',
        })
        if (!l.success) issues.push(...l.error.issues)
        else if (l.data.link === 'non_collegare') link = { linkApplicant: false }
        else {
          // checked here, not only by the route's roles: linking opens a child's records to the applicant
          if (!canLink(c)) throw new Forbidden()
          link = { linkApplicant: true, reason: l.data.linkReason }
        }
      }
      const checked = enrollmentChecks(values, await loadChoices(tx, app.service_kind), todayRome())
      issues.push(...checked.issues)
      enrollment = checked.enrollment
    }
    if (!r.success || issues.length)
      return { ok: false as const, errors: formErrors(issues, t, DECISION_ORDER, { startDate: 'startDate-day' }) }
    const result = await decide(
      tx,
      tenant,
      actor,
      id,
      { outcome: r.data.outcome, message: r.data.message, enrollment, link },
      { baseUrl: c.var.deps.config.baseUrl },
    )
    return { ok: true as const, mailQueued: result.mailQueued }
  })
  if (!outcome.ok) return detailPage(c, { values, errors: outcome.errors }, 422)
  if (outcome.mailQueued) c.var.deps.kickMail()
  return c.redirect(`${base(c)}/${id}?esito=decisa`, 303)
})

// ---- application forms ---------------------------------------------------------------------------------------------

applicationStaffRoutes.get('/t/:tenant/ufficio/istanze/moduli', readers, async (c) => {
  const forms = await inTenant(c, (tx) => allForms(tx))
  return render(c, 'applications/staff-forms', {
    title: c.var.t('applications.forms.title'),
    forms,
    canAdmin: c.var.staffRole === 'admin',
    base: base(c),
    saved: c.req.query('salvato') === '1',
  })
})

const formSchema = z.object({
  title: z
    .string()
    .trim()
    .min(1, 'applications.errors.formTitleRequired')
    .refine((s) => chars(s) >= 3, 'applications.errors.formTitleShort')
    .max(120, 'applications.errors.formTitleLong'),
  intro: z.string().trim().max(2000, 'applications.errors.formIntroLong'),
  fields: z.array(z.enum(FORM_FIELDS, { error: 'applications.errors.formFieldsInvalid' })),
  open: z
    .literal('si')
    .optional()
    .transform((v) => v === 'si'),
})
const FORM_ORDER = ['service', 'title', 'intro', 'fields', 'open']

function formValuesOf(values: Record<string, string | string[]>) {
  // the checkboxes are named fields[] (one name shared by a group of checkboxes)
  const raw = values['fields[]'] ?? values.fields
  const fields = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
  return {
    title: typeof values.title === 'string' ? values.title : '',
    intro: typeof values.intro === 'string' ? values.intro : '',
    fields,
    open: values.open,
    service: typeof values.service === 'string' ? values.service : '',
  }
}

async function formEditPage(
  c: Context<Env>,
  formId: number | null,
  extra: { values?: Record<string, unknown>; errors?: FormErrors } = {},
  status: 200 | 422 = 200,
) {
  const data = await inTenant(c, async (tx) => ({
    form: formId ? await findForm(tx, formId) : null,
    services: await allServices(tx),
  }))
  if (formId && !data.form) throw new NotFound()
  const f = data.form
  return render(
    c,
    'applications/staff-form-edit',
    {
      title: f
        ? c.var.t('applications.forms.editTitle', { service: f.service_name })
        : c.var.t('applications.forms.newTitle'),
      form: f,
      services: data.services.filter((s) => !s.has_form),
      fieldNames: FORM_FIELDS,
      base: base(c),
      values:
        extra.values ??
        (f
          ? { title: f.title, intro: f.intro, fields: f.fields, open: f.open ? 'si' : '' }
          : { fields: [...FORM_FIELDS], open: 'si' }),
      errors: extra.errors,
    },
    status,
  )
}

applicationStaffRoutes.get('/t/:tenant/ufficio/istanze/moduli/nuovo', admins, (c) => formEditPage(c, null))
applicationStaffRoutes.get('/t/:tenant/ufficio/istanze/moduli/:id{[0-9]+}', admins, (c) => formEditPage(c, idParam(c)))

async function saveFormDefinition(c: Context<Env>, formId: number | null) {
  const raw = await formValues(c)
  const values = formValuesOf(raw)
  const r = formSchema.safeParse(values)
  const actor = actorOf(c.var.user)
  const outcome = await inTenant(c, async (tx) => {
    const issues: Issue[] = r.success ? [] : [...r.error.issues]
    let serviceId: number | null = null
    if (!formId) {
      const services = await allServices(tx)
      const s = services.find((x) => String(x.id) === values.service && !x.has_form)
      if (!s) issues.push(issue('service', 'applications.errors.formServiceRequired'))
      else serviceId = s.id
    }
    if (!r.success || issues.length) return { ok: false as const, issues }
    const d = r.data
    const fields = FORM_FIELDS.filter((f) => d.fields.includes(f))
    if (formId) {
      const [before] = await tx<{ title: string; intro: string; fields: string[]; open: boolean }[]>`
        select title, intro, fields, open from application_forms where id = ${formId} for update`
      if (!before) throw new NotFound()
      await tx`
        update application_forms set title = ${d.title}, intro = ${d.intro}, fields = ${fields}, open = ${d.open},
          updated_at = now()
        where id = ${formId}`
      await audit(tx, actor, {
        action: 'applications.forms.update',
        entity: 'application_form',
        entityId: formId,
        before,
        after: { title: d.title, intro: d.intro, fields, open: d.open },
      })
    } else {
      const [row] = await tx<{ id: number }[]>`
        insert into application_forms (service_id, title, intro, fields, open)
        values (${serviceId}, ${d.title}, ${d.intro}, ${fields}, ${d.open}) returning id`
      await audit(tx, actor, {
        action: 'applications.forms.create',
        entity: 'application_form',
        entityId: row?.id,
        after: { serviceId, title: d.title, intro: d.intro, fields, open: d.open },
      })
    }
    return { ok: true as const }
  })
  if (!outcome.ok)
    return formEditPage(c, formId, { values, errors: formErrors(outcome.issues, c.var.t, FORM_ORDER) }, 422)
  return c.redirect(`${base(c)}/moduli?salvato=1`, 303)
}

applicationStaffRoutes.post('/t/:tenant/ufficio/istanze/moduli/nuovo', admins, (c) => saveFormDefinition(c, null))
applicationStaffRoutes.post('/t/:tenant/ufficio/istanze/moduli/:id{[0-9]+}', admins, (c) =>
  saveFormDefinition(c, idParam(c)),
)
