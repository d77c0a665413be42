// Delivery of the sandbox's signed notifications to the merchant's notify URL, with retries and backoff.
// Run by the scheduler and kicked in-process right after a payment ends.
import type { Logger } from 'pino'
import type { Config } from '../../config.ts'
import type { Db } from '../../platform/db.ts'
import { claimDueNotifications, recordDelivery, type SandboxSession } from './queries.ts'
import { SIGNATURE_HEADER, signNotification } from './signature.ts'

/** Wait after the 1st, 2nd, … failed attempt; the last value repeats until MAX_ATTEMPTS. */
export const RETRY_SECONDS = [5, 30, 120, 600, 3600] as const
export const MAX_ATTEMPTS = 8
const TIMEOUT_MS = 10_000
const LEASE_SECONDS = 60

export function retryDelaySeconds(failedAttempts: number): number | null {
  if (failedAttempts >= MAX_ATTEMPTS) return null
  return RETRY_SECONDS[Math.min(failedAttempts, RETRY_SECONDS.length) - 1] ?? RETRY_SECONDS[0]
}

/** The notification body: the same bytes for every attempt but the signature's timestamp. */
export function notificationBody(s: SandboxSession): string {
  return JSON.stringify({
    eventId: s.eventId,
    providerRef: s.id,
    paymentId: s.paymentId,
    status: s.status,
    amountCents: s.amountCents,
    authCode: s.authCode,
    cardMask: s.cardMask,
    occurredAt: (s.completedAt ?? s.createdAt).toISOString(),
  })
}

export interface DeliveryOptions {
  fetchImpl?: typeof fetch
  log?: Pick<Logger, 'info' | 'warn'>
  /** how many notifications one run sends at most */
  limit?: number
}

/** Sends every due notification once; returns how many were delivered and how many failed this run. */
export async function deliverPending(
  db: Pick<Db, 'sql'>,
  config: Pick<Config, 'pspSandboxSecret' | 'baseUrl'>,
  opts: DeliveryOptions = {},
): Promise<{ delivered: number; failed: number }> {
  const fetchImpl = opts.fetchImpl ?? fetch
  const due = await claimDueNotifications(db.sql, opts.limit ?? 50, LEASE_SECONDS)
  let delivered = 0
  let failed = 0
  await Promise.all(
    due.map(async (s) => {
      const body = notificationBody(s)
      let error: string | null = null
      try {
        // the API accepts only this server's notify address; a session stored before that rule is not sent
        if (new URL(s.notifyUrl).origin !== new URL(config.baseUrl).origin)
          throw new Error('notify address of another site')
        const res = await fetchImpl(s.notifyUrl, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            [SIGNATURE_HEADER]: signNotification(config.pspSandboxSecret, body),
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(TIMEOUT_MS),
        })
        await res.body?.cancel().catch(() => {})
        if (res.status < 200 || res.status > 299) error = `HTTP ${res.status}`
      } catch (err) {
        error = err instanceof Error ? err.message : String(err)
      }
      if (error === null) {
        await recordDelivery(db.sql, s.id, { delivered: true })
        delivered++
        opts.log?.info({ providerRef: s.id, eventId: s.eventId }, 'sandbox psp notification delivered')
      } else {
        const retryInSeconds = retryDelaySeconds(s.notifyAttempts + 1)
        await recordDelivery(db.sql, s.id, { delivered: false, error, retryInSeconds })
        failed++
        opts.log?.warn(
          { providerRef: s.id, eventId: s.eventId, attempt: s.notifyAttempts + 1, error, retryInSeconds },
          'sandbox psp notification not delivered',
        )
      }
    }),
  )
  return { delivered, failed }
}
