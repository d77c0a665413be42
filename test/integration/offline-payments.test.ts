// Payments the office records itself (at the counter, by bank transfer, another channel): the installments settle
// once through the common settlement, the audit log says who and how, the family sees them in its archive with their
// channel; bad input is a 422 with nothing saved; a lettore, a citizen and another body cannot; the node can no longer
// collect a notice the office recorded as paid.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { payNotice } from '../../src/features/pagopa/simulator.ts'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { withTenant } from '../../src/platform/db.ts'
import type { Client } from '../helpers/client.ts'
import { settings } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { world } from '../helpers/world.ts'

const NODE_KEY = 'chiave-del-nodo-per-i-pagamenti-esterni-01'
beforeAll(() => {
  process.env.PAGOPA_NODE_KEY = NODE_KEY
})
afterAll(() => {
  delete process.env.PAGOPA_NODE_KEY
})
const w = world({
  tenant: { settings: settings({ iban: 'IT60X0542811101000000123456' }) },
  roles: ['operatore', 'lettore', 'cittadino', 'adminAltroEnte'],
})
let office: Client
const base = () => `/t/${w.tenant.slug}/ufficio/documenti`

function dateFields(name: string, iso: string) {
  const [y, m, d] = iso.split('-') as [string, string, string]
  return { [`${name}-day`]: d, [`${name}-month`]: m, [`${name}-year`]: y }
}

/** A complete form: the office's usual answers, then these. */
function paymentForm(these: Record<string, string | string[]> = {}) {
  return { rata: '1', method: 'altro', ...dateFields('paid', todayRome()), amount: '20', reference: 'R', ...these }
}

async function installments(documentId: number) {
  return withTenant(
    w.db.sql,
    w.tenant,
    (tx) =>
      tx<
        {
          seq: number
          status: string
          paid_cents: number | null
          source: string | null
          channel: string | null
          note: string | null
          receipt_number: string | null
          paid_on: string | null
        }[]
      >`
      select i.seq, i.status, i.paid_cents, ip.source, ip.channel, ip.note, ip.receipt_number,
        to_char(ip.paid_at at time zone 'Europe/Rome', 'YYYY-MM-DD') as paid_on
      from installments i left join installment_payments ip on ip.installment_id = i.id
      where i.document_id = ${documentId} order by i.seq`,
  )
}

async function snapshot(documentId: number) {
  return withTenant(w.db.sql, w.tenant, async (tx) => {
    const [r] = await tx<{ paid: number; audits: number }[]>`
      select (select count(*)::int from installment_payments ip join installments i on i.id = ip.installment_id
              where i.document_id = ${documentId}) as paid,
             (select count(*)::int from audit_log where entity = 'document' and entity_id = ${String(documentId)}) as audits`
    return r
  })
}

let payer = 0
beforeAll(async () => {
  office = await w.client('operatore')
  payer = await givePayer(w.db, w.tenant, w.accounts.cittadino.codiceFiscale)
})

describe('a payment the office received itself', () => {
  it('settles the installments chosen, once, with the channel, reference and note; audited; the family sees it', async () => {
    const { documentId } = await issue(w.db, w.tenant, payer, [2500, 2500, 3000])
    // issued ten days ago: the payment was made yesterday
    await withTenant(
      w.db.sql,
      w.tenant,
      (tx) => tx`update documents set issue_date = ${addDays(todayRome(), -10)} where id = ${documentId}`,
    )
    const form = await office.get(`${base()}/${documentId}/pagamento?rata=2`)
    expect(form.status).toBe(200)
    const html = await form.text()
    await expectValidHtml(html)
    expect(html).toMatch(/id="rata-2" name="rata" type="checkbox" value="2" checked/)
    expect(html).not.toMatch(/id="rata-1"[^>]*checked/)

    const yesterday = addDays(todayRome(), -1)
    const res = await office.submit(
      `${base()}/${documentId}/pagamento?rata=2`,
      {
        rata: ['1', '2'],
        method: 'sportello',
        ...dateFields('paid', yesterday),
        amount: '50,00',
        reference: 'Quietanza 2026/118',
        note: 'Pagato in contanti dalla madre',
      },
      `${base()}/${documentId}/pagamento`,
    )
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`${base()}/${documentId}?fatto=pagato`)
    const rows = await installments(documentId)
    expect(rows.map((r) => [r.seq, r.status, r.paid_cents, r.source, r.channel])).toEqual([
      [1, 'pagato', 2500, 'manuale', 'sportello'],
      [2, 'pagato', 2500, 'manuale', 'sportello'],
      [3, 'da_pagare', null, null, null],
    ])
    expect(rows[0]).toMatchObject({
      note: 'Pagato in contanti dalla madre',
      receipt_number: 'Quietanza 2026/118',
      paid_on: yesterday,
    })

    // the office's page says how it was paid; the log says who did it
    const page = await (await office.get(`${base()}/${documentId}?fatto=pagato`)).text()
    expect(page).toContain('Pagamento registrato')
    expect(page).toContain('Pagata allo sportello il')
    expect(page).toContain('Quietanza 2026/118')
    const [log] = await withTenant(
      w.db.sql,
      w.tenant,
      (tx) =>
        tx<{ actor_name: string; action: string; reason: string; after: { amountCents: number; method: string } }[]>`
        select actor_name, action, reason, after from audit_log where entity = 'document' and entity_id = ${String(documentId)}`,
    )
    expect(log).toMatchObject({ action: 'document.offlinePayment', reason: 'allo sportello – Quietanza 2026/118' })
    expect(log?.after).toMatchObject({ amountCents: 5000, method: 'sportello' })

    // the family: both installments in its archive, at the body's counter; its position shows them paid
    const citizen = await w.client('cittadino')
    const archive = await (await citizen.get('/archivio')).text()
    expect(archive.match(/Allo sportello dell&#39;ente/g)?.length).toBe(2)
    expect(archive).not.toContain('Pagato in contanti dalla madre')

    // the whole rest of the document: the default choice is every open installment
    const rest = await (await office.get(`${base()}/${documentId}/pagamento`)).text()
    expect(rest).toMatch(/id="rata-3" name="rata" type="checkbox" value="3" checked/)
    expect(rest).not.toContain('id="rata-1"')
    const transfer = await office.submit(`${base()}/${documentId}/pagamento`, {
      rata: '3',
      method: 'bonifico',
      ...dateFields('paid', todayRome()),
      amount: '30',
      reference: 'TRN 0306912345678901',
    })
    expect(transfer.status).toBe(303)
    expect((await installments(documentId)).map((r) => r.channel)).toEqual(['sportello', 'sportello', 'bonifico'])
    // nothing left to record: the form sends the office back to the document
    const none = await office.get(`${base()}/${documentId}/pagamento`)
    expect(none.status).toBe(303)
  })

  it('refuses bad input with 422, every problem named and linked, the input kept and nothing saved', async () => {
    const { documentId } = await issue(w.db, w.tenant, payer, [2000, 2000])
    const before = await snapshot(documentId)
    const path = `${base()}/${documentId}/pagamento`
    let res = await office.submit(path, {
      method: '',
      reference: '',
      amount: 'dieci',
      'paid-day': '31',
      'paid-month': '2',
      'paid-year': '2026',
    })
    expect(res.status).toBe(422)
    let html = await res.text()
    await expectValidHtml(html)
    for (const [href, text] of [
      ['#rata-1', 'Scegli almeno una rata'],
      ['#method', 'Scegli come è stato pagato'],
      ['#paid-day', 'La data del pagamento deve essere una data vera'],
      ['#amount', 'L&#39;importo deve essere in euro'],
      ['#reference', 'Inserisci il riferimento del pagamento'],
    ])
      expect(html).toContain(`<a href="${href}">${text}`)
    expect(html).toContain('value="dieci"')

    // a day still to come, and an amount that is not what is due
    res = await office.submit(path, {
      rata: ['1', '2'],
      method: 'altro',
      ...dateFields('paid', addDays(todayRome(), 1)),
      amount: '20,00',
      reference: 'Compensazione',
      note: 'x'.repeat(501),
    })
    expect(res.status).toBe(422)
    html = await res.text()
    expect(html).toContain('La data del pagamento non può essere nel futuro')
    expect(html).toContain('L&#39;importo ricevuto deve essere il totale delle rate scelte (40,00 euro)')
    expect(html).toContain('La nota deve avere al massimo 500 caratteri')
    expect(html).toMatch(/value="altro" checked/)
    expect(html).toContain('value="Compensazione"')

    // an installment of another document, or one already paid
    res = await office.submit(path, paymentForm({ rata: '7' }))
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('Le rate scelte non sono di questo documento')
    expect(await snapshot(documentId)).toEqual(before)

    await office.submit(path, paymentForm({ reference: 'R1' }))
    const paidOnce = await snapshot(documentId)
    res = await office.post(path, paymentForm({ reference: 'R2' }))
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('Le rate 1 risultano già pagate o annullate')
    expect(await snapshot(documentId)).toEqual(paidOnce)
    expect((await installments(documentId))[0]?.receipt_number).toBe('R1')
  })

  it('two clerks recording the same installment at once: it is paid once', async () => {
    const { documentId } = await issue(w.db, w.tenant, payer, [1500])
    const path = `${base()}/${documentId}/pagamento`
    const second = await w.client('operatore')
    await office.get(path)
    await second.get(path)
    const form = paymentForm({ method: 'sportello', amount: '15', reference: 'Q' })
    const answers = await Promise.all([office.post(path, form), second.post(path, form)])
    expect(answers.map((r) => r.status).sort()).toEqual([303, 422])
    expect(await snapshot(documentId)).toMatchObject({ paid: 1, audits: 1 })
  })

  it('a lettore, a citizen and another body cannot; an unknown document is a 404', async () => {
    const { documentId } = await issue(w.db, w.tenant, payer, [1000])
    const path = `${base()}/${documentId}/pagamento`
    const form = paymentForm({ method: 'sportello', amount: '10', reference: 'Q' })
    for (const who of ['lettore', 'cittadino', 'adminAltroEnte'] as const) {
      const c = await w.client(who)
      expect((await c.get(path)).status, who).toBe(403)
      expect((await c.post(path, form)).status, who).toBe(403)
    }
    const anonymous = await w.client('anonimo')
    expect((await anonymous.get(path)).status).toBe(303)
    expect((await office.get(`${base()}/999999/pagamento`)).status).toBe(404)
    expect((await installments(documentId))[0]?.status).toBe('da_pagare')
    // the lettore does not see the action on the document either
    const reader = await w.client('lettore')
    expect(await (await reader.get(`${base()}/${documentId}`)).text()).not.toContain('/pagamento"')
  })

  it('after the office records a notice as paid, the pagoPA node can no longer collect it', async () => {
    const {
      documentId,
      installments: [first],
    } = await issue(w.db, w.tenant, payer, [4200])
    await office.submit(
      `${base()}/${documentId}/pagamento`,
      paymentForm({ method: 'bonifico', amount: '42', reference: 'CRO 1234' }),
    )
    const r = await payNotice({
      url: '/pagopa/nodo',
      key: NODE_KEY,
      noticeNumber: (first as { noticeCode: string }).noticeCode,
      fiscalCode: w.tenant.fiscalCode,
      fetch: async (u, i) => w.app.request(u, i),
    })
    expect(r.paid).toBe(false)
    expect(r.steps[0]?.faultCode).toBe('PAA_PAGAMENTO_DUPLICATO')
    expect((await installments(documentId))[0]).toMatchObject({ paid_cents: 4200, source: 'manuale' })
  })
})
