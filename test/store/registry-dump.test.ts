// The dump's own rules, on each database: what it refuses, that a refused or broken import changes
// nothing, that the table list covers the schema, and that tables a database lacks are skipped.
// (test/cli/moving-up.test.ts moves a full registry across databases through the CLI.)
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableExists } from '../../src/store/catalog.js';
import { openDatabase, sqliteFilePath, type Database, type DatabaseKind } from '../../src/store/database.js';
import { applyMigrationList, loadMigrations } from '../../src/store/migrate.js';
import {
  DUMP_FORMAT_VERSION,
  DUMP_TABLES,
  DumpError,
  exportRegistry,
  importRegistry,
  type DumpTable,
} from '../../src/store/registry-dump.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

async function* linesOf(lines: string[]): AsyncGenerator<string> {
  yield* lines;
}

async function dumpOf(database: Database, tables?: readonly DumpTable[]): Promise<string[]> {
  const lines: string[] = [];
  await exportRegistry(database, (line) => void lines.push(line), tables === undefined ? {} : { tables });
  return lines;
}

/** Runs DDL the registry does not have (test tables) straight through the driver. */
async function execRaw(kind: DatabaseKind, url: string, sql: string): Promise<void> {
  if (kind === 'sqlite') {
    const db = new Sqlite(sqliteFilePath(url));
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  } else {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
}

describe.each(BACKENDS)('registry dump on %s', (kind) => {
  const made: TestDatabase[] = [];
  const opened: Database[] = [];
  async function freshDatabase(): Promise<{ url: string; database: Database }> {
    const db = await createTestDatabase(kind);
    made.push(db);
    const database = await openDatabase(db.url);
    opened.push(database);
    return { url: db.url, database };
  }
  let source: Database;
  let sourceUrl: string;

  beforeEach(async () => {
    ({ url: sourceUrl, database: source } = await freshDatabase());
    const at = new Date('2026-01-02T03:04:05.678Z');
    await source.prisma.config.create({ data: { name: 'kept', latestVersion: 1, createdAt: at, updatedAt: at } });
    await source.prisma.configVersion.create({
      data: {
        configName: 'kept',
        version: 1,
        configJson: '{"preserved_attributes":["a"]}',
        description: 'from the source',
        labelsJson: '{"team":"x"}',
        contentHash: 'sha256:0',
        createdAt: at,
        updatedBy: 'someone',
      },
    });
    await source.prisma.configLabel.create({ data: { configName: 'kept', key: 'team', value: 'x' } });
  });
  afterEach(async () => {
    for (const database of opened.splice(0)) await database.close();
    for (const db of made.splice(0)) await db.drop();
  });

  it('every table the migrations make is in DUMP_TABLES (a new table must be added there)', async () => {
    const tables =
      kind === 'sqlite'
        ? await source.prisma.$queryRawUnsafe<Array<{ name: string }>>(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
          )
        : await source.prisma.$queryRawUnsafe<Array<{ name: string }>>(
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
          );
    const listed = new Set(DUMP_TABLES.map((table) => table.name));
    const missing = tables.map((t) => t.name).filter((name) => name !== '_prisma_migrations' && !listed.has(name));
    expect(missing).toEqual([]);
  });

  it('a header with the format version and the source migrations, rows by table, an end line', async () => {
    const lines = await dumpOf(source);
    const header = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(header).toMatchObject({
      format: 'convert-config-registry-dump',
      formatVersion: DUMP_FORMAT_VERSION,
      source: { kind, migrations: loadMigrations(kind).map((m) => m.name) },
    });
    expect(lines).toContain(
      JSON.stringify({
        table: 'config',
        row: { name: 'kept', latest_version: 1, deleted: false, deleted_at: null, created_at: '2026-01-02T03:04:05.678Z', updated_at: '2026-01-02T03:04:05.678Z' },
      }),
    );
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ end: true, rowCounts: { config: 1, config_version: 1, config_label: 1, module_class: 4 } });
  });

  it('skips a listed table the database does not have, and says so in the header', async () => {
    const tables = [...DUMP_TABLES, { name: 'no_such_table' }];
    const lines = await dumpOf(source, tables);
    const header = JSON.parse(lines[0]!) as { skippedTables: string[]; tables: Array<{ name: string }> };
    expect(header.skippedTables).toContain('no_such_table');
    expect(header.tables.map((t) => t.name)).not.toContain('no_such_table');
    const { database: target } = await freshDatabase();
    await importRegistry(target, linesOf(lines), { tables });
    expect(await target.prisma.configLabel.count()).toBe(1);
  });

  it('refuses a target that holds a registry, unless told to overwrite it', async () => {
    const lines = await dumpOf(source);
    const { database: target } = await freshDatabase();
    const at = new Date();
    await target.prisma.config.create({ data: { name: 'other', latestVersion: 1, createdAt: at, updatedAt: at } });
    await expect(importRegistry(target, linesOf(lines))).rejects.toThrow(/already holds a registry \(config: 1 rows\)/);
    expect(await target.prisma.config.findMany({ select: { name: true } })).toEqual([{ name: 'other' }]);

    await importRegistry(target, linesOf(lines), { overwrite: true });
    expect(await target.prisma.config.findMany({ select: { name: true } })).toEqual([{ name: 'kept' }]);
    const key = await source.prisma.registryMeta.findUniqueOrThrow({ where: { key: 'page_token_key' } });
    expect(await target.prisma.registryMeta.findMany()).toEqual([key]);
  });

  it('changes nothing when the dump is truncated, miscounted or malformed', async () => {
    const lines = await dumpOf(source);
    const { database: target } = await freshDatabase();
    const keyBefore = await target.prisma.registryMeta.findMany();
    const classesBefore = await target.prisma.moduleClass.findMany({ orderBy: { id: 'asc' } });
    const end = JSON.parse(lines.at(-1)!) as { rowCounts: Record<string, number> };
    const configLine = lines.findIndex((line) => line.startsWith('{"table":"config",'));
    const cases: Array<[string[], RegExp]> = [
      [lines.slice(0, -1), /without its end line: it is truncated/],
      [[...lines.slice(0, -1), JSON.stringify({ end: true, rowCounts: { ...end.rowCounts, config: 2 } })], /counts 2 rows of config, the dump has 1/],
      [[...lines, '{"table":"config","row":{}}'], /goes on after its end line/],
      [lines.map((line, i) => (i === configLine ? line.replace('"deleted":false', '"deleted":"no"') : line)), /config\.deleted is not a boolean/],
      [lines.map((line, i) => (i === configLine ? line.replace('"name":"kept"', '"name":"kept","owner":"x"') : line)), /config has no column owner/],
      [lines.map((line, i) => (i === configLine ? line.replace('"table":"config"', '"table":"secrets"') : line)), /table secrets is not in the header/],
      [[lines[0]!, ...lines.slice(1, -1).reverse(), lines.at(-1)!], /out of order/],
      [[lines[0]!, '{not json', lines.at(-1)!], /line 2 is not JSON/],
    ];
    for (const [dump, message] of cases) {
      await expect(importRegistry(target, linesOf(dump), { overwrite: true })).rejects.toThrow(message);
    }
    // A violated constraint is the database's refusal, with the same outcome.
    const orphan = lines.map((line) => (line.startsWith('{"table":"config_label"') ? line.replace('"config_name":"kept"', '"config_name":"nobody"') : line));
    await expect(importRegistry(target, linesOf(orphan), { overwrite: true })).rejects.toThrow();

    expect(await target.prisma.config.count()).toBe(0);
    expect(await target.prisma.registryMeta.findMany()).toEqual(keyBefore);
    expect(await target.prisma.moduleClass.findMany({ orderBy: { id: 'asc' } })).toEqual(classesBefore);
  });

  it('refuses a dump from a newer schema or a newer format, and one that is not a dump', async () => {
    const lines = await dumpOf(source);
    const { database: target } = await freshDatabase();
    const header = JSON.parse(lines[0]!) as { source: { migrations: string[] }; formatVersion: number };
    const withHeader = (h: unknown) => [JSON.stringify(h), ...lines.slice(1)];

    const newer = { ...header, source: { ...header.source, migrations: [...header.source.migrations, '29991231000000_future'] } };
    await expect(importRegistry(target, linesOf(withHeader(newer)))).rejects.toThrow(
      /newer schema \(migrations this version does not know: 29991231000000_future\)/,
    );
    const older = { ...header, source: { ...header.source, migrations: header.source.migrations.slice(0, 1) } };
    await expect(importRegistry(target, linesOf(withHeader(older)))).rejects.toThrow(/differs from the target's/);
    await expect(importRegistry(target, linesOf(withHeader({ ...header, formatVersion: 2 })))).rejects.toThrow(
      /format version 2; this version reads up to 1/,
    );
    await expect(importRegistry(target, linesOf(['> convert-config-registry@0.1.0 registry', ...lines]))).rejects.toThrow(
      /npm run --silent/,
    );
    await expect(importRegistry(target, linesOf([]))).rejects.toThrow(DumpError);
    expect(await target.prisma.config.count()).toBe(0);
  });

  it('refuses to export a database that is behind this version, or not a registry', async () => {
    const db = await createTestDatabase(kind);
    made.push(db);
    await applyMigrationList(kind, db.url, loadMigrations(kind).slice(0, 1));
    const behind = await openDatabase(db.url, { migrate: false });
    opened.push(behind);
    await expect(dumpOf(behind)).rejects.toThrow(/behind this version \(pending migrations: .*_seed.*\): start this version/);

    const empty = await createTestDatabase(kind);
    made.push(empty);
    const bare = await openDatabase(empty.url, { migrate: false });
    opened.push(bare);
    await expect(dumpOf(bare)).rejects.toThrow(/not a registry database/);
  });

  it('pages through tables larger than one batch, by composite key, and loads them all', async () => {
    // 3 configs x 400 versions: more than one 500-row batch of config_version, keyed by (name, version).
    const at = new Date('2026-03-04T05:06:07.089Z');
    for (const name of ['big-a', 'big-b', 'big-c']) {
      await source.prisma.config.create({ data: { name, latestVersion: 400, createdAt: at, updatedAt: at } });
      await source.prisma.configVersion.createMany({
        data: Array.from({ length: 400 }, (_, i) => ({
          configName: name,
          version: i + 1,
          configJson: `{"preserved_attributes":["v${i + 1}"]}`,
          description: '',
          labelsJson: '{}',
          contentHash: `sha256:${i}`,
          createdAt: new Date(at.getTime() + i),
          updatedBy: 'bulk',
        })),
      });
    }
    const lines = await dumpOf(source);
    const versions = lines.filter((line) => line.startsWith('{"table":"config_version"'));
    expect(versions).toHaveLength(1201);
    // In key order: big-a 1..400 (numerically), big-b ..., big-c ..., kept.
    const keys = versions.map((line) => {
      const { row } = JSON.parse(line) as { row: { config_name: string; version: number } };
      return `${row.config_name}/${row.version}`;
    });
    expect(keys.slice(398, 402)).toEqual(['big-a/399', 'big-a/400', 'big-b/1', 'big-b/2']);
    expect(new Set(keys).size).toBe(1201);

    const { database: target } = await freshDatabase();
    const counts = await importRegistry(target, linesOf(lines));
    expect(counts.config_version).toBe(1201);
    expect(await target.prisma.configVersion.count()).toBe(1201);
    const again = await dumpOf(target);
    expect(again.slice(1)).toEqual(lines.slice(1));
  });

  it('sequences continue after imported ids (serial / autoincrement columns)', async () => {
    const ddl =
      kind === 'sqlite'
        ? 'CREATE TABLE dump_test_serial (id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT NOT NULL)'
        : 'CREATE TABLE dump_test_serial (id SERIAL PRIMARY KEY, label TEXT NOT NULL)';
    const tables = [...DUMP_TABLES, { name: 'dump_test_serial' }];
    await execRaw(kind, sourceUrl, ddl);
    await execRaw(kind, sourceUrl, "INSERT INTO dump_test_serial (label) VALUES ('one'), ('two'), ('three')");
    const lines = await dumpOf(source, tables);
    expect(lines).toContain('{"table":"dump_test_serial","row":{"id":3,"label":"three"}}');

    const { url, database: target } = await freshDatabase();
    await execRaw(kind, url, ddl);
    expect(await tableExists(target.prisma, kind, 'dump_test_serial')).toBe(true);
    await importRegistry(target, linesOf(lines), { tables });
    await execRaw(kind, url, "INSERT INTO dump_test_serial (label) VALUES ('four')");
    const rows = await target.prisma.$queryRawUnsafe<Array<{ id: number; label: string }>>('SELECT id, label FROM dump_test_serial ORDER BY id');
    expect(rows.map((row) => [Number(row.id), row.label])).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
      [4, 'four'],
    ]);
  });
});
