// An event stream outlives the request that was checked when it opened: at each heartbeat its
// credentials are checked again, so revoking a token ends the streams it holds (on every replica:
// the lookup goes to the database), and a registry that starts to require tokens ends the
// anonymous ones. Real HTTP, both databases: in process with heartbeats every 100 ms, and across
// two real replica processes with the production heartbeat (10 s).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplica, startService, type TestService } from '../support/app.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { openSse } from '../support/sse.js';

const ADMIN_SECRET = 'stream-admin-secret-for-tests-0123456789';
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const json = { 'content-type': 'application/json' };

describe.each(BACKENDS)('event streams and their credentials on %s', (kind) => {
  let svc: TestService;
  let other: TestService;
  let base: string;
  let otherBase: string;

  beforeAll(async () => {
    svc = await startService(kind, { registry: { adminToken: ADMIN_SECRET }, watching: { heartbeatMs: 100 } });
    base = await svc.listen();
    other = await startReplica(svc.url, { registry: { adminToken: ADMIN_SECRET }, watching: { heartbeatMs: 100 } });
    otherBase = await other.listen();
  });
  afterAll(async () => {
    await other?.close();
    await svc?.close();
  });

  const createToken = async (name: string, role: string) => {
    const res = await fetch(`${base}/v1/tokens`, { method: 'POST', headers: { ...json, ...bearer(ADMIN_SECRET) }, body: JSON.stringify({ name, role }) });
    expect(res.status).toBe(201);
    return ((await res.json()) as { token: string }).token;
  };
  const put = (name: string, description: string) =>
    fetch(`${base}/v1/configs/${name}`, {
      method: 'PUT',
      headers: { ...json, ...bearer(ADMIN_SECRET) },
      body: JSON.stringify({ config: {}, description }),
    });

  it('keeps a stream whose token stays valid, and ends the streams of a revoked token on every replica', async () => {
    const kept = await createToken('stream-kept', 'reader');
    const revoked = await createToken('stream-revoked', 'reader');
    const keptStream = await openSse(`${base}/v1/events/stream?name=sa-1`, bearer(kept));
    const here = await openSse(`${base}/v1/events/stream?name=sa-1`, bearer(revoked));
    const there = await openSse(`${otherBase}/v1/events/stream?name=sa-1`, bearer(revoked));
    for (const stream of [keptStream, here, there]) expect(stream.status).toBe(200);
    expect((await put('sa-1', 'first')).status).toBe(201);
    await Promise.all([keptStream.until(1), here.until(1), there.until(1)]);

    const revoke = await fetch(`${base}/v1/tokens/stream-revoked`, { method: 'DELETE', headers: bearer(ADMIN_SECRET) });
    expect(revoke.status).toBe(204);
    // Both streams of the revoked token end (a few heartbeats), with a comment that says why.
    await Promise.race([Promise.all([here.ended, there.ended]), sleep(5_000).then(() => Promise.reject(new Error('streams not ended')))]);
    for (const stream of [here, there]) expect(stream.comments.some((c) => c.startsWith('access revoked'))).toBe(true);
    // Reconnecting with it is refused.
    const again = await fetch(`${base}/v1/events/stream`, { headers: bearer(revoked) });
    expect(again.status).toBe(401);
    await again.body?.cancel();

    // The valid token's stream saw the same heartbeats and still delivers.
    expect((await put('sa-1', 'second')).status).toBe(200);
    await keptStream.until(2);
    keptStream.close();
  });

  it('ends an anonymous stream once the registry begins to require tokens', async () => {
    const open = await startService(kind, { watching: { heartbeatMs: 100 } });
    try {
      const openBase = await open.listen();
      const anonymous = await openSse(`${openBase}/v1/events/stream`);
      expect(anonymous.status).toBe(200);
      // Still open over several heartbeats while anonymous reading is what the registry allows.
      await sleep(400);
      expect(anonymous.comments.filter((c) => c === 'keep-alive').length).toBeGreaterThan(1);
      const first = await fetch(`${openBase}/v1/tokens`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'first-admin', role: 'admin' }) });
      expect(first.status).toBe(201);
      await Promise.race([anonymous.ended, sleep(5_000).then(() => Promise.reject(new Error('anonymous stream not ended')))]);
      expect(anonymous.comments.some((c) => c.startsWith('access revoked'))).toBe(true);
    } finally {
      await open.close();
    }
  });
});

describe.each(BACKENDS)('a token revoked on one replica process, streaming from another, on %s', (kind) => {
  let db: TestDatabase;
  let a: ServerProcess & { baseUrl: string };
  let b: ServerProcess & { baseUrl: string };
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    const env = { DATABASE_URL: db.url, REGISTRY_ADMIN_TOKEN: ADMIN_SECRET };
    // One first, so that the second does not race it through the first migration.
    a = await startServer(env);
    b = await startServer(env);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it('ends the stream on A within a heartbeat of the revocation on B, and A refuses the token after', async () => {
    const created = await fetch(`${b.baseUrl}/v1/tokens`, {
      method: 'POST',
      headers: { ...json, ...bearer(ADMIN_SECRET) },
      body: JSON.stringify({ name: 'stream-elsewhere', role: 'reader' }),
    });
    expect(created.status).toBe(201);
    const { token } = (await created.json()) as { token: string };
    const stream = await openSse(`${a.baseUrl}/v1/events/stream`, bearer(token));
    expect(stream.status).toBe(200);
    const revoked = await fetch(`${b.baseUrl}/v1/tokens/stream-elsewhere`, { method: 'DELETE', headers: bearer(ADMIN_SECRET) });
    expect(revoked.status).toBe(204);
    // HEARTBEAT_MS is 10 s: the next beat after the revocation ends it.
    await Promise.race([stream.ended, sleep(15_000).then(() => Promise.reject(new Error('stream on A not ended')))]);
    expect(stream.comments.some((c) => c.startsWith('access revoked'))).toBe(true);
    const again = await fetch(`${a.baseUrl}/v1/events/stream`, { headers: bearer(token) });
    expect(again.status).toBe(401);
    await again.body?.cancel();
  }, 30_000);
});
