// Back office documents: payers and pupils with their links, issuing one document (form → check → issue),
// cancelling and correcting with their effects on the citizen's side, IUV retry and chunked issuing.
import { beforeAll, describe, expect, it } from 'vitest'
import { issueDocuments } from '../../src/features/debts/issue.ts'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { baseFromSequence, buildNotice } from '../../src/platform/it/pagopa.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { randomCf, signedIn, type TestAccount } from '../helpers/accounts.ts'
import type { Client } from '../helpers/client.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { type App, world } from '../helpers/world.ts'

const w = world({ roles: { operatore: { givenName: 'Olga', familyName: 'Operatrice' }, cittadino: {} } })
let db: Db
let app: App
let tenant: Tenant
let citizen: TestAccount
let office: Client
const base = () => `/t/${tenant.slug}/ufficio`

function dateFields(name: string, iso: string) {
  const [y, m, d] = iso.split('-') as [string, string, string]
  return { [`${name}-day`]: d, [`${name}-month`]: m, [`${name}-year`]: y }
}

async function q<T>(fn: (tx: Parameters<Parameters<typeof withTenant>[2]>[0]) => Promise<T>): Promise<T> {
  return withTenant(db.sql, tenant, fn)
}

beforeAll(async () => {
  ;({ db, app, tenant } = w)
  citizen = w.accounts.cittadino
  office = await w.client('operatore')
})

describe('payers and pupils', () => {
  it('creates a payer and a pupil, links two payers with one holder, switches the holder in one step', async () => {
    const otherCf = randomCf()
    let res = await office.submit(`${base()}/anagrafiche/intestatari/nuovo`, {
      codiceFiscale: citizen.codiceFiscale.toLowerCase(),
      givenName: 'Maria',
      familyName: 'Bianchi',
      email: 'maria@example.it',
    })
    expect(res.status).toBe(303)
    const payerPath = res.headers.get('location') as string
    expect((await office.get(payerPath)).status).toBe(200)
    res = await office.submit(`${base()}/anagrafiche/intestatari/nuovo`, {
      codiceFiscale: otherCf,
      givenName: 'Paolo',
      familyName: 'Bianchi',
    })
    expect(res.status).toBe(303)
    // the same codice fiscale twice: 422, nothing saved
    res = await office.submit(`${base()}/anagrafiche/intestatari/nuovo`, {
      codiceFiscale: otherCf,
      givenName: 'Paolo',
      familyName: 'Doppio',
    })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('Esiste già un intestatario')
    const pupilCf = randomCf()
    res = await office.submit(`${base()}/anagrafiche/alunni/nuovo`, {
      codiceFiscale: pupilCf,
      givenName: 'Gianni',
      familyName: 'Bianchi',
      ...dateFields('birthDate', '2016-05-04'),
    })
    expect(res.status).toBe(303)
    const pupilPath = (res.headers.get('location') as string).split('?')[0] as string
    // link both parents: the first becomes the holder
    await office.get(pupilPath)
    expect(
      (await office.post(`${pupilPath}/collega`, { payerCf: citizen.codiceFiscale, relation: 'genitore' })).status,
    ).toBe(303)
    await office.get(pupilPath)
    expect((await office.post(`${pupilPath}/collega`, { payerCf: otherCf, relation: 'genitore' })).status).toBe(303)
    const pupilId = Number(pupilPath.split('/').pop())
    const holders = () =>
      q(
        (tx) => tx<{ codice_fiscale: string }[]>`
        select p.codice_fiscale from pupil_payers pp join payers p on p.id = pp.payer_id where pp.pupil_id = ${pupilId} and pp.holder`,
      )
    expect((await holders()).map((h) => h.codice_fiscale)).toEqual([citizen.codiceFiscale])
    // the holder cannot leave while another payer is linked
    const [me] = await q(
      (tx) => tx<{ id: number }[]>`select id from payers where codice_fiscale = ${citizen.codiceFiscale}`,
    )
    const [other] = await q((tx) => tx<{ id: number }[]>`select id from payers where codice_fiscale = ${otherCf}`)
    await office.get(pupilPath)
    res = await office.post(`${pupilPath}/scollega`, { payer: String(me?.id) })
    expect(res.status).toBe(422)
    await office.get(pupilPath)
    expect((await office.post(`${pupilPath}/titolare`, { payer: String(other?.id) })).status).toBe(303)
    expect((await holders()).map((h) => h.codice_fiscale)).toEqual([otherCf])
    // search by name and by codice fiscale
    const byName = await (await office.get(`${base()}/anagrafiche?q=bianchi`)).text()
    expect(byName).toContain('Gianni')
    expect(byName).toContain('Maria')
    const byCf = await (await office.get(`${base()}/anagrafiche?q=${otherCf.toLowerCase()}`)).text()
    expect(byCf).toContain('Paolo')
    expect(byCf).not.toContain('Maria')
    // every change is in the audit log
    const actions = await q((tx) => tx<{ action: string }[]>`select action from audit_log order by id`)
    expect(actions.map((a) => a.action)).toEqual(
      expect.arrayContaining(['payer.create', 'pupil.create', 'pupil.link', 'pupil.holder']),
    )
  })
})

describe('issuing, cancelling and correcting a document', () => {
  let documentId: number
  const today = todayRome()

  it('issues one document with the total split evenly, remainder on the last installment', async () => {
    const [svc] = await q((tx) => tx<{ id: number }[]>`select id from services where code = 'mensa'`)
    const form = {
      service: String(svc?.id),
      payerCf: citizen.codiceFiscale,
      pupilCf: '',
      description: 'Mensa scolastica primo trimestre',
      year: today.slice(0, 4),
      mode: 'even',
      total: '100,00',
      count: '3',
      ...dateFields('due-1', addDays(today, 10)),
      ...dateFields('due-2', addDays(today, 40)),
      ...dateFields('due-3', addDays(today, 70)),
    }
    // the check page first: nothing created yet
    const check = await office.submit(`${base()}/documenti/nuovo`, form)
    expect(check.status).toBe(200)
    const html = await check.text()
    expect(html).toContain('Controlla prima di emettere')
    await expectValidHtml(html)
    expect(html).toContain('33,34')
    const before = await q((tx) => tx<{ n: number }[]>`select count(*)::int as n from documents`)
    expect(before[0]?.n).toBe(0)
    const res = await office.post(`${base()}/documenti/nuovo/conferma`, form)
    expect(res.status).toBe(303)
    documentId = Number(/documenti\/(\d+)/.exec(res.headers.get('location') as string)?.[1])
    const rows = await q(
      (tx) => tx<{ amount_cents: number; iuv: string; notice_code: string }[]>`
      select amount_cents, iuv, notice_code from installments where document_id = ${documentId} order by seq`,
    )
    expect(rows.map((r) => r.amount_cents)).toEqual([3333, 3333, 3334])
    for (const r of rows) {
      expect(r.iuv).toMatch(/^[0-9]{17}$/)
      expect(r.notice_code).toBe(`3${r.iuv}`)
    }
    // the citizen's platform index knows this tenant bills them
    const idx =
      await db.sql`select 1 from platform.payer_index where codice_fiscale = ${citizen.codiceFiscale} and tenant_id = ${tenant.id}`
    expect(idx.length).toBe(1)
    // a second confirm of the same form is a duplicate: 422, nothing more created
    await office.get(`${base()}/documenti/nuovo`)
    const again = await office.post(`${base()}/documenti/nuovo/conferma`, form)
    expect(again.status).toBe(422)
    expect(await again.text()).toContain('Esiste già un documento uguale')
    const after = await q((tx) => tx<{ n: number }[]>`select count(*)::int as n from documents`)
    expect(after[0]?.n).toBe(1)
  })

  it('refuses bad input of the issue form with 422 and every problem named', async () => {
    const res = await office.submit(`${base()}/documenti/nuovo`, {
      service: '',
      payerCf: 'RSSMRA80A01H501X',
      description: 'x',
      year: '20',
      mode: 'explicit',
      count: '2',
      'due-1-day': '31',
      'due-1-month': '2',
      'due-1-year': '2026',
      'amount-1': 'dieci',
    })
    expect(res.status).toBe(422)
    const html = await res.text()
    for (const href of [
      '#service',
      '#payerCf',
      '#description',
      '#year',
      '#due-1-day',
      '#amount-1',
      '#due-2-day',
      '#amount-2',
    ])
      expect(html).toContain(`href="${href}"`)
    expect(html).toContain('value="dieci"')
    await expectValidHtml(html)
  })

  it('corrects an unpaid installment keeping its IUV, with the reason in the audit log', async () => {
    const [first] = await q(
      (tx) => tx<{ iuv: string }[]>`select iuv from installments where document_id = ${documentId} and seq = 1`,
    )
    const page = await office.get(`${base()}/documenti/${documentId}/correggi`)
    expect(page.status).toBe(200)
    const res = await office.post(`${base()}/documenti/${documentId}/correggi`, {
      open: '1,2,3',
      description: 'Mensa scolastica primo trimestre (corretto)',
      ...dateFields('due-1', addDays(today, 12)),
      'amount-1': '40,00',
      ...dateFields('due-2', addDays(today, 40)),
      'amount-2': '33,33',
      ...dateFields('due-3', addDays(today, 70)),
      'amount-3': '33,34',
      reason: 'Tariffa aggiornata dalla delibera',
    })
    expect(res.status).toBe(303)
    const rows = await q(
      (tx) => tx<{ iuv: string; amount_cents: number; due_date: string }[]>`
      select iuv, amount_cents, due_date from installments where document_id = ${documentId} order by seq`,
    )
    expect(rows[0]).toEqual({ iuv: first?.iuv, amount_cents: 4000, due_date: addDays(today, 12) })
    const [doc] = await q(
      (tx) => tx<{ total_cents: number }[]>`select total_cents from documents where id = ${documentId}`,
    )
    expect(doc?.total_cents).toBe(4000 + 3333 + 3334)
    const [entry] = await q(
      (tx) => tx<{ reason: string; before: { installments: unknown[] } }[]>`
      select reason, before from audit_log where action = 'document.correct' and entity_id = ${String(documentId)}`,
    )
    expect(entry?.reason).toBe('Tariffa aggiornata dalla delibera')
    expect(entry?.before.installments).toHaveLength(1)
    // bad correction: 422, nothing changed
    await office.get(`${base()}/documenti/${documentId}/correggi`)
    const bad = await office.post(`${base()}/documenti/${documentId}/correggi`, {
      open: '1,2,3',
      description: 'Mensa',
      ...dateFields('due-1', addDays(today, 50)),
      'amount-1': '0',
      ...dateFields('due-2', addDays(today, 40)),
      'amount-2': '33,33',
      ...dateFields('due-3', addDays(today, 70)),
      'amount-3': '33,34',
      reason: '',
    })
    expect(bad.status).toBe(422)
    const html = await bad.text()
    expect(html).toContain('href="#amount-1"')
    expect(html).toContain('href="#due-2-day"')
    expect(html).toContain('href="#reason"')
    const [still] = await q(
      (tx) =>
        tx<
          { amount_cents: number }[]
        >`select amount_cents from installments where document_id = ${documentId} and seq = 1`,
    )
    expect(still?.amount_cents).toBe(4000)
  })

  it('refuses to cancel while an installment is being paid, then cancels: the citizen sees annullato and cannot pay', async () => {
    const [inst] = await q(
      (tx) => tx<{ id: number }[]>`select id from installments where document_id = ${documentId} and seq = 2`,
    )
    await q((tx) => tx`update installments set status = 'in_corso' where id = ${inst?.id as number}`)
    await office.get(`${base()}/documenti/${documentId}/annulla`)
    let res = await office.post(`${base()}/documenti/${documentId}/annulla`, { reason: 'Emesso per errore' })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('in corso di pagamento')
    await q((tx) => tx`update installments set status = 'da_pagare' where id = ${inst?.id as number}`)
    // no reason: 422
    await office.get(`${base()}/documenti/${documentId}/annulla`)
    res = await office.post(`${base()}/documenti/${documentId}/annulla`, { reason: '' })
    expect(res.status).toBe(422)
    let [doc] = await q(
      (tx) => tx<{ cancelled_at: Date | null }[]>`select cancelled_at from documents where id = ${documentId}`,
    )
    expect(doc?.cancelled_at).toBeNull()
    await office.get(`${base()}/documenti/${documentId}/annulla`)
    res = await office.post(`${base()}/documenti/${documentId}/annulla`, { reason: 'Emesso per errore' })
    expect(res.status).toBe(303)
    ;[doc] = await q(
      (tx) => tx<{ cancelled_at: Date | null }[]>`select cancelled_at from documents where id = ${documentId}`,
    )
    expect(doc?.cancelled_at).not.toBeNull()
    const statuses = await q(
      (tx) => tx<{ status: string }[]>`select status from installments where document_id = ${documentId}`,
    )
    expect(statuses.every((s) => s.status === 'annullato')).toBe(true)
    // the citizen's side
    const me = await signedIn(app, citizen)
    const page = await me.get(`/t/${tenant.slug}/documenti/${documentId}`)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('Annullato')
    expect(html).toContain('Emesso per errore')
    expect(html).not.toContain('name="rate"')
    const ids = (
      await q((tx) => tx<{ id: number }[]>`select id from installments where document_id = ${documentId}`)
    ).map((r) => r.id)
    // a crafted request to cart it: whatever the cart does with it, it is never payable
    await me.post('/carrello/aggiungi', { ente: tenant.slug, rate: ids.map(String), torna: '/carrello' })
    const cart = await (await me.get('/carrello')).text()
    expect(cart).not.toContain('name="chiave"')
    const summary = await me.get('/carrello/riepilogo')
    expect(summary.status).toBe(303)
    const notice = await me.get(`/t/${tenant.slug}/avvisi/${ids[0]}.pdf`)
    expect(notice.status).toBe(404)
    // the audit log records the cancellation with its reason
    const [entry] = await q(
      (tx) => tx<{ reason: string }[]>`
      select reason from audit_log where action = 'document.cancel' and entity_id = ${String(documentId)}`,
    )
    expect(entry?.reason).toBe('Emesso per errore')
  })
})

describe('issueDocuments', () => {
  it('takes fresh IUVs when the next ones are already taken by notices made elsewhere', async () => {
    const r = await q(async (tx) => {
      const [svc] = await tx<{ id: number }[]>`select id from services where code = 'nido'`
      const [payer] = await tx<{ id: number }[]>`
        insert into payers (codice_fiscale, given_name, family_name) values (${randomCf()}, 'Iva', 'Iuv') returning id`
      const [{ n } = { n: 0 }] = await tx<{ n: number }[]>`select last_value as n from iuv_seq`
      // a notice imported from a previous system holds the IUVs the sequence would give next
      const [doc] = await tx<{ id: number }[]>`
        insert into documents (year, number, issue_date, service_id, payer_id, description, total_cents)
        values (2026, 'OLD-1', ${todayRome()}, ${svc?.id as number}, ${payer?.id as number}, 'Importato', 100) returning id`
      for (const k of [1, 2]) {
        const { iuv, noticeCode } = buildNotice(tenant.segregationCode, baseFromSequence(n + k))
        await tx`insert into installments (document_id, seq, due_date, amount_cents, iuv, notice_code)
          values (${doc?.id as number}, ${k}, ${todayRome()}, 50, ${iuv}, ${noticeCode})`
      }
      return issueDocuments(tx, tenant, [
        {
          year: 2026,
          issueDate: todayRome(),
          serviceId: svc?.id as number,
          payerId: payer?.id as number,
          pupilId: null,
          description: 'Retta nido',
          installments: [
            { dueDate: addDays(todayRome(), 5), amountCents: 1000 },
            { dueDate: addDays(todayRome(), 35), amountCents: 1000 },
            { dueDate: addDays(todayRome(), 65), amountCents: 1000 },
          ],
        },
      ])
    })
    expect(r.installments).toHaveLength(3)
    expect(new Set(r.installments.map((i) => i.iuv)).size).toBe(3)
  })

  it('issues more than 5,000 documents in chunks, each with its own installments', async () => {
    const r = await q(async (tx) => {
      const [svc] = await tx<{ id: number }[]>`select id from services where code = 'trasporto'`
      const [payer] = await tx<{ id: number }[]>`
        insert into payers (codice_fiscale, given_name, family_name) values (${randomCf()}, 'Tanti', 'Documenti') returning id`
      const docs = Array.from({ length: 5200 }, (_, i) => ({
        year: 2030,
        issueDate: todayRome(),
        serviceId: svc?.id as number,
        payerId: payer?.id as number,
        pupilId: null,
        description: `Trasporto ${i}`,
        installments: [{ dueDate: addDays(todayRome(), 30), amountCents: 100 + i }],
      }))
      const out = await issueDocuments(tx, tenant, docs)
      const check = await tx<{ description: string; amount_cents: number }[]>`
        select d.description, i.amount_cents from documents d join installments i on i.document_id = d.id
        where d.id = any(${[out.documentIds[0] as number, out.documentIds[5100] as number]}) order by d.id`
      await tx`delete from installments where document_id = any(${out.documentIds})`
      await tx`delete from documents where id = any(${out.documentIds})`
      return { out, check }
    })
    expect(r.out.documentIds).toHaveLength(5200)
    expect(r.check).toEqual([
      { description: 'Trasporto 0', amount_cents: 100 },
      { description: 'Trasporto 5100', amount_cents: 5200 },
    ])
  })
})
