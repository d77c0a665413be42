// A body's connection to pagoPA's REST services (the central archive, the reporting flows) and to IO, per
// environment (decision 0100): base URLs, subscription keys sealed under SECRETS_KEY, an optional client
// certificate for mutual TLS; and the one HTTP client every call goes through, with timeouts, a bounded answer,
// and nothing secret in what it logs or returns.
import { rootCertificates } from 'node:tls'
import type { Logger } from 'pino'
import { Agent, request } from 'undici'
import type { Tx } from '../../platform/db.ts'
import { lastFour, type Sealer } from '../../platform/secrets.ts'
import type { Tenant } from '../../platform/tenancy.ts'

export const ENVIRONMENTS = ['collaudo', 'esercizio'] as const
export type Environment = (typeof ENVIRONMENTS)[number]
export type RestService = 'aca' | 'fdr' | 'io'

/** pagoPA's published base addresses (UAT for collaudo), used when the body leaves a URL empty. */
export const DEFAULT_URLS: Record<Environment, Record<RestService, string>> = {
  collaudo: {
    aca: 'https://api.uat.platform.pagopa.it/aca/debt-positions-service/v1',
    fdr: 'https://api.uat.platform.pagopa.it/fdr-org/service/v1',
    io: 'https://api.io.pagopa.it/api/v1',
  },
  esercizio: {
    aca: 'https://api.platform.pagopa.it/aca/debt-positions-service/v1',
    fdr: 'https://api.platform.pagopa.it/fdr-org/service/v1',
    io: 'https://api.io.pagopa.it/api/v1',
  },
}

export interface ConnectionRow {
  environment: Environment
  aca_url: string | null
  aca_key: string | null
  aca_key_last4: string | null
  fdr_url: string | null
  fdr_key: string | null
  fdr_key_last4: string | null
  io_url: string | null
  client_cert: string | null
  client_key: string | null
  tested_at: Date | null
  test_result: TestResult | null
  updated_at: Date
}

export type TestResult = Partial<Record<RestService, { ok: boolean; status: number | null; detail: string }>>

/** What a call needs: the addresses and the keys, opened. */
export interface Connection {
  environment: Environment
  urls: Record<RestService, string>
  keys: Partial<Record<'aca' | 'fdr', string>>
  /** the client certificate for mutual TLS; `ca`: certificates to trust for the server beside Node's own (a
   * private test environment) */
  tls: { cert: string; key: string; ca?: string } | null
}

export const secretContext = (tenant: Pick<Tenant, 'id'>, env: Environment, field: string) =>
  `tenant:${tenant.id}:pagopa:${env}:${field}`

export async function loadConnectionRows(tx: Tx): Promise<ConnectionRow[]> {
  return tx<ConnectionRow[]>`select * from pagopa_connections order by environment`
}

export async function activeEnvironment(tx: Tx): Promise<Environment> {
  const [row] = await tx<{ environment: Environment }[]>`select environment from pagopa_settings where id = 1`
  return row?.environment ?? 'collaudo'
}

/** IO's address for the environment in use (IO's keys are the services', not the connection's), in one query. */
export async function currentIoUrl(tx: Tx): Promise<string> {
  const [row] = await tx<{ environment: Environment; io_url: string | null }[]>`
    select e.environment, c.io_url
    from (select coalesce((select environment from pagopa_settings where id = 1), 'collaudo') as environment) e
      left join pagopa_connections c on c.environment = e.environment`
  const env = row?.environment ?? 'collaudo'
  return row?.io_url ?? DEFAULT_URLS[env].io
}

/** The connection of one environment with its keys opened; null when the body has configured nothing there. */
export function openConnection(
  tenant: Pick<Tenant, 'id'>,
  row: ConnectionRow | undefined,
  sealer: Sealer,
  env: Environment,
): Connection | null {
  if (!row) return null
  const open = (value: string | null, field: string) =>
    value ? sealer.open(value, secretContext(tenant, env, field)) : null
  const aca = open(row.aca_key, 'aca_key')
  const fdr = open(row.fdr_key, 'fdr_key')
  const clientKey = open(row.client_key, 'client_key')
  return {
    environment: env,
    urls: {
      aca: row.aca_url ?? DEFAULT_URLS[env].aca,
      fdr: row.fdr_url ?? DEFAULT_URLS[env].fdr,
      io: row.io_url ?? DEFAULT_URLS[env].io,
    },
    keys: { ...(aca ? { aca } : {}), ...(fdr ? { fdr } : {}) },
    tls: row.client_cert && clientKey ? { cert: row.client_cert, key: clientKey } : null,
  }
}

/** The connection in use (the environment the settings name), or null. */
export async function currentConnection(tx: Tx, tenant: Pick<Tenant, 'id'>, sealer: Sealer) {
  const [env, rows] = await Promise.all([activeEnvironment(tx), loadConnectionRows(tx)])
  return openConnection(
    tenant,
    rows.find((r) => r.environment === env),
    sealer,
    env,
  )
}

export { lastFour }

/** What a job's pass over one tenant's calls to pagoPA or IO is given. */
export interface PassOptions {
  /** SECRETS_KEY (config.secretsKey), to open the keys */
  secretsKey: string
  log: Logger
  /** the pass's time (tests move it past a backoff) */
  now?: Date
}

/** When a failed call is tried again: 1, 5, 15, 60 minutes after the first failures, then every 6 hours. */
export function retryAt(now: Date, attempts: number): Date {
  const minutes = [1, 5, 15, 60][attempts - 1] ?? 360
  return new Date(now.getTime() + minutes * 60_000)
}

/** pagoPA could not be reached, or answered with a server error: the call is retried later. */
export class Unreachable extends Error {}

export interface RestAnswer {
  status: number
  body: unknown
}

const MAX_ANSWER = 8 * 1024 * 1024
const TIMEOUT_MS = 15_000
const agents = new Map<string, Agent>()

function agentFor(tls: Connection['tls']): Agent | undefined {
  if (!tls) return undefined
  const k = `${tls.cert}\u0000${tls.key}\u0000${tls.ca ?? ''}`
  let a = agents.get(k)
  if (!a) {
    a = new Agent({
      connect: { cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: [...rootCertificates, tls.ca] } : {}) },
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    })
    agents.set(k, a)
  }
  return a
}

/**
 * One call to a pagoPA or IO REST service. The key travels in Ocp-Apim-Subscription-Key; answers are read up to
 * 8 MB; a network failure or a timeout throws Unreachable. The caller decides what a 4xx or 5xx means.
 */
export async function restCall(
  conn: Pick<Connection, 'urls' | 'tls'>,
  service: RestService,
  opts: {
    method: 'GET' | 'POST' | 'PUT' | 'DELETE'
    path: string
    key: string
    query?: Record<string, string>
    body?: unknown
  },
): Promise<RestAnswer> {
  const url = new URL(`${conn.urls[service].replace(/\/+$/, '')}${opts.path}`)
  for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v)
  const dispatcher = agentFor(conn.tls)
  let res: Awaited<ReturnType<typeof request>>
  try {
    res = await request(url, {
      method: opts.method,
      headers: {
        accept: 'application/json',
        'ocp-apim-subscription-key': opts.key,
        ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
      ...(dispatcher ? { dispatcher } : {}),
    })
  } catch (err) {
    throw new Unreachable(`${service} ${opts.method} ${url.pathname}: ${(err as Error).message}`)
  }
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length
      if (size > MAX_ANSWER) {
        res.body.destroy()
        throw new Unreachable(`${service} ${opts.method} ${url.pathname}: the answer exceeds ${MAX_ANSWER} bytes`)
      }
      chunks.push(chunk as Buffer)
    }
  } catch (err) {
    if (err instanceof Unreachable) throw err
    throw new Unreachable(`${service} ${opts.method} ${url.pathname}: ${(err as Error).message}`)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  let body: unknown = text
  try {
    body = text ? JSON.parse(text) : null
  } catch {
    // not JSON: kept as text for the message
  }
  return { status: res.statusCode, body }
}

/** A short, secret-free description of an answer, for the office and the logs. */
export function describeAnswer(a: RestAnswer): string {
  const b = a.body as Record<string, unknown> | null
  const detail =
    b && typeof b === 'object'
      ? String(b.detail ?? b.message ?? b.title ?? b.httpStatusDescription ?? JSON.stringify(b).slice(0, 200))
      : String(a.body ?? '').slice(0, 200)
  return `HTTP ${a.status}${detail ? `: ${detail}` : ''}`.slice(0, 500)
}
