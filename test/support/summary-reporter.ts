// Ends the run with one plain line, `N passed, N failed, N skipped`, for log readers (vitest's own
// summary is formatted for people).
import type { Reporter, TestModule, TestRunEndReason } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
    reason: TestRunEndReason,
  ): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      const tests = [...module.children.allTests()];
      for (const test of tests) {
        const state = test.result().state;
        if (state === 'passed') counts.passed += 1;
        else if (state === 'failed') counts.failed += 1;
        else counts.skipped += 1;
      }
      // A file that failed to load (or whose hooks failed) has no test to show it: count the file.
      if (module.state() === 'failed' && !tests.some((test) => test.result().state === 'failed')) {
        counts.failed += 1;
      }
    }
    // The run failed outside any test (global setup, say): never print "0 failed" for it.
    if (reason === 'failed' && counts.failed === 0) counts.failed = 1;
    const errors = unhandledErrors.length > 0 ? `, ${unhandledErrors.length} unhandled error(s)` : '';
    console.log(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${errors}`);
  }
}
