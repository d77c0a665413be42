// The spontaneous payment form, by the service's rule (its amount mode): a causale and a free amount (within the
// service's bounds, when it has them), a causale and a quantity times the unit price, or one of the service's fixed
// tariffs (the causale is the tariff's); and an optional pupil among those linked to the citizen in this tenant,
// for school services. Messages are i18n keys.
import { z } from 'zod'
import { parseMoney } from '../../platform/money.ts'

export const MAX_AMOUNT_CENTS = 99_999_999 // € 999.999,99
export const MAX_QUANTITY = 500
export const CAUSALE_MAX = 140
/** the value of the "no pupil in particular" radio */
export const NO_PUPIL = 'nessuno'

export interface Tariff {
  label: string
  cents: number
}

/** A service's tariffs: 1 to 12, each with a label and an amount. */
export const tariffListSchema = z
  .array(
    z.object({
      label: z.string().trim().min(1).max(80),
      cents: z.number().int().min(1).max(MAX_AMOUNT_CENTS),
    }),
  )
  .max(12)

export interface SpontaneousService {
  amountMode: 'importo' | 'quantita' | 'tariffa'
  unitPriceCents: number | null
  causale?: string
  tariffs?: Tariff[] | null
  minCents?: number | null
  maxCents?: number | null
}

export interface SpontaneousInput {
  causale: string
  amountCents: number
  quantity: number | null
  pupilId: number | null
  /** the tariff chosen (tariff services): its position in the service's list and its label */
  tariff: { index: number; label: string } | null
}

const causale = z
  .string()
  // one line: tabs and new lines become spaces, runs of spaces one
  .transform((s) => s.replace(/\s+/g, ' ').trim())
  .pipe(
    z
      .string()
      .min(1, 'spontaneous.errors.causaleRequired')
      .max(CAUSALE_MAX, 'spontaneous.errors.causaleTooLong')
      .regex(/^[^\p{Cc}\p{Cf}<>]*$/u, 'spontaneous.errors.causaleChars'),
  )

const amount = z
  .string()
  .trim()
  .min(1, 'spontaneous.errors.amountRequired')
  .max(20, 'spontaneous.errors.amountInvalid')
  .transform((s, ctx) => {
    const cents = parseMoney(s)
    if (cents === null) {
      ctx.addIssue({ code: 'custom', message: 'spontaneous.errors.amountInvalid' })
      return z.NEVER
    }
    return cents
  })
  .pipe(
    z.number().int().min(1, 'spontaneous.errors.amountZero').max(MAX_AMOUNT_CENTS, 'spontaneous.errors.amountTooHigh'),
  )

const quantity = z
  .string()
  .trim()
  .min(1, 'spontaneous.errors.quantityRequired')
  .regex(/^\d{1,6}$/, 'spontaneous.errors.quantityInvalid')
  .transform(Number)
  .pipe(
    z.number().int().min(1, 'spontaneous.errors.quantityRange').max(MAX_QUANTITY, 'spontaneous.errors.quantityRange'),
  )

function pupil(pupilIds: number[]) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '' || v === NO_PUPIL) return null
      const id = /^\d{1,15}$/.test(v) ? Number(v) : Number.NaN
      if (!pupilIds.includes(id)) {
        ctx.addIssue({ code: 'custom', message: 'spontaneous.errors.pupilInvalid' })
        return z.NEVER
      }
      return id
    })
}

/**
 * The form's schema for one service and the pupils this citizen may name: an object schema (so parseWith
 * treats a missing field as a blank one), whose output toInput turns into cents.
 */
export function spontaneousSchema(service: SpontaneousService, pupilIds: number[]) {
  if (service.amountMode === 'quantita') {
    if (!service.unitPriceCents) throw new Error('a quantity service needs a unit price')
    return z.object({ causale, quantita: quantity, alunno: pupil(pupilIds) })
  }
  if (service.amountMode === 'tariffa') {
    const count = service.tariffs?.length ?? 0
    if (count === 0) throw new Error('a tariff service needs its tariffs')
    const tariffa = z
      .string({ error: 'spontaneous.errors.tariffRequired' })
      .trim()
      .min(1, 'spontaneous.errors.tariffRequired')
      .regex(/^\d{1,2}$/, 'spontaneous.errors.tariffInvalid')
      .transform(Number)
      .pipe(
        z
          .number()
          .int()
          .min(0)
          .max(count - 1, 'spontaneous.errors.tariffInvalid'),
      )
    return z.object({ tariffa, alunno: pupil(pupilIds) })
  }
  // a free amount, within the service's bounds when it has them
  const bounded = amount.refine(
    (cents) =>
      (service.minCents == null || cents >= service.minCents) &&
      (service.maxCents == null || cents <= service.maxCents),
    'spontaneous.errors.amountOutOfBounds',
  )
  return z.object({ causale, importo: bounded, alunno: pupil(pupilIds) })
}

export function toInput(
  service: SpontaneousService,
  v: { causale?: string; importo?: number; quantita?: number; tariffa?: number; alunno: number | null },
): SpontaneousInput {
  if (service.amountMode === 'quantita') {
    const q = v.quantita as number
    return {
      causale: v.causale as string,
      amountCents: q * (service.unitPriceCents as number),
      quantity: q,
      pupilId: v.alunno,
      tariff: null,
    }
  }
  if (service.amountMode === 'tariffa') {
    const index = v.tariffa as number
    const t = (service.tariffs as Tariff[])[index] as Tariff
    // the tariff is the causale: "Assicurazione alunni – quota intera"
    const causale = `${service.causale ?? ''} – ${t.label}`.replace(/^ – /, '').slice(0, CAUSALE_MAX)
    return { causale, amountCents: t.cents, quantity: null, pupilId: v.alunno, tariff: { index, label: t.label } }
  }
  return {
    causale: v.causale as string,
    amountCents: v.importo as number,
    quantity: null,
    pupilId: v.alunno,
    tariff: null,
  }
}

/** The page's field order, for the error summary. */
export const FIELD_ORDER = ['tariffa', 'causale', 'importo', 'quantita', 'alunno']
