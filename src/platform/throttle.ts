// Counting failures per key in Postgres (so every instance sees them): progressive delay, then a lock.
import type { Sql, Tx } from './db.ts'

export interface ThrottleRule {
  /** failures counted within this window */
  windowMinutes: number
  /** from this many failures on, each attempt waits (failures - delayAfter) seconds, at most maxDelaySeconds */
  delayAfter: number
  maxDelaySeconds: number
  /** at this many failures the key is locked for lockMinutes */
  lockAfter: number
  lockMinutes: number
}

export const RULES = {
  loginAccount: { windowMinutes: 15, delayAfter: 3, maxDelaySeconds: 4, lockAfter: 10, lockMinutes: 15 },
  loginIp: { windowMinutes: 15, delayAfter: 20, maxDelaySeconds: 4, lockAfter: 100, lockMinutes: 15 },
  // registration, reset and confirmation requests count every request, not only failures
  requestsIp: { windowMinutes: 60, delayAfter: 1000, maxDelaySeconds: 0, lockAfter: 20, lockMinutes: 60 },
  requestsEmail: { windowMinutes: 60, delayAfter: 1000, maxDelaySeconds: 0, lockAfter: 5, lockMinutes: 60 },
} satisfies Record<string, ThrottleRule>

export interface ThrottleState {
  locked: boolean
  lockedUntil: Date | null
  delaySeconds: number
}

export async function checkThrottle(sql: Sql | Tx, key: string, rule: ThrottleRule): Promise<ThrottleState> {
  const [row] = await sql<{ failures: number; locked_until: Date | null; fresh: boolean }[]>`
    select failures, locked_until, window_start > now() - make_interval(mins => ${rule.windowMinutes}) as fresh
    from platform.throttle where key = ${key}`
  if (!row) return { locked: false, lockedUntil: null, delaySeconds: 0 }
  if (row.locked_until && row.locked_until > new Date())
    return { locked: true, lockedUntil: row.locked_until, delaySeconds: 0 }
  const failures = row.fresh ? row.failures : 0
  const delay = failures >= rule.delayAfter ? Math.min(rule.maxDelaySeconds, failures - rule.delayAfter + 1) : 0
  return { locked: false, lockedUntil: null, delaySeconds: delay }
}

/** Records one failure (or one request); returns true when this one locked the key. */
export async function recordFailure(sql: Sql | Tx, key: string, rule: ThrottleRule): Promise<boolean> {
  const [row] = await sql<{ failures: number }[]>`
    insert into platform.throttle as t (key, window_start, failures) values (${key}, now(), 1)
    on conflict (key) do update set
      failures = case when t.window_start > now() - make_interval(mins => ${rule.windowMinutes}) then t.failures + 1 else 1 end,
      window_start = case when t.window_start > now() - make_interval(mins => ${rule.windowMinutes}) then t.window_start else now() end
    returning failures`
  if ((row?.failures ?? 0) >= rule.lockAfter) {
    await sql`update platform.throttle set locked_until = now() + make_interval(mins => ${rule.lockMinutes}),
              failures = 0, window_start = now() where key = ${key}`
    return true
  }
  return false
}

export interface Attempt {
  /** false: refused without checking anything (the key is locked, or its limit is taken by attempts under way) */
  allowed: boolean
  lockedUntil: Date | null
  /** how long this attempt waits before its check */
  delaySeconds: number
  /** this attempt's place in the window (1 for the first) */
  slot: number
}

/**
 * Reserves one attempt before the secret is checked, in one statement: the count goes up first, so however
 * many attempts arrive together, at most `lockAfter` of them are ever checked in a window. The attempt past
 * the limit locks the key at once. A checked attempt then reports attemptFailed or attemptSucceeded.
 */
export async function reserveAttempt(sql: Sql | Tx, key: string, rule: ThrottleRule): Promise<Attempt> {
  const window = rule.windowMinutes
  const [row] = await sql<{ failures: number; locked_until: Date | null; locked: boolean }[]>`
    insert into platform.throttle as t (key, window_start, failures) values (${key}, now(), 1)
    on conflict (key) do update set
      failures = case when t.locked_until > now() then t.failures
                      when t.window_start > now() - make_interval(mins => ${window}) then t.failures + 1 else 1 end,
      window_start = case when t.locked_until > now() then t.window_start
                          when t.window_start > now() - make_interval(mins => ${window}) then t.window_start else now() end
    returning failures, locked_until, coalesce(locked_until > now(), false) as locked`
  if (!row) throw new Error('throttle: no row')
  if (row.locked) return { allowed: false, lockedUntil: row.locked_until, delaySeconds: 0, slot: row.failures }
  if (row.failures > rule.lockAfter) {
    const lockedUntil = await lock(sql, key, rule)
    return { allowed: false, lockedUntil, delaySeconds: 0, slot: row.failures }
  }
  const before = row.failures - 1
  const delay = before >= rule.delayAfter ? Math.min(rule.maxDelaySeconds, before - rule.delayAfter + 1) : 0
  return { allowed: true, lockedUntil: null, delaySeconds: delay, slot: row.failures }
}

async function lock(sql: Sql | Tx, key: string, rule: ThrottleRule): Promise<Date | null> {
  const [row] = await sql<{ locked_until: Date }[]>`
    update platform.throttle set locked_until = now() + make_interval(mins => ${rule.lockMinutes}),
      failures = 0, window_start = now()
    where key = ${key} returning locked_until`
  return row?.locked_until ?? null
}

/** A reserved attempt failed its check (its slot stays counted); true when it was the one that locked the key. */
export async function attemptFailed(sql: Sql | Tx, key: string, rule: ThrottleRule, attempt: Attempt) {
  if (attempt.slot < rule.lockAfter) return false
  return (await lock(sql, key, rule)) !== null
}

/** Gives a reserved slot back: an attempt that succeeded, or one refused for another key's sake. */
export async function releaseAttempt(sql: Sql | Tx, key: string) {
  await sql`update platform.throttle set failures = greatest(failures - 1, 0)
            where key = ${key} and (locked_until is null or locked_until <= now())`
}

export async function clearThrottle(sql: Sql | Tx, key: string) {
  await sql`delete from platform.throttle where key = ${key}`
}

export function sleep(seconds: number) {
  return new Promise((r) => setTimeout(r, seconds * 1000))
}
