// The sandbox's forms and API bodies. Form messages are i18n keys, translated when the page is rendered.
import { z } from 'zod'
import { cardNumberProblem, cvvProblem, expiryProblem } from './card.ts'

const text = (max: number) => z.string().max(max).default('')

/** The card form; `now` decides which expiry dates are in the past (Rome's month). */
export function cardFormSchema(now: Date = new Date()) {
  return z
    .object({
      cardholderName: text(200),
      cardNumber: text(40),
      expiryMonth: text(4),
      expiryYear: text(6),
      cvv: text(6),
      token: z.string().max(200).default(''),
    })
    .superRefine((v, ctx) => {
      const name = v.cardholderName.trim()
      if (name === '') ctx.addIssue({ code: 'custom', path: ['cardholderName'], message: 'psp.error.name.required' })
      else if (name.length > 100)
        ctx.addIssue({ code: 'custom', path: ['cardholderName'], message: 'psp.error.name.long' })
      const card = cardNumberProblem(v.cardNumber)
      if (card) ctx.addIssue({ code: 'custom', path: ['cardNumber'], message: `psp.error.cardNumber.${card}` })
      const expiry = expiryProblem(v.expiryMonth, v.expiryYear, now)
      if (expiry) ctx.addIssue({ code: 'custom', path: ['expiry'], message: `psp.error.expiry.${expiry}` })
      const cvv = cvvProblem(v.cvv, v.cardNumber)
      if (cvv) ctx.addIssue({ code: 'custom', path: ['cvv'], message: `psp.error.cvv.${cvv}` })
    })
}

export type CardForm = z.output<ReturnType<typeof cardFormSchema>>

/** Field name → the id of the input an error links to, in page order. */
export const FIELD_IDS = {
  cardholderName: 'cardholder-name',
  cardNumber: 'card-number',
  expiry: 'expiry-month',
  cvv: 'cvv',
} as const

const httpUrl = z.url({ protocol: /^https?$/ }).max(2000)

export const startRequestSchema = z.object({
  paymentId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  idempotencyKey: z.string().min(1).max(200),
  amountCents: z.number().int().min(1).max(9_999_999_999),
  description: z.string().trim().min(1).max(500),
  payerEmail: z.email().max(320).nullable(),
  returnUrl: httpUrl,
  notifyUrl: httpUrl,
  lang: z.enum(['it', 'en']),
})

export const startResultSchema = z.object({
  providerRef: z.string().min(1),
  redirectUrl: z.string().min(1),
  expiresAt: z.iso.datetime({ offset: true }),
})

export const statusResultSchema = z.object({
  providerRef: z.string(),
  paymentId: z.number(),
  status: z.enum(['pending', 'succeeded', 'failed', 'cancelled', 'expired']),
  amountCents: z.number().int(),
  authCode: z.string().nullable(),
  cardMask: z.string().max(40).nullable().optional(),
  expiresAt: z.string(),
  completedAt: z.string().nullable(),
})

export const notificationBodySchema = z.object({
  eventId: z.string().min(1).max(200),
  providerRef: z.string().min(1).max(200),
  paymentId: z.number().int().positive(),
  status: z.enum(['succeeded', 'failed', 'cancelled', 'expired']),
  amountCents: z.number().int().positive(),
  authCode: z.string().max(100).nullable(),
  cardMask: z.string().max(40).nullable().optional(),
  occurredAt: z.iso.datetime({ offset: true }),
})
