// The suite in two groups (docs/testing.md): first every file that may share the machine, two side by side, each
// worker with its own database (test/helpers/workers.ts) and Chromium, the longest first (test/helpers/sequencer.ts);
// then, one at a time on a quiet machine, the few whose assertions bound a time or ride the clock: /health within a
// second under a flood or a stalled database, pages back within seconds of a database storm, job slots on the clock. How fast the work
// itself is, npm run bench measures; the tests count statements. Files that kill processes at chosen points share
// the machine: their points are moments of the work (a row written, a share done), not of the clock.
import { defineConfig } from 'vitest/config'
import { LongestFirst } from './test/helpers/sequencer.ts'
import { testWorkers } from './test/helpers/workers.ts'

export const SERIAL_FILES = [
  'test/integration/abuse.test.ts',
  'test/integration/db-restart.test.ts',
  'test/integration/db-stall.test.ts',
  'test/integration/jobs-clock.test.ts',
]

const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
  env: { NODE_ENV: 'test' },
}

// TEST_SKIP: comma-separated test files this run leaves out (npm run test:citus leaves two to the PostgreSQL run;
// docs/scaling.md). The projects' own include/exclude win over the command line's --exclude, hence this.
const SKIP = (process.env.TEST_SKIP ?? '')
  .split(',')
  .map((f) => f.trim())
  .filter(Boolean)

export default defineConfig({
  test: {
    ...shared,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // runs once for the whole run; both groups inherit what it provides
    globalSetup: ['test/helpers/global-setup.ts'],
    maxWorkers: testWorkers(),
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        test: {
          ...shared,
          name: 'side-by-side',
          // one process per worker for all its files, modules loaded once (not once per file): 38% less time on
          // the integration files; every file still makes its own tenant, accounts, servers and browser
          isolate: false,
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...SERIAL_FILES, ...SKIP],
          maxWorkers: testWorkers(),
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'one-at-a-time',
          include: SERIAL_FILES,
          exclude: SKIP,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
})
