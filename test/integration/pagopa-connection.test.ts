// The body's connection to pagoPA's REST services (decision 0100): who may read and change it, bad input (422,
// nothing saved, secrets never put back into the page), keys sealed in the database and never shown, the client
// certificate checked against its key, "test the connection" against the simulators (working, wrong key,
// unreachable), the environment in use, and production's rule that only pagoPA's hosts are called.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { currentConnection } from '../../src/features/pagopa/connection.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { sealer } from '../../src/platform/secrets.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { signedIn } from '../helpers/accounts.ts'
import { testApp } from '../helpers/app.ts'
import { certificates } from '../helpers/certificates.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { type ServedPlatform, startPlatform } from '../helpers/pagopa-platform.ts'
import { PRODUCTION } from '../helpers/production.ts'
import { roleMatrix } from '../helpers/roles.ts'
import { world } from '../helpers/world.ts'

type Actor = 'anonimo' | 'cittadino' | 'lettore' | 'operatore' | 'admin' | 'adminAltroEnte'
const ACTORS: Actor[] = ['anonimo', 'cittadino', 'lettore', 'operatore', 'admin', 'adminAltroEnte']
const w = world({ roles: ['cittadino', 'lettore', 'operatore', 'admin', 'adminAltroEnte'] })
let db: Db
let x: Tenant
let platform: ServedPlatform
const ACA_KEY = 'aca-chiave-segreta-0001-ABCD'
const FDR_KEY = 'fdr-chiave-segreta-0002-WXYZ'
const o = (p = '') => `/t/${x.slug}/ufficio/pagopa/collegamento${p}`

/** A self-signed certificate and its key, and another certificate's key. */
function pems() {
  const c = certificates().selfSigned('one').selfSigned('two')
  return { cert: c.read('one.pem'), key: c.read('one.key'), otherKey: c.read('two.key') }
}

beforeAll(async () => {
  ;({ db, tenant: x } = w)
  platform = await startPlatform()
  platform.sim.state.keys.aca = [ACA_KEY]
  platform.sim.state.keys.fdr = [FDR_KEY]
})
afterAll(async () => {
  await platform?.close()
})

const rows = () =>
  withTenant(db.sql, x, (tx) => tx<Record<string, unknown>[]>`select * from pagopa_connections order by environment`)

describe('the connection pages', () => {
  it('answer each actor as its role allows', async () => {
    const staff: Actor[] = ['lettore', 'operatore', 'admin']
    const failures = await roleMatrix(w, {
      actors: ACTORS,
      routes: [
        { method: 'GET', path: () => o(), allowed: staff },
        { method: 'GET', path: () => o('/collaudo'), allowed: ['admin'] },
        { method: 'POST', path: () => o('/collaudo'), form: { acaUrl: 'ftp://x' }, allowed: ['admin'] },
        { method: 'POST', path: () => o('/collaudo/prova'), allowed: ['admin'] },
        { method: 'POST', path: () => o('/ambiente'), form: { environment: 'nessuno' }, allowed: ['admin'] },
      ],
      answers: (route) => (route.method === 'GET' ? [200] : [303, 422]),
      toLogin: false,
    })
    expect(failures).toEqual([])
    const admin = await w.client('admin')
    expect((await admin.get(o('/sviluppo'))).status).toBe(404)
    expect(await rows()).toEqual([])
  })

  it('refuse bad input with the fields named, keep what was typed but never a secret, and save nothing', async () => {
    const admin = await w.client('admin')
    const { cert, otherKey } = pems()
    const res = await admin.submit(o('/collaudo'), {
      acaUrl: 'non è un indirizzo',
      acaKey: 'corta',
      fdrUrl: 'ftp://example.it/fdr',
      fdrKey: FDR_KEY,
      ioUrl: '',
      clientCert: cert,
      clientKey: otherKey,
    })
    expect(res.status).toBe(422)
    const html = await res.text()
    for (const f of ['acaUrl', 'acaKey', 'fdrUrl', 'clientKey']) expect(html).toContain(`href="#${f}"`)
    expect(html).toContain('value="non è un indirizzo"')
    expect(html).not.toContain(FDR_KEY)
    expect(html).not.toContain('PRIVATE KEY')
    expect(html).toContain('La chiave privata non è quella del certificato')
    await expectValidHtml(html)
    expect(await rows()).toEqual([])
  })

  it('save the keys sealed, show only their last four characters, and audit without secrets', async () => {
    const admin = await w.client('admin')
    const { cert, key } = pems()
    const res = await admin.submit(o('/collaudo'), {
      acaUrl: platform.urls.aca,
      acaKey: ACA_KEY,
      fdrUrl: platform.urls.fdr,
      fdrKey: FDR_KEY,
      ioUrl: platform.urls.io,
      clientCert: cert,
      clientKey: key,
    })
    expect(res.status).toBe(303)
    const [row] = await rows()
    const stored = JSON.stringify(row)
    expect(stored).not.toContain(ACA_KEY)
    expect(stored).not.toContain(FDR_KEY)
    expect(stored).not.toContain('PRIVATE KEY')
    expect(row).toMatchObject({ aca_key_last4: 'ABCD', fdr_key_last4: 'WXYZ' })
    const conn = await withTenant(db.sql, x, (tx) => currentConnection(tx, x, sealer(w.deps.config.secretsKey)))
    expect(conn?.keys).toEqual({ aca: ACA_KEY, fdr: FDR_KEY })
    expect(conn?.tls?.key).toContain('PRIVATE KEY')
    const page = await (await admin.get(o())).text()
    expect(page).toContain('••••ABCD')
    expect(page).not.toContain(ACA_KEY)
    expect(page).toContain('one.sportello.test')
    await expectValidHtml(page)
    const form = await (await admin.get(o('/collaudo'))).text()
    expect(form).not.toContain(ACA_KEY)
    expect(form).not.toContain('PRIVATE KEY')
    // saved again without keys: the keys stay
    expect(
      (
        await admin.submit(o('/collaudo'), {
          acaUrl: platform.urls.aca,
          fdrUrl: platform.urls.fdr,
          ioUrl: '',
          clientCert: '',
          clientKey: '',
        })
      ).status,
    ).toBe(303)
    const again = await withTenant(db.sql, x, (tx) => currentConnection(tx, x, sealer(w.deps.config.secretsKey)))
    expect(again?.keys).toEqual({ aca: ACA_KEY, fdr: FDR_KEY })
    expect(again?.tls).not.toBeNull()
    const audit = await withTenant(
      db.sql,
      x,
      (tx) =>
        tx<
          { before: unknown; after: unknown }[]
        >`select before, after from audit_log where action = 'pagopa.connection.update'`,
    )
    expect(audit).toHaveLength(2)
    expect(JSON.stringify(audit)).not.toContain(ACA_KEY)
    // the certificate removed
    await admin.submit(o('/collaudo'), {
      acaUrl: platform.urls.aca,
      fdrUrl: platform.urls.fdr,
      ioUrl: '',
      removeCertificate: 'si',
      clientCert: '',
      clientKey: '',
    })
    const [after] = await rows()
    expect(after).toMatchObject({ client_cert: null, client_key: null })
  })

  it('test the connection: both answer; a wrong key and an unreachable service are named', async () => {
    const admin = await w.client('admin')
    let res = await admin.submit(o('/collaudo/prova'), {})
    expect(res.status).toBe(303)
    let [row] = await rows()
    expect(row?.test_result).toMatchObject({ aca: { ok: true, status: 200 }, fdr: { ok: true, status: 200 } })
    expect(platform.sim.problems()).toEqual([])
    platform.sim.state.keys.aca = ['un-altra-chiave-0000']
    platform.sim.state.down.add('fdr')
    try {
      res = await admin.submit(o('/collaudo/prova'), {})
      expect(res.status).toBe(303)
      ;[row] = await rows()
      expect(row?.test_result).toMatchObject({ aca: { ok: false, status: 401 }, fdr: { ok: false, status: 503 } })
      const page = await (await admin.get(o())).text()
      expect(page).toContain('non funziona')
      await expectValidHtml(page)
    } finally {
      platform.sim.state.keys.aca = [ACA_KEY]
      platform.sim.state.down.delete('fdr')
    }
    // production (esercizio) has nothing saved: nothing to test
    res = await admin.submit(o('/esercizio/prova'), {})
    expect(res.status).toBe(422)
  })

  it('switch the environment in use, audited', async () => {
    const admin = await w.client('admin')
    expect((await admin.submit(o('/ambiente'), { environment: 'esercizio' })).status).toBe(303)
    let conn = await withTenant(db.sql, x, (tx) => currentConnection(tx, x, sealer(w.deps.config.secretsKey)))
    expect(conn).toBeNull()
    expect((await admin.submit(o('/ambiente'), { environment: 'collaudo' })).status).toBe(303)
    conn = await withTenant(db.sql, x, (tx) => currentConnection(tx, x, sealer(w.deps.config.secretsKey)))
    expect(conn?.environment).toBe('collaudo')
    const [n] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ n: number }[]>`select count(*)::int as n from audit_log where action = 'pagopa.environment.update'`,
    )
    expect(n?.n).toBe(2)
  })

  it('in production calls only https addresses of pagoPA', async () => {
    const { app, deps } = testApp(db, PRODUCTION)
    expect(deps.config.production).toBe(true)
    const admin = await signedIn(app, w.accounts.admin)
    const res = await admin.submit(o('/esercizio'), {
      acaUrl: 'https://10.0.0.5/aca',
      fdrUrl: 'http://api.platform.pagopa.it/fdr-org/service/v1',
      ioUrl: '',
    })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('href="#acaUrl"')
    expect(html).toContain('href="#fdrUrl"')
    const ok = await admin.submit(o('/esercizio'), {
      acaUrl: 'https://api.platform.pagopa.it/aca/debt-positions-service/v1',
      fdrUrl: '',
      ioUrl: '',
    })
    expect(ok.status).toBe(303)
  })
})
