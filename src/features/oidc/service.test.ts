import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../config.ts'
import { fiscalCodeFrom, identityFrom, type OidcConfig, openValue, sealValue } from './service.ts'

const cfg: OidcConfig = {
  issuer: 'https://id.example.it',
  clientId: 'c',
  clientSecret: 's',
  fiscalClaim: 'fiscal_number',
  label: 'spid-cie',
  scope: 'openid profile email',
}

describe('fiscalCodeFrom', () => {
  it('strips the TINIT- prefix, uppercases and checks the codice fiscale', () => {
    expect(fiscalCodeFrom('TINIT-RSSMRA80A01H501U')).toBe('RSSMRA80A01H501U')
    expect(fiscalCodeFrom('tinit-rssmra80a01h501u')).toBe('RSSMRA80A01H501U')
    expect(fiscalCodeFrom(' RSSMRA80A01H501U ')).toBe('RSSMRA80A01H501U')
  })

  it('refuses a wrong check character, a short code, another country and non-strings', () => {
    for (const v of ['TINIT-RSSMRA80A01H501X', 'TINIT-RSSMRA80A01', 'TIFR-RSSMRA80A01H501U', '', 42, null, undefined])
      expect(fiscalCodeFrom(v), String(v)).toBeNull()
  })
})

describe('identityFrom', () => {
  const claims = {
    sub: 'abc',
    fiscal_number: 'TINIT-RSSMRA80A01H501U',
    given_name: ' Mario ',
    family_name: 'Rossi',
    email: 'Mario.Rossi@Example.it',
    email_verified: true,
  }

  it('reads the configured claim, names and a verified address', () => {
    expect(identityFrom(cfg, 'https://id.example.it', claims)).toEqual({
      ok: true,
      identity: {
        issuer: 'https://id.example.it',
        subject: 'abc',
        codiceFiscale: 'RSSMRA80A01H501U',
        givenName: 'Mario',
        familyName: 'Rossi',
        email: 'mario.rossi@example.it',
        emailVerified: true,
      },
    })
    const custom = { ...cfg, fiscalClaim: 'https://attributes.eid.gov.it/fiscal_number' }
    const r = identityFrom(custom, 'i', {
      ...claims,
      fiscal_number: undefined,
      [custom.fiscalClaim]: 'RSSMRA80A01H501U',
    })
    expect(r.ok && r.identity.codiceFiscale).toBe('RSSMRA80A01H501U')
  })

  it('treats an address as unverified unless the provider says so, and drops an invalid one', () => {
    const unverified = identityFrom(cfg, 'i', { ...claims, email_verified: undefined })
    expect(unverified.ok && unverified.identity.emailVerified).toBe(false)
    const invalid = identityFrom(cfg, 'i', { ...claims, email: 'not an address' })
    expect(invalid.ok && [invalid.identity.email, invalid.identity.emailVerified]).toEqual([null, false])
  })

  it('refuses a missing fiscal number or missing names', () => {
    expect(identityFrom(cfg, 'i', { ...claims, fiscal_number: undefined })).toEqual({ ok: false, problem: 'fiscal' })
    expect(identityFrom(cfg, 'i', { ...claims, family_name: '  ' })).toEqual({ ok: false, problem: 'names' })
  })
})

describe('sealed cookie values', () => {
  const secret = 'a-secret-of-at-least-thirty-two-characters'

  it('opens what it sealed, for the same purpose and within the age', () => {
    const sealed = sealValue(secret, 'p', { x: 1 })
    expect(openValue<{ x: number }>(secret, 'p', sealed, 60)?.x).toBe(1)
    expect(openValue(secret, 'other', sealed, 60)).toBeNull()
    expect(openValue('another-secret-of-at-least-thirty-two-chars', 'p', sealed, 60)).toBeNull()
    expect(openValue(secret, 'p', undefined, 60)).toBeNull()
    expect(openValue(secret, 'p', 'garbage', 60)).toBeNull()
  })

  it('refuses a changed value and an old one', () => {
    const sealed = sealValue(secret, 'p', { x: 1 })
    const [body, mac] = sealed.split('.') as [string, string]
    const changed = Buffer.from(JSON.stringify({ x: 2, at: Date.now() })).toString('base64url')
    expect(openValue(secret, 'p', `${changed}.${mac}`, 60)).toBeNull()
    expect(openValue(secret, 'p', `${body}.${mac}`, 60)).not.toBeNull()
    const old = JSON.parse(Buffer.from(body, 'base64url').toString()) as { at: number }
    expect(old.at).toBeGreaterThan(Date.now() - 5000)
    expect(openValue(secret, 'p', sealed, -1)).toBeNull()
  })
})

describe('configuration', () => {
  it('is null without OIDC_ISSUER and has the documented defaults with it', () => {
    expect(loadConfig({}).oidc).toBeNull()
    expect(loadConfig({ OIDC_ISSUER: 'https://id.example.it', OIDC_CLIENT_ID: 'c' }).oidc).toEqual({
      issuer: 'https://id.example.it',
      clientId: 'c',
      clientSecret: undefined,
      fiscalClaim: 'fiscal_number',
      label: 'spid-cie',
      scope: 'openid profile email',
    })
  })

  it('refuses a missing client id, an unknown label and plain http in production', () => {
    expect(() => loadConfig({ OIDC_ISSUER: 'https://id.example.it' })).toThrow(/OIDC_CLIENT_ID/)
    expect(() => loadConfig({ OIDC_ISSUER: 'https://id.example.it', OIDC_CLIENT_ID: 'c', OIDC_LABEL: 'x' })).toThrow(
      /OIDC_LABEL/,
    )
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        SESSION_SECRET: 'x'.repeat(32),
        BASE_URL: 'https://sportello.example.it',
        OIDC_ISSUER: 'http://id.example.it',
        OIDC_CLIENT_ID: 'c',
      }),
    ).toThrow(/OIDC_ISSUER: must use https/)
  })
})
