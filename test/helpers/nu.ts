// The W3C Nu HTML Checker (vnu-jar from npm, run with the machine's Java) over a batch of pages: one JVM for all of
// them. Each page is written to a file of its own and the checker's JSON report is mapped back to the page's name.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const VNU_JAR = path.join(
  path.dirname(createRequire(import.meta.url).resolve('vnu-jar/package.json')),
  'build/dist/vnu.jar',
)

export interface NuMessage {
  page: string
  type: 'error' | 'info' | 'non-document-error'
  subType?: 'warning' | 'fatal' | 'io' | 'schema' | 'internal'
  message: string
  extract?: string
  lastLine?: number
}

/**
 * Warnings that stay, each with its reason (docs/accessibility.md, "How it is kept true"). A message matching one is not
 * reported; everything else the checker says — errors and warnings — is.
 */
export const NU_ACCEPTED_WARNINGS: { pattern: RegExp; reason: string }[] = []

/** Checks every page (name → HTML) and returns what the checker reports that is not an accepted warning. */
export async function nuCheck(pages: Map<string, string>): Promise<NuMessage[]> {
  if (pages.size === 0) return []
  const dir = await mkdtemp(path.join(tmpdir(), 'sportello-nu-'))
  try {
    const byFile = new Map<string, string>()
    let i = 0
    for (const [name, html] of pages) {
      const file = path.join(dir, `page-${String(i++).padStart(4, '0')}.html`)
      await writeFile(file, html)
      byFile.set(path.basename(file), name)
    }
    // --exit-zero-always: the report is read from stderr as JSON whatever it holds
    const { stderr } = await run(
      'java',
      ['-Xss1m', '-jar', VNU_JAR, '--format', 'json', '--exit-zero-always', '--also-check-css', dir],
      { maxBuffer: 64 * 1024 * 1024 },
    )
    const report = JSON.parse(stderr) as { messages: (Omit<NuMessage, 'page'> & { url?: string })[] }
    return report.messages
      .map(({ url, ...m }) => ({ ...m, page: byFile.get(path.basename(url ?? '')) ?? url ?? '?' }))
      .filter((m) => !(m.subType === 'warning' && NU_ACCEPTED_WARNINGS.some((a) => a.pattern.test(m.message))))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** One line per message, for an assertion's output. */
export function nuLines(messages: NuMessage[]): string[] {
  return messages.map(
    (m) => `${m.page}: ${m.subType ?? m.type} ${m.message}${m.extract ? ` «${m.extract.trim().slice(0, 80)}»` : ''}`,
  )
}
