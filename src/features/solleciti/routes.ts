// The office's formal reminders (decision 0097): the debtors' list filtered by service, school, class, school year,
// days overdue and amount; the step sent to the families chosen in one action (admin and operatore); each batch's
// page with its families and, for those without an email, the letters and the notices to print.
import type { Context } from 'hono'
import { Hono } from 'hono'
import { z } from 'zod'
import { actorOf } from '../../platform/audit.ts'
import { todayRome } from '../../platform/dates.ts'
import { withTenant } from '../../platform/db.ts'
import { NotFound } from '../../platform/errors.ts'
import { formValues } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { formatDecimalIt, parseMoney } from '../../platform/money.ts'
import type { FormErrors } from '../../platform/render.ts'
import { canChange, idParam, inTenant, officePath, page, readers, tenantOf, writers } from '../backoffice/common.ts'
import { schoolYears, services } from '../control/queries.ts'
import { renderNoticesPdf } from '../debts/notice-pdf.ts'
import { linkSecret } from '../reminders/link.ts'
import { renderLettersPdf } from './letter-pdf.ts'
import {
  type DebtorFilter,
  families,
  loadLotto,
  noticeOf,
  overdue,
  STEPS,
  type Step,
  sendSolleciti,
} from './service.ts'

const id = z
  .string()
  .regex(/^[1-9][0-9]{0,15}$/)
  .transform(Number)
  .nullable()
  .catch(null)
const filterSchema = z.object({
  servizio: id,
  scuola: id,
  classe: id,
  anno: z.coerce.number().int().min(2000).max(2100).nullable().catch(null),
  giorni: z.coerce.number().int().min(1).max(3650).catch(1),
  importo: z
    .string()
    .transform((s) => (s.trim() ? parseMoney(s.trim()) : null))
    .nullable()
    .catch(null),
})

function parseFilter(q: Record<string, unknown>): { filter: DebtorFilter; query: Record<string, string> } {
  const f = filterSchema.parse({
    servizio: q.servizio ?? null,
    scuola: q.scuola ?? null,
    classe: q.classe ?? null,
    anno: q.anno || null,
    giorni: q.giorni || 1,
    importo: typeof q.importo === 'string' ? q.importo : '',
  })
  const filter: DebtorFilter = {
    serviceId: f.servizio,
    schoolId: f.scuola,
    classId: f.classe,
    schoolYear: f.anno,
    minDays: f.giorni,
    minCents: f.importo !== null && f.importo > 0 ? f.importo : null,
  }
  const query = {
    servizio: f.servizio ? String(f.servizio) : '',
    scuola: f.scuola ? String(f.scuola) : '',
    classe: f.classe ? String(f.classe) : '',
    anno: f.anno ? String(f.anno) : '',
    giorni: String(f.giorni),
    importo: filter.minCents ? formatDecimalIt(filter.minCents) : '',
  }
  return { filter, query }
}

async function listData(c: Context<Env>, filter: DebtorFilter, today: string) {
  return inTenant(c, async (tx) => {
    const [rows, svc, years, schools, classes, lotti] = await Promise.all([
      overdue(tx, filter, today),
      services(tx),
      schoolYears(tx),
      tx<{ id: number; name: string }[]>`select id, name from canteen_schools order by name, id`,
      tx<{ id: number; name: string }[]>`
        select c.id, s.name || ' – ' || c.name as name from canteen_classes c join canteen_schools s on s.id = c.school_id
        order by s.name, c.name, c.id`,
      tx<{ id: number; step: Step; families: number; emails: number; letters: number; created_at: Date }[]>`
        select id, step, families, emails, letters, created_at from solleciti_lotti order by id desc limit 10`,
    ])
    return { families: families(rows, filter), capped: rows.length >= 5000, svc, years, schools, classes, lotti }
  })
}

function listPage(
  c: Context<Env>,
  data: Awaited<ReturnType<typeof listData>>,
  query: Record<string, string>,
  values: { passo: string; famiglia: string[] },
  errors?: FormErrors,
) {
  const next = Math.min(3, Math.max(1, ...data.families.map((f) => f.lastStep + 1)))
  return page(c, 'solleciti', {
    title: c.var.t('solleciti.title'),
    ...data,
    query,
    values: { ...values, passo: values.passo || String(next) },
    chosen: values.famiglia,
    steps: STEPS,
    errors,
  })
}

export const sollecitiRoutes = new Hono<Env>()

sollecitiRoutes.get('/t/:tenant/ufficio/solleciti', readers, async (c) => {
  const { filter, query } = parseFilter(c.req.query())
  const data = await listData(c, filter, todayRome())
  // every family chosen by default: the office unticks those it does not want to remind
  return listPage(c, data, query, { passo: '', famiglia: data.families.map((f) => String(f.payerId)) })
})

sollecitiRoutes.post('/t/:tenant/ufficio/solleciti', writers, async (c) => {
  const t = c.var.t
  const values = await formValues(c)
  const { filter, query } = parseFilter(values)
  const today = todayRome()
  const picked = values.famiglia
  const payerIds = [...new Set((Array.isArray(picked) ? picked : picked ? [picked] : []).map(String))]
    .filter((v) => /^[1-9][0-9]{0,15}$/.test(v))
    .map(Number)
  const step = Number(values.passo)
  const fields: Record<string, string> = {}
  if (!STEPS.includes(step as Step)) fields.passo = t('solleciti.errors.stepRequired')
  if (!payerIds.length) fields.famiglia = t('solleciti.errors.familyRequired')
  const tenant = tenantOf(c)
  const sent = Object.keys(fields).length
    ? null
    : await inTenant(c, (tx) =>
        sendSolleciti(tx, tenant, actorOf(c.var.user), {
          step: step as Step,
          payerIds,
          filter,
          today,
          baseUrl: c.var.deps.config.baseUrl,
          linkSecret: linkSecret(c.var.deps.config.sessionSecret),
        }),
      )
  if (sent) {
    c.var.deps.kickMail()
    return c.redirect(officePath(c, `/solleciti/lotti/${sent.lottoId}?fatto=1`), 303)
  }
  if (!Object.keys(fields).length) fields.passo = t('solleciti.errors.nothingToSend')
  const order = ['passo', 'famiglia']
  const names = Object.keys(fields).sort((a, b) => order.indexOf(a) - order.indexOf(b))
  const data = await listData(c, filter, today)
  const errors: FormErrors = {
    summary: names.map((k) => ({
      text: fields[k] as string,
      href: k === 'famiglia' ? `#famiglia-${data.families[0]?.payerId ?? ''}` : `#${k}`,
    })),
    fields,
  }
  return listPage(c, data, query, { passo: String(values.passo ?? ''), famiglia: payerIds.map(String) }, errors)
})

// ---- a batch

sollecitiRoutes.get('/t/:tenant/ufficio/solleciti/lotti/:id{[0-9]+}', readers, async (c) => {
  const data = await inTenant(c, (tx) => loadLotto(tx, idParam(c)))
  if (!data) throw new NotFound()
  return page(c, 'sollecito-lotto', {
    title: c.var.t('solleciti.lotto.title', { id: data.lotto.id }),
    ...data,
    canWrite: canChange(c, 'writers'),
    done: c.req.query('fatto') === '1',
  })
})

function pdf(c: Context<Env>, bytes: Buffer, filename: string) {
  c.header('Content-Type', 'application/pdf')
  c.header('Content-Disposition', `inline; filename="${filename}"`)
  c.header('Cache-Control', 'private, no-store')
  return c.body(new Uint8Array(bytes))
}

// the letters for the families without an email, and the notices to enclose
sollecitiRoutes.get(
  '/t/:tenant/ufficio/solleciti/lotti/:id{[0-9]+}/:file{(?:lettere|avvisi)\\.pdf}',
  readers,
  async (c) => {
    const tenant = tenantOf(c)
    const data = await withTenant(c.var.deps.db.sql, tenant, (tx) => loadLotto(tx, idParam(c)))
    if (!data) throw new NotFound()
    const letters = data.families.filter((f) => f.channel === 'lettera')
    if (!letters.length) throw new NotFound()
    const baseUrl = c.var.deps.config.baseUrl
    const lang = c.var.lang
    if (c.req.param('file') === 'avvisi.pdf') {
      const notices = letters.flatMap((f) => f.installments.map((i) => noticeOf(tenant, baseUrl, { ...f, lang }, i)))
      return pdf(c, await renderNoticesPdf(notices), `avvisi-solleciti-${data.lotto.id}.pdf`)
    }
    const bytes = await renderLettersPdf({
      lang,
      body: {
        name: tenant.name,
        fiscalCode: tenant.fiscalCode,
        address: tenant.contacts.address,
        email: tenant.contacts.email,
        phone: tenant.contacts.phone,
      },
      step: data.lotto.step,
      date: todayRome(data.lotto.created_at),
      payUrl: `${baseUrl}/t/${tenant.slug}`,
      families: letters.map((f) => ({
        name: f.name,
        codiceFiscale: f.codiceFiscale,
        address: f.address,
        totalCents: f.totalCents,
        installments: f.installments.map((i) => ({
          description: i.description,
          seq: i.seq,
          of: i.of,
          dueDate: i.due_date,
          amountCents: i.amount_cents,
          noticeCode: i.notice_code,
          pupil: i.pupil,
        })),
      })),
    })
    return pdf(c, bytes, `lettere-solleciti-${data.lotto.id}.pdf`)
  },
)
