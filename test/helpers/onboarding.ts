// The public onboarding form for tests: a sign-up sent as a person sends it, and what such tests leave behind.
import { expect } from 'vitest'
import type { Db } from '../../src/platform/db.ts'
import { TenantRegistry } from '../../src/platform/tenancy.ts'
import { Client } from './client.ts'
import { dropTestTenant } from './db.ts'
import type { App } from './world.ts'

/** The whole public sign-up (form, check page, send): the request's id, public reference and slug. */
export async function signUp(
  app: App,
  db: Db,
  values: Record<string, string>,
): Promise<{ id: number; ref: string; slug: string }> {
  const c = new Client(app)
  await c.get('/adesione')
  const check = await c.post('/adesione', values)
  expect(check.status, c.lastHtml.slice(0, 3000)).toBe(200)
  const hidden = Object.fromEntries(
    [...c.lastHtml.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)]
      .filter((m) => m[1] !== '_csrf')
      .map((m) => [m[1] as string, (m[2] as string).replace(/&amp;/g, '&').replace(/&#39;/g, "'")]),
  )
  const sent = await c.post('/adesione/invia', hidden)
  expect(sent.status, c.lastHtml.slice(0, 2000)).toBe(303)
  const ref = (sent.headers.get('location') ?? '').split('/').pop() as string
  const [row] = await db.sql<{ id: number; slug: string }[]>`
    select id, slug from platform.onboarding_requests where public_ref = ${ref}`
  return { id: (row as { id: number }).id, ref, slug: (row as { slug: string }).slug }
}

/**
 * What a test of the public onboarding form leaves behind: the tenants it onboarded (by slug), the requests and
 * the accounts of this run's addresses (`…<run>@example.it`), the form's throttle.
 */
export async function dropOnboarded(db: Db, slugs: string[], run: string): Promise<void> {
  const registry = new TenantRegistry(db, 0)
  for (const slug of slugs) {
    const t = await registry.get(slug)
    if (t) await dropTestTenant(db, t)
  }
  await db.admin`delete from platform.onboarding_requests where email like ${`%.${run}@example.it`}`
  await db.sql`delete from platform.accounts where email like ${`%.${run}@example.it`}`
  await db.sql`delete from platform.throttle where key like 'onboarding:%'`
}
