// The office's exports: payments, refunds and receipts of a period as Excel-ready CSV (422 for a wrong period), and
// the yearly files for the Agenzia delle Entrate checked field by field against totals computed by hand: expenses per
// pupil, payer, type and year rounded to whole euro, refunds on their own records with the year of the payment they
// give back, pupils without a codice fiscale left out and named in the summary. Roles: every office role reads,
// citizens and other bodies cannot; every download is audited.
import { beforeAll, describe, expect, it } from 'vitest'
import { settleInstallments } from '../../src/features/payments/settle.ts'
import { todayRome } from '../../src/platform/dates.ts'
import { withTenant } from '../../src/platform/db.ts'
import type { Client } from '../helpers/client.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { world } from '../helpers/world.ts'

const w = world({
  tenant: { contacts: { email: 'ufficio@monopoli.example', address: 'Piazza Municipio 1, 70043 Monopoli BA' } },
  roles: ['operatore', 'lettore', 'cittadino', 'adminAltroEnte'],
})
let office: Client
const Y = Number(todayRome().slice(0, 4))
const PAYER_CF = 'RSSMRA80A41F205X'
const PUPIL_CF = 'BNCLCU15C10F205Z'
const base = () => `/t/${w.tenant.slug}/ufficio/esportazioni`
const docs: Record<string, { documentId: number; installments: { id: number }[] }> = {}

/** Pays the installments at the counter on that day (data for the year's file). */
async function pay(ids: number[], day: string, amounts: number[]) {
  await withTenant(w.db.sql, w.tenant, (tx) =>
    settleInstallments(
      tx,
      ids.map((id, i) => ({
        installmentId: id,
        paymentId: null,
        source: 'manuale' as const,
        receiptNumber: `Q-${id}`,
        amountCents: amounts[i] as number,
        paidAt: new Date(`${day}T10:00:00Z`),
        channel: 'sportello',
      })),
    ),
  )
}

async function refund(documentId: number, rata: string, amount: string) {
  const res = await office.submit(`/t/${w.tenant.slug}/ufficio/documenti/${documentId}/rimborso`, {
    rata,
    amount,
    reason: 'Servizio non fruito',
    iban: 'IT42L1234512345123456789012',
    beneficiary: 'Maria Rossi',
  })
  const id = Number(/rimborsi\/(\d+)/.exec(res.headers.get('location') ?? '')?.[1])
  const [y, m, d] = todayRome().split('-') as [string, string, string]
  const done = await office.submit(`/t/${w.tenant.slug}/ufficio/rimborsi/${id}/esegui`, {
    bankReference: `TRN ${id}`,
    'executed-day': d,
    'executed-month': m,
    'executed-year': y,
  })
  expect(done.status).toBe(303)
}

beforeAll(async () => {
  office = await w.client('operatore')
  const payer = await givePayer(w.db, w.tenant, PAYER_CF, ['Maria', 'Rossi'])
  const { withCf, without } = await withTenant(w.db.sql, w.tenant, async (tx) => {
    const [a] = await tx<{ id: number }[]>`
      insert into pupils (codice_fiscale, given_name, family_name) values (${PUPIL_CF}, 'Luca', 'Bianchi') returning id`
    const [b] = await tx<{ id: number }[]>`
      insert into pupils (given_name, family_name) values ('Anna', 'Bianchi') returning id`
    // transport counted as a donation to the school here: type 03
    await tx`update services set tax_category = 'erogazioni' where code = 'trasporto'`
    return { withCf: (a as { id: number }).id, without: (b as { id: number }).id }
  })
  docs.mensa = await issue(w.db, w.tenant, payer, [1000, 2550])
  docs.nido = await issue(w.db, w.tenant, payer, [30000], { service: 'nido' })
  docs.trasporto = await issue(w.db, w.tenant, payer, [1234], { service: 'trasporto' })
  docs.lastYear = await issue(w.db, w.tenant, payer, [2000])
  docs.noCf = await issue(w.db, w.tenant, payer, [500])
  await withTenant(w.db.sql, w.tenant, async (tx) => {
    for (const k of ['mensa', 'nido', 'trasporto', 'lastYear'])
      await tx`update documents set pupil_id = ${withCf} where id = ${docs[k]?.documentId as number}`
    await tx`update documents set pupil_id = ${without} where id = ${docs.noCf?.documentId as number}`
  })
  const ids = (k: string) => docs[k]?.installments.map((i) => i.id) as number[]
  await pay(ids('mensa'), `${Y}-01-15`, [1000, 2550])
  await pay(ids('nido'), `${Y}-02-01`, [30000])
  await pay(ids('trasporto'), `${Y}-03-01`, [1234])
  await pay(ids('lastYear'), `${Y - 1}-12-10`, [2000])
  await pay(ids('noCf'), `${Y}-01-20`, [500])
  // refunds executed this year: 4,49 of this year's canteen payment, all of last year's
  await refund(docs.mensa?.documentId as number, '1', '4,49')
  await refund(docs.lastYear?.documentId as number, '1', '20')
})

/** The CSV's text, after checking it starts with the UTF-8 byte order mark a spreadsheet needs. */
async function csvOf(res: Response): Promise<string> {
  const bytes = new Uint8Array(await res.arrayBuffer())
  expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
  return new TextDecoder().decode(bytes)
}

const fields = (line: string) => ({
  type: line[0],
  pupil: line.slice(25, 41).trim(),
  payer: line.slice(41, 57).trim(),
  kind: line[58],
  code: line.slice(59, 61),
  year: line.slice(61, 65),
  euros: line.slice(65, 76),
})

describe('the yearly files for the Agenzia delle Entrate', () => {
  it('school expenses: per pupil, payer, type and year, whole euro, refunds on their own records', async () => {
    const res = await office.get(`${base()}/agenzia-entrate/scol-${Y}.txt`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    expect(text.endsWith('\r\n')).toBe(true)
    const lines = text.slice(0, -2).split('\r\n')
    for (const l of lines) {
      expect(l).toHaveLength(1798)
      expect(l.endsWith('A')).toBe(true)
      expect(l).toMatch(/^[\x20-\x60]+$/)
    }
    expect(lines.map((l) => l[0])).toEqual(['0', '1', '2', '2', '2', '2', '9'])
    const body = lines[1] as string
    expect(body.slice(1, 17).trim()).toBe(w.tenant.fiscalCode)
    expect(body.slice(17, 77).trim()).toBe(w.tenant.name.toUpperCase())
    expect(body.slice(77, 117).trim()).toBe('MONOPOLI')
    expect(body.slice(117, 119)).toBe('BA')
    expect(body.slice(120, 124)).toBe(String(Y))
    // by hand: refunds 20,00 (of last year's 20,00) and 4,49 → 4; canteen 10,00 + 25,50 = 35,50 → 36; transport
    // as a donation 12,34 → 12; the pupil without a codice fiscale is not in the file
    expect(lines.slice(2, 6).map(fields)).toEqual([
      { type: '2', pupil: PUPIL_CF, payer: PAYER_CF, kind: 'R', code: '02', year: String(Y - 1), euros: '00000000020' },
      { type: '2', pupil: PUPIL_CF, payer: PAYER_CF, kind: 'R', code: '02', year: String(Y), euros: '00000000004' },
      { type: '2', pupil: PUPIL_CF, payer: PAYER_CF, kind: 'S', code: '02', year: String(Y), euros: '00000000036' },
      { type: '2', pupil: PUPIL_CF, payer: PAYER_CF, kind: 'S', code: '03', year: String(Y), euros: '00000000012' },
    ])
    expect((lines[6] as string).slice(24, 33)).toBe('000000004')
  })

  it('nursery fees: their own file', async () => {
    const text = await (await office.get(`${base()}/agenzia-entrate/nido-${Y}.txt`)).text()
    const lines = text.slice(0, -2).split('\r\n')
    expect(lines.map((l) => l[0])).toEqual(['0', '1', '2', '9'])
    expect(fields(lines[2] as string)).toEqual({
      type: '2',
      pupil: PUPIL_CF,
      payer: PAYER_CF,
      kind: 'S',
      code: '00',
      year: String(Y),
      euros: '00000000300',
    })
  })

  it('the summary names every record and every line left out, with the reason', async () => {
    const csv = await csvOf(await office.get(`${base()}/agenzia-entrate/riepilogo-${Y}.csv`))
    const rows = csv.trim().split('\r\n')
    expect(rows).toHaveLength(1 + 4 + 1 + 1)
    expect(csv).toContain(`SCOL;Spesa;02;${PUPIL_CF};Luca Bianchi;${PAYER_CF};Maria Rossi;${Y};35,50;36;`)
    expect(csv).toContain(`NIDO;Spesa;00;${PUPIL_CF};Luca Bianchi;${PAYER_CF};Maria Rossi;${Y};300,00;300;`)
    expect(csv).toMatch(
      /SCOL;Spesa;02;;Anna Bianchi;RSSMRA80A41F205X;Maria Rossi;\d{4};5,00;;Q-\d+;l'alunno non ha codice fiscale/,
    )
  })

  it('refuses a year to come or a wrong name; a lettore may download, a citizen and another body not', async () => {
    expect((await office.get(`${base()}/agenzia-entrate/scol-${Y + 1}.txt`)).status).toBe(404)
    expect((await office.get(`${base()}/agenzia-entrate/riepilogo-${Y}.txt`)).status).toBe(404)
    expect((await office.get(`${base()}/agenzia-entrate/scol-${Y}.csv`)).status).toBe(404)
    const reader = await w.client('lettore')
    expect((await reader.get(`${base()}/agenzia-entrate/scol-${Y}.txt`)).status).toBe(200)
    for (const who of ['cittadino', 'adminAltroEnte'] as const) {
      const c = await w.client(who)
      expect((await c.get(`${base()}/agenzia-entrate/scol-${Y}.txt`)).status, who).toBe(403)
      expect((await c.get(`${base()}/pagamenti.csv`)).status, who).toBe(403)
      expect((await c.get(base())).status, who).toBe(403)
    }
  })
})

describe('exports of a period', () => {
  const period = `dal-day=1&dal-month=1&dal-year=${Y}&al-day=31&al-month=12&al-year=${Y}`

  it('payments, refunds and receipts as CSV for a spreadsheet in Italian; each download audited', async () => {
    const page = await office.get(base())
    await expectValidHtml(await page.text())
    const payments = await office.get(`${base()}/pagamenti.csv?${period}`)
    expect(payments.headers.get('content-disposition')).toContain(
      `pagamenti-${w.tenant.slug}-${Y}-01-01-${Y}-12-31.csv`,
    )
    const csv = await csvOf(payments)
    const rows = csv.trim().split('\r\n')
    // this year's five installments (not last year's)
    expect(rows).toHaveLength(1 + 5)
    expect(csv).toContain(`15/01/${Y};Registrato dall'ufficio;sportello;Q-`)
    expect(csv).toContain(';10,00;4,49')
    const refunds = await csvOf(await office.get(`${base()}/rimborsi.csv?${period}`))
    expect(refunds.trim().split('\r\n')).toHaveLength(1 + 2)
    expect(refunds).toContain(';Eseguito;')
    expect(refunds).toContain(';4,49;IT42L1234512345123456789012;TRN ')
    const receipts = await csvOf(await office.get(`${base()}/ricevute.csv?${period}`))
    expect(receipts.trim().split('\r\n')).toHaveLength(1)
    const log = await withTenant(
      w.db.sql,
      w.tenant,
      (tx) => tx<{ n: number }[]>`select count(*)::int as n from audit_log where action = 'exports.download'`,
    )
    expect(log[0]?.n).toBeGreaterThanOrEqual(3)
  })

  it('a wrong period is a 422 naming each problem, no file', async () => {
    const res = await office.get(
      `${base()}/pagamenti.csv?dal-day=31&dal-month=2&dal-year=${Y}&al-day=1&al-month=1&al-year=${Y}`,
    )
    expect(res.status).toBe(422)
    expect(res.headers.get('content-type')).toContain('text/html')
    const html = await res.text()
    await expectValidHtml(html)
    expect(html).toContain('<a href="#dal-day">L&#39;inizio del periodo deve essere una data vera')
    const backwards = await office.get(`${base()}?dal-day=2&dal-month=1&dal-year=${Y}&al-day=1&al-month=1&al-year=${Y}`)
    expect(backwards.status).toBe(422)
    expect(await backwards.text()).toContain('<a href="#al-day">La fine del periodo deve essere uguale o successiva')
  })
})
