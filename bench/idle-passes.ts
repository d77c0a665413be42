// What the pagoPA and IO passes that run every minute cost over the benchmark's tenants, none of which is connected
// to pagoPA or IO: the central archive, the reporting flows (FdR) and the IO messages each open one transaction per
// active tenant to find out (decision 0100). Prints, per pass, the wall time over all tenants and this process's CPU,
// twice (the first round also prepares each tenant's statements on its connection). Then one tenant, the one with
// the most live documents, is connected to the local pagoPA simulator: its first passes load the archive, and a pass
// that finds every position unchanged (the steady state, every minute) is timed.
//
//   npx tsx bench/generate.ts --scale 0.2   # 200 tenants (or the full 1,000)
//   npm run bench:passes
import { sendIoMessages } from '../src/features/io/service.ts'
import { syncArchive } from '../src/features/pagopa/archive.ts'
import { secretContext } from '../src/features/pagopa/connection.ts'
import { syncFlows } from '../src/features/pagopa/fdr.ts'
import { withTenant } from '../src/platform/db.ts'
import { createLogger } from '../src/platform/log.ts'
import { sealer } from '../src/platform/secrets.ts'
import { type Tenant, TenantRegistry } from '../src/platform/tenancy.ts'
import { startPlatform } from '../test/helpers/pagopa-platform.ts'
import { benchConfig, openBenchDb, startBenchPostgres } from './common.ts'

startBenchPostgres()
const db = await openBenchDb()
const tenants = (await new TenantRegistry(db, 0).list()).filter((t: Tenant) => t.status === 'active')
const opts = { secretsKey: benchConfig().secretsKey, log: createLogger('silent') }
const passes: [string, (t: Tenant) => Promise<unknown>][] = [
  ['pagopa-archive', (t) => syncArchive(db, t, opts)],
  ['FdR (reconciliation)', (t) => syncFlows(db, t, opts)],
  ['io-messages', (t) => sendIoMessages(db, t, opts)],
]
console.log(`${tenants.length} active tenants`)
for (const [name, pass] of passes) {
  for (let round = 1; round <= 2; round++) {
    const cpu0 = process.cpuUsage()
    const start = performance.now()
    for (const t of tenants) await pass(t)
    const ms = performance.now() - start
    const cpu = process.cpuUsage(cpu0)
    console.log(
      `${name}, round ${round}: ${ms.toFixed(0)} ms (${(ms / tenants.length).toFixed(2)} ms a tenant), ` +
        `server CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`,
    )
  }
}

// one body connected: the archive's first load, then the steady state
const counts = await Promise.all(
  tenants.map((t) =>
    withTenant(
      db.sql,
      t,
      (tx) => tx<{ n: number }[]>`select count(*)::int as n from documents d where d.cancelled_at is null
      and exists (select 1 from installments i where i.document_id = d.id and i.status = 'da_pagare')`,
    ).then((r) => [t, r[0]?.n ?? 0] as const),
  ),
)
const [busiest, live] = counts.sort((a, b) => b[1] - a[1])[0] as readonly [Tenant, number]
const platform = await startPlatform()
const key = 'chiave-aca-del-benchmark-0001'
platform.sim.state.keys.aca = [key]
const sealed = sealer(opts.secretsKey).seal(key, secretContext(busiest, 'collaudo', 'aca_key'))
// the connection alone (the test helper's connect also changes the days payable, which the bench's data keeps)
await withTenant(db.sql, busiest, async (tx) => {
  await tx`insert into pagopa_connections (environment, aca_url, aca_key, aca_key_last4)
    values ('collaudo', ${platform.urls.aca}, ${sealed}, '0001')
    on conflict (environment) do update set aca_url = excluded.aca_url, aca_key = excluded.aca_key`
  await tx`insert into pagopa_settings (id, environment) values (1, 'collaudo') on conflict (id) do update set environment = 'collaudo'`
})
const body = { ...busiest, settings: { ...busiest.settings, iban: 'IT60X0542811101000000123456' } }
let start = performance.now()
let loaded = 0
for (;;) {
  const c = await syncArchive(db, body, opts)
  loaded += c.created
  if (c.created === 0) break
}
console.log(
  `pagopa-archive, ${busiest.slug} connected (${live} live documents): first load of ${loaded} positions ` +
    `${((performance.now() - start) / 1000).toFixed(1)} s`,
)
for (let round = 1; round <= 3; round++) {
  const cpu0 = process.cpuUsage()
  start = performance.now()
  const c = await syncArchive(db, body, opts)
  const cpu = process.cpuUsage(cpu0)
  console.log(
    `pagopa-archive, ${busiest.slug}, steady pass ${round}: ${c.unchanged} unchanged, ${c.updated} updated in ` +
      `${(performance.now() - start).toFixed(0)} ms, server CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`,
  )
}
// the bench's data stays as generated
await withTenant(db.sql, busiest, async (tx) => {
  await tx`delete from aca_positions`
  await tx`delete from pagopa_connections`
})
await platform.close()
await db.close()
