// The drop folder of a tenant, <flowsDir>/<slug>/: the reconciliation job imports every *.xml file there and
// moves it aside, to importati/ when imported (or already imported), to scartati/ with a .errore.txt beside
// it when it cannot be imported. Files are picked up once they have not changed for a few seconds, so a file
// still being copied is left for the next run (writing to a temporary name and renaming is better still).
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Sql } from '../../platform/db.ts'
import type { Tenant } from '../../platform/tenancy.ts'
import { FlowFormatError } from './parse.ts'
import { ImportRefused, importFile } from './service.ts'

export const IMPORTED_DIR = 'importati'
export const REFUSED_DIR = 'scartati'

export interface FolderCounts {
  files: number
  imported: number
  unchanged: number
  refused: number
  matched: number
  discrepancies: number
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')
}

async function moveAside(dir: string, sub: string, name: string, now: Date): Promise<string> {
  await mkdir(join(dir, sub), { recursive: true })
  const target = join(dir, sub, `${stamp(now)}-${name}`)
  try {
    await rename(join(dir, name), target)
  } catch (err) {
    // another run moved it first
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  return target
}

export async function importDropFolder(
  sql: Sql,
  tenant: Tenant,
  flowsDir: string,
  opts: { now?: Date; minAgeMs?: number; step?: (name: string) => void | Promise<void> } = {},
): Promise<FolderCounts> {
  const counts: FolderCounts = { files: 0, imported: 0, unchanged: 0, refused: 0, matched: 0, discrepancies: 0 }
  const dir = join(flowsDir, tenant.slug)
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return counts
    throw err
  }
  const minAge = opts.minAgeMs ?? 5000
  const failures: string[] = []
  for (const name of names.sort()) {
    if (name.startsWith('.') || !/\.xml$/i.test(name)) continue
    const path = join(dir, name)
    const info = await stat(path).catch(() => null)
    if (!info?.isFile() || (minAge > 0 && Date.now() - info.mtimeMs < minAge)) continue
    counts.files++
    try {
      const bytes = await readFile(path)
      const outcomes = await importFile(sql, tenant, {
        bytes,
        fileName: name,
        source: 'cartella',
        actor: { accountId: null, name: 'sistema' },
        step: opts.step,
      })
      for (const o of outcomes) {
        if (o.status === 'imported') {
          counts.imported++
          counts.matched += o.matched
          counts.discrepancies += o.discrepancies
        } else counts.unchanged++
      }
      await opts.step?.('file-imported')
      await moveAside(dir, IMPORTED_DIR, name, opts.now ?? new Date())
    } catch (err) {
      if (err instanceof FlowFormatError || err instanceof ImportRefused) {
        counts.refused++
        const target = await moveAside(dir, REFUSED_DIR, name, opts.now ?? new Date())
        await writeFile(`${target}.errore.txt`, `${err.message}\n`)
      } else {
        // the database or the disk: the file stays for the next run
        failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`)
      }
    }
  }
  if (failures.length) throw new Error(`drop folder ${dir}: ${failures.join('; ')}`)
  return counts
}
