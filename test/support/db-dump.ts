// A full, deterministic dump of a test database through the raw drivers (better-sqlite3, pg), so
// a test can say "this request changed nothing" byte for byte: every table the migrations made
// (found in the catalogue, so new tables are covered without touching this file), every row,
// ordered by every column, every value with its type.
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { databaseKind, sqliteFilePath } from '../../src/store/database.js';

export interface DatabaseDumper {
  /** The whole database as text; two equal dumps mean two identical databases. */
  dump(): Promise<string>;
  /** Runs one read-only query (parameters bound, never spliced in), for invariant checks. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** Opens a second connection to the database at `url`, used only for reading. */
export async function openDumper(url: string): Promise<DatabaseDumper> {
  return databaseKind(url) === 'sqlite' ? sqliteDumper(url) : postgresDumper(url);
}

function encode(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Buffer.isBuffer(value)) return `x'${value.toString('hex')}'`;
  if (value instanceof Date) return `t'${value.toISOString()}'`;
  if (typeof value === 'bigint') return `${value}n`;
  // JSON.stringify escapes every control character and lone surrogate, so the dump stays
  // comparable text whatever a row holds.
  return `${typeof value}:${JSON.stringify(value)}`;
}

function render(table: string, columns: string[], rows: unknown[][]): string {
  return [`## ${table} (${columns.join(', ')}) ${rows.length} rows`, ...rows.map((row) => row.map(encode).join(' | '))].join('\n');
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

function sqliteDumper(url: string): DatabaseDumper {
  const db = new Sqlite(sqliteFilePath(url), { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return {
    async dump() {
      // One read transaction: every table from the same snapshot.
      return db.transaction(() => {
        const tables = db
          .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`)
          .pluck()
          .all() as string[];
        return tables
          .map((table) => {
            const columns = (db.prepare(`PRAGMA table_info(${quoteIdent(table)})`).all() as Array<{ name: string }>).map((c) => c.name);
            const order = columns.map((_, i) => String(i + 1)).join(', ');
            const rows = db.prepare(`SELECT * FROM ${quoteIdent(table)} ORDER BY ${order}`).raw().all() as unknown[][];
            return render(table, columns, rows);
          })
          .join('\n');
      })();
    },
    async query<T>(sql: string, params: unknown[] = []) {
      return db.prepare(sql).all(...params) as T[];
    },
    async close() {
      db.close();
    },
  };
}

async function postgresDumper(url: string): Promise<DatabaseDumper> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  await client.connect();
  // One statement (so one snapshot and one round trip) that renders every table as JSON, rows
  // ordered by every column in byte order (the dump must not depend on the database collation).
  // Built on first use, from the catalogue.
  let dumpSql: string | undefined;
  const buildDumpSql = async () => {
    const { rows } = await client.query<{ table_name: string; column_name: string; data_type: string }>(
      `SELECT c.table_name, c.column_name, c.data_type
         FROM information_schema.columns c
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
        ORDER BY c.table_name COLLATE "C", c.ordinal_position`,
    );
    const tables = new Map<string, string[]>();
    for (const r of rows) {
      const order = /char|text/.test(r.data_type) ? `t.${quoteIdent(r.column_name)} COLLATE "C"` : `t.${quoteIdent(r.column_name)}`;
      tables.set(r.table_name, [...(tables.get(r.table_name) ?? []), order]);
    }
    const parts = [...tables].map(
      ([table, order]) =>
        `(SELECT coalesce(json_agg(t ORDER BY ${order.join(', ')}), '[]'::json)::text FROM ${quoteIdent(table)} t) AS ${quoteIdent(table)}`,
    );
    return `SELECT ${parts.join(',\n')}`;
  };
  return {
    async dump() {
      dumpSql ??= await buildDumpSql();
      const { rows } = await client.query<Record<string, string>>(dumpSql);
      return Object.entries(rows[0] ?? {})
        .map(([table, json]) => `## ${table}\n${json}`)
        .join('\n');
    },
    async query<T>(sql: string, params: unknown[] = []) {
      const { rows } = await client.query(sql, params);
      return rows as T[];
    },
    async close() {
      await client.end().catch(() => {});
    },
  };
}
