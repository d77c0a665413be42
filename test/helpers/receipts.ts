// A pagoPA node's paSendRT (or V2) request for a notice, from the official example message
// (test/fixtures/pagopa/examples/ReqPaSendRT.xml) with one transfer of the given amount.
import { readFileSync } from 'node:fs'

const EX = new URL('../fixtures/pagopa/examples/', import.meta.url)
export const example = (f: string) => readFileSync(new URL(f, EX), 'utf8')

export function receiptRequest(o: {
  notice: string
  cents: number
  /** the creditor's fiscal code */
  cf: string
  iban: string
  receiptId?: string
  v2?: boolean
}): string {
  const amount = `${Math.trunc(o.cents / 100)}.${String(o.cents % 100).padStart(2, '0')}`
  let xml = example('ReqPaSendRT.xml')
    .replace(/<transferList>[\s\S]*<\/transferList>/, () =>
      [
        '<transferList><transfer>',
        `<idTransfer>1</idTransfer><transferAmount>${amount}</transferAmount>`,
        `<fiscalCodePA>${o.cf}</fiscalCodePA><IBAN>${o.iban}</IBAN>`,
        '<remittanceInformation>Mensa scolastica</remittanceInformation><transferCategory>0101100IM</transferCategory>',
        '</transfer></transferList>',
      ].join(''),
    )
    .replaceAll('77777777777', o.cf)
    .replace('311111111112222222', o.notice)
    .replace('11111111112222222', o.notice.slice(1))
    .replace('<paymentAmount>30.00</paymentAmount>', `<paymentAmount>${amount}</paymentAmount>`)
    .replace('c110729d258c4ab1b765fe902aae41d6', o.receiptId ?? crypto.randomUUID().replaceAll('-', ''))
  if (o.v2) xml = xml.replaceAll('paSendRTReq', 'paSendRTV2Request')
  return xml
}
