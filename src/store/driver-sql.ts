// The hot statements (a config read, a new version, a page of configs) go to Prisma's driver
// adapter directly: the connection (SQLite) or pool (PostgreSQL) the Prisma client itself runs on,
// with its argument mapping, its error kinds and, on SQLite, the same one-transaction-at-a-time
// queue (SerialConnection in database.ts). What they skip is the client's per-call pipeline: a raw
// query through `$queryRawUnsafe` cost ~170 µs of CPU here and an ORM `findUnique` ~580 µs,
// against ~10-20 µs for the statement itself (BENCHMARKS.md has the measurements). The Prisma
// client keeps the schema, the migrations' model, and every other statement.
//
// Written here because no library offers it: Prisma exposes the adapter interface
// (@prisma/driver-adapter-utils) but no helper to run a statement or a transaction on it.
import type {
  ArgType,
  SqlDriverAdapter,
  SqlQueryable,
  SqlResultSet,
  Transaction,
} from '@prisma/driver-adapter-utils';
import type { DatabaseKind } from './database.js';

/** What a statement may bind: never spliced into the SQL text. */
export type SqlValue = string | number | boolean | Date | null | readonly string[];

/** A statement's text for both dialects, written once with `?` placeholders. */
export interface Statement {
  readonly sqlite: string;
  readonly postgresql: string;
}

/**
 * Makes a statement from SQL text with `?` placeholders (PostgreSQL gets `$1, $2, ...`). The text
 * must come from this code base, never from a request: values are bound, not spliced. Statement
 * texts hold no `?` of their own (no string literals with one, no JSON operators).
 */
export function statement(text: string): Statement {
  let n = 0;
  return { sqlite: text, postgresql: text.replace(/\?/g, () => `$${++n}`) };
}

/** `count` placeholders separated by commas: for IN lists and multi-row VALUES. */
export function placeholders(count: number, each = '?'): string {
  return Array.from({ length: count }, () => each).join(', ');
}

function argType(value: SqlValue): ArgType {
  if (Array.isArray(value)) return { scalarType: 'string', arity: 'list' };
  if (value instanceof Date) return { scalarType: 'datetime', arity: 'scalar' };
  switch (typeof value) {
    case 'number':
      return { scalarType: 'int', arity: 'scalar' };
    case 'boolean':
      return { scalarType: 'boolean', arity: 'scalar' };
    default:
      return { scalarType: 'string', arity: 'scalar' };
  }
}

/** A result row by column name. */
export type Row = Record<string, unknown>;

function rowsOf(result: SqlResultSet): Row[] {
  const { columnNames, rows } = result;
  return rows.map((values) => {
    const row: Row = {};
    for (let i = 0; i < columnNames.length; i++) row[columnNames[i]!] = values[i];
    return row;
  });
}

/** A timestamp column as the adapters return it: SQLite's stored ISO text, PostgreSQL's text or Date. */
export function asDate(value: unknown): Date {
  if (value instanceof Date) return value;
  const text = String(value);
  // PostgreSQL `timestamp(3)` (UTC by convention) comes without an offset.
  return new Date(/(Z|[+-]\d\d:?\d\d)$/.test(text) ? text : `${text.replace(' ', 'T')}Z`);
}

export function asNullableDate(value: unknown): Date | null {
  return value === null || value === undefined ? null : asDate(value);
}

/** A boolean column: SQLite stores 0/1. */
export function asBoolean(value: unknown): boolean {
  return value === true || value === 1 || value === 1n || value === '1' || value === 't';
}

/** Runs statements on one queryable (the adapter, or an open transaction). */
export class SqlRunner {
  constructor(
    protected readonly queryable: () => SqlQueryable,
    readonly kind: DatabaseKind,
  ) {}

  private query(s: Statement, args: readonly SqlValue[]) {
    return {
      sql: this.kind === 'postgresql' ? s.postgresql : s.sqlite,
      args: args as unknown[],
      argTypes: args.map(argType),
    };
  }

  async rows(s: Statement, args: readonly SqlValue[] = []): Promise<Row[]> {
    return rowsOf(await this.queryable().queryRaw(this.query(s, args)));
  }

  /** The number of rows changed. */
  execute(s: Statement, args: readonly SqlValue[] = []): Promise<number> {
    return this.queryable().executeRaw(this.query(s, args));
  }
}

const COMMIT = statement('COMMIT');
const ROLLBACK = statement('ROLLBACK');

/** Statements and transactions on the Prisma client's own driver adapter. */
export class DriverSql extends SqlRunner {
  constructor(
    private readonly adapter: () => SqlDriverAdapter,
    kind: DatabaseKind,
  ) {
    super(adapter, kind);
  }

  /**
   * Runs `work` in a transaction: committed when it resolves, rolled back when it throws. The
   * adapters open the transaction (BEGIN) and leave COMMIT/ROLLBACK to their caller, as the
   * Prisma client's own transaction manager does.
   */
  async transaction<T>(work: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const tx: Transaction = await this.adapter().startTransaction();
    const runner = new SqlRunner(() => tx, this.kind);
    let result: T;
    try {
      result = await work(runner);
    } catch (error) {
      try {
        await runner.execute(ROLLBACK);
      } catch {
        // The connection is gone or the transaction already ended: the database rolls back.
      }
      await tx.rollback();
      throw error;
    }
    try {
      await runner.execute(COMMIT);
    } catch (error) {
      await runner.execute(ROLLBACK).catch(() => {});
      await tx.rollback();
      throw error;
    }
    await tx.commit();
    return result;
  }
}
