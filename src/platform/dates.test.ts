import { describe, expect, it } from 'vitest'
import { addDays, beforeCutoff, dateFromParts, formatDate, formatDateTime, todayRome } from './dates.ts'

describe('dates in Europe/Rome', () => {
  it('today is the Rome date, not the UTC one', () => {
    expect(todayRome(new Date('2026-03-01T23:30:00Z'))).toBe('2026-03-02') // 00:30 in Rome (CET)
    expect(todayRome(new Date('2026-07-01T22:30:00Z'))).toBe('2026-07-02') // 00:30 in Rome (CEST)
  })
  it('cut-off 09:15 holds across the DST changes', () => {
    // 29 March 2026: clocks go from 02:00 CET to 03:00 CEST
    expect(beforeCutoff('09:15', new Date('2026-03-29T07:14:00Z'))).toBe(true) // 09:14 CEST
    expect(beforeCutoff('09:15', new Date('2026-03-29T07:15:00Z'))).toBe(false) // 09:15 CEST
    // 25 October 2026: clocks go from 03:00 CEST back to 02:00 CET
    expect(beforeCutoff('09:15', new Date('2026-10-25T08:14:00Z'))).toBe(true) // 09:14 CET
    expect(beforeCutoff('09:15', new Date('2026-10-25T08:15:00Z'))).toBe(false) // 09:15 CET
  })
  it('adds days across month and year ends', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01')
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28')
  })
  it('formats dd/mm/yyyy and parses three fields', () => {
    expect(formatDate('2026-04-09')).toBe('09/04/2026')
    expect(formatDateTime(new Date('2026-04-09T08:05:00Z'))).toBe('09/04/2026, 10:05')
    expect(dateFromParts('9', '4', '2026')).toBe('2026-04-09')
    expect(dateFromParts('31', '2', '2026')).toBeNull()
    expect(dateFromParts('x', '2', '2026')).toBeNull()
  })
})
