// The pagoPA payment notice ("avviso di pagamento") as A4 PDF pages, after the public notice model: creditor (with
// its office and contacts), subject, amount and due date ("Rata N di M" for an installment), addressee (with the
// address when known), where to pay (the body's own site among the online channels), and the bank/other-channels
// portion with the QR code (ECC level M), the notice code and the CBILL code where the body has one. One page per
// notice: renderNoticesPdf puts a document's installments in one file. Pure: data in, bytes out.
import type { QRCode } from 'qrcode'
import { formatDate } from '../../platform/dates.ts'
import { formatNoticeCode, qrPayload } from '../../platform/it/pagopa.ts'
import { formatMoney } from '../../platform/money.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { A4, BOLD, CONTENT_WIDTH, FONT, INK, MARGIN, MUTED, type PdfLang, TaggedPdf } from './pdf.ts'

export interface NoticePdfData {
  lang: PdfLang
  creditor: {
    name: string
    fiscalCode: string
    address?: string
    logoText?: string
    /** where the payer asks about the notice */
    contacts?: { email?: string; phone?: string; pec?: string }
    /** the body's site where it can be paid online (the online channel named on the notice) */
    site?: string
  }
  payer: { name: string; codiceFiscale: string; address?: string | null }
  /** an installment: its place in its document (the notice model prints "Rata N di M") */
  installment?: { seq: number; of: number } | null
  pupil?: { name: string } | null
  causale: string
  amountCents: number
  /** 'YYYY-MM-DD' */
  dueDate: string
  noticeCode: string
  iuv: string
  cbill?: string
  /** other bodies that receive part of the amount (a multi-beneficiary notice, decision 0104) */
  beneficiaries?: { name: string; fiscalCode: string; amountCents: number }[]
}

/** What a printed notice says of the body: name, codes, office, contacts, its site. */
function noticeCreditor(tenant: Tenant, baseUrl: string): NoticePdfData['creditor'] {
  return {
    name: tenant.name,
    fiscalCode: tenant.fiscalCode,
    address: tenant.contacts.address,
    logoText: tenant.branding.logoText,
    contacts: { email: tenant.contacts.email, phone: tenant.contacts.phone, pec: tenant.contacts.pec },
    // the body's own site when it has one, else its page on Sportello (where its notices are paid online)
    site: tenant.contacts.website ?? `${baseUrl}/t/${tenant.slug}`,
  }
}

/** A notice's data from an installment's row, for a payer, in a language. */
export function noticeFor(
  tenant: Tenant,
  baseUrl: string,
  lang: PdfLang,
  payer: NoticePdfData['payer'],
  n: {
    pupil_name: string | null
    description: string
    amount_cents: number
    due_date: string
    notice_code: string
    iuv: string
    seq: number
    seq_of: number
    transfers?: { name: string; fiscalCode: string; amountCents: number }[] | null
  },
): NoticePdfData {
  return {
    lang,
    creditor: noticeCreditor(tenant, baseUrl),
    payer,
    pupil: n.pupil_name ? { name: n.pupil_name } : null,
    causale: n.description,
    amountCents: n.amount_cents,
    dueDate: n.due_date,
    noticeCode: n.notice_code,
    iuv: n.iuv,
    cbill: tenant.settings.cbill,
    // seq 0: a document's single-payment notice (decision 0103), printed as "unica soluzione"
    installment: n.seq > 0 ? { seq: n.seq, of: n.seq_of } : null,
    beneficiaries: n.transfers ?? [],
  }
}

const LABELS = {
  it: {
    docTitle: 'Avviso di pagamento',
    title: 'AVVISO DI PAGAMENTO',
    creditor: 'ENTE CREDITORE',
    payer: 'DESTINATARIO AVVISO',
    fiscalCode: 'Cod. Fiscale',
    pupil: 'Alunno/a',
    howMuch: 'QUANTO E QUANDO PAGARE?',
    by: 'entro il',
    single: "Puoi pagare l'importo in un'unica soluzione.",
    split: (parts: string) => `L'importo è ripartito tra: ${parts}.`,
    installment: (seq: number, of: number) => `Rata ${seq} di ${of}`,
    installmentNote: (seq: number, of: number) =>
      `Questo avviso è la rata ${seq} di ${of} del documento: ogni rata ha il suo avviso, con il suo codice e la sua scadenza.`,
    contacts: 'Per informazioni',
    address: 'Indirizzo',
    onSite: (site: string) => `Sul sito dell'ente: ${site}`,
    amountNote:
      "L'importo è aggiornato automaticamente dal sistema: il sito, l'app o l'operatore presso cui paghi potrebbero chiederti una cifra diversa da quella indicata qui, per esempio per uno sgravio.",
    where: 'DOVE PAGARE?',
    whereList: 'Lista dei canali di pagamento su www.pagopa.gov.it',
    online: 'PAGA ONLINE O CON LE APP',
    onlineBody:
      "sul sito dell'ente creditore, con l'app IO, con l'home banking o con le app di banche e altri prestatori di servizi di pagamento aderenti a pagoPA. Potrai pagare con carta, conto corrente o altri metodi.",
    territory: 'PAGA SUL TERRITORIO',
    territoryBody:
      'in banca, negli uffici postali, dal tabaccaio, in ricevitoria, al supermercato o allo sportello ATM abilitato, mostrando il codice QR o il codice avviso. Potrai pagare in contanti, con carta o con conto corrente.',
    portion: 'Utilizza la porzione di avviso relativa al canale di pagamento che preferisci.',
    bank: 'BANCHE E ALTRI CANALI',
    bankBody:
      'Qui accanto trovi il codice QR e il codice avviso per pagare presso banche, uffici postali, tabaccai e gli altri canali abilitati a pagoPA.',
    bankBodyCbill:
      'Qui accanto trovi il codice QR e il codice interbancario CBILL per pagare attraverso il circuito bancario e gli altri canali di pagamento abilitati.',
    addressee: 'Destinatario',
    creditorField: 'Ente creditore',
    subject: 'Oggetto del pagamento',
    cbill: 'Codice CBILL',
    noticeCode: 'Codice avviso',
    creditorCf: 'Cod. fiscale ente creditore',
    amount: 'Importo',
    due: 'Scadenza',
    iuv: 'IUV',
    qrAlt: (code: string) =>
      `Codice QR pagoPA dell'avviso ${code}: contiene il codice avviso, il codice fiscale dell'ente creditore e l'importo.`,
  },
  en: {
    docTitle: 'Payment notice',
    title: 'PAYMENT NOTICE',
    creditor: 'CREDITOR',
    payer: 'NOTICE ADDRESSEE',
    fiscalCode: 'Tax code',
    pupil: 'Pupil',
    howMuch: 'HOW MUCH AND WHEN TO PAY?',
    by: 'by',
    single: 'You can pay the amount in a single payment.',
    split: (parts: string) => `The amount is shared among: ${parts}.`,
    installment: (seq: number, of: number) => `Installment ${seq} of ${of}`,
    installmentNote: (seq: number, of: number) =>
      `This notice is installment ${seq} of ${of} of the document: each installment has its own notice, code and due date.`,
    contacts: 'For information',
    address: 'Address',
    onSite: (site: string) => `On the body's website: ${site}`,
    amountNote:
      'The amount is updated automatically by the system: the website, app or counter where you pay may ask for an amount different from the one shown here, for example after a reduction.',
    where: 'WHERE TO PAY?',
    whereList: 'List of payment channels at www.pagopa.gov.it',
    online: 'PAY ONLINE OR WITH AN APP',
    onlineBody:
      "on the creditor's website, with the IO app, with online banking or with the apps of banks and other payment service providers in pagoPA. You can pay by card, bank account or other methods.",
    territory: 'PAY IN PERSON',
    territoryBody:
      'at banks, post offices, tobacconists, lottery outlets, supermarkets or enabled cash machines, showing the QR code or the notice code. You can pay in cash, by card or from a bank account.',
    portion: 'Use the part of this notice for the payment channel you prefer.',
    bank: 'BANKS AND OTHER CHANNELS',
    bankBody:
      'Next to this text are the QR code and the notice code to pay at banks, post offices, tobacconists and the other channels enabled for pagoPA.',
    bankBodyCbill:
      'Next to this text are the QR code and the CBILL interbank code to pay through the banking network and the other enabled payment channels.',
    addressee: 'Addressee',
    creditorField: 'Creditor',
    subject: 'Payment for',
    cbill: 'CBILL code',
    noticeCode: 'Notice code',
    creditorCf: 'Creditor tax code',
    amount: 'Amount',
    due: 'Due date',
    iuv: 'IUV',
    qrAlt: (code: string) =>
      `pagoPA QR code of notice ${code}: it holds the notice code, the creditor's tax code and the amount.`,
  },
} as const

/** Draws the QR code as vector squares (crisp at any zoom, no image decoder needed) with a 4-module quiet zone. */
function drawQr(qr: QRCode, doc: PDFKit.PDFDocument, x: number, y: number, size: number) {
  const n = qr.modules.size
  const cell = size / (n + 8)
  doc.save().rect(x, y, size, size).fill('#ffffff')
  doc.fillColor('#000000')
  for (let r = 0; r < n; r++) {
    let c = 0
    while (c < n) {
      if (!qr.modules.get(r, c)) {
        c++
        continue
      }
      const start = c
      while (c < n && qr.modules.get(r, c)) c++
      // a hair wider than the cell so adjacent squares never show a seam when rasterised
      doc.rect(x + (4 + start) * cell, y + (4 + r) * cell, (c - start) * cell + 0.05, cell + 0.05)
    }
  }
  doc.fill().restore()
}

export async function renderNoticePdf(data: NoticePdfData, opts: { compress?: boolean } = {}): Promise<Buffer> {
  return renderNoticesPdf([data], opts)
}

/** Several notices in one file, one page each (a document's installments, in order). */
export async function renderNoticesPdf(list: NoticePdfData[], opts: { compress?: boolean } = {}): Promise<Buffer> {
  const first = list[0]
  if (!first) throw new Error('no notice to print')
  const L = LABELS[first.lang]
  const code = formatNoticeCode(first.noticeCode)
  const pdf = await TaggedPdf.create({
    lang: first.lang,
    title:
      list.length === 1
        ? `${L.docTitle} ${code} – ${first.causale}`
        : `${L.docTitle} – ${first.causale} (${list.map((n) => (n.installment ? L.installment(n.installment.seq, n.installment.of) : formatNoticeCode(n.noticeCode))).join(', ')})`,
    author: first.creditor.name,
    subject: list
      .map((n) => `${n.causale} – ${formatMoney(n.amountCents, n.lang)} – ${L.by} ${formatDate(n.dueDate)}`)
      .join('; '),
    keywords: `pagoPA, ${list.map((n) => n.noticeCode).join(', ')}`,
    compress: opts.compress,
  })
  // loaded with the first notice, not at every start
  const { create } = (await import('qrcode')).default
  for (const [i, data] of list.entries()) {
    if (i > 0) pdf.doc.addPage()
    drawNotice(pdf, data, create)
  }
  return pdf.finish()
}

function drawNotice(
  pdf: TaggedPdf,
  data: NoticePdfData,
  create: (text: string, opts: { errorCorrectionLevel: 'M' }) => QRCode,
) {
  const L = LABELS[data.lang]
  const code = formatNoticeCode(data.noticeCode)
  const amount = formatMoney(data.amountCents, data.lang)
  const due = formatDate(data.dueDate)
  const qr = create(qrPayload(data.noticeCode, data.creditor.fiscalCode, data.amountCents), {
    errorCorrectionLevel: 'M',
  })
  const part = data.installment && data.installment.of > 1 ? data.installment : null
  const subject = part ? `${data.causale} – ${L.installment(part.seq, part.of)}` : data.causale
  const { doc, root } = pdf
  const colGap = 24
  const colW = (CONTENT_WIDTH - colGap) / 2
  const rightX = MARGIN + colW + colGap

  // ---- creditor, top left
  let y = MARGIN
  let textX = MARGIN
  if (data.creditor.logoText) {
    const badge = data.creditor.logoText
    pdf.artifact((d) => {
      d.lineWidth(1.5).strokeColor(INK).roundedRect(MARGIN, y, 40, 40, 4).stroke()
      d.font(BOLD)
        .fontSize(badge.length > 3 ? 10 : 14)
        .fillColor(INK)
        .text(badge, MARGIN, y + (badge.length > 3 ? 15 : 13), { width: 40, align: 'center', lineBreak: false })
    })
    textX = MARGIN + 52
  }
  pdf.group(root, 'Sect', (head) => {
    pdf.paragraph(head, data.creditor.name, { x: textX, y, width: 330 - textX + MARGIN, size: 12, bold: true })
    pdf.paragraph(head, `${L.fiscalCode} ${data.creditor.fiscalCode}`, { x: textX, width: 280, size: 9 })
    if (data.creditor.address) pdf.paragraph(head, data.creditor.address, { x: textX, width: 280, size: 9 })
  })
  y = Math.max(doc.y, y + 40) + 22

  // ---- title and subject
  pdf.heading(root, 1, L.title, { x: MARGIN, y, size: 22 })
  pdf.paragraph(root, subject, { x: MARGIN, y: doc.y + 2, size: 13, bold: true })
  y = doc.y + 14

  // ---- creditor and addressee
  pdf.rule(y)
  y += 10
  let leftEnd = y
  pdf.group(root, 'Sect', (s) => {
    pdf.heading(s, 2, L.creditor, { x: MARGIN, y, width: colW, size: 9 })
    pdf.paragraph(s, data.creditor.name, { x: MARGIN, y: doc.y + 3, width: colW, size: 11, bold: true })
    pdf.paragraph(s, `${L.fiscalCode} ${data.creditor.fiscalCode}`, { x: MARGIN, width: colW, size: 9 })
    const c = data.creditor.contacts
    const reach = [c?.email, c?.pec, c?.phone].filter(Boolean).join(' · ')
    if (reach) pdf.paragraph(s, `${L.contacts}: ${reach}`, { x: MARGIN, width: colW, size: 9 })
    leftEnd = doc.y
  })
  pdf.group(root, 'Sect', (s) => {
    pdf.heading(s, 2, L.payer, { x: rightX, y, width: colW, size: 9 })
    pdf.paragraph(s, data.payer.name, { x: rightX, y: doc.y + 3, width: colW, size: 11, bold: true })
    pdf.paragraph(s, `${L.fiscalCode} ${data.payer.codiceFiscale}`, { x: rightX, width: colW, size: 9 })
    if (data.payer.address) pdf.paragraph(s, `${L.address}: ${data.payer.address}`, { x: rightX, width: colW, size: 9 })
    if (data.pupil) pdf.paragraph(s, `${L.pupil}: ${data.pupil.name}`, { x: rightX, width: colW, size: 9 })
  })
  y = Math.max(leftEnd, doc.y) + 12
  pdf.rule(y)
  y += 12

  // ---- how much and when (left), where to pay (right)
  const blockTop = y
  pdf.group(root, 'Sect', (s) => {
    pdf.heading(s, 2, L.howMuch, { x: MARGIN, y, width: colW, size: 11 })
    if (part)
      pdf.paragraph(s, L.installment(part.seq, part.of), { x: MARGIN, y: doc.y + 4, width: colW, size: 12, bold: true })
    pdf.tag(s, 'P', () => {
      doc
        .font(BOLD)
        .fontSize(26)
        .fillColor(INK)
        .text(amount, MARGIN, doc.y + 6, { width: colW })
      doc
        .font(FONT)
        .fontSize(12)
        .text(`${L.by} `, MARGIN, doc.y + 2, { width: colW, continued: true })
        .font(BOLD)
        .text(due)
    })
    pdf.paragraph(s, part ? L.installmentNote(part.seq, part.of) : L.single, {
      x: MARGIN,
      y: doc.y + 8,
      width: colW,
      size: 9,
    })
    if (data.beneficiaries?.length) {
      const others = data.beneficiaries.reduce((sum, b) => sum + b.amountCents, 0)
      const parts = [
        `${data.creditor.name} ${formatMoney(data.amountCents - others, data.lang)}`,
        ...data.beneficiaries.map(
          (b) => `${b.name} (${L.fiscalCode} ${b.fiscalCode}) ${formatMoney(b.amountCents, data.lang)}`,
        ),
      ].join('; ')
      pdf.paragraph(s, L.split(parts), { x: MARGIN, y: doc.y + 4, width: colW, size: 8 })
    }
    pdf.paragraph(s, L.amountNote, { x: MARGIN, y: doc.y + 4, width: colW, size: 8, color: MUTED })
  })
  leftEnd = doc.y
  pdf.group(root, 'Sect', (s) => {
    pdf.heading(s, 2, L.where, { x: rightX, y: blockTop, width: colW, size: 11 })
    pdf.paragraph(s, L.whereList, { x: rightX, y: doc.y + 2, width: colW, size: 8, color: MUTED })
    pdf.heading(s, 3, L.online, { x: rightX, y: doc.y + 8, width: colW, size: 9 })
    pdf.paragraph(s, L.onlineBody, { x: rightX, y: doc.y + 2, width: colW, size: 9 })
    if (data.creditor.site)
      pdf.paragraph(s, L.onSite(data.creditor.site), { x: rightX, y: doc.y + 2, width: colW, size: 9, bold: true })
    pdf.heading(s, 3, L.territory, { x: rightX, y: doc.y + 8, width: colW, size: 9 })
    pdf.paragraph(s, L.territoryBody, { x: rightX, y: doc.y + 2, width: colW, size: 9 })
  })
  y = Math.max(leftEnd, doc.y) + 22

  // ---- the portion for banks and other channels, below a cut line, at the foot of the page. Its height is
  // measured first (names and subject vary in length) so that it always ends at the bottom margin.
  const qrSize = 132
  const fx = MARGIN + qrSize + 16
  const fw = CONTENT_WIDTH - qrSize - 16
  const half = (fw - 12) / 2
  type Cell = { label: string; value: string; size?: number; width: number; dx: number }
  const rows: Cell[][] = [
    [
      { label: L.addressee, value: data.payer.name, width: half, dx: 0 },
      { label: L.creditorField, value: data.creditor.name, width: half, dx: half + 12 },
    ],
    [{ label: L.subject, value: subject, width: fw, dx: 0 }],
    [
      { label: L.noticeCode, value: code, size: 12, width: half, dx: 0 },
      { label: L.creditorCf, value: data.creditor.fiscalCode, size: 12, width: half, dx: half + 12 },
    ],
    [
      { label: L.amount, value: amount, size: 14, width: half, dx: 0 },
      { label: L.due, value: due, size: 14, width: half, dx: half + 12 },
    ],
  ]
  if (data.cbill) rows.splice(3, 0, [{ label: L.cbill, value: data.cbill, width: half, dx: 0 }])
  const cellHeight = (c: Cell) =>
    doc.font(FONT).fontSize(8).heightOfString(c.label, { width: c.width }) +
    1 +
    doc
      .font(BOLD)
      .fontSize(c.size ?? 10)
      .heightOfString(c.value, { width: c.width })
  const rowHeights = rows.map((r) => Math.max(...r.map(cellHeight)) + 6)
  const intro = data.cbill ? L.bankBodyCbill : L.bankBody
  const introH = doc.font(FONT).fontSize(8).heightOfString(intro, { width: fw }) + 8
  const portionH = doc.font(BOLD).fontSize(9).heightOfString(L.portion, { width: CONTENT_WIDTH })
  const bodyH = Math.max(qrSize + 16, introH + rowHeights.reduce((a, b) => a + b, 0))
  const slipH = 8 + portionH + 8 + 22 + 10 + bodyH
  y = Math.max(y, A4.height - MARGIN - slipH)
  pdf.rule(y, { dash: true })
  pdf.group(root, 'Sect', (s) => {
    pdf.paragraph(s, L.portion, { x: MARGIN, y: y + 8, size: 9, bold: true })
    const top = y + 8 + portionH + 8
    pdf.artifact((d) => {
      d.rect(MARGIN, top, CONTENT_WIDTH, 22).fill('#e6e9ec')
    })
    pdf.heading(s, 2, L.bank, { x: MARGIN + 8, y: top + 6, width: CONTENT_WIDTH - 16, size: 11 })
    const qrY = top + 32
    pdf.tag(s, 'Figure', () => drawQr(qr, doc, MARGIN, qrY, qrSize), { alt: L.qrAlt(code) })
    pdf.paragraph(s, intro, { x: fx, y: qrY, width: fw, size: 8, color: MUTED })
    let fy = qrY + introH
    rows.forEach((row, i) => {
      for (const c of row) pdf.field(s, c.label, c.value, { x: fx + c.dx, y: fy, width: c.width, size: c.size })
      fy += rowHeights[i] as number
    })
    pdf.paragraph(s, `${L.iuv} ${data.iuv}`, { x: MARGIN, y: qrY + qrSize + 4, width: qrSize, size: 8, color: MUTED })
  })
}
