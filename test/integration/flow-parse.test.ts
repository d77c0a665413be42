// Reading reporting flows and bank statements (saxes): the shapes the readers walk, and files refused whole.
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { FlowFormatError, parseFlowFile } from '../../src/features/reconciliation/parse.ts'

const sample = () => readFile('test/fixtures/pagopa/fdr/fdr_sample_sanp_devportal.xml', 'utf8')

function refusal(xml: string): string | null {
  try {
    parseFlowFile(xml)
    return null
  } catch (err) {
    return err instanceof FlowFormatError ? err.code : `unexpected ${String(err)}`
  }
}

describe('reading flow files', () => {
  it('reads the public pagoPA sample, and the same with namespace prefixes and CDATA', async () => {
    const xml = await sample()
    const [flow] = parseFlowFile(xml)
    expect(flow?.kind).toBe('fdr')
    expect(flow?.lines.length).toBe(flow?.declaredCount)
    const prefixed = xml
      .replace(/<(\/?)([A-Za-z][\w]*)(?=[\s>/])/g, '<$1p:$2')
      .replace(
        /<p:FlussoRiversamento(\s|>)/,
        '<p:FlussoRiversamento xmlns:p="http://www.digitpa.gov.it/schemas/2011/Pagamenti/"$1',
      )
      .replace(/<p:\?xml/, '<?xml')
    expect(parseFlowFile(prefixed)).toEqual([flow])
    const cdata = xml.replace(
      /<identificativoUnivocoRiscossione>([^<]*)</g,
      '<identificativoUnivocoRiscossione><![CDATA[$1]]><',
    )
    expect(parseFlowFile(cdata)).toEqual([flow])
  })

  it('decodes character references and refuses broken or DTD-laden files as not XML', async () => {
    const xml = await sample()
    const withRef = xml.replace(/<denominazioneMittente>/, '<denominazioneMittente>A &amp; B &#39;')
    expect(parseFlowFile(withRef)[0]?.sender).toMatch(/^A & B '/)
    expect(refusal('hello')).toBe('notXml')
    expect(refusal(xml.slice(0, xml.length / 2))).toBe('notXml')
    expect(
      refusal(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><FlussoRiversamento><identificativoFlusso>&e;</identificativoFlusso></FlussoRiversamento>',
      ),
    ).toBe('notXml')
    expect(refusal('<?xml version="1.0"?><Altro/>')).toBe('unknownFormat')
  })

  it('reads a 100,000-line flow', () => {
    const lines: string[] = []
    for (let i = 0; i < 100_000; i++)
      lines.push(
        `<datiSingoliPagamenti><identificativoUnivocoVersamento>1${String(i).padStart(16, '0')}</identificativoUnivocoVersamento><identificativoUnivocoRiscossione>IUR${i}</identificativoUnivocoRiscossione><indiceDatiSingoloPagamento>1</indiceDatiSingoloPagamento><singoloImportoPagato>45.00</singoloImportoPagato><codiceEsitoSingoloPagamento>0</codiceEsitoSingoloPagamento><dataEsitoSingoloPagamento>2026-03-02</dataEsitoSingoloPagamento></datiSingoliPagamenti>`,
      )
    const xml = `<?xml version="1.0"?><FlussoRiversamento><identificativoFlusso>2026-03-03ABI03069-X1</identificativoFlusso><dataOraFlusso>2026-03-03T06:00:00</dataOraFlusso><numeroTotalePagamenti>100000</numeroTotalePagamenti><importoTotalePagamenti>4500000.00</importoTotalePagamenti>${lines.join('\n')}</FlussoRiversamento>`
    const [flow] = parseFlowFile(xml)
    expect(flow?.lines).toHaveLength(100_000)
    expect(flow?.lines[99_999]).toMatchObject({ iuv: '10000000000099999', reference: 'IUR99999', amountCents: 4500 })
  })
})
