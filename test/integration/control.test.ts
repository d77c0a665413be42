// Payment control: totals, per payer and per pupil, debtors, payments with their provider status, filters by
// service, school year, period and state, CSV exports that a spreadsheet in Italian opens as they are.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseFilter } from '../../src/features/control/routes.ts'
import { issueDocuments } from '../../src/features/debts/issue.ts'
import { settleInstallments } from '../../src/features/payments/settle.ts'
import { addDays, todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { randomCf } from '../helpers/accounts.ts'
import type { Client } from '../helpers/client.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { world } from '../helpers/world.ts'

const w = world({ roles: ['lettore'], other: true })
let db: Db
let x: Tenant
let y: Tenant
let staff: Client
const cfA = randomCf()
const cfB = randomCf()
const cfPupil = randomCf()
const paymentIds: number[] = []
let trasportoId = 0
let futureInstallment = 0
const today = todayRome()

beforeAll(async () => {
  ;({ db, tenant: x, other: y } = w)
  staff = await w.client('lettore')

  await withTenant(db.sql, x, async (tx) => {
    const svc = Object.fromEntries(
      (await tx<{ id: number; code: string }[]>`select id, code from services`).map((s) => [s.code, s.id]),
    ) as Record<string, number>
    trasportoId = svc.trasporto as number
    const [a] = await tx<{ id: number }[]>`
      insert into payers (codice_fiscale, given_name, family_name, email) values (${cfA}, 'Mario', 'Rossi', 'mario@example.it') returning id`
    const [b] = await tx<{ id: number }[]>`
      insert into payers (codice_fiscale, given_name, family_name, email, phone)
      values (${cfB}, '=HYPERLINK("x")', 'Bianchi', 'anna@example.it', '+39 333 1234567') returning id`
    const [p] = await tx<{ id: number }[]>`
      insert into pupils (codice_fiscale, given_name, family_name) values (${cfPupil}, 'Luca', 'Rossi') returning id`
    const A = (a as { id: number }).id
    const B = (b as { id: number }).id
    const P = (p as { id: number }).id
    await tx`insert into pupil_payers (pupil_id, payer_id, holder) values (${P}, ${A}, true)`
    const doc = (
      serviceId: number,
      payerId: number,
      pupilId: number | null,
      installments: [string, number][],
      description = 'Prova',
    ) => ({
      year: 2019,
      issueDate: '2019-09-10',
      serviceId,
      payerId,
      pupilId,
      description,
      installments: installments.map(([dueDate, amountCents]) => ({ dueDate, amountCents })),
    })
    const r = await issueDocuments(tx, x, [
      doc(svc.mensa as number, A, P, [
        ['2019-10-15', 1000],
        ['2020-01-15', 2050],
      ]),
      doc(
        svc.trasporto as number,
        B,
        null,
        [
          ['2020-02-01', 12345],
          ['2020-09-15', 5000],
        ],
        'Trasporto; andata e ritorno',
      ),
      doc(svc.mensa as number, B, null, [['2019-11-01', 999]]),
      doc(svc.mensa as number, A, P, [[addDays(today, 60), 700]]),
    ])
    const docIds = r.documentIds
    await tx`update documents set cancelled_at = now(), cancel_reason = 'errore' where id = ${docIds[2] as number}`
    const first = r.installments.find((i) => i.documentId === docIds[0] && i.seq === 1)
    futureInstallment = (r.installments.find((i) => i.documentId === docIds[3]) as { id: number }).id
    await settleInstallments(tx, [
      {
        installmentId: (first as { id: number }).id,
        paymentId: null,
        source: 'riconciliazione',
        receiptNumber: 'BANCA-0001',
        amountCents: 1000,
        paidAt: new Date('2019-10-14T09:00:00Z'),
        channel: 'banca',
      },
    ])
  })
  // one card payment covering an installment of x and one of y: x sees only its own item and amount
  const [pay] = await db.sql<{ id: number }[]>`
    insert into platform.payments (idempotency_key, status, provider, provider_ref, amount_cents, commission_cents,
      total_cents, receipt_number, completed_at)
    values (${`ctl-${Math.random()}`}, 'succeeded', 'sandbox', 'psp-ref-1', 56255, 100, 56355,
      ${`R-${Math.random().toString(36).slice(2, 10)}`}, now())
    returning id`
  const [failed] = await db.sql<{ id: number }[]>`
    insert into platform.payments (idempotency_key, status, provider, amount_cents, total_cents)
    values (${`ctl-${Math.random()}`}, 'failed', 'sandbox', 700, 700) returning id`
  paymentIds.push((pay as { id: number }).id, (failed as { id: number }).id)
  await db.sql`insert into platform.payment_items ${db.sql([
    {
      payment_id: (pay as { id: number }).id,
      tenant_id: x.id,
      installment_id: futureInstallment,
      amount_cents: 700,
      commission_cents: 50,
      description: 'Mensa',
      iuv: '0'.repeat(17),
    },
    {
      payment_id: (pay as { id: number }).id,
      tenant_id: y.id,
      installment_id: futureInstallment,
      amount_cents: 55555,
      commission_cents: 50,
      description: 'Altro ente',
      iuv: '1'.repeat(17),
    },
    {
      payment_id: (failed as { id: number }).id,
      tenant_id: x.id,
      installment_id: futureInstallment,
      amount_cents: 700,
      commission_cents: 0,
      description: 'Mensa',
      iuv: '0'.repeat(17),
    },
  ])}`
})

afterAll(async () => {
  await db.sql`delete from platform.payments where id = any(${paymentIds})`
})

const base = () => `/t/${x.slug}/ufficio/pagamenti`

async function html(path: string): Promise<string> {
  const res = await staff.get(path)
  expect(res.status, path).toBe(200)
  return res.text()
}

/** Text of the page without tags, spaces collapsed. */
function text(h: string): string {
  return h
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;|\u00a0/g, ' ')
    .replace(/\s+/g, ' ')
}

describe('filters', () => {
  it('default to the current school year and ignore what they do not understand', () => {
    const f = parseFilter(
      { servizio: "1' or 1=1", anno: 'x', periodo: '2019-13', stato: 'boh', pagina: '-4' },
      '2026-10-05',
    )
    expect(f).toEqual({
      serviceId: null,
      schoolYear: 2026,
      month: null,
      state: 'tutti',
      paymentState: 'tutti',
      page: 1,
    })
    expect(parseFilter({}, '2026-08-31').schoolYear).toBe(2025)
    expect(parseFilter({ anno: '2019', periodo: '2020-01' }, '2026-08-31').month).toBe('2020-01')
    // a month outside the chosen school year is dropped
    expect(parseFilter({ anno: '2019', periodo: '2020-09' }, '2026-08-31').month).toBeNull()
  })
})

describe('payment control pages', () => {
  it('totals, per service and per payer over a school year', async () => {
    const raw = await html(`${base()}?anno=2019`)
    await expectValidHtml(raw)
    const page = text(raw)
    // 10,00 + 20,50 + 123,45 (the cancelled 9,99 and the 2020/21 installment are out)
    expect(page).toContain('Dovuto 153,95 €')
    expect(page).toContain('Pagato 10,00 €')
    expect(page).toContain('Ancora da pagare 143,95 €')
    expect(page).toContain('Scaduto 143,95 € (rate: 2)')
    expect(page).toContain('Pagatori 2')
    // highest balance first: Bianchi, then Rossi
    expect(page.indexOf('Bianchi')).toBeLessThan(page.indexOf('Rossi Mario'))
    expect(page).toMatch(/Trasporto scolastico 1 123,45 € 0,00 € 123,45 € 123,45 €/)
  })

  it('filters by service, period and state', async () => {
    const trasporto = text(await html(`${base()}?anno=2019&servizio=${trasportoId}`))
    expect(trasporto).toContain('Dovuto 123,45 €')
    expect(trasporto).not.toContain('Rossi Mario')
    const january = text(await html(`${base()}?anno=2019&periodo=2020-01`))
    expect(january).toContain('Dovuto 20,50 €')
    const cancelled = text(await html(`${base()}?anno=2019&stato=annullato`))
    expect(cancelled).toContain('Rate 1')
    const paid = text(await html(`${base()}?anno=tutti&stato=pagato`))
    expect(paid).toContain('Pagato 10,00 €')
    expect(paid).toContain('Dovuto 10,00 €')
    const next = text(await html(`${base()}?anno=2020`))
    expect(next).toContain('Dovuto 50,00 €')
  })

  it('per pupil: due and paid with the parents', async () => {
    const page = text(await html(`${base()}/alunni?anno=2019`))
    expect(page).toContain('Rossi Luca')
    expect(page).toContain('Mario Rossi')
    expect(page).toMatch(/30,50 € 10,00 € 20,50 € 20,50 €/)
  })

  it('debtors: overdue installments grouped by payer, oldest due date first', async () => {
    const page = text(await html(`${base()}/morosi?anno=2019`))
    expect(page).toMatch(/Rossi Mario .* 1 20,50 € 15\/01\/2020 .*Bianchi .* 1 123,45 € 01\/02\/2020/)
    const all = text(await html(`${base()}/morosi?anno=tutti`))
    expect(all).toMatch(/Bianchi .* 2 173,45 € 01\/02\/2020/)
  })

  it('payments: this tenant’s share of platform payments with their status, and other channels', async () => {
    const page = text(await html(`${base()}/transazioni?anno=tutti`))
    expect(page).toContain('psp-ref-1')
    expect(page).toContain('Riuscito')
    expect(page).toContain('Non riuscito')
    expect(page).toContain('7,00 €')
    expect(page).not.toContain('555,55')
    expect(page).not.toContain('563,55')
    expect(page).toContain('BANCA-0001')
    expect(page).toContain('Banca o posta (riconciliazione)')
    expect(page).toContain('Incassato con i filtri scelti: 17,00 €')
    const failed = text(await html(`${base()}/transazioni?anno=tutti&esito=failed`))
    expect(failed).toContain('Non riuscito')
    expect(failed).not.toContain('BANCA-0001')
    const trasporto = text(await html(`${base()}/transazioni?anno=tutti&servizio=${trasportoId}`))
    expect(trasporto).toContain('Righe trovate: 0')
  })

  it('hostile filters and unknown views answer calmly', async () => {
    expect((await staff.get(`${base()}?anno=<script>&servizio=99999999999999999999&pagina=abc`)).status).toBe(200)
    expect((await staff.get(`${base()}/nulla`)).status).toBe(404)
    expect((await staff.get(`${base()}/esporta/nulla.csv`)).status).toBe(404)
  })
})

describe('CSV exports', () => {
  async function csv(path: string): Promise<{ raw: Uint8Array; body: string; res: Response }> {
    const res = await staff.get(path)
    expect(res.status, path).toBe(200)
    const raw = new Uint8Array(await res.arrayBuffer())
    return { raw, body: new TextDecoder('utf-8', { ignoreBOM: true }).decode(raw), res }
  }

  it('debtors: BOM, semicolons, decimal commas, dd/mm/yyyy, formulas neutralised', async () => {
    const { raw, body, res } = await csv(`${base()}/esporta/morosi.csv?anno=2019`)
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="morosi-[a-z0-9-]+-\d{4}-\d{2}-\d{2}\.csv"$/,
    )
    expect([...raw.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const lines = body.slice(1).split('\r\n')
    expect(lines[0]).toBe(
      'Cognome;Nome;Codice fiscale;Email;Telefono;Indirizzo;Alunni;Rate scadute;Scaduto;Scadenza più vecchia;Giorni di ritardo',
    )
    expect(lines[1]).toMatch(new RegExp(`^Rossi;Mario;${cfA};mario@example.it;;;Luca Rossi;1;20,50;15/01/2020;\\d+$`))
    // a name starting with "=" is text, not a formula; its quotes are escaped by doubling
    expect(lines[2]).toContain(`Bianchi;"'=HYPERLINK(""x"")";${cfB};anna@example.it;'+39 333 1234567;`)
    expect(lines[2]).toContain(';1;123,45;01/02/2020;')
  })

  it('per payer, per pupil, per service and payments', async () => {
    const payers = (await csv(`${base()}/esporta/pagatori.csv?anno=2019`)).body
    expect(payers).toContain(`Rossi;Mario;${cfA};mario@example.it;;2;30,50;10,00;20,50;20,50;1`)
    const pupils = (await csv(`${base()}/esporta/alunni.csv?anno=2019`)).body
    expect(pupils).toContain(`Rossi;Luca;${cfPupil};Mario Rossi;2;30,50;10,00;20,50;20,50`)
    const services = (await csv(`${base()}/esporta/servizi.csv?anno=2019`)).body
    expect(services).toContain('Trasporto scolastico;1;123,45;0,00;123,45;123,45')
    const pays = (await csv(`${base()}/esporta/transazioni.csv?anno=tutti`)).body
    expect(pays).toMatch(
      /\d{2}\/\d{2}\/\d{4} \d{2}:\d{2};Online su Sportello;Riuscito;Prestatore di prova;psp-ref-1;R-/,
    )
    expect(pays).toContain(';1;7,00;0,50;')
    expect(pays).toContain('14/10/2019 11:00;Altro canale;Riuscito;Banca o posta (riconciliazione);banca;BANCA-0001;')
    expect(pays).not.toContain('555,55')
  })

  it('every export is in the audit log', async () => {
    const rows = await withTenant(
      db.sql,
      x,
      (tx) => tx<{ n: number }[]>`select count(*)::int as n from audit_log where action = 'control.export'`,
    )
    expect(rows[0]?.n).toBeGreaterThanOrEqual(5)
  })
})
