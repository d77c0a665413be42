// pagoPA settings from the environment, parsed with zod like src/config.ts (read here because that file belongs
// to the platform; a bad value stops start-up through selectProvider, naming the variable).
import { z } from 'zod'

const schema = z.object({
  /** the node's subscription key(s); several, comma-separated, while rotating. Unset: interface disabled (404) */
  PAGOPA_NODE_KEY: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().min(16, 'each key must be at least 16 characters')).min(1))
    .optional(),
  /** when set, idBrokerPA must be this (the technology partner's fiscal code); else any broker is accepted */
  PAGOPA_BROKER_ID: z.string().min(1).max(35).optional(),
  /** when set, idStation must be one of these (comma-separated) */
  PAGOPA_STATION_ID: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    )
    .optional(),
  PAYMENT_PROVIDER: z.enum(['sandbox', 'pagopa-checkout']).default('sandbox'),
  /** e.g. https://api.platform.pagopa.it/checkout/ec/v2 (the cart endpoint is POST {url}/carts) */
  PAGOPA_CHECKOUT_URL: z.url({ protocol: /^https?$/ }).optional(),
  PAGOPA_CHECKOUT_KEY: z.string().min(1).optional(),
})

export interface PagopaConfig {
  nodeKeys: string[]
  brokerId: string | null
  stationIds: string[]
  provider: 'sandbox' | 'pagopa-checkout'
  checkoutUrl: string | null
  checkoutKey: string | null
}

export class PagopaConfigError extends Error {}

export function loadPagopaConfig(source: Record<string, string | undefined> = process.env): PagopaConfig {
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([k, v]) => v !== undefined && v !== '' && k in schema.shape),
  )
  const r = schema.safeParse(cleaned)
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new PagopaConfigError(`Invalid pagoPA configuration:\n${lines.join('\n')}`)
  }
  const e = r.data
  if (e.PAYMENT_PROVIDER === 'pagopa-checkout' && (!e.PAGOPA_CHECKOUT_URL || !e.PAGOPA_CHECKOUT_KEY)) {
    throw new PagopaConfigError(
      'Invalid pagoPA configuration:\n  PAGOPA_CHECKOUT_URL, PAGOPA_CHECKOUT_KEY: required with PAYMENT_PROVIDER=pagopa-checkout',
    )
  }
  return {
    nodeKeys: e.PAGOPA_NODE_KEY ?? [],
    brokerId: e.PAGOPA_BROKER_ID ?? null,
    stationIds: e.PAGOPA_STATION_ID ?? [],
    provider: e.PAYMENT_PROVIDER,
    checkoutUrl: e.PAGOPA_CHECKOUT_URL?.replace(/\/+$/, '') ?? null,
    checkoutKey: e.PAGOPA_CHECKOUT_KEY ?? null,
  }
}

let cached: { raw: string; config: PagopaConfig } | null = null

/** The configuration as the environment says now (re-read when it changes, so tests can switch it). */
export function pagopaConfig(): PagopaConfig {
  const raw = Object.keys(schema.shape)
    .map((k) => `${k}=${process.env[k] ?? ''}`)
    .join('\n')
  if (cached?.raw !== raw) cached = { raw, config: loadPagopaConfig() }
  return cached.config
}
