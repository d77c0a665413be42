// Formal reminders from the debtors' list: the filter finds the families with overdue installments, one action sends
// the chosen step — an email through the outbox with the pagoPA notices attached (a real SMTP server receives the
// PDF) and the pay-now link, a letter PDF for a family without an address — recorded per installment, never twice
// for the same step, even when two clerks send at once; bad input is a 422 with nothing saved; lettore, citizen and
// another body cannot send.
import { beforeAll, describe, expect, it } from 'vitest'
import { withTenant } from '../../src/platform/db.ts'
import { drainOutbox } from '../../src/platform/mail.ts'
import type { Client } from '../helpers/client.ts'
import { expectValidHtml } from '../helpers/html.ts'
import { givePayer, issue } from '../helpers/payments.ts'
import { textOfPdf } from '../helpers/pdf.ts'
import { world } from '../helpers/world.ts'

const w = world({ smtp: true, roles: ['operatore', 'lettore', 'cittadino', 'adminAltroEnte'] })
let office: Client
const base = () => `/t/${w.tenant.slug}/ufficio/solleciti`
let withEmail = 0
let noEmail = 0
let notYet = 0
const docs: { documentId: number; installments: { id: number; noticeCode: string }[] }[] = []

async function rows() {
  return withTenant(
    w.db.sql,
    w.tenant,
    (tx) => tx<
      { installment_id: number; step: number; payer_id: number; channel: string; outbox_key: string | null }[]
    >`
      select installment_id, step, payer_id, channel, outbox_key from solleciti order by installment_id, step`,
  )
}

beforeAll(async () => {
  office = await w.client('operatore')
  withEmail = await givePayer(w.db, w.tenant, w.accounts.cittadino.codiceFiscale, ['Lucia', 'Verdi'])
  noEmail = await givePayer(w.db, w.tenant, 'BNCGNN80A01H501U', ['Gianni', 'Bianchi'])
  notYet = await givePayer(w.db, w.tenant, 'NREMRA80A41H501Q', ['Mara', 'Neri'])
  await withTenant(
    w.db.sql,
    w.tenant,
    (tx) => tx`update payers set address = 'Via Roma 1, 00100 Roma RM' where id = ${noEmail}`,
  )
  // due 40 and 10 days ago; 25 days ago; in ten days
  docs.push(await issue(w.db, w.tenant, withEmail, [3000, 2000], { firstDue: -40, description: 'Mensa autunno' }))
  docs.push(await issue(w.db, w.tenant, noEmail, [4500], { firstDue: -25, description: 'Trasporto scolastico' }))
  docs.push(await issue(w.db, w.tenant, notYet, [1000], { firstDue: 10 }))
})

describe('formal reminders', () => {
  it('lists the families with overdue installments, filtered by days overdue and amount', async () => {
    let html = await (await office.get(base())).text()
    await expectValidHtml(html)
    expect(html).toContain('Lucia Verdi')
    expect(html).toContain('Gianni Bianchi')
    expect(html).not.toContain('Mara Neri')
    expect(html).toContain('Lettera da stampare')
    html = await (await office.get(`${base()}?giorni=30`)).text()
    expect(html).toContain('Lucia Verdi')
    expect(html).not.toContain('Gianni Bianchi')
    html = await (await office.get(`${base()}?importo=46`)).text()
    expect(html).toContain('Lucia Verdi')
    expect(html).not.toContain('Gianni Bianchi')
  })

  it('refuses a send without a step or a family: 422, nothing saved', async () => {
    await office.get(base())
    const res = await office.post(base(), { giorni: '1' })
    expect(res.status).toBe(422)
    const html = await res.text()
    await expectValidHtml(html)
    expect(html).toContain('<a href="#passo">Scegli quale sollecito inviare')
    expect(html).toMatch(/<a href="#famiglia-\d+">Scegli almeno una famiglia/)
    expect(await rows()).toEqual([])
  })

  it('sends the step: an email with the notices attached, a letter for the family without an address; once', async () => {
    await office.get(base())
    let res = await office.submit(base(), {
      giorni: '1',
      passo: '1',
      famiglia: [String(withEmail), String(noEmail)],
    })
    expect(res.status).toBe(303)
    const lotto = Number(/lotti\/(\d+)\?fatto=1$/.exec(res.headers.get('location') ?? '')?.[1])
    const recorded = await rows()
    expect(recorded.map((r) => [r.payer_id, r.step, r.channel])).toEqual([
      [withEmail, 1, 'email'],
      [withEmail, 1, 'email'],
      [noEmail, 1, 'lettera'],
    ])

    // the email, through a real SMTP server: the PDF of both notices attached, the pay-now link
    const email = w.accounts.cittadino.email
    await drainOutbox(w.db.sql, w.deps.config, 50, email)
    const [mail] = w.smtp.to(email)
    expect(mail?.subject).toBe(`Sollecito di pagamento – ${w.tenant.name}`)
    expect(mail?.text).toContain('Mensa autunno, rata 1 di 2')
    expect(mail?.text).toContain('Totale da pagare: 50,00')
    expect(mail?.text).toMatch(/\/carrello\/promemoria\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}/)
    expect(mail?.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ['avvisi-pagopa.pdf', 'application/pdf'],
    ])
    const pdf = mail?.attachments[0]?.content as Buffer
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-')
    const notices = textOfPdf(pdf)
    for (const d of docs[0]?.installments ?? []) expect(notices.replace(/\s/g, '')).toContain(d.noticeCode)

    // the batch: its letters and the notices to enclose, for the family without an address
    const page = await office.get(`${base()}/lotti/${lotto}?fatto=1`)
    const html = await page.text()
    await expectValidHtml(html)
    expect(html).toContain('2: 1 per email, 1 per lettera')
    const letters = await office.get(`${base()}/lotti/${lotto}/lettere.pdf`)
    expect(letters.status).toBe(200)
    const text = textOfPdf(Buffer.from(await letters.arrayBuffer()))
    expect(text).toContain('Gianni Bianchi')
    expect(text).toContain('Via Roma 1, 00100 Roma RM')
    expect(text).toContain('sollecito di pagamento')
    expect(text).not.toContain('Lucia Verdi')
    expect((await office.get(`${base()}/lotti/${lotto}/avvisi.pdf`)).status).toBe(200)
    // the document says when and how its installments were reminded
    const doc = await (await office.get(`/t/${w.tenant.slug}/ufficio/documenti/${docs[1]?.documentId}`)).text()
    expect(doc).toContain('Primo sollecito il')

    // the same step again: nothing to send, nothing saved; the next step goes out
    res = await office.post(base(), { giorni: '1', passo: '1', famiglia: [String(withEmail), String(noEmail)] })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('questo sollecito è già stato inviato')
    expect(await rows()).toHaveLength(3)
    res = await office.submit(base(), { giorni: '1', passo: '2', famiglia: String(withEmail) })
    expect(res.status).toBe(303)
    expect((await rows()).filter((r) => r.step === 2).map((r) => r.payer_id)).toEqual([withEmail, withEmail])
    const second = Number(/lotti\/(\d+)/.exec(res.headers.get('location') ?? '')?.[1])
    // an email-only batch has no letters
    expect((await office.get(`${base()}/lotti/${second}/lettere.pdf`)).status).toBe(404)
  })

  it('two clerks sending the same step at once: each installment reminded once', async () => {
    const other = await w.client('operatore')
    await other.get(base())
    await office.get(base())
    const form = { giorni: '1', passo: '3', famiglia: String(noEmail) }
    const answers = await Promise.all([office.post(base(), form), other.post(base(), form)])
    expect(answers.map((a) => a.status).sort()).toEqual([303, 422])
    expect((await rows()).filter((r) => r.step === 3)).toHaveLength(1)
  })

  it('a lettore sees the list but cannot send; a citizen and another body cannot see it; unknown batch 404', async () => {
    const reader = await w.client('lettore')
    const html = await (await reader.get(base())).text()
    expect(html).toContain('Gianni Bianchi')
    expect(html).not.toContain('Invia il sollecito')
    const before = await rows()
    for (const who of ['lettore', 'cittadino', 'adminAltroEnte'] as const) {
      const c = await w.client(who)
      expect((await c.post(base(), { passo: '1', famiglia: String(withEmail) })).status, who).toBe(403)
      if (who !== 'lettore') expect((await c.get(base())).status, who).toBe(403)
    }
    expect(await rows()).toEqual(before)
    expect((await office.get(`${base()}/lotti/999999`)).status).toBe(404)
    expect((await office.get(`${base()}/lotti/999999/lettere.pdf`)).status).toBe(404)
  })
})
