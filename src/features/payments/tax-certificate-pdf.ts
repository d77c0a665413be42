// The yearly statement of what a payer paid for one pupil ("attestazione dei pagamenti"), for the tax return
// (modello 730 / Redditi PF), as a tagged A4 PDF with the issuing platform's statement. Pure: data in, bytes out.
import { formatDate, todayRome } from '../../platform/dates.ts'
import { formatMoney } from '../../platform/money.ts'
import { CONTENT_WIDTH, MARGIN, MUTED, type PdfLang, TaggedPdf } from '../debts/pdf.ts'

export interface TaxCertificateRow {
  /** payment date, 'YYYY-MM-DD' */
  date: string
  tenantName: string
  tenantFiscalCode: string
  service: string
  amountCents: number
  iuv: string
  receiptNumber: string
}

export type TaxCertificatePeriod =
  | { year: number; period?: never }
  | { period: { from: string; to: string }; year?: never }

export type TaxCertificatePdfData = TaxCertificatePeriod & {
  lang: PdfLang
  payer: { name: string; codiceFiscale: string }
  pupil: { name: string; codiceFiscale: string | null }
  rows: TaxCertificateRow[]
  totalCents: number
  /** when the statement is issued; today by default */
  issuedAt?: Date
}

const LABELS = {
  it: {
    title: 'Attestazione dei pagamenti',
    platform: 'Sportello – pagamenti dei servizi scolastici e comunali',
    subtitleYear: (y: number) => `Spese per servizi scolastici pagate nell'anno ${y}`,
    subtitlePeriod: (from: string, to: string) => `Spese per servizi scolastici pagate dal ${from} al ${to}`,
    payer: 'Pagatore (chi ha sostenuto la spesa)',
    pupil: 'Alunno/a',
    fiscalCode: 'Codice fiscale',
    none: 'non indicato',
    period: 'Periodo',
    periodValue: (from: string, to: string) => `dal ${from} al ${to}`,
    payments: 'Pagamenti',
    date: 'Data',
    creditor: 'Ente creditore',
    service: 'Servizio',
    iuv: 'IUV',
    receipt: 'Ricevuta',
    amount: 'Importo',
    total: 'Totale',
    empty: 'Nessun pagamento nel periodo.',
    statementTitle: 'Dichiarazione',
    statement: (pupil: string) =>
      `Sportello, piattaforma di pagamento che opera per conto degli enti creditori indicati, attesta che il pagatore sopra indicato ha pagato, tramite il sistema pagoPA, gli importi elencati per i servizi scolastici fruiti da ${pupil}. Gli importi non comprendono le eventuali commissioni del servizio di pagamento.`,
    use: "L'attestazione è rilasciata su richiesta dell'interessato per gli usi consentiti dalla legge, tra cui la dichiarazione dei redditi (modello 730 o Redditi PF). Ogni pagamento è verificabile presso l'ente creditore con il codice IUV e il numero della ricevuta.",
    issued: (d: string) => `Rilasciata il ${d}. Documento generato elettronicamente: non richiede firma.`,
  },
  en: {
    title: 'Statement of payments',
    platform: 'Sportello – payments for school and municipal services',
    subtitleYear: (y: number) => `School service expenses paid in ${y}`,
    subtitlePeriod: (from: string, to: string) => `School service expenses paid from ${from} to ${to}`,
    payer: 'Payer (who bore the expense)',
    pupil: 'Pupil',
    fiscalCode: 'Tax code',
    none: 'not given',
    period: 'Period',
    periodValue: (from: string, to: string) => `from ${from} to ${to}`,
    payments: 'Payments',
    date: 'Date',
    creditor: 'Creditor',
    service: 'Service',
    iuv: 'IUV',
    receipt: 'Receipt',
    amount: 'Amount',
    total: 'Total',
    empty: 'No payments in the period.',
    statementTitle: 'Statement',
    statement: (pupil: string) =>
      `Sportello, the payment platform acting on behalf of the creditors listed, states that the payer named above paid, through the pagoPA system, the amounts listed for school services used by ${pupil}. The amounts do not include any payment service commission.`,
    use: 'This statement is issued at the request of the person concerned for the uses allowed by law, including the Italian tax return (modello 730 or Redditi PF). Each payment can be checked with the creditor through its IUV and receipt number.',
    issued: (d: string) => `Issued on ${d}. Electronically generated document: no signature required.`,
  },
} as const

export async function renderTaxCertificatePdf(
  data: TaxCertificatePdfData,
  opts: { compress?: boolean } = {},
): Promise<Buffer> {
  const sum = data.rows.reduce((n, r) => n + r.amountCents, 0)
  if (sum !== data.totalCents) throw new Error(`certificate total ${data.totalCents} is not the rows' sum ${sum}`)
  const range =
    data.year !== undefined
      ? { from: `${data.year}-01-01`, to: `${data.year}-12-31` }
      : (data.period as { from: string; to: string })
  if (!(range.from <= range.to)) throw new Error('the period ends before it starts')
  for (const r of data.rows) {
    if (r.date < range.from || r.date > range.to) throw new Error(`payment of ${r.date} is outside the period`)
  }
  const L = LABELS[data.lang]
  const money = (cents: number) => formatMoney(cents, data.lang)
  const from = formatDate(range.from)
  const to = formatDate(range.to)
  const subtitle = data.year !== undefined ? L.subtitleYear(data.year) : L.subtitlePeriod(from, to)
  const creditors = [...new Set(data.rows.map((r) => r.tenantName))].join(', ')

  const pdf = await TaggedPdf.create({
    lang: data.lang,
    title: `${L.title} – ${data.pupil.name} – ${data.year ?? `${from}–${to}`}`,
    author: creditors ? `Sportello (${creditors})` : 'Sportello',
    subject: subtitle,
    compress: opts.compress,
    footer: `${L.title} – ${data.pupil.name} – ${data.payer.codiceFiscale}`,
  })
  const { doc, root } = pdf
  const colW = (CONTENT_WIDTH - 24) / 2
  const rightX = MARGIN + colW + 24

  pdf.paragraph(root, L.platform, { x: MARGIN, y: MARGIN, size: 9, color: MUTED })
  pdf.heading(root, 1, L.title, { x: MARGIN, y: doc.y + 10, size: 22 })
  pdf.paragraph(root, subtitle, { x: MARGIN, y: doc.y + 2, size: 12, bold: true })
  let y = doc.y + 12
  pdf.rule(y)
  y += 10

  pdf.group(root, 'Sect', (s) => {
    pdf.field(s, L.payer, data.payer.name, { x: MARGIN, y, width: colW, size: 11 })
    pdf.paragraph(s, `${L.fiscalCode} ${data.payer.codiceFiscale}`, { x: MARGIN, y: doc.y + 1, width: colW, size: 9 })
    const end = doc.y
    pdf.field(s, L.pupil, data.pupil.name, { x: rightX, y, width: colW, size: 11 })
    pdf.paragraph(s, `${L.fiscalCode} ${data.pupil.codiceFiscale ?? L.none}`, {
      x: rightX,
      y: doc.y + 1,
      width: colW,
      size: 9,
    })
    y = Math.max(end, doc.y) + 8
    pdf.field(s, L.period, L.periodValue(from, to), { x: MARGIN, y, width: CONTENT_WIDTH, size: 11 })
    y = doc.y + 10
  })
  pdf.rule(y)
  doc.y = y + 14

  pdf.group(root, 'Sect', (s) => {
    pdf.heading(s, 2, L.payments, { x: MARGIN })
    doc.y += 6
    if (data.rows.length === 0) {
      pdf.paragraph(s, L.empty, { x: MARGIN, size: 10 })
      return
    }
    const rows = data.rows.map((r) => [
      formatDate(r.date),
      `${r.tenantName}\n${L.fiscalCode} ${r.tenantFiscalCode}`,
      r.service,
      `${r.iuv}\n${r.receiptNumber}`,
      money(r.amountCents),
    ])
    rows.push(['', '', L.total, '', money(data.totalCents)])
    pdf.table(s, [L.date, L.creditor, L.service, `${L.iuv} / ${L.receipt}`, L.amount], rows, {
      widths: [58, 140, '*', 100, 70],
      right: [4],
      boldLastRow: true,
      size: 8.5,
    })
  })

  pdf.ensureSpace(140)
  pdf.group(root, 'Sect', (s) => {
    pdf.heading(s, 2, L.statementTitle, { x: MARGIN, y: doc.y + 16 })
    pdf.paragraph(s, L.statement(data.pupil.name), { x: MARGIN, y: doc.y + 4, size: 10 })
    pdf.paragraph(s, L.use, { x: MARGIN, y: doc.y + 6, size: 10 })
    pdf.paragraph(s, L.issued(formatDate(todayRome(data.issuedAt ?? new Date()))), {
      x: MARGIN,
      y: doc.y + 10,
      size: 9,
      color: MUTED,
    })
  })
  return pdf.finish()
}
