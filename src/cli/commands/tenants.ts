// npm run tenants -- add <file.json> [...] | list | export <slug> [--out <file.json> | --out -] [--force]
import { access, mkdir, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { applyFileExtras, exportTenant, readFileExtras } from '../../features/onboarding/tenant-file.ts'
import { tenantRoleName } from '../../platform/db.ts'
import { migrateTenants } from '../../platform/migrate.ts'
import { onboardTenant, readTenantFile } from '../../platform/tenancy.ts'
import type { Command } from './command.ts'

const usage = [
  'usage: npm run tenants -- add <file.json> [...]',
  '       npm run tenants -- list',
  '       npm run tenants -- export <slug> [--out <file.json> | --out -] [--force]',
].join('\n')

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

/** export's arguments: the slug, where to (a file or '-'), whether to overwrite */
function exportArgs(args: string[]): { slug: string; out?: string; force: boolean } | null {
  let slug: string | undefined
  let out: string | undefined
  let force = false
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    if (a === '--out') {
      out = args[++i]
      if (out === undefined) return null
    } else if (a.startsWith('--out=')) out = a.slice(6)
    else if (a === '--force') force = true
    else if (a.startsWith('--') || slug) return null
    else slug = a
  }
  return slug ? { slug, out, force } : null
}

export const tenantsCommand: Command = {
  name: 'tenants',

  prepare(args, { config, cwd }, out) {
    const [cmd, ...rest] = args
    if (cmd === 'list' && rest.length === 0) return ['list']
    if (cmd === 'add' && rest.length > 0 && !rest.some((a) => a.startsWith('--')))
      return ['add', ...rest.map((p) => resolve(cwd, p))]
    const exp = cmd === 'export' ? exportArgs(rest) : null
    if (exp) {
      // where the file goes is decided here, where the tool runs: its directory, its TENANTS_DIR
      const to = exp.out === '-' ? '-' : resolve(cwd, exp.out ?? join(config.tenantsDir, `${exp.slug}.json`))
      return ['export', exp.slug, '--out', to, ...(exp.force ? ['--force'] : [])]
    }
    out.error(usage)
    return 64
  },

  async run(ctx, args, out) {
    const { db } = ctx
    const [cmd, ...rest] = args
    try {
      if (cmd === 'add') {
        await migrateTenants(db.admin, db.roles)
        for (const path of rest) {
          const file = await readTenantFile(path)
          // the logo and switched-off services are checked before anything is created
          const extras = await readFileExtras(path)
          const started = performance.now()
          const { id, schema } = await onboardTenant(db, file)
          const notes = await applyFileExtras(db, extras, id, { schema, role: tenantRoleName(db.roles, schema) })
          // a server that answered 404 for this slug a moment ago serves it now
          ctx.tenants.invalidate(file.slug)
          out.log(
            `onboarded ${file.slug} (schema ${schema}) in ${Math.round(performance.now() - started)} ms${notes.length ? `; ${notes.join('; ')}` : ''}`,
          )
        }
        return 0
      }
      if (cmd === 'export') {
        const exp = exportArgs(rest)
        if (!exp) throw new Error(usage)
        const exported = await exportTenant(db, exp.slug)
        if (!exported) throw new Error(`no tenant ${exp.slug}`)
        const text = `${JSON.stringify(exported.json, null, 2)}\n`
        if (exp.out === '-') {
          out.write(text)
          if (exported.logo) out.error('note: the logo is not written with --out -; export to a file to keep it')
          return 0
        }
        const path = resolve(exp.out ?? join(ctx.config.tenantsDir, `${exp.slug}.json`))
        const logoPath = exported.logo ? join(dirname(path), exported.logo.fileName) : null
        if (!exp.force) {
          for (const p of [path, logoPath]) {
            if (p && (await exists(p))) throw new Error(`${p} exists: add --force to overwrite it`)
          }
        }
        await mkdir(dirname(path), { recursive: true })
        await writeFile(path, text)
        if (exported.logo && logoPath) await writeFile(logoPath, exported.logo.body)
        out.log(`exported ${exp.slug} to ${path}${logoPath ? ` (logo ${logoPath})` : ''}`)
        return 0
      }
      if (cmd === 'list') {
        const rows = await db.admin<
          { slug: string; kind: string; status: string; schema_version: number; migration_error: string | null }[]
        >`select slug, kind, status, schema_version, migration_error from platform.tenants order by slug`
        for (const r of rows) {
          out.log(
            `${r.slug.padEnd(24)} ${r.kind.padEnd(8)} ${r.status.padEnd(10)} v${r.schema_version}${r.migration_error ? `  error: ${r.migration_error}` : ''}`,
          )
        }
        return 0
      }
      out.error(usage)
      return 64
    } catch (err) {
      out.error(err instanceof Error ? err.message : String(err))
      return 1
    }
  },
}
