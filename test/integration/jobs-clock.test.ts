// The scheduler's slots on the clock: two instances on one database run each slot once, and when one stops
// the other runs the slots; runs never overlap across instances; a run left by a dead instance is closed as
// interrupted. One at a time (SERIAL_FILES): each-second schedules and waits of a few seconds are measured against
// the clock. The rest of the jobs' tests: jobs.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobDefinition } from '../../src/jobs/registry.ts'
import { Scheduler } from '../../src/jobs/scheduler.ts'
import type { Db } from '../../src/platform/db.ts'
import { testApp } from '../helpers/app.ts'
import { openTestDb } from '../helpers/db.ts'
import { runsOf, testJob } from '../helpers/jobs.ts'

let db: Db
let deps: ReturnType<typeof testApp>['deps']
const run = Math.random().toString(36).slice(2, 8)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

beforeAll(async () => {
  db = await openTestDb()
  ;({ deps } = testApp(db))
})

afterAll(async () => {
  await db.sql`delete from platform.job_runs where job like ${`test-${run}-%`}`
  await db.close()
})

const newJob = (name: string, body: JobDefinition['run'], leaseMinutes?: number) =>
  testJob(run, name, body, leaseMinutes)
const runsFor = (job: string) => runsOf(db, job)

describe('stopping', () => {
  it('a slot claimed as the instance stops is given back: nothing runs after stop, no run is left open', async () => {
    let calls = 0
    const job = newJob('stop-claim', async () => {
      calls++
      return { ticks: 1 }
    })
    const s = new Scheduler(deps, { jobs: [job], instance: 'istanza-ferma' })
    // the next slot's claim waits on a lock held by another connection, so stop() comes while it is in flight
    const holder = await openTestDb()
    let release: () => void = () => {}
    const held = new Promise<void>((r) => {
      release = r
    })
    let locked: () => void = () => {}
    const isLocked = new Promise<void>((r) => {
      locked = r
    })
    const tx = holder.sql.begin(async (t) => {
      await t`lock table platform.job_runs in exclusive mode`
      locked()
      await held
    })
    await isLocked
    s.start()
    await sleep(1300) // a slot has come: its claim is waiting
    const stopped = s.stop()
    await sleep(100)
    release()
    await tx
    await stopped
    await holder.close()
    await sleep(1200)
    expect(calls).toBe(0)
    expect(await runsFor(`test-${run}-stop-claim`)).toEqual([])
  })
})

describe('two instances on one database', () => {
  it('run each slot once; when one instance is down the other runs the slots', async () => {
    const calls: { instance: string; slot: string }[] = []
    // two app instances: each with its own connection pool, as two processes would have
    const db2 = await openTestDb()
    const deps2 = testApp(db2).deps
    const make = (instance: string, d: typeof deps) => {
      const job = newJob('tick', async (ctx) => {
        calls.push({ instance, slot: ctx.now.toISOString() })
        return { ticks: 1 }
      })
      return new Scheduler(d, { jobs: [job], instance })
    }
    const a = make('istanza-a', deps)
    const b = make('istanza-b', deps2)
    a.start()
    b.start()
    await sleep(3300)
    await a.stop()
    const stoppedAt = Date.now()
    await sleep(2300)
    await b.stop()
    await db2.close()
    const rows = await runsFor(`test-${run}-tick`)
    // every slot once, run by the instance that recorded it
    expect(rows.length).toBeGreaterThanOrEqual(4)
    expect(new Set(rows.map((r) => r.slot.getTime())).size).toBe(rows.length)
    expect(calls).toHaveLength(rows.length)
    expect(new Set(calls.map((c) => c.slot)).size).toBe(calls.length)
    for (const r of rows) {
      expect(r.outcome).toBe('succeeded')
      expect(calls.find((c) => c.slot === r.slot.toISOString())?.instance).toBe(r.instance)
    }
    // slots are whole seconds apart (a slot is missed only when an event loop stalls more than a second)
    for (let i = 1; i < rows.length; i++)
      expect(((rows[i] as { slot: Date }).slot.getTime() - (rows[i - 1] as { slot: Date }).slot.getTime()) % 1000).toBe(
        0,
      )
    const after = rows.filter((r) => r.slot.getTime() > stoppedAt)
    expect(after.length).toBeGreaterThanOrEqual(2)
    expect(after.every((r) => r.instance === 'istanza-b')).toBe(true)
  })

  it('never overlap a slow run across instances, and close a dead instance’s run as interrupted', async () => {
    let running = 0
    let maxRunning = 0
    const make = (instance: string) =>
      new Scheduler(deps, {
        jobs: [
          newJob('slow', async () => {
            running++
            maxRunning = Math.max(maxRunning, running)
            await sleep(1600)
            running--
            return {}
          }),
        ],
        instance,
      })
    const a = make('lenta-a')
    const b = make('lenta-b')
    a.start()
    b.start()
    await sleep(4200)
    await Promise.all([a.stop(), b.stop()])
    expect(maxRunning).toBe(1)
    const rows = await runsFor(`test-${run}-slow`)
    expect(rows.length).toBeGreaterThanOrEqual(2)
    for (let i = 1; i < rows.length; i++) {
      const prev = rows[i - 1] as { finished_at: Date }
      expect((rows[i] as { started_at: Date }).started_at.getTime()).toBeGreaterThanOrEqual(prev.finished_at.getTime())
    }

    // an instance died in the middle of a run 20 minutes ago: its row is closed, the next slot runs
    const job = `test-${run}-orphan`
    await db.sql`insert into platform.job_runs (job, slot, instance, started_at)
                 values (${job}, now() - interval '20 minutes', 'morta', now() - interval '20 minutes')`
    const s = new Scheduler(deps, { jobs: [newJob('orphan', async () => ({ done: 1 }), 10)], instance: 'viva' })
    s.start()
    await sleep(1500)
    await s.stop()
    const orphan = await runsFor(job)
    expect(orphan[0]).toMatchObject({ instance: 'morta', outcome: 'interrupted' })
    expect(orphan.slice(1).some((r) => r.instance === 'viva' && r.outcome === 'succeeded')).toBe(true)
  })

  it('take over a run whose runner went silent, once, for its own slot; the silent runner, if alive, stops', async () => {
    // a runner died in the middle of a slot's run a minute ago: its heartbeat is silent
    const job = `test-${run}-silent`
    const slot = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000)
    await db.sql`insert into platform.job_runs (job, slot, instance, heartbeat_at)
                 values (${job}, ${slot}, 'silenziosa', now() - interval '1 minute')`
    const nows: string[] = []
    const make = (instance: string) =>
      new Scheduler(deps, {
        jobs: [
          newJob('silent', async (ctx) => {
            nows.push(ctx.now.toISOString())
            await sleep(300)
            return { done: 1 }
          }),
        ],
        instance,
        heartbeatMs: 200,
        deadAfterMs: 1000,
      })
    // two instances look for it at once: one takes it
    const a = make('erede-a')
    const b = make('erede-b')
    a.start()
    b.start()
    await sleep(1500)
    await Promise.all([a.stop(), b.stop()])
    const rows = await runsFor(job)
    const taken = rows.find((r) => r.slot.getTime() === slot.getTime())
    expect(taken).toMatchObject({ outcome: 'succeeded', attempts: 2, taken_over_from: 'silenziosa' })
    expect(['erede-a', 'erede-b']).toContain(taken?.instance)
    // run again once, for its own slot; the later slots each once, never beside it
    expect(nows.filter((n) => n === slot.toISOString())).toHaveLength(1)
    expect(new Set(nows).size).toBe(nows.length)
    const later = rows.filter((r) => r.slot.getTime() !== slot.getTime())
    for (const r of later) expect(r.started_at.getTime()).toBeGreaterThanOrEqual(taken?.finished_at?.getTime() ?? 0)

    // a runner that was only silent (a long pause) finds its run taken when it beats again: it stops at its
    // next tenant, and the taker's record stands
    const slow = `test-${run}-paused`
    let stopped: unknown = null
    const c = new Scheduler(deps, {
      jobs: [
        newJob('paused', async (ctx) => {
          await new Promise((r) => ctx.signal?.addEventListener('abort', r))
          stopped = ctx.signal?.reason
          ctx.signal?.throwIfAborted()
          return {}
        }),
      ],
      instance: 'in-pausa',
      heartbeatMs: 100,
      deadAfterMs: 60_000,
    })
    c.start()
    let id = 0
    for (let i = 0; i < 50 && !id; i++) {
      await sleep(100)
      id = (await runsFor(slow)).find((r) => r.finished_at === null)?.id ?? 0
    }
    expect(id).not.toBe(0)
    await db.sql`update platform.job_runs set instance = 'altra', taken_over_from = 'in-pausa', attempts = 2 where id = ${id}`
    await sleep(400)
    await c.stop()
    expect(String(stopped)).toContain('taken over')
    const [row] = (await runsFor(slow)).filter((r) => r.id === id)
    expect(row).toMatchObject({ instance: 'altra', finished_at: null })
    await db.sql`delete from platform.job_runs where id = ${id}`
  })
})
