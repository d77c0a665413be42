import { describe, expect, it } from 'vitest'
import { catalogueKeys, translator } from './i18n.ts'

describe('i18n', () => {
  it('Italian and English have the same keys', () => {
    const k = catalogueKeys()
    expect(k.en).toEqual(k.it)
  })
  it('fills parameters', () => {
    expect(translator('en')('errors.requestId', { id: 'abc' })).toBe('If you contact support, quote this code: abc')
  })
  it('refuses an unknown key outside production', () => {
    expect(() => translator('it')('no.such.key')).toThrow()
  })
})
