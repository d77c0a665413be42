// npm run tenants -- add tenants/x.json | list
import { migrateTenants } from '../platform/migrate.ts'
import { onboardTenant, readTenantFile } from '../platform/tenancy.ts'
import { openForCli } from './common.ts'

const [cmd, ...args] = process.argv.slice(2)
const usage = 'usage: npm run tenants -- add <file.json> [...] | list'
if (!cmd || !['add', 'list'].includes(cmd)) {
  console.error(usage)
  process.exit(64)
}
const { db } = await openForCli()
let code = 0
try {
  if (cmd === 'add') {
    if (args.length === 0) throw new Error(usage)
    await migrateTenants(db.admin, db.roles)
    for (const path of args) {
      const file = await readTenantFile(path)
      const started = performance.now()
      const { schema } = await onboardTenant(db, file)
      console.log(`onboarded ${file.slug} (schema ${schema}) in ${Math.round(performance.now() - started)} ms`)
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
