// npm run tenants -- add tenants/x.json [...] | list | export <slug> [--out <file>|-] [--force]
import { access, mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { applyFileExtras, exportTenant, readFileExtras } from '../features/onboarding/tenant-file.ts'
import { tenantRoleName } from '../platform/db.ts'
import { migrateTenants } from '../platform/migrate.ts'
import { onboardTenant, readTenantFile } from '../platform/tenancy.ts'
import { openForCli } from './common.ts'

const [cmd, ...args] = process.argv.slice(2)
const usage = [
  'usage: npm run tenants -- add <file.json> [...]',
  '       npm run tenants -- list',
  '       npm run tenants -- export <slug> [--out <file.json> | --out -] [--force]',
].join('\n')
if (!cmd || !['add', 'list', 'export'].includes(cmd)) {
  console.error(usage)
  process.exit(64)
}

function option(name: string): string | undefined {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : undefined
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

const { config, db } = await openForCli()
let code = 0
try {
  if (cmd === 'add') {
    if (args.length === 0) throw new Error(usage)
    await migrateTenants(db.admin, db.roles)
    for (const path of args) {
      const file = await readTenantFile(path)
      // the logo and switched-off services are checked before anything is created
      const extras = await readFileExtras(path)
      const started = performance.now()
      const { id, schema } = await onboardTenant(db, file)
      const notes = await applyFileExtras(db, extras, id, { schema, role: tenantRoleName(db.roles, schema) })
      console.log(
        `onboarded ${file.slug} (schema ${schema}) in ${Math.round(performance.now() - started)} ms${notes.length ? `; ${notes.join('; ')}` : ''}`,
      )
    }
  } else if (cmd === 'export') {
    const slug = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'))
    if (!slug) throw new Error(usage)
    const exported = await exportTenant(db, slug)
    if (!exported) throw new Error(`no tenant ${slug}`)
    const text = `${JSON.stringify(exported.json, null, 2)}\n`
    const out = option('--out') ?? join(config.tenantsDir, `${slug}.json`)
    if (out === '-') {
      process.stdout.write(text)
      if (exported.logo) console.error(`note: the logo is not written with --out -; export to a file to keep it`)
    } else {
      const path = resolve(out)
      const logoPath = exported.logo ? join(dirname(path), exported.logo.fileName) : null
      if (!args.includes('--force')) {
        for (const p of [path, logoPath]) {
          if (p && (await exists(p))) throw new Error(`${p} exists: add --force to overwrite it`)
        }
      }
      await mkdir(dirname(path), { recursive: true })
      await writeFile(path, text)
      if (exported.logo && logoPath) await writeFile(logoPath, exported.logo.body)
      console.log(`exported ${slug} to ${path}${logoPath ? ` (logo ${logoPath})` : ''}`)
    }
  } else {
    const rows = await db.admin<
      { slug: string; kind: string; status: string; schema_version: number; migration_error: string | null }[]
    >`
      select slug, kind, status, schema_version, migration_error from platform.tenants order by slug`
    for (const r of rows) {
      console.log(
        `${r.slug.padEnd(24)} ${r.kind.padEnd(8)} ${r.status.padEnd(10)} v${r.schema_version}${r.migration_error ? `  error: ${r.migration_error}` : ''}`,
      )
    }
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : err)
  code = 1
}
await db.close()
process.exit(code)
