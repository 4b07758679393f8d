// What tables and columns a database actually has, from its own catalog (SQLite's
// pragma_table_info, PostgreSQL's information_schema and pg_index), in the small type vocabulary a
// registry dump carries. Used by the dump so that it follows the schema the migrations made rather
// than a second copy of it.
import type { DatabaseKind, PrismaClient } from './database.js';

/** A client or an interactive transaction: anything that runs raw queries. */
export type Queryable = Pick<PrismaClient, '$queryRawUnsafe' | '$executeRawUnsafe'>;

/**
 * The column types a dump carries, whatever the database calls them. Prisma's String, Int,
 * Boolean and DateTime (and enums, as text) are all our schema uses; anything else is refused by
 * name (see `columnType`) rather than carried wrongly.
 */
export type ColumnType = 'text' | 'integer' | 'boolean' | 'datetime';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

export interface TableShape {
  readonly name: string;
  /** In the table's column order. */
  readonly columns: readonly Column[];
  /** Primary-key columns in key order (the order rows are dumped in). */
  readonly primaryKey: readonly string[];
  /** Columns filled from a sequence (PostgreSQL serial or identity), which must follow an import. */
  readonly sequenceColumns: readonly string[];
}

export class UnsupportedColumnError extends Error {}

/** SQL names are only ever ones our migrations made: plain identifiers, quoted. */
export function quoteIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a plain SQL identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

/** `$1, $2, ...` on PostgreSQL, `?` on SQLite. */
export function placeholder(kind: DatabaseKind, index: number): string {
  return kind === 'postgresql' ? `$${index + 1}` : '?';
}

/** Whether the database has `table` (in the current schema, on PostgreSQL). */
export async function tableExists(db: Queryable, kind: DatabaseKind, table: string): Promise<boolean> {
  const rows =
    kind === 'sqlite'
      ? await db.$queryRawUnsafe<unknown[]>("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", table)
      : await db.$queryRawUnsafe<unknown[]>(
          'SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1',
          table,
        );
  return rows.length > 0;
}

/** The shape of `table`, or null when the database has no such table. */
export async function tableShape(db: Queryable, kind: DatabaseKind, table: string): Promise<TableShape | null> {
  return kind === 'sqlite' ? sqliteShape(db, table) : postgresShape(db, table);
}

async function sqliteShape(db: Queryable, table: string): Promise<TableShape | null> {
  const rows = await db.$queryRawUnsafe<Array<{ name: string; type: string; pk: number | bigint }>>(
    'SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid',
    table,
  );
  if (rows.length === 0) return null;
  const columns = rows.map((row) => ({ name: row.name, type: columnType(table, row.name, row.type) }));
  const primaryKey = rows
    .filter((row) => Number(row.pk) > 0)
    .sort((a, b) => Number(a.pk) - Number(b.pk))
    .map((row) => row.name);
  // SQLite moves AUTOINCREMENT counters itself when rows with explicit ids are inserted.
  return { name: table, columns, primaryKey, sequenceColumns: [] };
}

async function postgresShape(db: Queryable, table: string): Promise<TableShape | null> {
  const rows = await db.$queryRawUnsafe<Array<{ name: string; data_type: string; sequence: string | null }>>(
    `SELECT column_name AS name, data_type,
            pg_get_serial_sequence(quote_ident(table_schema) || '.' || quote_ident(table_name), column_name) AS sequence
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = $1
      ORDER BY ordinal_position`,
    table,
  );
  if (rows.length === 0) return null;
  const columns = rows.map((row) => ({ name: row.name, type: columnType(table, row.name, row.data_type) }));
  const keys = await db.$queryRawUnsafe<Array<{ name: string }>>(
    `SELECT a.attname AS name
       FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident($1)) AND i.indisprimary
      ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    table,
  );
  return {
    name: table,
    columns,
    primaryKey: keys.map((key) => key.name),
    sequenceColumns: rows.filter((row) => row.sequence !== null).map((row) => row.name),
  };
}

/**
 * The dump type of a column from its declared type: SQLite's as Prisma's SQLite migrations write
 * it, PostgreSQL's `information_schema.columns.data_type`.
 */
function columnType(table: string, column: string, declared: string): ColumnType {
  switch (declared.toLowerCase()) {
    case 'text':
    case 'character varying':
    case 'user-defined': // a Prisma enum on PostgreSQL; its values are text
      return 'text';
    case 'integer':
    case 'int':
    case 'smallint':
      return 'integer';
    case 'boolean':
      return 'boolean';
    case 'datetime':
    case 'timestamp without time zone':
    case 'timestamp with time zone':
      return 'datetime';
    default:
      throw new UnsupportedColumnError(
        `column ${table}.${column} has type ${declared}, which registry dumps do not carry yet ` +
          '(extend ColumnType in src/store/catalog.ts and the conversions in src/store/registry-dump.ts)',
      );
  }
}
