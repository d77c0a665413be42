// pagoPA's central archive (ACA) kept as Sportello's positions are (decision 0100), against the archive's simulator
// that checks every call against the published GPD-for-ACA interface: created when issued, updated when corrected,
// marked paid when paid here, invalidated when cancelled; pagoPA unreachable, a lost answer, a retried pass; and
// Stand-In: Sportello stopped, the node takes the payment from the archive, Sportello started again, the receipt
// settles the installment exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runArchiveSync, syncArchive } from '../../src/features/pagopa/archive.ts'
import { sendReceipt, standInData } from '../../src/features/pagopa/simulator.ts'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { JobFailure } from '../../src/platform/jobs.ts'
import { createLogger } from '../../src/platform/log.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { startServer } from '../helpers/app.ts'
import { settings } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { connect, type ServedPlatform, startPlatform } from '../helpers/pagopa-platform.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { world } from '../helpers/world.ts'

const KEY = 'chiave-di-prova-del-nodo-archivio-0123'
const IBAN = 'IT60X0542811101000000123456'
beforeAll(() => {
  process.env.PAGOPA_NODE_KEY = KEY
})
afterAll(() => {
  delete process.env.PAGOPA_NODE_KEY
})

const w = world({
  tenant: { settings: settings({ iban: IBAN }) },
  roles: { operatore: { givenName: 'Otto', familyName: 'Archivio' } },
})
let db: Db
let x: Tenant
let platform: ServedPlatform
let payerId: number
let secretsKey: string
const log = createLogger('silent')

beforeAll(async () => {
  ;({ db, tenant: x } = w)
  secretsKey = w.deps.config.secretsKey
  platform = await startPlatform()
  await connect(db, x, secretsKey, platform)
  payerId = await givePayer(db, x, (await w.account()).codiceFiscale, ['Sara', 'Conti'])
})
afterAll(async () => {
  await platform?.close()
})

const sync = (now?: Date) => syncArchive(db, x, { secretsKey, log, now })
const position = (documentId: number) =>
  platform.sim.state.positions.get(`${x.fiscalCode}|${x.fiscalCode}-${documentId}`)
async function row(documentId: number) {
  const [r] = await withTenant(
    db.sql,
    x,
    (tx) => tx<{ state: string; attempts: number; last_error: string | null; paid_navs: string[] }[]>`
      select state, attempts, last_error, paid_navs from aca_positions where document_id = ${documentId}`,
  )
  return r
}
/** Each installment's status and how many payments settled it, in order. */
const settled = (documentId: number) =>
  withTenant(
    db.sql,
    x,
    (tx) => tx<{ status: string; payments: number }[]>`
      select i.status, (select count(*)::int from installment_payments ip where ip.installment_id = i.id) as payments
      from installments i where i.document_id = ${documentId} order by i.seq`,
  )
const base = () => `/t/${x.slug}/ufficio/documenti`
function dateFields(name: string, iso: string) {
  const [y, m, d] = iso.split('-') as [string, string, string]
  return { [`${name}-day`]: d, [`${name}-month`]: m, [`${name}-year`]: y }
}

describe('the central archive', () => {
  it('receives a new position with its installments, the taxonomy and the IBAN; an unchanged one is not sent again', async () => {
    const doc = await issue(db, x, payerId, [3000, 4500])
    const counts = await sync()
    expect(counts.created).toBeGreaterThanOrEqual(1)
    const p = position(doc.documentId)
    expect(p?.status).toBe('VALID')
    // the whole amount at once (its own notice), then each installment as a partial payment
    const [full] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ notice_code: string }[]>`select notice_code from full_notices where document_id = ${doc.documentId}`,
    )
    expect(p?.options.map((o) => [o.nav, o.amount, o.isPartialPayment])).toEqual([
      [full?.notice_code, 7500, false],
      ...doc.installments.map((i, n) => [i.noticeCode, n === 0 ? 3000 : 4500, true]),
    ])
    expect(p?.options[1]?.transfer[0]).toMatchObject({ iban: IBAN, category: '9/0107101TS/', amount: 3000 })
    expect(await row(doc.documentId)).toMatchObject({ state: 'in_archivio', attempts: 0 })
    const calls = platform.sim.state.calls.length
    expect((await sync()).unchanged).toBeGreaterThanOrEqual(1)
    expect(platform.sim.state.calls.length).toBe(calls)
    expect(platform.sim.problems()).toEqual([])
  })

  it('follows a correction, a payment at the desk and a cancellation, in order', async () => {
    const office = await w.client('operatore')
    const doc = await issue(db, x, payerId, [2000, 2000])
    await sync()
    // corrected: description, the second installment's amount and due date
    const [d1, d2] = await withTenant(
      db.sql,
      x,
      (tx) =>
        tx<
          { due_date: string }[]
        >`select due_date from installments where document_id = ${doc.documentId} order by seq`,
    )
    const later = addDays(d2?.due_date as string, 15)
    let res = await office.submit(`${base()}/${doc.documentId}/correggi`, {
      description: 'Mensa scolastica, secondo trimestre',
      open: '1,2',
      ...dateFields('due-1', d1?.due_date as string),
      'amount-1': '20,00',
      ...dateFields('due-2', later),
      'amount-2': '25,50',
      reason: 'Trimestre sbagliato',
    })
    expect(res.status).toBe(303)
    expect((await sync()).updated).toBe(1)
    const corrected = position(doc.documentId)
    expect(corrected?.options[0]).toMatchObject({ amount: 4550, isPartialPayment: false })
    expect(corrected?.options[1]?.description).toContain('secondo trimestre')
    expect(corrected?.options[2]).toMatchObject({ amount: 2550, transfer: [expect.objectContaining({ amount: 2550 })] })
    expect(corrected?.options[2]?.dueDate.slice(0, 10)).toBe(later)
    // the first installment paid at the desk
    res = await office.submit(`${base()}/${doc.documentId}/pagamento`, {
      rata: '1',
      method: 'sportello',
      ...dateFields('paid', todayRome()),
      amount: '20,00',
      reference: 'Quietanza 12',
    })
    expect(res.status).toBe(303)
    await sync()
    // the single payment leaves the archive once an installment is paid
    expect(position(doc.documentId)?.options.map((o) => [o.isPartialPayment, o.status])).toEqual([
      [true, 'PO_PAID'],
      [true, 'PO_UNPAID'],
    ])
    expect(position(doc.documentId)?.status).toBe('PARTIALLY_PAID')
    // cancelled: the unpaid installment leaves the archive, the paid one stays
    res = await office.submit(`${base()}/${doc.documentId}/annulla`, { reason: 'Iscrizione ritirata' })
    expect(res.status).toBe(303)
    await sync()
    expect(position(doc.documentId)?.options.map((o) => o.nav)).toEqual([doc.installments[0]?.noticeCode])
    expect(await row(doc.documentId)).toMatchObject({ state: 'invalidata' })
    // a document cancelled before anything was paid is invalidated
    const other = await issue(db, x, payerId, [1500])
    await sync()
    res = await office.submit(`${base()}/${other.documentId}/annulla`, { reason: 'Emesso per errore' })
    expect(res.status).toBe(303)
    expect((await sync()).invalidated).toBe(1)
    expect(position(other.documentId)?.status).toBe('INVALID')
    expect(platform.sim.problems()).toEqual([])
  })

  it('keeps a failure with its reason while pagoPA is unreachable, retries after the backoff, and reports it to the jobs page', async () => {
    platform.sim.state.down.add('aca')
    const doc = await issue(db, x, payerId, [1234])
    try {
      const counts = await sync()
      expect(counts.failed).toBeGreaterThanOrEqual(1)
      expect(await row(doc.documentId)).toMatchObject({ state: 'errore', attempts: 1 })
      expect((await row(doc.documentId))?.last_error).toContain('503')
      // the office sees it on the pagoPA page and on the document
      const office = await w.client('operatore')
      const pagopa = await (await office.get(`/t/${x.slug}/ufficio/pagopa`)).text()
      expect(pagopa).toContain('Posizioni non accettate dall&#39;archivio (1)')
      expect(pagopa).toContain(`/ufficio/documenti/${doc.documentId}"`)
      await expectValidHtml(pagopa)
      const page = await (await office.get(`${base()}/${doc.documentId}`)).text()
      expect(page).toContain('Non accettata: si riprova')
      await expectValidHtml(page)
      // the job's run fails for this tenant, so the jobs page shows it
      const err = await runArchiveSync({
        db,
        config: w.deps.config,
        log,
        provider: w.deps.provider,
        tenants: w.deps.tenants,
        // past the first backoff: the job tries again, still in vain
        now: new Date(Date.now() + 2 * 60_000),
        kickMail: () => {},
        onlyTenants: [x.slug],
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(JobFailure)
    } finally {
      platform.sim.state.down.delete('aca')
    }
    // not yet due: nothing is sent
    expect(position(doc.documentId)).toBeUndefined()
    await sync(new Date(Date.now() + 30 * 60_000))
    expect(position(doc.documentId)?.status).toBe('VALID')
    expect(await row(doc.documentId)).toMatchObject({ state: 'in_archivio', attempts: 0, last_error: null })
  })

  it('takes a position the archive already holds (an answer lost) as its own, without a duplicate', async () => {
    const doc = await issue(db, x, payerId, [999])
    const created = await sync()
    expect(created.created).toBeGreaterThanOrEqual(1)
    // as if the archive's answer had been lost: Sportello does not know it was created, and tries again
    await withTenant(
      db.sql,
      x,
      (tx) => tx`update aca_positions set created_remote = false, state = 'errore',
      next_attempt_at = now() - interval '1 minute' where document_id = ${doc.documentId}`,
    )
    await sync()
    expect(await row(doc.documentId)).toMatchObject({ state: 'in_archivio' })
    const creates = platform.sim.state.calls.filter(
      (c) =>
        c.operationId === 'createPosition' &&
        (c.body as { iupd?: string })?.iupd === `${x.fiscalCode}-${doc.documentId}`,
    )
    expect(creates.map((c) => c.status)).toEqual([201, 409])
    expect(platform.sim.problems()).toEqual([])
  })
})

describe('Stand-In', () => {
  it('a payment taken by the node from the archive while Sportello is stopped settles the installment once', async () => {
    const doc = await issue(db, x, payerId, [5100, 5100])
    await sync()
    const nav = doc.installments[0]?.noticeCode as string
    const server = await startServer(db)
    const station = {
      url: `${server.url}/pagopa/nodo`,
      key: KEY,
      fiscalCode: x.fiscalCode,
      noticeNumber: nav,
      version: 2 as const,
    }
    await server.close()
    // Sportello is down: the node pays from the archive and cannot deliver the receipt yet
    const taken = platform.sim.standInPay(x.fiscalCode, nav)
    expect(taken?.option.status).toBe('PO_PAID')
    const data = standInData(taken?.position as never, taken?.option as never)
    const refused = await sendReceipt(station, data).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(Error)
    // the same notice cannot be taken twice in Stand-In
    expect(platform.sim.standInPay(x.fiscalCode, nav)).toBeNull()
    // Sportello again: the node delivers the receipt, then once more (a retry)
    const again = await startServer(db)
    try {
      const to = { ...station, url: `${again.url}/pagopa/nodo`, receiptId: `standin-${doc.documentId}` }
      const first = await sendReceipt(to, data)
      expect(first.step.outcome).toBe('OK')
      const second = await sendReceipt(to, data)
      expect(second.step.faultCode).toBe('PAA_RECEIPT_DUPLICATA')
    } finally {
      await again.close()
    }
    expect(await settled(doc.documentId)).toEqual([
      { status: 'pagato', payments: 1 },
      { status: 'da_pagare', payments: 0 },
    ])
    // the next pass tells the archive, which already knows: the option stays paid, the other payable
    await sync()
    expect(position(doc.documentId)?.options.map((o) => o.status)).toEqual(['PO_PAID', 'PO_UNPAID'])
    expect((await row(doc.documentId))?.paid_navs).toEqual([nav])
    expect(platform.sim.problems()).toEqual([])
  })

  it('the whole document paid in Stand-In with its single-payment notice settles every installment once', async () => {
    const doc = await issue(db, x, payerId, [1100, 1200])
    await sync()
    const [full] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ notice_code: string }[]>`select notice_code from full_notices where document_id = ${doc.documentId}`,
    )
    const nav = full?.notice_code as string
    const taken = platform.sim.standInPay(x.fiscalCode, nav)
    expect(taken?.option.amount).toBe(2300)
    expect(taken?.position.status).toBe('PAID')
    const server = await startServer(db)
    try {
      const to = {
        url: `${server.url}/pagopa/nodo`,
        key: KEY,
        fiscalCode: x.fiscalCode,
        noticeNumber: nav,
        version: 2 as const,
      }
      const data = standInData(taken?.position as never, taken?.option as never)
      expect((await sendReceipt({ ...to, receiptId: `intero-${doc.documentId}` }, data)).step.outcome).toBe('OK')
      expect((await sendReceipt({ ...to, receiptId: `intero-${doc.documentId}` }, data)).step.faultCode).toBe(
        'PAA_RECEIPT_DUPLICATA',
      )
    } finally {
      await server.close()
    }
    expect(await settled(doc.documentId)).toEqual([
      { status: 'pagato', payments: 1 },
      { status: 'pagato', payments: 1 },
    ])
    await sync()
    expect(await row(doc.documentId)).toMatchObject({ state: 'pagata' })
    expect(platform.sim.problems()).toEqual([])
  })

  it('a pass that cannot take every position sends the new ones first and compares the others in turn', async () => {
    const held = [
      await issue(db, x, payerId, [1000]),
      await issue(db, x, payerId, [1100]),
      await issue(db, x, payerId, [1200]),
    ]
    await sync()
    const inArchive = async () => {
      const [n] = await withTenant(
        db.sql,
        x,
        (tx) => tx<{ n: number }[]>`select count(*)::int as n from aca_positions where state = 'in_archivio'`,
      )
      return n?.n as number
    }
    const before = await inArchive()
    expect(before).toBeGreaterThan(2)
    // two at a time: a new document goes in at the first pass, ahead of every position already held
    const small = () => syncArchive(db, x, { secretsKey, log, limit: 2 })
    const fresh = await issue(db, x, payerId, [1300])
    expect(await small()).toMatchObject({ created: 1, unchanged: 1 })
    expect(position(fresh.documentId)?.status).toBe('VALID')
    // a change to a position held, by whatever path: found within ceil(held / 2) passes, each of at most two
    const first = held[0] as { documentId: number }
    await withTenant(
      db.sql,
      x,
      (tx) => tx`update installments set amount_cents = 1050 where document_id = ${first.documentId}`,
    )
    let updated = 0
    for (let pass = 0; pass < Math.ceil((before + 1) / 2) && updated === 0; pass++) {
      const c = await small()
      expect(c.created + c.updated + c.unchanged + c.invalidated).toBeLessThanOrEqual(2)
      updated = c.updated
    }
    expect(updated).toBe(1)
    expect(position(first.documentId)?.options[0]?.amount).toBe(1050)
    expect(platform.sim.problems()).toEqual([])
  })
})
