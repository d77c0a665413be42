// A body asks to join, in public: the sign-up form, its check-your-answers page ("change" goes back with the field
// focused), sending the request (throttled per IP) and the page that gives its reference.
import { type Context, Hono } from 'hono'
import { NotFound } from '../../platform/errors.ts'
import { type FormValues, fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { clientIp } from '../../platform/session.ts'
import { checkThrottle, RULES, recordFailure } from '../../platform/throttle.ts'
import { checkSignUp, type Duplicate, submitRequest } from './requests.ts'
import { SIGN_UP_ORDER, signUpSchema } from './schema.ts'

export const signUpRoutes = new Hono<Env>()

// --- public sign-up -------------------------------------------------------------------------------------

function duplicateErrors(c: Context<Env>, duplicates: Duplicate[]): FormErrors {
  const errors: FormErrors = { summary: [], fields: {} }
  for (const d of duplicates) {
    const text = c.var.t(d.key, d.params)
    errors.fields[d.field] = text
    errors.summary.push({ text, href: `#${d.field}` })
  }
  return errors
}

function signUpForm(c: Context<Env>, values: FormValues, errors?: FormErrors, focus?: string) {
  return render(
    c,
    'onboarding/start',
    {
      title: c.var.t('onboarding.start.title'),
      values,
      errors,
      focus: focus && SIGN_UP_ORDER.includes(focus) ? focus : null,
    },
    errors ? 422 : 200,
  )
}

signUpRoutes.get('/adesione', (c) => signUpForm(c, {}))

/** Step 1 → the check-your-answers page (nothing is saved yet). */
signUpRoutes.post('/adesione', async (c) => {
  const values = await formValues(c)
  const parsed = parseWith(signUpSchema, values, c.var.t, SIGN_UP_ORDER)
  if (!parsed.ok) return signUpForm(c, parsed.values, parsed.errors)
  const check = await checkSignUp(c.var.deps.db.sql, parsed.data)
  if (check.duplicates.length) return signUpForm(c, values, duplicateErrors(c, check.duplicates))
  if (!check.slug) return signUpForm(c, values, fieldError(c.var.t, 'slug', 'onboarding.errors.slugNoSuggestion'))
  return render(c, 'onboarding/check', {
    title: c.var.t('onboarding.check.title'),
    data: { ...parsed.data, slug: check.slug },
    suggested: check.suggested,
  })
})

/** "Change" on the check page: back to the form with what was typed, the chosen field focused. */
signUpRoutes.post('/adesione/modifica', async (c) => {
  const values = await formValues(c)
  const focus = typeof values.campo === 'string' ? values.campo : undefined
  delete values.campo
  return signUpForm(c, values, undefined, focus)
})

signUpRoutes.post('/adesione/invia', async (c) => {
  const t = c.var.t
  const sql = c.var.deps.db.sql
  const values = await formValues(c)
  const parsed = parseWith(signUpSchema, values, t, SIGN_UP_ORDER)
  if (!parsed.ok) return signUpForm(c, parsed.values, parsed.errors)
  const key = `onboarding:ip:${clientIp(c)}`
  if ((await checkThrottle(sql, key, RULES.requestsIp)).locked)
    return render(c, 'account/too-many', { title: t('errors.tooMany') }, 429)
  await recordFailure(sql, key, RULES.requestsIp)
  const check = await checkSignUp(sql, parsed.data)
  if (check.duplicates.length) return signUpForm(c, values, duplicateErrors(c, check.duplicates))
  if (!check.slug) return signUpForm(c, values, fieldError(t, 'slug', 'onboarding.errors.slugNoSuggestion'))
  const result = await submitRequest(sql, c.var.deps.config, { ...parsed.data, slug: check.slug }, c.var.lang)
  if (!result.ok) return signUpForm(c, values, duplicateErrors(c, result.duplicates))
  c.var.deps.kickMail()
  return c.redirect(`/adesione/inviata/${result.ref}`, 303)
})

signUpRoutes.get('/adesione/inviata/:ref', async (c) => {
  const ref = c.req.param('ref')
  if (!/^[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(ref)) throw new NotFound()
  const [r] = await c.var.deps.db.sql<{ name: string; email: string; admin_email: string }[]>`
    select name, email, admin_email from platform.onboarding_requests where public_ref = ${ref}`
  if (!r) throw new NotFound()
  return render(c, 'onboarding/sent', { title: c.var.t('onboarding.sent.title'), ref, request: r })
})
