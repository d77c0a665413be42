import { describe, expect, it } from 'vitest'
import { ConfigError, isKnownSecret, loadConfig } from './config.ts'

/** A complete production environment; each test takes one thing away or spoils it. */
const PRODUCTION = {
  DATABASE_URL: 'postgres://sportello@db.internal/sportello',
  SESSION_SECRET: 'Qm9xW2v8Lr4tYz1pK7nS3dF6hJ0cX5aE9gU',
  SECRETS_KEY: 'Zr5uW1nB8qTe3Lk0Vy7Hm2Ps9Dc4Fg6Ja',
  BASE_URL: 'https://pagamenti.example.it/',
  SMTP_URL: 'smtps://sportello:pw@smtp.example.it',
  PAYMENT_PROVIDER: 'pagopa-checkout',
  PAGOPA_CHECKOUT_URL: 'https://api.platform.pagopa.it/checkout/ec/v2',
  PAGOPA_CHECKOUT_KEY: '8f2c0d9e7b6a41f3a5c2e1d0b9f87a6c',
  PAGOPA_NODE_KEY: '3b7e9d1f0a2c4e6b8d0f1a3c5e7b9d2f',
}

function refusal(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    return (err as Error).message
  }
  throw new Error('the configuration was accepted')
}

describe('loadConfig', () => {
  it('has working defaults for the demo', () => {
    const c = loadConfig({})
    expect(c.mode).toBe('demo')
    expect(c.production).toBe(false)
    expect(c.port).toBe(3000)
    expect(c.databaseUrl).toBeUndefined()
    expect(c.dataDir).toBe('./data')
    expect(c.baseUrl).toBe('http://localhost:3000')
    expect(c.seedDemo).toBe(true)
    expect(c.pspSandbox).toBe(true)
    expect(c.devMail).toBe(true)
    expect(c.paymentProvider).toBe('sandbox')
  })

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/PORT/)
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/)
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/)
    expect(() => loadConfig({ SMTP_URL: 'not a url' })).toThrow(ConfigError)
  })

  it('accepts a complete production environment', () => {
    const c = loadConfig(PRODUCTION)
    expect(c.mode).toBe('production')
    expect(c.production).toBe(true)
    expect(c.secureCookies).toBe(true)
    expect(c.baseUrl).toBe('https://pagamenti.example.it')
    expect(c.seedDemo).toBe(false)
    expect(c.pspSandbox).toBe(false)
    expect(c.devMail).toBe(false)
    expect(c.sessionSecret).toBe(PRODUCTION.SESSION_SECRET)
    expect(loadConfig({ ...PRODUCTION, DATABASE_URL: undefined, NODE_ENV: 'production' }).production).toBe(true)
  })
})

describe('demo or production', () => {
  it('is production with DATABASE_URL, with NODE_ENV=production, or with SPORTELLO_DEMO=0', () => {
    for (const env of [
      { DATABASE_URL: 'postgres://127.0.0.1/sportello' },
      { NODE_ENV: 'production' },
      { NODE_ENV: 'development', DATABASE_URL: 'postgres://127.0.0.1/sportello' },
      { SPORTELLO_DEMO: '0' },
    ]) {
      expect(refusal(env), JSON.stringify(env)).toMatch(/^Invalid configuration for production/)
    }
  })

  it('runs the demo on PostgreSQL when asked to, never with NODE_ENV=production', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://127.0.0.1/sportello', SPORTELLO_DEMO: '1' })
    expect(c.mode).toBe('demo')
    expect(c.pspSandbox && c.devMail && c.seedDemo).toBe(true)
    expect(refusal({ ...PRODUCTION, NODE_ENV: 'production', SPORTELLO_DEMO: '1' })).toMatch(
      /SPORTELLO_DEMO: cannot be set with NODE_ENV=production/,
    )
  })

  it('names every missing setting in one message', () => {
    const message = refusal({ DATABASE_URL: 'postgres://127.0.0.1/sportello' })
    for (const name of [
      'SESSION_SECRET',
      'BASE_URL',
      'SMTP_URL',
      'PAYMENT_PROVIDER',
      'PAGOPA_CHECKOUT_URL',
      'PAGOPA_CHECKOUT_KEY',
      'PAGOPA_NODE_KEY',
    ]) {
      expect(message).toMatch(new RegExp(`^  ${name}: is required in production`, 'm'))
    }
    // each one alone is named too
    for (const name of Object.keys(PRODUCTION).filter((k) => k !== 'DATABASE_URL')) {
      expect(refusal({ ...PRODUCTION, [name]: undefined })).toMatch(new RegExp(`^  ${name}: `, 'm'))
    }
  })

  it('lists a value that does not parse together with the missing ones', () => {
    const message = refusal({ DATABASE_URL: 'postgres://127.0.0.1/sportello', SESSION_SECRET: 'short' })
    expect(message).toMatch(/SESSION_SECRET: must be at least 32 characters/)
    expect(message).toMatch(/BASE_URL: is required in production/)
    expect(message.match(/SESSION_SECRET/g)).toHaveLength(1)
  })

  it('refuses the built-in and published secrets', () => {
    for (const [name, value] of [
      ['SESSION_SECRET', 'development-only-secret-do-not-use-in-production'],
      ['SESSION_SECRET', 'benchmark-only-session-secret-0123456789abcdef'],
      ['SESSION_SECRET', 'x'.repeat(40)],
      ['SESSION_SECRET', 'change-me-change-me-change-me-change-me'],
      ['PAGOPA_NODE_KEY', 'chiave-demo-del-nodo-locale'],
      ['PAGOPA_NODE_KEY', `${PRODUCTION.PAGOPA_NODE_KEY},chiave-demo-del-nodo-locale`],
      ['PAGOPA_CHECKOUT_KEY', 'sottoscrizione-checkout-di-prova'],
      ['OIDC_CLIENT_SECRET', 'changeme'],
    ] as const) {
      const env = { ...PRODUCTION, [name]: value }
      if (name === 'OIDC_CLIENT_SECRET')
        Object.assign(env, { OIDC_ISSUER: 'https://id.example.it', OIDC_CLIENT_ID: 'c' })
      expect(refusal(env), value).toMatch(new RegExp(`^  ${name}: is a built-in or example value`, 'm'))
    }
    expect(isKnownSecret(PRODUCTION.SESSION_SECRET)).toBe(false)
  })

  it('refuses production without a real payment provider', () => {
    expect(refusal({ ...PRODUCTION, PAYMENT_PROVIDER: undefined })).toMatch(
      /PAYMENT_PROVIDER: is required in production: pagopa-checkout/,
    )
    expect(refusal({ ...PRODUCTION, PAYMENT_PROVIDER: 'sandbox' })).toMatch(
      /PAYMENT_PROVIDER: must be pagopa-checkout in production/,
    )
    expect(refusal({ ...PRODUCTION, PAGOPA_CHECKOUT_URL: 'http://checkout.example.it' })).toMatch(
      /PAGOPA_CHECKOUT_URL: must use https in production/,
    )
  })

  it('refuses the sandbox, the mailbox and the demo seed in production', () => {
    const message = refusal({ ...PRODUCTION, PSP_SANDBOX: '1', DEV_MAIL: 'true', SEED_DEMO: 'yes' })
    expect(message).toMatch(/PSP_SANDBOX: cannot be on in production/)
    expect(message).toMatch(/DEV_MAIL: cannot be on in production/)
    expect(message).toMatch(/SEED_DEMO: cannot be on in production/)
  })

  it('keeps the sandbox and the mailbox off in tests unless switched on', () => {
    const off = loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgres://127.0.0.1/x' })
    expect(off.mode).toBe('test')
    expect(off.pspSandbox || off.devMail || off.production).toBe(false)
    const on = loadConfig({ NODE_ENV: 'test', PSP_SANDBOX: '1', DEV_MAIL: '1' })
    expect(on.pspSandbox && on.devMail).toBe(true)
  })

  it('a demo paying through the sandbox keeps the sandbox on', () => {
    expect(refusal({ PSP_SANDBOX: '0' })).toMatch(/PSP_SANDBOX: the demo pays through the sandbox/)
    expect(loadConfig({ DEV_MAIL: '0' }).devMail).toBe(false)
  })
})
