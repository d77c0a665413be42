// Reporting flows read over pagoPA's FdR REST interface (decision 0101), against the simulator that checks every
// call against the published interface: imported as a file would be (notices settled by reconciliation), the same
// revision never twice, a later revision replacing an earlier one and an earlier one skipped, payments read page
// by page, a flow that does not add up refused whole, pagoPA unreachable kept for the next run, and the
// reconciliation job reading them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { syncFlows } from '../../src/features/pagopa/fdr.ts'
import { JOBS } from '../../src/jobs/registry.ts'
import { todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { createLogger } from '../../src/platform/log.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { settings } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { connect, type ServedPlatform, startPlatform } from '../helpers/pagopa-platform.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { world } from '../helpers/world.ts'

const w = world({
  tenant: { settings: settings({ iban: 'IT60X0542811101000000123456' }) },
  roles: { admin: { givenName: 'Flavia', familyName: 'Flussi' } },
})
let db: Db
let x: Tenant
let platform: ServedPlatform
let secretsKey: string
let notices: { iuv: string; id: number; amount: number }[] = []
const log = createLogger('silent')
const PSP = '88888888888'

beforeAll(async () => {
  ;({ db, tenant: x } = w)
  secretsKey = w.deps.config.secretsKey
  platform = await startPlatform()
  await connect(db, x, secretsKey, platform)
  const payer = await givePayer(db, x, (await w.account()).codiceFiscale, ['Nora', 'Flussi'])
  notices = []
  for (const amount of [1000, 2000, 3000, 4000]) {
    const d = await issue(db, x, payer, [amount])
    const i = d.installments[0] as { iuv: string; id: number }
    notices.push({ iuv: i.iuv, id: i.id, amount })
  }
})
afterAll(async () => {
  await platform?.close()
})

let published = Date.now()
/** A flow revision as a PSP publishes it on FdR. */
function publish(
  fdr: string,
  revision: number,
  payments: { iuv: string; iur: string; euro: number; status?: string }[],
  declared?: { count: number; euro: number },
) {
  published += 1000
  const at = new Date(published).toISOString()
  const sum = payments.reduce((s, p) => s + Math.round(p.euro * 100), 0) / 100
  platform.sim.publishFlow({
    organizationId: x.fiscalCode,
    fdr,
    pspId: PSP,
    revision,
    published: at,
    flow: {
      fdr,
      fdrDate: at,
      revision,
      status: 'PUBLISHED',
      created: at,
      updated: at,
      regulation: `SEPA - Bonifico ${fdr}`,
      regulationDate: todayRome(),
      bicCodePouringBank: 'UNCRITMMXXX',
      sender: {
        type: 'LEGAL_PERSON',
        id: 'SELBIT2B',
        pspId: PSP,
        pspName: 'Banca di prova',
        pspBrokerId: PSP,
        channelId: `${PSP}_01`,
      },
      receiver: { id: 'APPBIT2B', organizationId: x.fiscalCode, organizationName: x.name },
      totPayments: declared?.count ?? payments.length,
      sumPayments: declared?.euro ?? sum,
    },
    payments: payments.map((p, n) => ({
      index: n + 1,
      iuv: p.iuv,
      iur: p.iur,
      idTransfer: 1,
      pay: p.euro,
      payStatus: p.status ?? 'EXECUTED',
      payDate: at,
    })),
  })
}

const sync = (pageSize?: number) => syncFlows(db, x, { secretsKey, log, pageSize })
async function state(installmentId: number) {
  const [r] = await withTenant(
    db.sql,
    x,
    (tx) => tx<{ status: string; source: string | null; receipt: string | null }[]>`
      select i.status, ip.source, ip.receipt_number as receipt
      from installments i left join installment_payments ip on ip.installment_id = i.id where i.id = ${installmentId}`,
  )
  return r
}
const imports = () =>
  withTenant(
    db.sql,
    x,
    (tx) => tx<{ flow_id: string; revision: number | null; status: string; source: string; matched: number }[]>`
      select flow_id, revision, status, source, matched from reconciliation_imports order by id`,
  )
const reads = () =>
  platform.sim.state.calls.filter((c) => c.operationId === 'IOrganizationsController_getSinglePublishedFlow').length

describe('reporting flows over REST', () => {
  it('imports a published flow as a file would be, and never twice', async () => {
    const [a, b] = notices as [(typeof notices)[0], (typeof notices)[0]]
    publish('2026-12-01PSP-0001', 1, [
      { iuv: a.iuv, iur: 'IUR-A-1', euro: 10 },
      { iuv: b.iuv, iur: 'IUR-B-1', euro: 20 },
    ])
    const first = await sync()
    expect(first).toMatchObject({ flows: 1, imported: 1 })
    expect(await state(a.id)).toEqual({ status: 'pagato', source: 'riconciliazione', receipt: 'IUR-A-1' })
    expect(await state(b.id)).toMatchObject({ status: 'pagato', receipt: 'IUR-B-1' })
    expect(await imports()).toEqual([
      { flow_id: '2026-12-01PSP-0001', revision: 1, status: 'current', source: 'api', matched: 2 },
    ])
    const before = reads()
    expect(await sync()).toMatchObject({ imported: 0 })
    expect(reads()).toBe(before)
    expect(platform.sim.problems()).toEqual([])
  })

  it('takes a later revision over the earlier one, and skips the earlier one when listed again', async () => {
    const [a, b, c] = notices as [(typeof notices)[0], (typeof notices)[0], (typeof notices)[0]]
    publish('2026-12-01PSP-0001', 2, [
      { iuv: a.iuv, iur: 'IUR-A-1', euro: 10 },
      { iuv: c.iuv, iur: 'IUR-C-1', euro: 30 },
    ])
    const counts = await sync()
    expect(counts.imported).toBe(1)
    expect(await state(c.id)).toMatchObject({ status: 'pagato', receipt: 'IUR-C-1' })
    // b's payment is no longer reported: the line is kept as withdrawn for the office, the payment stays
    expect(await state(b.id)).toMatchObject({ status: 'pagato' })
    const all = await imports()
    expect(all.map((i) => [i.revision, i.status])).toEqual([
      [1, 'superseded'],
      [2, 'current'],
    ])
    const [withdrawn] = await withTenant(
      db.sql,
      x,
      (tx) => tx<
        { n: number }[]
      >`select count(*)::int as n from reconciliation_lines l join reconciliation_imports r on r.id = l.import_id
        where r.status = 'current' and r.flow_id = '2026-12-01PSP-0001' and l.result = 'withdrawn'`,
    )
    expect(withdrawn?.n).toBe(1)
    // the cursor is past both; from the start, revision 1 is listed again and skipped as older
    await withTenant(db.sql, x, (tx) => tx`update fdr_cursor set published_after = null`)
    const again = await sync()
    expect(again).toMatchObject({ imported: 0, older: 1, unchanged: 1 })
    expect(platform.sim.problems()).toEqual([])
  })

  it('reads payments page by page; a revoked payment is a line of its own', async () => {
    const d = notices[3] as (typeof notices)[0]
    publish('2026-12-02PSP-0002', 1, [
      { iuv: d.iuv, iur: 'IUR-D-1', euro: 40 },
      { iuv: '01234567890123456', iur: 'IUR-X-1', euro: 5 },
      { iuv: '01234567890123457', iur: 'IUR-Y-1', euro: 6, status: 'REVOKED' },
    ])
    const counts = await sync(1)
    expect(counts.imported).toBe(1)
    expect(await state(d.id)).toMatchObject({ status: 'pagato', receipt: 'IUR-D-1' })
    const pages = platform.sim.state.calls.filter(
      (c) => c.operationId === 'IOrganizationsController_getPaymentsFromPublishedFlow' && c.path.includes('PSP-0002'),
    )
    expect(pages).toHaveLength(3)
    const results = await withTenant(
      db.sql,
      x,
      (tx) => tx<
        { result: string }[]
      >`select l.result from reconciliation_lines l join reconciliation_imports r on r.id = l.import_id
        where r.flow_id = '2026-12-02PSP-0002' order by l.line_no`,
    )
    expect(results.map((r) => r.result)).toEqual(['matched', 'unknown_iuv', 'revoked'])
  })

  it('refuses a flow that does not add up, whole, and says why', async () => {
    publish('2026-12-03PSP-0003', 1, [{ iuv: '01234567890123458', iur: 'IUR-Z-1', euro: 7 }], { count: 2, euro: 14 })
    const counts = await sync()
    expect(counts).toMatchObject({ refused: 1, imported: 0 })
    expect((await imports()).some((i) => i.flow_id === '2026-12-03PSP-0003')).toBe(false)
    const [cur] = await withTenant(db.sql, x, (tx) => tx<{ last_error: string }[]>`select last_error from fdr_cursor`)
    expect(cur?.last_error).toContain('2026-12-03PSP-0003')
    // the office reads it on the reconciliation page
    const office = await w.client('admin')
    const page = await (await office.get(`/t/${x.slug}/ufficio/riconciliazione`)).text()
    expect(page).toContain('Lettura dei flussi da pagoPA: ultimo problema')
    expect(page).toContain('2026-12-03PSP-0003')
    await expectValidHtml(page)
  })

  it('keeps its place while pagoPA is unreachable, and the reconciliation job reads the flows afterwards', async () => {
    publish('2026-12-04PSP-0004', 1, [{ iuv: '01234567890123459', iur: 'IUR-W-1', euro: 8 }])
    platform.sim.state.down.add('fdr')
    const job = JOBS.find((j) => j.name === 'reconciliation')
    if (!job) throw new Error('no reconciliation job')
    const ctx = {
      db,
      config: w.deps.config,
      log,
      provider: w.deps.provider,
      tenants: w.deps.tenants,
      now: new Date(),
      kickMail: () => {},
      onlyTenants: [x.slug],
      flowsDir: '/nonexistent-flows-dir',
    }
    try {
      await expect(job.run(ctx)).rejects.toThrow(/1 tenant\(s\) failed/)
      const [cur] = await withTenant(db.sql, x, (tx) => tx<{ last_error: string }[]>`select last_error from fdr_cursor`)
      expect(cur?.last_error).toContain('503')
    } finally {
      platform.sim.state.down.delete('fdr')
    }
    const counts = await job.run(ctx)
    expect(counts).toMatchObject({ fdr_imported: 1 })
    expect((await imports()).some((i) => i.flow_id === '2026-12-04PSP-0004')).toBe(true)
    expect(platform.sim.problems()).toEqual([])
  })
})
