// The office's part in proving a citizen's codice fiscale (docs/security.md): on a payer's page, the accounts that
// claim its codice fiscale; an activation letter with a single-use code to hand or post to the payer; the
// confirmation, after seeing an identity document at the counter, that one of those accounts is the payer's.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { actorOf } from '../../../platform/audit.ts'
import { formatDate, todayRome } from '../../../platform/dates.ts'
import { NotFound } from '../../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import type { FormErrors } from '../../../platform/render.ts'
import { claimsOf, confirmByOffice, createLetter, LETTER_DAYS } from '../../account/proof.ts'
import { idParam, inTenant, page, tenantOf, writers } from '../common.ts'
import { loadPayer } from './common.ts'

export const identityRoutes = new Hono<Env>()

const PAYER = '/t/:tenant/ufficio/anagrafiche/intestatari/:id'

// a POST, not a GET: each letter ends the previous one and is written in the audit log
identityRoutes.post(`${PAYER}/lettera`, writers, async (c) => {
  const tenant = tenantOf(c)
  const { config } = c.var.deps
  const letter = await inTenant(c, async (tx) => {
    const payer = await loadPayer(tx, idParam(c))
    const made = await createLetter(tx, config, tenant.id, actorOf(c.var.user), payer)
    return { payer, ...made }
  })
  return page(c, 'activation-letter', {
    title: c.var.t('backoffice.identity.letter.title'),
    payer: letter.payer,
    code: letter.code,
    expiresAt: formatDate(todayRome(letter.expiresAt)),
    days: LETTER_DAYS,
    site: config.baseUrl,
  })
})

const confirmSchema = z.object({
  motivo: z
    .string()
    .trim()
    .min(10, 'backoffice.identity.confirm.errors.reason')
    .max(300, 'backoffice.identity.confirm.errors.reasonLong')
    .regex(/^[^\p{Cc}]*$/u, 'backoffice.identity.confirm.errors.reasonLong'),
})

async function confirmPage(c: Context<Env>, extra: { values?: Record<string, unknown>; errors?: FormErrors } = {}) {
  const accountId = idParam(c, 'account')
  const data = await inTenant(c, async (tx) => {
    const payer = await loadPayer(tx, idParam(c))
    const claim = (await claimsOf(tx, payer.codice_fiscale)).find((a) => a.id === accountId && !a.proved)
    if (!claim) throw new NotFound()
    return { payer, claim }
  })
  return page(c, 'confirm-account', {
    title: c.var.t('backoffice.identity.confirm.title'),
    ...data,
    values: extra.values ?? {},
    errors: extra.errors,
  })
}

identityRoutes.get(`${PAYER}/conferma-account/:account`, writers, (c) => confirmPage(c))

identityRoutes.post(`${PAYER}/conferma-account/:account`, writers, async (c) => {
  const t = c.var.t
  const parsed = parseWith(confirmSchema, await formValues(c), t, ['motivo'])
  if (!parsed.ok) return confirmPage(c, { values: parsed.values, errors: parsed.errors })
  const accountId = idParam(c, 'account')
  const payerId = idParam(c)
  const outcome = await inTenant(c, async (tx) => {
    const payer = await loadPayer(tx, payerId)
    return confirmByOffice(tx, actorOf(c.var.user), payer, accountId, parsed.data.motivo)
  })
  if (outcome === 'unknown') throw new NotFound()
  if (outcome === 'taken')
    return confirmPage(c, {
      values: { motivo: parsed.data.motivo },
      errors: fieldError(t, 'motivo', 'backoffice.identity.confirm.errors.taken'),
    })
  return c.redirect(`/t/${tenantOf(c).slug}/ufficio/anagrafiche/intestatari/${payerId}?salvato=1`, 303)
})
