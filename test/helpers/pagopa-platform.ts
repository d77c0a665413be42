// pagoPA's REST services and IO's, simulated and served on a loopback port (src/features/pagopa/platform-sim), and
// a body's connection pointed at them.
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { secretContext } from '../../src/features/pagopa/connection.ts'
import { BASE_PATHS, type PlatformSimulator, platformSimulator } from '../../src/features/pagopa/platform-sim/server.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { sealer } from '../../src/platform/secrets.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'

export interface ServedPlatform {
  sim: PlatformSimulator
  url: string
  urls: { aca: string; fdr: string; io: string }
  close(): Promise<void>
}

export async function startPlatform(): Promise<ServedPlatform> {
  const sim = platformSimulator()
  const server = serve({ fetch: sim.app.fetch, hostname: '127.0.0.1', port: 0 })
  await new Promise<void>((r) => server.once('listening', () => r()))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    sim,
    url,
    urls: { aca: url + BASE_PATHS.aca, fdr: url + BASE_PATHS.fdr, io: url + BASE_PATHS.io },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

/** Stores the body's connection (environment collaudo, in use) with sealed keys, as the office page does. */
export async function connect(
  db: Db,
  tenant: Tenant,
  secretsKey: string,
  p: ServedPlatform,
  keys: { aca?: string; fdr?: string } = { aca: 'chiave-aca-di-prova-0001', fdr: 'chiave-fdr-di-prova-0001' },
) {
  const s = sealer(secretsKey)
  const seal = (v: string | undefined, field: string) =>
    v ? s.seal(v, secretContext(tenant, 'collaudo', field)) : null
  if (keys.aca) p.sim.state.keys.aca = [keys.aca]
  if (keys.fdr) p.sim.state.keys.fdr = [keys.fdr]
  await withTenant(db.sql, tenant, async (tx) => {
    await tx`insert into pagopa_connections (environment, aca_url, aca_key, aca_key_last4, fdr_url, fdr_key, fdr_key_last4, io_url)
      values ('collaudo', ${p.urls.aca}, ${seal(keys.aca, 'aca_key')}, ${keys.aca?.slice(-4) ?? null},
              ${p.urls.fdr}, ${seal(keys.fdr, 'fdr_key')}, ${keys.fdr?.slice(-4) ?? null}, ${p.urls.io})
      on conflict (environment) do update set aca_url = excluded.aca_url, aca_key = excluded.aca_key,
        fdr_url = excluded.fdr_url, fdr_key = excluded.fdr_key, io_url = excluded.io_url`
    await tx`insert into pagopa_settings (id, payable_days_after_due, environment) values (1, 365, 'collaudo')
             on conflict (id) do update set environment = 'collaudo'`
  })
}
