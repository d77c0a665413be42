// Static files served under content-hashed names with a long cache; templates ask for them by logical name.
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { transformSync } from 'esbuild'
import { projectPath } from './paths.ts'

const STATIC_DIR = projectPath('static')
const VENDOR: Record<string, string> = {
  // pinned htmx 2.0 from node_modules: an enhancement only, never needed for first paint
  'js/htmx.min.js': fileURLToPath(import.meta.resolve('htmx.org/dist/htmx.min.js')),
}

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
}

export interface Asset {
  url: string
  body: Buffer
  type: string
  /** the first characters of the content's SHA-256 (its version) */
  hash: string
  /** the content as text, for what is inlined (read once) */
  text?: string
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? walk(p) : [p]
  })
}

export class Assets {
  /** logical name ('css/app.css') → asset */
  private byName = new Map<string, Asset>()
  /** hashed URL path → asset */
  private byUrl = new Map<string, Asset>()

  constructor() {
    const files: [string, string][] = walk(STATIC_DIR).map((p) => [relative(STATIC_DIR, p).split('\\').join('/'), p])
    for (const [name, path] of Object.entries(VENDOR)) files.push([name, path])
    for (const [name, path] of files) {
      // stylesheets minified once at start (esbuild, already the build's compiler): the first page carries one inline
      const raw = readFileSync(path)
      const body = name.endsWith('.css')
        ? Buffer.from(transformSync(raw.toString('utf8'), { loader: 'css', minify: true }).code)
        : raw
      const hash = createHash('sha256').update(body).digest('hex').slice(0, 10)
      const ext = extname(name)
      const url = `/static/${name.slice(0, -ext.length)}.${hash}${ext}`
      const asset: Asset = { url, body, type: TYPES[ext] ?? 'application/octet-stream', hash }
      this.byName.set(name, asset)
      this.byUrl.set(url, asset)
    }
  }

  url(name: string): string {
    const a = this.byName.get(name)
    if (!a) throw new Error(`unknown asset ${name}`)
    return a.url
  }

  /** The asset itself by logical name (its version and, for text, its content: what the layout inlines). */
  named(name: string): Asset & { text: string } {
    const a = this.byName.get(name)
    if (!a) throw new Error(`unknown asset ${name}`)
    a.text ??= a.body.toString('utf8')
    return a as Asset & { text: string }
  }

  get(urlPath: string): Asset | undefined {
    return this.byUrl.get(urlPath)
  }
}
