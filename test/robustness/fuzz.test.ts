// Property-based: generated requests at every operation of the OpenAPI document. Whatever is sent,
// the answer is never a 5xx, every 4xx is a complete RFC 9457 problem, a rejected request leaves
// the database byte for byte as it was, and every answer is one the served document declares for
// that operation (status, content type, body schema, required headers: test/support/
// openapi-contract.ts). Twice per backend: an open registry without rate limiting, and one that
// requires tokens (requests carry admin, writer, reader, revoked-looking, malformed or no
// credentials) with a rate limit low enough that a good share of them get the 429.
//
// FUZZ_RUNS (requests per operation, mode and backend; default 40, 1000 under SOAK=1) and
// FUZZ_SEED (default: random, printed) control a run; a failure prints the seed that replays it.
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplica, startService, type ServiceOptions, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';
import { openDumper, type DatabaseDumper } from '../support/db-dump.js';
import { injectAnswer } from '../support/inject-answer.js';
import { ContractChecker, type OpenApiDocument as ServedDocument } from '../support/openapi-contract.js';
import { ensureFixture, worldOf, type FixtureHeaders } from './fixture.js';
import {
  compactMessage,
  describeRequest,
  expectWellFormed,
  operationsOf,
  requestFor,
  type GeneratedRequest,
  type Operation,
  type OpenApiDocument,
  type World,
} from './requests.js';
import { fuzzRuns, fuzzSeed, recordCount } from './settings.js';

const RUNS = fuzzRuns();
const SEED = fuzzSeed();

/**
 * Waiting is part of what is fuzzed, but a generated `wait=60` or `Prefer: wait=60` must not hold
 * the suite: the service holds any wait for 50 ms at most here (its code path is the same).
 */
const WATCHING = { watching: { maxWaitMs: 50 } };
const ADMIN_TOKEN = 'fuzz-admin-0123456789abcdef';

interface Mode {
  name: string;
  options: ServiceOptions;
  /** Requests carry generated credentials and come from generated client addresses. */
  limited: boolean;
}

const MODES: Mode[] = [
  { name: 'open, no rate limit', options: WATCHING, limited: false },
  {
    name: 'tokens required, rate limited',
    // Per minute, per token or client address: about half of the generated requests pass.
    options: { ...WATCHING, rateLimitMax: Math.max(5, Math.floor(RUNS / 2)), registry: { adminToken: ADMIN_TOKEN } },
    limited: true,
  },
];

// The operations come from the running app's own document, so a new route is fuzzed as soon as
// it is in /openapi.json.
const specService = await startService('sqlite');
const doc = (await specService.app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApiDocument>();
await specService.close();
const operations = operationsOf(doc);

function seedFor(operationId: string, mode: Mode): number {
  let h = SEED | 0;
  for (const ch of operationId + (mode.limited ? '+limited' : '')) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return h;
}

/**
 * Whether the server routes this URL to the operation's own route: a generated empty segment
 * (`/v1/configs//dict`) lands on another route or none, and so does a dot segment (`..`,
 * `%2e%2e`), which app.inject resolves as a URL parser does (`PUT /v1/configs/..` arrives as
 * `PUT /v1/`); that answer is not this operation's.
 */
function routesTo(op: Operation, url: string): boolean {
  const pattern = op.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
  let path: string;
  try {
    path = new URL(url, 'http://localhost').pathname;
  } catch {
    return false;
  }
  return new RegExp(`^${pattern}$`).test(path);
}

describe.each(BACKENDS.flatMap((kind) => MODES.map((mode) => [kind, mode.name, mode] as const)))('generated requests on %s, %s', (kind, _name, mode) => {
  let svc: TestService;
  /** Restores the fixture: the service itself, or (rate limited) an unlimited replica on its database. */
  let fixtureApp: FastifyInstance;
  let fixtureReplica: TestService | undefined;
  let dumper: DatabaseDumper;
  let world: World;
  let checker: ContractChecker;
  let credentials: fc.Arbitrary<Record<string, string>>;
  const admin: FixtureHeaders = mode.limited ? { authorization: `Bearer ${ADMIN_TOKEN}` } : {};
  const counts = { requests: 0, rejected: 0, checked: 0, rateLimited: 0 };

  beforeAll(async () => {
    svc = await startService(kind, mode.options);
    dumper = await openDumper(svc.url);
    fixtureApp = svc.app;
    if (mode.limited) {
      fixtureReplica = await startReplica(svc.url, { ...WATCHING, registry: { adminToken: ADMIN_TOKEN } });
      fixtureApp = fixtureReplica.app;
    }
    await ensureFixture(fixtureApp, admin);
    world = await worldOf(fixtureApp, admin);
    // The limited service's own document (it declares the 429s; the replica's does not).
    checker = new ContractChecker((await svc.app.inject({ method: 'GET', url: '/openapi.json' })).json<ServedDocument>());
    credentials = fc.constant({});
    if (mode.limited) {
      const secrets: string[] = [];
      for (const [i, role] of ['reader', 'writer', 'admin', 'reader', 'writer', 'admin'].entries()) {
        const created = await fixtureApp.inject({
          method: 'POST',
          url: '/v1/tokens',
          headers: admin,
          payload: { name: `fuzz-${role}-${i}`, role },
        });
        expect(created.statusCode, created.body).toBe(201);
        secrets.push(created.json<{ token: string }>().token);
      }
      credentials = fc.record(
        {
          authorization: fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom(...secrets, ADMIN_TOKEN).map((t) => `Bearer ${t}`) },
            { weight: 1, arbitrary: fc.constantFrom('Bearer ccr_unknownunknownunknownunknownunknown', 'Basic YWRtaW46YWRtaW4=', 'Bearer', '') },
          ),
        },
        { requiredKeys: [] },
      );
    }
  });
  afterAll(async () => {
    recordCount(`fuzz.${kind}${mode.limited ? '.limited' : ''}`, counts);
    console.log(
      `fuzz on ${kind}, ${mode.name}: ${counts.requests} generated requests (${counts.rejected} rejected, ` +
        `${counts.rateLimited} rate limited), ${counts.checked} answers checked against the OpenAPI document, seed ${SEED}`,
    );
    await fixtureReplica?.close();
    await dumper?.close();
    await svc?.close();
  });

  it('finds the operations in the OpenAPI document', () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
    expect(operations.map((o) => o.id)).toContain('putConfig');
  });

  it.each(operations.map((op) => [op.id, op] as const))(
    '%s: no 5xx, problem+json, answers the document declares, rejected requests change nothing',
    async (id, op) => {
      await ensureFixture(fixtureApp, admin);
      const generated = fc.tuple(requestFor(op, world), credentials, fc.integer({ min: 1, max: 32 })).map(
        ([request, auth, client]): GeneratedRequest & { remoteAddress?: string } =>
          mode.limited ? { ...request, headers: { ...request.headers, ...auth }, remoteAddress: `10.0.0.${client}` } : request,
      );
      const property = fc.asyncProperty(generated, async (request) => {
        const before = await dumper.dump();
        const answer = await injectAnswer(svc.app, request);
        counts.requests += 1;
        const label = `${describeRequest(request)} -> ${answer.statusCode}`;
        expectWellFormed(answer, label);
        if (answer.statusCode === 429) counts.rateLimited += 1;
        if (routesTo(op, request.url)) {
          const violations = checker.violations({
            method: op.method,
            path: op.path,
            status: answer.statusCode,
            contentType: String(answer.headers['content-type'] ?? '') || null,
            body: answer.body,
            headers: answer.headers,
          });
          expect(violations, `${label}: ${answer.body.slice(0, 300)}`).toEqual([]);
          counts.checked += 1;
        }
        if (answer.statusCode >= 300) {
          counts.rejected += 1;
          expect(await dumper.dump(), `${label}: the database changed`).toBe(before);
        }
      });
      try {
        await fc.assert(property, { seed: seedFor(id, mode), numRuns: RUNS, endOnFailure: false });
      } catch (error) {
        (error as Error).message =
          `${compactMessage((error as Error).message)}\n\nReplay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS} npx vitest run test/robustness/fuzz.test.ts -t '${mode.name}.*${id}'`;
        throw error;
      }
    },
    // Generous: a soak run sends thousands of requests per operation.
    60_000 + RUNS * 250,
  );

  it('checked most answers against the document, and the rate limit answered some', () => {
    expect(counts.checked).toBeGreaterThan(counts.requests * 0.8);
    if (mode.limited) expect(counts.rateLimited).toBeGreaterThan(0);
  });
});
