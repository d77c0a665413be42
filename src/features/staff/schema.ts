// The staff forms: inviting a person, changing a role, and the account a person without one creates when
// accepting an invitation. Messages are i18n keys.
import { z } from 'zod'
import { STAFF_ROLES } from '../../platform/roles.ts'
import { codiceFiscaleField, emailField, newPassword } from '../account/schema.ts'

export const addMemberSchema = z.object({
  email: emailField,
  role: z.enum(STAFF_ROLES, { error: 'staff.errors.roleRequired' }),
})

export const roleSchema = z.object({ role: z.enum(STAFF_ROLES, { error: 'staff.errors.roleRequired' }) })

/** A person's name: one line of letters, apostrophes, spaces, dots and hyphens (as at registration). */
const name = (key: string) =>
  z
    .string()
    .trim()
    .min(1, `account.errors.${key}Required`)
    .max(80, `account.errors.${key}TooLong`)
    .regex(/^[\p{L}\p{M}' .-]+$/u, `account.errors.${key}Chars`)

export const invitationAccountSchema = z
  .object({
    givenName: name('givenName'),
    familyName: name('familyName'),
    codiceFiscale: codiceFiscaleField,
    password: newPassword,
    passwordConfirm: z.string(),
  })
  .refine((v) => v.password === v.passwordConfirm, {
    path: ['passwordConfirm'],
    message: 'account.errors.passwordMismatch',
    when: (payload: { value: unknown }) => {
      const v = payload.value as { password?: unknown; passwordConfirm?: unknown }
      return typeof v.password === 'string' && typeof v.passwordConfirm === 'string' && v.passwordConfirm !== ''
    },
  })
export const INVITATION_ACCOUNT_ORDER = ['givenName', 'familyName', 'codiceFiscale', 'password', 'passwordConfirm']
