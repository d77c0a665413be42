// Two tenants with overlapping data under thousands of interleaved requests and direct transactions:
// no row of one tenant ever appears in the other's results, and no connection carries a tenant onward.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { createApp } from '../../src/app.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { testApp } from '../helpers/app.ts'
import { createTestTenant, dropTestTenant, openTestDb, testTarget } from '../helpers/db.ts'

const onPglite = testTarget().kind === 'pglite'
const ROUNDS = Number(process.env.ISOLATION_ROUNDS ?? (onPglite ? 400 : 2000))

let db: Db
let a: Tenant
let b: Tenant
let app: ReturnType<typeof createApp>
let defaultSearchPath: string

const services = (marker: string) => [
  {
    code: 'mensa',
    kind: 'mensa' as const,
    name: `Mensa ${marker}`,
    causale: 'Mensa',
    spontaneous: false,
    amountMode: 'importo' as const,
  },
  {
    code: 'trasporto',
    kind: 'trasporto' as const,
    name: `Trasporto ${marker}`,
    causale: 'Trasporto',
    spontaneous: false,
    amountMode: 'importo' as const,
  },
]
const SAME_CF = 'RSSMRA80A01I726K'

beforeAll(async () => {
  db = await openTestDb()
  const [d] = await db.sql<{ sp: string }[]>`select current_setting('search_path') as sp`
  defaultSearchPath = d?.sp ?? ''
  a = await createTestTenant(db, { services: services('ALFA') })
  b = await createTestTenant(db, { services: services('BETA') })
  for (const [t, marker] of [
    [a, 'Alfa'],
    [b, 'Beta'],
  ] as const) {
    await withTenant(
      db.sql,
      t,
      (tx) => tx`
      insert into payers (codice_fiscale, given_name, family_name) values (${SAME_CF}, 'Mario', ${marker})`,
    )
  }
  app = testApp(db).app
})

afterAll(async () => {
  if (a) await dropTestTenant(db, a)
  if (b) await dropTestTenant(db, b)
  await db.close()
})

describe('tenant isolation', () => {
  it(`keeps ${ROUNDS} interleaved requests and transactions apart`, async () => {
    const jobs: (() => Promise<void>)[] = []
    for (let i = 0; i < ROUNDS; i++) {
      const [mine, theirs] = i % 2 === 0 ? [a, b] : [b, a]
      const mark = mine === a ? 'ALFA' : 'BETA'
      const other = mine === a ? 'BETA' : 'ALFA'
      if (i % 4 < 2) {
        jobs.push(async () => {
          const res = await app.request(`/t/${mine.slug}`)
          expect(res.status).toBe(200)
          const html = await res.text()
          expect(html).toContain(`Mensa ${mark}`)
          expect(html).not.toContain(other)
          expect(html).not.toContain(theirs.name)
        })
      } else {
        jobs.push(async () => {
          const rows = await withTenant(db.sql, mine, async (tx) => {
            const p = await tx<
              { family_name: string }[]
            >`select family_name from payers where codice_fiscale = ${SAME_CF}`
            const s = await tx<{ name: string }[]>`select name from services order by code`
            return { p, s }
          })
          expect(rows.p.map((r) => r.family_name)).toEqual([mine === a ? 'Alfa' : 'Beta'])
          expect(rows.s.map((r) => r.name)).toEqual([`Mensa ${mark}`, `Trasporto ${mark}`])
        })
      }
    }
    // 64 at a time, as the benchmark's concurrency
    for (let i = 0; i < jobs.length; i += 64) await Promise.all(jobs.slice(i, i + 64).map((j) => j()))
  })

  it('a failed transaction leaves nothing behind either', async () => {
    await expect(
      withTenant(db.sql, a, async (tx) => {
        await tx`select 1`
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
  })

  it('search_path and role are back to the defaults on every pooled connection', async () => {
    const rows = await Promise.all(
      Array.from(
        { length: 40 },
        () => db.sql<{ role: string; sp: string }[]>`select current_user as role, current_setting('search_path') as sp`,
      ),
    )
    for (const [r] of rows) {
      expect(r?.sp).toBe(defaultSearchPath)
      expect(r?.sp).not.toMatch(/t_/)
      expect(r?.role).toBe(onPglite ? 'postgres' : db.roles.app)
    }
  })

  it('inside one tenant, another tenant schema cannot be read even by its qualified name', async () => {
    await expect(
      withTenant(db.sql, a, (tx) => tx.unsafe(`select family_name from ${b.schema}.payers`)),
    ).rejects.toThrow(/permission denied/)
  })

  it('an unqualified query outside withTenant finds no tenant table', async () => {
    await expect(db.sql`select family_name from payers`).rejects.toThrow(/does not exist/)
  })

  // PGlite is single-user: its one login role is the superuser (see docs/decisions/0002-embedded-database.md)
  it.skipIf(onPglite)('the application role cannot read tenant tables outside withTenant', async () => {
    await expect(db.sql.unsafe(`select family_name from ${a.schema}.payers`)).rejects.toThrow(/permission denied/)
    const [me] = await db.sql<{ super: boolean; bypass: boolean }[]>`
      select rolsuper as super, rolbypassrls as bypass from pg_roles where rolname = current_user`
    expect(me).toEqual({ super: false, bypass: false })
  })
})
