// Reconciliation: the pagoPA sample flow and a camt.053 statement with every kind of match and discrepancy,
// idempotent re-import and replacement by a later version, the drop folder, the upload and resolve pages,
// provider status recovery through the job, 100,000 lines with a handful of statements (their time: npm run
// bench), and crash-and-rerun as a property.
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DocumentInput, issueDocuments } from '../../src/features/debts/issue.ts'
import { settleInstallments } from '../../src/features/payments/settle.ts'
import { importDropFolder } from '../../src/features/reconciliation/folder.ts'
import { iuvFromRemittance, parseDateTime, parseFlowFile } from '../../src/features/reconciliation/parse.ts'
import { importFile, resolveDiscrepancy } from '../../src/features/reconciliation/service.ts'
import { findJob } from '../../src/jobs/registry.ts'
import { runJobNow } from '../../src/jobs/runner.ts'
import { lastTenantRun } from '../../src/jobs/runs.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { addMembership, createAccount, deleteAccounts, signedIn, type TestAccount } from '../helpers/accounts.ts'
import { startServer } from '../helpers/app.ts'
import type { Client } from '../helpers/client.ts'
import { countStatements, createTestTenant, dropTestTenant, openTestDb } from '../helpers/db.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { payAtSandbox } from '../helpers/payments.ts'

let db: Db
let tenant: Tenant
let server: Awaited<ReturnType<typeof startServer>>
let admin: TestAccount
let citizen: TestAccount
let flowsDir: string
const SYSTEM = { accountId: null, name: 'sistema' }

beforeAll(async () => {
  db = await openTestDb()
  tenant = await createTestTenant(db)
  server = await startServer(db)
  admin = await createAccount(db, { givenName: 'Rita', familyName: 'Ragioneria' })
  citizen = await createAccount(db)
  await addMembership(db, admin.id, tenant.id, 'admin')
  flowsDir = await mkdtemp(join(tmpdir(), 'sportello-flussi-'))
})

afterAll(async () => {
  await server?.close()
  await db.sql`delete from platform.payments where account_id = ${citizen.id}`
  await db.sql`delete from platform.job_runs where job = 'reconciliation' and details->'tenants' ? ${tenant.slug}`
  await deleteAccounts(db, [admin, citizen])
  await dropTestTenant(db, tenant)
  await rm(flowsDir, { recursive: true, force: true })
  await db.close()
})

interface Issued {
  id: number
  iuv: string
  noticeCode: string
  amount: number
}

/** Issues one document per amount (to the citizen's payer); returns the installments. */
async function issue(t: Tenant, amounts: number[], description = 'Mensa scolastica'): Promise<Issued[]> {
  return withTenant(db.sql, t, async (tx) => {
    const [payer] = await tx<{ id: number }[]>`
      insert into payers (codice_fiscale, given_name, family_name) values (${citizen.codiceFiscale}, 'Mario', 'Rossi')
      on conflict (codice_fiscale) do update set given_name = excluded.given_name returning id`
    const pid = payer?.id as number
    const [svc] = await tx<{ id: number }[]>`select id from services where code = 'mensa'`
    const docs: DocumentInput[] = amounts.map((a) => ({
      year: 2031,
      issueDate: '2031-01-10',
      serviceId: svc?.id as number,
      payerId: pid,
      pupilId: null,
      description,
      installments: [{ dueDate: '2031-03-31', amountCents: a }],
    }))
    const r = await issueDocuments(tx, t, docs)
    return r.installments.map((i, k) => ({
      id: i.id,
      iuv: i.iuv,
      noticeCode: i.noticeCode,
      amount: amounts[k] as number,
    }))
  })
}

const euros = (cents: number) => `${Math.trunc(cents / 100)}.${String(cents % 100).padStart(2, '0')}`

interface FdrLine {
  iuv: string
  iur: string
  cents: number
  esito?: string
  date?: string
}

function fdr(flowId: string, at: string, lines: FdrLine[], receiver = tenant.fiscalCode): string {
  const rows = lines
    .map(
      (l, i) => `<datiSingoliPagamenti><identificativoUnivocoVersamento>${l.iuv}</identificativoUnivocoVersamento>
<identificativoUnivocoRiscossione>${l.iur}</identificativoUnivocoRiscossione><indiceDatiSingoloPagamento>${(i % 5) + 1}</indiceDatiSingoloPagamento>
<singoloImportoPagato>${euros(l.cents)}</singoloImportoPagato><codiceEsitoSingoloPagamento>${l.esito ?? '0'}</codiceEsitoSingoloPagamento>
<dataEsitoSingoloPagamento>${l.date ?? '2031-03-14'}</dataEsitoSingoloPagamento></datiSingoliPagamenti>`,
    )
    .join('\n')
  return `<?xml version="1.0" encoding="UTF-8"?>
<FlussoRiversamento xmlns="http://www.digitpa.gov.it/schemas/2011/Pagamenti/">
<versioneOggetto>1.0</versioneOggetto><identificativoFlusso>${flowId}</identificativoFlusso><dataOraFlusso>${at}</dataOraFlusso>
<identificativoUnivocoRegolamento>SCT-${flowId.slice(-12)}</identificativoUnivocoRegolamento><dataRegolamento>2031-03-15</dataRegolamento>
<istitutoMittente><identificativoUnivocoMittente><tipoIdentificativoUnivoco>B</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>UNCRITMM</codiceIdentificativoUnivoco></identificativoUnivocoMittente><denominazioneMittente>Banca di Prova S.p.A.</denominazioneMittente></istitutoMittente>
<istitutoRicevente><identificativoUnivocoRicevente><tipoIdentificativoUnivoco>G</tipoIdentificativoUnivoco><codiceIdentificativoUnivoco>${receiver}</codiceIdentificativoUnivoco></identificativoUnivocoRicevente></istitutoRicevente>
<numeroTotalePagamenti>${lines.length}</numeroTotalePagamenti><importoTotalePagamenti>${euros(lines.reduce((s, l) => s + l.cents, 0))}</importoTotalePagamenti>
${rows}
</FlussoRiversamento>`
}

const bytes = (s: string) => new TextEncoder().encode(s)
const upload = (xml: string, step?: (n: string) => void) =>
  importFile(db.sql, tenant, { bytes: bytes(xml), fileName: 'flusso.xml', source: 'upload', actor: SYSTEM, step })

async function installments(ids: number[]) {
  return withTenant(
    db.sql,
    tenant,
    (tx) => tx<{ id: number; status: string; receipts: string[] }[]>`
      select i.id, i.status, coalesce(array_agg(ip.receipt_number) filter (where ip.id is not null), '{}') as receipts
      from installments i left join installment_payments ip on ip.installment_id = i.id
      where i.id = any(${ids}) group by i.id order by i.id`,
  )
}

async function linesOf(importId: number) {
  return withTenant(
    db.sql,
    tenant,
    (tx) => tx<{ line_no: number; iuv: string | null; result: string; resolved: boolean }[]>`
      select line_no, iuv, result, resolved_at is not null as resolved from reconciliation_lines
      where import_id = ${importId} order by line_no`,
  )
}

/** ISO 11649 creditor reference: RF + two check digits + the reference. */
function rfReference(ref: string): string {
  const digits = `${ref}RF00`.replace(/[A-Z]/g, (ch) => String(ch.charCodeAt(0) - 55))
  let mod = 0
  for (const d of digits) mod = (mod * 10 + Number(d)) % 97
  return `RF${String(98 - mod).padStart(2, '0')}${ref}`
}

describe('parsing', () => {
  it('reads amounts exactly, Rome wall-clock times, and IUVs from every remittance style', () => {
    expect(parseDateTime('2021-11-22T00:37:32').toISOString()).toBe('2021-11-21T23:37:32.000Z')
    expect(parseDateTime('2021-07-01T10:00:00').toISOString()).toBe('2021-07-01T08:00:00.000Z')
    expect(parseDateTime('2021-07-01T10:00:00Z').toISOString()).toBe('2021-07-01T10:00:00.000Z')
    expect(() => parseDateTime('2021-02-30T10:00:00')).toThrow(/badDate/)
    expect(() => parseDateTime('2021-13-01T10:00:00+01:00')).toThrow(/badDate/)
    const iuv = '01000000000012345'
    expect(iuvFromRemittance([rfReference(iuv)], '')).toBe(iuv)
    expect(iuvFromRemittance([], `/RFB/${iuv}/64.00/TXT/MENSA`)).toBe(iuv)
    expect(iuvFromRemittance([], `/RFS/RF12${iuv}/64.00`)).toBe(iuv)
    expect(iuvFromRemittance([], `PAGAMENTO AVVISO 3${iuv}`)).toBe(iuv)
    expect(iuvFromRemittance([], 'CONTRIBUTO VOLONTARIO')).toBeNull()
    expect(iuvFromRemittance([], `${iuv} 02000000000012345`)).toBeNull()
    const [flow] = parseFlowFile(
      fdr('2031-03-15ABI00000-T1', '2031-03-15T08:00:00', [{ iuv, iur: 'R1', cents: 123456 }]),
    )
    expect(flow?.lines[0]?.amountCents).toBe(123456)
    expect(() => parseFlowFile('ciao')).toThrow(/notXml/)
    expect(() => parseFlowFile('<a/>')).toThrow(/unknownFormat/)
    expect(() =>
      parseFlowFile(
        fdr('X1', '2031-03-15T08:00:00', [{ iuv, iur: 'R1', cents: 100 }]).replace(
          '<numeroTotalePagamenti>1<',
          '<numeroTotalePagamenti>2<',
        ),
      ),
    ).toThrow(/totalsDiffer/)
  })
})

describe('the pagoPA reporting flow', () => {
  it('imports the sample flow: the external payment is settled with its IUR as receipt, once', async () => {
    const [inst] = (await issue(tenant, [123456])) as [Issued]
    const sample = (await readFile('test/fixtures/pagopa/fdr/fdr_sample_sanp_devportal.xml', 'utf8'))
      .replace('77777777777', tenant.fiscalCode)
      .replace('12210209926737900', inst.iuv)
    const [first] = await upload(sample)
    expect(first).toMatchObject({ status: 'imported', kind: 'fdr', lines: 1, matched: 1, discrepancies: 0 })
    expect(first?.flowId).toBe('2021-11-21ABI00000-AABB648200001295')
    const [row] = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<
        {
          source: string
          receipt_number: string
          channel: string
          psp: string
          paid_at: Date
          payment_id: number | null
        }[]
      >`
        select source, receipt_number, channel, psp, paid_at, payment_id from installment_payments where installment_id = ${inst.id}`,
    )
    expect(row).toMatchObject({
      source: 'riconciliazione',
      receipt_number: '2130101502302932577',
      channel: 'pagopa',
      psp: 'BANCO DI XXXXXXXX SPA',
      payment_id: null,
    })
    expect(row?.paid_at.toISOString().slice(0, 10)).toBe('2021-11-21')
    expect((await installments([inst.id]))[0]?.status).toBe('pagato')
    // the same file again: nothing changes
    const [again] = await upload(sample)
    expect(again).toMatchObject({ status: 'unchanged', importId: first?.importId })
    const [n] = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ imports: number; settlements: number; audits: number }[]>`
        select (select count(*)::int from reconciliation_imports where flow_id = ${first?.flowId as string}) as imports,
               (select count(*)::int from installment_payments where installment_id = ${inst.id}) as settlements,
               (select count(*)::int from audit_log where action = 'reconciliation.import' and entity_id = ${String(first?.importId)}) as audits`,
    )
    expect(n).toEqual({ imports: 1, settlements: 1, audits: 1 })
  })

  it('sorts every line: matched, unknown IUV, amount differs, already paid, paid twice, cancelled, revoked', async () => {
    const [a, b, c, d, e, f] = (await issue(tenant, [6400, 6400, 3500, 15460, 2000, 9900])) as Issued[] as [
      Issued,
      Issued,
      Issued,
      Issued,
      Issued,
      Issued,
    ]
    await withTenant(db.sql, tenant, async (tx) => {
      // c was paid on Sportello before the flow arrived
      await settleInstallments(tx, [
        {
          installmentId: c.id,
          paymentId: null,
          source: 'checkout',
          receiptNumber: 'SP-2031-00000042',
          amountCents: 3500,
          paidAt: new Date(),
        },
      ])
      await tx`update documents set cancelled_at = now() where id = (select document_id from installments where id = ${d.id})`
      await tx`update installments set status = 'annullato' where id = ${d.id}`
    })
    const flowId = `2031-03-15ABI03069-${tenant.id}A`
    const v1 = fdr(flowId, '2031-03-15T07:00:00', [
      { iuv: a.iuv, iur: 'IUR-A-1', cents: 6400 },
      { iuv: '09999999999999999', iur: 'IUR-X-1', cents: 1200 },
      { iuv: b.iuv, iur: 'IUR-B-1', cents: 5000 },
      { iuv: c.iuv, iur: 'IUR-C-1', cents: 3500 },
      { iuv: a.iuv, iur: 'IUR-A-2', cents: 6400 },
      { iuv: d.iuv, iur: 'IUR-D-1', cents: 15460 },
      { iuv: e.iuv, iur: 'IUR-E-1', cents: 2000, esito: '3' },
    ])
    const [r1] = await upload(v1)
    expect(r1).toMatchObject({ status: 'imported', lines: 7, matched: 1, discrepancies: 6 })
    expect((await linesOf(r1?.importId as number)).map((l) => l.result)).toEqual([
      'matched',
      'unknown_iuv',
      'amount_differs',
      'already_paid',
      'paid_twice',
      'cancelled',
      'revoked',
    ])
    expect((await installments([a.id, b.id, c.id, e.id])).map((i) => [i.status, i.receipts])).toEqual([
      ['pagato', ['IUR-A-1']],
      ['da_pagare', []],
      ['pagato', ['SP-2031-00000042']],
      ['da_pagare', []],
    ])
    // staff resolve the unknown IUV; the resolution survives a republished version
    const [unknown] = await withTenant(
      db.sql,
      tenant,
      (tx) =>
        tx<
          { id: number }[]
        >`select id from reconciliation_lines where import_id = ${r1?.importId as number} and line_no = 2`,
    )
    await withTenant(db.sql, tenant, (tx) =>
      resolveDiscrepancy(tx, unknown?.id as number, 'Versamento di un altro ente, girato', SYSTEM),
    )

    // republished: a later dataOraFlusso, the amount-differs line corrected away, f added
    const v2 = fdr(flowId, '2031-03-15T09:30:00', [
      { iuv: a.iuv, iur: 'IUR-A-1', cents: 6400 },
      { iuv: '09999999999999999', iur: 'IUR-X-1', cents: 1200 },
      { iuv: c.iuv, iur: 'IUR-C-1', cents: 3500 },
      { iuv: a.iuv, iur: 'IUR-A-2', cents: 6400 },
      { iuv: d.iuv, iur: 'IUR-D-1', cents: 15460 },
      { iuv: e.iuv, iur: 'IUR-E-1', cents: 2000, esito: '3' },
      { iuv: f.iuv, iur: 'IUR-F-1', cents: 9900 },
    ])
    const [r2] = await upload(v2)
    expect(r2).toMatchObject({ status: 'imported', lines: 7, matched: 1, confirmed: 1 })
    const l2 = await linesOf(r2?.importId as number)
    expect(l2.map((l) => [l.result, l.resolved])).toEqual([
      ['confirmed', false],
      ['unknown_iuv', true],
      ['already_paid', false],
      ['paid_twice', false],
      ['cancelled', false],
      ['revoked', false],
      ['matched', false],
    ])
    expect((await installments([a.id, f.id])).map((i) => i.receipts)).toEqual([['IUR-A-1'], ['IUR-F-1']])
    const [v1row] = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ status: string; superseded_by: number }[]>`
        select status, superseded_by from reconciliation_imports where id = ${r1?.importId as number}`,
    )
    expect(v1row).toEqual({ status: 'superseded', superseded_by: r2?.importId })

    // the same versions again, and an older one arriving late: nothing changes
    expect((await upload(v2))[0]?.status).toBe('unchanged')
    expect((await upload(v1))[0]?.status).toBe('unchanged')
    expect((await upload(v1.replace('2031-03-15T07:00:00', '2031-03-15T06:00:00')))[0]?.status).toBe('older')
    expect((await installments([a.id, b.id, f.id])).map((i) => i.receipts)).toEqual([['IUR-A-1'], [], ['IUR-F-1']])

    // a third version drops a payment it had reported: flagged, the installment stays paid
    const v3 = fdr(flowId, '2031-03-16T09:30:00', [{ iuv: a.iuv, iur: 'IUR-A-1', cents: 6400 }])
    const [r3] = await upload(v3)
    const l3 = await linesOf(r3?.importId as number)
    expect(l3.map((l) => l.result)).toEqual(['confirmed', 'withdrawn'])
    expect((await installments([f.id]))[0]?.status).toBe('pagato')
  })

  it('refuses a flow addressed to another creditor, and files that are not flows', async () => {
    const [a] = (await issue(tenant, [1000])) as [Issued]
    await expect(
      upload(fdr('ALTRO-ENTE-1', '2031-03-15T07:00:00', [{ iuv: a.iuv, iur: 'Z', cents: 1000 }], '00000000000')),
    ).rejects.toThrow(/otherCreditor/)
    await expect(upload('<html><body>no</body></html>')).rejects.toThrow(/unknownFormat/)
    expect((await installments([a.id]))[0]?.status).toBe('da_pagare')
  })
})

describe('the camt.053 bank statement', () => {
  it('matches structured and unstructured references and lists every discrepancy; a re-import changes nothing', async () => {
    const [match, strd, wrongAmount, paidOnline, cancelled] = (await issue(
      tenant,
      [6400, 3500, 6400, 105000, 2000],
    )) as [Issued, Issued, Issued, Issued, Issued]
    await withTenant(db.sql, tenant, async (tx) => {
      await settleInstallments(tx, [
        {
          installmentId: paidOnline.id,
          paymentId: null,
          source: 'checkout',
          receiptNumber: 'SP-2031-00000077',
          amountCents: 105000,
          paidAt: new Date(),
        },
      ])
      await tx`update documents set cancelled_at = now() where id = (select document_id from installments where id = ${cancelled.id})`
      await tx`update installments set status = 'annullato' where id = ${cancelled.id}`
    })
    const xml = (await readFile('test/fixtures/reconciliation/camt053_tesoreria.xml', 'utf8'))
      .replaceAll('{{STATEMENT_NO}}', String(tenant.id))
      .replaceAll('{{CREATED}}', '2031-03-16T06:12:40+01:00')
      .replaceAll('{{IUV_MATCH}}', match.iuv)
      .replaceAll('{{RF_STRUCTURED}}', rfReference(strd.iuv))
      .replaceAll('{{IUV_AMOUNT}}', wrongAmount.iuv)
      .replaceAll('{{NOTICE_PAID}}', paidOnline.noticeCode)
      .replaceAll('{{IUV_CANCELLED}}', cancelled.iuv)
      .replaceAll('{{CANCELLED_AMOUNT}}', '20.00')
      .replaceAll('{{TRANSFER_AMOUNT}}', '1234.56')
    const [r] = await upload(xml)
    expect(r).toMatchObject({ status: 'imported', kind: 'camt053', lines: 7, matched: 2, discrepancies: 5 })
    expect(r?.flowId).toBe(`IT60X0542811101000000123456/EC-${tenant.id}`)
    expect((await linesOf(r?.importId as number)).map((l) => [l.result, l.iuv])).toEqual([
      ['matched', match.iuv],
      ['matched', strd.iuv],
      ['amount_differs', wrongAmount.iuv],
      ['already_paid', paidOnline.iuv],
      ['unknown_iuv', null],
      ['cancelled', cancelled.iuv],
      ['paid_twice', match.iuv],
    ])
    expect((await installments([match.id, strd.id, wrongAmount.id])).map((i) => [i.status, i.receipts])).toEqual([
      ['pagato', ['2031031500001']],
      ['pagato', ['2031031500002']],
      ['da_pagare', []],
    ])
    const [channel] = await withTenant(
      db.sql,
      tenant,
      (tx) =>
        tx<
          { channel: string; psp: string }[]
        >`select channel, psp from installment_payments where installment_id = ${match.id}`,
    )
    expect(channel).toEqual({ channel: 'banca', psp: 'BPPIITRRXXX' })
    expect((await upload(xml))[0]?.status).toBe('unchanged')
    expect((await installments([match.id]))[0]?.receipts).toEqual(['2031031500001'])
  })
})

describe('the drop folder and the job', () => {
  it('imports what is dropped, moves it aside, refuses what it cannot read, and records the run per tenant', async () => {
    const [a] = (await issue(tenant, [4200])) as [Issued]
    const dir = join(flowsDir, tenant.slug)
    await mkdir(dir, { recursive: true })
    const old = new Date(Date.now() - 60_000)
    await writeFile(
      join(dir, 'fdr-1.xml'),
      fdr(`CARTELLA-${tenant.id}`, '2031-03-20T07:00:00', [{ iuv: a.iuv, iur: 'IUR-DROP', cents: 4200 }]),
    )
    await writeFile(join(dir, 'rotto.xml'), 'questo non è XML')
    await writeFile(join(dir, 'nota.txt'), 'ignored')
    for (const f of ['fdr-1.xml', 'rotto.xml']) await utimes(join(dir, f), old, old)
    // a file still being written (changed a moment ago) waits for the next run
    await writeFile(
      join(dir, 'in-arrivo.xml'),
      fdr(`CARTELLA2-${tenant.id}`, '2031-03-20T07:00:00', [{ iuv: a.iuv, iur: 'IUR-DROP', cents: 4200 }]),
    )
    const job = findJob('reconciliation')
    if (!job) throw new Error('no reconciliation job')
    const result = await runJobNow({ ...server.deps, flowsDir }, job, { onlyTenants: [tenant.slug] })
    expect(result.outcome).toBe('succeeded')
    expect(result.counts).toMatchObject({ files: 2, imported: 1, refused: 1, matched: 1 })
    expect((await installments([a.id]))[0]?.receipts).toEqual(['IUR-DROP'])
    expect((await readdir(dir)).sort()).toEqual(['importati', 'in-arrivo.xml', 'nota.txt', 'scartati'])
    expect(await readdir(join(dir, 'importati'))).toEqual([expect.stringMatching(/-fdr-1\.xml$/)])
    const refused = (await readdir(join(dir, 'scartati'))).sort()
    expect(refused).toEqual([expect.stringMatching(/-rotto\.xml$/), expect.stringMatching(/-rotto\.xml\.errore\.txt$/)])
    expect(await readFile(join(dir, 'scartati', refused[1] as string), 'utf8')).toContain('notXml')
    const last = await lastTenantRun(db.sql, 'reconciliation', tenant.slug)
    expect(last?.outcome).toBe('succeeded')
    expect(last?.counts).toMatchObject({ imported: 1, matched: 1 })
    const [audit] = await withTenant(
      db.sql,
      tenant,
      (tx) =>
        tx<
          { actor_name: string }[]
        >`select actor_name from audit_log where action = 'reconciliation.import' order by id desc limit 1`,
    )
    expect(audit?.actor_name).toBe('sistema')
  })
})

async function postFile(c: Client, path: string, name: string, content: string) {
  const form = new FormData()
  form.set('_csrf', c.csrf())
  form.set('file', new File([content], name, { type: 'text/xml' }))
  const cookie = [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  return server.app.request(path, { method: 'POST', headers: { cookie }, body: form })
}

describe('the office pages', () => {
  it('uploads a flow, shows its matches and discrepancies, and resolves one with a note, audited', async () => {
    const [a, b] = (await issue(tenant, [5800, 5800], 'Mensa aprile')) as [Issued, Issued]
    const c = await signedIn(server.app, admin)
    const page = `/t/${tenant.slug}/ufficio/riconciliazione`
    expect((await c.get(page)).status).toBe(200)
    expect(c.lastHtml).toContain('enctype="multipart/form-data"')
    await expectValidHtml(c.lastHtml)
    // no file, a wrong file: 422 with the error summary, nothing imported
    const none = await postFile(c, page, '', '')
    expect(none.status).toBe(422)
    const noneHtml = await none.text()
    expect(noneHtml).toContain('href="#file"')
    await expectValidHtml(noneHtml)
    const wrong = await postFile(c, page, 'x.xml', '<nota>ciao</nota>')
    expect(wrong.status).toBe(422)
    expect(await wrong.text()).toContain('né un flusso di rendicontazione pagoPA né un estratto conto')
    const other = await postFile(
      c,
      page,
      'x.xml',
      fdr('ALTRO-1', '2031-03-15T07:00:00', [{ iuv: a.iuv, iur: 'Q', cents: 5800 }], '00000000000'),
    )
    expect(other.status).toBe(422)
    expect(await other.text()).toContain('intestato a un altro ente')

    const xml = fdr(`UFFICIO-${tenant.id}`, '2031-04-01T07:00:00', [
      { iuv: a.iuv, iur: 'IUR-UFF-1', cents: 5800 },
      { iuv: b.iuv, iur: 'IUR-UFF-2', cents: 5000 },
    ])
    const ok = await postFile(c, page, 'aprile.xml', xml)
    expect(ok.status).toBe(303)
    const detail = ok.headers.get('location') as string
    expect(detail).toMatch(new RegExp(`^${page}/flussi/\\d+\\?esito=imported$`))
    const html = await (await c.get(detail)).text()
    expect(html).toContain('File importato')
    expect(html).toContain('Importo diverso')
    expect(html).toContain('IUR-UFF-1')
    expect(html).toContain('aprile.xml')
    await expectValidHtml(html)
    const again = await postFile(c, page, 'aprile.xml', xml)
    expect(await (await c.get(again.headers.get('location') as string)).text()).toContain('già stato importato')

    const list = await (await c.get(`${page}/discrepanze`)).text()
    const href = new RegExp(`${page}/discrepanze/(\\d+)`).exec(list)?.[0] as string
    expect(href).toBeTruthy()
    const linePage = await (await c.get(href)).text()
    expect(linePage).toContain('L&#39;importo versato è diverso')
    await expectValidHtml(linePage)
    const empty = await c.post(href, { nota: '  ' })
    expect(empty.status).toBe(422)
    const emptyHtml = await empty.text()
    expect(emptyHtml).toContain('href="#nota"')
    await expectValidHtml(emptyHtml)
    await c.get(href)
    const nul = await c.post(href, { nota: '\u0000' })
    expect(nul.status).toBe(422)
    await c.get(href)
    const done = await c.post(href, { nota: 'Chiesta la differenza di 8,00 € alla famiglia' })
    expect(done.status).toBe(303)
    expect(done.headers.get('location')).toBe(`${page}/discrepanze?risolta=1`)
    const resolvedList = await (await c.get(`${page}/discrepanze?risolta=1`)).text()
    expect(resolvedList).toContain('Discrepanza risolta')
    await expectValidHtml(resolvedList)
    expect(await (await c.get(href)).text()).toContain('Chiesta la differenza')
    const [entry] = await withTenant(
      db.sql,
      tenant,
      (tx) => tx<{ actor_name: string; reason: string }[]>`
        select actor_name, reason from audit_log where action = 'reconciliation.resolve' order by id desc limit 1`,
    )
    expect(entry).toEqual({ actor_name: 'Rita Ragioneria', reason: 'Chiesta la differenza di 8,00 € alla famiglia' })
    // resolving again changes nothing; unknown ids are 404
    await c.get(href)
    expect((await c.post(href, { nota: 'ancora' })).status).toBe(303)
    expect((await c.get(`${page}/discrepanze/999999999`)).status).toBe(404)
    expect((await c.get(`${page}/flussi/999999999`)).status).toBe(404)
    expect((await c.get(`${page}/flussi/abc`)).status).toBe(404)
  })
})

describe('payments whose notification never arrives', () => {
  it('the reconciliation job asks the provider: a paid one is completed, a hanging one expires', async () => {
    const [paid, hanging] = (await issue(tenant, [2500, 2600], 'Gita')) as [Issued, Issued]
    const c = await signedIn(server.app, citizen)
    const job = findJob('reconciliation')
    if (!job) throw new Error('no reconciliation job')
    const pay = async (inst: Issued, card: string, loseNotification = false) => {
      await c.get('/carrello')
      await c.post('/carrello/aggiungi', { ente: tenant.slug, rate: [String(inst.id)] })
      const summary = await (await c.get('/carrello/riepilogo')).text()
      const key = /name="chiave" value="([^"]+)"/.exec(summary)?.[1] as string
      const res = await c.post('/carrello/paga', { chiave: key })
      const redirect = res.headers.get('location') as string
      const ref = redirect.split('/').pop() as string
      const [p] = await db.sql<{ id: number }[]>`select id from platform.payments where provider_ref = ${ref}`
      // the provider believes it delivered the notification, which never arrived: marked before the card is
      // paid, so the delivery the payment kicks at once finds nothing to send
      if (loseNotification)
        await db.sql`update platform.sandbox_psp_sessions set notify_delivered_at = now() where payment_id = ${p?.id as number}`
      await payAtSandbox(c, redirect, card)
      return p?.id as number
    }
    // paid with the good card, but the notification is lost (never delivered)
    const okId = await pay(paid, '4242 4242 4242 4242', true)
    await db.sql`update platform.payments set updated_at = now() - interval '5 minutes' where id = ${okId}`
    expect((await installments([paid.id]))[0]?.status).toBe('in_corso')
    // the card that hangs: pending at the provider until its session expires
    const hangId = await pay(hanging, '4000 0000 0000 0259')
    await runJobNow({ ...server.deps, flowsDir }, job, { onlyTenants: [tenant.slug] })
    const [ok] = await db.sql<{ status: string }[]>`select status from platform.payments where id = ${okId}`
    expect(ok?.status).toBe('succeeded')
    expect((await installments([paid.id]))[0]?.status).toBe('pagato')
    expect((await installments([hanging.id]))[0]?.status).toBe('in_corso')
    // after the provider's 8 minutes (and the grace period) the job gives it up and frees the installment
    await db.sql`update platform.sandbox_psp_sessions set expires_at = now() - interval '1 minute' where payment_id = ${hangId}`
    await db.sql`update platform.payments set expires_at = now() - interval '5 minutes', updated_at = now() - interval '5 minutes' where id = ${hangId}`
    await runJobNow({ ...server.deps, flowsDir }, job, { onlyTenants: [tenant.slug] })
    const [gone] = await db.sql<{ status: string }[]>`select status from platform.payments where id = ${hangId}`
    expect(gone?.status).toBe('expired')
    expect((await installments([hanging.id]))[0]?.status).toBe('da_pagare')
  })
})

describe('crash and rerun', () => {
  it('a crash at any step of an import, then a rerun: nothing lost, nothing doubled', async () => {
    const steps = [
      'parsed',
      'classified',
      'settled',
      'import-recorded',
      'lines-recorded',
      'audited',
      'committed',
      'file-imported',
    ]
    let round = 0
    const lineArb = fc.record({
      pick: fc.integer({ min: 0, max: 5 }),
      kind: fc.constantFrom('exact', 'exact', 'wrongAmount', 'unknown', 'repeat'),
    })
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineArb, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(...steps),
        fc.boolean(),
        async (spec, crashAt, viaFolder) => {
          round++
          const pool = await issue(tenant, [1000, 2000, 3000, 4000, 5000, 6000], `Proprietà ${round}`)
          const lines: FdrLine[] = spec.map((s, i) => {
            const inst = pool[s.pick] as Issued
            if (s.kind === 'unknown')
              return {
                iuv: `0888${String(round).padStart(6, '0')}${String(i).padStart(7, '0')}`,
                iur: `U${i}`,
                cents: 700,
              }
            if (s.kind === 'wrongAmount') return { iuv: inst.iuv, iur: `W${i}`, cents: inst.amount + 1 }
            if (s.kind === 'repeat') return { iuv: inst.iuv, iur: `R${i}`, cents: inst.amount }
            return { iuv: inst.iuv, iur: `E${i}`, cents: inst.amount }
          })
          const flowId = `PROP-${tenant.id}-${round}`
          const xml = fdr(flowId, '2031-05-01T07:00:00', lines)
          const crash = (name: string) => {
            if (name === crashAt) throw new Error(`crash at ${name}`)
          }
          const dir = join(flowsDir, tenant.slug)
          if (viaFolder) {
            await mkdir(dir, { recursive: true })
            await writeFile(join(dir, `prop-${round}.xml`), xml)
          }
          const once = async (step?: (n: string) => void) =>
            viaFolder ? importDropFolder(db.sql, tenant, flowsDir, { minAgeMs: 0, step }) : upload(xml, step)
          await once(crash).catch((err: Error) => {
            if (!err.message.includes('crash at')) throw err
          })
          await once()
          await once()
          // expected: the first exact payment of each installment is settled, with that line's IUR
          const expected = new Map<number, string>()
          for (const l of lines) {
            const inst = pool.find((p) => p.iuv === l.iuv)
            if (inst && l.cents === inst.amount && !expected.has(inst.id)) expected.set(inst.id, l.iur)
          }
          const rows = await installments(pool.map((p) => p.id))
          for (const r of rows) {
            const iur = expected.get(r.id)
            expect(r.receipts).toEqual(iur ? [iur] : [])
            expect(r.status).toBe(iur ? 'pagato' : 'da_pagare')
          }
          const [imp] = await withTenant(
            db.sql,
            tenant,
            (tx) => tx<{ n: number; lines: number; audits: number }[]>`
              select count(*)::int as n, max(line_count)::int as lines,
                (select count(*)::int from audit_log where action = 'reconciliation.import' and after->>'flowId' = ${flowId}) as audits
              from reconciliation_imports where flow_id = ${flowId}`,
          )
          expect(imp).toEqual({
            n: 1,
            lines: new Set(lines.map((l, i) => `${l.iuv}|${l.iur}|${(i % 5) + 1}`)).size,
            audits: 1,
          })
          if (viaFolder) expect((await readdir(dir)).filter((f) => f.endsWith('.xml'))).toEqual([])
        },
      ),
      { numRuns: 30 },
    )
  })
})

/** The most statements one import may send, whatever its size: the lines go in as arrays, never one by one. */
const STATEMENTS_PER_IMPORT = 30

describe('a large flow', () => {
  it('imports 100,000 lines with a handful of statements', async () => {
    const big = await createTestTenant(db)
    try {
      const amounts = Array.from({ length: 100_000 }, (_, i) => 1000 + (i % 97))
      const started = performance.now()
      const issued: Issued[] = []
      for (let i = 0; i < amounts.length; i += 25_000)
        issued.push(...(await issue(big, amounts.slice(i, i + 25_000), 'Tributo')))
      const issuedMs = performance.now() - started
      const xml = fdr(
        `GRANDE-${big.id}`,
        '2031-06-01T07:00:00',
        issued.map((x, i) => ({ iuv: x.iuv, iur: `IUR${i}`, cents: x.amount })),
        big.fiscalCode,
      )
      const t0 = performance.now()
      const marks: string[] = []
      const {
        result: [r],
        statements,
      } = await countStatements(db.sql, () =>
        importFile(db.sql, big, {
          bytes: bytes(xml),
          fileName: 'grande.xml',
          source: 'upload',
          actor: SYSTEM,
          step: (n) => {
            marks.push(`${n} ${Math.round(performance.now() - t0)}`)
          },
        }),
      )
      console.log(marks.join(' / '))
      console.log(
        `100,000-line flow: issued in ${Math.round(issuedMs)} ms, imported in ${Math.round(performance.now() - t0)} ms, ` +
          `${statements.length} statements`,
      )
      expect(r).toMatchObject({ status: 'imported', lines: 100_000, matched: 100_000, discrepancies: 0 })
      // a handful of statements, whatever the number of lines (its time is measured by npm run bench)
      expect(statements.length).toBeLessThanOrEqual(STATEMENTS_PER_IMPORT)
      const [n] = await withTenant(
        db.sql,
        big,
        (tx) => tx<{ paid: number }[]>`select count(*)::int as paid from installments where status = 'pagato'`,
      )
      expect(n?.paid).toBe(100_000)
      const again = await countStatements(db.sql, () =>
        importFile(db.sql, big, { bytes: bytes(xml), fileName: 'grande.xml', source: 'upload', actor: SYSTEM }),
      )
      expect(again.result[0]?.status).toBe('unchanged')
      expect(again.statements.length).toBeLessThanOrEqual(STATEMENTS_PER_IMPORT)
    } finally {
      await dropTestTenant(db, big)
    }
  }, 180_000)
})
