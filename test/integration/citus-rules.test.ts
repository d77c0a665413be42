// The schema keeps the door to Citus schema-based sharding open: this reads the catalog and fails when a
// rule is broken — a foreign key from a tenant schema to anything but its own schema or a platform table,
// anything outside a tenant schema referencing into it, integer keys narrower than bigint on tenant tables,
// views that cross schemas.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createTestTenant, dropTestTenant, openTestDb } from '../helpers/db.ts'

let db: Db
let tenants: Tenant[]

beforeAll(async () => {
  db = await openTestDb()
  tenants = [await createTestTenant(db), await createTestTenant(db)]
})
afterAll(async () => {
  for (const t of tenants) await dropTestTenant(db, t)
  await db.close()
})

const mine = () => tenants.map((t) => t.schema)

describe('rules of schema-based sharding', () => {
  it('foreign keys stay inside their tenant schema or point at platform reference tables', async () => {
    const rows = await db.admin<{ from_schema: string; from_table: string; to_schema: string; to_table: string }[]>`
      select n1.nspname as from_schema, c1.relname as from_table, n2.nspname as to_schema, c2.relname as to_table
      from pg_constraint k
        join pg_class c1 on c1.oid = k.conrelid join pg_namespace n1 on n1.oid = c1.relnamespace
        join pg_class c2 on c2.oid = k.confrelid join pg_namespace n2 on n2.oid = c2.relnamespace
      where k.contype = 'f' and (n1.nspname = any(${mine()}) or n1.nspname = 'platform')`
    const bad = rows.filter((r) =>
      r.from_schema === 'platform'
        ? r.to_schema !== 'platform'
        : r.to_schema !== r.from_schema && r.to_schema !== 'platform',
    )
    expect(bad).toEqual([])
    expect(rows.length).toBeGreaterThan(0)
  })

  it('identifier keys of tenant tables are bigint (or text), never narrower integers', async () => {
    const rows = await db.admin<{ schema: string; tbl: string; col: string; type: string }[]>`
      select n.nspname as schema, c.relname as tbl, a.attname as col, format_type(a.atttypid, a.atttypmod) as type
      from pg_constraint k
        join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
        join pg_attribute a on a.attrelid = c.oid and a.attnum = any(k.conkey)
      where k.contype in ('p', 'f') and n.nspname = any(${mine()})`
    // identifiers (id, *_id) must be bigint; small values that are part of a composite key (a day offset,
    // a sequence number) are not identifiers
    const narrow = rows.filter(
      (r) => (r.type === 'integer' || r.type === 'smallint') && (r.col === 'id' || r.col.endsWith('_id')),
    )
    expect(narrow).toEqual([])
  })

  it('no view reads across schemas', async () => {
    const rows = await db.admin<{ view_schema: string; view: string; table_schema: string }[]>`
      select distinct vn.nspname as view_schema, vc.relname as view, tn.nspname as table_schema
      from pg_depend d
        join pg_rewrite r on r.oid = d.objid
        join pg_class vc on vc.oid = r.ev_class join pg_namespace vn on vn.oid = vc.relnamespace
        join pg_class tc on tc.oid = d.refobjid join pg_namespace tn on tn.oid = tc.relnamespace
      where d.classid = 'pg_rewrite'::regclass and vc.oid <> tc.oid
        and (vn.nspname = any(${mine()}) or vn.nspname = 'platform')
        and tn.nspname not in ('pg_catalog', 'information_schema')`
    expect(rows.filter((r) => r.view_schema !== r.table_schema)).toEqual([])
  })

  it('sequences and ids are local to each tenant schema', async () => {
    const rows = await db.admin<{ schema: string; n: number }[]>`
      select n.nspname as schema, count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'S' and n.nspname = any(${mine()}) group by n.nspname`
    expect(rows).toHaveLength(2)
    // defaults of tenant tables use their own schema's sequences only
    const defaults = await db.admin<{ schema: string; def: string }[]>`
      select n.nspname as schema, pg_get_expr(d.adbin, d.adrelid) as def
      from pg_attrdef d join pg_class c on c.oid = d.adrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any(${mine()}) and pg_get_expr(d.adbin, d.adrelid) like 'nextval(%'`
    for (const d of defaults) expect(d.def.includes('t_') ? d.def.includes(d.schema) : true).toBe(true)
  })
})
