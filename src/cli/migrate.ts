// npm run migrate [-- --only slug,slug] : platform migrations, then every tenant schema up to date.
import { migrateTenants } from '../platform/migrate.ts'
import { openForCli } from './common.ts'

const { db } = await openForCli()
const onlyIdx = process.argv.indexOf('--only')
const only = onlyIdx > 0 ? process.argv[onlyIdx + 1]?.split(',') : undefined
const started = performance.now()
const r = await migrateTenants(db.admin, db.roles, { only })
const ms = Math.round(performance.now() - started)
console.log(
  `tenants: ${r.checked} checked, ${r.skipped} already at version ${r.latest}, ${r.migrated.length} migrated, ${r.failed.length} failed (${ms} ms)`,
)
for (const f of r.failed) console.log(`  FAILED ${f.slug}: ${f.error}`)
await db.close()
process.exit(r.failed.length ? 1 : 0)
