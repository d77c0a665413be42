// Where money is owed, the next thing to do: the personal area sums what is due and overdue across the bodies and
// leads to it; the debt position puts every overdue installment in the cart at once; a canteen wallet in debit or
// running low asks for a top-up.
import { beforeAll, describe, expect, it } from 'vitest'
import { withTenant } from '../../src/platform/db.ts'
import { formatMoney } from '../../src/platform/money.ts'
import { addPupil, enroll, setupCurrentYear } from '../helpers/canteen.ts'
import type { Client } from '../helpers/client.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { textOfPdf } from '../helpers/pdf.ts'
import { world } from '../helpers/world.ts'

const w = world({ canteen: true })
let client: Client
let overdue: number[] = []
let lateDoc = 0
let strangerDoc = 0
let other: number[] = []
const text = (html: string) => html.replace(/<[^>]+>/g, ' ').replace(/[ \t\n]+/g, ' ')

beforeAll(async () => {
  const { db, tenant } = w
  const me = await w.account()
  const payer = await givePayer(db, tenant, me.codiceFiscale)
  // two installments overdue (40 and 10 days ago), one due in 20 days; another document due later
  const late = await issue(db, tenant, payer, [3000, 3100, 3200], { firstDue: -40 })
  await issue(db, tenant, payer, [1500], { firstDue: 45, description: 'Trasporto, secondo quadrimestre' })
  overdue = late.installments.slice(0, 2).map((i) => i.id)
  lateDoc = late.documentId
  const stranger = await givePayer(db, tenant, `${me.codiceFiscale.slice(0, 15)}X`, ['Anna', 'Verdi'])
  const theirs = await issue(db, tenant, stranger, [9900, 100], { firstDue: -5 })
  other = theirs.installments.map((i) => i.id)
  strangerDoc = theirs.documentId
  client = await w.client(me)
})

describe('the personal area', () => {
  it('says how much is due, how much is overdue and when the next due date is, and leads to paying it', async () => {
    const html = await (await client.get('/area-personale')).text()
    const t = text(html)
    expect(t).toContain(`${formatMoney(3000 + 3100 + 3200 + 1500)} da pagare (4 rate).`)
    expect(t).toContain(`2 rate scadute, per ${formatMoney(6100)}.`)
    expect(t).toMatch(/Prossima scadenza: \d\d\/\d\d\/\d{4}\./)
    expect(html).toContain('<a class="button" href="/posizione-debitoria">Paga le rate scadute</a>')
    expect(html).not.toContain('Nel carrello:')
  })

  it("for an account whose codice fiscale is not proved, says nothing of anyone's debts", async () => {
    const stranger = await w.client(await w.account({ proved: false }))
    const html = await (await stranger.get('/area-personale')).text()
    expect(html).not.toContain('Da pagare')
    expect(html).not.toContain('rate scadute')
  })
})

describe('the debt position', () => {
  it('puts every overdue installment of the body in the cart with one button', async () => {
    const position = await (await client.get(`/t/${w.tenant.slug}/posizione-debitoria`)).text()
    expect(text(position)).toContain(`2 rate scadute da pagare, in tutto ${formatMoney(6100)}.`)
    const form = /<form method="post" action="\/carrello\/aggiungi" class="inline-form">[\s\S]*?<\/form>/.exec(
      position,
    )?.[0]
    expect(form).toBeTruthy()
    const ids = [...(form as string).matchAll(/name="rate" value="(\d+)"/g)].map((m) => Number(m[1]))
    expect(ids.sort()).toEqual([...overdue].sort())
    const res = await client.post('/carrello/aggiungi', {
      ente: w.tenant.slug,
      rate: ids.map(String),
      torna: '/carrello',
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/carrello?aggiunto=2')
    expect(text(await (await client.get('/carrello?aggiunto=2')).text())).toContain('Avvisi aggiunti al carrello: 2.')
    const home = await (await client.get('/area-personale')).text()
    expect(home).toContain('Nel carrello: 2')
    // and in the header
    expect(home).toMatch(
      /id="header-cart"[^>]*>Carrello<span class="visually-hidden"> – elementi:<\/span> <span class="header__count">2<\/span>/,
    )
  })

  it('in English, the cart names the installments in English', async () => {
    await client.get('/lingua/en?torna=/carrello')
    const cart = text(await (await client.get('/carrello')).text())
    expect(cart).toContain('– installment 1')
    expect(cart).toContain('Notice code')
    expect(cart).not.toContain('– rata')
    await client.get('/lingua/it?torna=/carrello')
    expect(text(await (await client.get('/carrello')).text())).toContain('– rata 1')
  })

  it("refuses another family's installments put in the same form", async () => {
    await client.get(`/t/${w.tenant.slug}/posizione-debitoria`)
    const res = await client.post('/carrello/aggiungi', {
      ente: w.tenant.slug,
      rate: [...overdue, ...other].map(String),
      torna: '/carrello',
    })
    expect(res.status).toBe(404)
  })
})

describe('the canteen wallet', () => {
  it("asks for a top-up when the credit is in debit or below the body's threshold of meals, not otherwise", async () => {
    const { db, tenant } = w
    const s = await setupCurrentYear(db, tenant)
    const parent = await w.account()
    const { pupilId } = await addPupil(db, tenant, { payerCf: parent.codiceFiscale, given: 'Luca' })
    await enroll(db, tenant, pupilId, { classId: s.classId, tariffId: s.residente, start: s.start })
    const c = await w.client(parent)
    const ledger = (cents: number, key: string) =>
      withTenant(
        db.sql,
        tenant,
        (tx) => tx`insert into canteen_ledger (pupil_id, kind, entry_date, amount_cents, entry_key)
                   values (${pupilId}, 'ricarica', ${s.start}, ${cents}, ${key})`,
      )
    const wallet = async () => text(await (await c.get(`/t/${tenant.slug}/mensa`)).text())
    // ten meals of credit: nothing to ask
    await ledger(5800, 'n1')
    expect(await wallet()).not.toContain('Ricarica ora')
    // two meals left, below the default three
    await ledger(-4640, 'n2')
    expect(await wallet()).toContain('Il credito mensa di Luca sta finendo: bastano 2 pasti.')
    expect(await wallet()).toContain('Ricarica ora')
    // in debit
    await ledger(-2030, 'n3')
    expect(await wallet()).toContain(`Il credito mensa di Luca è finito: mancano ${formatMoney(870)}.`)
  })
})

describe("a document's notices in one file", () => {
  it('prints the whole amount first, then one page per installment to pay, each "Rata N di M"; nobody else\'s', async () => {
    const res = await client.get(`/t/${w.tenant.slug}/documenti/${lateDoc}/avvisi.pdf`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/pdf')
    const pdf = Buffer.from(await res.arrayBuffer())
    // the single-payment notice (decision 0103), then the three installments
    expect((pdf.toString('latin1').match(/\/Type \/Page\b/g) ?? []).length).toBe(4)
    const t = textOfPdf(pdf)
    for (const seq of [1, 2, 3]) expect(t).toContain(`Rata ${seq} di 3`)
    expect(t).toContain('unica soluzione')
    expect(t.indexOf('unica soluzione')).toBeLessThan(t.indexOf('Rata 1 di 3'))
    expect(t).toContain(`Sul sito dell'ente: `)
    // the document page links to it
    const page = await (await client.get(`/t/${w.tenant.slug}/documenti/${lateDoc}`)).text()
    expect(page).toContain(`href="/t/${w.tenant.slug}/documenti/${lateDoc}/avvisi.pdf"`)
    // another family's document, an unknown one, a malformed address: 404; a visitor is asked to sign in
    expect((await client.get(`/t/${w.tenant.slug}/documenti/${strangerDoc}/avvisi.pdf`)).status).toBe(404)
    expect((await client.get(`/t/${w.tenant.slug}/documenti/999999999/avvisi.pdf`)).status).toBe(404)
    expect((await client.get(`/t/${w.tenant.slug}/documenti/abc/avvisi.pdf`)).status).toBe(404)
    const anonymous = await w.client('anonimo')
    const visitor = await anonymous.get(`/t/${w.tenant.slug}/documenti/${lateDoc}/avvisi.pdf`)
    expect(visitor.status).toBe(303)
    expect(visitor.headers.get('location')).toMatch(/^\/accesso/)
  })
})
