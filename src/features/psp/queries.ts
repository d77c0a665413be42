// SQL of the sandbox PSP: platform.sandbox_psp_sessions, read and written by the application role.
import type { Sql } from '../../platform/db.ts'
import type { ProviderStatus, StartRequest } from '../../platform/payment-provider.ts'

export const SESSION_MINUTES = 8

export interface SandboxSession {
  id: string
  paymentId: number
  idempotencyKey: string
  amountCents: number
  description: string
  payerEmail: string | null
  returnUrl: string
  notifyUrl: string
  lang: 'it' | 'en'
  status: ProviderStatus
  authCode: string | null
  /** brand and last four digits of the card that paid, e.g. "VISA ****4242" */
  cardMask: string | null
  createdAt: Date
  expiresAt: Date
  submittedAt: Date | null
  completedAt: Date | null
  eventId: string | null
  notifyAttempts: number
  notifyNextAt: Date | null
  notifyDeliveredAt: Date | null
  notifyLastError: string | null
}

const columns = (sql: Sql) => sql`
  id, payment_id as "paymentId", idempotency_key as "idempotencyKey", amount_cents as "amountCents",
  description, payer_email as "payerEmail", return_url as "returnUrl", notify_url as "notifyUrl", lang, status,
  auth_code as "authCode", card_mask as "cardMask", created_at as "createdAt", expires_at as "expiresAt", submitted_at as "submittedAt",
  completed_at as "completedAt", event_id as "eventId", notify_attempts as "notifyAttempts",
  notify_next_at as "notifyNextAt", notify_delivered_at as "notifyDeliveredAt", notify_last_error as "notifyLastError"`

/** Creates a session, or returns the one already created with this idempotency key (created = false). */
export async function createSession(
  sql: Sql,
  id: string,
  req: StartRequest,
): Promise<{ session: SandboxSession; created: boolean }> {
  const [row] = await sql<[SandboxSession?]>`
    insert into platform.sandbox_psp_sessions
      (id, payment_id, idempotency_key, amount_cents, description, payer_email, return_url, notify_url, lang,
       expires_at)
    values (${id}, ${req.paymentId}, ${req.idempotencyKey}, ${req.amountCents}, ${req.description},
            ${req.payerEmail}, ${req.returnUrl}, ${req.notifyUrl}, ${req.lang},
            now() + make_interval(mins => ${SESSION_MINUTES}))
    on conflict (idempotency_key) do nothing
    returning ${columns(sql)}`
  if (row) return { session: row, created: true }
  const [existing] = await sql<[SandboxSession?]>`
    select ${columns(sql)} from platform.sandbox_psp_sessions where idempotency_key = ${req.idempotencyKey}`
  if (!existing) throw new Error('sandbox session vanished after an idempotency conflict')
  return { session: existing, created: false }
}

/**
 * A session as it stands now: a pending session past its time limit is written 'expired' on the way, so the
 * provider never reports anything else for it afterwards.
 */
export async function getSession(sql: Sql, id: string): Promise<SandboxSession | null> {
  if (!/^[A-Za-z0-9_-]{20,64}$/.test(id)) return null
  const [expired] = await sql<[SandboxSession?]>`
    update platform.sandbox_psp_sessions set status = 'expired', completed_at = expires_at
    where id = ${id} and status = 'pending' and expires_at <= now()
    returning ${columns(sql)}`
  if (expired) return expired
  const [row] = await sql<[SandboxSession?]>`
    select ${columns(sql)} from platform.sandbox_psp_sessions where id = ${id}`
  return row ?? null
}

/**
 * Ends a payable session (pending, not submitted, within its time limit) with an outcome and queues its
 * notification. Returns null when the session was no longer payable (a double submit, a race with cancel).
 */
export async function completeSession(
  sql: Sql,
  id: string,
  outcome: {
    status: 'succeeded' | 'failed' | 'cancelled'
    authCode: string | null
    eventId: string
    cardMask?: string
  },
): Promise<SandboxSession | null> {
  const [row] = await sql<[SandboxSession?]>`
    update platform.sandbox_psp_sessions
    set status = ${outcome.status}, auth_code = ${outcome.authCode}, card_mask = ${outcome.cardMask ?? null}, completed_at = now(),
        event_id = ${outcome.eventId}, notify_next_at = now()
    where id = ${id} and status = 'pending' and submitted_at is null and expires_at > now()
    returning ${columns(sql)}`
  return row ?? null
}

/** The "hanging" card: submitted, left pending, nothing ever sent. */
export async function markSubmitted(sql: Sql, id: string): Promise<SandboxSession | null> {
  const [row] = await sql<[SandboxSession?]>`
    update platform.sandbox_psp_sessions set submitted_at = now()
    where id = ${id} and status = 'pending' and submitted_at is null and expires_at > now()
    returning ${columns(sql)}`
  return row ?? null
}

/**
 * Claims up to `limit` due notifications for this sender: their next attempt moves a lease ahead, so a
 * concurrent sender (another instance, another kick) skips them; a crash retries them when the lease ends.
 */
export async function claimDueNotifications(sql: Sql, limit: number, leaseSeconds: number): Promise<SandboxSession[]> {
  return sql<SandboxSession[]>`
    update platform.sandbox_psp_sessions
    set notify_next_at = now() + make_interval(secs => ${leaseSeconds})
    where id in (
      select id from platform.sandbox_psp_sessions
      where notify_next_at <= now() and notify_delivered_at is null and event_id is not null
      order by notify_next_at
      limit ${limit}
      for update skip locked
    )
    returning ${columns(sql)}`
}

export async function recordDelivery(
  sql: Sql,
  id: string,
  result: { delivered: true } | { delivered: false; error: string; retryInSeconds: number | null },
): Promise<void> {
  if (result.delivered) {
    await sql`
      update platform.sandbox_psp_sessions
      set notify_attempts = notify_attempts + 1, notify_delivered_at = now(), notify_next_at = null,
          notify_last_error = null
      where id = ${id}`
    return
  }
  await sql`
    update platform.sandbox_psp_sessions
    set notify_attempts = notify_attempts + 1, notify_last_error = ${result.error.slice(0, 500)},
        notify_next_at = ${result.retryInSeconds === null ? null : sql`now() + make_interval(secs => ${result.retryInSeconds})`}
    where id = ${id}`
}
