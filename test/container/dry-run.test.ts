// The Dockerfile's steps, run without an engine (scripts/container-dry-run.ts): the pruned
// production tree of the runtime stage starts with the image's CMD and ENV, passes the image's
// HEALTHCHECK on SQLite and on PostgreSQL, serves the API and the registry CLI, and exits 0 on
// SIGTERM. The build stage's `npm ci` is stood in for by this checkout's (the same command, run by
// CI); `npm run check:container -- --full` runs it too, from a clean context.
import { describe, expect, it } from 'vitest';
import { dryRun } from '../../scripts/container-dry-run.js';
import { BACKENDS, createTestDatabase } from '../support/databases.js';

describe('the Dockerfile, run without an engine', () => {
  it('builds a runtime that starts, is healthy and stops cleanly on every database', async () => {
    const databases = await Promise.all(BACKENDS.map((kind) => createTestDatabase(kind)));
    try {
      const result = await dryRun({ databases: databases.map((db) => db.url) });
      for (const kind of BACKENDS.map((k) => (k === 'sqlite' ? 'SQLite' : 'PostgreSQL'))) {
        expect(result.steps).toContain(`runtime on ${kind}: CMD node --max-semi-space-size=8 --max-old-space-size=192 dist/main.js is up and its HEALTHCHECK passes`);
        expect(result.steps).toContain(`runtime on ${kind}: SIGTERM -> exit 0`);
      }
      expect(result.steps.some((s) => s.includes('ran: RUN npm prune --omit=dev'))).toBe(true);
      // The dev dependencies are gone: the runtime is far smaller than the full install.
      expect(result.runtimeBytes).toBeLessThan(250e6);
    } finally {
      await Promise.all(databases.map((db) => db.drop()));
    }
  }, 120_000);
});
