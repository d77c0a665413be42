// The sandbox's secrets at work: the notification signature, the API bearer token, the pay-page form token.
// Each use has its own derived key, so one leaked token says nothing about the others.
import { createHmac, timingSafeEqual } from 'node:crypto'

export const SIGNATURE_HEADER = 'X-Sandbox-Signature'
/** A notification older than this is refused (replay). */
export const MAX_AGE_SECONDS = 5 * 60
/** …and one from further in the future than this (clock skew). */
export const MAX_SKEW_SECONDS = 60

function hmacHex(key: string, data: string): string {
  return createHmac('sha256', key).update(data, 'utf8').digest('hex')
}

/** Compares two strings in constant time (for equal lengths; a length mismatch is refused at once). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8')
  const y = Buffer.from(b, 'utf8')
  return x.length === y.length && timingSafeEqual(x, y)
}

/** `t=<unix seconds>,v1=<hex hmac-sha256(secret, t + '.' + rawBody)>` */
export function signNotification(secret: string, rawBody: string, t: number = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${hmacHex(secret, `${t}.${rawBody}`)}`
}

/** True when the header carries a valid signature of rawBody made within the accepted time window. */
export function verifySignature(
  secret: string,
  rawBody: string,
  header: string | undefined,
  nowMs: number = Date.now(),
): boolean {
  if (!header || header.length > 500) return false
  const parts = new Map<string, string>()
  for (const item of header.split(',')) {
    const i = item.indexOf('=')
    if (i > 0) parts.set(item.slice(0, i).trim(), item.slice(i + 1).trim())
  }
  const t = parts.get('t')
  const v1 = parts.get('v1')
  if (!t || !/^[0-9]{1,12}$/.test(t) || !v1 || !/^[0-9a-f]{64}$/.test(v1)) return false
  const age = nowMs / 1000 - Number(t)
  if (age > MAX_AGE_SECONDS || age < -MAX_SKEW_SECONDS) return false
  return safeEqual(hmacHex(secret, `${t}.${rawBody}`), v1)
}

/** The bearer token of the server-to-server API. */
export function apiToken(secret: string): string {
  return hmacHex(secret, 'sandbox-psp:api')
}

/** The hidden token of a pay page's forms: only someone who loaded the page has it. */
export function pageToken(secret: string, sessionId: string): string {
  return hmacHex(secret, `sandbox-psp:page:${sessionId}`)
}
