// The account forms. Messages are i18n keys.
import { z } from 'zod'
import { isValidCodiceFiscale, normalizeCodiceFiscale } from '../../platform/it/codice-fiscale.ts'
import { isCommonPassword } from './passwords.ts'

/** The "passwords differ" check runs even while other fields have errors, so every problem shows at once. */
const matchOptions = {
  path: ['passwordConfirm'],
  message: 'account.errors.passwordMismatch',
  when: (payload: { value: unknown }) => {
    const v = payload.value as { password?: unknown; passwordConfirm?: unknown }
    return typeof v.password === 'string' && typeof v.passwordConfirm === 'string' && v.passwordConfirm !== ''
  },
}

const name = (key: string) =>
  z
    .string()
    .trim()
    .min(1, `account.errors.${key}Required`)
    .max(80, `account.errors.${key}TooLong`)
    .regex(/^[\p{L}\p{M}' .-]+$/u, `account.errors.${key}Chars`)

export const emailField = z
  .string()
  .trim()
  .min(1, 'account.errors.emailRequired')
  .max(254, 'account.errors.emailInvalid')
  .pipe(z.email('account.errors.emailInvalid'))
  .transform((e) => e.toLowerCase())

export const newPassword = z
  .string()
  .min(12, 'account.errors.passwordShort')
  .max(128, 'account.errors.passwordLong')
  .refine((p) => !isCommonPassword(p), 'account.errors.passwordCommon')

export const codiceFiscaleField = z
  .string()
  .transform(normalizeCodiceFiscale)
  .pipe(
    z
      .string()
      .min(1, 'account.errors.cfRequired')
      .refine((v) => v.length === 16, 'account.errors.cfLength')
      .refine(isValidCodiceFiscale, 'account.errors.cfInvalid'),
  )

export const registerSchema = z
  .object({
    givenName: name('givenName'),
    familyName: name('familyName'),
    codiceFiscale: codiceFiscaleField,
    email: emailField,
    password: newPassword,
    passwordConfirm: z.string(),
    terms: z.literal('si', { error: 'account.errors.termsRequired' }),
  })
  .refine((v) => v.password === v.passwordConfirm, matchOptions)
export const REGISTER_ORDER = [
  'givenName',
  'familyName',
  'codiceFiscale',
  'email',
  'password',
  'passwordConfirm',
  'terms',
]

export const loginSchema = z.object({
  email: emailField,
  password: z.string().min(1, 'account.errors.passwordRequired').max(1024, 'account.errors.passwordRequired'),
})

export const forgotSchema = z.object({ email: emailField })

export const resetSchema = z
  .object({ password: newPassword, passwordConfirm: z.string() })
  .refine((v) => v.password === v.passwordConfirm, matchOptions)

export const changePasswordSchema = z
  .object({
    currentPassword: z.string().min(1, 'account.errors.currentRequired'),
    password: newPassword,
    passwordConfirm: z.string(),
  })
  .refine((v) => v.password === v.passwordConfirm, matchOptions)
  .refine((v) => v.password !== v.currentPassword, { path: ['password'], message: 'account.errors.passwordSame' })

export const profileSchema = z.object({
  email: emailField,
  phone: z
    .string()
    .trim()
    .max(30, 'account.errors.phoneInvalid')
    .regex(/^$|^\+?[0-9 ]{6,20}$/, 'account.errors.phoneInvalid'),
  // a postal address typed on two lines is kept on one (the notice prints it so)
  address: z
    .string()
    .trim()
    .max(200, 'account.errors.addressTooLong')
    .transform((v) => v.replace(/\s*[\r\n]+\s*/g, ', ').replace(/\s+/g, ' ')),
  lang: z.enum(['it', 'en'], { error: 'account.errors.langRequired' }),
  reminders: z
    .literal('si')
    .optional()
    .transform((v) => v === 'si'),
  // asked for only when the address changes (checked by the route, which knows the current address)
  currentPassword: z.string().max(1024, 'account.errors.currentWrong').optional().default(''),
})

export const deleteSchema = z.object({
  password: z.string().min(1, 'account.errors.passwordRequired'),
  confirm: z.literal('si', { error: 'account.errors.deleteConfirmRequired' }),
})
