// The text of a PDF as the server sends it (pdfkit, deflated streams), wrapped lines joined: for checking what a
// notice, a receipt or a certificate says.
import { inflateSync } from 'node:zlib'
import { pdfText } from '../../src/features/debts/pdf.ts'

export function textOfPdf(pdf: Buffer): string {
  const raw = pdf.toString('latin1')
  const parts: Buffer[] = []
  for (const m of raw.matchAll(/stream\r?\n/g)) {
    const start = (m.index as number) + m[0].length
    const end = raw.indexOf('endstream', start)
    try {
      parts.push(inflateSync(pdf.subarray(start, end)))
    } catch {
      // not a deflated stream
    }
  }
  return pdfText(Buffer.concat(parts)).replace(/[ \n]+/g, ' ')
}
