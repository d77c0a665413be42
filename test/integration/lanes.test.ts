// Tenant lanes (src/platform/lanes.ts, decision 0091): a tenant's statements carry its schema in their text and run
// on its own connections, so PostgreSQL plans each of them once per connection instead of on every request, and
// isolation still rests on the transaction's role.
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Db, type Sql, type TenantScope, type Tx, withTenant } from '../../src/platform/db.ts'
import { attachLanes, lanesOf } from '../../src/platform/lanes.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createTestTenant, dropTestTenant, openTestDb, testTarget } from '../helpers/db.ts'

const onPglite = testTarget().kind === 'pglite'
let db: Db
let a: Tenant
let b: Tenant

beforeAll(async () => {
  if (onPglite) return
  db = await openTestDb()
  a = await createTestTenant(db)
  b = await createTestTenant(db)
})

afterAll(async () => {
  if (onPglite) return
  await dropTestTenant(db, a)
  await dropTestTenant(db, b)
  await db.close()
})

const scope = (t: Tenant): TenantScope => ({ schema: t.schema, role: t.role })

/**
 * A pool of one connection, or a pool whose tenant transactions run on two lanes of one connection each, that
 * reports how often PostgreSQL planned a statement: log_planner_stats sends a notice for every planning (it needs
 * a superuser: the owner's URL, which is not what the application connects as).
 */
function planCountingPool(withLanes: boolean): { main: Sql; plans: () => number; end: () => Promise<void> } {
  let plans = 0
  const open = (onclose?: () => void) =>
    postgres(testTarget().url, {
      max: 1,
      onclose,
      onnotice: (n) => {
        if (String(n.message).includes('PLANNER STATISTICS')) plans++
      },
      connection: { application_name: 'sportello-lanes-test', log_planner_stats: true, client_min_messages: 'log' },
    })
  const main = open()
  const lanes = withLanes ? attachLanes(main, 2, (closed) => open(closed)) : null
  return {
    main,
    plans: () => plans,
    end: async () => {
      await Promise.all([main, ...(lanes?.pools ?? [])].map((p) => p.end({ timeout: 1 })))
    },
  }
}

/** Transactions of the two tenants one after the other, each reading its own services. */
async function alternate(main: Sql, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++)
    for (const t of [a, b]) await withTenant(main, scope(t), (tx) => tx`select count(*) from services where active`)
}

describe.skipIf(onPglite)('tenant lanes', () => {
  it.skipIf(testTarget().citus)(
    'plan a statement once per tenant and connection, where one pool for all tenants plans it every time',
    async () => {
      const rounds = 30
      const shared = planCountingPool(false)
      const laned = planCountingPool(true)
      try {
        await alternate(shared.main, rounds)
        await alternate(laned.main, rounds)
        // one pool: the count planned on each of the 60 transactions (the tenant's search_path changed since the
        // last time), plus the scope statement's own plans
        expect(shared.plans()).toBeGreaterThanOrEqual(2 * rounds)
        // lanes: the count planned once per tenant and lane (4), the scope statement a few times per text
        expect(laned.plans()).toBeLessThan(rounds)
      } finally {
        await Promise.all([shared.end(), laned.end()])
      }
    },
  )

  it("prepare each tenant's statements under a text of its own", async () => {
    for (let i = 0; i < 3; i++) await alternate(db.sql, 1)
    const mine = await withTenant(
      db.sql,
      scope(a),
      (tx) => tx<{ statement: string }[]>`select statement from pg_prepared_statements`,
    )
    const texts = mine.map((r) => r.statement)
    expect(texts.some((s) => s.startsWith(`/*${a.schema}*/ select count(*) from services`))).toBe(true)
    // every tenant statement on the lane carries its tenant (BEGIN, COMMIT and postgres.js's reading of the types
    // are the pool's own)
    const tenantStatements = texts.filter((s) => /services|set_config|pg_prepared_statements/.test(s))
    expect(tenantStatements.length).toBeGreaterThanOrEqual(3)
    for (const s of tenantStatements) expect(s).toMatch(/^\/\*t_[a-z0-9_]+\*\/ /)
  })

  it("keep a tenant out of another tenant's tables: the role, not the comment, decides", async () => {
    await expect(
      withTenant(db.sql, scope(a), (tx) => tx`select count(*) from ${tx(b.schema)}.services`),
    ).rejects.toMatchObject({ code: '42501' })
    // unsafe text and savepoints are tagged and scoped the same way
    await expect(
      withTenant(db.sql, scope(a), (tx) => tx.unsafe(`select count(*) from ${b.schema}.services`)),
    ).rejects.toMatchObject({ code: '42501' })
    const [row] = await withTenant(db.sql, scope(a), (tx) =>
      tx.savepoint(
        (sp) =>
          sp`select current_user as who, current_setting('search_path') as path, current_setting('plan_cache_mode') as plans`,
      ),
    )
    // a lane plans each statement once (decision 0091); Citus plans distributed statements with their parameters
    expect(row).toEqual({ who: a.role, path: a.schema, plans: testTarget().citus ? 'auto' : 'force_generic_plan' })
  })

  it('leave postgres.js helpers working after the comment', async () => {
    const rows = await withTenant(db.sql, scope(a), async (tx) => {
      await tx`create temporary table lanes_probe (code text, n int) on commit drop`
      await tx`insert into lanes_probe ${tx([
        { code: 'a', n: 1 },
        { code: 'b', n: 2 },
      ])}`
      return tx<{ code: string; n: number }[]>`select * from lanes_probe where code in ${tx(['a', 'b'])} order by code`
    })
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { code: 'a', n: 1 },
      { code: 'b', n: 2 },
    ])
  })

  const addService = (tx: Tx, code: string) =>
    tx`insert into services (code, kind, name, causale) values (${code}, 'altro', ${code}, ${code})`
  const servicesNamed = async (...codes: string[]) =>
    (
      await withTenant(
        db.sql,
        scope(a),
        (tx) => tx<{ code: string }[]>`select code from services where code in ${tx(codes)}`,
      )
    )
      .map((r) => r.code)
      .sort()

  it('commit what a transaction wrote, and roll back all of it when it throws', async () => {
    await withTenant(db.sql, scope(a), (tx) => addService(tx, 'lane-kept'))
    await expect(
      withTenant(db.sql, scope(a), async (tx) => {
        await addService(tx, 'lane-undone')
        throw new Error('changed my mind')
      }),
    ).rejects.toThrow('changed my mind')
    expect(await servicesNamed('lane-kept', 'lane-undone')).toEqual(['lane-kept'])
  })

  it('refuse to report success when a statement failed and the transaction was rolled back', async () => {
    await expect(
      withTenant(db.sql, scope(a), async (tx) => {
        await addService(tx, 'lane-swallowed')
        await tx`select * from no_such_table`.catch(() => null)
        return 'looks fine'
      }),
    ).rejects.toMatchObject({ code: '25P02' })
    expect(await servicesNamed('lane-swallowed')).toEqual([])
  })

  it('undo a savepoint and keep the rest of the transaction', async () => {
    await withTenant(db.sql, scope(a), async (tx) => {
      await addService(tx, 'lane-outer')
      await tx
        .savepoint(async (sp) => {
          await addService(sp, 'lane-inner')
          throw new Error('inner fails')
        })
        .catch(() => null)
    })
    expect(await servicesNamed('lane-outer', 'lane-inner')).toEqual(['lane-outer'])
  })

  // on Citus the coordinator's backend is not the one to cut (pg_backend_pid is the coordinator's; the same code runs)
  it.skipIf(testTarget().citus)(
    'write nothing when the connection is cut mid-transaction, even if the code goes on',
    async () => {
      const outcome = withTenant(db.sql, scope(a), async (tx) => {
        await addService(tx, 'lane-before-cut')
        const [me] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`
        await db.admin`select pg_terminate_backend(${me?.pid as number})`
        // the next statements find a fresh connection, outside any transaction, read-only: they write nothing
        const after = await addService(tx, 'lane-after-cut').catch((e: { code?: string }) => e.code)
        return after
      })
      await expect(outcome).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' })
      expect(await servicesNamed('lane-before-cut', 'lane-after-cut')).toEqual([])
      // and the lane serves the next transaction
      expect(await servicesNamed('lane-kept')).toEqual(['lane-kept'])
    },
  )

  it('never interleave two transactions on one connection', async () => {
    const seen = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        withTenant(db.sql, scope(i % 2 ? a : b), async (tx) => {
          await tx`select set_config('sportello.probe', ${String(i)}, true)`
          await tx`select pg_sleep(0.01)`
          const [r] = await tx<{ v: string }[]>`select current_setting('sportello.probe') as v`
          return r?.v
        }),
      ),
    )
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => String(i)))
  })

  it('hand the lane to the next transaction with COMMIT on its way, whether it then succeeds or fails', async () => {
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        withTenant(db.sql, scope(a), async (tx) => {
          await addService(tx, `lane-handover-${i}`)
          if (i % 3 === 0) {
            // refused only at COMMIT: a deferred unique constraint
            await tx`create temporary table lane_deferred (x int unique deferrable initially deferred) on commit drop`
            await tx`insert into lane_deferred values (1), (1)`
          }
          return i
        }),
      ),
    )
    outcomes.forEach((o, i) => {
      if (i % 3 === 0) expect(o).toMatchObject({ status: 'rejected', reason: { code: '23505' } })
      else expect(o).toEqual({ status: 'fulfilled', value: i })
    })
    const kept = await servicesNamed(...Array.from({ length: 40 }, (_, i) => `lane-handover-${i}`))
    expect(kept).toEqual(
      Array.from({ length: 40 }, (_, i) => i)
        .filter((i) => i % 3 !== 0)
        .map((i) => `lane-handover-${i}`)
        .sort(),
    )
  })

  it('recycle a lane whose time is up between transactions, never under one', async () => {
    const pools: Sql[] = []
    const main = postgres(testTarget().url, { max: 1 })
    // a lifetime of zero: every transaction finds its lane's time up
    const lanes = attachLanes(
      main,
      2,
      (closed) => {
        const pool = postgres(testTarget().url, { max: 1, onclose: closed, max_lifetime: null })
        pools.push(pool)
        return pool
      },
      () => 0,
    )
    try {
      const pids = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          withTenant(main, scope(i % 2 ? a : b), async (tx) => {
            const [r] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`
            await tx`select pg_sleep(0.01)`
            return r?.pid
          }),
        ),
      )
      // every transaction ran whole on a connection of its own, and none was cut
      expect(new Set(pids).size).toBe(12)
      expect(lanes.generations).toEqual([0, 0])
    } finally {
      await Promise.all([main, ...pools].map((p) => p.end({ timeout: 1 })))
    }
  })

  it('keep the place a failed statement was written in its error', async () => {
    const err = await withTenant(db.sql, scope(a), (tx) => tx`select * from no_such_table`).catch((e: Error) => e)
    expect(err).toBeInstanceOf(Error)
    expect((err as Error).stack).toContain('lanes.test.ts')
    expect((err as { query?: string }).query).toBe(`/*${a.schema}*/ select * from no_such_table`)
  })

  it('spread one busy tenant over the other lanes rather than queue it behind itself', async () => {
    const lanes = lanesOf(db.sql)
    expect(lanes?.pools.length).toBe(10)
    const pids = await Promise.all(
      Array.from({ length: 30 }, () =>
        withTenant(db.sql, scope(a), async (tx) => {
          const [r] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid, pg_sleep(0.05)`
          return r?.pid
        }),
      ),
    )
    expect(new Set(pids).size).toBeGreaterThan(2)
    expect(lanes?.load.every((n) => n === 0)).toBe(true)
  })
})
