// On a Citus cluster only (npm run test:citus; skipped elsewhere): what Citus itself says of Sportello's
// schemas — every tenant schema a distributed schema, its tables co-located in the schema's group, the platform
// schema on the coordinator — tenant roles kept out of each other's shards on every node, and a tenant moved to
// the other worker with citus_schema_move while requests for it and for another tenant run: every answer a 200
// (or the calm 503), and afterwards every page and a whole card payment as before. docs/scaling.md.
import postgres from 'postgres'
import { beforeAll, describe, expect, it } from 'vitest'
import { withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import type { TestAccount } from '../helpers/accounts.ts'
import type { Client } from '../helpers/client.ts'
import { testTarget } from '../helpers/db.ts'
import { deliverNotifications, givePayer, issue, payAtSandbox } from '../helpers/payments.ts'
import { world } from '../helpers/world.ts'

const target = testTarget()
const w = world({ serve: true })
let citus = false
let a: Tenant
let b: Tenant
let me: TestAccount
let client: Client

beforeAll(async () => {
  citus = target.citus
  if (!citus) return
  a = w.tenant
  b = await w.newTenant()
  me = await w.account()
  client = await w.client(me)
})

/** A connection as the superuser to one node of the cluster, on the test database. */
function node(host: string, port: number) {
  const u = new URL(target.url)
  u.hostname = host
  u.port = String(port)
  return postgres(u.toString(), { max: 1, onnotice: () => {} })
}

async function placement(schema: string): Promise<{ host: string; port: number }> {
  const [p] = await w.db.admin<{ host: string; port: number }[]>`
    select s.nodename as host, s.nodeport as port from citus_shards s
    where s.table_name::text like ${`${schema}.%`} limit 1`
  if (!p) throw new Error(`no placement for ${schema}`)
  return p
}

describe('on a Citus cluster', () => {
  it('distributes every tenant schema, co-locates its tables, and keeps the platform schema on the coordinator', async (ctx) => {
    if (!citus) ctx.skip()
    const schemas = await w.db.admin<{ schema_name: string; colocation_id: number }[]>`
      select schema_name::text, colocation_id from citus_schemas`
    const names = schemas.map((s) => s.schema_name)
    expect(names).toEqual(expect.arrayContaining([a.schema, b.schema]))
    expect(names).not.toContain('platform')
    for (const t of [a, b]) {
      const own = schemas.find((s) => s.schema_name === t.schema)?.colocation_id
      const tables = await w.db.admin<{ table_name: string }[]>`
        select table_name::text from information_schema.tables where table_schema = ${t.schema} and table_type = 'BASE TABLE'`
      const distributed = await w.db.admin<{ table_name: string; citus_table_type: string; colocation_id: number }[]>`
        select table_name::text, citus_table_type, colocation_id from citus_tables
        where table_name::text like ${`${t.schema}.%`}`
      expect(tables.length).toBeGreaterThan(20)
      expect(distributed).toHaveLength(tables.length)
      expect(distributed.every((d) => d.citus_table_type === 'schema' && d.colocation_id === own)).toBe(true)
    }
    const [platform] = await w.db.admin<{ n: number }[]>`
      select count(*)::int as n from citus_tables where table_name::text like 'platform.%'`
    expect(platform?.n).toBe(0)
  })

  it("keeps a tenant role out of another tenant's tables, on the coordinator and on every worker", async (ctx) => {
    if (!citus) ctx.skip()
    await expect(
      withTenant(w.db.sql, a, (tx) => tx.unsafe(`select count(*) from ${b.schema}.payers`)),
    ).rejects.toMatchObject({ code: '42501' })
    // on every worker: the shard where it lives, the table's shell where it does not
    const where = await placement(b.schema)
    const [shard] = await w.db.admin<{ shard_name: string }[]>`
      select shard_name::text from citus_shards where table_name::text = ${`${b.schema}.payers`}`
    const workers = await w.db.admin<{ host: string; port: number }[]>`
      select nodename as host, nodeport as port from pg_dist_node where groupid <> 0 and noderole = 'primary'`
    expect(workers.length).toBeGreaterThanOrEqual(2)
    for (const wk of workers) {
      const holds = wk.host === where.host && wk.port === where.port
      const table = holds ? `${b.schema}.${String(shard?.shard_name).split('.').pop()}` : `${b.schema}.payers`
      const sql = node(wk.host, wk.port)
      try {
        await expect(
          sql.begin(async (tx) => {
            await tx.unsafe(`set local role ${a.role}`)
            return tx.unsafe(`select count(*) from ${table}`)
          }),
          `${wk.host}:${wk.port} ${table}`,
        ).rejects.toMatchObject({ code: '42501' })
      } finally {
        await sql.end()
      }
    }
  })

  it('moves a tenant to the other worker while requests run, and finds every page and a whole payment intact', async (ctx) => {
    if (!citus) ctx.skip()
    const payer = await givePayer(w.db, a, me.codiceFiscale)
    const doc = await issue(w.db, a, payer, [2500, 2500])
    const other = await givePayer(w.db, b, me.codiceFiscale)
    const docB = await issue(w.db, b, other, [1200])
    const pages = [
      `/t/${a.slug}/posizione-debitoria`,
      `/t/${a.slug}/documenti/${doc.documentId}`,
      `/t/${b.slug}/documenti/${docB.documentId}`,
      '/posizione-debitoria',
    ]
    for (const p of pages) expect((await client.get(p)).status, p).toBe(200)

    const from = await placement(a.schema)
    const [to] = await w.db.admin<{ host: string; port: number }[]>`
      select nodename as host, nodeport as port from pg_dist_node
      where groupid <> 0 and noderole = 'primary' and not (nodename = ${from.host} and nodeport = ${from.port})
      order by nodeport limit 1`
    if (!to) throw new Error('a single worker: nowhere to move to')
    let moving = true
    const answers: { page: string; status: number }[] = []
    const load = (async () => {
      while (moving) {
        for (const p of pages) answers.push({ page: p, status: (await client.get(p)).status })
      }
    })()
    await w.db
      .admin`select citus_schema_move(${a.schema}::regnamespace, ${to.host}, ${to.port}, shard_transfer_mode => 'block_writes')`
    moving = false
    await load
    expect(await placement(a.schema)).toEqual(to)
    expect(answers.length).toBeGreaterThan(pages.length)
    expect(answers.filter((x) => x.status !== 200 && x.status !== 503)).toEqual([])

    // afterwards: every page, and the whole checkout with its notification, on the moved tenant
    for (const p of pages) expect((await client.get(p)).status, p).toBe(200)
    const first = doc.installments[0]?.id as number
    expect((await client.post('/carrello/aggiungi', { ente: a.slug, rate: [String(first)] })).status).toBe(303)
    const summary = await (await client.get('/carrello/riepilogo')).text()
    const key = /name="chiave" value="([^"]+)"/.exec(summary)?.[1] as string
    const pay = await client.post('/carrello/paga', { chiave: key })
    expect(pay.status).toBe(303)
    const paid = await payAtSandbox(client, pay.headers.get('location') as string)
    expect(paid.status).toBe(303)
    await deliverNotifications(w.db, w.server)
    const rows = await withTenant(
      w.db.sql,
      a,
      (tx) => tx<{ id: number; status: string; settled: number }[]>`
        select i.id, i.status, (select count(*)::int from installment_payments ip where ip.installment_id = i.id) as settled
        from installments i where i.id = any(${doc.installments.map((i) => i.id)}) order by i.id`,
    )
    expect(rows.map((r) => [r.status, r.settled])).toEqual([
      ['pagato', 1],
      ['da_pagare', 0],
    ])
  }, 120_000)
})
