// The tax certificate for the 730 return: choose a period and a pupil, get the PDF of what you paid for that
// pupil across every tenant, or a page saying nothing was paid.
import { type Context, Hono } from 'hono'
import { todayRome } from '../../platform/dates.ts'
import { NotFound } from '../../platform/errors.ts'
import { parseWith } from '../../platform/forms.ts'
import type { Env, SessionUser } from '../../platform/http.ts'
import { type FormErrors, render } from '../../platform/render.ts'
import { requireUser } from '../../platform/session.ts'
import { requireProvedCf } from '../account/proof-routes.ts'
import { citizenTenants } from '../debts/routes.ts'
import { renderTaxCertificatePdf } from '../payments/tax-certificate-pdf.ts'
import {
  certificateSchema,
  DATE_FIELDS,
  defaultYear,
  FIELD_HREFS,
  FIELD_ORDER,
  HOUSEHOLD,
  offeredYears,
  type Period,
  periodRange,
  RANGE,
  toRequest,
} from './schema.ts'
import { certificateRows, familyPupils, householdRows, type PupilChoice } from './service.ts'

export const taxRoutes = new Hono<Env>()
taxRoutes.use('/certificazione', requireUser, requireProvedCf)
taxRoutes.use('/certificazione.pdf', requireUser, requireProvedCf)

const FORM_FIELDS = ['periodo', 'alunno', ...DATE_FIELDS]

/** The form's answers from the query string (strings only, bounded). */
function answers(c: Context<Env>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const k of FORM_FIELDS) {
    const v = c.req.query(k)
    if (v !== undefined) out[k] = v.slice(0, 40)
  }
  return out
}

function formPage(
  c: Context<Env>,
  pupils: PupilChoice[],
  values: Record<string, string>,
  errors?: FormErrors,
  status: 200 | 422 = 200,
) {
  const today = todayRome()
  return render(
    c,
    'tax/form',
    {
      title: c.var.t('tax.form.title'),
      pupils,
      years: offeredYears(today),
      range: RANGE,
      values: { periodo: String(defaultYear(today)), ...values },
      errors,
    },
    status,
  )
}

async function load(c: Context<Env>) {
  const user = c.var.user as SessionUser
  const tenants = await citizenTenants(c, user.codiceFiscale)
  return { user, pupils: await familyPupils(c.var.deps.db, tenants, user.codiceFiscale) }
}

type Outcome =
  | { kind: 'form'; response: Response }
  | { kind: 'empty'; response: Response }
  | {
      kind: 'rows'
      pupil: PupilChoice | { household: PupilChoice[] }
      period: Period
      rows: Awaited<ReturnType<typeof certificateRows>>
    }

/** Validates the answers and finds the rows; another family's pupil (or a made-up one) is a 404. */
async function resolve(c: Context<Env>): Promise<Outcome> {
  const { user, pupils } = await load(c)
  const values = answers(c)
  const parsed = parseWith(certificateSchema(), values, c.var.t, FIELD_ORDER, FIELD_HREFS)
  if (!parsed.ok) return { kind: 'form', response: formPage(c, pupils, values, parsed.errors, 422) }
  const { period, pupilKey } = toRequest(parsed.data)
  const me = { accountId: user.accountId, codiceFiscale: user.codiceFiscale }
  const installment = (seq: number) => c.var.t('tax.pdf.installment', { seq })
  const household = pupilKey === HOUSEHOLD
  const one = household ? null : pupils.find((p) => p.key === pupilKey)
  if (!household && !one) throw new NotFound()
  if (household && pupils.length === 0) throw new NotFound()
  const rows = one
    ? await certificateRows(c.var.deps.db, one, me, periodRange(period), installment)
    : await householdRows(c.var.deps.db, pupils, me, periodRange(period), installment)
  const pupil = one ?? { name: c.var.t('tax.form.household'), codiceFiscale: null, key: HOUSEHOLD, records: [] }
  if (rows.length === 0) {
    const back = new URLSearchParams(values)
    return {
      kind: 'empty',
      response: render(c, 'tax/empty', {
        title: c.var.t('tax.empty.title'),
        pupil,
        range: periodRange(period),
        year: 'year' in period ? period.year : null,
        changeHref: `/certificazione?${back.toString()}`,
      }),
    }
  }
  return { kind: 'rows', pupil: one ?? { household: pupils }, period, rows }
}

taxRoutes.get('/certificazione', async (c) => {
  if (c.req.query('invio') === undefined) {
    const { pupils } = await load(c)
    return formPage(c, pupils, answers(c))
  }
  const r = await resolve(c)
  if (r.kind !== 'rows') return r.response
  const q = new URLSearchParams(answers(c))
  return c.redirect(`/certificazione.pdf?${q.toString()}`, 303)
})

taxRoutes.get('/certificazione.pdf', async (c) => {
  const r = await resolve(c)
  if (r.kind !== 'rows') return r.response
  const user = c.var.user as SessionUser
  const pdf = await renderTaxCertificatePdf({
    ...('year' in r.period ? { year: r.period.year } : { period: r.period }),
    lang: c.var.lang,
    payer: { name: `${user.givenName} ${user.familyName}`, codiceFiscale: user.codiceFiscale },
    pupil:
      'household' in r.pupil
        ? { household: r.pupil.household.map((p) => ({ name: p.name, codiceFiscale: p.codiceFiscale })) }
        : { name: r.pupil.name, codiceFiscale: r.pupil.codiceFiscale },
    rows: r.rows,
    totalCents: r.rows.reduce((s, x) => s + x.amountCents, 0),
  })
  const label = 'year' in r.period ? String(r.period.year) : `${r.period.from}_${r.period.to}`
  c.header('Content-Type', 'application/pdf')
  c.header('Content-Disposition', `attachment; filename="attestazione-pagamenti-${label}.pdf"`)
  c.header('Cache-Control', 'private, no-store')
  return c.body(new Uint8Array(pdf))
})
