// Unit tests of the pure parts: the schema validator against the published XSDs and examples, amounts, the
// Italian wall-clock times of receipts, and the rule that decides whether a notice may still be collected.
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { romeInstant } from '../../platform/dates.ts'
import { payability } from './service.ts'
import { amountToCents, centsToAmount, clip, Fault, faultResponse, okResponse, parseRequest } from './soap.ts'
import { parseXml, type XNode } from './xml.ts'
import { compileSchemas, paForNodeSchema, validateElement } from './xsd.ts'

const fixture = (p: string) => readFileSync(new URL(`../../../test/fixtures/pagopa/${p}`, import.meta.url), 'utf8')
const bodyOf = (xml: string) => parseXml(xml).children.find((c) => c.local === 'Body')?.children[0] as XNode

describe('the XSD validator', () => {
  it('uses the published schema files unchanged', () => {
    for (const f of ['paForNode.xsd', 'sac-common-types-1.0.xsd']) {
      expect(readFileSync(new URL(`xsd/${f}`, import.meta.url), 'utf8')).toBe(fixture(`xsd/${f}`))
    }
  })

  it('accepts the published examples that follow the schema and names what is wrong in the others', () => {
    const s = paForNodeSchema()
    expect(validateElement(s, bodyOf(fixture('examples/ReqPaGetPayment.xml')))).toBeNull()
    expect(validateElement(s, bodyOf(fixture('examples/200PaVerifyPaymentNotice.xml')))).toBeNull()
    expect(validateElement(s, bodyOf(fixture('examples/200PaSendRT.xml')))).toBeNull()
    expect(validateElement(s, bodyOf(fixture('examples/ReqPaSendRT.xml')))).toEqual({
      path: 'paSendRTReq/receipt/transferList/transfer/transferCategory',
      message: 'missing',
    })
    expect(validateElement(s, bodyOf(fixture('examples/200PaGetPayment.xml')))?.path).toContain('transferCategory')
  })

  it('checks patterns, lengths, enumerations, ranges, order, occurrences and choices', () => {
    const s = compileSchemas([
      `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns:t="urn:t">
        <xs:simpleType name="code"><xs:restriction base="xs:string"><xs:pattern value="[0-9]{3}"/></xs:restriction></xs:simpleType>
        <xs:simpleType name="short"><xs:restriction base="t:code"><xs:maxLength value="2"/></xs:restriction></xs:simpleType>
        <xs:simpleType name="money"><xs:restriction base="xs:decimal"><xs:pattern value="\\d+\\.\\d{2}"/><xs:minInclusive value="0.01"/></xs:restriction></xs:simpleType>
        <xs:simpleType name="kind"><xs:restriction base="xs:int"><xs:enumeration value="1"/><xs:enumeration value="2"/></xs:restriction></xs:simpleType>
        <xs:complexType name="r"><xs:sequence>
          <xs:element name="a" type="t:code"/>
          <xs:element name="b" type="t:money" minOccurs="0" maxOccurs="2"/>
          <xs:choice><xs:element name="c" type="t:kind"/><xs:element name="d" type="xs:date"/></xs:choice>
        </xs:sequence></xs:complexType>
        <xs:element name="r" type="t:r"/>
        <xs:element name="s" type="t:short"/>
      </xs:schema>`,
    ])
    const check = (inner: string) => validateElement(s, parseXml(`<t:r xmlns:t="urn:t">${inner}</t:r>`))
    expect(check('<a>123</a><b>1.00</b><b>2.50</b><c>2</c>')).toBeNull()
    expect(check('<a>123</a><d>2024-02-29</d>')).toBeNull()
    expect(check('<a>12</a><c>1</c>')?.message).toContain('pattern')
    expect(check('<a>123</a><b>0.00</b><c>1</c>')?.message).toContain('less than')
    expect(check('<a>123</a><b>1</b><c>1</c>')?.message).toContain('pattern')
    expect(check('<a>123</a><b>1.00</b><b>1.00</b><b>1.00</b><c>1</c>')?.message).toContain('expected one of')
    expect(check('<a>123</a><c>3</c>')?.message).toContain('not one of')
    expect(check('<a>123</a><d>2023-02-29</d>')?.message).toContain('date')
    expect(check('<a>123</a>')?.message).toContain('expected one of c, d')
    expect(check('<c>1</c><a>123</a>')?.path).toBe('r/a')
    expect(check('<a x="1">123</a><c>1</c>')?.message).toContain('attribute')
    expect(validateElement(s, parseXml('<t:s xmlns:t="urn:t">123</t:s>'))?.message).toContain('longer than 2')
    expect(check('<t:a>123</t:a><c>1</c>')?.message).toContain('namespace')
  })

  it('refuses a DOCTYPE and undeclared prefixes', () => {
    expect(() => parseXml('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')).toThrow(/DOCTYPE/)
    expect(() => parseXml('<p:a/>')).toThrow(/prefix/)
  })
})

describe('answers', () => {
  it('are valid against the schema, OK and KO alike', () => {
    const s = paForNodeSchema()
    const ok = okResponse('paSendRTV2Request')
    expect(validateElement(s, bodyOf(ok))).toBeNull()
    const ko = faultResponse('paGetPaymentV2Request', new Fault('PAA_PAGAMENTO_SCADUTO', 'scaduto'), '12345678901')
    expect(validateElement(s, bodyOf(ko))).toBeNull()
    expect(ko).toContain('<faultString>Pagamento in attesa risulta scaduto all’Ente Creditore</faultString>')
  })

  it('parseRequest reports the first schema problem as PAA_SINTASSI_XSD', () => {
    const bad = fixture('examples/ReqPaGetPayment.xml').replace('<amount>30.00</amount>', '<amount>30</amount>')
    expect(() => parseRequest(bad)).toThrow(/PAA_SINTASSI_XSD: paGetPaymentReq\/amount/)
  })
})

describe('amounts and texts', () => {
  it('cents and schema amounts round-trip exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99_999_999_999 }), (cents) => {
        expect(amountToCents(centsToAmount(cents))).toBe(cents)
      }),
    )
    expect(centsToAmount(15460)).toBe('154.60')
    expect(centsToAmount(5)).toBe('0.05')
  })

  it('clips to a maximum of characters, not UTF-16 units', () => {
    expect([...clip('è'.repeat(200), 140)]).toHaveLength(140)
    expect(clip('   ', 10)).toBe('-')
  })
})

describe('times and expiry', () => {
  it('reads an unzoned dateTime as Italian time, summer and winter', () => {
    expect(romeInstant('2021-10-01T17:48:22').toISOString()).toBe('2021-10-01T15:48:22.000Z')
    expect(romeInstant('2021-12-01T17:48:22').toISOString()).toBe('2021-12-01T16:48:22.000Z')
    expect(romeInstant('2021-12-01T17:48:22Z').toISOString()).toBe('2021-12-01T17:48:22.000Z')
  })

  it('a notice expires the day after due date + payable days; never with no limit', () => {
    const n = { status: 'da_pagare' as const, cancelled: false, in_cart: false, due_date: '2026-01-31' }
    const s = { payableDaysAfterDue: 30 }
    expect(payability(n, s, '2026-03-02')).toBeNull()
    expect(payability(n, s, '2026-03-03')?.code).toBe('PAA_PAGAMENTO_SCADUTO')
    expect(payability(n, { ...s, payableDaysAfterDue: null }, '2036-01-01')).toBeNull()
    expect(payability({ ...n, status: 'pagato' }, s, '2026-01-01')?.code).toBe('PAA_PAGAMENTO_DUPLICATO')
    expect(payability({ ...n, cancelled: true }, s, '2026-01-01')?.code).toBe('PAA_PAGAMENTO_ANNULLATO')
    expect(payability({ ...n, status: 'in_corso' }, s, '2026-01-01')?.code).toBe('PAA_PAGAMENTO_IN_CORSO')
    expect(payability({ ...n, status: 'in_corso', in_cart: true }, s, '2026-01-01')).toBeNull()
    expect(payability(null, s, '2026-01-01')?.code).toBe('PAA_PAGAMENTO_SCONOSCIUTO')
  })
})
