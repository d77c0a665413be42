import { describe, expect, it } from 'vitest'
import { certificateSchema, defaultYear, offeredYears, periodRange, toRequest } from './schema.ts'
import { serviceLabel } from './service.ts'

const today = '2026-11-23'
const parse = (v: Record<string, string>) => {
  const r = certificateSchema(today).safeParse(v)
  return r.success
    ? { ok: true as const, ...toRequest(r.data) }
    : { ok: false as const, issues: r.error.issues.map((i) => `${i.path.join('.')}:${i.message}`) }
}

describe('tax certificate form', () => {
  it('offers this year and the four before; last year by default', () => {
    expect(offeredYears(today)).toEqual([2026, 2025, 2024, 2023, 2022])
    expect(defaultYear(today)).toBe(2025)
    expect(defaultYear('2026-01-01')).toBe(2025)
    expect(periodRange({ year: 2025 })).toEqual({ from: '2025-01-01', to: '2025-12-31' })
  })

  it('a year or a typed range', () => {
    expect(parse({ periodo: '2025', alunno: '3-14' })).toEqual({ ok: true, period: { year: 2025 }, pupilKey: '3-14' })
    expect(
      parse({
        periodo: 'intervallo',
        alunno: '3-14',
        'dal-giorno': '1',
        'dal-mese': '9',
        'dal-anno': '2025',
        'al-giorno': '30',
        'al-mese': '06',
        'al-anno': '2026',
      }),
    ).toEqual({ ok: true, period: { from: '2025-09-01', to: '2026-06-30' }, pupilKey: '3-14' })
    expect(parse({ periodo: '2021', alunno: '3-14' })).toMatchObject({ issues: ['periodo:tax.errors.periodRequired'] })
  })

  it('reports every problem at once', () => {
    expect(
      parse({ periodo: 'intervallo', alunno: '', 'dal-giorno': '31', 'dal-mese': '2', 'dal-anno': '2026' }),
    ).toEqual({
      ok: false,
      issues: ['alunno:tax.errors.pupilRequired', 'dal:tax.errors.fromInvalid', 'al:tax.errors.toRequired'],
    })
    const range = (from: string[], to: string[]) =>
      parse({
        periodo: 'intervallo',
        alunno: '1-1',
        'dal-giorno': from[0] as string,
        'dal-mese': from[1] as string,
        'dal-anno': from[2] as string,
        'al-giorno': to[0] as string,
        'al-mese': to[1] as string,
        'al-anno': to[2] as string,
      })
    expect(range(['2', '1', '2026'], ['1', '1', '2026'])).toMatchObject({ issues: ['al:tax.errors.toBeforeFrom'] })
    expect(range(['1', '1', '2026'], ['24', '11', '2026'])).toMatchObject({ issues: ['al:tax.errors.toFuture'] })
    expect(range(['1', '1', '1999'], ['1', '1', '2026'])).toMatchObject({ issues: ['dal:tax.errors.fromInvalid'] })
    expect(range(['1', '1', '2026'], ['23', '11', '2026']).ok).toBe(true)
  })

  it('labels a payment by service and description, with the installment when there are several', () => {
    const row = { service_name: 'Mensa scolastica', description: 'Pasti di ottobre', seq: 2, installments: 1 }
    expect(serviceLabel(row)).toBe('Mensa scolastica – Pasti di ottobre')
    expect(serviceLabel({ ...row, description: 'Mensa scolastica ottobre' })).toBe('Mensa scolastica ottobre')
    expect(serviceLabel({ ...row, installments: 3 })).toBe('Mensa scolastica – Pasti di ottobre – rata 2')
    expect(serviceLabel({ ...row, installments: 3 }, (n) => `installment ${n}`)).toContain('installment 2')
  })
})
