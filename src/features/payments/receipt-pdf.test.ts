import { describe, expect, it } from 'vitest'
import { pdfText } from '../debts/pdf.ts'
import { type ReceiptPdfData, renderReceiptPdf } from './receipt-pdf.ts'

/** The PDF's text with wrapped lines joined (no-break spaces kept: amounts contain one). */
const flat = (pdf: Buffer) => pdfText(pdf).replace(/[ \n]+/g, ' ')

const data: ReceiptPdfData = {
  lang: 'it',
  receiptNumber: 'R-2026-000123',
  paidAt: new Date('2026-01-15T09:30:00Z'),
  payer: { name: 'Maria Rossi', codiceFiscale: 'RSSMRA80A41F205X' },
  provider: 'Sandbox PSP',
  authCode: 'K7Q2ZP',
  items: [
    {
      tenantName: 'Comune di Monopoli',
      tenantFiscalCode: '00834210724',
      causale: 'Refezione scolastica – gennaio 2026',
      pupilName: 'Luca Bianchi',
      iuv: '02000000001234559',
      amountCents: 5_800,
    },
    {
      tenantName: 'IC Sandro Pertini – Milano',
      tenantFiscalCode: '97123450158',
      causale: 'Assicurazione scolastica 2025/26',
      pupilName: null,
      iuv: '01000000000000123',
      amountCents: 123_450,
    },
  ],
  commissionCents: 102,
  totalCents: 129_352,
}

describe('receipt PDF', () => {
  it('is a tagged PDF 1.7 titled with the receipt number', async () => {
    const raw = (await renderReceiptPdf(data, { compress: false })).toString('latin1')
    expect(raw.startsWith('%PDF-1.7')).toBe(true)
    expect(raw).toContain('/Marked true')
    expect(raw).toMatch(/\/Lang \(it-IT\)/)
    expect(raw).toContain('<rdf:li xml:lang="x-default">Ricevuta di pagamento R-2026-000123')
    for (const tag of ['/S /H1', '/S /H2', '/S /Table', '/S /TR', '/S /TH', '/S /TD', '/Scope /Column']) {
      expect(raw, tag).toContain(tag)
    }
  })

  it('shows every item, the commission and the total, in Rome time', async () => {
    const text = flat(await renderReceiptPdf(data, { compress: false }))
    for (const s of [
      'Ricevuta di pagamento',
      'R-2026-000123',
      '15/01/2026, 10:30',
      'Maria Rossi',
      'RSSMRA80A41F205X',
      'Sandbox PSP',
      'K7Q2ZP',
      'Comune di Monopoli',
      '00834210724',
      'Refezione scolastica – gennaio 2026',
      'Alunno/a: Luca Bianchi',
      '02000000001234559',
      '58,00\u00a0€',
      'IC Sandro Pertini – Milano',
      '1.234,50\u00a0€',
      'Commissione',
      '1,02\u00a0€',
      'Totale pagato',
      '1.293,52\u00a0€',
    ]) {
      expect(text, s).toContain(s)
    }
  })

  it('in English, without an authorisation code', async () => {
    const text = flat(await renderReceiptPdf({ ...data, lang: 'en', authCode: null }, { compress: false }))
    expect(text).toContain('Payment receipt')
    expect(text).toContain('Authorisation code')
    expect(text).toContain('€1,293.52')
    expect(text).toContain('—')
  })

  it('refuses totals that do not add up, and an empty receipt', async () => {
    await expect(renderReceiptPdf({ ...data, totalCents: data.totalCents + 1 })).rejects.toThrow(/not items/)
    await expect(renderReceiptPdf({ ...data, items: [], totalCents: 102 })).rejects.toThrow(/at least one/)
  })

  it('numbers its pages when the items run over one', async () => {
    const items = Array.from({ length: 60 }, (_, i) => ({ ...data.items[0], iuv: String(i).padStart(17, '0') }))
    const pdf = await renderReceiptPdf(
      { ...data, items: items as ReceiptPdfData['items'], commissionCents: 0, totalCents: 60 * 5_800 },
      { compress: false },
    )
    const text = flat(pdf)
    expect(text).toContain('Ricevuta di pagamento R-2026-000123 – pagina 1 di 3')
    expect(text).toContain('pagina 3 di 3')
    expect(text).toContain('3.480,00\u00a0€')
  })
})

describe('receipt PDF: what a family, a CAF and a body need of each notice', () => {
  it("names the provider as the payer knows it, each installment's place in its document and the pupil", async () => {
    const text = flat(
      await renderReceiptPdf(
        {
          ...data,
          provider: 'sandbox',
          cardMask: 'VISA ****4242',
          items: [{ ...(data.items[0] as ReceiptPdfData['items'][number]), installment: { seq: 2, of: 3 } }],
          totalCents: 5_902,
        },
        { compress: false },
      ),
    )
    expect(text).toContain('Sandbox PSP – ambiente di prova')
    expect(text).toContain('Carta VISA ****4242')
    expect(text).toContain('Rata 2 di 3')
    expect(text).toContain('Alunno/a: Luca Bianchi')
    expect(text).toContain('Comune di Monopoli')
    // a single installment says nothing of installments
    const single = flat(
      await renderReceiptPdf(
        {
          ...data,
          items: [{ ...(data.items[1] as ReceiptPdfData['items'][number]), installment: { seq: 1, of: 1 } }],
          totalCents: 123_552,
        },
        { compress: false },
      ),
    )
    expect(single).not.toContain('Rata 1 di 1')
  })
})
