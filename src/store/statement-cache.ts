// Prepared statements kept for reuse on the SQLite connection.
//
// The 7.10 SQLite driver adapter prepares every statement anew (`client.prepare(sql).bind(args)`
// for each query): SQLite compiles the text again each time, and on a PUT that was the largest
// single item of the profile (better-sqlite3's `prepare`: 18 % of the busy time at 32 writers,
// ~60 µs a PUT; BENCHMARKS.md). better-sqlite3 has no statement cache of its own, and a statement
// it hands out can be bound only once (`bind` is permanent), so the adapter cannot simply be given
// old ones. Here the connection's `prepare` answers, per SQL text, one compiled statement wrapped
// so that `bind(args)` keeps the arguments for the call that runs it instead of binding them;
// everything else the adapter does (its argument and row mapping, its error conversion) is
// unchanged. Written here because no library offers it for this adapter.
import type Sqlite from 'better-sqlite3';

/** How many distinct statement texts are kept; the oldest used is dropped beyond it. */
export const STATEMENT_CACHE_SIZE = 256;

type Args = unknown[];

/** A compiled statement as `prepare` answers it: `bind(args)` makes the query to run. */
class Prepared {
  constructor(private readonly statement: Sqlite.Statement) {}

  get reader(): boolean {
    return this.statement.reader;
  }

  bind(args: Args): Bound {
    return new Bound(this.statement, args);
  }

  /** BEGIN and other statements the adapter runs without arguments. */
  run(): Sqlite.RunResult {
    return this.statement.run();
  }
}

/**
 * What the adapter uses of a bound statement: `run()`, or `reader`, `columns()` and
 * `raw().all()`. Each query gets its own, so two queries of one text never share arguments.
 */
class Bound {
  constructor(
    private readonly statement: Sqlite.Statement,
    private readonly args: Args,
  ) {}

  get reader(): boolean {
    return this.statement.reader;
  }

  run(): Sqlite.RunResult {
    return this.statement.run(this.args);
  }

  columns(): Sqlite.ColumnDefinition[] {
    return this.statement.columns();
  }

  raw(): { all: () => unknown[] } {
    return { all: () => this.statement.raw(true).all(this.args) };
  }
}

/**
 * A text whose result columns depend on the schema (`SELECT *`, `t.*`, `RETURNING *`) is not
 * kept: SQLite recompiles a kept statement after a migration (sqlite3_prepare_v3), but
 * better-sqlite3 keeps the column list it read when it was first compiled, so such a statement
 * would go on answering the old columns (test/store/statement-cache.test.ts). `COUNT(*)` names no
 * column.
 */
function dependsOnColumns(sql: string): boolean {
  return sql.replace(/count\(\*\)/gi, '').includes('*');
}

/**
 * Makes `client.prepare` answer cached statements (see the top of this file). A statement that
 * names its columns stays right across a migration: SQLite recompiles it when the schema changed.
 */
export function cacheStatements(client: Sqlite.Database, size = STATEMENT_CACHE_SIZE): void {
  const prepare = client.prepare.bind(client);
  const cache = new Map<string, Prepared>();
  (client as { prepare: (sql: string) => unknown }).prepare = (sql: string) => {
    if (dependsOnColumns(sql)) return new Prepared(prepare(sql));
    let prepared = cache.get(sql);
    if (prepared === undefined) {
      prepared = new Prepared(prepare(sql));
      if (cache.size >= size) cache.delete(cache.keys().next().value!);
    } else {
      // Most recently used last, so that the oldest is the one dropped.
      cache.delete(sql);
    }
    cache.set(sql, prepared);
    return prepared;
  };
}
