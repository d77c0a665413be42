// The canteen's demo data on a demo tenant, and the enrollment seam the applications feature calls.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedTenantDemo } from '../../src/cli/demo-seed.ts'
import { seedCanteenDemo } from '../../src/features/canteen/demo.ts'
import { enrollInCanteen } from '../../src/features/canteen/service.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { NotFound } from '../../src/platform/errors.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { canteenTenant } from '../helpers/canteen.ts'
import { dropTestTenant, openTestDb } from '../helpers/db.ts'

let db: Db
let t: Tenant

beforeAll(async () => {
  db = await openTestDb()
  t = await canteenTenant(db)
  await seedTenantDemo(db, t, '2026-11-23')
  await seedCanteenDemo(db, t, '2026-11-23')
})

afterAll(async () => {
  await dropTestTenant(db, t)
  await db.close()
})

describe('the canteen demo', () => {
  it('has schools, the school year with holidays, tariffs, enrolled pupils, meals charged and a top-up', async () => {
    const facts = await withTenant(db.sql, t, async (tx) => {
      const [f] = await tx<
        {
          classes: string[]
          years: string[]
          closures: number
          tariffs: string[]
          enrolled: number
          meals: number
          topup: number
          opening: number
        }[]
      >`
        select
          array(select s.name || ' ' || c.name from canteen_classes c join canteen_schools s on s.id = c.school_id order by c.id) as classes,
          array(select label from canteen_school_years order by label) as years,
          (select count(*)::int from canteen_closures) as closures,
          array(select name from canteen_tariffs order by name) as tariffs,
          (select count(*)::int from canteen_enrollments) as enrolled,
          (select coalesce(sum(meals), 0)::int from canteen_ledger where kind = 'pasto') as meals,
          (select coalesce(sum(amount_cents), 0)::int from canteen_ledger where kind = 'ricarica') as topup,
          (select coalesce(sum(amount_cents), 0)::int from canteen_ledger where kind = 'saldo_iniziale') as opening`
      return f
    })
    expect(facts?.classes).toContain('DANTE ALIGHIERI 5 A')
    expect(facts?.years).toEqual(['2026/2027'])
    expect(facts?.closures).toBeGreaterThan(3)
    expect(facts?.tariffs).toEqual(['ISEE FASCIA 1', 'ISEE FASCIA 2', 'NON RESIDENTE', 'RESIDENTE'])
    expect(facts?.enrolled).toBe(3)
    expect(facts?.meals).toBeGreaterThan(10)
    expect(facts?.topup).toBe(11600)
    expect(facts?.opening).toBe(-1160)
  })

  it('enrollInCanteen is idempotent per pupil and school year, and refuses unknown ids', async () => {
    await withTenant(db.sql, t, async (tx) => {
      const [p] = await tx<{ id: number }[]>`
        insert into pupils (given_name, family_name) values ('Nuovo', 'Alunno') returning id`
      const pupilId = (p as { id: number }).id
      const first = await enrollInCanteen(tx, { pupilId, classId: null, tariffId: null, startDate: '2026-09-14' })
      const again = await enrollInCanteen(tx, { pupilId, classId: null, tariffId: null, startDate: '2026-10-01' })
      expect(again).toBe(first)
      // the default tariff (RESIDENTE) applies from the start date
      const [tariff] = await tx<{ name: string; valid_from: string }[]>`
        select t.name, x.valid_from from canteen_enrollment_tariffs x join canteen_tariffs t on t.id = x.tariff_id
        where x.enrollment_id = ${first}`
      expect(tariff).toEqual({ name: 'RESIDENTE', valid_from: '2026-09-14' })
      // another school year is another enrollment
      const next = await enrollInCanteen(tx, { pupilId, classId: null, tariffId: null, startDate: '2027-09-13' })
      expect(next).not.toBe(first)
      await expect(
        enrollInCanteen(tx, { pupilId, classId: 999999, tariffId: null, startDate: '2026-09-14' }),
      ).rejects.toBeInstanceOf(NotFound)
    })
  })
})
