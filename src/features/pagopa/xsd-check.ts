// The node simulator's own check of the SOAP messages it exchanges with Sportello: every request it sends and every
// answer it receives validated by libxml2 (xmllint-wasm, a maintained build of xmllint) against pagoPA's published
// paForNode.xsd and sac-common-types-1.0.xsd inside a SOAP 1.1 envelope. Independent of the creditor's own validator
// (xsd.ts), so a message pagoPA would refuse fails the test that exchanged it. Dev tooling: tests and the demo.
import { readFileSync } from 'node:fs'
import { validateXML } from 'xmllint-wasm'
import { projectPath } from '../../platform/paths.ts'

let files: { envelope: string; paForNode: string; common: string } | null = null

function schemas() {
  files ??= {
    envelope: readFileSync(projectPath('test/fixtures/pagopa/xsd/soap-envelope.xsd'), 'utf8'),
    // the published file imports the common types from its repository's layout: the same file, found beside it
    paForNode: readFileSync(projectPath('test/fixtures/pagopa/xsd/paForNode.xsd'), 'utf8').replace(
      '../../xsd-common/sac-common-types-1.0.xsd',
      'sac-common-types-1.0.xsd',
    ),
    common: readFileSync(projectPath('test/fixtures/pagopa/xsd/sac-common-types-1.0.xsd'), 'utf8'),
  }
  return files
}

/**
 * What libxml2 finds wrong with each of several SOAP messages of the paForNode interface (one list per message,
 * empty: valid). One call validates them all: xmllint starts once.
 */
export async function soapProblems(xmls: string[]): Promise<string[][]> {
  if (xmls.length === 0) return []
  const s = schemas()
  const r = await validateXML({
    xml: xmls.map((contents, k) => ({ fileName: `message-${k}.xml`, contents })),
    schema: [{ fileName: 'soap-envelope.xsd', contents: s.envelope }],
    preload: [
      { fileName: 'paForNode.xsd', contents: s.paForNode },
      { fileName: 'sac-common-types-1.0.xsd', contents: s.common },
    ],
  })
  const out: string[][] = xmls.map(() => [])
  for (const e of r.errors) {
    const k = Number(/message-(\d+)\.xml/.exec(e.loc?.fileName ?? e.rawMessage)?.[1] ?? 0)
    out[k]?.push(e.message)
  }
  return out
}
