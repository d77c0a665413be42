import { describe, expect, it } from 'vitest'
import { pdfText } from '../debts/pdf.ts'
import { renderTaxCertificatePdf, type TaxCertificatePdfData } from './tax-certificate-pdf.ts'

/** The PDF's text with wrapped lines joined (no-break spaces kept: amounts contain one). */
const flat = (pdf: Buffer) => pdfText(pdf).replace(/[ \n]+/g, ' ')

const rows = [
  {
    date: '2025-02-10',
    tenantName: 'Comune di Monopoli',
    tenantFiscalCode: '00834210724',
    service: 'Refezione scolastica – gennaio 2025',
    amountCents: 5_800,
    iuv: '02000000001234559',
    receiptNumber: 'R-2025-000100',
  },
  {
    date: '2025-10-03',
    tenantName: 'Comune di Monopoli',
    tenantFiscalCode: '00834210724',
    service: 'Trasporto scolastico – primo quadrimestre',
    amountCents: 120_000,
    iuv: '02000000001234560',
    receiptNumber: 'R-2025-000101',
  },
]

const data: TaxCertificatePdfData = {
  lang: 'it',
  year: 2025,
  payer: { name: 'Maria Rossi', codiceFiscale: 'RSSMRA80A41F205X' },
  pupil: { name: 'Luca Bianchi', codiceFiscale: 'BNCLCU15C10F205Z' },
  rows,
  totalCents: 125_800,
  issuedAt: new Date('2026-02-10T23:30:00Z'), // 11 February in Rome
}

describe('tax certificate PDF', () => {
  it('is a tagged PDF 1.7 with a table of payments', async () => {
    const raw = (await renderTaxCertificatePdf(data, { compress: false })).toString('latin1')
    expect(raw.startsWith('%PDF-1.7')).toBe(true)
    expect(raw).toContain('/Marked true')
    expect(raw).toMatch(/\/Lang \(it-IT\)/)
    expect(raw).toContain('<rdf:li xml:lang="x-default">Attestazione dei pagamenti')
    for (const tag of ['/S /H1', '/S /H2', '/S /Table', '/S /TH', '/S /TD']) expect(raw, tag).toContain(tag)
  })

  it('names payer, pupil, period, every payment, the total and the platform statement', async () => {
    const text = flat(await renderTaxCertificatePdf(data, { compress: false }))
    for (const s of [
      'Attestazione dei pagamenti',
      "Spese per servizi scolastici pagate nell'anno 2025",
      'Maria Rossi',
      'RSSMRA80A41F205X',
      'Luca Bianchi',
      'BNCLCU15C10F205Z',
      'dal 01/01/2025 al 31/12/2025',
      '10/02/2025',
      '03/10/2025',
      'Comune di Monopoli',
      '00834210724',
      'Trasporto scolastico – primo quadrimestre',
      '02000000001234560',
      'R-2025-000101',
      '1.200,00\u00a0€',
      'Totale',
      '1.258,00\u00a0€',
      'Sportello, piattaforma di pagamento che opera per conto degli enti creditori indicati, attesta',
      'modello 730',
      'Rilasciata il 11/02/2026',
    ]) {
      expect(text, s).toContain(s)
    }
  })

  it('takes a period instead of a year; English; a pupil without codice fiscale', async () => {
    const text = flat(
      await renderTaxCertificatePdf(
        {
          lang: 'en',
          period: { from: '2025-09-01', to: '2026-06-30' },
          payer: data.payer,
          pupil: { name: 'Luca Bianchi', codiceFiscale: null },
          rows: [rows[1] as (typeof rows)[number]],
          totalCents: 120_000,
        },
        { compress: false },
      ),
    )
    expect(text).toContain('Statement of payments')
    expect(text).toContain('from 01/09/2025 to 30/06/2026')
    expect(text).toContain('Tax code not given')
    expect(text).toContain('€1,200.00')
  })

  it('lists a refund as a negative row named as such, the total net of it', async () => {
    const refund = {
      ...(rows[1] as (typeof rows)[number]),
      date: '2025-11-20',
      amountCents: -30_000,
      receiptNumber: 'TRN 0306912345678901',
      refund: true,
    }
    const text = flat(
      await renderTaxCertificatePdf({ ...data, rows: [...rows, refund], totalCents: 95_800 }, { compress: false }),
    )
    expect(text).toContain('Rimborso – Trasporto scolastico – primo quadrimestre')
    expect(text).toContain('TRN 0306912345678901')
    expect(text).toMatch(/-\s?300,00/)
    expect(text).toMatch(/958,00/)
  })

  it('says so when nothing was paid', async () => {
    const text = flat(await renderTaxCertificatePdf({ ...data, rows: [], totalCents: 0 }, { compress: false }))
    expect(text).toContain('Nessun pagamento nel periodo.')
  })

  it('refuses a wrong total or a payment outside the period', async () => {
    await expect(renderTaxCertificatePdf({ ...data, totalCents: 1 })).rejects.toThrow(/sum/)
    await expect(
      renderTaxCertificatePdf({
        ...data,
        rows: [{ ...(rows[0] as (typeof rows)[number]), date: '2024-12-31' }],
        totalCents: 5_800,
      }),
    ).rejects.toThrow(/outside the period/)
  })
})

describe('tax certificate PDF by item of the return and by body', () => {
  const mixed: TaxCertificatePdfData = {
    ...data,
    pupil: {
      household: [
        { name: 'Luca Bianchi', codiceFiscale: 'BNCLCU15C10F205Z' },
        { name: 'Sara Bianchi', codiceFiscale: null },
      ],
    },
    rows: [
      { ...(rows[0] as (typeof rows)[number]), category: 'frequenza', pupilName: 'Luca Bianchi' },
      {
        date: '2025-03-01',
        tenantName: 'Comune di Monopoli',
        tenantFiscalCode: '00834210724',
        service: 'Retta asilo nido – marzo',
        amountCents: 31_000,
        iuv: '02000000001234561',
        receiptNumber: 'SP-2025-00000042',
        category: 'nido',
        pupilName: 'Sara Bianchi',
      },
      {
        date: '2025-09-20',
        tenantName: 'IC Sandro Pertini – Milano',
        tenantFiscalCode: '97123450158',
        service: 'Contributo volontario 2025/26',
        amountCents: 5_000,
        iuv: '01000000000000999',
        receiptNumber: 'SP-2025-00000043',
        category: 'erogazioni',
        pupilName: 'Luca Bianchi',
      },
    ],
    totalCents: 5_800 + 31_000 + 5_000,
  }

  it('one section per body in its name and fiscal code; the items of the return with their subtotals; the totals', async () => {
    const text = flat(await renderTaxCertificatePdf(mixed, { compress: false }))
    expect(text).toContain('Comune di Monopoli – codice fiscale 00834210724')
    expect(text).toContain('IC Sandro Pertini – Milano – codice fiscale 97123450158')
    expect(text).toContain('Comune di Monopoli, codice fiscale 00834210724, attesta che il pagatore')
    expect(text).toContain('IC Sandro Pertini – Milano, codice fiscale 97123450158, attesta che il pagatore')
    expect(text).toContain('Spese per la frequenza di asili nido')
    expect(text).toContain('Erogazioni liberali a favore degli istituti scolastici')
    expect(text).toContain('Totale – Spese per la frequenza di asili nido 310,00\u00a0€')
    expect(text).toContain('Totale – Erogazioni liberali a favore degli istituti scolastici 50,00\u00a0€')
    expect(text).toContain('Totali per voce della dichiarazione')
    expect(text).toContain('Totale 418,00\u00a0€')
    // the nursery comes before the school attendance within a body, and each payment names its child
    expect(text.indexOf('asili nido')).toBeLessThan(text.indexOf('Spese per la frequenza scolastica'))
    expect(text).toContain('Alunno/a: Sara Bianchi')
    expect(text).toContain('Figli (tutto il nucleo)')
    expect(text).toContain('Sara Bianchi: Codice fiscale non indicato')
    // receipt numbers whole, never broken inside
    expect(text).toContain('SP-2025-00000042')
    expect(text).toContain('SP-2025-00000043')
  })
})
