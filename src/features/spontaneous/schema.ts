// The spontaneous payment form: causale, then an amount or a quantity (by the service's amount mode), and an
// optional pupil among those linked to the citizen in this tenant. Messages are i18n keys.
import { z } from 'zod'
import { parseMoney } from '../../platform/money.ts'

export const MAX_AMOUNT_CENTS = 99_999_999 // € 999.999,99
export const MAX_QUANTITY = 500
export const CAUSALE_MAX = 140
/** the value of the "no pupil in particular" radio */
export const NO_PUPIL = 'nessuno'

export interface SpontaneousService {
  amountMode: 'importo' | 'quantita'
  unitPriceCents: number | null
}

export interface SpontaneousInput {
  causale: string
  amountCents: number
  quantity: number | null
  pupilId: number | null
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
  return z.object({ causale, importo: amount, alunno: pupil(pupilIds) })
}

export function toInput(
  service: SpontaneousService,
  v: { causale: string; importo?: number; quantita?: number; alunno: number | null },
): SpontaneousInput {
  if (service.amountMode === 'quantita') {
    const q = v.quantita as number
    return { causale: v.causale, amountCents: q * (service.unitPriceCents as number), quantity: q, pupilId: v.alunno }
  }
  return { causale: v.causale, amountCents: v.importo as number, quantity: null, pupilId: v.alunno }
}

/** The page's field order, for the error summary. */
export const FIELD_ORDER = ['causale', 'importo', 'quantita', 'alunno']
