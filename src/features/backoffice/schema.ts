// The back office's forms. Messages are i18n keys (src/i18n/<lang>/backoffice.json).
import { z } from 'zod'
import { type CommissionRule, commissionRuleSchema } from '../../platform/commission.ts'
import { isValidCodiceFiscale, normalizeCodiceFiscale } from '../../platform/it/codice-fiscale.ts'
import { TAX_CATEGORIES, type TaxCategory } from '../../platform/it/tax-categories.ts'
import { parseMoney } from '../../platform/money.ts'
import { SERVICE_KINDS } from '../../platform/tenancy.ts'
import { dateField, optionalDateField, optionalText, text } from './common.ts'

const E = 'backoffice.errors.'

export const personName = (key: string) =>
  z
    .string()
    .transform((s) => s.replace(/\s+/g, ' ').trim())
    .pipe(
      z
        .string()
        .min(1, `${E}${key}Required`)
        .max(80, `${E}${key}TooLong`)
        .regex(/^[\p{L}\p{M}' .-]+$/u, `${E}${key}Chars`),
    )

export const cfField = z
  .string()
  .transform(normalizeCodiceFiscale)
  .pipe(
    z
      .string()
      .min(1, `${E}cfRequired`)
      .refine((v) => v.length === 16, `${E}cfLength`)
      .refine(isValidCodiceFiscale, `${E}cfInvalid`),
  )

const optionalCf = z
  .string()
  .optional()
  .transform((s) => normalizeCodiceFiscale(s ?? ''))
  .pipe(
    z
      .string()
      .refine((v) => v === '' || v.length === 16, `${E}cfLength`)
      .refine((v) => v === '' || isValidCodiceFiscale(v), `${E}cfInvalid`),
  )
  .transform((v) => (v === '' ? null : v))

const optionalEmail = z
  .string()
  .optional()
  .transform((s) => (s ?? '').trim().toLowerCase())
  .pipe(z.union([z.literal(''), z.email(`${E}emailInvalid`).max(254, `${E}emailInvalid`)]))
  .transform((v) => (v === '' ? null : v))

const optionalPhone = z
  .string()
  .optional()
  .transform((s) => (s ?? '').trim())
  .pipe(z.string().regex(/^$|^\+?[0-9 ./-]{6,20}$/, `${E}phoneInvalid`))
  .transform((v) => (v === '' ? null : v))

const checkbox = z
  .string()
  .optional()
  .transform((v) => v === 'si')

// ---- commission rule from two fields: a type and one value (euros for fixed, a percentage otherwise)

/** "1,5" or "1.5" (percent, up to two decimals) → basis points, or null. */
export function parsePercent(s: string): number | null {
  const m = /^(\d{1,2})(?:[.,](\d{1,2}))?$/.exec(s.replace(/[\s%]/g, ''))
  if (!m) return null
  return Number(m[1]) * 100 + Number((m[2] ?? '0').padEnd(2, '0'))
}

/** Cross-field rules run even when other fields failed, so every problem shows at once. */
const always = { when: () => true }

interface CommissionFields {
  commissionType?: unknown
  commissionValue?: unknown
}

/** The rule the two fields describe: null for "the tenant's rule", undefined when they describe none. */
export function ruleOf(type: unknown, value: unknown): CommissionRule | null | undefined {
  const v = String(value ?? '')
  let candidate: unknown
  if (type === 'inherit') return null
  if (type === 'none') candidate = { type: 'none' }
  else if (type === 'fixed') candidate = { type: 'fixed', cents: parseMoney(v) ?? -1 }
  else if (type === 'percent' || type === 'grossup') candidate = { type, basisPoints: parsePercent(v) ?? -1 }
  else return undefined
  const r = commissionRuleSchema.safeParse(candidate)
  return r.success ? r.data : undefined
}

function commissionTypeOk(v: CommissionFields, allowInherit: boolean): boolean {
  return ['none', 'fixed', 'percent', 'grossup', ...(allowInherit ? ['inherit'] : [])].includes(
    String(v.commissionType),
  )
}

/** The value is judged only once a type that needs one is chosen. */
function commissionValueOk(v: CommissionFields): boolean {
  const t = String(v.commissionType)
  if (!['fixed', 'percent', 'grossup'].includes(t)) return true
  return ruleOf(t, v.commissionValue) !== undefined
}

const commissionMessage = `${E}commissionValue`

/** "Quota intera; 12,50" one per line: the tariffs of a tariff service, or null when a line does not read. */
export function parseTariffs(text: string): { label: string; cents: number }[] | null {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
  const out: { label: string; cents: number }[] = []
  for (const line of lines) {
    const m = /^(.{1,80}?)\s*;\s*(.+)$/.exec(line)
    const cents = m ? parseMoney(m[2] as string) : null
    if (!m || cents === null || cents <= 0 || cents > 10_000_000) return null
    out.push({ label: (m[1] as string).trim(), cents })
  }
  return out.length > 12 ? null : out
}

function boundOk(s: unknown): boolean {
  const t = String(s ?? '').trim()
  if (t === '') return true
  const cents = parseMoney(t)
  return cents !== null && cents > 0 && cents <= 10_000_000
}

const centsOf = (s: string) => (s.trim() === '' ? null : (parseMoney(s) as number))

function unitPriceOk(v: { unitPrice?: unknown }): boolean {
  const s = String(v.unitPrice ?? '').trim()
  if (s === '') return true
  const cents = parseMoney(s)
  return cents !== null && cents > 0 && cents <= 10_000_000
}

/** The form's two commission fields for a rule (null: the tenant's rule applies). */
export function commissionToForm(rule: CommissionRule | null): { commissionType: string; commissionValue: string } {
  if (!rule) return { commissionType: 'inherit', commissionValue: '' }
  switch (rule.type) {
    case 'none':
      return { commissionType: 'none', commissionValue: '' }
    case 'fixed':
      return { commissionType: 'fixed', commissionValue: (rule.cents / 100).toFixed(2).replace('.', ',') }
    default:
      return {
        commissionType: rule.type,
        commissionValue: (rule.basisPoints / 100).toLocaleString('it-IT', { maximumFractionDigits: 2 }),
      }
  }
}

// ---- services

export const SERVICE_ORDER = [
  'code',
  'kind',
  'name',
  'nameEn',
  'causale',
  'commissionType',
  'commissionValue',
  'amountMode',
  'unitPrice',
  'tariffs',
  'minAmount',
  'maxAmount',
  'taxCategory',
  'taxonomyCode',
  'taxonomyPrefix',
]

export const serviceSchema = z
  .object({
    code: z
      .string()
      .trim()
      .toLowerCase()
      .min(1, `${E}codeRequired`)
      .regex(/^[a-z0-9-]{1,40}$/, `${E}codeChars`),
    kind: z.enum(SERVICE_KINDS, { error: `${E}kindRequired` }),
    name: text(2, 120, `${E}nameRequired`, `${E}nameTooLong`),
    // the English pages' name; empty: the Italian one
    nameEn: z
      .string()
      .trim()
      .max(120, `${E}nameTooLong`)
      .refine((v) => v === '' || v.length >= 2, `${E}nameRequired`)
      .optional()
      .default(''),
    causale: text(2, 140, `${E}causaleRequired`, `${E}causaleTooLong`),
    commissionType: z.string().optional().default(''),
    commissionValue: z.string().optional().default(''),
    spontaneous: checkbox,
    amountMode: z.enum(['importo', 'quantita', 'tariffa'], { error: `${E}amountModeRequired` }),
    unitPrice: z.string().optional().default(''),
    tariffs: z.string().max(2000).optional().default(''),
    minAmount: z.string().max(20).optional().default(''),
    maxAmount: z.string().max(20).optional().default(''),
    // the item of the tax return; '' = the default of the service's kind
    taxCategory: z
      .enum(['', ...TAX_CATEGORIES], { error: `${E}taxCategoryInvalid` })
      .optional()
      .default(''),
    // pagoPA's taxonomy code; '' = the default of the service's kind (the route checks it is in the list)
    taxonomyCode: z
      .string()
      .trim()
      .toUpperCase()
      .refine((v) => v === '' || /^[0-9]{7}(IM|TS|SP|SA|AP)$/.test(v), `${E}taxonomyInvalid`)
      .optional()
      .default(''),
    taxonomyPrefix: z
      .enum(['9/', '6/', '7/', '8/'], { error: `${E}taxonomyPrefixInvalid` })
      .optional()
      .default('9/'),
    active: checkbox,
  })
  .refine((v) => String(v.kind) !== 'tributi' || String(v.taxonomyCode ?? '') !== '', {
    path: ['taxonomyCode'],
    message: `${E}taxonomyRequired`,
    ...always,
  })
  .refine((v) => commissionTypeOk(v, true), {
    path: ['commissionType'],
    message: `${E}commissionTypeRequired`,
    ...always,
  })
  .refine((v) => commissionValueOk(v), { path: ['commissionValue'], message: commissionMessage, ...always })
  .refine((v) => unitPriceOk(v), { path: ['unitPrice'], message: `${E}unitPriceInvalid`, ...always })
  .refine((v) => String(v.amountMode) !== 'quantita' || String(v.unitPrice ?? '').trim() !== '', {
    path: ['unitPrice'],
    message: `${E}unitPriceRequired`,
    ...always,
  })
  .refine((v) => parseTariffs(String(v.tariffs ?? '')) !== null, {
    path: ['tariffs'],
    message: `${E}tariffsInvalid`,
    ...always,
  })
  .refine((v) => String(v.amountMode) !== 'tariffa' || (parseTariffs(String(v.tariffs ?? ''))?.length ?? 0) > 0, {
    path: ['tariffs'],
    message: `${E}tariffsRequired`,
    ...always,
  })
  .refine((v) => boundOk(v.minAmount), { path: ['minAmount'], message: `${E}boundInvalid`, ...always })
  .refine((v) => boundOk(v.maxAmount), { path: ['maxAmount'], message: `${E}boundInvalid`, ...always })
  .refine(
    (v) => {
      const lo = boundOk(v.minAmount) ? centsOf(String(v.minAmount ?? '')) : null
      const hi = boundOk(v.maxAmount) ? centsOf(String(v.maxAmount ?? '')) : null
      return lo === null || hi === null || lo <= hi
    },
    { path: ['maxAmount'], message: `${E}boundsOrder`, ...always },
  )
  .transform((v) => ({
    code: v.code,
    kind: v.kind,
    name: v.name,
    nameEn: v.nameEn === '' ? null : v.nameEn,
    causale: v.causale,
    commission: ruleOf(v.commissionType, v.commissionValue) as CommissionRule | null,
    spontaneous: v.spontaneous,
    amountMode: v.amountMode,
    unitPriceCents: v.unitPrice.trim() === '' ? null : (parseMoney(v.unitPrice) as number),
    tariffs: v.amountMode === 'tariffa' ? parseTariffs(v.tariffs) : null,
    minCents: v.amountMode === 'importo' ? centsOf(v.minAmount) : null,
    maxCents: v.amountMode === 'importo' ? centsOf(v.maxAmount) : null,
    taxCategory: v.taxCategory === '' ? null : (v.taxCategory as TaxCategory),
    taxonomyCode: v.taxonomyCode === '' ? null : v.taxonomyCode,
    taxonomyPrefix: v.taxonomyPrefix,
    active: v.active,
  }))
export type ServiceForm = z.output<typeof serviceSchema>

// ---- tenant settings

export const SETTINGS_ORDER = [
  'email',
  'pec',
  'phone',
  'address',
  'cutoff',
  'reminderDays',
  'lowBalanceMeals',
  'commissionType',
  'commissionValue',
  'accessibilityUrl',
]

/** "-7, 0, 7" (also with the typographic minus, spaces or semicolons) → sorted unique integers, or null. */
export function parseReminderDays(s: string): number[] | null {
  const parts = s
    .replace(/[\u2212\u2013]/g, '-')
    .split(/[,;\s]+/)
    .filter(Boolean)
  const out: number[] = []
  for (const p of parts) {
    if (!/^[+-]?\d{1,2}$/.test(p)) return null
    const n = Number(p)
    if (n < -60 || n > 60) return null
    if (!out.includes(n)) out.push(n)
  }
  return out.sort((a, b) => a - b)
}

export const settingsSchema = z
  .object({
    email: z
      .string()
      .trim()
      .toLowerCase()
      .min(1, `${E}emailRequired`)
      .pipe(z.email(`${E}emailInvalid`).max(254, `${E}emailInvalid`)),
    pec: optionalEmail,
    phone: optionalPhone,
    // typed on two lines (a textarea), kept on one as the notice prints it
    address: z
      .string()
      .transform((v) => v.replace(/\s*[\r\n]+\s*/g, ', '))
      .pipe(text(5, 200, `${E}addressRequired`, `${E}addressTooLong`)),
    cutoff: z
      .string()
      .trim()
      .min(1, `${E}cutoffRequired`)
      .transform((s) => s.replace('.', ':'))
      .transform((s) => (/^\d:\d\d$/.test(s) ? `0${s}` : s))
      .pipe(z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, `${E}cutoffInvalid`)),
    reminderDays: z.string().transform((s, ctx) => {
      const days = parseReminderDays(s)
      if (days === null) {
        ctx.addIssue({ code: 'custom', message: `${E}reminderDaysInvalid` })
        return z.NEVER
      }
      if (days.length > 6) {
        ctx.addIssue({ code: 'custom', message: `${E}reminderDaysTooMany` })
        return z.NEVER
      }
      return days
    }),
    lowBalanceMeals: z
      .string()
      .trim()
      .min(1, `${E}lowBalanceRequired`)
      .regex(/^\d{1,3}$/, `${E}lowBalanceInvalid`)
      .transform(Number)
      .pipe(z.number().max(100, `${E}lowBalanceInvalid`)),
    commissionType: z.string().optional().default(''),
    commissionValue: z.string().optional().default(''),
    accessibilityUrl: z
      .string()
      .optional()
      .transform((s) => (s ?? '').trim())
      .pipe(
        z.union([z.literal(''), z.url({ protocol: /^https?$/, error: `${E}urlInvalid` }).max(500, `${E}urlInvalid`)]),
      )
      .transform((v) => (v === '' ? null : v)),
  })
  .refine((v) => commissionTypeOk(v, false), {
    path: ['commissionType'],
    message: `${E}commissionTypeRequired`,
    ...always,
  })
  .refine((v) => commissionValueOk(v), { path: ['commissionValue'], message: commissionMessage, ...always })
  .transform((v) => ({
    contacts: { email: v.email, pec: v.pec, phone: v.phone, address: v.address },
    settings: {
      cutoff: v.cutoff,
      reminderDays: v.reminderDays,
      lowBalanceMeals: v.lowBalanceMeals,
      commission: ruleOf(v.commissionType, v.commissionValue) as CommissionRule,
      accessibilityUrl: v.accessibilityUrl,
    },
  }))

// ---- payers and pupils

export const PAYER_ORDER = ['codiceFiscale', 'givenName', 'familyName', 'email', 'phone', 'address']
export const payerSchema = z.object({
  codiceFiscale: cfField,
  givenName: personName('givenName'),
  familyName: personName('familyName'),
  email: optionalEmail,
  phone: optionalPhone,
  address: optionalText(200, `${E}addressTooLong`),
})

export const PUPIL_ORDER = ['codiceFiscale', 'givenName', 'familyName', 'birthDate']
export const pupilSchema = z.object({
  codiceFiscale: cfField,
  givenName: personName('givenName'),
  familyName: personName('familyName'),
  birthDate: optionalDateField(`${E}birthDateInvalid`),
})

export const RELATIONS = ['genitore', 'tutore', 'delegato'] as const
export const LINK_ORDER = ['payerCf', 'relation', 'holder']
export const linkSchema = z.object({
  payerCf: cfField,
  relation: z.enum(RELATIONS, { error: `${E}relationRequired` }),
  holder: checkbox,
})

// ---- issuing one document

export const MAX_INSTALLMENTS = 12

export const ISSUE_ORDER = ['service', 'payerCf', 'pupilCf', 'description', 'year', 'mode', 'total', 'count']

export const issueBaseSchema = z.object({
  service: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, `${E}serviceRequired`)
    .transform(Number),
  payerCf: cfField,
  pupilCf: optionalCf,
  description: text(3, 200, `${E}descriptionRequired`, `${E}descriptionTooLong`),
  year: z
    .string()
    .trim()
    .min(1, `${E}yearRequired`)
    .regex(/^\d{4}$/, `${E}yearInvalid`)
    .transform(Number)
    .pipe(z.number().min(2000, `${E}yearInvalid`).max(2100, `${E}yearInvalid`)),
  mode: z.enum(['even', 'explicit'], { error: `${E}modeRequired` }),
  total: z.string().optional().default(''),
  count: z
    .string()
    .trim()
    .min(1, `${E}countRequired`)
    .regex(/^\d{1,2}$/, `${E}countInvalid`)
    .transform(Number)
    .pipe(z.number().min(1, `${E}countInvalid`).max(MAX_INSTALLMENTS, `${E}countInvalid`)),
})

export const installmentDate = dateField(`${E}dueRequired`, `${E}dueInvalid`)

export const cancelSchema = z.object({
  reason: text(5, 300, `${E}reasonRequired`, `${E}reasonTooLong`),
})

// ---- audit log filters (a GET form: bad values are dropped, never an error page)

export const auditFilterSchema = z.object({
  chi: z.coerce.number().int().positive().optional().catch(undefined),
  entita: z
    .string()
    .regex(/^[a-z_]{1,40}$/)
    .optional()
    .catch(undefined),
  pagina: z.coerce.number().int().min(1).max(100_000).catch(1),
})
