// The node simulator's libxml2 check (xmllint-wasm) against pagoPA's published schemas: it passes a valid message
// and names what is wrong in one pagoPA itself would refuse.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { projectPath } from '../../platform/paths.ts'
import { soapProblems } from './xsd-check.ts'

const example = (f: string) => readFileSync(projectPath('test/fixtures/pagopa/examples', f), 'utf8')

describe('the simulator’s schema check', () => {
  it('passes a valid request and names the problems of invalid ones, each message on its own', async () => {
    const [valid, noCategory, wrongNamespace, notSoap] = await soapProblems([
      example('ReqPaGetPayment.xml'),
      // pagoPA's published answer omits transferCategory, which the schema requires
      example('200PaGetPayment.xml'),
      // the published verify example declares the nodeForPsp namespace
      example('ReqPaVerifyPayment.xml'),
      '<hello/>',
    ])
    expect(valid).toEqual([])
    expect(noCategory?.join(' ')).toContain('transferCategory')
    expect(wrongNamespace?.join(' ')).toContain('nodeForPsp')
    expect(notSoap?.length).toBeGreaterThan(0)
  })

  it('refuses an amount with three decimals', async () => {
    const xml = example('ReqPaGetPayment.xml').replace(/<amount>[^<]*<\/amount>/, '<amount>10.001</amount>')
    const [problems] = await soapProblems([xml])
    expect(problems?.join(' ')).toMatch(/amount/)
  })
})
