import { describe, expect, it } from 'vitest'
import { type SpontaneousService, spontaneousSchema, toInput } from './schema.ts'
import { serviceRule } from './service.ts'

const importo = { amountMode: 'importo' as const, unitPriceCents: null }
const quantita = { amountMode: 'quantita' as const, unitPriceCents: 450 }

function parse(service: SpontaneousService, values: Record<string, string>, pupils: number[] = []) {
  const r = spontaneousSchema(service, pupils).safeParse(values)
  return r.success
    ? { ok: true as const, input: toInput(service, r.data) }
    : { ok: false as const, messages: r.error.issues.map((i) => i.message) }
}

describe('spontaneous form', () => {
  it('reads amounts as people type them, within € 0,01 – € 999.999,99', () => {
    for (const [typed, cents] of [
      ['154,60', 15_460],
      ['154.60', 15_460],
      ['€ 154,6', 15_460],
      ['1.234,56', 123_456],
      ['999.999,99', 99_999_999],
      ['0,01', 1],
    ] as const) {
      expect(parse(importo, { causale: 'x', importo: typed }), typed).toEqual({
        ok: true,
        input: { causale: 'x', amountCents: cents, quantity: null, pupilId: null, tariff: null },
      })
    }
    expect(parse(importo, { causale: 'x', importo: '0' })).toMatchObject({
      messages: ['spontaneous.errors.amountZero'],
    })
    expect(parse(importo, { causale: 'x', importo: '1.000.000' })).toMatchObject({
      messages: ['spontaneous.errors.amountTooHigh'],
    })
    expect(parse(importo, { causale: 'x', importo: '1,234' })).toMatchObject({
      messages: ['spontaneous.errors.amountInvalid'],
    })
  })

  it('multiplies a whole quantity from 1 to 500 by the unit price', () => {
    expect(parse(quantita, { causale: 'x', quantita: ' 10 ' })).toMatchObject({
      input: { amountCents: 4500, quantity: 10 },
    })
    expect(parse(quantita, { causale: 'x', quantita: '500' })).toMatchObject({ input: { amountCents: 225_000 } })
    for (const q of ['0', '501', '1.5', '-1', 'x'])
      expect(parse(quantita, { causale: 'x', quantita: q }).ok, q).toBe(false)
  })

  it('keeps the causale on one line, 1–140 characters, without markup or control characters', () => {
    expect(parse(importo, { causale: '  Mensa\n\tottobre  ', importo: '1' })).toMatchObject({
      input: { causale: 'Mensa ottobre' },
    })
    expect(parse(importo, { causale: 'x'.repeat(140), importo: '1' }).ok).toBe(true)
    expect(parse(importo, { causale: 'x'.repeat(141), importo: '1' })).toMatchObject({
      messages: ['spontaneous.errors.causaleTooLong'],
    })
    expect(parse(importo, { causale: '<b>', importo: '1' })).toMatchObject({
      messages: ['spontaneous.errors.causaleChars'],
    })
    expect(parse(importo, { causale: 'a\u0000b', importo: '1' }).ok).toBe(false)
    expect(parse(importo, { causale: '   ', importo: '1' })).toMatchObject({
      messages: ['spontaneous.errors.causaleRequired'],
    })
  })

  it('accepts only the pupils offered, or none', () => {
    expect(parse(importo, { causale: 'x', importo: '1', alunno: '7' }, [7])).toMatchObject({ input: { pupilId: 7 } })
    expect(parse(importo, { causale: 'x', importo: '1', alunno: 'nessuno' }, [7])).toMatchObject({
      input: { pupilId: null },
    })
    expect(parse(importo, { causale: 'x', importo: '1' }, [7])).toMatchObject({ input: { pupilId: null } })
    expect(parse(importo, { causale: 'x', importo: '1', alunno: '8' }, [7])).toMatchObject({
      messages: ['spontaneous.errors.pupilInvalid'],
    })
  })

  it("reads a service's commission rule stored as an object or as a JSON string; anything else is none set", () => {
    const rule = { type: 'fixed', cents: 100 }
    expect(serviceRule(rule)).toEqual(rule)
    expect(serviceRule(JSON.stringify(rule))).toEqual(rule)
    expect(serviceRule(null)).toBeNull()
    expect(serviceRule('{')).toBeNull()
    expect(serviceRule({ type: 'gratis' })).toBeNull()
  })
})

describe("spontaneous form by the service's rule", () => {
  const tariffa: SpontaneousService = {
    amountMode: 'tariffa',
    unitPriceCents: null,
    causale: 'Assicurazione alunni',
    tariffs: [
      { label: 'Quota intera', cents: 750 },
      { label: 'Secondo figlio', cents: 500 },
    ],
  }
  it('a tariff service: one of its tariffs, whose amount and label make the payment; nothing typed counts', () => {
    expect(parse(tariffa, { tariffa: '1', importo: '1,00', causale: 'altro' })).toEqual({
      ok: true,
      input: {
        causale: 'Assicurazione alunni – Secondo figlio',
        amountCents: 500,
        quantity: null,
        pupilId: null,
        tariff: { index: 1, label: 'Secondo figlio' },
      },
    })
    expect(parse(tariffa, {})).toMatchObject({ ok: false, messages: ['spontaneous.errors.tariffRequired'] })
    for (const bad of ['2', '-1', 'x', '99'])
      expect(parse(tariffa, { tariffa: bad }), bad).toMatchObject({
        ok: false,
        messages: ['spontaneous.errors.tariffInvalid'],
      })
  })

  it("a bounded amount: within the service's minimum and maximum, both included", () => {
    const bounded: SpontaneousService = {
      amountMode: 'importo',
      unitPriceCents: null,
      minCents: 1_000,
      maxCents: 50_000,
    }
    expect(parse(bounded, { causale: 'x', importo: '10,00' })).toMatchObject({ ok: true })
    expect(parse(bounded, { causale: 'x', importo: '500' })).toMatchObject({ ok: true })
    for (const bad of ['9,99', '500,01', '0,01'])
      expect(parse(bounded, { causale: 'x', importo: bad }), bad).toMatchObject({
        ok: false,
        messages: ['spontaneous.errors.amountOutOfBounds'],
      })
  })
})
