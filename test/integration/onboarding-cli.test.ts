// Tenants as files: `npm run tenants -- export <slug>` writes a file (and its logo) that `npm run tenants -- add`
// accepts, run as real processes against the test database.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkLogo } from '../../src/features/onboarding/logo.ts'
import { exportTenant } from '../../src/features/onboarding/tenant-file.ts'
import { type Db, withTenant } from '../../src/platform/db.ts'
import { readTenantFile, type Tenant, TenantRegistry } from '../../src/platform/tenancy.ts'
import { nodeArgs } from '../helpers/built.ts'
import { createTestTenant, dropTestTenant, openTestDb, testTarget, testTenantFile } from '../helpers/db.ts'
import { solidPng } from '../helpers/png.ts'

const run = promisify(execFile)
const target = testTarget()
const { BASE_URL: _b, MODE: _m, DEV: _d, PROD: _p, SSR: _s, ...cleanEnv } = process.env
let db: Db
let dir: string
const made: Tenant[] = []

beforeAll(async () => {
  db = await openTestDb()
  dir = await mkdtemp(join(tmpdir(), 'sportello-ob-cli-'))
})
afterAll(async () => {
  for (const t of made) await dropTestTenant(db, t)
  await rm(dir, { recursive: true, force: true })
  await db.close()
})

/** A 24×24 grey PNG. */
const png = () => solidPng(24, 24, { fill: 0x40, grey: true })

describe('tenants as files', () => {
  it('the export of a configured tenant is a valid tenant file, with switched-off services and the logo', async () => {
    const tenant = await createTestTenant(db, {
      kind: 'scuola',
      codiceMeccanografico: 'RMIC8AB001',
      settings: {
        cutoff: '08:45',
        commission: { type: 'percent', basisPoints: 120 },
        reminderDays: [-3, 0],
        lowBalanceMeals: 2,
      },
    })
    made.push(tenant)
    const logo = checkLogo(png())
    if ('problem' in logo) throw new Error(logo.problem)
    await db.sql`insert into platform.tenant_assets (tenant_id, name, content_type, sha256, body, width, height)
                 values (${tenant.id}, 'logo', 'image/png', ${logo.sha256}, ${logo.body}, 24, 24)`
    await db.sql`update platform.tenants set settings = settings || '{"setupDone": ["ente"]}' where id = ${tenant.id}`
    await withTenant(db.sql, tenant, (tx) => tx`update services set active = false where code = 'nido'`)
    const exported = await exportTenant(db, tenant.slug)
    expect(exported?.json).toMatchObject({
      slug: tenant.slug,
      kind: 'scuola',
      codiceMeccanografico: 'RMIC8AB001',
      branding: { logoText: 'PR', accent: '#0b4f9c', logoFile: `${tenant.slug}-logo.png` },
      settings: { cutoff: '08:45', commission: { type: 'percent', basisPoints: 120 }, reminderDays: [-3, 0] },
    })
    // the wizard's progress is not configuration
    expect(JSON.stringify(exported?.json)).not.toContain('setupDone')
    expect(
      ((exported?.json.services ?? []) as { code: string; active?: boolean }[]).find((s) => s.code === 'nido'),
    ).toMatchObject({
      active: false,
    })
    expect(exported?.logo?.body.equals(png())).toBe(true)
    expect(await exportTenant(db, 'nessuno-qui')).toBeNull()
  })

  it.skipIf(target.kind !== 'postgres')(
    'npm run tenants -- export writes the file that npm run tenants -- add accepts; list shows it',
    async () => {
      const source = await createTestTenant(db)
      made.push(source)
      await db.sql`update platform.tenants set branding = branding || '{"logo": "x"}' where id = ${source.id}`
      const logo = checkLogo(png())
      if ('problem' in logo) throw new Error(logo.problem)
      await db.sql`insert into platform.tenant_assets (tenant_id, name, content_type, sha256, body, width, height)
                   values (${source.id}, 'logo', 'image/png', ${logo.sha256}, ${logo.body}, 24, 24)`
      await withTenant(db.sql, source, (tx) => tx`update services set active = false where code = 'trasporto'`)
      const env = { ...cleanEnv, DATABASE_URL: target.url, LOG_LEVEL: 'silent', TENANTS_DIR: dir }
      const exp = await run(process.execPath, nodeArgs('cli/tenants', 'export', source.slug), { env })
      const path = join(dir, `${source.slug}.json`)
      expect(exp.stdout).toContain(`exported ${source.slug} to ${path}`)
      await expect(readTenantFile(path)).resolves.toMatchObject({ slug: source.slug })
      // a second export does not overwrite without --force
      await expect(
        run(process.execPath, nodeArgs('cli/tenants', 'export', source.slug), { env }),
      ).rejects.toMatchObject({
        stderr: expect.stringContaining('--force'),
      })
      // the same configuration reproduced as another tenant
      const copy = JSON.parse(await readFile(path, 'utf8'))
      const fresh = testTenantFile()
      copy.slug = fresh.slug
      copy.fiscalCode = fresh.fiscalCode
      const copyPath = join(dir, `${fresh.slug}.json`)
      await writeFile(copyPath, JSON.stringify(copy, null, 2))
      const add = await run(process.execPath, nodeArgs('cli/tenants', 'add', copyPath), { env })
      expect(add.stdout).toMatch(
        new RegExp(`onboarded ${fresh.slug} .*services switched off: trasporto; logo ${source.slug}-logo.png`),
      )
      const created = (await new TenantRegistry(db, 0).get(fresh.slug)) as Tenant & { branding: { logo?: string } }
      made.push(created)
      expect(created.settings).toEqual(source.settings)
      expect(created.branding.logo).toBe(logo.sha256.slice(0, 16))
      const services = await withTenant(
        db.sql,
        created,
        (tx) => tx<{ code: string; active: boolean }[]>`
        select code, active from services order by id`,
      )
      expect(services).toEqual([
        { code: 'mensa', active: true },
        { code: 'trasporto', active: false },
        { code: 'nido', active: true },
      ])
      const list = await run(process.execPath, nodeArgs('cli/tenants', 'list'), { env })
      expect(list.stdout).toMatch(new RegExp(`${fresh.slug}\\s+comune\\s+active`))
      // to stdout
      const out = await run(process.execPath, nodeArgs('cli/tenants', 'export', fresh.slug, '--out', '-'), { env })
      expect(JSON.parse(out.stdout).slug).toBe(fresh.slug)
    },
  )
})
