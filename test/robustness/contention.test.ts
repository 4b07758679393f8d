// Racing clients against a listening server (real sockets, truly concurrent requests), on both
// databases. After each race the raw tables are checked against the registry's invariants
// (test/support/registry-invariants.ts) as well as through the API.
//
// CONTENTION_CLIENTS (16; 32 under SOAK=1), CONTENTION_WRITES (successful writes per client:
// 4; 25) and RACE_ROUNDS (6; 60) size a run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { createRegistry } from '../../src/registry/registry.js';
import { openDatabase } from '../../src/store/database.js';
import { registryStore } from '../../src/store/prisma-registry-store.js';
import { startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';
import { openDumper, type DatabaseDumper } from '../support/db-dump.js';
import { call, listAll } from '../support/http-client.js';
import { classesOf, readState, violations } from '../support/registry-invariants.js';
import { LSTM_OBS, LSTM_Q } from './fixture.js';
import { contentionClients, contentionWrites, raceRounds, recordCount } from './settings.js';

const CLIENTS = contentionClients();
const WRITES = contentionWrites();
const ROUNDS = raceRounds();
const TIMEOUT = 120_000 + CLIENTS * WRITES * 400 + ROUNDS * 4_000;

interface Version {
  version: number;
  description: string;
  labels: Record<string, string>;
  config: { observed_to_quantized_custom_module_class?: Record<string, Record<string, string>>; preserved_attributes?: string[] };
}

describe.each(BACKENDS)('contention on %s', (kind) => {
  let svc: TestService;
  let base: string;
  let db: DatabaseDumper;
  const races = { rmwWrites: 0, blindWrites: 0, builderWrites: 0, createRaces: 0, deleteVsWrite: 0, observedVsWrite: 0, readsVsPurge: 0 };

  const expectInvariants = async (when: string) => {
    expect(violations(await readState(db)), when).toEqual([]);
  };
  const versionsOf = async (name: string) => (await listAll<Version>(base, `/v1/configs/${name}/versions`)).reverse();

  beforeAll(async () => {
    svc = await startService(kind);
    base = await svc.listen();
    db = await openDumper(svc.url);
  });
  afterAll(async () => {
    recordCount(`contention.${kind}`, races);
    console.log(`contention on ${kind}: ${JSON.stringify(races)}`);
    await db?.close();
    await svc?.close();
  });

  it(
    `${CLIENTS} clients read-modify-write one config under If-Match: every success is one contiguous version, nothing lost`,
    async () => {
      expect((await call(base, 'PUT', '/v1/configs/rmw', { body: { config: { preserved_attributes: ['start'] } } })).status).toBe(201);
      const successes: Array<{ version: number; attrs: string[] }> = [];
      const statuses = new Map<number, number>();
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, client) => {
          for (let done = 0, attempts = 0; done < WRITES; attempts++) {
            if (attempts > WRITES * 400) throw new Error(`client ${client} starved`);
            const current = await call(base, 'GET', '/v1/configs/rmw');
            expect(current.status).toBe(200);
            const attrs = [...current.json.config.preserved_attributes, `c${client}_${done}`];
            const put = await call(base, 'PUT', '/v1/configs/rmw', {
              body: { config: { preserved_attributes: attrs } },
              headers: { 'if-match': current.headers.get('etag')! },
            });
            statuses.set(put.status, (statuses.get(put.status) ?? 0) + 1);
            if (put.status === 200) {
              expect(put.headers.get('etag')).toBe(`"${put.json.version}"`);
              successes.push({ version: put.json.version, attrs });
              done++;
            } else {
              expect(put.status, put.text).toBe(412);
              expect(put.headers.get('content-type')).toMatch(/^application\/problem\+json/);
            }
          }
        }),
      );
      races.rmwWrites += successes.length;
      const total = CLIENTS * WRITES;
      expect([...statuses.keys()].every((s) => s === 200 || s === 412), JSON.stringify([...statuses])).toBe(true);
      // Distinct and contiguous: 2..total+1.
      expect(successes.map((s) => s.version).sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 2));
      // The history is exactly the successes, and each version extends the one before by one entry.
      const history = await versionsOf('rmw');
      expect(history.map((v) => v.version)).toEqual(Array.from({ length: total + 1 }, (_, i) => i + 1));
      const byVersion = new Map(successes.map((s) => [s.version, s.attrs]));
      for (const v of history.slice(1)) {
        expect(v.config.preserved_attributes).toEqual(byVersion.get(v.version));
        const previous = history[v.version - 2]!.config.preserved_attributes!;
        expect(v.config.preserved_attributes!.slice(0, -1)).toEqual(previous);
      }
      const final = history.at(-1)!.config.preserved_attributes!;
      expect(new Set(final).size).toBe(total + 1);
      await expectInvariants('after the If-Match race');
    },
    TIMEOUT,
  );

  it(
    `${CLIENTS} clients writing without If-Match: every acknowledged write is exactly one version`,
    async () => {
      expect((await call(base, 'PUT', '/v1/configs/blind', { body: { config: {} } })).status).toBe(201);
      const acks: Array<{ version: number; description: string }> = [];
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, client) => {
          for (let i = 0; i < WRITES; i++) {
            const description = `c${client}_${i}`;
            const res = await call(base, 'PUT', '/v1/configs/blind', { body: { config: {}, description } });
            expect(res.status, res.text).toBe(200);
            acks.push({ version: res.json.version, description });
          }
        }),
      );
      races.blindWrites += acks.length;
      const history = await versionsOf('blind');
      expect(history).toHaveLength(acks.length + 1);
      for (const ack of acks) {
        const matching = history.filter((v) => v.description === ack.description);
        expect(matching.map((v) => v.version), ack.description).toEqual([ack.version]);
      }
      await expectInvariants('after the blind writes');
    },
    TIMEOUT,
  );

  // PostgreSQL is the backend for several replicas (README); SQLite serves one process.
  if (kind === 'postgresql')
  it(
    `two replicas on one database, ${CLIENTS} clients writing without If-Match: every acknowledged write is exactly one version`,
    async () => {
      // A second replica: its own process state (write queue, pool), the same database.
      const database = await openDatabase(svc.url, { migrate: false });
      const replica = await buildApp({ registry: await createRegistry(registryStore(database)) });
      const bases = [base, await replica.listen({ port: 0, host: '127.0.0.1' })];
      try {
        expect((await call(base, 'PUT', '/v1/configs/replicated', { body: { config: {} } })).status).toBe(201);
        const acks: Array<{ version: number; description: string }> = [];
        await Promise.all(
          Array.from({ length: CLIENTS }, async (_, client) => {
            for (let i = 0; i < WRITES; i++) {
              const description = `c${client}_${i}`;
              const res = await call(bases[client % 2]!, 'PUT', '/v1/configs/replicated', { body: { config: {}, description } });
              expect(res.status, res.text).toBe(200);
              acks.push({ version: res.json.version, description });
            }
          }),
        );
        races.blindWrites += acks.length;
        const history = await versionsOf('replicated');
        expect(history).toHaveLength(acks.length + 1);
        for (const ack of acks) {
          expect(history.filter((v) => v.description === ack.description).map((v) => v.version), ack.description).toEqual([ack.version]);
        }
        await expectInvariants('after two replicas raced');
      } finally {
        await replica.close();
        await database.close();
      }
    },
    TIMEOUT,
  );

  it(
    `${CLIENTS} clients adding mappings through the builder route without If-Match: none is lost`,
    async () => {
      const ids = Array.from({ length: CLIENTS * WRITES }, (_, i) => `race_pkg.observed.M${i}`);
      for (const id of ids) expect((await call(base, 'POST', '/v1/module-classes', { body: { id } })).status).toBe(201);
      expect((await call(base, 'PUT', '/v1/configs/builder', { body: { config: {} } })).status).toBe(201);
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, client) => {
          for (let i = 0; i < WRITES; i++) {
            const observed = ids[client * WRITES + i]!;
            const res = await call(base, 'PUT', `/v1/configs/builder/mappings/static/${observed}`, { body: { quantizedClass: LSTM_Q } });
            expect(res.status, res.text).toBe(200);
          }
        }),
      );
      races.builderWrites += ids.length;
      const latest = await call(base, 'GET', '/v1/configs/builder');
      expect(Object.keys(latest.json.config.observed_to_quantized_custom_module_class.static).sort()).toEqual([...ids].sort());
      expect(latest.json.version).toBe(ids.length + 1);
      await expectInvariants('after the builder writes');
    },
    TIMEOUT,
  );

  it(
    `${CLIENTS} clients creating the same name at once: exactly one 201`,
    async () => {
      for (let round = 0; round < ROUNDS; round++) {
        // Plain PUT: one creates, the others replace on top of it.
        const plain = await Promise.all(
          Array.from({ length: CLIENTS }, (_, c) =>
            call(base, 'PUT', `/v1/configs/born-${round}`, { body: { config: {}, description: `c${c}` } }),
          ),
        );
        expect(plain.map((r) => r.status).sort((a, b) => a - b), plain.map((r) => r.text).join('\n')).toEqual([...Array(CLIENTS - 1).fill(200), 201]);
        expect((await versionsOf(`born-${round}`)).length).toBe(CLIENTS);

        // If-None-Match: *: one creates, the others are told it exists.
        const exclusive = await Promise.all(
          Array.from({ length: CLIENTS }, (_, c) =>
            call(base, 'PUT', `/v1/configs/only-${round}`, { body: { config: {}, description: `c${c}` }, headers: { 'if-none-match': '*' } }),
          ),
        );
        expect(exclusive.map((r) => r.status).sort((a, b) => a - b)).toEqual([201, ...Array(CLIENTS - 1).fill(412)]);
        const winner = exclusive.find((r) => r.status === 201)!;
        const stored = await versionsOf(`only-${round}`);
        expect(stored.map((v) => v.description)).toEqual([winner.json.description]);

        // Module classes: one 201, the others 409.
        const classes = await Promise.all(
          Array.from({ length: CLIENTS }, () => call(base, 'POST', '/v1/module-classes', { body: { id: `born_pkg.C${round}` } })),
        );
        expect(classes.map((r) => r.status).sort((a, b) => a - b)).toEqual([201, ...Array(CLIENTS - 1).fill(409)]);
        races.createRaces += 3;
      }
      await expectInvariants('after the create races');
    },
    TIMEOUT,
  );

  /**
   * Starts `b` now and `a` after a delay that varies by round (0 to 25 ms), so that `a` lands before,
   * during and after `b`'s transaction across the rounds.
   */
  async function race<A, B>(round: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
    const delay = [0, 25, 2, 12, 5, 18, 8][round % 7]!;
    return Promise.all([new Promise<void>((r) => setTimeout(r, delay)).then(a), b()]);
  }

  it(
    'deleting a class while writes reference it: never a live config pointing at a deleted class',
    async () => {
      const outcomes = new Map<string, number>();
      for (let round = 0; round < ROUNDS; round++) {
        const id = `gone_pkg.quantized.Q${round}`;
        expect((await call(base, 'POST', '/v1/module-classes', { body: { id, fromObserved: true } })).status).toBe(201);
        const name = `victim-${round}`;
        const mapping = { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: id } } };
        // Each round races a different kind of write that would reference the class.
        const kindOfWrite = ['put', 'builder', 'patch', 'undelete', 'rollback'][round % 5]!;
        if (kindOfWrite !== 'put') {
          const setup = await call(base, 'PUT', `/v1/configs/${name}`, { body: { config: kindOfWrite === 'rollback' || kindOfWrite === 'undelete' ? mapping : {} } });
          expect(setup.status).toBe(201);
          if (kindOfWrite === 'rollback') expect((await call(base, 'PUT', `/v1/configs/${name}`, { body: { config: {} } })).status).toBe(200);
          if (kindOfWrite === 'undelete') expect((await call(base, 'DELETE', `/v1/configs/${name}`)).status).toBe(204);
        }
        const write = () => {
          switch (kindOfWrite) {
            case 'put':
              return call(base, 'PUT', `/v1/configs/${name}`, { body: { config: mapping } });
            case 'builder':
              return call(base, 'PUT', `/v1/configs/${name}/mappings/static/${LSTM_OBS}`, { body: { quantizedClass: id } });
            case 'patch':
              return call(base, 'PATCH', `/v1/configs/${name}`, {
                body: { config: mapping },
                headers: { 'content-type': 'application/merge-patch+json' },
              });
            case 'undelete':
              return call(base, 'POST', `/v1/configs/${name}/undelete`);
            default:
              return call(base, 'POST', `/v1/configs/${name}/versions/1/rollback`);
          }
        };
        const [deleted, written] = await race(round, () => call(base, 'DELETE', `/v1/module-classes/${id}`), write);
        const outcome = `${kindOfWrite}: delete ${deleted.status}, write ${written.status}`;
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        expect(deleted.status, outcome + deleted.text).toBeLessThan(500);
        expect(written.status, outcome + written.text).toBeLessThan(500);
        // Exactly one of them wins.
        if (deleted.status === 204) expect(written.status, `${outcome} ${written.text}`).toBe(422);
        else {
          expect(deleted.status, `${outcome} ${deleted.text}`).toBe(409);
          expect([200, 201], `${outcome} ${written.text}`).toContain(written.status);
        }

        // Through the API: the class's references are exactly the live configs that name it.
        const refs = await call(base, 'GET', `/v1/module-classes/${id}/references`);
        const config = await call(base, 'GET', `/v1/configs/${name}`);
        const names = config.status === 200 ? classesOf(JSON.stringify(config.json.config)).map((c) => c.id) : [];
        if (deleted.status === 204) {
          expect(refs.status).toBe(404);
          expect(names).not.toContain(id);
        } else {
          expect(refs.json.items).toEqual([name]);
          expect(names).toContain(id);
        }
        races.deleteVsWrite += 1;
      }
      console.log(`class deletion vs write on ${kind}: ${JSON.stringify(Object.fromEntries(outcomes))}`);
      await expectInvariants('after class deletions raced writes');
    },
    TIMEOUT,
  );

  it(
    'turning fromObserved off while a write uses the class as quantized: never both',
    async () => {
      const outcomes = new Map<string, number>();
      for (let round = 0; round < ROUNDS; round++) {
        const id = `flip_pkg.quantized.Q${round}`;
        expect((await call(base, 'POST', '/v1/module-classes', { body: { id, fromObserved: true } })).status).toBe(201);
        const name = `flip-${round}`;
        const [patched, written] = await race(
          round,
          () => call(base, 'PATCH', `/v1/module-classes/${id}`, { body: { fromObserved: false } }),
          () => call(base, 'PUT', `/v1/configs/${name}`, { body: { config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: id } } } } }),
        );
        const outcome = `patch ${patched.status}, write ${written.status}`;
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (patched.status === 200) expect(written.status, `${outcome} ${written.text}`).toBe(422);
        else expect([patched.status, written.status], `${outcome} ${patched.text}`).toEqual([409, 201]);
        races.observedVsWrite += 1;
      }
      console.log(`fromObserved vs write on ${kind}: ${JSON.stringify(Object.fromEntries(outcomes))}`);
      await expectInvariants('after fromObserved flips raced writes');
    },
    TIMEOUT,
  );

  it(
    'reads racing purges and re-creation: never a 5xx',
    async () => {
      for (let round = 0; round < ROUNDS * 3; round++) {
        const name = `flicker-${round % 3}`;
        await call(base, 'PUT', `/v1/configs/${name}`, { body: { config: { preserved_attributes: [`r${round}`] } } });
        const replies = await Promise.all([
          call(base, 'DELETE', `/v1/configs/${name}?purge=true`),
          call(base, 'GET', `/v1/configs/${name}`),
          call(base, 'GET', `/v1/configs?prefix=flicker`),
          call(base, 'GET', `/v1/configs/${name}/versions`),
          call(base, 'GET', `/v1/configs/${name}/dict`),
          call(base, 'PUT', `/v1/configs/${name}`, { body: { config: {}, description: 'again' } }),
        ]);
        for (const r of replies) expect(r.status, r.text).toBeLessThan(500);
        races.readsVsPurge += 1;
      }
      await expectInvariants('after reads raced purges');
    },
    TIMEOUT,
  );
});
