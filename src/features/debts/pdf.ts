// Tagged, accessible PDFs with pdfkit: PDF 1.7, document language and title, a structure tree (headings,
// paragraphs, tables, figures with alternative text) and decorations marked as artifacts. Built-in Helvetica.
// Shared by the payment notice, the receipt and the tax certificate. pdfkit is loaded with the first PDF, not
// when a process starts: a third of a second of every start of the server and of each command-line tool.
type PdfKit = typeof import('pdfkit')
let pdfkit: Promise<PdfKit> | null = null
const loadPdfkit = async (): Promise<PdfKit> => (await import('pdfkit')).default

export type PdfLang = 'it' | 'en'
type Doc = PDFKit.PDFDocument
type Struct = PDFKit.PDFStructureElement

export const A4 = { width: 595.28, height: 841.89 }
export const MARGIN = 42
export const CONTENT_WIDTH = A4.width - 2 * MARGIN

export const FONT = 'Helvetica'
export const BOLD = 'Helvetica-Bold'
export const INK = '#1a1a1a'
export const MUTED = '#4d5358'
export const LINE = '#8a8d90'

export interface PdfOptions {
  lang: PdfLang
  title: string
  author: string
  subject?: string
  keywords?: string
  /** false writes the content streams uncompressed, so tests can read the text */
  compress?: boolean
  /** a running footer on every page, followed by the page number ("… – pagina 1 di 2") */
  footer?: string
}

const PAGE_OF = {
  it: (i: number, n: number) => `pagina ${i} di ${n}`,
  en: (i: number, n: number) => `page ${i} of ${n}`,
}

/** A pdfkit document with its structure root; `finish()` closes the tree and resolves to the file's bytes. */
export class TaggedPdf {
  readonly doc: Doc
  readonly root: Struct
  private readonly done: Promise<Buffer>
  private readonly opts: PdfOptions

  /** A new document (pdfkit loaded on first use). */
  static async create(opts: PdfOptions): Promise<TaggedPdf> {
    pdfkit ??= loadPdfkit()
    return new TaggedPdf(opts, await pdfkit)
  }

  private constructor(opts: PdfOptions, PDFDocument: PdfKit) {
    this.opts = opts
    this.doc = new PDFDocument({
      size: 'A4',
      margin: MARGIN,
      pdfVersion: '1.7',
      tagged: true,
      displayTitle: true,
      lang: opts.lang === 'it' ? 'it-IT' : 'en-GB',
      compress: opts.compress ?? true,
      bufferPages: opts.footer !== undefined,
      // pdfkit cannot take undefined entries here
      info: Object.fromEntries(
        Object.entries({
          Title: opts.title,
          Author: opts.author,
          Subject: opts.subject,
          Keywords: opts.keywords,
          Creator: 'Sportello',
        }).filter(([, v]) => v !== undefined),
      ),
    })
    const chunks: Buffer[] = []
    this.done = new Promise((resolve, reject) => {
      this.doc.on('data', (c: Buffer) => chunks.push(c))
      this.doc.on('end', () => resolve(Buffer.concat(chunks)))
      this.doc.on('error', reject)
    })
    this.root = this.doc.struct('Document')
    this.doc.addStructure(this.root)
    this.doc.font(FONT).fillColor(INK)
  }

  /** A grouping element (Sect, Div, L…) added to `parent`; `fill` adds its children. */
  group(parent: Struct, type: string, fill: (el: Struct) => void): Struct {
    const el = this.doc.struct(type)
    parent.add(el)
    fill(el)
    el.end()
    return el
  }

  /** Content drawn by `draw`, tagged as one element of `type` (H1, H2, P, Lbl…) under `parent`. */
  tag(parent: Struct, type: string, draw: () => void, options: { alt?: string } = {}): void {
    parent.add(this.doc.struct(type, options, draw))
  }

  heading(
    parent: Struct,
    level: 1 | 2 | 3,
    text: string,
    at: { x?: number; y?: number; width?: number; size?: number; align?: 'left' | 'right' | 'center' } = {},
  ) {
    const size = at.size ?? ({ 1: 20, 2: 13, 3: 11 } as const)[level]
    this.tag(parent, `H${level}`, () => {
      this.doc
        .font(BOLD)
        .fontSize(size)
        .fillColor(INK)
        .text(text, at.x ?? this.doc.x, at.y ?? this.doc.y, { width: at.width ?? CONTENT_WIDTH, align: at.align })
    })
  }

  paragraph(
    parent: Struct,
    text: string,
    at: {
      x?: number
      y?: number
      width?: number
      size?: number
      bold?: boolean
      color?: string
      align?: 'left' | 'right' | 'center'
    } = {},
  ) {
    this.tag(parent, 'P', () => {
      this.doc
        .font(at.bold ? BOLD : FONT)
        .fontSize(at.size ?? 10)
        .fillColor(at.color ?? INK)
        .text(text, at.x ?? this.doc.x, at.y ?? this.doc.y, { width: at.width ?? CONTENT_WIDTH, align: at.align })
    })
  }

  /** A small label over its value: two paragraphs in a Div, so a screen reader pauses between them. */
  field(parent: Struct, label: string, value: string, at: { x: number; y?: number; width: number; size?: number }) {
    this.group(parent, 'Div', (div) => {
      this.paragraph(div, label, { x: at.x, y: at.y ?? this.doc.y, width: at.width, size: 8, color: MUTED })
      this.paragraph(div, value, { x: at.x, y: this.doc.y + 1, width: at.width, size: at.size ?? 10, bold: true })
    })
  }

  /** Lines, boxes and other decoration: marked as artifacts, skipped by screen readers. */
  artifact(draw: (doc: Doc) => void) {
    this.doc.markContent('Artifact', { type: 'Layout' })
    this.doc.save()
    draw(this.doc)
    this.doc.restore()
    this.doc.endMarkedContent()
  }

  rule(y: number, opts: { x?: number; width?: number; dash?: boolean } = {}) {
    this.artifact((d) => {
      const x = opts.x ?? MARGIN
      d.lineWidth(0.7).strokeColor(LINE)
      if (opts.dash) d.dash(4, { space: 3 })
      d.moveTo(x, y)
        .lineTo(x + (opts.width ?? CONTENT_WIDTH), y)
        .stroke()
      if (opts.dash) d.undash()
    })
  }

  /**
   * A table with a header row (TH, scope column) tagged for screen readers. `widths` are points or '*';
   * `right` lists the columns aligned right (amounts).
   */
  table(
    parent: Struct,
    head: string[],
    rows: string[][],
    opts: { widths: (number | '*')[]; right?: number[]; boldLastRow?: boolean; size?: number },
  ) {
    const size = opts.size ?? 9
    const align = (i: number) => (opts.right?.includes(i) ? ('right' as const) : ('left' as const))
    const headRow = head.map((text, i) => ({
      text,
      type: 'TH' as const,
      scope: 'Column',
      font: { src: BOLD, size },
      align: { x: align(i), y: 'bottom' as const },
      backgroundColor: '#dde1e5',
    }))
    // Rows told apart by shading, not rules: pdfkit tags one-sided borders with a BorderColor that PDF readers
    // reject, while a background is a plain attribute.
    const bodyRows = rows.map((r, ri) =>
      r.map((text, i) => ({
        text,
        font: { src: opts.boldLastRow && ri === rows.length - 1 ? BOLD : FONT, size },
        align: { x: align(i), y: 'top' as const },
        ...(ri % 2 === 1 ? { backgroundColor: '#f1f3f5' } : {}),
      })),
    )
    // structParent makes pdfkit tag the table (Table/TR/TH/TD); the typings do not know the option yet
    const options = {
      position: { x: MARGIN, y: this.doc.y },
      maxWidth: CONTENT_WIDTH,
      columnStyles: opts.widths.map((w) => ({ width: w })),
      defaultStyle: { padding: { top: 3, bottom: 3, left: 3, right: 3 }, border: 0 },
      data: [headRow, ...bodyRows],
      structParent: parent,
    } as unknown as PDFKit.Mixins.TableOptionsWithData
    this.doc.fillColor(INK).table(options)
    this.doc.x = MARGIN
  }

  /** Starts a new page when fewer than `height` points are left. */
  ensureSpace(height: number) {
    if (this.doc.y + height > A4.height - MARGIN) this.doc.addPage()
  }

  finish(): Promise<Buffer> {
    const footer = this.opts.footer
    if (footer !== undefined) {
      const { start, count } = this.doc.bufferedPageRange()
      for (let i = start; i < start + count; i++) {
        this.doc.switchToPage(i)
        // writing below the bottom margin must not open a new page
        const bottom = this.doc.page.margins.bottom
        this.doc.page.margins.bottom = 0
        this.doc.markContent('Artifact', { type: 'Pagination' })
        this.doc
          .font(FONT)
          .fontSize(8)
          .fillColor(MUTED)
          .text(`${footer} – ${PAGE_OF[this.opts.lang](i - start + 1, count)}`, MARGIN, A4.height - MARGIN + 12, {
            width: CONTENT_WIDTH,
            align: 'right',
            lineBreak: false,
          })
        this.doc.endMarkedContent()
        this.doc.page.margins.bottom = bottom
      }
    }
    this.root.end()
    this.doc.end()
    return this.done
  }
}

// WinAnsi's 0x80–0x9F (Node's TextDecoder reads 'windows-1252' as Latin-1, which leaves them as controls)
const WIN_ANSI_80_9F =
  '\u20ac\ufffd\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\ufffd\u017d\ufffd' +
  '\ufffd\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\ufffd\u017e\u0178'

function decodeWinAnsi(bytes: Buffer): string {
  let out = ''
  for (const b of bytes) out += b >= 0x80 && b <= 0x9f ? WIN_ANSI_80_9F[b - 0x80] : String.fromCharCode(b)
  return out
}

/**
 * The text of an uncompressed PDF written by pdfkit with its standard fonts, one line per text operation.
 * For tests: pdfkit writes each line as hex strings in a TJ array, in the WinAnsi encoding.
 */
export function pdfText(pdf: Buffer): string {
  const raw = pdf.toString('latin1')
  const lines: string[] = []
  for (const m of raw.matchAll(/\[((?:<[0-9a-fA-F]*>\s*-?[0-9.]*\s*)+)\]\s*TJ/g)) {
    const hex = [...(m[1] as string).matchAll(/<([0-9a-fA-F]*)>/g)].map((x) => x[1]).join('')
    lines.push(decodeWinAnsi(Buffer.from(hex, 'hex')))
  }
  return lines.join('\n')
}
