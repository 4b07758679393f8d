// Property-based: generated requests at every operation of the OpenAPI document. Whatever is sent,
// the answer is never a 5xx, every 4xx is a complete RFC 9457 problem, and a rejected request
// leaves the database byte for byte as it was.
//
// FUZZ_RUNS (requests per operation and backend; default 40, 1000 under SOAK=1) and FUZZ_SEED
// (default: random, printed) control a run; a failure prints the seed that replays it.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';
import { openDumper, type DatabaseDumper } from '../support/db-dump.js';
import { injectAnswer } from '../support/inject-answer.js';
import { ensureFixture, worldOf } from './fixture.js';
import {
  compactMessage,
  describeRequest,
  expectWellFormed,
  operationsOf,
  requestFor,
  type OpenApiDocument,
  type World,
} from './requests.js';
import { fuzzRuns, fuzzSeed, recordCount } from './settings.js';

const RUNS = fuzzRuns();
const SEED = fuzzSeed();

// The operations come from the running app's own document, so a new route is fuzzed as soon as
// it is in /openapi.json.
/**
 * Waiting is part of what is fuzzed, but a generated `wait=60` or `Prefer: wait=60` must not hold
 * the suite: the service holds any wait for 50 ms at most here (its code path is the same).
 */
const SERVICE_OPTIONS = { watching: { maxWaitMs: 50 } };

const specService = await startService('sqlite');
const doc = (await specService.app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApiDocument>();
await specService.close();
const operations = operationsOf(doc);

function seedFor(operationId: string): number {
  let h = SEED | 0;
  for (const ch of operationId) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return h;
}

describe.each(BACKENDS)('generated requests on %s', (kind) => {
  let svc: TestService;
  let dumper: DatabaseDumper;
  let world: World;
  const counts = { requests: 0, rejected: 0 };

  beforeAll(async () => {
    svc = await startService(kind, SERVICE_OPTIONS);
    dumper = await openDumper(svc.url);
    await ensureFixture(svc.app);
    world = await worldOf(svc.app);
  });
  afterAll(async () => {
    recordCount(`fuzz.${kind}`, counts);
    console.log(`fuzz on ${kind}: ${counts.requests} generated requests (${counts.rejected} rejected), seed ${SEED}`);
    await dumper?.close();
    await svc?.close();
  });

  it('finds the operations in the OpenAPI document', () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
    expect(operations.map((o) => o.id)).toContain('putConfig');
  });

  it.each(operations.map((op) => [op.id, op] as const))(
    '%s: no 5xx, problem+json, rejected requests change nothing',
    async (id, op) => {
      await ensureFixture(svc.app);
      const property = fc.asyncProperty(requestFor(op, world), async (request) => {
        const before = await dumper.dump();
        const answer = await injectAnswer(svc.app, request);
        counts.requests += 1;
        const label = `${describeRequest(request)} -> ${answer.statusCode}`;
        expectWellFormed(answer, label);
        if (answer.statusCode >= 300) {
          counts.rejected += 1;
          expect(await dumper.dump(), `${label}: the database changed`).toBe(before);
        }
      });
      try {
        await fc.assert(property, { seed: seedFor(id), numRuns: RUNS, endOnFailure: false });
      } catch (error) {
        (error as Error).message =
          `${compactMessage((error as Error).message)}\n\nReplay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npx vitest run test/robustness/fuzz.test.ts -t '${id}'`;
        throw error;
      }
    },
    // Generous: a soak run sends thousands of requests per operation.
    60_000 + RUNS * 250,
  );
});
