// npm run migrate [-- --only slug,slug] : every tenant schema up to date (the platform's first, when the tool
// opens the database itself; the server did it at its start).
import { migrateTenants } from '../../platform/migrate.ts'
import type { Command } from './command.ts'

const usage = 'usage: npm run migrate [-- --only slug,slug]'

function only(args: string[]): string[] | undefined | null {
  if (args.length === 0) return undefined
  if (args.length === 2 && args[0] === '--only') return (args[1] as string).split(',').filter(Boolean)
  if (args.length === 1 && args[0]?.startsWith('--only=')) return args[0].slice(7).split(',').filter(Boolean)
  return null
}

export const migrateCommand: Command = {
  name: 'migrate',

  prepare(args, _env, out) {
    const slugs = only(args)
    if (slugs === null) {
      out.error(usage)
      return 64
    }
    return slugs ? ['--only', slugs.join(',')] : []
  },

  async run({ db }, args, out) {
    const slugs = only(args)
    if (slugs === null) {
      out.error(usage)
      return 64
    }
    const started = performance.now()
    const r = await migrateTenants(db.admin, db.roles, { only: slugs })
    const ms = Math.round(performance.now() - started)
    out.log(
      `tenants: ${r.checked} checked, ${r.skipped} already at version ${r.latest}, ${r.migrated.length} migrated, ${r.failed.length} failed (${ms} ms)`,
    )
    for (const f of r.failed) out.log(`  FAILED ${f.slug}: ${f.error}`)
    return r.failed.length ? 1 : 0
  },
}
