// The plans of the list pages the bench measures, on a registry the size of the bench's:
//   node --import tsx bench/explain-lists.ts [--backend sqlite|postgresql] [--large N] [--no-drop | --keep URL]
// Seeds a registry as bench/run.ts does (templates through the API, copies by the raw driver),
// then prints EXPLAIN ANALYZE (PostgreSQL) or EXPLAIN QUERY PLAN (SQLite) of the first page, a
// deep page and the usesClass and label pages, with the median execution time of 50 runs of each
// statement on the server. --no-drop leaves the database (its URL is printed), --keep URL reuses
// one seeded before (and does not drop it either).
import { randomBytes } from 'node:crypto';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { listConfigsStatement } from '../src/store/config-statements.js';
import type { ListConfigsQuery } from '../src/registry/store.js';
import { configName, templateClasses } from './fixture.js';
import { startService } from './processes.js';
import { Api, createDatabase, registryCopies, replicate, seedThroughApi, type Kind } from './seed.js';

const argv = process.argv.slice(2);
const value = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const kind = (value('backend') ?? 'postgresql') as Kind;
const size = Number(value('large') ?? 100_000);
const keep = value('keep');
const noDrop = argv.includes('--no-drop');

const base = { labels: [], showDeleted: false, limit: 101 } satisfies ListConfigsQuery;
const queries: Record<string, ListConfigsQuery> = {
  first: base,
  deep: { ...base, after: configName(Math.floor(size * 0.9)) },
  usesClass: { ...base, usesClass: templateClasses(7).quantized },
  label: { ...base, labels: [{ key: 'model', value: 'model-7' }] },
  'usesClass deep': { ...base, usesClass: templateClasses(7).quantized, after: configName(Math.floor(size * 0.9)) },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function seeded(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (keep !== undefined) return { url: keep, drop: async () => {} };
  const db = await createDatabase(kind, 'explain');
  const token = randomBytes(24).toString('base64url');
  const service = await startService('explain', { databaseUrl: db.url, adminToken: token });
  try {
    await seedThroughApi(new Api(service.url, token));
  } finally {
    await service.stop();
  }
  await replicate(db, registryCopies(size));
  process.stderr.write(`seeded ${size} configs: ${db.url}\n`);
  return db;
}

const db = await seeded();
try {
  if (kind === 'postgresql') {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    for (const [name, query] of Object.entries(queries)) {
      const { statement, args } = listConfigsStatement(query);
      const values = args.map((a) => (a instanceof Date ? a.toISOString() : a));
      const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${statement.postgresql}`, values);
      const times: number[] = [];
      for (let i = 0; i < 50; i++) {
        const r = await client.query<{ 'QUERY PLAN': Array<{ 'Execution Time': number }> }>(
          `EXPLAIN (ANALYZE, FORMAT JSON) ${statement.postgresql}`,
          values,
        );
        times.push(r.rows[0]!['QUERY PLAN'][0]!['Execution Time']);
      }
      console.log(`\n== ${name}: median ${median(times).toFixed(2)} ms over 50 runs\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}`);
    }
    await client.end();
  } else {
    const sqlite = new Sqlite(db.url.replace(/^file:/, ''), { readonly: true });
    for (const [name, query] of Object.entries(queries)) {
      const { statement, args } = listConfigsStatement(query);
      const values = args.map((a) => (typeof a === 'boolean' ? Number(a) : a));
      const plan = sqlite.prepare(`EXPLAIN QUERY PLAN ${statement.sqlite}`).all(...values) as Array<{ detail: string }>;
      const run = sqlite.prepare(statement.sqlite);
      const times: number[] = [];
      for (let i = 0; i < 50; i++) {
        const started = performance.now();
        run.all(...values);
        times.push(performance.now() - started);
      }
      console.log(`\n== ${name}: median ${median(times).toFixed(2)} ms over 50 runs\n${plan.map((p) => p.detail).join('\n')}`);
    }
    sqlite.close();
  }
} finally {
  if (keep === undefined && !noDrop) await db.drop();
}
