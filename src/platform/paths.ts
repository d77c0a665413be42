// Where the project's files are, found once from here: the folder above that holds package.json. The same
// answer whether the code runs from src/ (tsx) or from the compiled build in dist/ (npm run build).
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)))

/** A path below the project's folder: projectPath('views') */
export const projectPath = (...parts: string[]): string => join(ROOT, ...parts)
