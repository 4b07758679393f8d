import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contentHash } from '../../src/domain/config-document.js';
import type { AppendVersion, ConfigRecord } from '../../src/registry/store.js';
import { CachingRegistryStore } from '../../src/store/caching-store.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { PrismaRegistryStore, registryStore } from '../../src/store/prisma-registry-store.js';
import { UnavailableError } from '../../src/registry/errors.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTcpProxy, type CutMode } from '../support/tcp-proxy.js';

function append(name: string, version: number, attrs: string[]): AppendVersion {
  const configJson = JSON.stringify({ preserved_attributes: attrs });
  return {
    expectedLatest: version - 1,
    version: {
      name,
      version,
      configJson,
      description: '',
      labels: {},
      contentHash: contentHash(configJson),
      createdAt: new Date(),
      updatedBy: 'test',
    },
    classRefs: [],
    changed: { labels: version === 1, classRefs: version === 1 },
  };
}

const attrsOf = (record: ConfigRecord | null) => (JSON.parse(record!.latest.configJson) as { preserved_attributes: string[] }).preserved_attributes;

describe.each(BACKENDS)('the read cache on %s', (kind) => {
  let testDb: TestDatabase;
  let database: Database;
  let other: Database;

  beforeEach(async () => {
    testDb = await createTestDatabase(kind);
    database = await openDatabase(testDb.url);
    other = await openDatabase(testDb.url, { migrate: false });
  });
  afterEach(async () => {
    await other?.close();
    await database?.close();
    await testDb.drop();
  });

  it('has a commit stamp only where it can be read without a query (SQLite), moved by other connections only', async () => {
    const store = new PrismaRegistryStore(database);
    if (kind === 'postgresql') {
      expect(store.commitStamp()).toBeUndefined();
      return;
    }
    const before = store.commitStamp();
    expect(typeof before).toBe('number');
    expect((await store.appendVersion(append('own', 1, ['a']))).ok).toBe(true);
    expect(store.commitStamp()).toBe(before);
    expect((await new PrismaRegistryStore(other).appendVersion(append('foreign', 1, ['b']))).ok).toBe(true);
    expect(store.commitStamp()).not.toBe(before);
  });

  it('reads the stamp off the WAL index on a SQLite file, and tells another connection\'s commit from its own in any order', async () => {
    if (kind === 'postgresql') {
      expect(database.commitStampSource()).toBeUndefined();
      return;
    }
    expect(database.commitStampSource()).toBe('wal-index');
    const store = new PrismaRegistryStore(database);
    const foreign = new PrismaRegistryStore(other);
    let stamp = store.commitStamp();
    // Another's commit, then our own, with no look in between: still a new stamp.
    expect((await foreign.appendVersion(append('f1', 1, ['a']))).ok).toBe(true);
    expect((await store.appendVersion(append('o1', 1, ['a']))).ok).toBe(true);
    expect(store.commitStamp()).not.toBe(stamp);
    stamp = store.commitStamp();
    // Our own, then another's.
    expect((await store.appendVersion(append('o2', 1, ['a']))).ok).toBe(true);
    expect((await foreign.appendVersion(append('f2', 1, ['a']))).ok).toBe(true);
    expect(store.commitStamp()).not.toBe(stamp);
    stamp = store.commitStamp();
    // Our own alone, several times: the same stamp, so what is cached stays.
    for (const name of ['o3', 'o4', 'o5']) expect((await store.appendVersion(append(name, 1, ['a']))).ok).toBe(true);
    expect(store.commitStamp()).toBe(stamp);
  });

  it('never hands out one stamp from two connections, so a reconnect cannot serve what the old one cached', async () => {
    if (kind === 'postgresql') return;
    const seen = new Set([database.commitStamp(), other.commitStamp()]);
    expect(seen.size).toBe(2);
    await other.close();
    other = await openDatabase(testDb.url, { migrate: false });
    expect(seen.has(other.commitStamp())).toBe(false);
  });

  it('serves what another connection committed, at once', async () => {
    const cached = registryStore(database);
    const elsewhere = new PrismaRegistryStore(other);
    expect((await cached.appendVersion(append('n', 1, ['v1']))).ok).toBe(true);
    for (let v = 2; v <= 5; v++) {
      expect(attrsOf(await cached.getConfig('n'))).toEqual([`v${v - 1}`]);
      expect((await elsewhere.appendVersion(append('n', v, [`v${v}`]))).ok).toBe(true);
      expect(attrsOf(await cached.getConfig('n'))).toEqual([`v${v}`]);
    }
    expect(await elsewhere.purge('n', { at: new Date(), by: 'test' })).toBe(true);
    expect(await cached.getConfig('n')).toBeNull();
  });

  it('answers getConfig at once (no promise) only while what it keeps is known to be current', async () => {
    const cached = registryStore(database);
    const elsewhere = new PrismaRegistryStore(other);
    const read = async (name: string) => {
      const found = cached.getConfig(name);
      return { atOnce: !(found instanceof Promise), value: await found };
    };
    expect((await read('n')).atOnce).toBe(false); // never read
    expect((await cached.appendVersion(append('n', 1, ['v1']))).ok).toBe(true);
    if (kind === 'postgresql') {
      // No commit stamp: every read asks the database first (the probe), even when it then serves
      // what it holds.
      expect(await read('n')).toMatchObject({ atOnce: false });
      expect(await read('n')).toMatchObject({ atOnce: false });
      return;
    }
    let found = await read('n'); // its own write
    expect(found.atOnce).toBe(true);
    expect(attrsOf(found.value)).toEqual(['v1']);
    expect((await elsewhere.appendVersion(append('n', 2, ['v2']))).ok).toBe(true);
    found = await read('n'); // another connection committed: from the database
    expect(found.atOnce).toBe(false);
    expect(attrsOf(found.value)).toEqual(['v2']);
    found = await read('n');
    expect(found.atOnce).toBe(true);
    expect(attrsOf(found.value)).toEqual(['v2']);
    expect(await read('missing')).toEqual({ atOnce: false, value: null });
    expect(await read('missing')).toEqual({ atOnce: true, value: null });
  });

  it('does not keep a read that was overtaken by this process\'s own write', async () => {
    const real = new PrismaRegistryStore(database);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // The real store, with its reads of a config held back until the gate opens.
    const slow = Object.assign(Object.create(real) as PrismaRegistryStore, {
      getConfig: async (name: string) => {
        const record = await real.getConfig(name);
        await gate;
        return record;
      },
      readConfigWithRowVersion: async (name: string) => {
        const read = await real.readConfigWithRowVersion(name);
        await gate;
        return read;
      },
    });
    const cached = new CachingRegistryStore(slow, kind === 'postgresql' ? slow : undefined);
    // Written around the cache, so that the next read goes to the database.
    expect((await real.appendVersion(append('n', 1, ['v1']))).ok).toBe(true);

    const overtaken = cached.getConfig('n'); // reads version 1, then waits
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await cached.appendVersion(append('n', 2, ['v2']))).ok).toBe(true);
    release();
    expect(attrsOf(await overtaken)).toEqual(['v1']);
    // The slow read finished last, but what it found was older than the write: not kept.
    expect(attrsOf(await cached.getConfig('n'))).toEqual(['v2']);
    expect((await cached.getConfig('n'))?.head.latestVersion).toBe(2);
  });
  it('on PostgreSQL serves a held config from memory only once the database confirmed it, and follows every other change', async () => {
    if (kind !== 'postgresql') return;
    const cached = registryStore(database);
    const elsewhere = new PrismaRegistryStore(other);
    expect((await elsewhere.appendVersion(append('n', 1, ['v1']))).ok).toBe(true);
    const first = await cached.getConfig('n');
    // The same object: confirmed by the probe and served from memory, not read again.
    expect(await cached.getConfig('n')).toBe(first);
    expect((await elsewhere.appendVersion(append('n', 2, ['v2']))).ok).toBe(true);
    const second = await cached.getConfig('n');
    expect(attrsOf(second)).toEqual(['v2']);
    expect(await cached.getConfig('n')).toBe(second);
    // A soft delete moves nothing but the deleted flag.
    const deleted = await elsewhere.setDeleted('n', { deleted: true, at: new Date(), by: 'test', expectedLatest: 2, classRefs: [] });
    expect(deleted.ok).toBe(true);
    expect((await cached.getConfig('n'))?.head.deleted).toBe(true);
    // Purged and made again up to the same version number: same name and version, other content.
    expect(await elsewhere.purge('n', { at: new Date(), by: 'test' })).toBe(true);
    expect(await cached.getConfig('n')).toBeNull();
    expect(await cached.getConfig('n')).toBeNull();
    expect((await elsewhere.appendVersion(append('n', 1, ['again1']))).ok).toBe(true);
    expect((await elsewhere.appendVersion(append('n', 2, ['again2']))).ok).toBe(true);
    const recreated = await cached.getConfig('n');
    expect(recreated?.head.latestVersion).toBe(2);
    expect(attrsOf(recreated)).toEqual(['again2']);
    // Its own write is read back from the database once, then served from memory.
    expect((await cached.appendVersion(append('n', 3, ['own']))).ok).toBe(true);
    const own = await cached.getConfig('n');
    expect(attrsOf(own)).toEqual(['own']);
    expect(await cached.getConfig('n')).toBe(own);
  });

  it('on PostgreSQL checks the reads of one turn with one probe, each against its own config', async () => {
    if (kind !== 'postgresql') return;
    const cached = registryStore(database);
    const elsewhere = new PrismaRegistryStore(other);
    const names = Array.from({ length: 20 }, (_, i) => `many-${i}`);
    for (const name of names) expect((await elsewhere.appendVersion(append(name, 1, [name]))).ok).toBe(true);
    const held = await Promise.all(names.map((name) => cached.getConfig(name)));
    // Every other config changes elsewhere; the reads all start in one turn.
    for (const [i, name] of names.entries()) if (i % 2 === 1) expect((await elsewhere.appendVersion(append(name, 2, [`${name}-2`]))).ok).toBe(true);
    const now = await Promise.all(names.map((name) => cached.getConfig(name)));
    for (const [i, record] of now.entries()) {
      if (i % 2 === 1) expect(attrsOf(record)).toEqual([`${names[i]}-2`]);
      else expect(record).toBe(held[i]);
    }
  });
  it.each(['reset', 'refuse'] as CutMode[])(
    'on PostgreSQL fails a read whose probe cannot reach the database (%s), never answering what it holds',
    async (mode) => {
      if (kind !== 'postgresql') return;
      const url = new URL(testDb.url);
      const proxy = await startTcpProxy({ host: url.hostname || '127.0.0.1', port: Number(url.port || 5432) });
      url.hostname = '127.0.0.1';
      url.port = String(proxy.port);
      const through = await openDatabase(url.toString(), { migrate: false });
      try {
        const cached = registryStore(through);
        const elsewhere = new PrismaRegistryStore(other);
        expect((await elsewhere.appendVersion(append('cut', 1, ['v1']))).ok).toBe(true);
        expect(attrsOf(await cached.getConfig('cut'))).toEqual(['v1']);
        expect((await elsewhere.appendVersion(append('cut', 2, ['v2']))).ok).toBe(true);
        await proxy.cut(mode);
        await expect(Promise.resolve(cached.getConfig('cut'))).rejects.toBeInstanceOf(UnavailableError);
        await proxy.restore();
        expect(attrsOf(await cached.getConfig('cut'))).toEqual(['v2']);
      } finally {
        await through.close();
        await proxy.close();
      }
    },
  );
  it('on PostgreSQL probes on a connection of its own that it replaces when it breaks, and with a pool of one on the pool', async () => {
    if (kind !== 'postgresql') return;
    const elsewhere = new PrismaRegistryStore(other);
    expect((await elsewhere.appendVersion(append('held', 1, ['v1']))).ok).toBe(true);
    const cached = registryStore(database);
    await cached.getConfig('held');
    expect(attrsOf(await cached.getConfig('held'))).toEqual(['v1']);
    // Every connection of this database but the admin's own is terminated, the held one with them.
    const admin = new pg.Client({ connectionString: testDb.url });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ n: number }>(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      expect(rows[0]!.n).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await elsewhere.appendVersion(append('held', 2, ['v2']))).ok).toBe(true);
    expect(attrsOf(await cached.getConfig('held'))).toEqual(['v2']);
    const again = await cached.getConfig('held');
    expect(await cached.getConfig('held')).toBe(again);

    const single = await openDatabase(testDb.url, { migrate: false, poolSize: 1 });
    try {
      const alone = registryStore(single);
      const first = await alone.getConfig('held');
      expect(await alone.getConfig('held')).toBe(first);
      expect((await alone.appendVersion(append('held', 3, ['v3']))).ok).toBe(true);
      expect(attrsOf(await alone.getConfig('held'))).toEqual(['v3']);
    } finally {
      await single.close();
    }
  });
});
