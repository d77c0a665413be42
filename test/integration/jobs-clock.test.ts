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
})
