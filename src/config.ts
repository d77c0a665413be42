// The environment, parsed once. A bad value stops start-up with a message naming the variable.
import { createHmac } from 'node:crypto'
import { z } from 'zod'

const bool = z.enum(['1', '0', 'true', 'false', 'yes', 'no']).transform((v) => v === '1' || v === 'true' || v === 'yes')

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    DATABASE_APP_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
    DATA_DIR: z.string().min(1).default('./data'),
    SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    PSP_SANDBOX_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
    MAIL_FROM: z.string().min(3).default('Sportello <noreply@sportello.localhost>'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    TENANTS_DIR: z.string().min(1).default('./tenants'),
    SEED_DEMO: bool.optional(),
    JOBS: bool.default(true),
    TRUST_PROXY: bool.default(false),
    OIDC_ISSUER: z.url({ protocol: /^https?$/ }).optional(),
    OIDC_CLIENT_ID: z.string().min(1).optional(),
    OIDC_CLIENT_SECRET: z.string().min(1).optional(),
    OIDC_FISCAL_CLAIM: z.string().min(1).default('fiscal_number'),
    OIDC_LABEL: z.enum(['spid', 'cie', 'spid-cie']).default('spid-cie'),
    OIDC_SCOPE: z.string().min(1).default('openid profile email'),
  })
  .transform((env, ctx) => {
    const production = env.NODE_ENV === 'production'
    if (production && !env.SESSION_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['SESSION_SECRET'], message: 'is required in production' })
    }
    if (production && !env.BASE_URL) {
      ctx.addIssue({ code: 'custom', path: ['BASE_URL'], message: 'is required in production' })
    }
    if (env.OIDC_ISSUER && !env.OIDC_CLIENT_ID) {
      ctx.addIssue({ code: 'custom', path: ['OIDC_CLIENT_ID'], message: 'is required when OIDC_ISSUER is set' })
    }
    if (production && env.OIDC_ISSUER?.startsWith('http:')) {
      ctx.addIssue({ code: 'custom', path: ['OIDC_ISSUER'], message: 'must use https in production' })
    }
    const baseUrl = (env.BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '')
    return {
      env: env.NODE_ENV,
      production,
      host: env.HOST,
      port: env.PORT,
      baseUrl,
      secureCookies: baseUrl.startsWith('https://'),
      databaseUrl: env.DATABASE_URL,
      databaseAppUrl: env.DATABASE_APP_URL,
      poolMax: env.DATABASE_POOL_MAX,
      dataDir: env.DATA_DIR,
      // Development and tests get a fixed, clearly non-secret key so sessions survive restarts.
      sessionSecret: env.SESSION_SECRET ?? 'development-only-secret-do-not-use-in-production',
      // The sandbox payment provider's signing key; by default derived from the session secret.
      pspSandboxSecret:
        env.PSP_SANDBOX_SECRET ??
        createHmac('sha256', env.SESSION_SECRET ?? 'development-only-secret-do-not-use-in-production')
          .update('sandbox-psp')
          .digest('hex'),
      smtpUrl: env.SMTP_URL,
      mailFrom: env.MAIL_FROM,
      logLevel: env.LOG_LEVEL,
      tenantsDir: env.TENANTS_DIR,
      seedDemo: env.SEED_DEMO ?? !production,
      jobs: env.JOBS,
      trustProxy: env.TRUST_PROXY,
      // SPID / CIE through an OpenID Connect provider (src/features/oidc); null when not configured
      oidc: env.OIDC_ISSUER
        ? {
            issuer: env.OIDC_ISSUER,
            clientId: env.OIDC_CLIENT_ID ?? '',
            clientSecret: env.OIDC_CLIENT_SECRET,
            fiscalClaim: env.OIDC_FISCAL_CLAIM,
            label: env.OIDC_LABEL,
            scope: env.OIDC_SCOPE,
          }
        : null,
    }
  })

export type Config = z.output<typeof schema>

export class ConfigError extends Error {}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset, as shells and .env files often produce them.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = schema.safeParse(cleaned)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(environment)'}: ${i.message}`)
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`)
  }
  return parsed.data
}
