// Spontaneous payments (the Monopoli flow) over real HTTP and the sandbox provider: the services list, the
// form with its errors, the check page with the commission (€ 154,60 → € 2,36 → € 156,96), the document and
// installment it issues, the payment; double submits, pupils, unconfirmed emails, suspended tenants, clean-up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withdrawAbandoned } from '../../src/features/spontaneous/service.ts'
import { todayRome } from '../../src/platform/dates.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import type { Tenant } from '../../src/platform/tenancy.ts'
import { createAccount, deleteAccounts, signedIn, type TestAccount } from '../helpers/accounts.ts'
import { Client } from '../helpers/client.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { cancelAtSandbox, deliverNotifications, givePayer, payAtSandbox } from '../helpers/payments.ts'
import { type World, world } from '../helpers/world.ts'

const w = world({ tenant: false, serve: true })
let db: Db
let m: Tenant // Monopoli-like: gross-up 1,5%
let n: Tenant // no spontaneous services
let s: Tenant // suspended
let server: World['server']
const accounts: TestAccount[] = []
let me: TestAccount
let client: Client

const NBSP = '\u00a0'

beforeAll(async () => {
  ;({ db, server } = w)
  const settings = {
    cutoff: '09:15',
    commission: { type: 'grossup' as const, basisPoints: 150 },
    reminderDays: [-7, 0, 7],
    lowBalanceMeals: 3,
  }
  m = await w.newTenant({
    settings,
    services: [
      {
        code: 'refezione',
        kind: 'mensa',
        name: 'Refezione scolastica',
        causale: 'Pagamento refezione scolastica',
        spontaneous: true,
        amountMode: 'importo',
      },
      {
        code: 'pasti',
        kind: 'mensa',
        name: 'Pasti della mensa',
        causale: 'Pasti della mensa',
        spontaneous: true,
        amountMode: 'quantita',
        unitPriceCents: 450,
      },
      {
        code: 'diritti',
        kind: 'tributi',
        name: 'Diritti di segreteria',
        causale: 'Diritti di segreteria',
        spontaneous: true,
        amountMode: 'importo',
        commission: { type: 'fixed', cents: 100 },
      },
      {
        code: 'trasporto',
        kind: 'trasporto',
        name: 'Trasporto scolastico',
        causale: 'Trasporto scolastico',
        spontaneous: false,
        amountMode: 'importo',
      },
      {
        code: 'assicurazione',
        kind: 'assicurazione',
        name: 'Assicurazione alunni',
        nameEn: 'Pupil insurance',
        causale: 'Assicurazione alunni',
        spontaneous: true,
        amountMode: 'tariffa',
        tariffs: [
          { label: 'Quota intera', amountCents: 750 },
          { label: 'Secondo figlio', amountCents: 500 },
        ],
      },
      {
        code: 'contributo',
        kind: 'contributo',
        name: 'Contributo volontario',
        causale: 'Contributo volontario',
        spontaneous: true,
        amountMode: 'importo',
        minCents: 1_000,
        maxCents: 50_000,
      },
    ],
  })
  n = await w.newTenant({
    services: [
      { code: 'nido', kind: 'nido', name: 'Nido', causale: 'Retta nido', spontaneous: false, amountMode: 'importo' },
    ],
  })
  s = await w.newTenant()
  await db.admin`update platform.tenants set status = 'suspended' where id = ${s.id}`
  me = await w.account({ givenName: 'Mario', familyName: 'Rossi' })
  client = await w.client(me)
})

afterAll(async () => {
  await db.sql`delete from platform.payments where account_id = any(${accounts.map((a) => a.id)})`
  await deleteAccounts(db, accounts)
})

const deliver = () => deliverNotifications(db, server)

const unescapeHtml = (v: string) =>
  v
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')

/** The hidden fields of the check page's pay form. */
function payForm(html: string): Record<string, string> {
  const form = /<form method="post" action="[^"]*\/paga"[\s\S]*?<\/form>/.exec(html)?.[0] ?? ''
  const out: Record<string, string> = {}
  for (const x of form.matchAll(/<input type="hidden" name="([a-z]+)" value="([^"]*)">/g)) {
    out[x[1] as string] = unescapeHtml(x[2] as string)
  }
  return out
}

const path = (t: Tenant, rest = '') => `/t/${t.slug}/pagamento-spontaneo${rest}`

/** Fills the form; returns the response (303 to the check page, or 422). */
async function fill(c: Client, t: Tenant, code: string, form: Record<string, string>) {
  await c.get(path(t, `/${code}`))
  return c.post(path(t, `/${code}`), form)
}

/** Fills the form and opens the check page. */
async function toCheck(c: Client, t: Tenant, code: string, form: Record<string, string>) {
  const res = await fill(c, t, code, form)
  expect(res.status, await res.clone().text()).toBe(303)
  const page = await c.get(res.headers.get('location') as string)
  expect(page.status).toBe(200)
  return page.text()
}

async function countDocuments(t: Tenant): Promise<number> {
  const [r] = await withTenant(db.sql, t, (tx) => tx<{ n: number }[]>`select count(*)::int as n from documents`)
  return r?.n ?? 0
}

describe('choosing a service', () => {
  it('lists only the services open to spontaneous payments', async () => {
    const res = await client.get(path(m))
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('Refezione scolastica')
    expect(html).toContain('Pasti della mensa')
    expect(html).toContain(`prezzo unitario 4,50${NBSP}€`)
    expect(html).not.toContain('Trasporto scolastico')
    // the tenant home links to it
    expect(await (await client.get(`/t/${m.slug}`)).text()).toContain(path(m))
  })

  it('a tenant without such services says so; unknown and non-spontaneous services are 404', async () => {
    const res = await client.get(path(n))
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('Nessun servizio pagabile senza avviso')
    expect(await (await client.get(`/t/${n.slug}`)).text()).not.toContain(path(n))
    expect((await client.get(path(m, '/trasporto'))).status).toBe(404)
    expect((await client.get(path(m, '/inesistente'))).status).toBe(404)
    expect((await client.get(path(n, '/nido'))).status).toBe(404)
  })

  it('a suspended tenant refuses every step with the suspended message, and issues nothing', async () => {
    for (const p of [path(s), path(s, '/mensa'), path(s, '/mensa/controlla?causale=x&quantita=2')]) {
      const res = await client.get(p)
      expect(res.status, p).toBe(403)
      expect(await res.text(), p).toContain('temporaneamente sospeso')
    }
    await client.get(path(m))
    const res = await client.post(path(s, '/mensa/paga'), {
      causale: 'Mensa',
      quantita: '2',
      alunno: 'nessuno',
      chiave: 'k'.repeat(43),
    })
    expect(res.status).toBe(403)
    expect(await countDocuments(s)).toBe(0)
  })

  it('asks an anonymous visitor to sign in first and brings them back', async () => {
    const anon = new Client(server.app)
    const res = await anon.get(path(m, '/refezione'))
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`/accesso?torna=${encodeURIComponent(path(m, '/refezione'))}`)
  })
})

describe('the Monopoli case', () => {
  it('€ 154,60 with the gross-up 1,5% rule: commissione € 2,36, totale € 156,96; pays and settles once', async () => {
    // the form: payer from the account (read only), causale prefilled from the service
    const form = await (await client.get(path(m, '/refezione'))).text()
    expect(form).toContain('Mario Rossi')
    expect(form).toContain(me.codiceFiscale)
    expect(form).toContain(me.email)
    expect(form).toContain('value="Pagamento refezione scolastica"')
    expect(form).not.toContain('name="codiceFiscale"')

    const check = await toCheck(client, m, 'refezione', {
      causale: 'pagamento refezione scolastica',
      importo: '154.60',
    })
    expect(check).toContain('Controlla prima di pagare')
    expect(check).toContain('pagamento refezione scolastica')
    expect(check).toContain(`<dd>154,60${NBSP}€</dd>`)
    expect(check).toContain('<dt>Commissione (1,522843%)</dt>')
    expect(check).toContain(`<dd>2,36${NBSP}€</dd>`)
    expect(check).toContain(`<strong>156,96${NBSP}€</strong>`)
    expect(check).toContain(`Procedi col pagamento di 156,96${NBSP}€`)
    expect(await countDocuments(m)).toBe(0) // nothing is issued before confirming

    const hidden = payForm(check)
    expect(hidden.chiave).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const res = await client.post(path(m, '/refezione/paga'), hidden, client.csrf(check))
    expect(res.status).toBe(303)
    const redirect = res.headers.get('location') as string
    expect(redirect).toMatch(/\/sandbox-psp\/paga\//)

    // one document, one installment with its IUV and notice code, due today; the payer row from the account
    const today = todayRome()
    const rows = await withTenant(
      db.sql,
      m,
      (tx) => tx<
        {
          description: string
          issue_date: string
          due_date: string
          amount_cents: number
          status: string
          iuv: string
          notice_code: string
          cf: string
          given_name: string
          email: string
          pupil_id: number | null
        }[]
      >`
      select d.description, d.issue_date, i.due_date, i.amount_cents, i.status, i.iuv, i.notice_code,
        p.codice_fiscale as cf, p.given_name, p.email, d.pupil_id
      from documents d join installments i on i.document_id = d.id join payers p on p.id = d.payer_id`,
    )
    expect(rows).toHaveLength(1)
    const doc = rows[0] as (typeof rows)[number]
    expect(doc).toMatchObject({
      description: 'pagamento refezione scolastica',
      issue_date: today,
      due_date: today,
      amount_cents: 15_460,
      status: 'in_corso',
      cf: me.codiceFiscale,
      given_name: 'Mario',
      email: me.email,
      pupil_id: null,
    })
    expect(doc.iuv).toMatch(new RegExp(`^${m.segregationCode}\\d{15}$`))
    expect(doc.notice_code).toBe(`3${doc.iuv}`)
    const [payment] = await db.sql<{ amount_cents: number; commission_cents: number; total_cents: number }[]>`
      select amount_cents, commission_cents, total_cents from platform.payments where idempotency_key = ${hidden.chiave as string}`
    expect(payment).toEqual({ amount_cents: 15_460, commission_cents: 236, total_cents: 15_696 })
    // the tenant now knows this codice fiscale: the debt position asks it
    const [indexed] =
      await db.sql`select 1 from platform.payer_index where codice_fiscale = ${me.codiceFiscale} and tenant_id = ${m.id}`
    expect(indexed).toBeDefined()

    const paid = await payAtSandbox(client, redirect)
    expect(paid.status).toBe(303)
    await deliver()
    const status = await client.get(new URL(paid.headers.get('location') as string).pathname)
    expect(await status.text()).toContain('Pagamento riuscito')
    const [after] = await withTenant(
      db.sql,
      m,
      (tx) => tx<{ status: string; n: number }[]>`
        select i.status, (select count(*)::int from installment_payments) as n from installments i`,
    )
    expect(after).toEqual({ status: 'pagato', n: 1 })
    // paid: not left in the cart; shown in the debt position as paid
    expect(await (await client.get('/carrello')).text()).toContain('Il carrello è vuoto')
    const position = await (await client.get(`/t/${m.slug}/posizione-debitoria?stato=pagati`)).text()
    expect(position).toContain('pagamento refezione scolastica')
  })
})

describe('the form', () => {
  it('refuses bad answers with 422, keeps them, and issues nothing', async () => {
    const before = await countDocuments(m)
    const cases: [Record<string, string>, string][] = [
      [{ causale: '', importo: '10' }, 'Scrivi la causale del pagamento'],
      [{ causale: 'x'.repeat(141), importo: '10' }, 'La causale può avere al massimo 140 caratteri'],
      [{ causale: 'Mensa <b>', importo: '10' }, 'La causale non può contenere'],
      [{ causale: 'Mensa', importo: '' }, "Scrivi l'importo da pagare"],
      [{ causale: 'Mensa', importo: 'dieci euro' }, "Scrivi l'importo in euro"],
      [{ causale: 'Mensa', importo: '0,00' }, "L'importo deve essere maggiore di zero"],
      [{ causale: 'Mensa', importo: '1.000.000,00' }, "L'importo non può superare 999.999,99"],
      [{ causale: 'Mensa', importo: '12,345' }, "Scrivi l'importo in euro"],
    ]
    for (const [form, message] of cases) {
      const res = await fill(client, m, 'refezione', form)
      expect(res.status, JSON.stringify(form)).toBe(422)
      const html = await res.text()
      expect(unescapeHtml(html), JSON.stringify(form)).toContain(message)
      expect(html).toContain('<title>Errore:')
      expect(html).toContain('class="error-summary"')
      if (form.importo) expect(html).toContain(`value="${form.importo}"`)
    }
    // both fields wrong: both reported, in page order
    const both = await (await fill(client, m, 'refezione', { causale: ' ', importo: '-5' })).text()
    expect(both.indexOf('href="#causale"')).toBeLessThan(both.indexOf('href="#importo"'))
    expect(await countDocuments(m)).toBe(before)
  })

  it('a quantity service: 1 to 500 whole units times the unit price', async () => {
    for (const q of ['0', '501', '2,5', '', 'dieci']) {
      const res = await fill(client, m, 'pasti', { causale: 'Pasti di ottobre', quantita: q })
      expect(res.status, q).toBe(422)
    }
    const check = await toCheck(client, m, 'pasti', { causale: 'Pasti di ottobre', quantita: '10' })
    expect(check).toContain(`10 × 4,50${NBSP}€`)
    expect(check).toContain(`<dd>45,00${NBSP}€</dd>`)
    // gross-up 1,5% of 45,00 = 0,685… → 0,69 (rounded up)
    expect(check).toContain(`<dd>0,69${NBSP}€</dd>`)
    expect(check).toContain(`<strong>45,69${NBSP}€</strong>`)
  })

  it("a service's own commission rule wins over the tenant's", async () => {
    const check = await toCheck(client, m, 'diritti', { causale: 'Diritti di segreteria pratica 12', importo: '20' })
    expect(check).toContain(`Commissione (fissa, 1,00${NBSP}€)`)
    expect(check).toContain(`<strong>21,00${NBSP}€</strong>`)
  })

  it('"Cambia" goes back to the form with every answer kept', async () => {
    const check = await toCheck(client, m, 'refezione', { causale: "Mensa dell'anno", importo: '1.234,5' })
    const change = /<a href="([^"]+)#importo">Cambia/.exec(check)?.[1] as string
    expect(change).toBeDefined()
    const form = await (await client.get(unescapeHtml(change))).text()
    expect(form).toContain('value="Mensa dell&#39;anno"')
    expect(form).toContain('value="1234,50"')
  })
})

describe('pupils', () => {
  it('offers the pupils linked to the citizen in this tenant, records the one chosen, refuses any other', async () => {
    const parent = await createAccount(db, { givenName: 'Anna', familyName: 'Neri' })
    const stranger = await createAccount(db)
    accounts.push(parent, stranger)
    const payer = await givePayer(db, m, parent.codiceFiscale, ['Anna', 'Neri'])
    const strangerPayer = await givePayer(db, m, stranger.codiceFiscale, ['Ugo', 'Verdi'])
    const [mine, theirs] = await withTenant(db.sql, m, async (tx) => {
      const rows = await tx<{ id: number }[]>`
        insert into pupils (given_name, family_name) values ('Luca', 'Neri'), ('Sara', 'Verdi') returning id`
      await tx`insert into pupil_payers (pupil_id, payer_id, holder) values
        (${rows[0]?.id as number}, ${payer}, true), (${rows[1]?.id as number}, ${strangerPayer}, true)`
      return rows.map((r) => r.id)
    })
    const c = await signedIn(server.app, parent)
    const form = await (await c.get(path(m, '/pasti'))).text()
    expect(form).toContain('Luca Neri')
    expect(form).not.toContain('Sara Verdi')
    expect(form).toContain('Nessun alunno in particolare')

    const refused = await fill(c, m, 'pasti', { causale: 'Pasti', quantita: '2', alunno: String(theirs) })
    expect(refused.status).toBe(422)
    expect(await refused.text()).toContain('Scegli uno degli alunni')

    const check = await toCheck(c, m, 'pasti', { causale: 'Pasti di Luca', quantita: '2', alunno: String(mine) })
    expect(check).toContain('Luca Neri')
    // a tampered pay form naming another family's pupil is refused as well, and issues nothing
    const hidden = payForm(check)
    const before = await countDocuments(m)
    const tampered = await c.post(path(m, '/pasti/paga'), { ...hidden, alunno: String(theirs) }, c.csrf(check))
    expect(tampered.status).toBe(422)
    expect(await countDocuments(m)).toBe(before)

    const res = await c.post(path(m, '/pasti/paga'), hidden, c.csrf(check))
    expect(res.status).toBe(303)
    const [doc] = await withTenant(
      db.sql,
      m,
      (tx) => tx<{ pupil_id: number; payer_id: number; total_cents: number }[]>`
        select pupil_id, payer_id, total_cents from documents where description = 'Pasti di Luca'`,
    )
    // the existing payer row (the office's) is used, not a new one
    expect(doc).toEqual({ pupil_id: mine, payer_id: payer, total_cents: 900 })
    const [req] = await withTenant(
      db.sql,
      m,
      (tx) => tx<{ quantity: number; unit_price_cents: number; account_id: number }[]>`
        select quantity, unit_price_cents, account_id from spontaneous_requests where idempotency_key = ${hidden.chiave as string}`,
    )
    expect(req).toEqual({ quantity: 2, unit_price_cents: 450, account_id: parent.id })

    // town-hall dues are for nobody's child: no pupil asked, and one named in a forged form refused
    const dues = await (await c.get(path(m, '/diritti'))).text()
    expect(dues).not.toContain('Luca Neri')
    expect(dues).not.toContain('Nessun alunno in particolare')
    expect(dues).not.toContain('name="alunno"')
    const forged = await fill(c, m, 'diritti', {
      causale: 'Diritti di segreteria',
      importo: '12',
      alunno: String(mine),
    })
    expect(forged.status).toBe(422)
    expect(await forged.text()).toContain('Scegli uno degli alunni')
  })
})

describe("following the service's rule", () => {
  it("a tariff service offers its tariffs as choices; the amount and causale are the tariff's, whatever is sent", async () => {
    const form = await (await client.get(path(m, '/assicurazione'))).text()
    expect(form).toContain('name="tariffa"')
    expect(form).toContain(`Quota intera – 7,50${NBSP}€`)
    expect(form).toContain(`Secondo figlio – 5,00${NBSP}€`)
    expect(form).not.toContain('id="importo"')
    expect(form).not.toContain('id="causale"')
    // a typed amount and causale are ignored: the tariff decides
    const check = await toCheck(client, m, 'assicurazione', { tariffa: '1', importo: '0,01', causale: 'Regalo' })
    expect(check).toContain('Assicurazione alunni – Secondo figlio')
    expect(check).toContain(`5,00${NBSP}€`)
    expect(check).not.toContain('Regalo')
    const hidden = payForm(check)
    expect(hidden).toMatchObject({ tariffa: '1' })
    expect(hidden.importo).toBeUndefined()
    const before = await countDocuments(m)
    // a forged tariff at the pay step is refused and issues nothing
    const forged = await client.post(path(m, '/assicurazione/paga'), { ...hidden, tariffa: '7' }, client.csrf(check))
    expect(forged.status).toBe(422)
    expect(await forged.text()).toContain('Scegli una delle tariffe indicate')
    expect(await countDocuments(m)).toBe(before)
    const res = await client.post(path(m, '/assicurazione/paga'), hidden, client.csrf(check))
    expect(res.status).toBe(303)
    const [doc] = await withTenant(
      db.sql,
      m,
      (tx) => tx<{ total_cents: number; tariff: string }[]>`
        select d.total_cents, r.tariff from documents d join spontaneous_requests r on r.document_id = d.id
        where r.idempotency_key = ${hidden.chiave as string}`,
    )
    expect(doc).toEqual({ total_cents: 500, tariff: 'Secondo figlio' })
    // no tariff chosen: 422 with the summary linked to the choice
    const none = await fill(client, m, 'assicurazione', {})
    expect(none.status).toBe(422)
    expect(await none.text()).toContain('href="#tariffa"')
  })

  it('in English, a service the body named in English is shown by that name', async () => {
    await client.get('/lingua/en?torna=/')
    try {
      const list = await (await client.get(path(m))).text()
      expect(list).toContain('<strong>Pupil insurance</strong>')
      // one without an English name keeps its Italian one
      expect(list).toContain('<strong>Refezione scolastica</strong>')
      expect(await (await client.get(path(m, '/assicurazione'))).text()).toContain('Pupil insurance')
    } finally {
      await client.get('/lingua/it?torna=/')
    }
    expect(await (await client.get(path(m))).text()).toContain('<strong>Assicurazione alunni</strong>')
  })

  it("a free amount within the service's bounds: below or above is a 422 that keeps what was typed", async () => {
    const form = await (await client.get(path(m, '/contributo'))).text()
    expect(form).toContain(`Tra 10,00${NBSP}€ e 500,00${NBSP}€.`)
    for (const typed of ['9,99', '500,01']) {
      const res = await fill(client, m, 'contributo', { causale: 'Contributo', importo: typed })
      expect(res.status, typed).toBe(422)
      const html = await res.text()
      expect(html).toContain('Inserisci un importo entro i limiti indicati per questo servizio')
      expect(html).toContain(`value="${typed}"`)
    }
    expect((await fill(client, m, 'contributo', { causale: 'Contributo', importo: '25' })).status).toBe(303)
  })
})

describe('double submits and refusals', () => {
  it('a double submit of the check page issues one document and starts one payment', async () => {
    const before = await countDocuments(m)
    const check = await toCheck(client, m, 'refezione', { causale: 'Doppio invio', importo: '30' })
    const hidden = payForm(check)
    const csrf = client.csrf(check)
    const results = await Promise.all([
      client.post(path(m, '/refezione/paga'), hidden, csrf),
      client.post(path(m, '/refezione/paga'), hidden, csrf),
      client.post(path(m, '/refezione/paga'), hidden, csrf),
    ])
    expect(results.map((r) => r.status)).toEqual([303, 303, 303])
    expect(await countDocuments(m)).toBe(before + 1)
    const [p] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from platform.payments where idempotency_key = ${hidden.chiave as string}`
    expect(p?.n).toBe(1)
    // later the same page again: still the same payment, nothing new issued
    const again = await client.post(path(m, '/refezione/paga'), hidden, csrf)
    expect(again.status).toBe(303)
    expect(await countDocuments(m)).toBe(before + 1)
  })

  it("another account's key finds nothing", async () => {
    const check = await toCheck(client, m, 'refezione', { causale: 'Chiave rubata', importo: '5' })
    const hidden = payForm(check)
    expect((await client.post(path(m, '/refezione/paga'), hidden, client.csrf(check))).status).toBe(303)
    const thief = await createAccount(db)
    accounts.push(thief)
    const c = await signedIn(server.app, thief)
    await c.get(path(m, '/refezione'))
    expect((await c.post(path(m, '/refezione/paga'), hidden)).status).toBe(404)
  })

  it('an unconfirmed email sees the check page but cannot pay, as in the cart', async () => {
    const unconfirmed = await createAccount(db, { confirmed: false })
    accounts.push(unconfirmed)
    const c = await signedIn(server.app, unconfirmed)
    const check = await toCheck(c, m, 'refezione', { causale: 'Mensa', importo: '10' })
    expect(check).toContain('confermare il tuo indirizzo email')
    expect(check).not.toContain('name="chiave"')
    const before = await countDocuments(m)
    const res = await c.post(path(m, '/refezione/paga'), {
      causale: 'Mensa',
      importo: '10,00',
      alunno: 'nessuno',
      chiave: 'u'.repeat(43),
    })
    expect(res.status).toBe(403)
    expect(await countDocuments(m)).toBe(before)
  })
})

describe('abandoned requests', () => {
  it('a refused or abandoned payment leaves the notice in the cart; after a day the request is withdrawn', async () => {
    const check = await toCheck(client, m, 'refezione', { causale: 'Annullato dal cittadino', importo: '12' })
    const hidden = payForm(check)
    const res = await client.post(path(m, '/refezione/paga'), hidden, client.csrf(check))
    const cancelled = await cancelAtSandbox(client, res.headers.get('location') as string)
    expect(cancelled.status).toBe(303)
    await deliver()
    const status = await (await client.get(new URL(cancelled.headers.get('location') as string).pathname)).text()
    expect(status).toContain('Pagamento annullato')
    expect(await (await client.get('/carrello')).text()).toContain('Annullato dal cittadino')

    const [req] = await withTenant(
      db.sql,
      m,
      (tx) => tx<{ installment_id: number; document_id: number }[]>`
        select installment_id, document_id from spontaneous_requests where idempotency_key = ${hidden.chiave as string}`,
    )
    const inst = req?.installment_id as number
    // not yet a day old: kept
    expect(await withdrawAbandoned(db, m)).not.toContain(inst)
    await withTenant(
      db.sql,
      m,
      (tx) =>
        tx`update spontaneous_requests set created_at = now() - interval '25 hours' where idempotency_key = ${hidden.chiave as string}`,
    )
    const withdrawn = await withdrawAbandoned(db, m)
    expect(withdrawn).toContain(inst)
    const [after] = await withTenant(
      db.sql,
      m,
      (tx) => tx<{ status: string; cancel_reason: string; audited: number }[]>`
        select i.status, d.cancel_reason,
          (select count(*)::int from audit_log where action = 'spontaneous.withdraw' and entity_id = d.id::text) as audited
        from installments i join documents d on d.id = i.document_id where i.id = ${inst}`,
    )
    expect(after).toEqual({
      status: 'annullato',
      cancel_reason: 'Pagamento spontaneo non completato dal cittadino',
      audited: 1,
    })
    expect(await (await client.get('/carrello')).text()).not.toContain('Annullato dal cittadino')
    // paid requests are never withdrawn, and a rerun does nothing
    await withTenant(db.sql, m, (tx) => tx`update spontaneous_requests set created_at = now() - interval '3 days'`)
    expect(await withdrawAbandoned(db, m)).not.toContain(inst)
    const paid = await withTenant(
      db.sql,
      m,
      (tx) => tx<{ status: string }[]>`select status from installments where status = 'pagato'`,
    )
    expect(paid.length).toBeGreaterThanOrEqual(1)
  })
})

describe('markup', () => {
  it('every page of the flow is valid HTML (html-validate, recommended + a11y)', async () => {
    const pages = [
      await (await client.get(path(m))).text(),
      await (await client.get(path(n))).text(),
      await (await client.get(path(s))).text(),
      await (await client.get(path(m, '/pasti'))).text(),
      await (await fill(client, m, 'refezione', { causale: '', importo: 'x' })).text(),
      await toCheck(client, m, 'pasti', { causale: 'Pasti', quantita: '3' }),
    ]
    for (const html of pages) await expectValidHtml(html)
  })
})

describe('hostile input', () => {
  it('never a 5xx, never echoed as markup', async () => {
    const hostile = ["1' or '1'='1", '<script>alert(1)</script>', '%00', '9'.repeat(30), '-1', '\u0000']
    for (const h of hostile) {
      for (const p of [
        path(
          m,
          `/refezione?causale=${encodeURIComponent(h)}&importo=${encodeURIComponent(h)}&alunno=${encodeURIComponent(h)}`,
        ),
        path(m, `/refezione/controlla?causale=${encodeURIComponent(h)}&importo=${encodeURIComponent(h)}`),
        path(m, `/pasti/controlla?causale=x&quantita=${encodeURIComponent(h)}&alunno=${encodeURIComponent(h)}`),
        path(m, `/${encodeURIComponent(h)}`),
      ]) {
        const res = await client.get(p)
        expect(res.status, p).toBeLessThan(500)
        expect(await res.text(), p).not.toContain('<script>alert(1)</script>')
      }
      await client.get(path(m))
      const forms: Record<string, string>[] = [
        { causale: h, importo: h, alunno: h, chiave: h },
        { causale: 'ok', quantita: h, alunno: h, chiave: 'k'.repeat(43) },
      ]
      for (const form of forms) {
        const res = await client.post(path(m, '/pasti/paga'), form)
        expect(res.status, JSON.stringify(form)).toBeLessThan(500)
      }
    }
  })
})
