import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Prisma } from '../../src/generated/sqlite/client.js';
import {
  databaseKind,
  openDatabase,
  redactDatabaseUrl,
  sqliteFilePath,
  type Database,
} from '../../src/store/database.js';
import { BACKENDS, createTestDatabase, postgresAvailable, type TestDatabase } from '../support/databases.js';

describe('databaseKind', () => {
  it.each([
    ['file:./data/registry.db', 'sqlite'],
    ['file:/var/lib/registry/registry.db', 'sqlite'],
    ['postgresql://registry:secret@db:5432/registry', 'postgresql'],
    ['postgres://registry@db/registry', 'postgresql'],
    ['PostgreSQL://db/registry', 'postgresql'],
  ])('%s is %s', (url, kind) => {
    expect(databaseKind(url)).toBe(kind);
  });

  it.each(['mysql://root:hunter2@db/registry', 'root:hunter2@db/registry', '', './registry.db'])(
    'rejects %j naming DATABASE_URL, without the password',
    (url) => {
      let message = '';
      try {
        databaseKind(url);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^DATABASE_URL must be/);
      expect(message).not.toContain('hunter2');
    },
  );
});

describe('redactDatabaseUrl', () => {
  it.each([
    ['postgresql://registry:s3cr%40t@db:5432/registry?sslmode=require', 'postgresql://registry:***@db:5432/registry?sslmode=require'],
    ['postgres://registry:p:a:ss@db/registry', 'postgres://registry:***@db/registry'],
    ['postgresql://registry@db/registry', 'postgresql://registry@db/registry'],
    ['postgresql://db/registry?user=registry&password=secret&sslmode=require', 'postgresql://db/registry?user=registry&password=***&sslmode=require'],
    ['file:./data/registry.db', 'file:./data/registry.db'],
  ])('%s -> %s', (url, redacted) => {
    expect(redactDatabaseUrl(url)).toBe(redacted);
  });
});

describe('sqliteFilePath', () => {
  it('resolves relative paths from the working directory', () => {
    expect(sqliteFilePath('file:./data/registry.db')).toBe(resolve(process.cwd(), 'data/registry.db'));
    expect(sqliteFilePath('file:registry.db')).toBe(resolve(process.cwd(), 'registry.db'));
  });

  it('takes absolute paths, file:// URLs, and ignores query parameters', () => {
    expect(sqliteFilePath('file:/srv/registry.db')).toBe('/srv/registry.db');
    expect(sqliteFilePath('file:///srv/registry%20data.db')).toBe('/srv/registry data.db');
    expect(sqliteFilePath('file:./registry.db?connection_limit=1')).toBe(resolve(process.cwd(), 'registry.db'));
  });

  it('rejects an empty path and :memory:', () => {
    expect(() => sqliteFilePath('file:')).toThrow(/DATABASE_URL/);
    expect(() => sqliteFilePath('file::memory:')).toThrow(/DATABASE_URL/);
  });
});

describe.each(BACKENDS)('openDatabase on %s', (kind) => {
  let testDb: TestDatabase;
  let db: Database;
  beforeEach(async () => {
    testDb = await createTestDatabase(kind);
    db = await openDatabase(testDb.url);
  });
  afterEach(async () => {
    await db.close();
    await testDb.drop();
  });

  it('migrates, connects and answers ping', async () => {
    expect(db.kind).toBe(kind);
    await db.ping();
    const classes = await db.prisma.moduleClass.findMany({ orderBy: { id: 'asc' } });
    expect(classes.map((c) => [c.id, c.fromObserved, c.builtIn])).toEqual([
      ['torch.ao.nn.quantizable.LSTM', false, true],
      ['torch.ao.nn.quantizable.MultiheadAttention', false, true],
      ['torch.ao.nn.quantized.LSTM', true, true],
      ['torch.ao.nn.quantized.MultiheadAttention', true, true],
    ]);
    // Seeded time stamps read back as real dates.
    for (const c of classes) expect(Math.abs(c.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('reopens a migrated database without migrating again', async () => {
    const logged: string[] = [];
    const again = await openDatabase(testDb.url, { log: (msg) => logged.push(msg) });
    await again.close();
    expect(logged).toEqual([]);
  });

  it('orders and compares names by Unicode code point', async () => {
    // Code-point order; a linguistic collation (en_US) would give _x, a, A, b, B, é.
    const ids = ['x.A', 'x.B', 'x._x', 'x.a', 'x.b', 'x.é'];
    await db.prisma.moduleClass.createMany({ data: [...ids].reverse().map((id) => ({ id })) });
    const sorted = await db.prisma.moduleClass.findMany({
      where: { id: { startsWith: 'x.' } },
      orderBy: { id: 'asc' },
    });
    expect(sorted.map((c) => c.id)).toEqual(ids);
    // Keyset paging compares with the same collation as it sorts.
    const after = await db.prisma.moduleClass.findMany({
      where: { id: { startsWith: 'x.', gt: 'x._x' } },
      orderBy: { id: 'asc' },
    });
    expect(after.map((c) => c.id)).toEqual(['x.a', 'x.b', 'x.é']);
  });

  it('reports a unique violation as P2002', async () => {
    const error = await db.prisma.moduleClass
      .create({ data: { id: 'torch.ao.nn.quantized.LSTM' } })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    const known = error as Prisma.PrismaClientKnownRequestError;
    expect(known.code).toBe('P2002');
    expect(known.meta).toMatchObject({
      modelName: 'ModuleClass',
      driverAdapterError: {
        cause: {
          kind: 'UniqueConstraintViolation',
          constraint: kind === 'sqlite' ? { fields: ['id'] } : { index: 'module_class_pkey' },
        },
      },
    });
  });

  it('reports a composite-key unique violation as P2002 naming the key', async () => {
    const now = new Date();
    await db.prisma.config.create({
      data: { name: 'c', latestVersion: 1, createdAt: now, updatedAt: now, labels: { create: { key: 'team', value: 'a' } } },
    });
    const error = (await db.prisma.configLabel
      .create({ data: { configName: 'c', key: 'team', value: 'b' } })
      .then(() => undefined, (e: unknown) => e)) as Prisma.PrismaClientKnownRequestError;
    expect(error.code).toBe('P2002');
    expect(error.meta).toMatchObject({
      driverAdapterError: {
        cause: {
          constraint: kind === 'sqlite' ? { fields: ['config_name', 'key'] } : { index: 'config_label_pkey' },
        },
      },
    });
  });

  it('reports a foreign-key violation on insert as P2003', async () => {
    const error = await db.prisma.configClassRef
      .create({ data: { configName: 'no-such-config', classId: 'torch.ao.nn.quantized.LSTM', asQuantized: true } })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    const known = error as Prisma.PrismaClientKnownRequestError;
    expect(known.code).toBe('P2003');
    expect(known.meta).toMatchObject({
      modelName: 'ConfigClassRef',
      driverAdapterError: {
        cause: {
          kind: 'ForeignKeyConstraintViolation',
          // SQLite does not say which key failed.
          constraint: kind === 'sqlite' ? { foreignKey: {} } : { index: 'config_class_ref_config_name_fkey' },
        },
      },
    });
  });

  it('reports deleting a referenced module class (ON DELETE RESTRICT) as P2003', async () => {
    const now = new Date();
    await db.prisma.config.create({
      data: {
        name: 'uses-lstm',
        latestVersion: 1,
        createdAt: now,
        updatedAt: now,
        classRefs: { create: { classId: 'torch.ao.nn.quantized.LSTM', asQuantized: true } },
      },
    });
    const error = (await db.prisma.moduleClass
      .delete({ where: { id: 'torch.ao.nn.quantized.LSTM' } })
      .then(() => undefined, (e: unknown) => e)) as Prisma.PrismaClientKnownRequestError;
    expect(error).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    expect(error.code).toBe('P2003');
    expect(error.meta).toMatchObject({
      modelName: 'ModuleClass',
      driverAdapterError: {
        cause: {
          kind: 'ForeignKeyConstraintViolation',
          constraint: kind === 'sqlite' ? { foreignKey: {} } : { index: 'config_class_ref_class_id_fkey' },
        },
      },
    });
    expect(await db.prisma.moduleClass.count({ where: { id: 'torch.ao.nn.quantized.LSTM' } })).toBe(1);
  });

  it('cascades a config delete to its versions, labels and class references', async () => {
    const now = new Date();
    await db.prisma.config.create({
      data: {
        name: 'doomed',
        latestVersion: 1,
        createdAt: now,
        updatedAt: now,
        versions: {
          create: {
            version: 1,
            configJson: '{}',
            description: '',
            labelsJson: '{}',
            contentHash: 'sha256:0',
            createdAt: now,
            updatedBy: 'test',
          },
        },
        labels: { create: { key: 'team', value: 'x' } },
        classRefs: { create: { classId: 'torch.ao.nn.quantizable.LSTM', asQuantized: false } },
      },
    });
    await db.prisma.config.delete({ where: { name: 'doomed' } });
    expect(await db.prisma.configVersion.count()).toBe(0);
    expect(await db.prisma.configLabel.count()).toBe(0);
    expect(await db.prisma.configClassRef.count()).toBe(0);
  });
});

describe('openDatabase on sqlite', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'registry-open-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function pragmas(db: Database): Promise<Record<string, unknown>> {
    const read = async (name: string) =>
      Object.values((await db.prisma.$queryRawUnsafe<Record<string, unknown>[]>(`PRAGMA ${name}`))[0] ?? {})[0];
    return {
      foreign_keys: Number(await read('foreign_keys')),
      journal_mode: await read('journal_mode'),
      synchronous: Number(await read('synchronous')),
      busy_timeout: Number(await read('busy_timeout')),
    };
  }
  const EXPECTED = { foreign_keys: 1, journal_mode: 'wal', synchronous: 2 /* FULL */, busy_timeout: 5000 };

  it('sets foreign_keys, WAL, synchronous=FULL and busy_timeout on the connection Prisma uses', async () => {
    const db = await openDatabase(`file:${join(dir, 'registry.db')}`);
    try {
      expect(await pragmas(db)).toEqual(EXPECTED);
      // Interactive transactions run on the same connection.
      const inTransaction = await db.prisma.$transaction(async (tx) =>
        Number(Object.values((await tx.$queryRawUnsafe<Record<string, unknown>[]>('PRAGMA synchronous'))[0] ?? {})[0]),
      );
      expect(inTransaction).toBe(2);
      // Prisma opens a new connection after $disconnect: it gets the same settings.
      await db.prisma.$disconnect();
      expect(await pragmas(db)).toEqual(EXPECTED);
    } finally {
      await db.close();
    }
  });

  // The SQLite adapter has one connection: a statement from elsewhere must not run inside an
  // open interactive transaction (see SerialConnection in src/store/database.ts).
  it('keeps other statements out of an open transaction', async () => {
    const db = await openDatabase(`file:${join(dir, 'registry.db')}`);
    try {
      let outsideWrite: Promise<unknown> | undefined;
      let outsideRead: Promise<{ key: string }[]> | undefined;
      await db.prisma
        .$transaction(async (tx) => {
          await tx.registryMeta.create({ data: { key: 'inside', value: '1' } });
          // `.then` starts them now (Prisma's promises are lazy), without waiting for them here.
          outsideWrite = db.prisma.registryMeta.create({ data: { key: 'outside', value: '1' } }).then((row) => row);
          outsideRead = db.prisma.registryMeta.findMany({ where: { key: 'inside' } }).then((rows) => rows);
          await new Promise((done) => setTimeout(done, 50));
          throw new Error('roll back');
        })
        .catch(() => {});
      await outsideWrite;
      // The read did not see the uncommitted row, and the write survived the rollback.
      expect(await outsideRead).toEqual([]);
      const keys = (await db.prisma.registryMeta.findMany({ orderBy: { key: 'asc' } })).map((row) => row.key);
      expect(keys).toEqual(['outside', 'page_token_key']);
    } finally {
      await db.close();
    }
  });

  it('sets them without migrating too', async () => {
    const db = await openDatabase(`file:${join(dir, 'fresh.db')}`, { migrate: false });
    try {
      expect(await pragmas(db)).toEqual(EXPECTED);
      await expect(db.prisma.moduleClass.count()).rejects.toThrow();
    } finally {
      await db.close();
    }
  });

  it('creates the file and its folders, relative to the working directory', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const db = await openDatabase('file:./data/nested/registry.db');
      await db.close();
    } finally {
      process.chdir(cwd);
    }
    expect(existsSync(join(dir, 'data', 'nested', 'registry.db'))).toBe(true);
  });
});

describe.runIf(postgresAvailable)('openDatabase on postgresql', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase('postgresql');
  });
  afterAll(async () => {
    await testDb.drop();
  });

  it('gives every indexed text column the C collation', async () => {
    const db = await openDatabase(testDb.url);
    try {
      const columns = await db.prisma.$queryRawUnsafe<{ column: string; collation: string | null }[]>(`
        SELECT DISTINCT c.relname || '.' || a.attname AS column, co.collname AS collation
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
          LEFT JOIN pg_collation co ON co.oid = a.attcollation
         WHERE a.atttypid = 'text'::regtype AND c.relname <> '_prisma_migrations'
         ORDER BY 1`);
      // At least the init migration's columns; any indexed text column added later must be C too.
      expect(columns.map((c) => c.column)).toEqual(expect.arrayContaining([
        'api_token.name',
        'api_token.secret_hash',
        'config.name',
        'config_class_ref.class_id',
        'config_class_ref.config_name',
        'config_label.config_name',
        'config_label.key',
        'config_label.value',
        'config_version.config_name',
        'module_class.id',
        'registry_meta.key',
      ]));
      expect(columns.filter((c) => c.collation !== 'C'), 'add COLLATE "C" in the PostgreSQL migration').toEqual([]);
    } finally {
      await db.close();
    }
  });

  describe('an unreachable server', () => {
    let server: Server;
    let port = 0;
    const sockets = new Set<Socket>();
    beforeAll(async () => {
      // Accepts connections and never answers: the worst case (a firewall that drops, a hung host).
      server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      port = (server.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((done) => server.close(done));
    });

    it('fails fast instead of hanging (no migration)', async () => {
      const started = Date.now();
      await expect(openDatabase(`postgresql://root@127.0.0.1:${port}/registry`, { migrate: false })).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(8000);
    });

    it('fails fast instead of hanging (migrating)', async () => {
      const started = Date.now();
      await expect(openDatabase(`postgresql://root@127.0.0.1:${port}/registry`)).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(8000);
    });
  });
});
