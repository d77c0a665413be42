import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  belowThreshold,
  type CalendarFacts,
  chargeable,
  familyWindow,
  LEDGER_KINDS,
  type LedgerLine,
  ledgerFigures,
  mealCharge,
  mealsLeft,
  monthGrid,
  schoolYearBounds,
  schoolYearOf,
  serviceOn,
} from './rules.ts'

describe('school years', () => {
  it('run from August to July', () => {
    expect(schoolYearOf('2026-08-25')).toBe('2026/2027')
    expect(schoolYearOf('2026-09-01')).toBe('2026/2027')
    expect(schoolYearOf('2027-07-31')).toBe('2026/2027')
    expect(schoolYearOf('2026-07-31')).toBe('2025/2026')
    expect(schoolYearBounds('2025/2026')).toEqual({ from: '2025-08-01', to: '2026-07-31' })
  })
})

describe('the month grid', () => {
  it('starts on Monday and pads with the neighbouring months', () => {
    const may = monthGrid('2026-05')
    expect(may[0]).toEqual([null, null, null, null, '2026-05-01', '2026-05-02', '2026-05-03'])
    expect(may.at(-1)).toEqual([
      '2026-05-25',
      '2026-05-26',
      '2026-05-27',
      '2026-05-28',
      '2026-05-29',
      '2026-05-30',
      '2026-05-31',
    ])
    expect(monthGrid('2026-02').flat().filter(Boolean)).toHaveLength(28)
  })
})

// Rome is UTC+1 in winter and UTC+2 in summer; the clocks change on 29 March 2026 (02:00 → 03:00) and on
// 25 October 2026 (03:00 → 02:00). The cut-off is Rome wall-clock time whatever the offset.
describe('the cut-off in Europe/Rome', () => {
  const at = (iso: string) => new Date(iso)
  it('on the day summer time starts (29 March 2026)', () => {
    expect(familyWindow('2026-03-29', '09:15', at('2026-03-29T07:14:59Z'))).toBe('today') // 09:14:59 CEST
    expect(familyWindow('2026-03-29', '09:15', at('2026-03-29T07:15:00Z'))).toBe('closed') // 09:15 CEST
    // at 08:14 UTC the wall clock says 10:14, although it would be 09:14 the day before
    expect(familyWindow('2026-03-29', '09:15', at('2026-03-29T08:14:00Z'))).toBe('closed')
    expect(familyWindow('2026-03-28', '09:15', at('2026-03-28T08:14:00Z'))).toBe('today') // 09:14 CET
    // 00:30 in Rome is still the 29th's "today" though UTC says the 28th
    expect(familyWindow('2026-03-29', '09:15', at('2026-03-28T23:30:00Z'))).toBe('today')
    expect(familyWindow('2026-03-28', '09:15', at('2026-03-28T23:30:00Z'))).toBe('closed')
  })
  it('on the day summer time ends (25 October 2026)', () => {
    expect(familyWindow('2026-10-25', '09:15', at('2026-10-25T08:14:00Z'))).toBe('today') // 09:14 CET
    expect(familyWindow('2026-10-25', '09:15', at('2026-10-25T08:15:00Z'))).toBe('closed') // 09:15 CET
    expect(familyWindow('2026-10-24', '09:15', at('2026-10-24T07:15:00Z'))).toBe('closed') // 09:15 CEST
    // the repeated hour (02:00–03:00 twice) is before the cut-off both times
    expect(familyWindow('2026-10-25', '09:15', at('2026-10-25T00:30:00Z'))).toBe('today')
    expect(familyWindow('2026-10-25', '09:15', at('2026-10-25T01:30:00Z'))).toBe('today')
  })
  it('future days stay open, past days closed; the job charges a day after its cut-off', () => {
    const now = at('2026-10-25T12:00:00Z')
    expect(familyWindow('2026-10-26', '09:15', now)).toBe('future')
    expect(familyWindow('2026-10-23', '09:15', now)).toBe('closed')
    expect(chargeable('2026-10-25', '09:15', at('2026-10-25T08:14:00Z'))).toBe(false)
    expect(chargeable('2026-10-25', '09:15', at('2026-10-25T08:15:00Z'))).toBe(true)
    expect(chargeable('2026-03-29', '09:15', at('2026-03-29T07:15:00Z'))).toBe(true)
    expect(chargeable('2026-10-24', '09:15', at('2026-10-25T00:00:00Z'))).toBe(true)
    expect(chargeable('2026-10-26', '09:15', now)).toBe(false)
  })
})

describe('wallet arithmetic', () => {
  it('meals left and the low-balance threshold', () => {
    expect(mealsLeft(5800, 580)).toBe(10)
    expect(mealsLeft(5799, 580)).toBe(9)
    expect(mealsLeft(-100, 580)).toBe(0)
    expect(mealsLeft(1000, null)).toBe(0)
    expect(belowThreshold(1739, 580, 3)).toBe(true)
    expect(belowThreshold(1740, 580, 3)).toBe(false)
    expect(belowThreshold(-5000, 580, 0)).toBe(false)
  })
  it('a meal, an absence and light meals by tariff', () => {
    expect(mealCharge(null, 580, 580, true)).toEqual({ amountCents: -580, grossCents: 580, meals: 1 })
    expect(mealCharge('assente', 580, 580, true)).toEqual({ amountCents: 0, grossCents: 0, meals: 0 })
    expect(mealCharge('bianco', 290, 580, true)).toEqual({ amountCents: -290, grossCents: 580, meals: 1 })
    expect(mealCharge('bianco', 290, 580, false)).toEqual({ amountCents: 0, grossCents: 0, meals: 1 })
  })
  it('the figures of a period add up to the balance, whatever the entries (property)', () => {
    const line = fc.record({
      kind: fc.constantFrom(...LEDGER_KINDS),
      entryDate: fc
        .integer({ min: 0, max: 400 })
        .map((d) => new Date(Date.UTC(2026, 7, 1 + d)).toISOString().slice(0, 10)),
      amountCents: fc.integer({ min: -100_000, max: 100_000 }),
      meals: fc.integer({ min: -1, max: 1 }),
      grossCents: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: null }),
    })
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 60 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 200 }),
        (lines: LedgerLine[], a, b) => {
          const day = (n: number) => new Date(Date.UTC(2026, 7, 1 + n)).toISOString().slice(0, 10)
          const [from, to] = [day(Math.min(a, b)), day(Math.max(a, b))]
          const f = ledgerFigures(lines, from, to)
          expect(f.balanceToCents).toBe(
            f.previousCents + f.paidNoticeCents + f.paidSiteCents + f.adjustmentsCents - f.consumedCents,
          )
          expect(f.balanceCents).toBe(lines.reduce((s, l) => s + l.amountCents, 0))
          expect(Number.isSafeInteger(f.balanceCents)).toBe(true)
        },
      ),
    )
  })
})

describe('service days', () => {
  const facts: CalendarFacts = {
    years: [{ label: '2026/2027', startsOn: '2026-09-14', endsOn: '2027-06-10', weekdays: [1, 2, 3, 4, 5] }],
    closures: [
      { startsOn: '2026-12-23', endsOn: '2027-01-06', schoolId: null, description: 'Vacanze di Natale' },
      { startsOn: '2026-10-07', endsOn: '2026-10-07', schoolId: 2, description: 'Sciopero' },
    ],
    enrollments: [
      {
        schoolYear: '2026/2027',
        status: 'attiva',
        startDate: '2026-09-21',
        endDate: '2027-05-31',
        classWeekdays: [1, 3],
        schoolId: 1,
      },
    ],
  }
  it('need the year, the weekday of the year and of the class, an active enrollment and no closure', () => {
    expect(serviceOn('2026-10-05', facts)).toEqual({ service: true, closure: null }) // Monday
    expect(serviceOn('2026-10-06', facts)).toEqual({ service: false, closure: null }) // Tuesday: not the class's
    expect(serviceOn('2026-10-07', facts)).toEqual({ service: true, closure: null }) // another school's strike
    expect(serviceOn('2026-10-10', facts)).toEqual({ service: false, closure: null }) // Saturday
    expect(serviceOn('2026-12-28', facts)).toEqual({ service: false, closure: 'Vacanze di Natale' })
    expect(serviceOn('2026-09-14', facts)).toEqual({ service: false, closure: null }) // before the enrollment
    expect(serviceOn('2027-06-07', facts)).toEqual({ service: false, closure: null }) // after its end
    expect(serviceOn('2027-07-05', facts)).toEqual({ service: false, closure: null }) // outside the year
    const e = facts.enrollments[0] as CalendarFacts['enrollments'][number]
    const suspended = { ...facts, enrollments: [{ ...e, status: 'sospesa' as const }] }
    expect(serviceOn('2026-10-05', suspended)).toEqual({ service: false, closure: null })
    const noClass = { ...facts, enrollments: [{ ...e, classWeekdays: null, schoolId: 2 }] }
    expect(serviceOn('2026-10-06', noClass)).toEqual({ service: true, closure: null })
    expect(serviceOn('2026-10-07', noClass)).toEqual({ service: false, closure: 'Sciopero' })
  })
})
