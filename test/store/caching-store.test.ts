import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contentHash } from '../../src/domain/config-document.js';
import type { AppendVersion, ConfigRecord, RegistryStore } from '../../src/registry/store.js';
import { CachingRegistryStore } from '../../src/store/caching-store.js';
import { openDatabase, type Database } from '../../src/store/database.js';
import { PrismaRegistryStore } from '../../src/store/prisma-registry-store.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

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
    const cached = new CachingRegistryStore(new PrismaRegistryStore(database));
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
    const cached = new CachingRegistryStore(new PrismaRegistryStore(database));
    const elsewhere = new PrismaRegistryStore(other);
    const read = async (name: string) => {
      const found = cached.getConfig(name);
      return { atOnce: !(found instanceof Promise), value: await found };
    };
    expect((await read('n')).atOnce).toBe(false); // never read
    expect((await cached.appendVersion(append('n', 1, ['v1']))).ok).toBe(true);
    if (kind === 'postgresql') {
      // No commit stamp: every read goes to the database.
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
    const slow: RegistryStore = Object.assign(Object.create(real) as RegistryStore, {
      getConfig: async (name: string) => {
        const record = await real.getConfig(name);
        await gate;
        return record;
      },
    });
    const cached = new CachingRegistryStore(slow);
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
});
