// A service's other beneficiaries (decision 0104): up to four other bodies that receive part of every amount of the
// service (a percentage or a fixed amount), each on its own account (IBAN or postal IBAN) with its fiscal code,
// taxonomy code and remittance text. Admins add and remove them; every staff role reads them. A change applies to
// notices issued afterwards; those already issued keep their split.

import { Hono } from 'hono'
import { electronicFormatIBAN, isValidIBAN } from 'ibantools'
import { z } from 'zod'
import { actorOf, audit } from '../../platform/audit.ts'
import { NotFound } from '../../platform/errors.ts'
import { fieldError, formValues, parseWith } from '../../platform/forms.ts'
import type { Env } from '../../platform/http.ts'
import { isValidPartitaIva } from '../../platform/it/codice-fiscale.ts'
import { formatDecimalIt, parseMoney } from '../../platform/money.ts'
import type { FormErrors } from '../../platform/render.ts'
import type { BeneficiaryRule } from '../debts/split.ts'
import { CODE_RE, TAXONOMY_PREFIXES } from '../pagopa/taxonomy.ts'
import { admins, flatValues, idParam, inTenant, officePath, page, readers, tenantOf } from './common.ts'

export const beneficiaryRoutes = new Hono<Env>()

/** Transfer 1 is the body's: at most four others, as pagoPA carries at most five transfers. */
export const MAX_OTHERS = 4
const E = 'backoffice.beneficiaries.errors.'
const ORDER = ['fiscalCode', 'name', 'iban', 'taxonomyCode', 'taxonomyPrefix', 'remittance', 'shareKind', 'shareValue']

const schema = z
  .object({
    fiscalCode: z
      .string()
      .trim()
      .refine((v) => isValidPartitaIva(v), `${E}fiscalCode`),
    name: z
      .string()
      .transform((v) => v.replace(/\s+/g, ' ').trim())
      .pipe(z.string().min(2, `${E}name`).max(140, `${E}name`)),
    iban: z
      .string()
      .transform((v) => electronicFormatIBAN(v.trim()) ?? '')
      .refine((v) => isValidIBAN(v), `${E}iban`),
    postal: z
      .string()
      .optional()
      .transform((v) => v === 'si'),
    taxonomyCode: z
      .string()
      .trim()
      .toUpperCase()
      .refine((v) => CODE_RE.test(v), `${E}taxonomyCode`),
    taxonomyPrefix: z.enum(['9/', '6/', '7/', '8/'], { error: `${E}taxonomyPrefix` }),
    remittance: z
      .string()
      .transform((v) => v.replace(/\s+/g, ' ').trim())
      .pipe(z.string().min(1, `${E}remittance`).max(140, `${E}remittance`)),
    shareKind: z.enum(['percentuale', 'fisso'], { error: `${E}shareKind` }),
    shareValue: z.string().trim().max(20),
  })
  // a postal IBAN is an Italian IBAN of Poste Italiane (ABI 07601)
  .refine((v) => !v.postal || (v.iban.startsWith('IT') && v.iban.slice(5, 10) === '07601'), {
    path: ['iban'],
    message: `${E}postal`,
  })
  // the share, judged whatever else is wrong so every problem is named at once: euros to cents, or a percentage
  // with up to two decimals read the same way as basis points (12,5 → 1250)
  .refine((v) => v.shareKind !== 'fisso' || (parseMoney(String(v.shareValue ?? '')) ?? 0) > 0, {
    path: ['shareValue'],
    message: `${E}fixed`,
    when: () => true,
  })
  .refine(
    (v) => {
      if (v.shareKind !== 'percentuale') return true
      const bp = parseMoney(String(v.shareValue ?? ''))
      return bp !== null && bp > 0 && bp < 10_000
    },
    { path: ['shareValue'], message: `${E}percent`, when: () => true },
  )
  .transform((v) => ({ ...v, shareValue: parseMoney(v.shareValue) as number }))

async function load(c: Parameters<typeof inTenant>[0], id: number) {
  return inTenant(c, async (tx) => {
    const [[service], rules] = await Promise.all([
      tx<
        {
          id: number
          name: string
          amount_mode: string
          unit_price_cents: number | null
          tariffs: { cents: number }[] | null
        }[]
      >`
        select id, name, amount_mode, unit_price_cents, tariffs from services where id = ${id}`,
      tx<BeneficiaryRule[]>`select * from service_beneficiaries where service_id = ${id} order by position`,
    ])
    if (!service) throw new NotFound()
    return { service, rules }
  })
}

const shareText = (r: Pick<BeneficiaryRule, 'share_kind' | 'share_value'>) =>
  r.share_kind === 'fisso'
    ? `€ ${formatDecimalIt(Number(r.share_value))}`
    : `${formatDecimalIt(Number(r.share_value))} %`

async function show(
  c: Parameters<typeof inTenant>[0],
  id: number,
  values: Record<string, string> = { taxonomyPrefix: '9/', shareKind: 'percentuale' },
  errors?: FormErrors,
) {
  const { service, rules } = await load(c, id)
  return page(c, 'beneficiaries', {
    title: c.var.t('backoffice.beneficiaries.title', { name: service.name }),
    service,
    rules: rules.map((r) => ({ ...r, share: shareText(r) })),
    prefixes: TAXONOMY_PREFIXES,
    full: rules.length >= MAX_OTHERS,
    values,
    errors,
    done: ['aggiunto', 'rimosso'].find((d) => d === c.req.query('fatto')) ?? null,
  })
}

beneficiaryRoutes.get('/t/:tenant/ufficio/catalogo/servizi/:id{[0-9]+}/beneficiari', readers, (c) =>
  show(c, idParam(c)),
)

beneficiaryRoutes.post('/t/:tenant/ufficio/catalogo/servizi/:id{[0-9]+}/beneficiari', admins, async (c) => {
  const id = idParam(c)
  const t = c.var.t
  const values = await formValues(c)
  const kept = flatValues(values)
  const parsed = parseWith(schema, values, t, ORDER)
  if (!parsed.ok) return show(c, id, kept, parsed.errors)
  const b = parsed.data
  const tenant = tenantOf(c)
  if (b.fiscalCode === tenant.fiscalCode) return show(c, id, kept, fieldError(t, 'fiscalCode', `${E}self`))
  const outcome = await inTenant(c, async (tx) => {
    const [service] = await tx<
      { id: number; amount_mode: string; unit_price_cents: number | null; tariffs: { cents: number }[] | null }[]
    >`
      select id, amount_mode, unit_price_cents, tariffs from services where id = ${id} for update`
    if (!service) throw new NotFound()
    const rules = await tx<
      BeneficiaryRule[]
    >`select * from service_beneficiaries where service_id = ${id} order by position`
    if (rules.length >= MAX_OTHERS) return fieldError(t, 'fiscalCode', `${E}tooMany`)
    if (rules.some((r) => r.fiscal_code === b.fiscalCode)) return fieldError(t, 'fiscalCode', `${E}twice`)
    const next = [...rules, { share_kind: b.shareKind, share_value: b.shareValue }]
    const percent = next.filter((r) => r.share_kind === 'percentuale').reduce((s, r) => s + Number(r.share_value), 0)
    if (percent >= 10_000) return fieldError(t, 'shareValue', `${E}percentTotal`)
    // fixed shares must leave something of the service's fixed amounts (unit price, tariffs) to the body
    const fixed = next.filter((r) => r.share_kind === 'fisso').reduce((s, r) => s + Number(r.share_value), 0)
    const smallest = Math.min(
      ...(service.amount_mode === 'quantita' && service.unit_price_cents ? [Number(service.unit_price_cents)] : []),
      ...(service.amount_mode === 'tariffa' ? (service.tariffs ?? []).map((x) => Number(x.cents)) : []),
    )
    if (fixed >= smallest) return fieldError(t, 'shareValue', `${E}fixedTooHigh`, { amount: formatDecimalIt(smallest) })
    const free = [2, 3, 4, 5].find((p) => !rules.some((r) => r.position === p)) as number
    const [row] = await tx<{ id: number }[]>`
      insert into service_beneficiaries (service_id, position, fiscal_code, name, iban, postal, taxonomy_code,
        taxonomy_prefix, remittance, share_kind, share_value)
      values (${id}, ${free}, ${b.fiscalCode}, ${b.name}, ${b.iban}, ${b.postal}, ${b.taxonomyCode}, ${b.taxonomyPrefix},
        ${b.remittance}, ${b.shareKind}, ${b.shareValue})
      returning id`
    await audit(tx, actorOf(c.var.user), {
      action: 'service.beneficiary.add',
      entity: 'service',
      entityId: id,
      after: {
        beneficiary: row?.id,
        fiscalCode: b.fiscalCode,
        name: b.name,
        iban: b.iban,
        taxonomy: `${b.taxonomyPrefix}${b.taxonomyCode}/`,
        share: shareText({ share_kind: b.shareKind, share_value: b.shareValue }),
      },
    })
    return null
  })
  if (outcome) return show(c, id, kept, outcome)
  return c.redirect(officePath(c, `/catalogo/servizi/${id}/beneficiari?fatto=aggiunto`), 303)
})

beneficiaryRoutes.post(
  '/t/:tenant/ufficio/catalogo/servizi/:id{[0-9]+}/beneficiari/:bid{[0-9]+}/rimuovi',
  admins,
  async (c) => {
    const id = idParam(c)
    const bid = idParam(c, 'bid')
    await inTenant(c, async (tx) => {
      const [gone] = await tx<BeneficiaryRule[]>`
        delete from service_beneficiaries where id = ${bid} and service_id = ${id} returning *`
      if (!gone) throw new NotFound()
      await audit(tx, actorOf(c.var.user), {
        action: 'service.beneficiary.remove',
        entity: 'service',
        entityId: id,
        before: { beneficiary: gone.id, fiscalCode: gone.fiscal_code, name: gone.name, share: shareText(gone) },
      })
    })
    return c.redirect(officePath(c, `/catalogo/servizi/${id}/beneficiari?fatto=rimosso`), 303)
  },
)
