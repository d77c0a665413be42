// The tax certificate (attestazione per il 730) over HTTP against real data in two tenants: the pupils offered,
// the rows of one pupil across tenants from every channel, whose payments count, the Rome-time year boundary,
// the form's errors, the empty period, another family's pupil.
import { beforeAll, describe, expect, it } from 'vitest'
import { issueDocuments } from '../../src/features/debts/issue.ts'
import { settleInstallments } from '../../src/features/payments/settle.ts'
import { todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createAccount, deleteAccounts, randomCf, signedIn, type TestAccount } from '../helpers/accounts.ts'
import { Client } from '../helpers/client.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { givePayer } from '../helpers/payments.ts'
import { textOfPdf } from '../helpers/pdf.ts'
import { type App, world } from '../helpers/world.ts'

const w = world({ other: true })
let db: Db
let app: App
let a: Tenant
let b: Tenant
let me: TestAccount
let partner: TestAccount
let stranger: TestAccount
let client: Client
const pupilCf = randomCf()
let lucaA: number // Luca in tenant A (with codice fiscale)
let lucaB: number // the same Luca in tenant B
let giulia: number // Giulia in A, no codice fiscale
let strangersChild: number
const iuvs: Record<string, string> = {}

const THIS_YEAR = Number(todayRome().slice(0, 4))
const LAST_YEAR = THIS_YEAR - 1

const textOf = textOfPdf

async function pupil(t: Tenant, name: [string, string], cf: string | null, payers: number[]): Promise<number> {
  return withTenant(db.sql, t, async (tx) => {
    const [row] = await tx<{ id: number }[]>`
      insert into pupils (given_name, family_name, codice_fiscale) values (${name[0]}, ${name[1]}, ${cf}) returning id`
    const id = (row as { id: number }).id
    await tx`insert into pupil_payers ${tx(payers.map((p, i) => ({ pupil_id: id, payer_id: p, holder: i === 0 })))}`
    return id
  })
}

/** A document of one installment for the pupil, settled at the given instant through the given channel. */
async function paid(
  t: Tenant,
  o: {
    label: string
    payerId: number
    pupilId: number
    cents: number
    at: string
    source: 'checkout' | 'pagopa' | 'riconciliazione' | 'manuale'
    account?: TestAccount
    service?: string
    installments?: number
  },
) {
  let paymentId: number | null = null
  if (o.account) {
    const [p] = await db.sql<{ id: number }[]>`
      insert into platform.payments (account_id, idempotency_key, status, provider, amount_cents, commission_cents, total_cents, receipt_number, completed_at)
      values (${o.account.id}, ${`tax-${o.label}-${Math.random()}`}, 'succeeded', 'sandbox', ${o.cents}, 99, ${o.cents + 99},
              ${`SP-T-${o.label}-${Math.random().toString(36).slice(2, 8)}`}, ${new Date(o.at)})
      returning id`
    paymentId = (p as { id: number }).id
  }
  await withTenant(db.sql, t, async (tx) => {
    const [svc] = await tx<{ id: number }[]>`select id from services where code = ${o.service ?? 'mensa'}`
    const n = o.installments ?? 1
    const r = await issueDocuments(tx, t, [
      {
        year: 2025,
        issueDate: '2025-01-10',
        serviceId: (svc as { id: number }).id,
        payerId: o.payerId,
        pupilId: o.pupilId,
        description: o.label,
        installments: Array.from({ length: n }, (_, i) => ({ dueDate: '2025-02-01', amountCents: o.cents + i })),
      },
    ])
    const inst = r.installments[0] as { id: number; iuv: string }
    iuvs[o.label] = inst.iuv
    await settleInstallments(tx, [
      {
        installmentId: inst.id,
        paymentId,
        source: o.source,
        receiptNumber: `R-${o.label}`,
        amountCents: o.cents,
        paidAt: new Date(o.at),
      },
    ])
  })
}

beforeAll(async () => {
  ;({ db, app, tenant: a, other: b } = w)
  me = await w.account({ givenName: 'Maria', familyName: 'Bianchi' })
  partner = await w.account({ givenName: 'Paolo', familyName: 'Bianchi' })
  stranger = await w.account({ givenName: 'Ugo', familyName: 'Esposito' })
  const meA = await givePayer(db, a, me.codiceFiscale, ['Maria', 'Bianchi'])
  const partnerA = await givePayer(db, a, partner.codiceFiscale, ['Paolo', 'Bianchi'])
  const meB = await givePayer(db, b, me.codiceFiscale, ['Maria', 'Bianchi'])
  const strangerA = await givePayer(db, a, stranger.codiceFiscale, ['Ugo', 'Esposito'])
  lucaA = await pupil(a, ['Luca', 'Bianchi'], pupilCf, [meA, partnerA])
  lucaB = await pupil(b, ['Luca', 'Bianchi'], pupilCf, [meB])
  giulia = await pupil(a, ['Giulia', 'Bianchi'], null, [meA])
  strangersChild = await pupil(a, ['Nina', 'Esposito'], null, [strangerA])
  const y = LAST_YEAR
  // Luca, last year: paid by me on Sportello (A), at the bank as holder (A), through the node (B), at the office (B)
  await paid(a, {
    label: 'Mensa gennaio',
    payerId: meA,
    pupilId: lucaA,
    cents: 5800,
    at: `${y}-02-10T10:00:00Z`,
    source: 'checkout',
    account: me,
  })
  await paid(a, {
    label: 'Mensa febbraio',
    payerId: meA,
    pupilId: lucaA,
    cents: 6100,
    at: `${y}-03-05T09:00:00Z`,
    source: 'riconciliazione',
  })
  await paid(b, {
    label: 'Trasporto annuale',
    payerId: meB,
    pupilId: lucaB,
    cents: 120000,
    at: `${y}-10-03T08:00:00Z`,
    source: 'pagopa',
    service: 'trasporto',
  })
  await paid(b, {
    label: 'Nido ottobre',
    payerId: meB,
    pupilId: lucaB,
    cents: 30000,
    at: `${y}-11-03T08:00:00Z`,
    source: 'manuale',
    service: 'nido',
    installments: 2,
  })
  // 23:30 UTC on 31 December is already 1 January in Rome: next year's, not last year's
  await paid(a, {
    label: 'Mensa capodanno',
    payerId: meA,
    pupilId: lucaA,
    cents: 700,
    at: `${y}-12-31T23:30:00Z`,
    source: 'checkout',
    account: me,
  })
  // and 23:30 UTC on 31 December of the year before is 1 January of last year in Rome
  await paid(a, {
    label: 'Mensa primo gennaio',
    payerId: meA,
    pupilId: lucaA,
    cents: 450,
    at: `${y - 1}-12-31T23:30:00Z`,
    source: 'checkout',
    account: me,
  })
  // paid by the other parent on Sportello, for a document held by me: on the partner's certificate, not mine
  await paid(a, {
    label: 'Gita del papà',
    payerId: meA,
    pupilId: lucaA,
    cents: 2500,
    at: `${y}-05-05T10:00:00Z`,
    source: 'checkout',
    account: partner,
    service: 'trasporto',
  })
  // held by the partner, paid at the bank: the partner's
  await paid(a, {
    label: 'Mensa marzo',
    payerId: partnerA,
    pupilId: lucaA,
    cents: 4000,
    at: `${y}-04-01T10:00:00Z`,
    source: 'riconciliazione',
  })
  // another family's child
  await paid(a, {
    label: 'Mensa Nina',
    payerId: strangerA,
    pupilId: strangersChild,
    cents: 999,
    at: `${y}-04-01T10:00:00Z`,
    source: 'manuale',
  })
  client = await w.client(me)
})

// the key of a child known to several tenants is that of its record in the tenant created first
const lucaKey = () => (a.id < b.id ? `${a.id}-${lucaA}` : `${b.id}-${lucaB}`)
const giuliaKey = () => `${a.id}-${giulia}`

async function pdf(c: Client, query: Record<string, string>) {
  const res = await c.get(`/certificazione.pdf?${new URLSearchParams(query)}`)
  return res
}

describe('the form', () => {
  it('offers each of my pupils once across tenants, the last five years and a range, last year chosen', async () => {
    const res = await client.get('/certificazione')
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html.match(/Luca Bianchi/g)).toHaveLength(1)
    expect(html).toContain(`Codice fiscale ${pupilCf}`)
    expect(html).toContain(`${a.name}, ${b.name}`)
    expect(html).toContain('Giulia Bianchi')
    expect(html).not.toContain('Nina Esposito')
    for (let y = THIS_YEAR; y > THIS_YEAR - 5; y--) expect(html).toContain(`value="${y}"`)
    expect(html).not.toContain(`value="${THIS_YEAR - 5}"`)
    expect(html).toMatch(new RegExp(`value="${LAST_YEAR}" checked`))
    expect(html).toContain('value="intervallo"')
    for (const id of ['dal-giorno', 'dal-mese', 'dal-anno', 'al-giorno', 'al-mese', 'al-anno']) {
      expect(html).toContain(`id="${id}"`)
    }
    // linked from the personal area
    expect(await (await client.get('/area-personale')).text()).toContain('href="/certificazione"')
  })

  it('a citizen with no pupils is told so, with no form', async () => {
    const c = await signedIn(app, partner)
    // the partner is linked to Luca in A: has a pupil; a fresh account has none
    expect(await (await c.get('/certificazione')).text()).toContain('Luca Bianchi')
    const lonely = await createAccount(db)
    const l = await signedIn(app, lonely)
    const html = await (await l.get('/certificazione')).text()
    expect(html).toContain('Non risultano alunni collegati a te')
    expect(html).not.toContain('<form method="get"')
    await deleteAccounts(db, [lonely])
  })

  it('refuses missing and impossible answers with 422, keeping them', async () => {
    const cases: [Record<string, string>, string[]][] = [
      [{ invio: '1', periodo: String(LAST_YEAR) }, ["Scegli l'alunno"]],
      [{ invio: '1', periodo: '1999', alunno: lucaKey() }, ['Scegli il periodo']],
      [
        { invio: '1', periodo: 'intervallo', alunno: lucaKey() },
        ['Scrivi la data di inizio', 'Scrivi la data di fine'],
      ],
      [
        {
          invio: '1',
          periodo: 'intervallo',
          alunno: lucaKey(),
          'dal-giorno': '31',
          'dal-mese': '2',
          'dal-anno': String(LAST_YEAR),
          'al-giorno': '1',
          'al-mese': '13',
          'al-anno': String(LAST_YEAR),
        },
        ['La data di inizio deve essere una data vera', 'La data di fine deve essere una data vera'],
      ],
      [
        {
          invio: '1',
          periodo: 'intervallo',
          alunno: lucaKey(),
          'dal-giorno': '1',
          'dal-mese': '6',
          'dal-anno': String(LAST_YEAR),
          'al-giorno': '1',
          'al-mese': '5',
          'al-anno': String(LAST_YEAR),
        },
        ['La data di fine deve essere uguale o successiva'],
      ],
      [
        {
          invio: '1',
          periodo: 'intervallo',
          alunno: lucaKey(),
          'dal-giorno': '1',
          'dal-mese': '1',
          'dal-anno': String(THIS_YEAR),
          'al-giorno': '1',
          'al-mese': '1',
          'al-anno': String(THIS_YEAR + 1),
        },
        ['La data di fine non può essere dopo oggi'],
      ],
      // every problem at once: the pupil and the dates
      [{ invio: '1', periodo: 'intervallo' }, ['Scrivi la data di inizio', "Scegli l'alunno"]],
    ]
    for (const [query, messages] of cases) {
      const res = await client.get(`/certificazione?${new URLSearchParams(query)}`)
      expect(res.status, JSON.stringify(query)).toBe(422)
      const html = (await res.text()).replace(/&#39;/g, "'")
      expect(html).toContain('<title>Errore:')
      for (const m of messages) expect(html, JSON.stringify(query)).toContain(m)
      if (query['dal-giorno']) expect(html).toContain(`value="${query['dal-giorno']}"`)
    }
    // the summary links to the day field of a date
    const html = await (await client.get(`/certificazione?invio=1&periodo=intervallo&alunno=${lucaKey()}`)).text()
    expect(html).toContain('href="#dal-giorno"')
    expect(html).toContain('href="#al-giorno"')
  })
})

describe('the certificate', () => {
  it('a valid choice leads to the PDF', async () => {
    const res = await client.get(`/certificazione?invio=1&periodo=${LAST_YEAR}&alunno=${lucaKey()}`)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`/certificazione.pdf?periodo=${LAST_YEAR}&alunno=${lucaKey()}`)
  })

  it('lists what I paid for the pupil last year in both tenants, from every channel, without commissions', async () => {
    const res = await pdf(client, { periodo: String(LAST_YEAR), alunno: lucaKey() })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/pdf')
    expect(res.headers.get('content-disposition')).toContain(`attestazione-pagamenti-${LAST_YEAR}.pdf`)
    const text = textOf(Buffer.from(await res.arrayBuffer()))
    expect(text).toContain('Attestazione dei pagamenti')
    expect(text).toContain('Maria Bianchi')
    expect(text).toContain(me.codiceFiscale)
    expect(text).toContain('Luca Bianchi')
    expect(text).toContain(pupilCf)
    expect(text).toContain(`dal 01/01/${LAST_YEAR} al 31/12/${LAST_YEAR}`)
    for (const t of [a, b]) {
      expect(text).toContain(t.name)
      expect(text).toContain(t.fiscalCode)
    }
    for (const label of [
      'Mensa primo gennaio',
      'Mensa gennaio',
      'Mensa febbraio',
      'Trasporto annuale',
      'Nido ottobre',
    ]) {
      expect(text, label).toContain(iuvs[label] as string)
      expect(text, label).toContain(`R-${label}`)
    }
    expect(text).toContain(`01/01/${LAST_YEAR}`) // the Rome date of 23:30 UTC on 31 December
    expect(text).toContain(`10/02/${LAST_YEAR}`)
    expect(text).toContain('Trasporto scolastico – Trasporto annuale')
    expect(text).toContain('Nido ottobre – rata 1')
    // neither next year's payment, nor the other parent's, nor the one the other parent holds
    for (const label of ['Mensa capodanno', 'Gita del papà', 'Mensa marzo', 'Mensa Nina']) {
      // by description: an IUV is unique per creditor only, and the other body may hold the same one
      expect(text, label).not.toContain(label)
    }
    // 4,50 + 58,00 + 61,00 + 1.200,00 + 300,00 = 1.623,50 (no commission of 0,99 anywhere)
    expect(text).toContain('1.623,50\u00a0€')
    expect(text).not.toContain('0,99')
  })

  it("the other parent's certificate holds what they paid", async () => {
    const c = await signedIn(app, partner)
    const res = await pdf(c, { periodo: String(LAST_YEAR), alunno: `${a.id}-${lucaA}` })
    expect(res.status).toBe(200)
    const text = textOf(Buffer.from(await res.arrayBuffer()))
    expect(text).toContain('Paolo Bianchi')
    expect(text).toContain(iuvs['Gita del papà'] as string)
    expect(text).toContain(iuvs['Mensa marzo'] as string)
    expect(text).not.toContain('Mensa gennaio')
    expect(text).toContain('65,00\u00a0€')
  })

  it('a date range: only the payments inside it; English when asked', async () => {
    const c = await signedIn(app, me)
    await c.get('/lingua/en')
    const res = await pdf(c, {
      periodo: 'intervallo',
      alunno: lucaKey(),
      'dal-giorno': '1',
      'dal-mese': '3',
      'dal-anno': String(LAST_YEAR),
      'al-giorno': '31',
      'al-mese': '10',
      'al-anno': String(LAST_YEAR),
    })
    expect(res.status).toBe(200)
    const text = textOf(Buffer.from(await res.arrayBuffer()))
    expect(text).toContain('Statement of payments')
    expect(text).toContain(`from 01/03/${LAST_YEAR} to 31/10/${LAST_YEAR}`)
    expect(text).toContain(iuvs['Mensa febbraio'] as string)
    expect(text).toContain(iuvs['Trasporto annuale'] as string)
    // by description: an IUV is unique per creditor only, and the other body may hold the same one
    expect(text).not.toContain('Mensa gennaio')
    expect(text).not.toContain('Nido ottobre')
  })

  it('no payments in the period: a page saying so, not an empty PDF', async () => {
    for (const q of [
      { periodo: String(THIS_YEAR - 3), alunno: lucaKey() },
      { periodo: String(LAST_YEAR), alunno: giuliaKey() },
    ]) {
      const direct = await pdf(client, q)
      expect(direct.status).toBe(200)
      expect(direct.headers.get('content-type')).toContain('text/html')
      const html = await direct.text()
      expect(html).toContain('Nessun pagamento nel periodo')
      const viaForm = await client.get(`/certificazione?invio=1&${new URLSearchParams(q)}`)
      expect(viaForm.status).toBe(200)
      expect(await viaForm.text()).toContain('Nessun pagamento nel periodo')
    }
  })

  it("another family's pupil, a made-up one, and an anonymous visitor get nothing", async () => {
    for (const key of [`${a.id}-${strangersChild}`, `${a.id}-999999`, `999999-${lucaA}`, `${b.id}-${lucaA}`]) {
      expect((await pdf(client, { periodo: String(LAST_YEAR), alunno: key })).status, key).toBe(404)
      expect((await client.get(`/certificazione?invio=1&periodo=${LAST_YEAR}&alunno=${key}`)).status, key).toBe(404)
    }
    const s = await signedIn(app, stranger)
    expect((await pdf(s, { periodo: String(LAST_YEAR), alunno: lucaKey() })).status).toBe(404)
    const anon = new Client(app)
    const res = await anon.get(`/certificazione.pdf?periodo=${LAST_YEAR}&alunno=${lucaKey()}`)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toMatch(/^\/accesso\?torna=/)
  })
})

describe('by item of the tax return', () => {
  it("groups each body's payments under asili nido and frequenza scolastica, with subtotals and the totals", async () => {
    const res = await pdf(client, { periodo: String(LAST_YEAR), alunno: lucaKey() })
    const text = textOf(Buffer.from(await res.arrayBuffer()))
    for (const t of [a, b]) expect(text).toContain(`${t.name} – codice fiscale ${t.fiscalCode}`)
    expect(text).toContain(`${b.name}, codice fiscale ${b.fiscalCode}, attesta che il pagatore`)
    expect(text).toContain('Spese per la frequenza di asili nido')
    expect(text).toContain('Totale – Spese per la frequenza di asili nido 300,00\u00a0€')
    // the canteen in A (4,50 + 58,00 + 61,00) and the transport in B (1.200,00): school attendance, per body
    expect(text).toContain(
      'Totale – Spese per la frequenza scolastica (mensa, trasporto, gite, assicurazione, attività) 123,50\u00a0€',
    )
    expect(text).toContain(
      'Totale – Spese per la frequenza scolastica (mensa, trasporto, gite, assicurazione, attività) 1.200,00\u00a0€',
    )
    expect(text).toContain('Totali per voce della dichiarazione')
  })

  it("follows the office's choice for a service: one put under none is left out of the certificate", async () => {
    await withTenant(db.sql, b, (tx) => tx`update services set tax_category = 'nessuna' where code = 'trasporto'`)
    try {
      const text = textOf(
        Buffer.from(await (await pdf(client, { periodo: String(LAST_YEAR), alunno: lucaKey() })).arrayBuffer()),
      )
      expect(text).not.toContain('Trasporto annuale')
      expect(text).toContain('423,50\u00a0€') // 1.623,50 without the 1.200,00 of transport
    } finally {
      await withTenant(db.sql, b, (tx) => tx`update services set tax_category = null where code = 'trasporto'`)
    }
  })

  it('for the whole household: every child of the account in one certificate, each payment naming its child', async () => {
    const form = await (await client.get('/certificazione')).text()
    expect(form).toContain('value="tutti"')
    expect(form).toContain('Tutti i figli')
    const res = await pdf(client, { periodo: String(LAST_YEAR), alunno: 'tutti' })
    expect(res.status).toBe(200)
    const text = textOf(Buffer.from(await res.arrayBuffer()))
    expect(text).toContain('Figli (tutto il nucleo)')
    expect(text).toContain('Giulia Bianchi')
    expect(text).toContain('Alunno/a: Luca Bianchi')
    expect(text).toContain('1.623,50\u00a0€')
    // nobody else's child, whatever is asked
    expect(text).not.toContain('Nina')
    const stranger = await w.client(await w.account())
    expect((await pdf(stranger, { periodo: String(LAST_YEAR), alunno: 'tutti' })).status).toBe(404)
  })
})

describe('markup', () => {
  it('the form, its error state and the empty page are valid HTML (html-validate, recommended + a11y)', async () => {
    await expectValidHtml(await (await client.get('/certificazione')).text())
    await expectValidHtml(await (await client.get('/certificazione?invio=1&periodo=intervallo')).text())
    await expectValidHtml(await (await pdf(client, { periodo: String(LAST_YEAR), alunno: giuliaKey() })).text())
  })
})

describe('hostile input', () => {
  it('never a 5xx, never echoed as markup', async () => {
    const hostile = ["1' or '1'='1", '<script>alert(1)</script>', '%00', '9'.repeat(30), '-1', '1-1', '9999']
    for (const h of hostile) {
      for (const k of ['periodo', 'alunno', 'dal-giorno', 'dal-anno', 'al-mese']) {
        const q = new URLSearchParams({ invio: '1', periodo: 'intervallo', alunno: lucaKey(), [k]: h })
        for (const p of [`/certificazione?${q}`, `/certificazione.pdf?${q}`]) {
          const res = await client.get(p)
          expect(res.status, p).toBeLessThan(500)
          expect(await res.text(), p).not.toContain('<script>alert(1)</script>')
        }
      }
    }
  })
})
