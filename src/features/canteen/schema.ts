// The canteen's forms. Messages are i18n keys (src/i18n/<lang>/canteen.json). Dates are three inputs
// (name-day, name-month, name-year) joined into one value by withDates before parsing.
import { z } from 'zod'
import { dateFromParts } from '../../platform/dates.ts'
import { chars, type FormValues } from '../../platform/forms.ts'
import { parseMoney } from '../../platform/money.ts'
import { SCHOOL_KINDS } from './queries.ts'
import { isSchoolYear } from './rules.ts'

const E = 'canteen.errors.'

export const MAX_TOPUP_MEALS = 200

/** Joins the three inputs of each date into values[name] ('d/m/yyyy', or '' when all three are empty). */
export function withDates(values: FormValues | Record<string, string | undefined>, names: string[]) {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(values)) if (typeof v === 'string') out[k] = v.slice(0, 200)
  for (const n of names) {
    const d = (out[`${n}-day`] ?? '').trim()
    const m = (out[`${n}-month`] ?? '').trim()
    const y = (out[`${n}-year`] ?? '').trim()
    out[n] = d || m || y ? `${d}/${m}/${y}` : ''
  }
  return out
}

/** The error summary links a date to its first input. */
export function dateHrefs(names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, `${n}-day`]))
}

/** Splits 'YYYY-MM-DD' into the three inputs' values. */
export function dateValues(name: string, iso: string | null | undefined): Record<string, string> {
  if (!iso) return {}
  const [y, m, d] = iso.split('-')
  return { [`${name}-day`]: String(Number(d)), [`${name}-month`]: String(Number(m)), [`${name}-year`]: y ?? '' }
}

export function dateField(key: string) {
  return z
    .string()
    .min(1, `${E}${key}Required`)
    .transform((s, ctx) => {
      const [d = '', m = '', y = ''] = s.split('/')
      const iso = dateFromParts(d, m, y)
      if (!iso || iso < '2000-01-01' || iso > '2099-12-31') {
        ctx.addIssue({ code: 'custom', message: `${E}${key}Invalid` })
        return z.NEVER
      }
      return iso
    })
}

function optionalDate(key: string) {
  return z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (!s) return null
      const [d = '', m = '', y = ''] = s.split('/')
      const iso = dateFromParts(d, m, y)
      if (!iso || iso < '2000-01-01' || iso > '2099-12-31') {
        ctx.addIssue({ code: 'custom', message: `${E}${key}Invalid` })
        return z.NEVER
      }
      return iso
    })
}

// min as the database counts (characters, not UTF-16 units): "𖬸" is one character, two units
const text = (key: string, max: number, min = 1) =>
  z
    .string()
    .transform((s) => s.replace(/\s+/g, ' ').trim())
    .pipe(
      z
        .string()
        .min(1, `${E}${key}Required`)
        .max(max, `${E}${key}TooLong`)
        .regex(/^[^\p{Cc}\p{Cf}<>]*$/u, `${E}${key}Chars`)
        .refine((s) => s === '' || chars(s) >= min, `${E}${key}TooShort`),
    )

const optionalText = (key: string, max: number) =>
  z
    .string()
    .optional()
    .transform((s) => (s ?? '').replace(/\s+/g, ' ').trim())
    .pipe(
      z
        .string()
        .max(max, `${E}${key}TooLong`)
        .regex(/^[^\p{Cc}\p{Cf}<>]*$/u, `${E}${key}Chars`),
    )
    .transform((s) => (s === '' ? null : s))

const checkbox = z
  .string()
  .optional()
  .transform((v) => v === 'si')

function idOf(ids: number[], key: string, optional = false) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if ((v === undefined || v === '' || v === 'nessuna') && optional) return null
      const id = v && /^\d{1,15}$/.test(v) ? Number(v) : Number.NaN
      if (!ids.includes(id)) {
        ctx.addIssue({ code: 'custom', message: `${E}${key}` })
        return z.NEVER
      }
      return id
    })
}

const weekdays = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) =>
    [...new Set((Array.isArray(v) ? v : v ? [v] : []).filter((x) => /^[1-7]$/.test(x)).map(Number))].sort(),
  )
  .pipe(z.array(z.number()).min(1, `${E}weekdaysRequired`))

const cents = (key: string, allowNegative = false) =>
  z
    .string()
    .trim()
    .min(1, `${E}${key}Required`)
    .max(20, `${E}${key}Invalid`)
    .transform((s, ctx) => {
      const negative = allowNegative && /^-/.test(s)
      const c = parseMoney(negative ? s.slice(1) : s)
      if (c === null || c === 0) {
        ctx.addIssue({ code: 'custom', message: `${E}${key}Invalid` })
        return z.NEVER
      }
      return negative ? -c : c
    })

// ---- citizen

export const ATTENDANCE_CHOICES = ['presente', 'assente', 'bianco'] as const
export type AttendanceChoice = (typeof ATTENDANCE_CHOICES)[number]

export const dayForm = z.object({
  stato: z.enum(ATTENDANCE_CHOICES, { error: `${E}statusRequired` }),
})

export const periodForm = z
  .object({
    dal: dateField('from'),
    al: dateField('to'),
    stato: z.enum(ATTENDANCE_CHOICES, { error: `${E}statusRequired` }),
  })
  .refine((v) => v.al >= v.dal, { path: ['al'], message: `${E}toBeforeFrom` })
  .refine((v) => Date.parse(v.al) - Date.parse(v.dal) <= 366 * 86_400_000, {
    path: ['al'],
    message: `${E}periodTooLong`,
  })
export const PERIOD_ORDER = ['dal', 'al', 'stato']

export function topupForm(pupilIds: number[]) {
  return z.object({
    alunno: idOf(pupilIds, 'pupilRequired'),
    pasti: z
      .string()
      .trim()
      .min(1, `${E}mealsRequired`)
      .regex(/^\d{1,6}$/, `${E}mealsInvalid`)
      .transform(Number)
      .pipe(z.number().int().min(1, `${E}mealsRange`).max(MAX_TOPUP_MEALS, `${E}mealsRange`)),
  })
}
export const TOPUP_ORDER = ['alunno', 'pasti']

export const walletFilter = z.object({
  dal: optionalDate('from'),
  al: optionalDate('to'),
})

// ---- office

export const officeDayForm = z.object({
  stato: z.enum(ATTENDANCE_CHOICES, { error: `${E}statusRequired` }),
  motivo: optionalText('reason', 300),
})

export function enrollForm(classIds: number[], tariffIds: number[]) {
  return z.object({
    cf: z
      .string()
      .transform((s) => s.replace(/\s+/g, '').toUpperCase())
      .pipe(
        z
          .string()
          .min(1, `${E}pupilCfRequired`)
          .regex(/^[A-Z0-9]{16}$/, `${E}pupilCfInvalid`),
      ),
    classe: idOf(classIds, 'classInvalid', true),
    tariffa: idOf(tariffIds, 'tariffInvalid', true),
    inizio: dateField('start'),
  })
}
export const ENROLL_ORDER = ['cf', 'classe', 'tariffa', 'inizio']

export function enrollmentEditForm(classIds: number[]) {
  return z
    .object({
      classe: idOf(classIds, 'classInvalid', true),
      stato: z.enum(['attiva', 'sospesa', 'cessata'], { error: `${E}enrollmentStatusRequired` }),
      inizio: dateField('start'),
      fine: optionalDate('end'),
      isee: z
        .string()
        .optional()
        .transform((s, ctx) => {
          if (!s?.trim()) return null
          const c = parseMoney(s)
          if (c === null) {
            ctx.addIssue({ code: 'custom', message: `${E}iseeInvalid` })
            return z.NEVER
          }
          return c
        }),
    })
    .refine((v) => !v.fine || v.fine >= v.inizio, { path: ['fine'], message: `${E}endBeforeStart` })
}
export const ENROLLMENT_ORDER = ['classe', 'stato', 'inizio', 'fine', 'isee']

export function tariffChangeForm(tariffIds: number[]) {
  return z.object({ tariffa: idOf(tariffIds, 'tariffRequired'), dal: dateField('validFrom') })
}
export const TARIFF_CHANGE_ORDER = ['tariffa', 'dal']

export const adjustmentForm = z
  .object({
    tipo: z.enum(['rettifica', 'saldo_iniziale'], { error: `${E}adjustmentKindRequired` }),
    importo: cents('adjustment', true),
    data: optionalDate('adjustmentDate'),
    motivo: text('reason', 300),
  })
  .refine((v) => v.tipo === 'saldo_iniziale' || v.data !== null, {
    path: ['data'],
    message: `${E}adjustmentDateRequired`,
  })
export const ADJUSTMENT_ORDER = ['tipo', 'importo', 'data', 'motivo']

export const schoolForm = z.object({
  tipo: z.enum(SCHOOL_KINDS, { error: `${E}schoolKindRequired` }),
  nome: text('schoolName', 120, 2),
  indirizzo: optionalText('address', 200),
  attiva: checkbox,
})
export const SCHOOL_ORDER = ['tipo', 'nome', 'indirizzo', 'attiva']

export function classForm(schoolIds: number[]) {
  return z.object({
    scuola: idOf(schoolIds, 'schoolRequired'),
    nomeClasse: text('className', 40),
    nota: optionalText('classNote', 60),
    giorni: weekdays,
    attiva: checkbox,
  })
}
export const CLASS_ORDER = ['scuola', 'nomeClasse', 'nota', 'giorni', 'attiva']

export const yearForm = z
  .object({
    anno: z
      .string()
      .trim()
      .min(1, `${E}yearRequired`)
      .refine((s) => isSchoolYear(s), `${E}yearInvalid`),
    inizio: dateField('start'),
    fine: dateField('end'),
    giorni: weekdays,
  })
  .refine((v) => v.fine >= v.inizio, { path: ['fine'], message: `${E}endBeforeStart` })
  .refine((v) => v.inizio >= `${v.anno.slice(0, 4)}-07-01` && v.fine <= `${v.anno.slice(5)}-08-31`, {
    path: ['inizio'],
    message: `${E}yearOutside`,
  })
export const YEAR_ORDER = ['anno', 'inizio', 'fine', 'giorni']

export function closureForm(schoolIds: number[]) {
  return z
    .object({
      dal: dateField('from'),
      al: dateField('to'),
      descrizione: text('closureDescription', 120, 2),
      scuola: idOf(schoolIds, 'schoolRequired', true),
    })
    .refine((v) => v.al >= v.dal, { path: ['al'], message: `${E}toBeforeFrom` })
}
export const CLOSURE_ORDER = ['dal', 'al', 'descrizione', 'scuola']

function tariffShape(otherTariffIds: number[]) {
  return {
    nome: text('tariffName', 60, 2).transform((s) => s.toUpperCase()),
    descrizione: optionalText('tariffDescription', 200),
    base: idOf(otherTariffIds, 'baseTariffInvalid', true),
    iseeMin: z
      .string()
      .optional()
      .transform((s, ctx) => optionalCents(s, ctx, `${E}iseeInvalid`)),
    iseeMax: z
      .string()
      .optional()
      .transform((s, ctx) => optionalCents(s, ctx, `${E}iseeInvalid`)),
    bianco: z.enum(['si', 'no'], { error: `${E}lightMealRequired` }),
    predefinita: checkbox,
    attiva: checkbox,
  }
}

const iseeRange = {
  check: (v: { iseeMin: number | null; iseeMax: number | null }) =>
    v.iseeMin === null || v.iseeMax === null || v.iseeMax >= v.iseeMin,
  params: { path: ['iseeMax'], message: `${E}iseeRange` },
}

export function tariffForm(otherTariffIds: number[]) {
  return z.object(tariffShape(otherTariffIds)).refine(iseeRange.check, iseeRange.params)
}

/** A new tariff comes with its first price. */
export function newTariffForm(tariffIds: number[]) {
  return z.object({ ...tariffShape(tariffIds), ...priceShape() }).refine(iseeRange.check, iseeRange.params)
}
export const TARIFF_ORDER = [
  'nome',
  'descrizione',
  'base',
  'iseeMin',
  'iseeMax',
  'bianco',
  'predefinita',
  'attiva',
  'prezzo',
  'dal',
]

function optionalCents(s: string | undefined, ctx: z.core.$RefinementCtx, message: string): number | null {
  if (!s?.trim()) return null
  const c = parseMoney(s)
  if (c === null) {
    ctx.addIssue({ code: 'custom', message })
    return z.NEVER as never
  }
  return c
}

function priceShape() {
  return {
    prezzo: cents('price').pipe(z.number().int().min(1, `${E}priceInvalid`).max(100_000, `${E}priceInvalid`)),
    dal: dateField('validFrom'),
  }
}

export const priceForm = z.object(priceShape())
export const PRICE_ORDER = ['prezzo', 'dal']
