import { describe, expect, it } from 'vitest'
import { tenantFileSchema } from '../../platform/tenancy.ts'
import { defaultServices, logoTextFor, numberedSlug, SLUG_RE, shortNameFor, suggestSlug } from './defaults.ts'
import { checkLogo } from './logo.ts'
import { parseRate, parseReminderDays, signUpSchema } from './schema.ts'

describe('suggested address', () => {
  it.each([
    ['Comune di Siena', 'siena'],
    ['Comune di Monopoli', 'monopoli'],
    ['Istituto Comprensivo Sandro Pertini – Milano', 'ic-sandro-pertini-milano'],
    ["Istituto d'Istruzione Superiore «Galilei» di Città di Castello", 'iis-galilei-citta-castello'],
    ['Comune di Sant’Angelo in Vado', 'sant-angelo-vado'],
    ['Comune', 'comune'],
  ])('%s → %s', (name, slug) => {
    expect(suggestSlug(name)).toBe(slug)
  })

  it('stays within 40 characters, cut at a word, and is always a valid address', () => {
    const s = suggestSlug('Istituto Comprensivo Statale Giovanni Pascoli Francesco Petrarca di Roma Capitale')
    expect(s.length).toBeLessThanOrEqual(40)
    expect(SLUG_RE.test(s)).toBe(true)
    expect(numberedSlug('a'.repeat(40), 12)).toMatch(/^a{37}-12$/)
    expect(suggestSlug('«»—')).toBe('')
  })

  it('logo text and short name', () => {
    expect(logoTextFor('Istituto Comprensivo Sandro Pertini – Milano')).toBe('ICSP')
    expect(logoTextFor('Comune di Siena')).toBe('CS')
    expect(shortNameFor('x '.repeat(50)).length).toBeLessThanOrEqual(30)
    expect(shortNameFor('Istituto Comprensivo Sandro Pertini – Milano')).toBe('IC Sandro Pertini')
    expect(shortNameFor('Comune di Siena')).toBe('Comune di Siena')
    expect(shortNameFor("Istituto d'Istruzione Superiore Galileo Galilei di Città di Castello")).toBe(
      'IIS Galileo Galilei di Città',
    )
  })

  it('default services make a valid tenant file for both kinds', () => {
    for (const kind of ['scuola', 'comune'] as const) {
      const services = defaultServices(kind)
      const file = tenantFileSchema.safeParse({
        slug: 'prova',
        kind,
        name: 'Ente di prova',
        shortName: 'Prova',
        fiscalCode: '97501230151',
        codiceMeccanografico: 'MIIC8AB005',
        segregationCode: '01',
        branding: { logoText: 'EP', accent: '#0b4f9c' },
        contacts: { email: 'a@b.it', address: 'Via 1' },
        services,
      })
      expect(file.success).toBe(true)
    }
    expect(defaultServices('scuola').map((s) => s.kind)).toEqual([
      'assicurazione',
      'contributo',
      'gite',
      'extrascolastico',
    ])
    expect(defaultServices('comune').map((s) => s.kind)).toEqual(['mensa', 'trasporto', 'nido'])
  })
})

describe('form rules', () => {
  it('reminder days and rates', () => {
    expect(parseReminderDays('7, -7; 0 0')).toEqual([-7, 0, 7])
    expect(parseReminderDays('')).toEqual([])
    expect(parseReminderDays('61')).toBeNull()
    expect(parseReminderDays('1,2,3,4,5,6,7')).toBeNull()
    expect(parseRate('1,5')).toBe(150)
    expect(parseRate('1.522843')).toBeNull()
    expect(parseRate('0')).toBeNull()
  })

  it('a school needs its codice meccanografico; a comune does not', () => {
    const base = {
      name: 'Ente',
      fiscalCode: '97501230151',
      address: 'Via 1',
      pec: 'a@pec.it',
      email: 'a@b.it',
      adminGivenName: 'Anna',
      adminFamilyName: 'Rossi',
      adminCodiceFiscale: 'RSSMRA80A01I726Q',
      adminEmail: 'anna@b.it',
      terms: 'si',
    }
    const school = signUpSchema.safeParse({ ...base, kind: 'scuola', codiceMeccanografico: '' })
    expect(school.success).toBe(false)
    expect(school.error?.issues.map((i) => i.message)).toContain('onboarding.errors.meccanograficoRequired')
    expect(signUpSchema.safeParse({ ...base, kind: 'scuola', codiceMeccanografico: 'miic8ab005' }).success).toBe(true)
    expect(signUpSchema.safeParse({ ...base, kind: 'comune' }).success).toBe(true)
    const bad = signUpSchema.safeParse({ ...base, kind: 'comune', fiscalCode: '97501230152', istatCode: '12' })
    expect(bad.error?.issues.map((i) => i.message).sort()).toEqual([
      'onboarding.errors.fiscalCodeCheck',
      'onboarding.errors.istatFormat',
    ])
  })
})

describe('logo', () => {
  const png = (w: number, h: number) => {
    const b = Buffer.alloc(8 + 25 + 12)
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0)
    b.writeUInt32BE(13, 8)
    b.write('IHDR', 12, 'latin1')
    b.writeUInt32BE(w, 16)
    b.writeUInt32BE(h, 20)
    Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]).copy(b, 33)
    return b
  }
  it('accepts a PNG by its bytes and refuses the rest', () => {
    const ok = checkLogo(png(200, 80))
    expect('problem' in ok ? ok.problem : ok.width).toBe(200)
    expect(checkLogo(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toEqual({ problem: 'notPng' })
    expect(checkLogo(png(2000, 10))).toEqual({ problem: 'dimensions' })
    expect(checkLogo(Buffer.alloc(300 * 1024))).toEqual({ problem: 'tooLarge' })
    expect(checkLogo(Buffer.alloc(0))).toEqual({ problem: 'empty' })
  })
})
