// Test databases and throwaway tenants: each test file opens its own connections and creates its own tenant.
import { inject } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { type Db, openDatabase, openEmbedded, type Sql } from '../../src/platform/db.ts'
import { partitaIvaCheckDigit } from '../../src/platform/it/codice-fiscale.ts'
import { lanesOf } from '../../src/platform/lanes.ts'
import { dropTenantSchema, migratePlatform } from '../../src/platform/migrate.ts'
import {
  onboardTenant,
  type Tenant,
  type TenantFile,
  TenantRegistry,
  type TenantSettings,
  tenantFileSchema,
  tenantSettingsSchema,
} from '../../src/platform/tenancy.ts'

/** This worker's test database (VITEST_POOL_ID counts the workers from 1), or PGlite. */
/** Where this worker's tests run; `citus` when that is a Citus cluster (npm run test:citus). */
export function testTarget(): { kind: 'postgres' | 'pglite'; url: string; citus: boolean } {
  const t = inject('testDb')
  if (t.kind === 'pglite' || !t.urls?.length) return { kind: t.kind, url: t.url, citus: false }
  const worker = Math.max(1, Number(process.env.VITEST_POOL_ID ?? '1') || 1)
  return { kind: t.kind, url: t.urls[(worker - 1) % t.urls.length] as string, citus: !!t.citus }
}

export async function openTestDb(): Promise<Db> {
  const target = testTarget()
  const db =
    target.kind === 'pglite'
      ? await openEmbedded('memory://')
      : await openDatabase(loadConfig({ DATABASE_URL: target.url, DATABASE_POOL_MAX: '10', NODE_ENV: 'test' }))
  await migratePlatform(db.admin, db.roles)
  return db
}

function randomPartitaIva(): string {
  const first10 = Array.from({ length: 10 }, () => Math.floor(Math.random() * 10)).join('')
  return first10 + partitaIvaCheckDigit(first10)
}

/** A tenant's settings: the defaults (cut-off 09:15, no commission, reminders at −7, 0 and 7 days, 3 meals) and these. */
export function settings(these: Partial<TenantSettings> = {}): TenantSettings {
  return tenantSettingsSchema.parse(these)
}

export function testTenantFile(overrides: Partial<TenantFile> = {}): TenantFile {
  const slug = overrides.slug ?? `test-${Math.random().toString(36).slice(2, 10)}`
  return tenantFileSchema.parse({
    slug,
    kind: 'comune',
    name: `Comune di Prova ${slug}`,
    shortName: `Prova ${slug.slice(5)}`,
    fiscalCode: randomPartitaIva(),
    segregationCode: String(Math.floor(Math.random() * 50)).padStart(2, '0'),
    branding: { logoText: 'PR', accent: '#0b4f9c' },
    contacts: { email: 'ufficio@prova.example', address: 'Piazza Prova 1, 00100 Roma' },
    settings: { cutoff: '09:15', commission: { type: 'none' } },
    services: [
      {
        code: 'mensa',
        kind: 'mensa',
        name: 'Mensa scolastica',
        causale: 'Mensa scolastica',
        spontaneous: true,
        amountMode: 'quantita',
        unitPriceCents: 580,
      },
      { code: 'trasporto', kind: 'trasporto', name: 'Trasporto scolastico', causale: 'Trasporto scolastico' },
      { code: 'nido', kind: 'nido', name: 'Nido', causale: 'Retta nido' },
    ],
    ...overrides,
  })
}

export async function createTestTenant(db: Db, overrides: Partial<TenantFile> = {}): Promise<Tenant> {
  const file = testTenantFile(overrides)
  await onboardTenant(db, file)
  const tenant = await new TenantRegistry(db, 0).get(file.slug)
  if (!tenant) throw new Error('tenant not created')
  return tenant
}

export async function dropTestTenant(db: Db, tenant: Tenant): Promise<void> {
  await db.admin`delete from platform.tenants where id = ${tenant.id}`
  await dropTenantSchema(db.admin, db.roles, tenant.schema)
}

/**
 * The statements `fn` sends through `sql` (postgres.js reads its `debug` option at each query, so a hook set for
 * the call sees every statement of every connection of that pool, BEGIN and COMMIT included). For "a handful of
 * statements, whatever the size": the property that a time bound would only hint at (times are the benchmark's).
 */
export async function countStatements<T>(sql: Sql, fn: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  // the pool's tenant transactions run on its lanes (src/platform/lanes.ts): their statements count too
  const all = [sql, ...(lanesOf(sql)?.pools ?? [])].map((pool) => pool.options as { debug: unknown })
  const before = all.map((options) => options.debug)
  const statements: string[] = []
  for (const options of all)
    options.debug = (_connection: number, query: string) => {
      statements.push(query)
    }
  try {
    return { result: await fn(), statements }
  } finally {
    all.forEach((options, i) => {
      options.debug = before[i]
    })
  }
}
