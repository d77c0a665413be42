// The onboarding forms: sign-up of a new body, the operator's decisions, the set-up wizard. Messages are i18n keys.

import { z } from 'zod'
import { chars } from '../../platform/forms.ts'
import { isValidCodiceFiscale, isValidPartitaIva, normalizeCodiceFiscale } from '../../platform/it/codice-fiscale.ts'
import { parseMoney } from '../../platform/money.ts'
import { SERVICE_KINDS } from '../../platform/tenancy.ts'
import { SLUG_RE } from './defaults.ts'

const K = 'onboarding.errors'

/** Runs an object-level rule even while other fields have errors, so every problem shows at once. */
const always = (...keys: string[]) => ({
  when: (payload: { value: unknown }) => {
    const v = payload.value as Record<string, unknown>
    return typeof v === 'object' && v !== null && keys.every((k) => k in v)
  },
})

const text = (key: string, max: number, min = 1) =>
  z.string().trim().min(min, `${K}.${key}Required`).max(max, `${K}.${key}TooLong`)

/** Line breaks, tabs and other control or invisible format characters (bidi overrides, zero-width joiners). */
const CONTROL = /[\p{Cc}\p{Cf}\u2028\u2029]/u

/** A name or an address: one line, checked before trimming so a line break anywhere is refused. */
const oneLine = (key: string, max: number, min = 1) =>
  z
    .string()
    .refine((v) => !CONTROL.test(v), `${K}.${key}OneLine`)
    .trim()
    .min(min, `${K}.${key}Required`)
    .max(max, `${K}.${key}TooLong`)

const email = (key: string) =>
  z
    .string()
    .trim()
    .min(1, `${K}.${key}Required`)
    .max(254, `${K}.${key}Invalid`)
    .pipe(z.email(`${K}.${key}Invalid`))
    .transform((e) => e.toLowerCase())

const personName = (key: string) => oneLine(key, 80).regex(/^[\p{L}\p{M}' .-]+$/u, `${K}.${key}Chars`)

export const fiscalCodeField = z
  .string()
  .transform((s) => s.replace(/\s+/g, ''))
  .pipe(
    z
      .string()
      .min(1, `${K}.fiscalCodeRequired`)
      .regex(/^[0-9]{11}$/, `${K}.fiscalCodeFormat`)
      .refine(isValidPartitaIva, `${K}.fiscalCodeCheck`),
  )

export const slugField = z
  .string()
  .trim()
  .toLowerCase()
  .max(40, `${K}.slugTooLong`)
  .refine((s) => s === '' || chars(s) >= 3, `${K}.slugTooShort`)
  .refine((s) => s === '' || SLUG_RE.test(s), `${K}.slugFormat`)

export const signUpSchema = z
  .object({
    kind: z.enum(['scuola', 'comune'], { error: `${K}.kindRequired` }),
    name: oneLine('name', 160).refine((s) => chars(s) >= 3, `${K}.nameTooShort`),
    fiscalCode: fiscalCodeField,
    codiceMeccanografico: z
      .string()
      .transform((s) => s.replace(/\s+/g, '').toUpperCase())
      .default(''),
    istatCode: z
      .string()
      .transform((s) => s.replace(/\s+/g, ''))
      .pipe(z.string().regex(/^$|^[0-9]{6}$/, `${K}.istatFormat`))
      .default(''),
    address: oneLine('address', 200),
    pec: email('pec'),
    email: email('email'),
    adminGivenName: personName('adminGivenName'),
    adminFamilyName: personName('adminFamilyName'),
    adminCodiceFiscale: z
      .string()
      .transform(normalizeCodiceFiscale)
      .pipe(
        z
          .string()
          .min(1, `${K}.adminCfRequired`)
          .refine((v) => v.length === 16, `${K}.adminCfLength`)
          .refine(isValidCodiceFiscale, `${K}.adminCfInvalid`),
      ),
    adminEmail: email('adminEmail'),
    slug: slugField.default(''),
    terms: z.literal('si', { error: `${K}.termsRequired` }),
  })
  .refine((v) => v.kind !== 'scuola' || v.codiceMeccanografico !== '', {
    path: ['codiceMeccanografico'],
    message: `${K}.meccanograficoRequired`,
    ...always('kind', 'codiceMeccanografico'),
  })
  .refine(
    (v) => v.kind !== 'scuola' || v.codiceMeccanografico === '' || /^[A-Z]{4}[A-Z0-9]{6}$/.test(v.codiceMeccanografico),
    {
      path: ['codiceMeccanografico'],
      message: `${K}.meccanograficoFormat`,
      ...always('kind', 'codiceMeccanografico'),
    },
  )
export type SignUp = z.output<typeof signUpSchema>

export const SIGN_UP_ORDER = [
  'kind',
  'name',
  'fiscalCode',
  'codiceMeccanografico',
  'istatCode',
  'address',
  'pec',
  'email',
  'adminGivenName',
  'adminFamilyName',
  'adminCodiceFiscale',
  'adminEmail',
  'slug',
  'terms',
]

export const segregationField = z
  .string()
  .trim()
  .regex(/^[0-4][0-9]$/, `${K}.segregationFormat`)

export const approveSchema = z.object({
  segregationCode: segregationField,
  // the operator may give the tenant another address than the one asked for (when a tenant already has it)
  slug: slugField.default(''),
  message: z.string().trim().max(2000, `${K}.messageTooLong`).default(''),
})

export const rejectSchema = z.object({
  reason: text('reason', 2000),
})

export const suspendSchema = z.object({
  reason: text('suspendReason', 500),
})

// --- the set-up wizard ------------------------------------------------------------------------------------

const optionalEmail = (key: string) =>
  z
    .string()
    .trim()
    .max(254, `${K}.${key}Invalid`)
    .pipe(z.union([z.literal(''), z.email(`${K}.${key}Invalid`)]))
    .transform((e) => e.toLowerCase())
    .default('')

const optionalUrl = (key: string) =>
  z
    .string()
    .trim()
    .max(300, `${K}.${key}Invalid`)
    // the same check the tenant file and the settings apply when read back (z.url), and https only
    .refine((s) => s === '' || (/^https:\/\/\S+$/i.test(s) && z.url().safeParse(s).success), `${K}.${key}Invalid`)
    .default('')

export const identitySchema = z.object({
  name: oneLine('name', 160).refine((s) => chars(s) >= 3, `${K}.nameTooShort`),
  shortName: oneLine('shortName', 60).refine((s) => chars(s) >= 2, `${K}.shortNameTooShort`),
  address: oneLine('address', 200),
  email: email('email'),
  pec: optionalEmail('pec'),
  phone: z
    .string()
    .trim()
    .max(40, `${K}.phoneInvalid`)
    .regex(/^$|^\+?[0-9 ./-]{6,30}$/, `${K}.phoneInvalid`)
    .default(''),
  website: optionalUrl('website'),
  accessibilityUrl: optionalUrl('accessibilityUrl'),
  segregationCode: segregationField.optional(),
})
export const IDENTITY_ORDER = [
  'name',
  'shortName',
  'address',
  'email',
  'pec',
  'phone',
  'website',
  'accessibilityUrl',
  'segregationCode',
]

export const brandingSchema = z.object({
  logoText: z
    .string()
    .trim()
    .min(1, `${K}.logoTextRequired`)
    .max(4, `${K}.logoTextTooLong`)
    .regex(/^[\p{L}\p{N}]+$/u, `${K}.logoTextChars`),
  accent: z
    .string()
    .trim()
    .toLowerCase()
    .transform((s) => (/^[0-9a-f]{6}$/.test(s) ? `#${s}` : s))
    .pipe(
      z
        .string()
        .min(1, `${K}.accentRequired`)
        .regex(/^#[0-9a-f]{6}$/, `${K}.accentFormat`),
    ),
})

const moneyField = (key: string, required: boolean, max = 100_000_000) =>
  z
    .string()
    .trim()
    .default('')
    .transform((s, ctx) => {
      if (s === '') {
        if (required) ctx.addIssue({ code: 'custom', message: `${K}.${key}Required` })
        return null
      }
      const cents = parseMoney(s)
      if (cents === null || cents <= 0 || cents > max) {
        ctx.addIssue({ code: 'custom', message: `${K}.${key}Invalid` })
        return null
      }
      return cents
    })

const serviceFields = {
  name: text('serviceName', 120, 1).refine((s) => chars(s) >= 2, `${K}.serviceNameTooShort`),
  causale: text('causale', 140, 1).refine((s) => chars(s) >= 2, `${K}.causaleTooShort`),
  spontaneous: z
    .literal('si')
    .optional()
    .transform((v) => v === 'si'),
  amountMode: z.enum(['importo', 'quantita'], { error: `${K}.amountModeRequired` }),
  unitPrice: moneyField('unitPrice', false),
  active: z
    .literal('si')
    .optional()
    .transform((v) => v === 'si'),
}

const unitPriceRule = {
  path: ['unitPrice'],
  message: `${K}.unitPriceRequired`,
  ...always('amountMode', 'unitPrice'),
}

/** A service being changed: its kind (and code) stay as they are. */
export const serviceSchema = z
  .object(serviceFields)
  .refine((v) => v.amountMode !== 'quantita' || v.unitPrice !== null, unitPriceRule)

export const newServiceSchema = z
  .object({ kind: z.enum(SERVICE_KINDS, { error: `${K}.serviceKindRequired` }), ...serviceFields })
  .refine((v) => v.amountMode !== 'quantita' || v.unitPrice !== null, unitPriceRule)
export const SERVICE_ORDER = ['kind', 'name', 'causale', 'spontaneous', 'amountMode', 'unitPrice', 'active']

/** "5,80" or "1.5" as basis points of a percentage: 1,5 → 150. */
export function parseRate(input: string): number | null {
  const s = input.replace(/[\s%]/g, '').replace(',', '.')
  if (!/^\d{1,2}(\.\d{1,2})?$/.test(s)) return null
  const bp = Math.round(Number(s) * 100)
  return bp >= 1 && bp <= 2000 ? bp : null
}

/** "-7, 0, 7" → [-7, 0, 7]: days before (negative) or after the due date. */
export function parseReminderDays(input: string): number[] | null {
  const parts = input
    .split(/[;,\s]+/)
    .map((p) => p.trim())
    .filter(Boolean)
  if (parts.length > 6) return null
  const days: number[] = []
  for (const p of parts) {
    if (!/^[+-−]?\d{1,2}$/.test(p)) return null
    const n = Number(p.replace('−', '-'))
    if (n < -60 || n > 60) return null
    if (!days.includes(n)) days.push(n)
  }
  return days.sort((a, b) => a - b)
}

export const rulesSchema = z
  .object({
    cutoff: z
      .string()
      .trim()
      .transform((s) => s.replace('.', ':'))
      .transform((s) => (/^[0-9]:[0-5][0-9]$/.test(s) ? `0${s}` : s))
      .pipe(
        z
          .string()
          .min(1, `${K}.cutoffRequired`)
          .regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, `${K}.cutoffFormat`),
      ),
    commission: z.enum(['none', 'fixed', 'percent', 'grossup'], { error: `${K}.commissionRequired` }),
    commissionFixed: z.string().trim().default(''),
    commissionRate: z.string().trim().default(''),
    reminderDays: z
      .string()
      .trim()
      .default('')
      .transform((s, ctx) => {
        const days = parseReminderDays(s)
        if (days === null) ctx.addIssue({ code: 'custom', message: `${K}.reminderDaysInvalid` })
        return days ?? []
      }),
    lowBalanceMeals: z
      .string()
      .trim()
      .default('')
      .pipe(z.string().regex(/^$|^[0-9]{1,3}$/, `${K}.lowBalanceInvalid`))
      .transform((s) => (s === '' ? 0 : Number(s)))
      .pipe(z.number().max(100, `${K}.lowBalanceInvalid`)),
  })
  .refine(
    (v) =>
      v.commission !== 'fixed' ||
      ((parseMoney(v.commissionFixed) ?? 0) > 0 && (parseMoney(v.commissionFixed) ?? 0) <= 100_000),
    { path: ['commissionFixed'], message: `${K}.commissionFixedInvalid`, ...always('commission', 'commissionFixed') },
  )
  .refine((v) => (v.commission !== 'percent' && v.commission !== 'grossup') || parseRate(v.commissionRate) !== null, {
    path: ['commissionRate'],
    message: `${K}.commissionRateInvalid`,
    ...always('commission', 'commissionRate'),
  })
export const RULES_ORDER = [
  'cutoff',
  'commission',
  'commissionFixed',
  'commissionRate',
  'reminderDays',
  'lowBalanceMeals',
]

export const goLiveSchema = z.object({ confirm: z.literal('si', { error: `${K}.goLiveConfirm` }) })

export const tariffSchema = z.object({
  tariffName: z
    .string()
    .trim()
    .min(1, `${K}.tariffNameRequired`)
    .max(60, `${K}.tariffNameTooLong`)
    .refine((s) => chars(s) >= 2, `${K}.tariffNameTooShort`),
  price: moneyField('tariffPrice', true, 100_000),
  isDefault: z
    .literal('si')
    .optional()
    .transform((v) => v === 'si'),
})
