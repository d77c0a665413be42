// The PaymentProvider for the sandbox PSP: calls its API over HTTP at config.baseUrl, like a real provider's
// client would, and verifies its signed notifications.
import type { Config } from '../../config.ts'
import { HttpError } from '../../platform/errors.ts'
import type {
  PaymentProvider,
  ProviderNotification,
  ProviderState,
  StartRequest,
} from '../../platform/payment-provider.ts'
import { notificationBodySchema, startResultSchema, statusResultSchema } from './schema.ts'
import { apiToken, SIGNATURE_HEADER, verifySignature } from './signature.ts'

/** The provider did not answer as it should: a calm 503 for the citizen (nothing was charged; try again). */
export class ProviderError extends HttpError {
  constructor(message: string) {
    super(503, 'errors.paymentProvider', message)
  }
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

function header(headers: Record<string, string | undefined>, name: string): string | undefined {
  const lower = name.toLowerCase()
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === lower) return v
  return undefined
}

/**
 * config.baseUrl is read at every call (a test server learns its port after the app is built).
 * `now` is for tests of the notification time window.
 */
export function createSandboxProvider(
  config: Pick<Config, 'baseUrl' | 'pspSandboxSecret'>,
  fetchImpl: FetchLike = fetch,
  now: () => number = Date.now,
): PaymentProvider {
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
    let res: Response
    try {
      res = await fetchImpl(`${config.baseUrl}/sandbox-psp/api${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${apiToken(config.pspSandboxSecret)}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      })
    } catch (err) {
      throw new ProviderError(`sandbox psp unreachable: ${err instanceof Error ? err.message : String(err)}`)
    }
    const text = await res.text()
    if (!res.ok) throw new ProviderError(`sandbox psp ${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`)
    try {
      return JSON.parse(text)
    } catch {
      throw new ProviderError(`sandbox psp ${method} ${path}: not JSON`)
    }
  }

  /** A session's state as the API answers it (status, and the answer to a cancel). */
  const sessionState = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<ProviderState> => {
    const r = statusResultSchema.safeParse(await call(method, path, body))
    if (!r.success) throw new ProviderError(`sandbox psp: unexpected answer to ${method} ${path}`)
    return {
      status: r.data.status,
      amountCents: r.data.amountCents,
      authCode: r.data.authCode,
      cardMask: r.data.cardMask,
    }
  }

  return {
    name: 'sandbox',

    async start(req: StartRequest) {
      const r = startResultSchema.safeParse(await call('POST', '/sessions', req))
      if (!r.success) throw new ProviderError('sandbox psp: unexpected start response')
      return { providerRef: r.data.providerRef, redirectUrl: r.data.redirectUrl, expiresAt: new Date(r.data.expiresAt) }
    },

    status: (providerRef: string) => sessionState('GET', `/sessions/${encodeURIComponent(providerRef)}`),

    cancel: (providerRef: string) => sessionState('POST', `/sessions/${encodeURIComponent(providerRef)}/cancel`, {}),

    verifyNotification(rawBody: string, headers: Record<string, string | undefined>): ProviderNotification | null {
      if (!verifySignature(config.pspSandboxSecret, rawBody, header(headers, SIGNATURE_HEADER), now())) return null
      let json: unknown
      try {
        json = JSON.parse(rawBody)
      } catch {
        return null
      }
      const r = notificationBodySchema.safeParse(json)
      if (!r.success) return null
      return { ...r.data, occurredAt: new Date(r.data.occurredAt) }
    },
  }
}
