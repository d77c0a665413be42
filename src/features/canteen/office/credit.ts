// Credit left in a pupil's canteen wallet (decision 0096): refunded to the family through the refund register, or
// moved to a sibling's wallet. Both forms are on the pupil's page; a 422 shows it again with the form open.
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import { actorOf } from '../../../platform/audit.ts'
import { todayRome } from '../../../platform/dates.ts'
import { formValues, parseWith } from '../../../platform/forms.ts'
import type { Env } from '../../../platform/http.ts'
import { formatDecimalIt } from '../../../platform/money.ts'
import { newToken } from '../../../platform/tokens.ts'
import { errorsOf, moneyField, OPEN_ORDER, openSchema } from '../../backoffice/refunds.ts'
import { type CreditError, moveCredit, refundCredit } from '../credit.ts'
import { yearToParam } from '../rules.ts'
import { inTenant, OFFICE, office, PUPIL, strings, tenantOf, writers } from './common.ts'
import { pupilData, pupilPage } from './pupil.ts'

const E = 'canteen.credit.errors.'
const MOVE_ORDER = ['fratello', 'importoSposta', 'notaSposta']
const moveSchema = z.object({
  fratello: z.coerce
    .number({ error: `${E}siblingRequired` })
    .int()
    .positive(`${E}siblingRequired`),
  importoSposta: moneyField,
  notaSposta: z
    .string()
    .optional()
    .transform((s) => (s ?? '').replace(/\s+/g, ' ').trim())
    .pipe(z.string().max(200, `${E}noteTooLong`)),
})

function creditError(c: Context<Env>, e: CreditError | { field: 'holder' }, amountField: string) {
  const t = c.var.t
  if (e.field === 'holder') return { [amountField]: t(`${E}noHolder`) }
  if (e.field === 'sibling') return { fratello: t(`${E}siblingRequired`) }
  return {
    [amountField]: e.maxCents > 0 ? t(`${E}over`, { max: formatDecimalIt(e.maxCents) }) : t(`${E}noCredit`),
  }
}

export const creditRoutes = new Hono<Env>()

creditRoutes.post(`${OFFICE}/alunni/${PUPIL}/credito/rimborso`, writers, async (c) => {
  const d = await pupilData(c)
  const values = strings(await formValues(c))
  const parsed = parseWith(openSchema, values, c.var.t, OPEN_ORDER)
  if (!parsed.ok) return pupilPage(c, d, { form: 'credito-rimborso', values, errors: parsed.errors })
  const { amount, ...rest } = parsed.data
  const done = await inTenant(c, (tx) =>
    refundCredit(tx, actorOf(c.var.user), d.pupil.id, {
      amountCents: amount,
      ...rest,
      schoolYear: d.year,
      today: todayRome(),
    }),
  )
  if (!done.ok)
    return pupilPage(c, d, {
      form: 'credito-rimborso',
      values,
      errors: errorsOf(creditError(c, done.error, 'amount'), OPEN_ORDER),
    })
  return c.redirect(`/t/${tenantOf(c).slug}/ufficio/rimborsi/${done.id}?fatto=aperto`, 303)
})

creditRoutes.post(`${OFFICE}/alunni/${PUPIL}/credito/sposta`, writers, async (c) => {
  const d = await pupilData(c)
  const form = strings(await formValues(c))
  const key = /^[A-Za-z0-9_-]{43}$/.test(form.chiaveSposta ?? '') ? (form.chiaveSposta as string) : newToken()
  const values = { ...form, chiaveSposta: key }
  const parsed = parseWith(moveSchema, form, c.var.t, MOVE_ORDER)
  if (!parsed.ok) return pupilPage(c, d, { form: 'credito-sposta', values, errors: parsed.errors })
  const done = await inTenant(c, (tx) =>
    moveCredit(tx, actorOf(c.var.user), d.pupil.id, {
      toPupilId: parsed.data.fratello,
      amountCents: parsed.data.importoSposta,
      note: parsed.data.notaSposta,
      key,
      today: todayRome(),
    }),
  )
  if (!done.ok)
    return pupilPage(c, d, {
      form: 'credito-sposta',
      values,
      errors: errorsOf(creditError(c, done.error, 'importoSposta'), MOVE_ORDER),
    })
  return c.redirect(`${office(c, `/alunni/${d.pupil.id}`)}?anno=${yearToParam(d.year)}&salvato=credito`, 303)
})
