// The receipt of one payment (one or more notices paid together) as a tagged A4 PDF. Pure: data in, bytes out.
import { formatDateTime } from '../../platform/dates.ts'
import { formatMoney } from '../../platform/money.ts'
import { CONTENT_WIDTH, MARGIN, MUTED, type PdfLang, TaggedPdf } from '../debts/pdf.ts'

export interface ReceiptItem {
  tenantName: string
  tenantFiscalCode: string
  causale: string
  pupilName: string | null
  /** the installment's place in its document, when it has more than one */
  installment?: { seq: number; of: number } | null
  iuv: string
  amountCents: number
}

export interface ReceiptPdfData {
  lang: PdfLang
  receiptNumber: string
  paidAt: Date
  payer: { name: string; codiceFiscale: string }
  /** the payment service provider's name */
  provider: string
  authCode: string | null
  /** brand and last four digits of the card, when the provider reported them */
  cardMask?: string | null
  items: ReceiptItem[]
  commissionCents: number
  totalCents: number
}

const LABELS = {
  it: {
    title: 'Ricevuta di pagamento',
    platform: 'Sportello – pagamenti dei servizi scolastici e comunali',
    number: 'Numero ricevuta',
    paidAt: 'Data e ora del pagamento',
    payer: 'Pagatore',
    fiscalCode: 'Codice fiscale',
    provider: 'Prestatore di servizi di pagamento',
    authCode: 'Codice di autorizzazione',
    none: '—',
    details: 'Dettaglio dei pagamenti',
    creditor: 'Ente creditore',
    causale: 'Causale',
    pupil: 'Alunno/a',
    installment: 'Rata {seq} di {of}',
    card: 'Carta',
    iuv: 'IUV',
    amount: 'Importo',
    subtotal: 'Totale avvisi',
    commission: 'Commissione',
    total: 'Totale pagato',
    timeNote: 'Orari in ora italiana.',
    statement:
      'Sportello rilascia questa ricevuta per conto degli enti creditori indicati, a conferma del pagamento autorizzato dal prestatore di servizi di pagamento. Conservala: è la prova del pagamento.',
  },
  en: {
    title: 'Payment receipt',
    platform: 'Sportello – payments for school and municipal services',
    number: 'Receipt number',
    paidAt: 'Date and time of payment',
    payer: 'Payer',
    fiscalCode: 'Tax code',
    provider: 'Payment service provider',
    authCode: 'Authorisation code',
    none: '—',
    details: 'Payment details',
    creditor: 'Creditor',
    causale: 'Payment for',
    pupil: 'Pupil',
    installment: 'Installment {seq} of {of}',
    card: 'Card',
    iuv: 'IUV',
    amount: 'Amount',
    subtotal: 'Notices total',
    commission: 'Commission',
    total: 'Total paid',
    timeNote: 'Times are Italian time.',
    statement:
      'Sportello issues this receipt on behalf of the creditors listed, confirming the payment authorised by the payment service provider. Keep it: it is your proof of payment.',
  },
} as const

/** The provider as the payer knows it (the payments table keeps its code). */
const PROVIDER_NAMES: Record<string, Record<PdfLang, string>> = {
  sandbox: { it: 'Sandbox PSP – ambiente di prova', en: 'Sandbox PSP – test environment' },
  pagopa: { it: 'pagoPA', en: 'pagoPA' },
}

export function providerName(code: string, lang: PdfLang): string {
  return PROVIDER_NAMES[code]?.[lang] ?? code
}

export async function renderReceiptPdf(data: ReceiptPdfData, opts: { compress?: boolean } = {}): Promise<Buffer> {
  if (data.items.length === 0) throw new Error('a receipt needs at least one item')
  const subtotal = data.items.reduce((n, i) => n + i.amountCents, 0)
  if (subtotal + data.commissionCents !== data.totalCents) {
    throw new Error(`receipt total ${data.totalCents} is not items ${subtotal} + commission ${data.commissionCents}`)
  }
  const L = LABELS[data.lang]
  const money = (cents: number) => formatMoney(cents, data.lang)
  const creditors = [...new Set(data.items.map((i) => i.tenantName))].join(', ')
  const pdf = await TaggedPdf.create({
    lang: data.lang,
    title: `${L.title} ${data.receiptNumber}`,
    author: creditors,
    subject: `${L.total} ${money(data.totalCents)} – ${formatDateTime(data.paidAt)}`,
    keywords: data.items.map((i) => i.iuv).join(', '),
    compress: opts.compress,
    footer: `${L.title} ${data.receiptNumber}`,
  })
  const { doc, root } = pdf
  const colW = (CONTENT_WIDTH - 24) / 2
  const rightX = MARGIN + colW + 24

  pdf.paragraph(root, L.platform, { x: MARGIN, y: MARGIN, size: 9, color: MUTED })
  pdf.heading(root, 1, L.title, { x: MARGIN, y: doc.y + 10, size: 22 })
  let y = doc.y + 12
  pdf.rule(y)
  y += 10

  pdf.group(root, 'Sect', (s) => {
    const pairs: [string, string][] = [
      [L.number, data.receiptNumber],
      [L.paidAt, formatDateTime(data.paidAt)],
      [L.payer, data.payer.name],
      [L.fiscalCode, data.payer.codiceFiscale],
      [L.provider, providerName(data.provider, data.lang)],
      [L.authCode, data.authCode ?? L.none],
      ...(data.cardMask ? [[L.card, data.cardMask] as [string, string]] : []),
    ]
    // two columns; an odd last field alone on its line
    for (let i = 0; i < pairs.length; i += 2) {
      const a = pairs[i] as [string, string]
      const b = pairs[i + 1]
      pdf.field(s, a[0], a[1], { x: MARGIN, y, width: colW, size: 11 })
      const end = doc.y
      if (b) pdf.field(s, b[0], b[1], { x: rightX, y, width: colW, size: 11 })
      y = Math.max(end, doc.y) + 8
    }
  })
  pdf.rule(y)
  doc.y = y + 14

  pdf.group(root, 'Sect', (s) => {
    pdf.heading(s, 2, L.details, { x: MARGIN })
    doc.y += 6
    const rows = data.items.map((i) => [
      `${i.tenantName}\n${L.fiscalCode} ${i.tenantFiscalCode}`,
      [
        i.causale,
        i.installment && i.installment.of > 1
          ? L.installment.replace('{seq}', String(i.installment.seq)).replace('{of}', String(i.installment.of))
          : null,
        i.pupilName ? `${L.pupil}: ${i.pupilName}` : null,
      ]
        .filter(Boolean)
        .join('\n'),
      i.iuv,
      money(i.amountCents),
    ])
    rows.push(['', L.subtotal, '', money(subtotal)])
    rows.push(['', L.commission, '', money(data.commissionCents)])
    rows.push(['', L.total, '', money(data.totalCents)])
    pdf.table(s, [L.creditor, L.causale, L.iuv, L.amount], rows, {
      widths: [150, '*', 110, 80],
      right: [3],
      boldLastRow: true,
    })
  })

  pdf.ensureSpace(80)
  pdf.paragraph(root, L.statement, { x: MARGIN, y: doc.y + 16, size: 9 })
  pdf.paragraph(root, L.timeNote, { x: MARGIN, y: doc.y + 4, size: 8, color: MUTED })
  return pdf.finish()
}
