import { describe, expect, it } from 'vitest'
import { buildNotice } from '../../platform/it/pagopa.ts'
import { type NoticePdfData, renderNoticePdf } from './notice-pdf.ts'
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
