// Several beneficiaries of one notice (decision 0104): the office gives part of a service's amounts to other bodies
// (who may, bad input refused with nothing saved); each installment's split is kept when issued and always adds up;
// paGetPaymentV2, the central archive (checked against its interface), the receipt, the printed notice and the
// reconciliation account per transfer; amounts the shares would swallow are refused by the issue form, the CSV
// import (line by line) and the correction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseImport } from '../../src/features/backoffice/imports/parse.ts'
import { planImport } from '../../src/features/backoffice/imports/plan.ts'
import { noticeFor } from '../../src/features/debts/notice-pdf.ts'
import { loadDocumentNotices } from '../../src/features/debts/queries.ts'
import { syncArchive } from '../../src/features/pagopa/archive.ts'
import { payNotice } from '../../src/features/pagopa/simulator.ts'
import { importFlow } from '../../src/features/reconciliation/service.ts'
import { addDays, formatDate, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { createLogger } from '../../src/platform/log.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { settings } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { connect, type ServedPlatform, startPlatform } from '../helpers/pagopa-platform.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { textOfPdf } from '../helpers/pdf.ts'
import { roleMatrix } from '../helpers/roles.ts'
import { type App, world } from '../helpers/world.ts'

const KEY = 'chiave-di-prova-del-nodo-beneficiari-01'
const IBAN = 'IT60X0542811101000000123456'
const OTHER_IBAN = 'IT42L1234512345123456789012'
const POSTAL_IBAN = 'IT83D0760103200000012345678'
beforeAll(() => {
  process.env.PAGOPA_NODE_KEY = KEY
})
afterAll(() => {
  delete process.env.PAGOPA_NODE_KEY
})

type Actor = 'anonimo' | 'cittadino' | 'lettore' | 'operatore' | 'admin' | 'adminAltroEnte'
const w = world({
  tenant: { settings: settings({ iban: IBAN }) },
  roles: ['cittadino', 'lettore', 'operatore', 'admin', 'adminAltroEnte'],
})
let db: Db
let x: Tenant
let app: App
let mensa: number
let payerId: number
let cf: string
let platform: ServedPlatform
const page = (p = '') => `/t/${x.slug}/ufficio/catalogo/servizi/${mensa}/beneficiari${p}`

// two bodies' fiscal codes with a valid check digit
const COMUNE_B = '00514490010'
const PROVINCIA_C = '80008750582'

beforeAll(async () => {
  ;({ db, tenant: x, app } = w)
  const [s] = await withTenant(db.sql, x, (tx) => tx<{ id: number }[]>`select id from services where code = 'mensa'`)
  mensa = s?.id as number
  cf = w.accounts.cittadino.codiceFiscale
  payerId = await givePayer(db, x, cf, ['Bea', 'Beneficiari'])
  platform = await startPlatform()
  await connect(db, x, w.deps.config.secretsKey, platform)
})
afterAll(async () => {
  await platform?.close()
})

/** The form adding a beneficiary: Comune B, a fixed € 1,00, unless these say otherwise. */
const body = (these: Record<string, string>) => ({
  fiscalCode: COMUNE_B,
  name: 'Comune B',
  iban: OTHER_IBAN,
  taxonomyCode: '0101105IM',
  taxonomyPrefix: '9/',
  remittance: 'Quota',
  shareKind: 'fisso',
  shareValue: '1,00',
  ...these,
})

const transfersOf = (documentId: number) =>
  withTenant(
    db.sql,
    x,
    (tx) => tx<{ seq: number; id_transfer: number; fiscal_code: string; amount_cents: number }[]>`
      select i.seq, t.id_transfer, t.fiscal_code, t.amount_cents::int as amount_cents
      from installment_transfers t join installments i on i.id = t.installment_id
      where i.document_id = ${documentId} order by i.seq, t.id_transfer`,
  )

describe("a service's other beneficiaries", () => {
  it('answer each actor as its role allows', async () => {
    const failures = await roleMatrix(w, {
      actors: ['anonimo', 'cittadino', 'lettore', 'operatore', 'admin', 'adminAltroEnte'] as Actor[],
      routes: [
        { method: 'GET', path: () => page(), allowed: ['lettore', 'operatore', 'admin'] },
        { method: 'POST', path: () => page(), form: { fiscalCode: '1' }, allowed: ['admin'] },
        { method: 'POST', path: () => page('/999999/rimuovi'), allowed: ['admin'] },
      ],
      answers: (route, path) => (route.method === 'GET' ? [200] : path.endsWith('rimuovi') ? [404] : [422]),
      toLogin: false,
    })
    expect(failures).toEqual([])
  })

  it('refuse bad input with every field named, keeping it, and save nothing', async () => {
    const admin = await w.client('admin')
    let res = await admin.submit(page(), {
      fiscalCode: '00514490011',
      name: 'X',
      iban: 'IT00 1234',
      postal: 'si',
      taxonomyCode: 'mensa',
      taxonomyPrefix: '5/',
      remittance: '',
      shareKind: 'percentuale',
      shareValue: '100',
    })
    expect(res.status).toBe(422)
    const html = await res.text()
    for (const f of ['fiscalCode', 'name', 'iban', 'taxonomyCode', 'taxonomyPrefix', 'remittance', 'shareValue'])
      expect(html, f).toContain(`href="#${f}"`)
    expect(html).toContain('value="00514490011"')
    await expectValidHtml(html)
    // the body itself, and a postal IBAN that is not Poste's
    res = await admin.submit(page(), body({ fiscalCode: x.fiscalCode, name: 'Se stesso' }))
    expect(res.status).toBe(422)
    res = await admin.submit(page(), body({ postal: 'si' }))
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('href="#iban"')
    const rows = await withTenant(db.sql, x, (tx) => tx`select 1 from service_beneficiaries`)
    expect(rows).toHaveLength(0)
  })

  it('are added (a percentage, a fixed amount on a postal account) and audited', async () => {
    const admin = await w.client('admin')
    let res = await admin.submit(
      page(),
      body({
        taxonomyCode: '0107101TS',
        remittance: 'Quota mensa Comune B',
        shareKind: 'percentuale',
        shareValue: '10',
      }),
    )
    expect(res.status).toBe(303)
    res = await admin.submit(
      page(),
      body({
        fiscalCode: PROVINCIA_C,
        name: 'Provincia C',
        iban: POSTAL_IBAN,
        postal: 'si',
        taxonomyCode: '0115105AP',
        remittance: 'Quota fissa Provincia C',
        shareValue: '2,00',
      }),
    )
    expect(res.status).toBe(303)
    // the percentages may not reach 100%
    res = await admin.submit(
      page(),
      body({ fiscalCode: '02438750586', name: 'Ente D', shareKind: 'percentuale', shareValue: '90' }),
    )
    expect(res.status).toBe(422)
    const html = await (await admin.get(page())).text()
    expect(html).toContain('Provincia C')
    expect(html).toContain('10,00 %')
    expect(html).toContain('€ 2,00')
    await expectValidHtml(html)
    const log = await withTenant(
      db.sql,
      x,
      (tx) => tx`select 1 from audit_log where action = 'service.beneficiary.add'`,
    )
    expect(log).toHaveLength(2)
  })
})

describe('a multi-beneficiary notice', () => {
  let documentId: number
  let installments: { id: number; noticeCode: string; iuv: string }[]

  it('keeps each installment’s split, adding up, and the node reads every transfer', async () => {
    const doc = await issue(db, x, payerId, [3000, 4500])
    documentId = doc.documentId
    installments = doc.installments
    expect(await transfersOf(documentId)).toEqual([
      { seq: 1, id_transfer: 2, fiscal_code: COMUNE_B, amount_cents: 300 },
      { seq: 1, id_transfer: 3, fiscal_code: PROVINCIA_C, amount_cents: 200 },
      { seq: 2, id_transfer: 2, fiscal_code: COMUNE_B, amount_cents: 450 },
      { seq: 2, id_transfer: 3, fiscal_code: PROVINCIA_C, amount_cents: 200 },
    ])
    const r = await payNotice({
      url: '/pagopa/nodo',
      key: KEY,
      noticeNumber: installments[0]?.noticeCode as string,
      fiscalCode: x.fiscalCode,
      version: 2,
      dryRun: true,
      fetch: async (u, i) => app.request(u, i),
    })
    const data = r.steps[1]?.answer?.children.find((c) => c.local === 'data')
    const transfers = (data?.children.find((c) => c.local === 'transferList')?.children ?? []).map((t) =>
      Object.fromEntries(t.children.map((c) => [c.local, c.text.trim()])),
    )
    expect(transfers.map((t) => [t.idTransfer, t.transferAmount, t.fiscalCodePA, t.IBAN])).toEqual([
      ['1', '25.00', x.fiscalCode, IBAN],
      ['2', '3.00', COMUNE_B, OTHER_IBAN],
      ['3', '2.00', PROVINCIA_C, POSTAL_IBAN],
    ])
    expect(transfers[1]?.companyName).toBe('Comune B')
    expect(transfers[2]?.transferCategory).toBe('9/0115105AP/')
  })

  it('the whole document at once carries each body’s sum; paid, its receipt adds up', async () => {
    const [full] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ notice_code: string }[]>`select notice_code from full_notices where document_id = ${documentId}`,
    )
    const r = await payNotice({
      url: '/pagopa/nodo',
      key: KEY,
      noticeNumber: full?.notice_code as string,
      fiscalCode: x.fiscalCode,
      version: 2,
      dryRun: true,
      fetch: async (u, i) => app.request(u, i),
    })
    const data = r.steps[1]?.answer?.children.find((c) => c.local === 'data')
    const amounts = (data?.children.find((c) => c.local === 'transferList')?.children ?? []).map(
      (t) => t.children.find((c) => c.local === 'transferAmount')?.text,
    )
    expect(amounts).toEqual(['63.50', '7.50', '4.00'])
    // the printed notices say how the amount is shared
    const printed = await withTenant(db.sql, x, (tx) => loadDocumentNotices(tx, cf, documentId))
    const data0 = noticeFor(x, 'http://localhost', 'it', { name: 'Bea', codiceFiscale: cf }, printed[0] as never)
    expect(data0.beneficiaries).toEqual([
      { name: 'Comune B', fiscalCode: COMUNE_B, amountCents: 750 },
      { name: 'Provincia C', fiscalCode: PROVINCIA_C, amountCents: 400 },
    ])
    const family = await w.client('cittadino')
    const pdf = await family.get(`/t/${x.slug}/documenti/${documentId}/avvisi.pdf`)
    expect(pdf.status).toBe(200)
    const text = textOfPdf(Buffer.from(await pdf.arrayBuffer()))
    expect(text).toContain("L'importo è ripartito tra")
    expect(text).toContain('Provincia C')
  })

  it('the central archive holds every transfer, with the postal account as such', async () => {
    await syncArchive(db, x, { secretsKey: w.deps.config.secretsKey, log: createLogger('silent') })
    const p = platform.sim.state.positions.get(`${x.fiscalCode}|${x.fiscalCode}-${documentId}`)
    const option = p?.options.find((o) => o.nav === installments[1]?.noticeCode)
    expect(option?.transfer).toEqual([
      expect.objectContaining({ idTransfer: '1', amount: 3850, iban: IBAN }),
      expect.objectContaining({ idTransfer: '2', amount: 450, iban: OTHER_IBAN, organizationFiscalCode: COMUNE_B }),
      expect.objectContaining({
        idTransfer: '3',
        amount: 200,
        postalIban: POSTAL_IBAN,
        organizationFiscalCode: PROVINCIA_C,
      }),
    ])
    expect(platform.sim.problems()).toEqual([])
  })

  it('the reconciliation expects the body’s own share in its flow', async () => {
    const i = installments[0] as { id: number; iuv: string }
    const out = await importFlow(
      db.sql,
      x,
      {
        kind: 'fdr',
        flowId: `QUOTE-${documentId}`,
        flowAt: new Date(),
        settlementRef: null,
        settlementDate: null,
        sender: 'Banca',
        receiver: x.fiscalCode,
        declaredCount: 1,
        declaredCents: 2500,
        lines: [
          {
            key: `${i.iuv}|IUR-QUOTA|1`,
            iuv: i.iuv,
            reference: 'IUR-QUOTA',
            amountCents: 2500,
            paidOn: null,
            outcomeCode: '0',
            payerName: null,
            remittance: null,
          },
        ],
        skipped: 0,
      },
      { source: 'upload', fileName: null, actor: { accountId: null, name: 'test' }, sha: `q-${documentId}` },
    )
    expect(out).toMatchObject({ matched: 1, discrepancies: 0 })
    const [paid] = await withTenant(
      db.sql,
      x,
      (tx) =>
        tx<
          { status: string; paid_cents: number }[]
        >`select status, paid_cents::int as paid_cents from installments where id = ${i.id}`,
    )
    // the family paid the whole installment; the flow brought the body's part of it
    expect(paid).toEqual({ status: 'pagato', paid_cents: 3000 })
  })

  it('a receipt that shares the money otherwise settles the installment, flagged with the split expected', async () => {
    const doc = await issue(db, x, payerId, [3000])
    const notice = doc.installments[0] as { id: number; noticeCode: string }
    const pay = (noticeNumber: string, editTransfers?: (t: Record<string, unknown>[]) => Record<string, unknown>[]) =>
      payNotice({
        url: '/pagopa/nodo',
        key: KEY,
        noticeNumber,
        fiscalCode: x.fiscalCode,
        version: 2,
        editTransfers,
        fetch: async (u, i) => app.request(u, i),
      })
    // the PSP gave Comune B what was Provincia C's and the reverse: the total is right, each body's share is not
    const r = await pay(notice.noticeCode, (t) =>
      t.map((y) =>
        y.fiscalCodePA === COMUNE_B
          ? { ...y, transferAmount: '2.00' }
          : y.fiscalCodePA === PROVINCIA_C
            ? { ...y, transferAmount: '3.00' }
            : y,
      ),
    )
    expect(r.paid).toBe(true)
    const [row] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ id: number; flag: string | null; expected_transfers: unknown; status: string }[]>`
        select r.id, r.flag, r.expected_transfers, i.status from pagopa_receipts r join installments i on i.id = r.installment_id
        where r.receipt_id = ${r.receiptId as string}`,
    )
    expect(row).toMatchObject({
      flag: 'transfers_mismatch',
      status: 'pagato',
      expected_transfers: [
        { fiscalCode: x.fiscalCode, amountCents: 2500 },
        { fiscalCode: COMUNE_B, amountCents: 300 },
        { fiscalCode: PROVINCIA_C, amountCents: 200 },
      ],
    })
    // the office sees it among the receipts to look at, and on its page both splits side by side
    const office = await w.client('operatore')
    const list = await (await office.get(`/t/${x.slug}/ufficio/pagopa`)).text()
    expect(list).toContain('Ripartizione diversa dall&#39;avviso')
    const res = await office.get(`/t/${x.slug}/ufficio/pagopa/ricevute/${row?.id}`)
    const html = await res.text()
    expect(res.status).toBe(200)
    expectValidHtml(html)
    expect(html).toContain('Ripartizione attesa')
    expect(html.match(/\(diversa\)/g)).toHaveLength(2)
    // a receipt that gives each body its share is not flagged, nor is the single-payment notice's, summed per body
    const single = await pay((await issue(db, x, payerId, [1800])).installments[0]?.noticeCode as string)
    const other = await issue(db, x, payerId, [3000, 4500])
    const [whole2] = await withTenant(
      db.sql,
      x,
      (tx) =>
        tx<{ notice_code: string }[]>`select notice_code from full_notices where document_id = ${other.documentId}`,
    )
    const summed = await pay(whole2?.notice_code as string)
    expect(summed.paid).toBe(true)
    const flags = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ flag: string | null }[]>`
        select flag from pagopa_receipts where receipt_id = any(${[single.receiptId, summed.receiptId] as string[]})`,
    )
    expect(single.paid).toBe(true)
    expect(flags).toEqual([{ flag: null }, { flag: null }])
  })

  it('an amount the shares would swallow is refused by the issue form, the CSV import and the correction', async () => {
    const office = await w.client('operatore')
    const today = todayRome()
    const dates = (iso: string) => {
      const [y, m, d] = iso.split('-') as [string, string, string]
      return { 'due-1-day': d, 'due-1-month': m, 'due-1-year': y }
    }
    await office.get(`/t/${x.slug}/ufficio/documenti/nuovo`)
    const res = await office.post(`/t/${x.slug}/ufficio/documenti/nuovo`, {
      service: String(mensa),
      payerCf: cf,
      pupilCf: '',
      description: 'Mensa, conguaglio',
      year: today.slice(0, 4),
      mode: 'even',
      total: '2,00',
      count: '1',
      ...dates(addDays(today, 10)),
    })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('href="#service"')
    // CSV: the line is named, nothing is planned
    const csv = [
      'cf_intestatario;nome_intestatario;cognome_intestatario;servizio;anno;descrizione;importo;rate;scadenze',
      `${cf};Bea;Beneficiari;mensa;${today.slice(0, 4)};Mensa piccola;2,00;1;${formatDate(addDays(today, 10))}`,
    ].join('\n')
    const plan = await withTenant(db.sql, x, (tx) => planImport(tx, parseImport(csv)))
    expect(plan.problems).toEqual([
      expect.objectContaining({ line: 2, code: 'splitTooSmall', params: { amount: '2,01' } }),
    ])
    expect(plan.lines).toEqual([])
    // a correction below the shares, then one that re-splits
    const doc = await issue(db, x, payerId, [5000])
    const [d1] = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ due_date: string }[]>`select due_date from installments where document_id = ${doc.documentId}`,
    )
    const due = dates(d1?.due_date as string)
    const correct = (amount: string) =>
      office.submit(`/t/${x.slug}/ufficio/documenti/${doc.documentId}/correggi`, {
        description: 'Mensa scolastica, primo trimestre',
        open: '1',
        'due-1-day': due['due-1-day'],
        'due-1-month': due['due-1-month'],
        'due-1-year': due['due-1-year'],
        'amount-1': amount,
        reason: 'Importo rivisto',
      })
    let c = await correct('1,50')
    expect(c.status).toBe(422)
    expect(await c.text()).toContain('href="#amount-1"')
    c = await correct('80,00')
    expect(c.status).toBe(303)
    expect((await transfersOf(doc.documentId)).map((t) => t.amount_cents)).toEqual([800, 200])
  })
})
