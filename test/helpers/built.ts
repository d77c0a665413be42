// The compiled server and command-line tools of this run (test/helpers/global-setup.ts builds them once with
// `npm run build`), started as `npm start` and `npm run <tool>` start them: node on the build, no compiler.
import { join } from 'node:path'
import { inject } from 'vitest'

export type Entry = 'server' | 'cli/job' | 'cli/migrate' | 'cli/tenants' | 'cli/pagopa-simulator'

/** The arguments for `node` (process.execPath) that run an entry of the build, then the entry's own arguments. */
export function nodeArgs(entry: Entry, ...args: string[]): string[] {
  return ['--enable-source-maps', join(inject('built'), `${entry}.mjs`), ...args]
}
