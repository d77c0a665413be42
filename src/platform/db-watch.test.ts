import { describe, expect, it } from 'vitest'
import { DatabaseWatch } from './db-watch.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A probe the test answers or holds: `answering` decides what the next probes do. */
function database() {
  const db = { answering: true, probes: 0 }
  const probe = () => {
    db.probes++
    return db.answering ? Promise.resolve(1) : new Promise(() => {})
  }
  return { db, probe }
}

describe('DatabaseWatch', () => {
  it('lets slow work finish while the probe answers: a busy database is not a stall', async () => {
    const { db, probe } = database()
    const watch = new DatabaseWatch({ probe, probeTimeoutMs: 50, suspectAfterMs: 30, retryMs: 20 })
    const value = await watch.guard(async () => {
      await sleep(150)
      return 'done'
    })
    expect(value).toBe('done')
    expect(db.probes).toBeGreaterThanOrEqual(1)
    expect(watch.stalled).toBe(false)
    // a finished request leaves nothing behind (an earlier version kept a reaction per request: a heap leak)
    await Promise.all(Array.from({ length: 1000 }, (_, i) => watch.guard(async () => i)))
    await expect(watch.guard(() => Promise.reject(new Error('failed')))).rejects.toThrow('failed')
    expect(watch.waitingCount).toBe(0)
    watch.close()
  })

  it('ends a waiting request once the probe goes unanswered, refuses new ones at once, and recovers alone', async () => {
    const { db, probe } = database()
    const changes: boolean[] = []
    let renewed = 0
    const watch = new DatabaseWatch({
      probe,
      probeTimeoutMs: 40,
      suspectAfterMs: 30,
      retryMs: 20,
      longStallMs: 100,
      onLongStall: () => renewed++,
      onChange: (s) => changes.push(s),
    })
    db.answering = false
    const t0 = performance.now()
    // work that would wait for ever: ended after about suspectAfter + probeTimeout
    await expect(watch.guard(() => new Promise(() => {}))).rejects.toMatchObject({ code: 'CONNECT_TIMEOUT' })
    expect(performance.now() - t0).toBeLessThan(1000)
    expect(watch.stalled).toBe(true)
    let ran = false
    await expect(
      watch.guard(async () => {
        ran = true
      }),
    ).rejects.toMatchObject({ code: 'CONNECT_TIMEOUT' })
    expect(ran).toBe(false)
    // a long stall renews the pools, once
    await sleep(250)
    expect(renewed).toBe(1)
    // the database answers again: the next probe finds it
    db.answering = true
    await sleep(100)
    expect(watch.stalled).toBe(false)
    expect(await watch.guard(async () => 'again')).toBe('again')
    expect(changes).toEqual([true, false])
    watch.close()
  })
})
