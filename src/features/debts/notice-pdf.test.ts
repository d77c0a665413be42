import { describe, expect, it } from 'vitest'
import { buildNotice, formatNoticeCode } from '../../platform/it/pagopa.ts'
import { type NoticePdfData, renderNoticePdf, renderNoticesPdf } from './notice-pdf.ts'
import { pdfText } from './pdf.ts'

const notice = buildNotice('02', '0000000012345')

const data: NoticePdfData = {
  lang: 'it',
  creditor: {
    name: 'Comune di Monopoli',
    fiscalCode: '00834210724',
    address: 'Via Garibaldi 6, 70043 Monopoli (BA)',
    logoText: 'MO',
  },
  payer: { name: 'Maria Rossi', codiceFiscale: 'RSSMRA80A41F205X' },
  pupil: { name: 'Luca Bianchi' },
  causale: 'Refezione scolastica – gennaio 2026',
  amountCents: 123_450,
  dueDate: '2026-01-31',
  noticeCode: notice.noticeCode,
  iuv: notice.iuv,
  cbill: 'A0EDT',
}

const pages = (pdf: Buffer) => (pdf.toString('latin1').match(/\/Type \/Page\b/g) ?? []).length

describe('payment notice PDF', () => {
  it('is a tagged PDF 1.7 with title, author and language', async () => {
    const pdf = await renderNoticePdf(data)
    const raw = pdf.toString('latin1')
    expect(raw.startsWith('%PDF-1.7')).toBe(true)
    expect(raw).toContain('/Marked true')
    expect(raw).toContain('/StructTreeRoot')
    expect(raw).toContain('/DisplayDocTitle true')
    expect(raw).toMatch(/\/Lang \(it-IT\)/)
    expect(pages(pdf)).toBe(1)
  })

  it('carries the notice code in groups of four, amount, due date, creditor and fiscal code', async () => {
    const pdf = await renderNoticePdf(data, { compress: false })
    const text = pdfText(pdf)
    expect(text).toContain('AVVISO DI PAGAMENTO')
    expect(text).toContain('3020 0000 0001 2345 59')
    expect(text).toContain('1.234,50\u00a0€')
    expect(text).toContain('31/01/2026')
    expect(text).toContain('Comune di Monopoli')
    expect(text).toContain('00834210724')
    expect(text).toContain('Maria Rossi')
    expect(text).toContain('RSSMRA80A41F205X')
    expect(text).toContain('Luca Bianchi')
    expect(text).toContain('Refezione scolastica – gennaio 2026')
    expect(text).toContain('DOVE PAGARE?')
    expect(text).toContain('Utilizza la porzione di avviso relativa al canale di pagamento che preferisci.')
    expect(text).toContain('A0EDT')
    expect(text).toContain(notice.iuv)
  })

  it('tags headings, paragraphs and the QR code as a figure with alternative text', async () => {
    const raw = (await renderNoticePdf(data, { compress: false })).toString('latin1')
    for (const tag of ['/S /Document', '/S /H1', '/S /H2', '/S /H3', '/S /P', '/S /Figure', '/S /Sect']) {
      expect(raw, tag).toContain(tag)
    }
    expect(raw).toMatch(/\/Alt \(Codice QR pagoPA dell'avviso 3020 0000 0001 2345 59/)
    expect(raw).toContain('/Artifact')
    // the document title is the notice's (the XMP copy is plain text)
    expect(raw).toContain('<rdf:li xml:lang="x-default">Avviso di pagamento 3020 0000 0001 2345 59')
  })

  it('in English, without the optional parts', async () => {
    const pdf = await renderNoticePdf(
      {
        ...data,
        lang: 'en',
        pupil: null,
        cbill: undefined,
        creditor: { name: 'Comune di Siena', fiscalCode: '00050800523' },
      },
      { compress: false },
    )
    const text = pdfText(pdf)
    expect(text).toContain('PAYMENT NOTICE')
    expect(text).toContain('€1,234.50')
    expect(text).toContain('31/01/2026')
    expect(text).toContain('Comune di Siena')
    expect(text).not.toContain('CBILL code')
    expect(text).not.toContain('Pupil')
    expect(pdf.toString('latin1')).toMatch(/\/Lang \(en-GB\)/)
  })

  it('stays on one page with long names and subject', async () => {
    const long =
      'Servizio di refezione scolastica per la scuola primaria, quota del secondo quadrimestre con integrazione'
    const pdf = await renderNoticePdf({
      ...data,
      causale: long.slice(0, 140),
      creditor: {
        ...data.creditor,
        name: 'Istituto Comprensivo Statale "Sandro Pertini" – Scuola primaria e secondaria',
      },
      payer: { name: 'Maria Antonietta Francesca Rossi Bianchi De Santis', codiceFiscale: 'RSSMRA80A41F205X' },
    })
    expect(pages(pdf)).toBe(1)
  })

  it('refuses what cannot make a valid QR code', async () => {
    await expect(renderNoticePdf({ ...data, amountCents: 0 })).rejects.toThrow()
    await expect(renderNoticePdf({ ...data, creditor: { ...data.creditor, fiscalCode: '123' } })).rejects.toThrow()
  })
})

describe('payment notice PDF of installments (the notice model for installments)', () => {
  const second = buildNotice('02', '0000000012346')
  const third = buildNotice('02', '0000000012347')
  const rate = (seq: number, n: { noticeCode: string; iuv: string }): NoticePdfData => ({
    ...data,
    installment: { seq, of: 3 },
    noticeCode: n.noticeCode,
    iuv: n.iuv,
    creditor: {
      ...data.creditor,
      contacts: { email: 'scuola@comune.monopoli.ba.it', phone: '080 4140 111' },
      site: 'https://www.comune.monopoli.ba.it',
    },
    payer: { ...data.payer, address: 'Via Roma 1, 70043 Monopoli (BA)' },
  })

  it('says "Rata N di M" and never that the amount can be paid in a single payment; the body, its contacts and site', async () => {
    const text = pdfText(await renderNoticePdf(rate(2, second), { compress: false })).replace(/[ \n]+/g, ' ')
    expect(text).toContain('Rata 2 di 3')
    expect(text).toContain('Refezione scolastica – gennaio 2026 – Rata 2 di 3')
    expect(text).toContain('Questo avviso è la rata 2 di 3 del documento')
    expect(text).not.toContain('unica soluzione')
    expect(text).toContain('Per informazioni: scuola@comune.monopoli.ba.it · 080 4140 111')
    expect(text).toContain("Sul sito dell'ente: https://www.comune.monopoli.ba.it")
    expect(text).toContain('Indirizzo: Via Roma 1, 70043 Monopoli (BA)')
    expect(text).toContain('Codice CBILL')
    expect(text).toContain('A0EDT')
  })

  it("puts a document's installments in one file, one page each, each with its own code", async () => {
    const list = [rate(1, notice), rate(2, second), rate(3, third)]
    const pdf = await renderNoticesPdf(list, { compress: false })
    expect(pages(pdf)).toBe(3)
    const text = pdfText(pdf).replace(/[ \n]+/g, ' ')
    for (const [i, n] of [notice, second, third].entries()) {
      expect(text).toContain(`Rata ${i + 1} di 3`)
      expect(text).toContain(formatNoticeCode(n.noticeCode))
    }
    expect(pdf.toString('latin1')).toContain('Rata 1 di 3, Rata 2 di 3, Rata 3 di 3')
  })

  it('a notice that is not an installment keeps "in a single payment"', async () => {
    const text = pdfText(await renderNoticePdf({ ...data, installment: { seq: 1, of: 1 } }, { compress: false }))
    expect(text.replace(/[ \n]+/g, ' ')).toContain("Puoi pagare l'importo in un'unica soluzione.")
  })
})
