// The order files start in: the longest first, so that the two workers finish together instead of one of them
// starting a 70-second file when the other has nothing left. Vitest orders by the durations it cached on this
// machine's last run; a fresh clone has none, so the files known to be long (docs/testing.md, "Time") lead in
// this order, and the rest follow as vitest would have them.
import { relative } from 'node:path'
import { BaseSequencer, type TestSpecification } from 'vitest/node'

/** The longest files, longest first (seconds taken with two files side by side). A new long file goes here. */
export const LONG_FIRST = [
  'test/browser/all-pages.test.ts', // 120 (the Nu checker over 290 pages included)
  'test/integration/forms-fuzz.test.ts', // 105 (70 with the change log)
  'test/integration/jobs-sigkill.test.ts', // 88
  'test/browser/onboarding.test.ts', // 87
  'test/browser/lighthouse.test.ts', // 72 (eight Lighthouse runs)
  'test/browser/narrow.test.ts', // 70
  'test/browser/canteen.test.ts', // 68
  'test/integration/embedded-owner.test.ts', // 63
  'test/browser/applications.test.ts', // 53
  'test/browser/account.test.ts', // 46
  'test/browser/backoffice.test.ts', // 40
  'test/browser/pagopa-creditor.test.ts', // 37
  'test/browser/office-money.test.ts', // 20
  'test/browser/payments.test.ts', // 35
  'test/integration/account.test.ts', // 30 (waits out the login throttle)
  'test/browser/psp-sandbox.test.ts', // 29
  'test/integration/cli.test.ts', // 28
  'test/browser/demo-content.test.ts', // 28
  'test/integration/reconciliation.test.ts', // 24 alone (a 100,000-line flow)
  'test/browser/spontaneous.test.ts', // 27
  'test/integration/imports-fuzz.test.ts', // 27
  'test/browser/public-pages.test.ts', // 25
  'test/integration/jobs.test.ts', // 20
  'test/browser/reconciliation.test.ts', // 21
  'test/integration/reliability.test.ts', // 18
  'test/integration/abuse-logins.test.ts', // 18
]

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    const rank = (f: TestSpecification) => {
      const i = LONG_FIRST.indexOf(relative(f.project.config.root, f.moduleId))
      return i < 0 ? LONG_FIRST.length : i
    }
    // stable: within a project, the listed files first in the list's order, then the others in vitest's order
    return sorted
      .map((f, i) => ({ f, i }))
      .sort((a, b) => (a.f.project.name === b.f.project.name ? rank(a.f) - rank(b.f) || a.i - b.i : a.i - b.i))
      .map(({ f }) => f)
  }
}
