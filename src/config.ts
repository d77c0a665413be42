// The environment, parsed once. A bad value stops start-up with a message naming the variable.
// It also decides, once, whether this is the demo or production (docs/operations.md): `npm start` with nothing
// set (embedded PGlite in ./data) is the demo; DATABASE_URL or NODE_ENV=production make it production unless
// SPORTELLO_DEMO=1 says otherwise; production refuses to start while a setting it needs is missing or built in.
import { createHmac } from 'node:crypto'
import { z } from 'zod'

const bool = z.enum(['1', '0', 'true', 'false', 'yes', 'no']).transform((v) => v === '1' || v === 'true' || v === 'yes')

/** The secret the demo and the tests run with when SESSION_SECRET is unset: public, so never in production. */
const BUILT_IN_SECRET = 'development-only-secret-do-not-use-in-production'

/**
 * Values published in this repository (source, README, docs, benchmark): whoever read them could sign
 * sessions, links or notifications, so production refuses them.
 */
const KNOWN_SECRETS = new Set([
  BUILT_IN_SECRET,
  'benchmark-only-session-secret-0123456789abcdef',
  'chiave-demo-del-nodo-locale',
  'sottoscrizione-checkout-di-prova',
])

/** A built-in, example or placeholder value rather than a generated one. */
export function isKnownSecret(value: string): boolean {
  return (
    KNOWN_SECRETS.has(value) ||
    /change[-_ ]?me|do[-_ ]?not[-_ ]?use|placeholder|example|^(secret|password|test|demo)$/i.test(value) ||
    // "xxxxxxxx…", "aaaa1111…": a generated key of this length uses many more distinct characters
    new Set(value).size < 8
  )
}

export type Mode = 'demo' | 'production' | 'test'

/**
 * test: NODE_ENV=test (the test suite). production: NODE_ENV=production, or DATABASE_URL set without
 * SPORTELLO_DEMO=1, or SPORTELLO_DEMO=0. demo: everything else (the embedded database, or SPORTELLO_DEMO=1).
 */
export function modeOf(nodeEnv: string | undefined, demo: boolean | undefined, databaseUrl: string | undefined): Mode {
  if (nodeEnv === 'test') return 'test'
  if (nodeEnv === 'production') return 'production'
  return (demo ?? !databaseUrl) ? 'demo' : 'production'
}

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    SPORTELLO_DEMO: bool.optional(),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    DATABASE_APP_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
    DATA_DIR: z.string().min(1).default('./data'),
    SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    PSP_SANDBOX_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** encrypts the secrets bodies store (API keys, client certificates' keys): at least 32 characters */
    SECRETS_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    /** the sandbox payment provider and its API under /sandbox-psp (default: on in the demo only) */
    PSP_SANDBOX: bool.optional(),
    /** the development mailbox /dev/mail (default: on in the demo only) */
    DEV_MAIL: bool.optional(),
    // read here only to decide whether production has a real payment provider; parsed in full by
    // src/features/pagopa/config.ts
    PAYMENT_PROVIDER: z.enum(['sandbox', 'pagopa-checkout']).optional(),
    SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
    MAIL_FROM: z.string().min(3).default('Sportello <noreply@sportello.localhost>'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    TENANTS_DIR: z.string().min(1).default('./tenants'),
    SEED_DEMO: bool.optional(),
    JOBS: bool.default(true),
    // how many reverse proxies stand in front (each appends the address it saw to X-Forwarded-For): 0 for none;
    // true/yes count as 1, false/no as 0
    TRUST_PROXY: z
      .union([
        z.enum(['true', 'yes', 'false', 'no']),
        z.string().regex(/^\d{1,2}$/, 'must be a number of proxies (0-10) or true/false'),
      ])
      .transform((v) => (v === 'true' || v === 'yes' ? 1 : v === 'false' || v === 'no' ? 0 : Number(v)))
      .pipe(z.number().int().min(0).max(10))
      .default(0),
    // bounded waits on PostgreSQL (docs/operations.md "When the database fails")
    DATABASE_CONNECT_TIMEOUT: z.coerce.number().int().min(1).max(120).default(5),
    DATABASE_STATEMENT_TIMEOUT: z.coerce.number().int().min(1).max(3600).default(60),
    DATABASE_STALL_RENEW: z.coerce.number().int().min(1).max(3600).default(10),
    // memory all uploads larger than a form may hold at once, in MB (src/platform/body-limit.ts)
    UPLOAD_MEMORY_MB: z.coerce.number().int().min(16).max(4096).default(160),
    OIDC_ISSUER: z.url({ protocol: /^https?$/ }).optional(),
    OIDC_CLIENT_ID: z.string().min(1).optional(),
    OIDC_CLIENT_SECRET: z.string().min(1).optional(),
    OIDC_FISCAL_CLAIM: z.string().min(1).default('fiscal_number'),
    OIDC_LABEL: z.enum(['spid', 'cie', 'spid-cie']).default('spid-cie'),
    OIDC_SCOPE: z.string().min(1).default('openid profile email'),
  })
  .transform((env, ctx) => {
    if (env.OIDC_ISSUER && !env.OIDC_CLIENT_ID) {
      ctx.addIssue({ code: 'custom', path: ['OIDC_CLIENT_ID'], message: 'is required when OIDC_ISSUER is set' })
    }
    const mode = modeOf(env.NODE_ENV, env.SPORTELLO_DEMO, env.DATABASE_URL)
    const production = mode === 'production'
    const demo = mode === 'demo'
    const paymentProvider = env.PAYMENT_PROVIDER ?? 'sandbox'
    // In the demo the sandbox and the mailbox are on unless switched off; in tests only when switched on;
    // in production never (productionProblems refuses the switches).
    const pspSandbox = !production && (env.PSP_SANDBOX ?? demo)
    const devMail = !production && (env.DEV_MAIL ?? demo)
    if (demo && paymentProvider === 'sandbox' && !pspSandbox) {
      ctx.addIssue({
        code: 'custom',
        path: ['PSP_SANDBOX'],
        message: 'the demo pays through the sandbox: leave PSP_SANDBOX on or set PAYMENT_PROVIDER=pagopa-checkout',
      })
    }
    const baseUrl = (env.BASE_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '')
    return {
      env: env.NODE_ENV,
      /** demo, production or test: see modeOf */
      mode,
      production,
      demo,
      host: env.HOST,
      port: env.PORT,
      baseUrl,
      secureCookies: baseUrl.startsWith('https://'),
      databaseUrl: env.DATABASE_URL,
      databaseAppUrl: env.DATABASE_APP_URL,
      poolMax: env.DATABASE_POOL_MAX,
      dataDir: env.DATA_DIR,
      // The demo and the tests get a fixed, public key so sessions survive restarts; production refuses it.
      sessionSecret: env.SESSION_SECRET ?? BUILT_IN_SECRET,
      // The sandbox payment provider's signing key; by default derived from the session secret.
      pspSandboxSecret:
        env.PSP_SANDBOX_SECRET ??
        createHmac('sha256', env.SESSION_SECRET ?? BUILT_IN_SECRET)
          .update('sandbox-psp')
          .digest('hex'),
      // The key that seals the secrets bodies store (src/platform/secrets.ts); derived like the sandbox's in the
      // demo and the tests, required in production.
      secretsKey:
        env.SECRETS_KEY ??
        createHmac('sha256', env.SESSION_SECRET ?? BUILT_IN_SECRET)
          .update('stored-secrets')
          .digest('hex'),
      /** the sandbox provider's API and pages under /sandbox-psp exist (else 404) */
      pspSandbox,
      /** the development mailbox /dev/mail exists (else 404) */
      devMail,
      /** which payment provider the server selects (src/features/pagopa/provider.ts) */
      paymentProvider,
      smtpUrl: env.SMTP_URL,
      mailFrom: env.MAIL_FROM,
      logLevel: env.LOG_LEVEL,
      tenantsDir: env.TENANTS_DIR,
      seedDemo: env.SEED_DEMO ?? demo,
      jobs: env.JOBS,
      /** the number of trusted proxy hops in front of the server (0: none, X-Forwarded-For is ignored) */
      trustProxy: env.TRUST_PROXY,
      /** seconds to open a connection to PostgreSQL before it counts as failed */
      databaseConnectTimeoutSeconds: env.DATABASE_CONNECT_TIMEOUT,
      /** the server's statement_timeout and idle_in_transaction_session_timeout for the application's pool (ms) */
      databaseStatementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT * 1000,
      /** after a stall this long the pools are renewed (ms) */
      databaseStallRenewMs: env.DATABASE_STALL_RENEW * 1000,
      /** bytes all uploads larger than a form may hold together (UploadBudget) */
      uploadMemoryBytes: env.UPLOAD_MEMORY_MB * 1024 * 1024,
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

type Problem = { name: string; message: string }

/**
 * What production lacks, each setting named: read from the raw environment, so that every problem is listed
 * in one message even when some value also fails to parse.
 */
function flagOf(env: Record<string, string>, name: string): boolean | undefined {
  const r = bool.safeParse(env[name])
  return r.success ? r.data : undefined
}

function rawMode(env: Record<string, string>): Mode {
  return modeOf(env.NODE_ENV, flagOf(env, 'SPORTELLO_DEMO'), env.DATABASE_URL)
}

export function productionProblems(env: Record<string, string>): Problem[] {
  if (rawMode(env) !== 'production') return []
  const flag = (name: string) => flagOf(env, name)
  const problems: Problem[] = []
  const add = (name: string, message: string) => problems.push({ name, message })
  const secret = (name: string, why: string) => {
    const v = env[name]
    if (!v) add(name, `is required in production (${why})`)
    else if (isKnownSecret(v)) add(name, 'is a built-in or example value: generate a new one (openssl rand -base64 48)')
  }

  if (flag('SPORTELLO_DEMO'))
    add('SPORTELLO_DEMO', 'cannot be set with NODE_ENV=production: the demo is never production')
  secret('SESSION_SECRET', 'signs sessions, links and forms; at least 32 random characters')
  secret('SECRETS_KEY', 'encrypts the API keys and certificates bodies store; at least 32 random characters')
  if (!env.BASE_URL)
    add('BASE_URL', 'is required in production (the public address, e.g. https://pagamenti.example.it)')
  if (!env.SMTP_URL) add('SMTP_URL', 'is required in production (password resets, receipts and notices go by mail)')
  // the sandbox moves no money: production pays through pagoPA Checkout, whose receipts come through the node
  if (env.PAYMENT_PROVIDER !== 'pagopa-checkout') {
    add(
      'PAYMENT_PROVIDER',
      env.PAYMENT_PROVIDER
        ? `must be pagopa-checkout in production (${env.PAYMENT_PROVIDER} moves no real money)`
        : 'is required in production: pagopa-checkout (the sandbox provider moves no real money)',
    )
  }
  if (!env.PAGOPA_CHECKOUT_URL) add('PAGOPA_CHECKOUT_URL', 'is required in production (the pagoPA Checkout API)')
  else if (!env.PAGOPA_CHECKOUT_URL.startsWith('https:')) add('PAGOPA_CHECKOUT_URL', 'must use https in production')
  secret('PAGOPA_CHECKOUT_KEY', 'the pagoPA Checkout subscription key')
  const nodeKeys = (env.PAGOPA_NODE_KEY ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean)
  if (!nodeKeys.length) add('PAGOPA_NODE_KEY', 'is required in production (the pagoPA node delivers the receipts)')
  else if (nodeKeys.some(isKnownSecret))
    add('PAGOPA_NODE_KEY', 'is a built-in or example value: use the key registered for the station')
  if (env.OIDC_CLIENT_SECRET && isKnownSecret(env.OIDC_CLIENT_SECRET))
    add('OIDC_CLIENT_SECRET', 'is a built-in or example value')
  if (env.OIDC_ISSUER?.startsWith('http:')) add('OIDC_ISSUER', 'must use https in production')
  if (flag('PSP_SANDBOX')) add('PSP_SANDBOX', 'cannot be on in production (the sandbox provider takes any test card)')
  if (flag('DEV_MAIL')) add('DEV_MAIL', 'cannot be on in production (/dev/mail shows every mail, reset links included)')
  if (flag('SEED_DEMO')) add('SEED_DEMO', 'cannot be on in production (the demo accounts have published passwords)')
  return problems
}

export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset, as shells and .env files often produce them.
  const cleaned = Object.fromEntries(
    Object.entries(source).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''),
  )
  const parsed = schema.safeParse(cleaned)
  const problems: Problem[] = parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ name: i.path.join('.') || '(environment)', message: i.message }))
  // one line per setting: a value that does not parse is not also reported as a weak one
  for (const p of productionProblems(cleaned)) if (!problems.some((q) => q.name === p.name)) problems.push(p)
  if (problems.length || !parsed.success) {
    const head =
      rawMode(cleaned) === 'production'
        ? 'Invalid configuration for production (see docs/operations.md; SPORTELLO_DEMO=1 runs the demo instead):'
        : 'Invalid configuration:'
    throw new ConfigError(`${head}\n${problems.map((p) => `  ${p.name}: ${p.message}`).join('\n')}`)
  }
  return parsed.data
}
