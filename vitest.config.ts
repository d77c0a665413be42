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

/**
 * The files npm run test:citus (TEST_SUITE=citus) leaves to the PostgreSQL run: the Citus run is there for the
 * SQL on a cluster, and these test something else, the same on any database (docs/scaling.md). A tenant costs
 * about 2.5 s to make on the cluster (every statement of every migration goes to the workers), ten times
 * PostgreSQL's, so every file run there must be worth it; CI stays under a quarter of an hour.
 */
export const CITUS_LEAVES = [
  // runs PGlite, whatever the cluster
  'test/integration/embedded-owner.test.ts',
  // CSV parsing and all-or-nothing imports, 73 s; the import's SQL runs on the cluster in the import tests
  'test/integration/imports-fuzz.test.ts',
  // kills job processes on a plain database of its own (created on the coordinator: not a Citus one)
  'test/integration/jobs-sigkill.test.ts',
  // job slots on the clock, platform tables only; the scheduler's run on the cluster is in reminders.test.ts
  'test/integration/jobs-clock.test.ts',
  // body limits and login throttles (platform tables only), the client's address, the HTTP layer
  'test/integration/abuse.test.ts',
  'test/integration/abuse-logins.test.ts',
  'test/integration/unix-socket.test.ts',
  // no SQL of Sportello's: the reporting-flow parser, the test identity provider, TLS client certificates
  'test/integration/flow-parse.test.ts',
  'test/integration/oidc.test.ts',
  'test/integration/pagopa-mtls.test.ts',
]

// TEST_SKIP: comma-separated test files this run leaves out. The projects' own include/exclude win over the
// command line's --exclude, hence this.
const SKIP = [...(process.env.TEST_SKIP ?? '').split(','), ...(process.env.TEST_SUITE === 'citus' ? CITUS_LEAVES : [])]
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
