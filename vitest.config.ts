import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Probes PostgreSQL once per run; see test/support/databases.ts.
    globalSetup: ['test/support/global-setup.ts'],
    // Real SQLite files and a real PostgreSQL server, so allow for slow disks and busy CI hosts.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    teardownTimeout: 30_000,
    // Child processes rather than worker threads: tests may spawn processes, change directory,
    // and load the native better-sqlite3 module. Files run in parallel, each with its own database.
    pool: 'forks',
    fileParallelism: true,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
