// The creditor SOAP interface (paForNode) driven with messages derived from pagoPA's official examples:
// every operation with valid, malformed, duplicate, expired, cancelled, in-progress and unknown-notice
// messages; every answer checked against the schema (paForNode.xsd) with the same validator the server uses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { payNotice } from '../../src/features/pagopa/simulator.ts'
import { SOAP_NS } from '../../src/features/pagopa/soap.ts'
import { parseXml, type XNode } from '../../src/features/pagopa/xml.ts'
import { PA_FOR_NODE_NS, paForNodeSchema, validateElement } from '../../src/features/pagopa/xsd.ts'
import { refreshFromProvider } from '../../src/features/payments/service.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { signedIn, type TestAccount } from '../helpers/accounts.ts'
import { settings } from '../helpers/db.ts'
import { givePayer, issue, payAtSandbox } from '../helpers/payments.ts'
import { example, receiptRequest } from '../helpers/receipts.ts'
import { type App, type World, world } from '../helpers/world.ts'

const KEY = 'chiave-di-prova-del-nodo-0123456789'
const IBAN = 'IT60X0542811101000000123456'

beforeAll(() => {
  process.env.PAGOPA_NODE_KEY = KEY
})
const w = world({ tenant: { settings: settings({ iban: IBAN }) }, serve: true })
let db: Db
let a: Tenant
let noIban: Tenant
let server: World['server']
let app: App
let me: TestAccount
let payerId: number

beforeAll(async () => {
  ;({ db, tenant: a, server, app } = w)
  noIban = await w.newTenant()
  me = await w.account({ givenName: 'Lucia', familyName: 'Neri' })
  payerId = await givePayer(db, a, me.codiceFiscale, ['Lucia', 'Neri'])
})

afterAll(() => {
  delete process.env.PAGOPA_NODE_KEY
  delete process.env.PAGOPA_BROKER_ID
})

async function post(xml: string, headers: Record<string, string> = {}) {
  return app.request('/pagopa/nodo', {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml; charset=utf-8', 'Ocp-Apim-Subscription-Key': KEY, ...headers },
    body: xml,
  })
}

interface Answer {
  status: number
  element: XNode
  name: string
  outcome: string
  faultCode: string | null
  description: string
  text: (...path: string[]) => string | undefined
}

/** Reads an answer and checks it against the schema: every answer, OK or KO, must be valid. */
async function answer(res: Response): Promise<Answer> {
  const body = await res.text()
  expect(res.headers.get('content-type')).toContain('text/xml')
  const env = parseXml(body)
  expect(env.ns).toBe(SOAP_NS)
  const element = env.children.find((c) => c.local === 'Body')?.children[0] as XNode
  expect(element.ns).toBe(PA_FOR_NODE_NS)
  expect(validateElement(paForNodeSchema(), element), body).toBeNull()
  const text = (...path: string[]) => {
    let cur: XNode | undefined = element
    for (const p of path) cur = cur?.children.find((c) => c.local === p)
    return cur?.text
  }
  return {
    status: res.status,
    element,
    name: element.local,
    outcome: text('outcome') as string,
    faultCode: text('fault', 'faultCode') ?? null,
    description: text('fault', 'description') ?? '',
    text,
  }
}

/** The official examples rewritten for one of our notices (their placeholders replaced, nothing else). */
function verifyReq(notice: string, cf = a.fiscalCode) {
  return example('ReqPaVerifyPayment.xml')
    .replace('http://pagopa-api.pagopa.gov.it/node/nodeForPsp.xsd', PA_FOR_NODE_NS)
    .replaceAll('77777777777', cf)
    .replace('311111111112222222', notice)
}

function getReq(notice: string, v2 = false, cf = a.fiscalCode) {
  let xml = example('ReqPaGetPayment.xml').replaceAll('77777777777', cf).replace('311111111112222222', notice)
  if (v2) xml = xml.replaceAll('paGetPaymentReq', 'paGetPaymentV2Request')
  return xml
}

/** paSendRT from the example: our notice and amount, one transfer to our IBAN, with the transferCategory the
 * schema requires (the published example omits it). */
function sendReq(notice: string, cents: number, opts: { receiptId?: string; v2?: boolean; cf?: string } = {}) {
  return receiptRequest({
    notice,
    cents,
    cf: opts.cf ?? a.fiscalCode,
    iban: IBAN,
    receiptId: opts.receiptId,
    v2: opts.v2,
  })
}

async function notice(amounts = [6400], opts: { firstDue?: number } = {}) {
  const doc = await issue(db, a, payerId, amounts, { description: 'Mensa scolastica gennaio', ...opts })
  return { ...doc, first: doc.installments[0] as { id: number; noticeCode: string; iuv: string } }
}

async function installment(id: number) {
  const [row] = await withTenant(
    db.sql,
    a,
    (tx) => tx<{ status: string; paid_cents: number | null; source: string | null; receipt_number: string | null }[]>`
      select i.status, i.paid_cents, ip.source, ip.receipt_number
      from installments i left join installment_payments ip on ip.installment_id = i.id where i.id = ${id}`,
  )
  return row as { status: string; paid_cents: number | null; source: string | null; receipt_number: string | null }
}

describe('access to the interface', () => {
  it('is disabled (404) while no key is configured', async () => {
    delete process.env.PAGOPA_NODE_KEY
    try {
      expect((await post(verifyReq('301000000000000000'))).status).toBe(404)
    } finally {
      process.env.PAGOPA_NODE_KEY = KEY
    }
  })

  it('refuses a missing or wrong subscription key with 401, and anything but POST with 405', async () => {
    expect((await post(verifyReq('301000000000000000'), { 'Ocp-Apim-Subscription-Key': '' })).status).toBe(401)
    expect((await post(verifyReq('301000000000000000'), { 'Ocp-Apim-Subscription-Key': `${KEY}x` })).status).toBe(401)
    const get = await app.request('/pagopa/nodo', { headers: { 'Ocp-Apim-Subscription-Key': KEY } })
    expect(get.status).toBe(405)
  })

  it('checks the broker when PAGOPA_BROKER_ID is set', async () => {
    const { first } = await notice()
    process.env.PAGOPA_BROKER_ID = '15376371009'
    try {
      const r = await answer(await post(verifyReq(first.noticeCode)))
      expect(r.faultCode).toBe('PAA_ID_INTERMEDIARIO_ERRATO')
    } finally {
      delete process.env.PAGOPA_BROKER_ID
    }
  })
})

describe('paVerifyPaymentNotice', () => {
  it('answers the current amount and due date of a payable notice', async () => {
    const { first } = await notice([6400, 6400])
    const r = await answer(await post(verifyReq(first.noticeCode)))
    expect(r.status).toBe(200)
    expect(r.name).toBe('paVerifyPaymentNoticeRes')
    expect(r.outcome).toBe('OK')
    expect(r.text('paymentList', 'paymentOptionDescription', 'amount')).toBe('64.00')
    expect(r.text('paymentList', 'paymentOptionDescription', 'options')).toBe('EQ')
    expect(r.text('fiscalCodePA')).toBe(a.fiscalCode)
    expect(r.text('paymentDescription')).toContain('rata 1 di 2')
    // the office changes the amount: the next verify says so (never a stale amount)
    await withTenant(
      db.sql,
      a,
      (tx) => tx`update installments set amount_cents = 7150, due_date = '2031-05-31' where id = ${first.id}`,
    )
    const again = await answer(await post(verifyReq(first.noticeCode)))
    expect(again.text('paymentList', 'paymentOptionDescription', 'amount')).toBe('71.50')
    expect(again.text('paymentList', 'paymentOptionDescription', 'dueDate')).toBe('2031-05-31')
  })

  it('answers PAA_PAGAMENTO_SCONOSCIUTO for an unknown notice and PAA_ID_DOMINIO_ERRATO for an unknown creditor', async () => {
    const unknown = await answer(await post(verifyReq(`3${a.segregationCode}000000000999988`)))
    expect(unknown.outcome).toBe('KO')
    expect(unknown.faultCode).toBe('PAA_PAGAMENTO_SCONOSCIUTO')
    expect(unknown.text('fault', 'id')).toBe(a.fiscalCode)
    const otherCf = await answer(await post(verifyReq('301000000000000000', '00000000000')))
    expect(otherCf.faultCode).toBe('PAA_ID_DOMINIO_ERRATO')
    // a suspended creditor takes no new payments
    await db.sql`update platform.tenants set status = 'suspended' where id = ${noIban.id}`
    try {
      const suspended = await answer(
        await post(verifyReq(`3${noIban.segregationCode}000000000999988`, noIban.fiscalCode)),
      )
      expect(suspended.faultCode).toBe('PAA_ID_DOMINIO_ERRATO')
    } finally {
      await db.sql`update platform.tenants set status = 'active' where id = ${noIban.id}`
    }
  })

  it('answers PAA_PAGAMENTO_ANNULLATO for a cancelled notice', async () => {
    const { documentId, first } = await notice()
    await withTenant(
      db.sql,
      a,
      (tx) => tx`update documents set cancelled_at = now(), cancel_reason = 'errore' where id = ${documentId}`,
    )
    expect((await answer(await post(verifyReq(first.noticeCode)))).faultCode).toBe('PAA_PAGAMENTO_ANNULLATO')
    expect((await answer(await post(getReq(first.noticeCode)))).faultCode).toBe('PAA_PAGAMENTO_ANNULLATO')
  })

  it('answers PAA_PAGAMENTO_SCADUTO past the payable days after the due date, and not when the tenant keeps notices payable', async () => {
    const { first } = await notice([2500], { firstDue: -400 })
    const r = await answer(await post(verifyReq(first.noticeCode)))
    expect(r.faultCode).toBe('PAA_PAGAMENTO_SCADUTO')
    expect((await answer(await post(getReq(first.noticeCode)))).faultCode).toBe('PAA_PAGAMENTO_SCADUTO')
    // overdue but within the default 365 days: still payable
    const { first: late } = await notice([2500], { firstDue: -30 })
    expect((await answer(await post(verifyReq(late.noticeCode)))).outcome).toBe('OK')
    await withTenant(
      db.sql,
      a,
      (tx) => tx`insert into pagopa_settings (id, payable_days_after_due)
      values (1, null) on conflict (id) do update set payable_days_after_due = null`,
    )
    try {
      expect((await answer(await post(verifyReq(first.noticeCode)))).outcome).toBe('OK')
    } finally {
      await withTenant(db.sql, a, (tx) => tx`delete from pagopa_settings`)
    }
  })

  it('answers PAA_PAGAMENTO_IN_CORSO while the notice is being paid online', async () => {
    const { first } = await notice()
    await withTenant(
      db.sql,
      a,
      (tx) => tx`update installments set status = 'in_corso', pending_payment_id = 999999 where id = ${first.id}`,
    )
    expect((await answer(await post(verifyReq(first.noticeCode)))).faultCode).toBe('PAA_PAGAMENTO_IN_CORSO')
    expect((await answer(await post(getReq(first.noticeCode, true)))).faultCode).toBe('PAA_PAGAMENTO_IN_CORSO')
    await withTenant(
      db.sql,
      a,
      (tx) => tx`update installments set status = 'da_pagare', pending_payment_id = null where id = ${first.id}`,
    )
  })
})

describe('paGetPayment and paGetPaymentV2', () => {
  it('answer the payment data with one transfer to the tenant IBAN, in both versions', async () => {
    const { first } = await notice([15460])
    for (const v2 of [false, true]) {
      const r = await answer(await post(getReq(first.noticeCode, v2)))
      expect(r.name).toBe(v2 ? 'paGetPaymentV2Response' : 'paGetPaymentRes')
      expect(r.outcome).toBe('OK')
      expect(r.text('data', 'creditorReferenceId')).toBe(first.iuv)
      expect(r.text('data', 'paymentAmount')).toBe('154.60')
      expect(r.text('data', 'debtor', 'uniqueIdentifier', 'entityUniqueIdentifierValue')).toBe(me.codiceFiscale)
      expect(r.text('data', 'transferList', 'transfer', 'IBAN')).toBe(IBAN)
      expect(r.text('data', 'transferList', 'transfer', 'transferAmount')).toBe('154.60')
      // the canteen's taxonomy code for a comune, with the ordinary prefix (decision 0099)
      expect(r.text('data', 'transferList', 'transfer', 'transferCategory')).toBe('9/0107101TS/')
      expect(r.text('data', 'transferList', 'transfer', 'companyName') !== undefined).toBe(v2)
    }
  })

  it('refuses with PAA_SEMANTICA while the tenant has no IBAN', async () => {
    const p = await givePayer(db, noIban, me.codiceFiscale)
    const doc = await issue(db, noIban, p, [1000])
    const code = (doc.installments[0] as { noticeCode: string }).noticeCode
    expect((await answer(await post(verifyReq(code, noIban.fiscalCode)))).outcome).toBe('OK')
    const r = await answer(await post(getReq(code, false, noIban.fiscalCode)))
    expect(r.faultCode).toBe('PAA_SEMANTICA')
    expect(r.description).toContain('IBAN')
  })
})

describe('malformed requests get the interface fault, never a 500', () => {
  it('answers PAA_SINTASSI_XSD naming the field for values the schema refuses', async () => {
    const { first } = await notice()
    const cases: [string, string][] = [
      [verifyReq(first.noticeCode).replace(first.noticeCode, first.noticeCode.slice(1)), 'qrCode/noticeNumber'],
      [verifyReq(first.noticeCode).replace(/<idStation>[^<]*<\/idStation>/, ''), 'idStation'],
      [verifyReq(first.noticeCode).replace(`<fiscalCode>${a.fiscalCode}`, '<fiscalCode>ABC'), 'qrCode/fiscalCode'],
      [getReq(first.noticeCode).replace('<amount>30.00</amount>', '<amount>30,00</amount>'), 'amount'],
      [
        getReq(first.noticeCode).replace('<amount>30.00</amount>', '<amount>30.00</amount><colore>blu</colore>'),
        'colore',
      ],
      [getReq(first.noticeCode).replace(/<idPA>[^<]*<\/idPA>/, `<idPA>${'1'.repeat(36)}</idPA>`), 'idPA'],
      [sendReq(first.noticeCode, 6400).replace('<outcome>OK</outcome>', '<outcome>FORSE</outcome>'), 'receipt/outcome'],
      [
        sendReq(first.noticeCode, 6400).replace(
          '<paymentDateTime>2021-10-01T17:48:22',
          '<paymentDateTime>2021-13-01T17:48:22',
        ),
        'paymentDateTime',
      ],
      [
        sendReq(first.noticeCode, 6400).replace('<e-mail>john.doe@test.it</e-mail>', '<e-mail>non una email</e-mail>'),
        'e-mail',
      ],
    ]
    for (const [xml, path] of cases) {
      const r = await answer(await post(xml))
      expect(r.status, path).toBe(200)
      expect(r.faultCode, path).toBe('PAA_SINTASSI_XSD')
      expect(r.description, path).toContain(path)
    }
    expect((await installment(first.id)).status).toBe('da_pagare')
  })

  it('refuses the published examples where they depart from the schema', async () => {
    // paSendRT without transferCategory (required by ctTransferPA)
    const send = await answer(await post(example('ReqPaSendRT.xml')))
    expect(send.name).toBe('paSendRTRes')
    expect(send.faultCode).toBe('PAA_SINTASSI_XSD')
    expect(send.description).toContain('transferCategory')
    // the verify example declares the nodeForPsp namespace for a paForNode request
    const verify = await answer(await post(example('ReqPaVerifyPayment.xml')))
    expect(verify.faultCode).toBe('PAA_SINTASSI_XSD')
    expect(verify.description).toContain('namespace')
  })

  it('answers broken XML with the operation fault, or a SOAP fault (400) when no operation can be told', async () => {
    const broken = await answer(await post('<soapenv:Envelope><paVerifyPaymentNoticeReq>'))
    expect(broken.name).toBe('paVerifyPaymentNoticeRes')
    expect(broken.faultCode).toBe('PAA_SINTASSI_XSD')
    const byAction = await answer(await post('non è XML', { SOAPAction: '"paSendRT"' }))
    expect(byAction.name).toBe('paSendRTRes')
    expect(byAction.faultCode).toBe('PAA_SINTASSI_XSD')
    const dtd = await answer(
      await post(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>${verifyReq('301000000000000000')}`),
    )
    expect(dtd.faultCode).toBe('PAA_SINTASSI_XSD')
    const nothing = await post('garbage')
    expect(nothing.status).toBe(400)
    const text = await nothing.text()
    expect(text).toContain('soapenv:Fault')
    expect(text).toContain('PAA_SINTASSI_XSD')
    const demand = await answer(
      await post(
        `<soapenv:Envelope xmlns:soapenv="${SOAP_NS}" xmlns:p="${PA_FOR_NODE_NS}"><soapenv:Body><p:paDemandPaymentNoticeRequest><idPA>${a.fiscalCode}</idPA><idBrokerPA>${a.fiscalCode}</idBrokerPA><idStation>${a.fiscalCode}_01</idStation><idServizio>00001</idServizio><idSoggettoServizio>00001</idSoggettoServizio><datiSpecificiServizioRequest>AAAA</datiSpecificiServizioRequest></p:paDemandPaymentNoticeRequest></soapenv:Body></soapenv:Envelope>`,
      ),
    )
    expect(demand.faultCode).toBe('PAA_SEMANTICA')
  })
})

describe('paSendRT and paSendRTV2', () => {
  async function outbox(receiptId: string) {
    return db.sql<{ to_address: string; subject: string; attachments: { filename: string }[] }[]>`
      select to_address, subject, attachments from platform.outbox where dedupe_key = ${`pagopa-receipt:${a.id}:${receiptId}`}`
  }

  it('records the receipt, settles the installment once and queues the citizen email; a duplicate changes nothing', async () => {
    const { first } = await notice([6400])
    const receiptId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
    const ok = await answer(await post(sendReq(first.noticeCode, 6400, { receiptId })))
    expect(ok.name).toBe('paSendRTRes')
    expect(ok.outcome).toBe('OK')
    expect(await installment(first.id)).toEqual({
      status: 'pagato',
      paid_cents: 6400,
      source: 'pagopa',
      receipt_number: receiptId,
    })
    const [rec] = await withTenant(
      db.sql,
      a,
      (tx) => tx<Record<string, unknown>[]>`
      select psp_id, psp_name, channel_id, channel_description, payment_method, fee_cents, paid_at, effect, flag, transfers
      from pagopa_receipts where receipt_id = ${receiptId}`,
    )
    expect(rec).toMatchObject({
      psp_id: '88888888888',
      psp_name: 'PSP name',
      channel_id: '88888888888_01',
      channel_description: 'app',
      payment_method: 'creditCard',
      fee_cents: 200,
      effect: 'settled',
      flag: null,
    })
    // 2021-10-01T17:48:22 in Rome (summer time) is 15:48:22 UTC
    expect((rec as { paid_at: Date }).paid_at.toISOString()).toBe('2021-10-01T15:48:22.000Z')
    expect(rec?.transfers).toEqual([
      {
        idTransfer: 1,
        amountCents: 6400,
        fiscalCodePA: a.fiscalCode,
        iban: IBAN,
        remittanceInformation: 'Mensa scolastica',
        transferCategory: '0101100IM',
      },
    ])
    const mails = await outbox(receiptId)
    expect(mails).toHaveLength(1)
    expect(mails[0]?.to_address).toBe(me.email)
    expect(mails[0]?.attachments[0]?.filename).toBe(`ricevuta-${first.iuv}.pdf`)

    const dup = await answer(await post(sendReq(first.noticeCode, 6400, { receiptId })))
    expect(dup.outcome).toBe('KO')
    expect(dup.faultCode).toBe('PAA_RECEIPT_DUPLICATA')
    const [count] = await withTenant(
      db.sql,
      a,
      (tx) => tx<{ n: number }[]>`select count(*)::int as n from pagopa_receipts where installment_id = ${first.id}`,
    )
    expect(count?.n).toBe(1)
    expect(await outbox(receiptId)).toHaveLength(1)
    // verify now says it is paid
    expect((await answer(await post(verifyReq(first.noticeCode)))).faultCode).toBe('PAA_PAGAMENTO_DUPLICATO')
  })

  it('paSendRTV2 works the same way', async () => {
    const { first } = await notice([3000])
    const r = await answer(await post(sendReq(first.noticeCode, 3000, { v2: true })))
    expect(r.name).toBe('paSendRTV2Response')
    expect(r.outcome).toBe('OK')
    expect((await installment(first.id)).status).toBe('pagato')
  })

  it('the same receipt delivered twice at once settles once', async () => {
    const { first } = await notice([1200])
    const xml = sendReq(first.noticeCode, 1200, { receiptId: 'concorrente0000000000000000000001' })
    const [x, y] = await Promise.all([post(xml).then(answer), post(xml).then(answer)])
    const outcomes = [x.faultCode ?? x.outcome, y.faultCode ?? y.outcome].sort()
    expect(outcomes).toEqual(['OK', 'PAA_RECEIPT_DUPLICATA'])
    expect((await installment(first.id)).paid_cents).toBe(1200)
  })

  it('keeps and flags a second payment, a payment of a cancelled notice and another amount; settles nothing twice', async () => {
    const paid = await notice([5000])
    await answer(await post(sendReq(paid.first.noticeCode, 5000)))
    const second = await answer(await post(sendReq(paid.first.noticeCode, 5000)))
    expect(second.outcome).toBe('OK')

    const cancelled = await notice([5000])
    await withTenant(
      db.sql,
      a,
      (tx) => tx`update documents set cancelled_at = now() where id = ${cancelled.documentId}`,
    )
    expect((await answer(await post(sendReq(cancelled.first.noticeCode, 5000)))).outcome).toBe('OK')

    const other = await notice([5000])
    expect((await answer(await post(sendReq(other.first.noticeCode, 4000)))).outcome).toBe('OK')

    const flags = await withTenant(
      db.sql,
      a,
      (tx) => tx<{ installment_id: number; effect: string; flag: string }[]>`
      select installment_id, effect, flag from pagopa_receipts where flag is not null and installment_id = any(${[paid.first.id, cancelled.first.id, other.first.id]})
      order by id`,
    )
    expect(flags).toEqual([
      { installment_id: paid.first.id, effect: 'already_paid', flag: 'already_paid' },
      { installment_id: cancelled.first.id, effect: 'cancelled', flag: 'cancelled' },
      { installment_id: other.first.id, effect: 'settled', flag: 'amount_mismatch' },
    ])
    expect((await installment(paid.first.id)).paid_cents).toBe(5000)
    expect((await installment(cancelled.first.id)).status).toBe('da_pagare')
    expect(await installment(other.first.id)).toMatchObject({ status: 'pagato', paid_cents: 4000 })
  })

  it('answers PAA_PAGAMENTO_SCONOSCIUTO for a receipt of an unknown notice and PAA_SEMANTICA when transfers do not add up', async () => {
    const unknown = await answer(await post(sendReq(`3${a.segregationCode}000000000777766`, 1000)))
    expect(unknown.faultCode).toBe('PAA_PAGAMENTO_SCONOSCIUTO')
    const { first } = await notice([1000])
    const wrong = await answer(
      await post(
        sendReq(first.noticeCode, 1000).replace(
          '<paymentAmount>10.00</paymentAmount>',
          '<paymentAmount>11.00</paymentAmount>',
        ),
      ),
    )
    expect(wrong.faultCode).toBe('PAA_SEMANTICA')
    expect((await installment(first.id)).status).toBe('da_pagare')
  })

  it('settles an expired notice all the same: the money moved', async () => {
    const { first } = await notice([2500], { firstDue: -500 })
    expect((await answer(await post(sendReq(first.noticeCode, 2500)))).outcome).toBe('OK')
    expect((await installment(first.id)).status).toBe('pagato')
  })

  it('a receipt wins over an online checkout in progress; the online payment, when it succeeds, is flagged for a refund', async () => {
    const { first } = await notice([4200])
    const client = await signedIn(app, me)
    await client.get('/carrello')
    expect((await client.post('/carrello/aggiungi', { ente: a.slug, rate: [String(first.id)] })).status).toBe(303)
    const summary = await client.get('/carrello/riepilogo')
    const key = /name="chiave" value="([^"]+)"/.exec(await summary.text())?.[1] as string
    const started = await client.post('/carrello/paga', { chiave: key })
    expect(started.status).toBe(303)
    const [pay] = await db.sql<{ id: number }[]>`select id from platform.payments where idempotency_key = ${key}`
    expect((await installment(first.id)).status).toBe('in_corso')
    // the family also paid the printed notice at the tobacconist
    expect((await answer(await post(sendReq(first.noticeCode, 4200)))).outcome).toBe('OK')
    expect(await installment(first.id)).toMatchObject({ status: 'pagato', source: 'pagopa' })
    // then the card payment goes through as well
    await payAtSandbox(client, started.headers.get('location') as string)
    await refreshFromProvider(db, server.deps.provider, (pay as { id: number }).id)
    // the sandbox's notification is applied in the background: wait until the tenant side is done
    for (let i = 0; i < 100; i++) {
      const [left] = await db.sql<{ n: number }[]>`select count(*)::int as n from platform.payment_items
        where payment_id = ${(pay as { id: number }).id} and applied_at is null`
      if (left?.n === 0) break
      await new Promise((r) => setTimeout(r, 50))
    }
    const [p] = await db.sql<{ status: string; needs_refund: boolean }[]>`
      select status, needs_refund from platform.payments where id = ${(pay as { id: number }).id}`
    expect(p).toEqual({ status: 'succeeded', needs_refund: true })
    expect(await installment(first.id)).toMatchObject({ source: 'pagopa', paid_cents: 4200 })
  })
})

describe('the node simulator', () => {
  it('pays a notice through verify, get payment and send receipt, in both versions', async () => {
    for (const version of [1, 2] as const) {
      const { first } = await notice([8800])
      const result = await payNotice({
        url: `${server.url}/pagopa/nodo`,
        key: KEY,
        noticeNumber: first.noticeCode,
        fiscalCode: a.fiscalCode,
        version,
      })
      expect(result.steps.map((s) => `${s.operation} ${s.outcome}`)).toEqual([
        'paVerifyPaymentNotice OK',
        `${version === 2 ? 'paGetPaymentV2' : 'paGetPayment'} OK`,
        `${version === 2 ? 'paSendRTV2' : 'paSendRT'} OK`,
      ])
      for (const s of result.steps) expect(validateElement(paForNodeSchema(), s.answer as XNode)).toBeNull()
      expect(await installment(first.id)).toMatchObject({ status: 'pagato', receipt_number: result.receiptId })
    }
  })
})
