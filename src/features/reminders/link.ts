// The "paga ora" link of a reminder: a signed, expiring token naming a tenant and installments. It carries no
// personal data and grants nothing by itself: the route adds to the cart only what the signed-in citizen may
// see and still pay, so a forwarded link is harmless.
import { createHmac } from 'node:crypto'
import { safeEqual } from '../../platform/tokens.ts'

export const LINK_DAYS = 45

export interface ReminderLink {
  tenantId: number
  installmentIds: number[]
}

export function linkSecret(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('sportello:reminder-links').digest('hex')
}

function mac(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(`reminder-link:${payload}`).digest('base64url')
}

export function signReminderLink(secret: string, link: ReminderLink, expiresAt: Date): string {
  const payload = Buffer.from(
    JSON.stringify([link.tenantId, link.installmentIds, Math.floor(expiresAt.getTime() / 1000)]),
  ).toString('base64url')
  return `${payload}.${mac(secret, payload)}`
}

/** The link's content, 'expired' for a genuine link past its date, or null for anything else. */
export function verifyReminderLink(secret: string, token: string, now = new Date()): ReminderLink | 'expired' | null {
  if (token.length > 2000 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/.test(token)) return null
  const [payload, sig] = token.split('.') as [string, string]
  if (!safeEqual(sig, mac(secret, payload))) return null
  let data: unknown
  try {
    data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    return null
  }
  if (!Array.isArray(data) || data.length !== 3) return null
  const [tenantId, ids, exp] = data as [unknown, unknown, unknown]
  if (!Number.isSafeInteger(tenantId) || !Number.isSafeInteger(exp) || !Array.isArray(ids)) return null
  if (ids.length === 0 || ids.length > 200 || !ids.every((x) => Number.isSafeInteger(x) && (x as number) > 0))
    return null
  if ((exp as number) * 1000 < now.getTime()) return 'expired'
  return { tenantId: tenantId as number, installmentIds: ids as number[] }
}
