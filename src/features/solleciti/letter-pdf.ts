// The letters of a batch of formal reminders, for the families without an email address: one A4 letter per family
// (the body, the addressee with the postal address, date, subject, the overdue notices with their codes, the total,
// how to pay), tagged for screen readers. The pagoPA notices to enclose are printed from the batch's page. Pure:
// data in, bytes out.
import { formatDate } from '../../platform/dates.ts'
import { formatNoticeCode } from '../../platform/it/pagopa.ts'
import { formatMoney } from '../../platform/money.ts'
import { CONTENT_WIDTH, MARGIN, MUTED, type PdfLang, TaggedPdf } from '../debts/pdf.ts'

export interface LetterData {
  lang: PdfLang
  body: { name: string; fiscalCode: string; address?: string; email?: string; phone?: string }
  step: 1 | 2 | 3
  /** the day of the batch, 'YYYY-MM-DD' */
  date: string
  /** where the family pays online */
  payUrl: string
  families: {
    name: string
    codiceFiscale: string
    address: string | null
    totalCents: number
    installments: {
      description: string
      seq: number
      of: number
      dueDate: string
      amountCents: number
      noticeCode: string
      pupil: string | null
    }[]
  }[]
}

const L = {
  it: {
    title: 'Solleciti di pagamento',
    subject: {
      1: 'Oggetto: sollecito di pagamento',
      2: 'Oggetto: secondo sollecito di pagamento',
      3: "Oggetto: ultimo sollecito di pagamento prima dell'avvio del recupero",
    },
    date: (d: string) => `Data: ${d}`,
    fiscalCode: (cf: string) => `Codice fiscale ${cf}`,
    dear: (name: string) => `Gentile ${name},`,
    intro: {
      1: 'dalle nostre registrazioni risultano non ancora pagati, alla data di questa lettera, gli avvisi di pagamento scaduti elencati qui sotto. Le chiediamo di provvedere al pagamento.',
      2: 'nonostante il precedente sollecito, risultano ancora non pagati gli avvisi di pagamento scaduti elencati qui sotto. La invitiamo a provvedere al pagamento entro 15 giorni dal ricevimento di questa lettera.',
      3: "risultano ancora non pagati, nonostante i solleciti precedenti, gli avvisi di pagamento scaduti elencati qui sotto. In mancanza del pagamento entro 15 giorni dal ricevimento di questa lettera, l'ente avvierà le procedure di recupero del credito previste dalla legge, con i relativi costi.",
    },
    head: ['Avviso', 'Scadenza', 'Codice avviso', 'Importo'],
    installment: (seq: number, of: number) => (of > 1 ? ` – rata ${seq} di ${of}` : ''),
    total: 'Totale da pagare',
    how: (url: string) =>
      `Può pagare online su ${url} con il suo SPID o CIE, oppure con i codici avviso qui sopra presso banche, uffici postali, tabaccherie e nelle app di pagamento aderenti a pagoPA. Alleghiamo gli avvisi di pagamento.`,
    paid: 'Se ha già pagato, non tenga conto di questa lettera: i pagamenti degli ultimi giorni potrebbero non essere ancora registrati.',
    contact: (c: string) => `Per chiarimenti: ${c}.`,
    closing: "L'ufficio",
  },
  en: {
    title: 'Payment reminders',
    subject: {
      1: 'Subject: payment reminder',
      2: 'Subject: second payment reminder',
      3: 'Subject: final payment reminder before recovery',
    },
    date: (d: string) => `Date: ${d}`,
    fiscalCode: (cf: string) => `Tax code ${cf}`,
    dear: (name: string) => `Dear ${name},`,
    intro: {
      1: 'our records show that the overdue payment notices listed below are still unpaid at the date of this letter. Please pay them.',
      2: 'despite our earlier reminder, the overdue payment notices listed below are still unpaid. Please pay them within 15 days of receiving this letter.',
      3: 'despite our earlier reminders, the overdue payment notices listed below are still unpaid. If they are not paid within 15 days of receiving this letter, the body will start the debt recovery procedures provided by law, with their costs.',
    },
    head: ['Notice', 'Due', 'Notice code', 'Amount'],
    installment: (seq: number, of: number) => (of > 1 ? ` – instalment ${seq} of ${of}` : ''),
    total: 'Total to pay',
    how: (url: string) =>
      `You can pay online at ${url} with SPID or CIE, or with the notice codes above at banks, post offices, tobacconists and in the payment apps that take pagoPA. The payment notices are enclosed.`,
    paid: 'If you have already paid, please disregard this letter: payments of the last few days may not be recorded yet.',
    contact: (c: string) => `For any question: ${c}.`,
    closing: 'The office',
  },
} as const

export async function renderLettersPdf(data: LetterData, opts: { compress?: boolean } = {}): Promise<Buffer> {
  const t = L[data.lang]
  const pdf = await TaggedPdf.create({
    lang: data.lang,
    title: `${t.title} – ${data.body.name} – ${formatDate(data.date)}`,
    author: data.body.name,
    subject: t.subject[data.step],
    compress: opts.compress,
  })
  const { doc, root } = pdf
  const contact = [data.body.email, data.body.phone].filter(Boolean).join(', ')
  data.families.forEach((fam, n) => {
    if (n > 0) doc.addPage()
    pdf.group(root, 'Sect', (s) => {
      pdf.paragraph(s, data.body.name, { x: MARGIN, y: MARGIN, bold: true, size: 12 })
      pdf.paragraph(s, [t.fiscalCode(data.body.fiscalCode), data.body.address].filter(Boolean).join(' – '), {
        size: 9,
        color: MUTED,
      })
      // the addressee, where a window envelope shows it
      pdf.group(s, 'Div', (div) => {
        pdf.paragraph(div, fam.name, { x: 320, y: 150, width: CONTENT_WIDTH - 280, bold: true })
        if (fam.address) pdf.paragraph(div, fam.address, { x: 320, width: CONTENT_WIDTH - 280 })
        pdf.paragraph(div, t.fiscalCode(fam.codiceFiscale), { x: 320, width: CONTENT_WIDTH - 280, size: 9 })
      })
      pdf.paragraph(s, t.date(formatDate(data.date)), { x: MARGIN, y: 250 })
      pdf.heading(s, 1, t.subject[data.step], { x: MARGIN, y: doc.y + 14, size: 12 })
      pdf.paragraph(s, t.dear(fam.name), { x: MARGIN, y: doc.y + 12 })
      pdf.paragraph(s, t.intro[data.step], { x: MARGIN, y: doc.y + 6 })
      doc.y += 10
      const rows = fam.installments.map((i) => [
        `${i.description}${t.installment(i.seq, i.of)}${i.pupil ? `\n${i.pupil}` : ''}`,
        formatDate(i.dueDate),
        formatNoticeCode(i.noticeCode),
        formatMoney(i.amountCents, data.lang),
      ])
      rows.push([t.total, '', '', formatMoney(fam.totalCents, data.lang)])
      pdf.table(s, [...t.head], rows, { widths: ['*', 62, 130, 70], right: [3], boldLastRow: true })
      pdf.paragraph(s, t.how(data.payUrl), { x: MARGIN, y: doc.y + 12 })
      pdf.paragraph(s, t.paid, { x: MARGIN, y: doc.y + 6 })
      if (contact) pdf.paragraph(s, t.contact(contact), { x: MARGIN, y: doc.y + 6 })
      pdf.paragraph(s, t.closing, { x: MARGIN, y: doc.y + 18 })
    })
  })
  return pdf.finish()
}
