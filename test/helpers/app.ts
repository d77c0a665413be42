// The application wired for tests: real database, quiet logs, no caches that hide a change.

import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createApp } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { createSandboxProvider } from '../../src/features/psp/sandbox.ts'
import { Assets } from '../../src/platform/assets.ts'
import type { Db } from '../../src/platform/db.ts'
import type { Deps } from '../../src/platform/http.ts'
import { createLogger } from '../../src/platform/log.ts'
import { TenantRegistry } from '../../src/platform/tenancy.ts'

let assets: Assets | undefined

export function testDeps(db: Db, env: Record<string, string> = {}): Deps {
  assets ??= new Assets()
  // Test mode has the sandbox provider and /dev/mail off, as production does; the suite switches them on here
  // (a test of the defaults passes PSP_SANDBOX: '0', DEV_MAIL: '0').
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', PSP_SANDBOX: '1', DEV_MAIL: '1', ...env })
  return {
    config,
    provider: createSandboxProvider(config),
    db,
    tenants: new TenantRegistry(db, 0),
    assets,
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    // tests drain the outbox themselves, when they choose to
    kickMail: () => {},
  }
}

export function testApp(db: Db, env: Record<string, string> = {}) {
  const deps = testDeps(db, env)
  return { app: createApp(deps), deps }
}

/** Serves the app on a free loopback port, for browser tests. */
export async function startServer(db: Db, env: Record<string, string> = {}) {
  const { app, deps } = testApp(db, env)
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
  await new Promise<void>((r) => server.once('listening', () => r()))
  const port = (server.address() as AddressInfo).port
  deps.config.baseUrl = `http://127.0.0.1:${port}`
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    deps,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
