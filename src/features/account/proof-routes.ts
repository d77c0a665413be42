// The citizen's side of proving a codice fiscale: the page that says where the account stands and how to prove it,
// the code mailed to the address a body holds for the payer, the code of an activation letter.
import { type Context, Hono } from 'hono'
import { createMiddleware } from 'hono/factory'
import { z } from 'zod'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env, SessionUser } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireUser } from '../../platform/session.ts'
import { citizenTenants } from '../debts/routes.ts'
import { oidcButtons } from '../oidc/buttons.ts'
import { type Claimant, EMAIL_CODE_MINUTES, normalizeProofCode, redeemCode, sendEmailCodes } from './proof.ts'

export const proofRoutes = new Hono<Env>()

const PATH = '/profilo/verifica'

const codeSchema = z.object({
  codice: z
    .string()
    .trim()
    .min(1, 'account.proof.errors.codeRequired')
    .max(40, 'account.proof.errors.codeFormat')
    .refine((v) => normalizeProofCode(v) !== null, 'account.proof.errors.codeFormat'),
})

function claimant(user: SessionUser): Claimant {
  return {
    accountId: user.accountId,
    claimedCf: user.claimedCf,
    givenName: user.givenName,
    familyName: user.familyName,
    lang: user.lang,
  }
}

function proofPage(
  c: Context<Env>,
  extra: { values?: Record<string, unknown>; errors?: FormErrors } = {},
  status = 200,
) {
  const user = c.var.user as SessionUser
  return render(
    c,
    'account/proof',
    {
      title: c.var.t('account.proof.title'),
      user,
      sent: c.req.query('inviato') === '1',
      minutes: EMAIL_CODE_MINUTES,
      oidc: oidcButtons(c, PATH),
      values: extra.values ?? {},
      errors: extra.errors,
    },
    status as 200,
  )
}

proofRoutes.use(PATH, requireUser)
proofRoutes.use(`${PATH}/*`, requireUser)

proofRoutes.get(PATH, (c) => proofPage(c))

proofRoutes.post(`${PATH}/invia`, async (c) => {
  const user = c.var.user as SessionUser
  if (user.cfProved) return c.redirect(PATH, 303)
  const { db, config } = c.var.deps
  const tenants = await citizenTenants(c, user.claimedCf)
  const outcome = await sendEmailCodes(db.sql, config, claimant(user), tenants)
  if (outcome === 'throttled') return render(c, 'account/too-many', { title: c.var.t('errors.tooMany') }, 429)
  c.var.deps.kickMail()
  return c.redirect(`${PATH}?inviato=1`, 303)
})

proofRoutes.post(PATH, async (c) => {
  const t = c.var.t
  const user = c.var.user as SessionUser
  if (user.cfProved) return c.redirect(PATH, 303)
  const parsed = parseWith(codeSchema, await formValues(c), t, ['codice'])
  if (!parsed.ok) return proofPage(c, { values: parsed.values, errors: parsed.errors }, 422)
  const { db, config } = c.var.deps
  const outcome = await redeemCode(db.sql, config, claimant(user), parsed.data.codice)
  if (outcome === 'proved') return c.redirect('/profilo?salvato=codice-fiscale', 303)
  if (outcome === 'throttled') return render(c, 'account/too-many', { title: t('errors.tooMany') }, 429)
  const key = outcome === 'taken' ? 'account.proof.errors.taken' : 'account.proof.errors.codeWrong'
  return proofPage(c, { values: { codice: parsed.data.codice }, errors: fieldError(t, 'codice', key) }, 422)
})

/**
 * For pages that show or create what belongs to a codice fiscale (a family's pupils, wallets, applications,
 * spontaneous payments in their name): an account whose codice fiscale is not proved is told how to prove it.
 */
export const requireProvedCf = createMiddleware<Env>(async (c, next) => {
  const user = c.var.user
  if (user && !user.cfProved) {
    return render(c, 'account/proof-needed', { title: c.var.t('account.proof.needed.title') }, 403)
  }
  await next()
})
