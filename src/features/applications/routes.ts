// The citizen's side of applications (istanze) and communications: start one, fill it in, check the answers,
// send it, follow its status. Only the citizen's own are ever found (by codice fiscale): another family's
// id is a 404.
import { type Context, Hono } from 'hono'
import { todayRome } from '../../platform/dates.ts'
import { type Tx, withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { type FormValues, formErrors, formValues } from '../../platform/forms.ts'
import type { Env, SessionUser } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireUser } from '../../platform/session.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { requireProvedCf } from '../account/proof-routes.ts'
import { contentDisposition, declaredTooBig, MB, readUpload, type Upload } from '../publications/files.ts'
import { loadChoices } from './catalog.ts'
import { describe } from './mail.ts'
import {
  type ApplicationRow,
  attachmentOf,
  citizenApplication,
  citizenApplications,
  citizenPupils,
  type FormRow,
  findForm,
  openForms,
  servicesFor,
} from './queries.ts'
import {
  ATTACHMENT_LIMIT,
  COMMUNICATIONS,
  type Communication,
  type Field,
  type FormContext,
  fieldOrder,
  fieldsOf,
  type Issue,
  type Kind,
  prepare,
  toParsed,
  toValues,
  validate,
} from './schema.ts'
import { createDraft, deleteDraft, submitDraft, updateDraft } from './service.ts'

export const applicationRoutes = new Hono<Env>()

// applications are filed and found under a proved codice fiscale only (an unproved one is '' and is told how)
applicationRoutes.use('/t/:tenant/istanze', requireUser, requireProvedCf)
applicationRoutes.use('/t/:tenant/istanze/*', requireUser, requireProvedCf)

function tenantOf(c: Context<Env>): Tenant {
  const t = c.var.tenant
  if (!t) throw new NotFound()
  return t
}

function userOf(c: Context<Env>): SessionUser {
  return c.var.user as SessionUser
}

export function idParam(c: Context<Env>, name = 'id'): number {
  const v = c.req.param(name) ?? ''
  if (!/^[1-9][0-9]{0,15}$/.test(v) || !Number.isSafeInteger(Number(v))) throw new NotFound()
  return Number(v)
}

function inTenant<T>(c: Context<Env>, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return withTenant(c.var.deps.db.sql, tenantOf(c), fn)
}

const base = (c: Context<Env>) => `/t/${tenantOf(c).slug}/istanze`

// ---- the list -----------------------------------------------------------------------------------------------

applicationRoutes.get('/t/:tenant/istanze', async (c) => {
  const user = userOf(c)
  const { applications, forms } = await inTenant(c, async (tx) => ({
    applications: await citizenApplications(tx, user.codiceFiscale),
    forms: await openForms(tx),
  }))
  return render(c, 'applications/list', {
    title: c.var.t('applications.list.title'),
    applications,
    forms,
    communications: COMMUNICATIONS,
    base: base(c),
    describe: (a: ApplicationRow) => describe(c.var.t, a),
    deleted: c.req.query('eliminata') === '1',
  })
})

// ---- the form ----------------------------------------------------------------------------------------------

interface Target {
  kind: Kind
  form: FormRow | null
  draft: ApplicationRow | null
}

/** Everything a form page needs, read in the page's transaction. */
async function context(tx: Tx, user: SessionUser, target: Target): Promise<FormContext> {
  const fields = fieldsOf(target.kind, target.form?.fields ?? [])
  const needs = (f: Field) => fields.includes(f)
  const choices =
    needs('school') || needs('class') || needs('tariff')
      ? await loadChoices(tx, target.form?.service_kind ?? null)
      : { schools: [], classes: [], tariffs: [] }
  return {
    kind: target.kind,
    fields,
    today: todayRome(),
    pupils: needs('pupil') ? await citizenPupils(tx, user.codiceFiscale) : [],
    schools: needs('school') ? choices.schools : [],
    classes: needs('class') ? choices.classes : [],
    tariffs: needs('tariff') ? choices.tariffs : [],
    services: needs('suspService') || needs('ratedService') ? await servicesFor(tx, target.kind) : [],
    hasAttachment: Boolean(target.draft?.attachment_name),
  }
}

function formTitle(c: Context<Env>, target: Target): string {
  if (target.kind === 'iscrizione') return target.form?.title ?? ''
  return c.var.t(`applications.kind.${target.kind}`)
}

function formPage(
  c: Context<Env>,
  target: Target,
  ctx: FormContext,
  values: Record<string, unknown>,
  action: string,
  errors?: FormErrors,
  status: 200 | 413 | 422 = 200,
) {
  return render(
    c,
    'applications/form',
    {
      title: formTitle(c, target),
      target,
      ctx,
      values,
      errors,
      action,
      back: target.draft ? `${base(c)}/${target.draft.id}/riepilogo` : base(c),
      limitMb: ATTACHMENT_LIMIT / MB,
    },
    status,
  )
}

const ATTACHMENT_TYPES: Upload['type'][] = ['application/pdf', 'image/jpeg', 'image/png']

/** Reads the attachment field when the page has one: the file, or the problem to show. */
async function attachmentFrom(
  c: Context<Env>,
  fields: Field[],
): Promise<{ file: Upload | null; problem: string | null }> {
  if (!fields.includes('diet') && !fields.includes('dietOnly')) return { file: null, problem: null }
  const r = await readUpload(c, 'attachment', ATTACHMENT_LIMIT, ATTACHMENT_TYPES)
  if (r.ok) return { file: r.file, problem: null }
  return { file: null, problem: r.problem === 'missing' ? null : r.problem }
}

/**
 * Validates and saves a page of the form (new or a draft's change) in one transaction; on a problem the
 * same page again (422) with what was typed and nothing saved.
 */
async function saveForm(c: Context<Env>, target: Target, action: string) {
  const user = userOf(c)
  const t = c.var.t
  const tooBig = declaredTooBig(c, ATTACHMENT_LIMIT)
  const values: FormValues = tooBig ? {} : await formValues(c)
  const upload = tooBig
    ? { file: null, problem: 'tooBig' }
    : await attachmentFrom(c, fieldsOf(target.kind, target.form?.fields ?? []))
  const outcome = await inTenant(c, async (tx) => {
    const ctx = await context(tx, user, target)
    const prepared = prepare(values, ctx.fields)
    const checked = validate(ctx, prepared)
    const issues: Issue[] = [...checked.issues]
    const wantsFile = ctx.fields.includes('diet') && prepared.diet === 'si'
    if (upload.problem)
      issues.push({
        code: 'custom',
        path: ['attachment'],
        message: `applications.errors.attachment.${upload.problem}`,
        input: undefined,
      } as Issue)
    else if (wantsFile && !upload.file && !ctx.hasAttachment)
      issues.push({
        code: 'custom',
        path: ['attachment'],
        message: 'applications.errors.attachment.required',
        input: undefined,
      } as Issue)
    if (!checked.ok || issues.length) {
      const { order, hrefs } = fieldOrder(ctx.fields)
      return { ok: false as const, ctx, errors: formErrors(issues, t, order, hrefs) }
    }
    const parsed = toParsed(ctx, checked.data)
    const input = {
      kind: target.kind,
      formId: target.form?.id ?? null,
      serviceId: target.kind === 'iscrizione' ? (target.form?.service_id ?? null) : parsed.serviceId,
      parsed,
      attachment: upload.file,
    }
    if (target.draft) {
      await updateDraft(tx, user.codiceFiscale, target.draft.id, input)
      return { ok: true as const, id: target.draft.id }
    }
    return { ok: true as const, id: await createDraft(tx, user, input) }
  })
  if (!outcome.ok) return formPage(c, target, outcome.ctx, values, action, outcome.errors, tooBig ? 413 : 422)
  return c.redirect(`${base(c)}/${outcome.id}/riepilogo`, 303)
}

async function openForm(tx: Tx, id: number): Promise<FormRow> {
  const form = await findForm(tx, id)
  if (!form?.open || !form.service_active) throw new NotFound()
  return form
}

applicationRoutes.get('/t/:tenant/istanze/nuova/domanda/:form', async (c) => {
  const id = idParam(c, 'form')
  const user = userOf(c)
  const { target, ctx } = await inTenant(c, async (tx) => {
    const target: Target = { kind: 'iscrizione', form: await openForm(tx, id), draft: null }
    return { target, ctx: await context(tx, user, target) }
  })
  return formPage(c, target, ctx, {}, c.req.path)
})

applicationRoutes.post('/t/:tenant/istanze/nuova/domanda/:form', async (c) => {
  const id = idParam(c, 'form')
  const form = await inTenant(c, (tx) => openForm(tx, id))
  return saveForm(c, { kind: 'iscrizione', form, draft: null }, c.req.path)
})

const communicationPath = '/t/:tenant/istanze/nuova/:kind{(?:indirizzo|sospensione|dieta|valutazione)}'

applicationRoutes.get(communicationPath, async (c) => {
  const kind = c.req.param('kind') as Communication
  const user = userOf(c)
  const target: Target = { kind, form: null, draft: null }
  const ctx = await inTenant(c, (tx) => context(tx, user, target))
  return formPage(c, target, ctx, {}, c.req.path)
})

applicationRoutes.post(communicationPath, (c) =>
  saveForm(c, { kind: c.req.param('kind') as Communication, form: null, draft: null }, c.req.path),
)

// ---- a draft: change, check, send, delete -----------------------------------------------------------------------

async function ownApplication(c: Context<Env>, tx: Tx): Promise<ApplicationRow> {
  const app = await citizenApplication(tx, userOf(c).codiceFiscale, idParam(c))
  if (!app) throw new NotFound()
  return app
}

applicationRoutes.get('/t/:tenant/istanze/:id{[0-9]+}/modifica', async (c) => {
  const user = userOf(c)
  const result = await inTenant(c, async (tx) => {
    const app = await ownApplication(c, tx)
    if (app.status !== 'bozza') return null
    const target: Target = { kind: app.kind, form: app.form_id ? await findForm(tx, app.form_id) : null, draft: app }
    return { target, ctx: await context(tx, user, target) }
  })
  if (!result) return c.redirect(`${base(c)}/${idParam(c)}`, 303)
  const values = toValues(result.target.draft as ApplicationRow, result.ctx.fields)
  return formPage(c, result.target, result.ctx, values, c.req.path)
})

applicationRoutes.post('/t/:tenant/istanze/:id{[0-9]+}/modifica', async (c) => {
  const target = await inTenant(c, async (tx) => {
    const app = await ownApplication(c, tx)
    if (app.status !== 'bozza') return null
    return { kind: app.kind, form: app.form_id ? await findForm(tx, app.form_id) : null, draft: app } as Target
  })
  if (!target) return c.redirect(`${base(c)}/${idParam(c)}`, 303)
  return saveForm(c, target, c.req.path)
})

applicationRoutes.get('/t/:tenant/istanze/:id{[0-9]+}/riepilogo', async (c) => {
  const app = await inTenant(c, (tx) => ownApplication(c, tx))
  if (app.status !== 'bozza') return c.redirect(`${base(c)}/${app.id}`, 303)
  return render(c, 'applications/check', {
    title: c.var.t('applications.check.title'),
    app,
    what: describe(c.var.t, app),
    fields: fieldsOf(app.kind, app.form_fields ?? []),
    base: base(c),
    change: `${base(c)}/${app.id}/modifica`,
  })
})

applicationRoutes.post('/t/:tenant/istanze/:id{[0-9]+}/invia', async (c) => {
  const id = await inTenant(c, async (tx) => {
    const app = await ownApplication(c, tx)
    await submitDraft(tx, app)
    return app.id
  })
  return c.redirect(`${base(c)}/${id}?inviata=1`, 303)
})

applicationRoutes.post('/t/:tenant/istanze/:id{[0-9]+}/elimina', async (c) => {
  await inTenant(c, (tx) => deleteDraft(tx, userOf(c).codiceFiscale, idParam(c)))
  return c.redirect(`${base(c)}?eliminata=1`, 303)
})

// ---- status and attachment ---------------------------------------------------------------------------------------

applicationRoutes.get('/t/:tenant/istanze/:id{[0-9]+}', async (c) => {
  const app = await inTenant(c, (tx) => ownApplication(c, tx))
  if (app.status === 'bozza') return c.redirect(`${base(c)}/${app.id}/riepilogo`, 303)
  return render(c, 'applications/show', {
    title: c.var.t('applications.show.title', { ref: app.id }),
    app,
    what: describe(c.var.t, app),
    fields: fieldsOf(app.kind, app.form_fields ?? []),
    base: base(c),
    sent: c.req.query('inviata') === '1',
  })
})

applicationRoutes.get('/t/:tenant/istanze/:id{[0-9]+}/allegato', async (c) => {
  const file = await inTenant(c, async (tx) => {
    const app = await ownApplication(c, tx)
    return attachmentOf(tx, app.id)
  })
  if (!file) throw new NotFound()
  c.header('Content-Type', file.content_type)
  c.header('Content-Disposition', contentDisposition(file.file_name))
  c.header('Cache-Control', 'private, no-store')
  return c.body(new Uint8Array(file.content))
})
