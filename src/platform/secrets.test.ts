import { describe, expect, it } from 'vitest'
import { lastFour, sealer } from './secrets.ts'

describe('sealed secrets', () => {
  const s = sealer('a-key-of-at-least-thirty-two-characters')
  it('open with the same key and context only', () => {
    const sealed = s.seal('chiave-api-io-0123456789', 'tenant:7:io:mensa')
    expect(sealed).not.toContain('chiave')
    expect(s.open(sealed, 'tenant:7:io:mensa')).toBe('chiave-api-io-0123456789')
    expect(s.open(sealed, 'tenant:8:io:mensa')).toBeNull()
    expect(sealer('another-key-of-at-least-thirty-two-chars').open(sealed, 'tenant:7:io:mensa')).toBeNull()
  })
  it('refuse a tampered or malformed value', () => {
    const sealed = s.seal('x', 'c')
    const parts = sealed.split('.')
    parts[3] = Buffer.from('y').toString('base64url')
    expect(s.open(parts.join('.'), 'c')).toBeNull()
    expect(s.open('not sealed', 'c')).toBeNull()
    expect(s.open('', 'c')).toBeNull()
  })
  it('seal the same value differently each time', () => {
    expect(s.seal('same', 'c')).not.toBe(s.seal('same', 'c'))
  })
  it('show only the last four characters', () => {
    expect(lastFour('abcdefgh1234')).toBe('••••1234')
    expect(lastFour('abc')).toBe('••••')
  })
})
