// The yearly statement of what a payer paid for a pupil, or for every child of the household ("attestazione dei
// pagamenti"), for the tax return (modello 730 / Redditi PF), as a tagged A4 PDF: one section per body that received
// the money, in its name and with its fiscal code, the payments grouped by the item of the return they belong to
// (asili nido; spese per la frequenza scolastica; erogazioni liberali agli istituti scolastici) with a subtotal each,
// then the totals by item. Pure: data in, bytes out.
import { formatDate, todayRome } from '../../platform/dates.ts'
import type { TaxCategory } from '../../platform/it/tax-categories.ts'
import { formatMoney } from '../../platform/money.ts'
import { CONTENT_WIDTH, MARGIN, MUTED, type PdfLang, TaggedPdf } from '../debts/pdf.ts'

/** The items of the return, in the order the certificate lists them (what is not one stays off the certificate). */
const ORDER: Exclude<TaxCategory, 'nessuna'>[] = ['nido', 'frequenza', 'erogazioni']

export interface TaxCertificateRow {
  /** payment date, 'YYYY-MM-DD' */
  date: string
  tenantName: string
  tenantFiscalCode: string
  service: string
  amountCents: number
  iuv: string
  receiptNumber: string
  /** the item of the return; rows without one are read as school attendance (spese per la frequenza scolastica) */
  category?: Exclude<TaxCategory, 'nessuna'>
  /** the child, on a household certificate */
  pupilName?: string
  /** a refund of an earlier payment (amountCents negative, receiptNumber the bank's reference) */
  refund?: boolean
}

export type TaxCertificatePeriod =
  | { year: number; period?: never }
  | { period: { from: string; to: string }; year?: never }

export type TaxCertificatePdfData = TaxCertificatePeriod & {
  lang: PdfLang
  payer: { name: string; codiceFiscale: string }
  /** one child, or (household) every child of the account */
  pupil:
    | { name: string; codiceFiscale: string | null }
    | { household: { name: string; codiceFiscale: string | null }[] }
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
    household: 'Figli (tutto il nucleo)',
    category: {
      nido: 'Spese per la frequenza di asili nido',
      frequenza: 'Spese per la frequenza scolastica (mensa, trasporto, gite, assicurazione, attività)',
      erogazioni: 'Erogazioni liberali a favore degli istituti scolastici',
    },
    subtotal: (c: string) => `Totale – ${c}`,
    bodyHeading: (name: string, cf: string) => `${name} – codice fiscale ${cf}`,
    bodyStatement: (name: string, cf: string, who: string) =>
      `${name}, codice fiscale ${cf}, attesta che il pagatore sopra indicato ha pagato a questo ente, tramite il sistema pagoPA, gli importi qui elencati per ${who}. Attestazione rilasciata tramite Sportello per conto dell'ente; gli importi non comprendono le commissioni del servizio di pagamento.`,
    totals: 'Totali per voce della dichiarazione',
    pupilCol: 'Alunno/a',
    refund: (service: string) => `Rimborso – ${service}`,
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
    household: 'Children (whole household)',
    category: {
      nido: 'Nursery school (asilo nido) fees',
      frequenza: 'School attendance expenses (canteen, transport, trips, insurance, activities)',
      erogazioni: 'Donations to schools (erogazioni liberali)',
    },
    subtotal: (c: string) => `Total – ${c}`,
    bodyHeading: (name: string, cf: string) => `${name} – tax code ${cf}`,
    bodyStatement: (name: string, cf: string, who: string) =>
      `${name}, tax code ${cf}, states that the payer named above paid this body, through the pagoPA system, the amounts listed here for ${who}. Statement issued through Sportello on the body's behalf; the amounts do not include payment service commissions.`,
    totals: 'Totals by item of the tax return',
    pupilCol: 'Pupil',
    refund: (service: string) => `Refund – ${service}`,
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
  const household = 'household' in data.pupil ? data.pupil.household : null
  const who = household ? household.map((p) => p.name).join(', ') : (data.pupil as { name: string }).name
  const categoryOf = (r: TaxCertificateRow) => r.category ?? 'frequenza'

  const pdf = await TaggedPdf.create({
    lang: data.lang,
    title: `${L.title} – ${who} – ${data.year ?? `${from}–${to}`}`,
    author: creditors ? `${creditors} (Sportello)` : 'Sportello',
    subject: subtitle,
    compress: opts.compress,
    footer: `${L.title} – ${who} – ${data.payer.codiceFiscale}`,
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
    if (household) {
      pdf.field(s, L.household, who, { x: rightX, y, width: colW, size: 11 })
      for (const p of household)
        pdf.paragraph(s, `${p.name}: ${L.fiscalCode} ${p.codiceFiscale ?? L.none}`, { x: rightX, width: colW, size: 9 })
    } else {
      const one = data.pupil as { name: string; codiceFiscale: string | null }
      pdf.field(s, L.pupil, one.name, { x: rightX, y, width: colW, size: 11 })
      pdf.paragraph(s, `${L.fiscalCode} ${one.codiceFiscale ?? L.none}`, {
        x: rightX,
        y: doc.y + 1,
        width: colW,
        size: 9,
      })
    }
    y = Math.max(end, doc.y) + 8
    pdf.field(s, L.period, L.periodValue(from, to), { x: MARGIN, y, width: CONTENT_WIDTH, size: 11 })
    y = doc.y + 10
  })
  pdf.rule(y)
  doc.y = y + 14

  if (data.rows.length === 0) {
    pdf.paragraph(root, L.empty, { x: MARGIN, size: 10 })
  }
  // one section per body that received the money, in its name
  const bodies = [...new Map(data.rows.map((r) => [r.tenantFiscalCode, r])).values()].sort((a, b) =>
    a.tenantName.localeCompare(b.tenantName, 'it'),
  )
  for (const body of bodies) {
    const mine = data.rows.filter((r) => r.tenantFiscalCode === body.tenantFiscalCode)
    pdf.ensureSpace(120)
    pdf.group(root, 'Sect', (s) => {
      pdf.heading(s, 2, L.bodyHeading(body.tenantName, body.tenantFiscalCode), { x: MARGIN, y: doc.y + 8, size: 12 })
      for (const category of ORDER) {
        const rows = mine.filter((r) => categoryOf(r) === category)
        if (rows.length === 0) continue
        pdf.ensureSpace(80)
        pdf.heading(s, 3, L.category[category], { x: MARGIN, y: doc.y + 8, size: 10 })
        doc.y += 4
        const cells = rows.map((r) => [
          formatDate(r.date),
          household && r.pupilName
            ? `${r.refund ? L.refund(r.service) : r.service}\n${L.pupilCol}: ${r.pupilName}`
            : r.refund
              ? L.refund(r.service)
              : r.service,
          // the receipt on a line of its own, breaking only after its hyphens
          `${r.iuv}\n${r.receiptNumber}`,
          money(r.amountCents),
        ])
        cells.push(['', L.subtotal(L.category[category]), '', money(rows.reduce((n, r) => n + r.amountCents, 0))])
        pdf.table(s, [L.date, L.service, `${L.iuv} / ${L.receipt}`, L.amount], cells, {
          widths: [56, '*', 150, 70],
          right: [3],
          boldLastRow: true,
          size: 8.5,
        })
      }
      pdf.paragraph(s, L.bodyStatement(body.tenantName, body.tenantFiscalCode, who), {
        x: MARGIN,
        y: doc.y + 6,
        size: 9,
      })
    })
  }

  if (data.rows.length) {
    pdf.ensureSpace(90)
    pdf.group(root, 'Sect', (s) => {
      pdf.heading(s, 2, L.totals, { x: MARGIN, y: doc.y + 16 })
      doc.y += 4
      const cells = ORDER.filter((c) => data.rows.some((r) => categoryOf(r) === c)).map((c) => [
        L.category[c],
        money(data.rows.filter((r) => categoryOf(r) === c).reduce((n, r) => n + r.amountCents, 0)),
      ])
      cells.push([L.total, money(data.totalCents)])
      pdf.table(s, [L.service, L.amount], cells, { widths: ['*', 90], right: [1], boldLastRow: true, size: 9 })
    })
  }

  pdf.ensureSpace(100)
  pdf.group(root, 'Sect', (s) => {
    pdf.heading(s, 2, L.statementTitle, { x: MARGIN, y: doc.y + 16 })
    pdf.paragraph(s, L.statement(who), { x: MARGIN, y: doc.y + 4, size: 10 })
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
