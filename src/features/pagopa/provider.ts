// Which payment provider this instance uses: PAYMENT_PROVIDER=sandbox (the default, the demo's) or
// pagopa-checkout. Also checks the pagoPA variables at start-up, so a bad value stops the server with a
// message naming it.
import type { Config } from '../../config.ts'
import type { Db } from '../../platform/db.ts'
import type { PaymentProvider } from '../../platform/payment-provider.ts'
import { createSandboxProvider } from '../psp/sandbox.ts'
import { createCheckoutProvider } from './checkout.ts'
import { loadPagopaConfig } from './config.ts'

export function selectProvider(
  config: Config,
  db: Db,
  env: Record<string, string | undefined> = process.env,
): PaymentProvider {
  const pagopa = loadPagopaConfig(env)
  if (pagopa.provider === 'pagopa-checkout') return createCheckoutProvider(db, config, pagopa)
  return createSandboxProvider(config)
}
