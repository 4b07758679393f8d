// A whole registry as one NDJSON stream, to move it between databases (SQLite -> PostgreSQL when a
// team outgrows the file, or back): every row of the tables in DUMP_TABLES, exactly as stored.
//
//   {"format":"convert-config-registry-dump","formatVersion":1,"exportedAt":"...",
//    "source":{"kind":"sqlite","migrations":["20261128043736_init", ...]},
//    "tables":[{"name":"registry_meta","columns":[{"name":"key","type":"text"}, ...]}, ...],
//    "skippedTables":["api_token"]}
//   {"table":"registry_meta","row":{"key":"page_token_key","value":"..."}}
//   ... one line per row, table by table in DUMP_TABLES order, each by primary key ...
//   {"end":true,"rowCounts":{"registry_meta":1, ...}}
//
// Rows are copied column by column, not re-derived through the registry: versions keep their
// numbers, time stamps and authors, soft-deleted configs stay deleted, the label and class-ref
// index rows are the ones the source had, and registry_meta brings the page-token key along (page
// tokens handed out before the move still work after it). Values are carried in a neutral form
// (time stamps as RFC 3339 UTC with milliseconds, booleans as JSON booleans), so either database can
// read what the other wrote.
//
// The export reads one consistent snapshot. The import runs in one transaction into a database
// whose migration history equals the dump's: it either loads everything or changes nothing (a
// truncated dump has no end line and is refused).
import { loadMigrations } from './migrate.js';
import {
  placeholder,
  quoteIdentifier,
  tableExists,
  tableShape,
  type Column,
  type ColumnType,
  type Queryable,
  type TableShape,
} from './catalog.js';
import type { Database, DatabaseKind } from './database.js';

export interface DumpTable {
  /** The SQL table. */
  readonly name: string;
  /**
   * Rows the migrations insert by themselves, which a new, empty database already has and which an
   * import replaces: every row (`'all'`), or the rows whose boolean column `flag` is true.
   */
  readonly seeded?: 'all' | { readonly flag: string };
}

/**
 * Every table a dump carries, parents before children: rows are written and inserted in this
 * order, and an import clears the target in the reverse one. `_prisma_migrations` is not here: the
 * target has its own history (the header names the source's, and the two must agree).
 * test/store/registry-dump.test.ts fails if a migration adds a table that is not listed here.
 */
export const DUMP_TABLES: readonly DumpTable[] = [
  // The page-token signing key, made by the seed migration in every new database; the source's
  // replaces the target's so that page tokens stay valid across the move.
  { name: 'registry_meta', seeded: 'all' },
  // The built-ins are seeded too (and may have been edited since): the source's replace them.
  { name: 'module_class', seeded: { flag: 'built_in' } },
  // Configs with their deleted state, every version, and the index rows the lists read (labels of
  // each latest version, class references of live configs), copied rather than rebuilt.
  { name: 'config' },
  { name: 'config_version' },
  { name: 'config_label' },
  { name: 'config_class_ref' },
  // Aliases (after the versions they name) and every move of each, deletions included.
  { name: 'config_alias' },
  { name: 'config_alias_move' },
  // Bearer tokens (name, role, hash of the secret). The table comes with the auth work; a database
  // that does not have it is exported without it (tables a database lacks are skipped and named
  // in the header's `skippedTables`), so that dumps of registries from before it still load.
  { name: 'api_token' },
  // The change feed with its revisions as they were, and the revision counter (seeded at 0 by its
  // migration; the source's replaces it), so the first change after an import continues the feed.
  { name: 'registry_revision', seeded: 'all' },
  { name: 'registry_event' },
];

export const DUMP_FORMAT = 'convert-config-registry-dump';
export const DUMP_FORMAT_VERSION = 1;

export interface DumpHeader {
  format: typeof DUMP_FORMAT;
  formatVersion: number;
  exportedAt: string;
  source: { kind: DatabaseKind; migrations: string[] };
  tables: Array<{ name: string; columns: Column[] }>;
  skippedTables: string[];
}

/** A dump that cannot be written or loaded as asked; the message says why and what to do. */
export class DumpError extends Error {
  override readonly name = 'DumpError';
}

export interface DumpOptions {
  /** The tables to carry (default DUMP_TABLES); tests use their own. */
  tables?: readonly DumpTable[];
  /** Human-readable progress, one line per call (the CLI prints it on stderr). */
  onProgress?: (message: string) => void;
}

export interface ImportOptions extends DumpOptions {
  /** Replace whatever the target holds; without it a target that holds a registry is refused. */
  overwrite?: boolean;
}

/** Rows per SELECT while exporting and per INSERT while importing. */
const BATCH_ROWS = 500;
/** A progress line every so many rows of a big table. */
const PROGRESS_ROWS = 10_000;
/** Generous: the work is bounded by the registry's size, and a partial result is never kept. */
const TRANSACTION_OPTIONS = { maxWait: 30_000, timeout: 6 * 60 * 60_000 };

/**
 * Writes the whole registry, one line per `write` call (without the newline), from one snapshot.
 * Refuses a database whose migrations differ from this build's (older: start this version on it
 * once; newer: export with that version). Returns the row count per table.
 */
export async function exportRegistry(
  database: Database,
  write: (line: string) => void | Promise<void>,
  options: DumpOptions = {},
): Promise<Record<string, number>> {
  const { kind } = database;
  const tables = options.tables ?? DUMP_TABLES;
  const progress = options.onProgress ?? (() => {});
  return database.prisma.$transaction(async (tx) => {
    // A snapshot: rows written while the export runs are all in it or all not. (SQLite's deferred
    // transaction in WAL mode reads one snapshot by itself.)
    if (kind === 'postgresql') await tx.$executeRawUnsafe('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const migrations = await appliedMigrations(tx, kind);
    const expected = loadMigrations(kind).map((m) => m.name);
    const pending = expected.filter((name) => !migrations.includes(name));
    const unknown = migrations.filter((name) => !expected.includes(name));
    if (unknown.length > 0) {
      throw new DumpError(
        `the database was migrated by a newer version of the registry (${unknown.join(', ')}): export it with that version`,
      );
    }
    if (pending.length > 0) {
      throw new DumpError(
        `the database is behind this version (pending migrations: ${pending.join(', ')}): start this version ` +
          'of the service on it once (it migrates at start-up), stop it, then export',
      );
    }

    const shapes: TableShape[] = [];
    const skipped: string[] = [];
    for (const table of tables) {
      const shape = await tableShape(tx, kind, table.name);
      if (shape === null) skipped.push(table.name);
      else shapes.push(withPrimaryKey(shape));
    }
    const header: DumpHeader = {
      format: DUMP_FORMAT,
      formatVersion: DUMP_FORMAT_VERSION,
      exportedAt: new Date().toISOString(),
      source: { kind, migrations },
      tables: shapes.map((shape) => ({ name: shape.name, columns: [...shape.columns] })),
      skippedTables: skipped,
    };
    await write(JSON.stringify(header));
    if (skipped.length > 0) progress(`skipped (not in this database): ${skipped.join(', ')}`);

    const rowCounts: Record<string, number> = {};
    for (const shape of shapes) {
      let count = 0;
      for await (const row of readRows(tx, kind, shape)) {
        await write(JSON.stringify({ table: shape.name, row: rowToJson(shape, row) }));
        count += 1;
        if (count % PROGRESS_ROWS === 0) progress(`${shape.name}: ${count} rows so far`);
      }
      rowCounts[shape.name] = count;
      progress(`${shape.name}: ${count} row${count === 1 ? '' : 's'}`);
    }
    await write(JSON.stringify({ end: true, rowCounts }));
    return rowCounts;
  }, TRANSACTION_OPTIONS);
}

/**
 * Loads a dump into `database`, which must already be migrated (openDatabase does that) to the
 * dump's migrations, in one transaction. Refuses a target that holds a registry (any config,
 * token or non-built-in class) unless `overwrite`. Returns the row count per table.
 */
export async function importRegistry(
  database: Database,
  lines: AsyncIterable<string>,
  options: ImportOptions = {},
): Promise<Record<string, number>> {
  const { kind } = database;
  const tables = options.tables ?? DUMP_TABLES;
  const progress = options.onProgress ?? (() => {});
  const reader = new LineReader(lines);

  const first = await reader.next();
  if (first === undefined) throw new DumpError('the dump is empty');
  const header = parseHeader(first);

  // The rows must fit the target's schema: same migrations on both sides.
  const known = loadMigrations(kind).map((m) => m.name);
  const newer = header.source.migrations.filter((name) => !known.includes(name));
  if (newer.length > 0) {
    throw new DumpError(
      `the dump comes from a newer schema (migrations this version does not know: ${newer.join(', ')}): ` +
        'import it with the version that exported it, or a newer one',
    );
  }
  const target = await appliedMigrations(database.prisma, kind);
  if (target.join('\n') !== header.source.migrations.join('\n')) {
    throw new DumpError(
      `the dump's schema (migrations ${header.source.migrations.join(', ') || 'none'}) differs from the target's ` +
        `(${target.join(', ') || 'none'}): bring the source up to this version (start this version of the service ` +
        'on it once), then export and import with the same version',
    );
  }

  const listed = new Map(tables.map((table) => [table.name, table]));
  const targetShapes = new Map<string, TableShape>();
  for (const table of tables) {
    const shape = await tableShape(database.prisma, kind, table.name);
    if (shape !== null) targetShapes.set(table.name, shape);
  }
  for (const table of header.tables) {
    if (!listed.has(table.name)) throw new DumpError(`the dump has a table this version does not import: ${table.name}`);
    const shape = targetShapes.get(table.name);
    if (shape === undefined) throw new DumpError(`the target database has no table ${table.name}, which the dump fills`);
    const wanted = describeColumns(shape.columns);
    const given = describeColumns(table.columns);
    if (wanted !== given) {
      throw new DumpError(`table ${table.name} differs: the dump has columns (${given}), the target (${wanted})`);
    }
  }
  const order = new Map(header.tables.map((table, index) => [table.name, index]));

  return database.prisma.$transaction(async (tx) => {
    if (!options.overwrite) await assertHoldsNoRegistry(tx, tables, targetShapes);
    // What the migrations seeded (and, with overwrite, everything else) makes way for the dump.
    for (const table of [...tables].reverse()) {
      if (targetShapes.has(table.name)) await tx.$executeRawUnsafe(`DELETE FROM ${quoteIdentifier(table.name)}`);
    }

    const rowCounts: Record<string, number> = {};
    let current: { index: number; name: string; columns: Column[] } | undefined;
    let batch: unknown[][] = [];
    const flush = async () => {
      if (current === undefined || batch.length === 0) return;
      await insertRows(tx, kind, current.name, current.columns, batch);
      batch = [];
    };
    const finishTable = async () => {
      await flush();
      if (current !== undefined) {
        const count = rowCounts[current.name] ?? 0;
        progress(`${current.name}: ${count} row${count === 1 ? '' : 's'}`);
      }
    };

    for (;;) {
      const line = await reader.next();
      if (line === undefined) {
        throw new DumpError(`the dump ends at line ${reader.lineNumber} without its end line: it is truncated`);
      }
      const item = parseItem(line, reader.lineNumber);
      if ('end' in item) {
        await finishTable();
        for (const table of header.tables) if (rowCounts[table.name] === undefined) progress(`${table.name}: 0 rows`);
        for (const table of header.tables) {
          const expected = item.rowCounts[table.name];
          const got = rowCounts[table.name] ?? 0;
          if (expected !== got) {
            throw new DumpError(`the end line counts ${String(expected)} rows of ${table.name}, the dump has ${got}`);
          }
        }
        if ((await reader.next()) !== undefined) {
          throw new DumpError(`line ${reader.lineNumber}: the dump goes on after its end line`);
        }
        break;
      }
      const index = order.get(item.table);
      if (index === undefined) throw new DumpError(`line ${reader.lineNumber}: table ${item.table} is not in the header`);
      if (current === undefined || index !== current.index) {
        // Parents before children, as the export writes them: the foreign keys hold at every insert.
        if (current !== undefined && index < current.index) {
          throw new DumpError(`line ${reader.lineNumber}: a ${item.table} row after ${current.name} rows (out of order)`);
        }
        await finishTable();
        current = { index, name: item.table, columns: header.tables[index]!.columns };
      }
      batch.push(rowFromJson(current.name, current.columns, item.row, reader.lineNumber));
      const count = (rowCounts[current.name] ?? 0) + 1;
      rowCounts[current.name] = count;
      if (batch.length >= BATCH_ROWS) await flush();
      if (count % PROGRESS_ROWS === 0) progress(`${current.name}: ${count} rows so far`);
    }

    // Sequences (PostgreSQL serial or identity columns) continue after the imported ids.
    for (const shape of targetShapes.values()) {
      for (const column of shape.sequenceColumns) {
        await tx.$queryRawUnsafe(
          `SELECT setval(pg_get_serial_sequence(quote_ident(current_schema()) || '.' || quote_ident($1), $2),
                         COALESCE((SELECT MAX(${quoteIdentifier(column)}) FROM ${quoteIdentifier(shape.name)}), 0) + 1, false)`,
          shape.name,
          column,
        );
      }
    }
    return rowCounts;
  }, TRANSACTION_OPTIONS);
}

/** The migrations recorded as applied (finished, not rolled back), by name. */
async function appliedMigrations(db: Queryable, kind: DatabaseKind): Promise<string[]> {
  if (!(await tableExists(db, kind, '_prisma_migrations'))) {
    throw new DumpError('the database has no migration history (_prisma_migrations): it is not a registry database');
  }
  const rows = await db.$queryRawUnsafe<Array<{ migration_name: string }>>(
    'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name',
  );
  return rows.map((row) => row.migration_name);
}

function withPrimaryKey(shape: TableShape): TableShape {
  if (shape.primaryKey.length === 0) throw new DumpError(`table ${shape.name} has no primary key to order its rows by`);
  return shape;
}

function describeColumns(columns: readonly Column[]): string {
  return columns
    .map((column) => `${column.name} ${column.type}`)
    .sort()
    .join(', ');
}

/** Every row of a table by primary key, a batch at a time (keyset paging: no OFFSET rescans). */
async function* readRows(tx: Queryable, kind: DatabaseKind, shape: TableShape): AsyncGenerator<Record<string, unknown>> {
  const columns = shape.columns.map((column) => quoteIdentifier(column.name)).join(', ');
  const key = shape.primaryKey.map(quoteIdentifier).join(', ');
  let after: unknown[] | undefined;
  for (;;) {
    const where =
      after === undefined ? '' : ` WHERE (${key}) > (${shape.primaryKey.map((_, i) => placeholder(kind, i)).join(', ')})`;
    const rows = await tx.$queryRawUnsafe<Array<Record<string, unknown>>>(
      `SELECT ${columns} FROM ${quoteIdentifier(shape.name)}${where} ORDER BY ${key} LIMIT ${BATCH_ROWS}`,
      ...(after ?? []),
    );
    yield* rows;
    if (rows.length < BATCH_ROWS) return;
    const last = rows[rows.length - 1]!;
    after = shape.primaryKey.map((name) => last[name]);
  }
}

async function insertRows(tx: Queryable, kind: DatabaseKind, table: string, columns: readonly Column[], rows: unknown[][]): Promise<void> {
  const names = columns.map((column) => quoteIdentifier(column.name)).join(', ');
  let index = 0;
  const tuples = rows.map(() => `(${columns.map(() => placeholder(kind, index++)).join(', ')})`).join(', ');
  await tx.$executeRawUnsafe(`INSERT INTO ${quoteIdentifier(table)} (${names}) VALUES ${tuples}`, ...rows.flat());
}

/** A row as the driver returned it (Prisma's typed raw results) -> the dump's neutral JSON form. */
function rowToJson(shape: TableShape, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of shape.columns) {
    out[column.name] = valueToJson(shape.name, column, row[column.name]);
  }
  return out;
}

function valueToJson(table: string, column: Column, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (column.type) {
    case 'datetime':
      if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
      break;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 0 || value === 1 || value === 0n || value === 1n) return Boolean(value);
      break;
    case 'integer':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      if (typeof value === 'bigint' && Number.isSafeInteger(Number(value))) return Number(value);
      break;
    case 'text':
      if (typeof value === 'string') return value;
      break;
  }
  throw new DumpError(`${table}.${column.name}: unexpected ${typeof value} value for a ${column.type} column`);
}

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** A dump row -> the values to insert, in `columns` order, checked against the column types. */
function rowFromJson(table: string, columns: readonly Column[], row: Record<string, unknown>, line: number): unknown[] {
  const extra = Object.keys(row).filter((name) => !columns.some((column) => column.name === name));
  if (extra.length > 0) throw new DumpError(`line ${line}: ${table} has no column ${extra.join(', ')}`);
  return columns.map((column) => {
    if (!(column.name in row)) throw new DumpError(`line ${line}: ${table} row without ${column.name}`);
    const value = row[column.name];
    if (value === null) return null;
    const ok =
      (column.type === 'text' && typeof value === 'string') ||
      (column.type === 'integer' && typeof value === 'number' && Number.isSafeInteger(value)) ||
      (column.type === 'boolean' && typeof value === 'boolean') ||
      (column.type === 'datetime' && typeof value === 'string' && RFC3339_UTC.test(value));
    if (!ok) throw new DumpError(`line ${line}: ${table}.${column.name} is not a ${column.type}: ${JSON.stringify(value)}`);
    return column.type === 'datetime' ? new Date(value as string) : value;
  });
}

const COLUMN_TYPES: readonly ColumnType[] = ['text', 'integer', 'boolean', 'datetime'];

function parseJsonLine(line: string, lineNumber: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    const hint = lineNumber === 1 && line.startsWith('>') ? ' (it looks like npm\'s script banner: run `npm run --silent registry ...`)' : '';
    throw new DumpError(`line ${lineNumber} is not JSON${hint}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DumpError(`line ${lineNumber} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function parseHeader(line: string): DumpHeader {
  const value = parseJsonLine(line, 1);
  if (value.format !== DUMP_FORMAT) throw new DumpError(`line 1 is not a registry dump header (no "format": "${DUMP_FORMAT}")`);
  const version = value.formatVersion;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new DumpError('the dump header has no valid formatVersion');
  }
  if (version > DUMP_FORMAT_VERSION) {
    throw new DumpError(
      `the dump has format version ${version}; this version reads up to ${DUMP_FORMAT_VERSION}: import it with a newer version`,
    );
  }
  const source = value.source as { kind?: unknown; migrations?: unknown } | undefined;
  const tables = value.tables;
  const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
  const valid =
    typeof source === 'object' &&
    source !== null &&
    (source.kind === 'sqlite' || source.kind === 'postgresql') &&
    isStrings(source.migrations) &&
    Array.isArray(tables) &&
    tables.every(
      (t: unknown) =>
        typeof t === 'object' &&
        t !== null &&
        typeof (t as { name?: unknown }).name === 'string' &&
        Array.isArray((t as { columns?: unknown }).columns) &&
        ((t as { columns: unknown[] }).columns).every(
          (c) =>
            typeof c === 'object' &&
            c !== null &&
            typeof (c as { name?: unknown }).name === 'string' &&
            COLUMN_TYPES.includes((c as { type?: unknown }).type as ColumnType),
        ),
    ) &&
    (value.skippedTables === undefined || isStrings(value.skippedTables));
  if (!valid) throw new DumpError('the dump header is malformed (source, tables or skippedTables)');
  const header = value as unknown as DumpHeader;
  if (new Set(header.tables.map((t) => t.name)).size !== header.tables.length) {
    throw new DumpError('the dump header lists a table twice');
  }
  return { ...header, skippedTables: header.skippedTables ?? [] };
}

type Item = { table: string; row: Record<string, unknown> } | { end: true; rowCounts: Record<string, number> };

function parseItem(line: string, lineNumber: number): Item {
  const value = parseJsonLine(line, lineNumber);
  if (value.end === true) {
    const counts = value.rowCounts;
    if (typeof counts !== 'object' || counts === null || Object.values(counts).some((n) => !Number.isSafeInteger(n))) {
      throw new DumpError(`line ${lineNumber}: the end line has no valid rowCounts`);
    }
    return { end: true, rowCounts: counts as Record<string, number> };
  }
  if (typeof value.table !== 'string' || typeof value.row !== 'object' || value.row === null || Array.isArray(value.row)) {
    throw new DumpError(`line ${lineNumber} is neither a row ({"table", "row"}) nor the end line`);
  }
  return { table: value.table, row: value.row as Record<string, unknown> };
}

/** Non-empty lines one at a time, counting every line read. */
class LineReader {
  #iterator: AsyncIterator<string>;
  lineNumber = 0;

  constructor(lines: AsyncIterable<string>) {
    this.#iterator = lines[Symbol.asyncIterator]();
  }

  async next(): Promise<string | undefined> {
    for (;;) {
      const { value, done } = await this.#iterator.next();
      if (done) return undefined;
      this.lineNumber += 1;
      if (value.trim() !== '') return value;
    }
  }
}

async function assertHoldsNoRegistry(
  tx: Queryable,
  tables: readonly DumpTable[],
  shapes: ReadonlyMap<string, TableShape>,
): Promise<void> {
  const held: string[] = [];
  for (const table of tables) {
    if (!shapes.has(table.name) || table.seeded === 'all') continue;
    const where = table.seeded === undefined ? '' : ` WHERE NOT ${quoteIdentifier(table.seeded.flag)}`;
    const rows = await tx.$queryRawUnsafe<Array<{ n: number | bigint }>>(
      `SELECT COUNT(*) AS n FROM ${quoteIdentifier(table.name)}${where}`,
    );
    const n = Number(rows[0]?.n ?? 0);
    if (n > 0) held.push(`${table.name}: ${n}`);
  }
  if (held.length > 0) {
    throw new DumpError(
      `the target database already holds a registry (${held.join(', ')} rows): import into a new database, ` +
        'or pass --overwrite to replace everything in it',
    );
  }
}
