// The refund register: the office refunds a payment in full or in part (never more than what is left of it), marks
// it executed with the bank's reference, and the installment, the family's page and an email follow; money received
// twice — a pagoPA receipt, an online payment, a reporting-flow or bank line — opens one proposal per payment; bad
// input is a 422 with nothing saved; two clerks refunding at once never exceed the payment; lettore, citizen and
// another body cannot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { finish, startCheckout } from '../../src/features/payments/service.ts'
import { importFile } from '../../src/features/reconciliation/service.ts'
import { certificateRows } from '../../src/features/tax/service.ts'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { withTenant } from '../../src/platform/db.ts'
import type { Client } from '../helpers/client.ts'
import { settings } from '../helpers/db.ts'
import { camtXml, fdrXml } from '../helpers/flows.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { receiptRequest } from '../helpers/receipts.ts'
import { world } from '../helpers/world.ts'

const NODE_KEY = 'chiave-del-nodo-per-i-rimborsi-000000001'
const IBAN = 'IT60X0542811101000000123456'
const FAMILY_IBAN = 'IT42L1234512345123456789012'
beforeAll(() => {
  process.env.PAGOPA_NODE_KEY = NODE_KEY
})
afterAll(() => {
  delete process.env.PAGOPA_NODE_KEY
})
const w = world({
  tenant: { settings: settings({ iban: IBAN }) },
  roles: ['operatore', 'lettore', 'cittadino', 'adminAltroEnte'],
})
let office: Client
let payer = 0
const office_ = () => `/t/${w.tenant.slug}/ufficio`
const SYSTEM = { accountId: null, name: 'sistema' }

function dateFields(name: string, iso: string) {
  const [y, m, d] = iso.split('-') as [string, string, string]
  return { [`${name}-day`]: d, [`${name}-month`]: m, [`${name}-year`]: y }
}

/** The document paid at the counter, whole: what a refund starts from. */
async function paidDocument(amounts: number[]) {
  const doc = await issue(w.db, w.tenant, payer, amounts)
  const res = await office.submit(`${office_()}/documenti/${doc.documentId}/pagamento`, {
    rata: amounts.map((_, i) => String(i + 1)),
    method: 'sportello',
    ...dateFields('paid', todayRome()),
    amount: (amounts.reduce((s, a) => s + a, 0) / 100).toFixed(2).replace('.', ','),
    reference: `Q-${doc.documentId}`,
  })
  expect(res.status).toBe(303)
  return doc
}

const refundForm = (these: Record<string, string> = {}) => ({
  rata: '1',
  amount: '10',
  reason: 'Servizio non fruito',
  iban: FAMILY_IBAN,
  beneficiary: 'Mario Rossi',
  ...these,
})

async function refunds(where: { installmentIds: number[] }) {
  return withTenant(
    w.db.sql,
    w.tenant,
    (tx) => tx<
      {
        id: number
        installment_id: number
        basis: string
        basis_ref: string
        amount_cents: number
        paid_cents: number
        status: string
        iban: string | null
        proposal_key: string | null
        reason_code: string | null
      }[]
    >`select id, installment_id, basis, basis_ref, amount_cents, paid_cents, status, iban, proposal_key, reason_code
      from refunds where installment_id = any(${where.installmentIds}) order by id`,
  )
}

async function refundedOf(id: number) {
  const [r] = await withTenant(
    w.db.sql,
    w.tenant,
    (tx) => tx<{ refunded_cents: number }[]>`select refunded_cents from installments where id = ${id}`,
  )
  return r?.refunded_cents
}

beforeAll(async () => {
  office = await w.client('operatore')
  payer = await givePayer(w.db, w.tenant, w.accounts.cittadino.codiceFiscale)
})

describe('a refund the office opens', () => {
  it('refunds part then the rest of a payment, executed with the bank reference: installment, family page and email follow', async () => {
    const doc = await paidDocument([3000, 2000])
    const first = doc.installments[0] as { id: number }
    const formPath = `${office_()}/documenti/${doc.documentId}/rimborso`
    const form = await office.get(`${formPath}?rata=1`)
    expect(form.status).toBe(200)
    const html = await form.text()
    await expectValidHtml(html)
    expect(html).toMatch(/id="rata" name="rata" type="radio" value="1" checked/)
    expect(html).toContain('value="30,00"')
    expect(html).toContain('value="Mario Rossi"')

    // the IBAN as a family writes it: spaces, lower case
    let res = await office.submit(
      formPath,
      refundForm({ amount: '10,00', iban: 'it42 l123 4512 3451 2345 6789 012', reason: 'Cinque giorni di assenza' }),
    )
    expect(res.status).toBe(303)
    const firstId = Number(/rimborsi\/(\d+)\?fatto=aperto$/.exec(res.headers.get('location') ?? '')?.[1])
    expect(firstId).toBeGreaterThan(0)
    expect(await refunds({ installmentIds: [first.id] })).toMatchObject([
      {
        basis: 'pagamento',
        basis_ref: `Q-${doc.documentId}`,
        amount_cents: 1000,
        paid_cents: 3000,
        status: 'aperto',
        iban: FAMILY_IBAN,
      },
    ])

    // more than is left: refused, saying how much is left
    res = await office.post(formPath, refundForm({ amount: '25' }))
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('supera quanto resta da rimborsare di questo pagamento (20,00 euro)')
    res = await office.submit(formPath, refundForm({ amount: '20' }))
    expect(res.status).toBe(303)
    const secondId = Number(/rimborsi\/(\d+)/.exec(res.headers.get('location') ?? '')?.[1])
    res = await office.post(formPath, refundForm({ amount: '0,01' }))
    expect(await res.text()).toContain('già stato rimborsato per intero')

    // executed: the installment's refunded amount follows, the family is told
    const page = await office.get(`${office_()}/rimborsi/${firstId}`)
    await expectValidHtml(await page.text())
    res = await office.submit(`${office_()}/rimborsi/${firstId}/esegui`, {
      bankReference: 'TRN 0306912345678901',
      ...dateFields('executed', todayRome()),
    })
    expect(res.status).toBe(303)
    expect(await refundedOf(first.id)).toBe(1000)
    const [mail] = await w.db.sql<{ subject: string; text_body: string; to_address: string }[]>`
      select subject, text_body, to_address from platform.outbox where dedupe_key = ${`refund:${w.tenant.id}:${firstId}:eseguito`}`
    expect(mail?.to_address).toBe(w.accounts.cittadino.email)
    expect(mail?.subject).toContain('Rimborso eseguito')
    expect(mail?.text_body).toContain('10,00')
    expect(mail?.text_body).toContain('…9012')
    expect(mail?.text_body).toContain('TRN 0306912345678901')
    expect(mail?.text_body).toContain('Cinque giorni di assenza')
    expect(mail?.text_body).not.toContain(FAMILY_IBAN)

    const citizen = await w.client('cittadino')
    let mine = await (await citizen.get(`/t/${w.tenant.slug}/documenti/${doc.documentId}`)).text()
    expect(mine).toContain('Rimborsati')
    expect(mine).toContain('Rimborso di')
    await office.submit(`${office_()}/rimborsi/${secondId}/esegui`, {
      bankReference: 'TRN 2',
      ...dateFields('executed', todayRome()),
    })
    expect(await refundedOf(first.id)).toBe(3000)
    mine = await (await citizen.get(`/t/${w.tenant.slug}/documenti/${doc.documentId}`)).text()
    expect(mine).toContain('Rimborsata')

    // the register and the document show them; the log says who did what
    const register = await (await office.get(`${office_()}/rimborsi?stato=eseguiti`)).text()
    await expectValidHtml(register)
    expect(register).toContain(`/ufficio/rimborsi/${firstId}"`)
    expect(register).toContain(`/ufficio/rimborsi/${secondId}"`)
    const docPage = await (await office.get(`${office_()}/documenti/${doc.documentId}`)).text()
    expect(docPage).toContain('Rimborsati 30,00')
    const log = await withTenant(
      w.db.sql,
      w.tenant,
      (tx) => tx<{ action: string }[]>`
        select action from audit_log where entity = 'refund' and entity_id = any(${[String(firstId), String(secondId)]}) order by id`,
    )
    expect(log.map((l) => l.action)).toEqual(['refund.open', 'refund.open', 'refund.execute', 'refund.execute'])
  })

  it("appears in the family's tax certificate as a negative row on the day the transfer left", async () => {
    const doc = await paidDocument([4000])
    const pupilId = await withTenant(w.db.sql, w.tenant, async (tx) => {
      const [p] = await tx<{ id: number }[]>`
        insert into pupils (given_name, family_name) values ('Anna', 'Rossi') returning id`
      const id = (p as { id: number }).id
      await tx`insert into pupil_payers (pupil_id, payer_id) values (${id}, ${payer})`
      await tx`update documents set pupil_id = ${id} where id = ${doc.documentId}`
      return id
    })
    const res = await office.submit(
      `${office_()}/documenti/${doc.documentId}/rimborso`,
      refundForm({ amount: '15', reason: 'Mesi non fruiti' }),
    )
    const id = Number(/rimborsi\/(\d+)/.exec(res.headers.get('location') ?? '')?.[1])
    const today = todayRome()
    const year = { from: `${today.slice(0, 4)}-01-01`, to: `${today.slice(0, 4)}-12-31` }
    const me = { accountId: w.accounts.cittadino.id, codiceFiscale: w.accounts.cittadino.codiceFiscale }
    const choice = {
      key: `${w.tenant.id}-${pupilId}`,
      name: 'Anna Rossi',
      codiceFiscale: null,
      records: [{ tenant: w.tenant, pupilId }],
    }
    // open, not yet executed: the certificate shows the payment alone
    expect((await certificateRows(w.db, choice, me, year)).map((r) => r.amountCents)).toEqual([4000])
    await office.submit(`${office_()}/rimborsi/${id}/esegui`, {
      bankReference: 'TRN 15',
      ...dateFields('executed', today),
    })
    const rows = await certificateRows(w.db, choice, me, year)
    expect(rows.map((r) => [r.amountCents, r.receiptNumber, r.refund ?? false, r.date])).toEqual([
      [4000, `Q-${doc.documentId}`, false, today],
      [-1500, 'TRN 15', true, today],
    ])
    expect(rows.reduce((s, r) => s + r.amountCents, 0)).toBe(2500)
    // another year's certificate does not see it
    const last = { from: `${Number(today.slice(0, 4)) - 1}-01-01`, to: `${Number(today.slice(0, 4)) - 1}-12-31` }
    expect(await certificateRows(w.db, choice, me, last)).toEqual([])
  })

  it('refuses bad input with 422, every problem named and linked, the input kept and nothing saved', async () => {
    const doc = await paidDocument([2000])
    const unpaid = await issue(w.db, w.tenant, payer, [2000])
    const ids = [...doc.installments, ...unpaid.installments].map((i) => i.id)
    const formPath = `${office_()}/documenti/${doc.documentId}/rimborso`
    let res = await office.post(formPath, { amount: 'dieci', iban: 'IT60X0542811101000000123457' })
    expect(res.status).toBe(422)
    let html = await res.text()
    await expectValidHtml(html)
    for (const [href, text] of [
      ['#rata', 'Scegli la rata da rimborsare'],
      ['#amount', 'L&#39;importo deve essere in euro'],
      ['#reason', 'Inserisci il motivo del rimborso'],
      ['#iban', 'L&#39;IBAN non è valido'],
      ['#beneficiary', 'Inserisci l&#39;intestatario del conto'],
    ])
      expect(html).toContain(`<a href="${href}">${text}`)
    expect(html).toContain('value="dieci"')
    expect(html).toContain('value="IT60X0542811101000000123457"')
    res = await office.post(formPath, refundForm({ rata: '4' }))
    expect(await res.text()).toContain('La rata scelta non è di questo documento')
    // a document with nothing paid has nothing to refund
    expect((await office.get(`${office_()}/documenti/${unpaid.documentId}/rimborso`)).status).toBe(303)
    res = await office.post(`${office_()}/documenti/${unpaid.documentId}/rimborso`, refundForm())
    expect(await res.text()).toContain('La rata scelta non risulta pagata')
    expect(await refunds({ installmentIds: ids })).toEqual([])

    // an open refund: executing and cancelling need their fields; a closed one cannot change
    res = await office.submit(formPath, refundForm())
    const id = Number(/rimborsi\/(\d+)/.exec(res.headers.get('location') ?? '')?.[1])
    res = await office.post(`${office_()}/rimborsi/${id}/esegui`, {
      bankReference: '',
      ...dateFields('executed', addDays(todayRome(), 1)),
    })
    expect(res.status).toBe(422)
    html = await res.text()
    await expectValidHtml(html)
    expect(html).toContain('<a href="#bankReference">Inserisci il riferimento del bonifico')
    expect(html).toContain('<a href="#executed-day">La data del bonifico non può essere nel futuro')
    res = await office.post(`${office_()}/rimborsi/${id}/annulla`, { cancelReason: ' ' })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('<a href="#cancelReason">Scrivi perché il rimborso non si fa')
    expect((await refunds({ installmentIds: ids })).map((r) => r.status)).toEqual(['aperto'])
    res = await office.submit(`${office_()}/rimborsi/${id}/annulla`, { cancelReason: 'La famiglia ha rinunciato' })
    expect(res.status).toBe(303)
    res = await office.post(`${office_()}/rimborsi/${id}/esegui`, {
      bankReference: 'TRN',
      ...dateFields('executed', todayRome()),
    })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('Questo rimborso non è più aperto')
    expect((await refunds({ installmentIds: ids })).map((r) => r.status)).toEqual(['annullato'])
    // a cancelled refund frees its amount
    expect((await office.post(formPath, refundForm({ amount: '20' }))).status).toBe(303)

    // unknown refunds and documents: 404
    expect((await office.get(`${office_()}/rimborsi/999999`)).status).toBe(404)
    expect((await office.post(`${office_()}/rimborsi/999999/annulla`, { cancelReason: 'x' })).status).toBe(404)
    expect((await office.post(`${office_()}/rimborsi/999999/esegui`, { bankReference: '' })).status).toBe(404)
    expect((await office.get(`${office_()}/documenti/999999/rimborso`)).status).toBe(404)
  })

  it('two clerks refunding the same payment at once never refund more than was paid', async () => {
    const doc = await paidDocument([5000])
    const formPath = `${office_()}/documenti/${doc.documentId}/rimborso`
    const second = await w.client('operatore')
    await office.get(formPath)
    await second.get(formPath)
    const form = refundForm({ amount: '30' })
    const answers = await Promise.all([office.post(formPath, form), second.post(formPath, form)])
    expect(answers.map((r) => r.status).sort()).toEqual([303, 422])
    const rows = await refunds({ installmentIds: doc.installments.map((i) => i.id) })
    expect(rows.map((r) => r.amount_cents)).toEqual([3000])
  })

  it('a lettore reads the register but changes nothing; a citizen and another body cannot', async () => {
    const doc = await paidDocument([1200])
    const res = await office.submit(`${office_()}/documenti/${doc.documentId}/rimborso`, refundForm({ amount: '12' }))
    const id = Number(/rimborsi\/(\d+)/.exec(res.headers.get('location') ?? '')?.[1])
    const reader = await w.client('lettore')
    expect((await reader.get(`${office_()}/rimborsi`)).status).toBe(200)
    const page = await (await reader.get(`${office_()}/rimborsi/${id}`)).text()
    expect(page).toContain('Rimborso')
    expect(page).not.toContain(`/rimborsi/${id}/esegui"`)
    expect(await (await reader.get(`${office_()}/documenti/${doc.documentId}`)).text()).not.toContain('/rimborso"')
    const execute = { bankReference: 'TRN', ...dateFields('executed', todayRome()) }
    for (const who of ['lettore', 'cittadino', 'adminAltroEnte'] as const) {
      const c = await w.client(who)
      expect((await c.post(`${office_()}/rimborsi/${id}/esegui`, execute)).status, who).toBe(403)
      expect((await c.post(`${office_()}/rimborsi/${id}/annulla`, { cancelReason: 'x' })).status, who).toBe(403)
      expect((await c.post(`${office_()}/documenti/${doc.documentId}/rimborso`, refundForm())).status, who).toBe(403)
      if (who !== 'lettore') expect((await c.get(`${office_()}/rimborsi`)).status, who).toBe(403)
    }
    expect((await w.client('anonimo').then((c) => c.get(`${office_()}/rimborsi`))).status).toBe(303)
    expect((await refunds({ installmentIds: doc.installments.map((i) => i.id) })).map((r) => r.status)).toEqual([
      'aperto',
    ])
  })
})

describe('money received twice opens one proposed refund per payment', () => {
  async function nodeReceipt(notice: string, cents: number, receiptId: string) {
    const res = await w.app.request('/pagopa/nodo', {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml; charset=utf-8', 'Ocp-Apim-Subscription-Key': NODE_KEY },
      body: receiptRequest({ notice, cents, cf: w.tenant.fiscalCode, iban: IBAN, receiptId }),
    })
    expect(res.status).toBe(200)
  }

  it('a pagoPA receipt for a notice paid at the counter, then its reporting-flow line: one proposal', async () => {
    const doc = await paidDocument([4200])
    const inst = doc.installments[0] as { id: number; noticeCode: string; iuv: string }
    const rid = `rimborso${doc.documentId}x0000000000000001`
    await nodeReceipt(inst.noticeCode, 4200, rid)
    await importFile(w.db.sql, w.tenant, {
      bytes: new TextEncoder().encode(
        fdrXml({
          flowId: `2031-03-15UNCRITMM-R${doc.documentId}`,
          at: '2031-03-15T10:00:00',
          receiver: w.tenant.fiscalCode,
          lines: [{ iuv: inst.iuv, iur: rid, amount: 4200 }],
        }),
      ),
      fileName: 'flusso.xml',
      source: 'upload',
      actor: SYSTEM,
    })
    const rows = await refunds({ installmentIds: [inst.id] })
    expect(rows).toMatchObject([
      {
        basis: 'ricevuta_pagopa',
        basis_ref: rid,
        amount_cents: 4200,
        status: 'proposto',
        proposal_key: `pagopa:${rid}`,
        reason_code: 'doppio_pagopa',
      },
    ])
    // the office completes it with the family's IBAN, then executes it: the installment keeps its own payment
    const id = (rows[0] as { id: number }).id
    const page = await (await office.get(`${office_()}/rimborsi/${id}`)).text()
    await expectValidHtml(page)
    expect(page).toContain('Pagato due volte')
    let res = await office.post(`${office_()}/rimborsi/${id}/apri`, {
      amount: '43',
      reason: '',
      iban: FAMILY_IBAN,
      beneficiary: 'Mario Rossi',
    })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('supera quanto resta da rimborsare di questo pagamento (42,00 euro)')
    expect(html).not.toContain('Inserisci il motivo')
    res = await office.submit(`${office_()}/rimborsi/${id}/apri`, {
      amount: '42',
      reason: 'Avviso pagato due volte',
      iban: FAMILY_IBAN,
      beneficiary: 'Mario Rossi',
    })
    expect(res.status).toBe(303)
    await office.submit(`${office_()}/rimborsi/${id}/esegui`, {
      bankReference: 'TRN 42',
      ...dateFields('executed', todayRome()),
    })
    expect(await refundedOf(inst.id)).toBe(0)
    expect((await refunds({ installmentIds: [inst.id] }))[0]?.status).toBe('eseguito')
  })

  it('a bank statement line for a notice already paid, imported twice: one proposal', async () => {
    const doc = await paidDocument([1500])
    const inst = doc.installments[0] as { id: number; iuv: string }
    const statement = (at: string) =>
      new TextEncoder().encode(
        camtXml([
          {
            id: `EC-R${doc.documentId}`,
            createdAt: at,
            iban: IBAN,
            entries: [{ amount: 1500, reference: `BNK-${doc.documentId}`, remittance: `/RFB/${inst.iuv}/15.00` }],
          },
        ]),
      )
    for (const at of ['2031-03-16T06:00:00+01:00', '2031-03-16T07:00:00+01:00'])
      await importFile(w.db.sql, w.tenant, {
        bytes: statement(at),
        fileName: 'ec.xml',
        source: 'upload',
        actor: SYSTEM,
      })
    expect(await refunds({ installmentIds: [inst.id] })).toMatchObject([
      { basis: 'riga_flusso', basis_ref: `BNK-${doc.documentId}`, amount_cents: 1500, reason_code: 'doppio_flusso' },
    ])
  })

  it('an online payment that succeeds late for an installment paid at the counter meanwhile', async () => {
    const doc = await issue(w.db, w.tenant, payer, [900])
    const inst = doc.installments[0] as { id: number }
    const account = w.accounts.cittadino
    // a provider that takes the payment and answers nothing more: the outcomes come through finish()
    const provider = {
      name: 'scripted',
      start: async (req: { paymentId: number }) => ({
        providerRef: `ref-${req.paymentId}`,
        redirectUrl: '/fake',
        expiresAt: new Date(Date.now() + 480_000),
      }),
      status: async () => ({ status: 'pending' as const, amountCents: 0, authCode: null }),
      verifyNotification: () => null,
    }
    const started = await startCheckout(w.db, w.deps.config, provider, {
      accountId: account.id,
      email: account.email,
      lang: 'it',
      idempotencyKey: `rimborso-${doc.documentId}-${'x'.repeat(30)}`,
      selection: [{ tenant: w.tenant, installmentIds: [inst.id] }],
    })
    await finish(w.db, started.paymentId, 'expired', { source: 'test', eventId: `exp-${started.paymentId}` })
    const res = await office.submit(`${office_()}/documenti/${doc.documentId}/pagamento`, {
      rata: '1',
      method: 'sportello',
      ...dateFields('paid', todayRome()),
      amount: '9',
      reference: 'Q-late',
    })
    expect(res.status).toBe(303)
    await finish(w.db, started.paymentId, 'succeeded', {
      source: 'test',
      eventId: `ok-${started.paymentId}`,
      authCode: 'A',
    })
    expect(await refunds({ installmentIds: [inst.id] })).toMatchObject([
      {
        basis: 'pagamento_online',
        amount_cents: 900,
        status: 'proposto',
        proposal_key: `checkout:${started.paymentId}:${inst.id}`,
        reason_code: 'doppio_online',
      },
    ])
  })
})
