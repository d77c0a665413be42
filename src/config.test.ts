import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.ts'

describe('loadConfig', () => {
  it('has working defaults for the demo', () => {
    const c = loadConfig({})
    expect(c.port).toBe(3000)
    expect(c.databaseUrl).toBeUndefined()
    expect(c.dataDir).toBe('./data')
    expect(c.baseUrl).toBe('http://localhost:3000')
    expect(c.seedDemo).toBe(true)
  })

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/PORT/)
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/)
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/)
    expect(() => loadConfig({ SMTP_URL: 'not a url' })).toThrow(ConfigError)
  })

  it('demands a session secret and base URL in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /SESSION_SECRET[\s\S]*BASE_URL|BASE_URL[\s\S]*SESSION_SECRET/,
    )
    const c = loadConfig({
      NODE_ENV: 'production',
      SESSION_SECRET: 'x'.repeat(40),
      BASE_URL: 'https://pagamenti.example.it/',
    })
    expect(c.secureCookies).toBe(true)
    expect(c.baseUrl).toBe('https://pagamenti.example.it')
    expect(c.seedDemo).toBe(false)
  })
})
