// Prisma's schema engine as WebAssembly, for writing migrations offline.
//
// `prisma migrate dev|diff` spawn the native schema-engine binary, which cannot be downloaded on
// our machines. @prisma/schema-engine-wasm (at the version whose hash matches
// @prisma/engines-version) computes the same diffs. Its package entry imports the .wasm file as an
// ES module, which Node 20 cannot do, so it is instantiated by hand here.
//
// Used by scripts/new-migration.ts and by the drift test (test/store/drift.test.ts).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { DiffTarget, SchemaEngine as SchemaEngineType } from '@prisma/schema-engine-wasm';
import pg from 'pg';
import { derivePostgresSchema } from './prisma-generate.mjs';

export type Provider = 'sqlite' | 'postgresql';

interface SchemaEngineModule {
  SchemaEngine: typeof SchemaEngineType;
  __wbg_set_wasm(exports: Record<string, unknown>): void;
}

/** The part of the WebAssembly global used here (our tsconfig has no DOM lib to declare it). */
interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: Record<string, object>): Promise<{ exports: Record<string, unknown> }>;
}
const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

let loaded: Promise<SchemaEngineModule> | undefined;

function loadSchemaEngine(): Promise<SchemaEngineModule> {
  loaded ??= (async () => {
    const require = createRequire(import.meta.url);
    const bgPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const bg = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as unknown as SchemaEngineModule;
    const bytes = await readFile(bgPath.replace(/schema_engine_bg\.js$/, 'schema_engine_bg.wasm'));
    const module = await wasm.compile(bytes);
    const instance = await wasm.instantiate(module, { './schema_engine_bg.js': bg });
    bg.__wbg_set_wasm(instance.exports);
    (instance.exports['__wbindgen_start'] as () => void)();
    return bg;
  })();
  return loaded;
}

export interface DiffOptions {
  provider: Provider;
  from: DiffTarget;
  to: DiffTarget;
  /**
   * The database the engine talks to. For SQLite an in-memory database is enough to diff two
   * schema files; PostgreSQL needs a server even for that (the engine asks it for its version).
   * `liveDatabase(...)` as `from` or `to` means this database (the engine no longer takes URLs).
   */
  url: string;
}

/** Returns the SQL script that turns `from` into `to` (empty when they match). */
export async function diffSql(options: DiffOptions): Promise<string> {
  const { SchemaEngine } = await loadSchemaEngine();
  const pool = options.provider === 'postgresql' ? introspectablePool(options.url) : undefined;
  const adapter =
    pool === undefined
      ? new PrismaBetterSqlite3({ url: options.url })
      : // adapter-pg ships its own copy of @types/pg; the pool is the same pg at run time.
        new PrismaPg(pool as unknown as ConstructorParameters<typeof PrismaPg>[0], { disposeExternalPool: true });
  const logs: string[] = [];
  const engine = await SchemaEngine.new(
    { datamodels: undefined },
    (line: string) => logs.push(line),
    bindMigrationAwareSqlAdapterFactory(adapter),
  );
  try {
    const result = await engine.diff({
      from: options.from,
      to: options.to,
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    });
    return normaliseScript(result.stdout ?? '');
  } catch (error) {
    throw new Error(`schema engine diff failed: ${describe(error)}${logs.length ? `\n${logs.join('\n')}` : ''}`);
  } finally {
    engine.free();
  }
}

/** PostgreSQL's one-byte `"char"` type, found in the catalogs (pg_class.relkind, ...). */
const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

/**
 * A pg pool whose results report `"char"` columns as text. The schema engine reads the catalogs
 * to describe a live database, and the 7.10 pg adapter rejects `"char"` columns ("Column type
 * 'char' could not be deserialized"); the values arrive as one-character strings either way.
 */
function introspectablePool(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 3000 });
  const asText = (result: unknown): unknown => {
    for (const field of (result as pg.QueryResult | undefined)?.fields ?? []) {
      if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
    }
    return result;
  };
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    // pg.Pool#query calls it with a callback, the adapter's own connections without one.
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const callback = args.at(-1);
      if (typeof callback === 'function') {
        return query(...args.slice(0, -1), (error: unknown, result: unknown) => callback(error, asText(result)));
      }
      return (query(...args) as Promise<unknown>).then(asText);
    };
  });
  return pool;
}

/** prisma/schema.prisma's text as the schema for `provider` (the PostgreSQL twin is derived). */
export function providerSchema(provider: Provider, schemaText: string): string {
  return provider === 'sqlite' ? schemaText : derivePostgresSchema(schemaText);
}

/**
 * The database the engine is connected to (the `url` of the diff), as a DiffTarget; `schemaText`
 * (prisma/schema.prisma's) only tells the engine which provider it is.
 */
export function liveDatabase(provider: Provider, schemaText: string): DiffTarget {
  const content = providerSchema(provider, schemaText);
  return { tag: 'schemaDatasource', files: [{ path: 'schema.prisma', content }], configDir: process.cwd() };
}

/** A schema given as text (prisma/schema.prisma's), for `provider`, as a DiffTarget. */
export function datamodel(provider: Provider, schemaText: string): DiffTarget {
  return { tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: providerSchema(provider, schemaText) }] };
}

export const EMPTY: DiffTarget = { tag: 'empty' };

/** The engine answers an empty diff with a comment line; treat it as nothing to do. */
function normaliseScript(script: string): string {
  const meaningful = script
    .split('\n')
    .filter((line) => line.trim() !== '' && !/^--\s*This is an empty migration\.?\s*$/.test(line.trim()));
  return meaningful.length === 0 ? '' : script;
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
