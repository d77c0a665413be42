// How many test files run side by side, and the database each worker uses. Shared by vitest.config.ts (the pool
// size) and the global setup (one database per worker); tests find theirs through testTarget() in db.ts.
/**
 * TEST_WORKERS, else 2. Measured on the 2-core machines this project is built on (docs/testing.md): the integration
 * files wait on PostgreSQL, child processes and their own timers half the time, Chromium keeps nearly two cores busy;
 * two workers side by side fill the machine.
 */
export function testWorkers(): number {
  const asked = Number(process.env.TEST_WORKERS)
  if (Number.isInteger(asked) && asked >= 1 && asked <= 16) return asked
  return 2
}

/** `sportello_test` → `sportello_test`, `sportello_w2_test`, `sportello_w3_test`…: every name still ends in _test. */
export function workerDatabases(first: string, workers: number): string[] {
  return Array.from({ length: workers }, (_, i) => (i === 0 ? first : first.replace(/_test$/, `_w${i + 1}_test`)))
}
