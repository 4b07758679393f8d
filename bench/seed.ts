// Building a registry of 100,000 configs quickly, with exactly the rows the API writes:
//   1. the module classes and TEMPLATE_COUNT template configs go through the HTTP API (so every
//      row of a template is what the product wrote: canonical JSON, hash, labels, class refs,
//      timestamps in the driver's format);
//   2. every other config is a copy of one template's rows under a new name, written by the raw
//      driver in ONE transaction with
//      four INSERT ... SELECT statements (config, config_version, config_label, config_class_ref)
//      joined to a temporary name -> template table;
//   3. a few copies are read back through HTTP and compared with their template.
// 100,000 HTTP PUTs would take minutes; this takes seconds on either database.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { configName, fixtureClasses, TEMPLATE_COUNT, templateBody } from './fixture.js';

export type Kind = 'sqlite' | 'postgresql';

export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgresql://root@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  kind: Kind;
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database: a SQLite file in a temporary folder, or a PostgreSQL database of our own. */
export async function createDatabase(kind: Kind, label: string): Promise<BenchDatabase> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), `registry-bench-${label}-`));
    return { kind, url: `file:${join(dir, 'registry.db')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `registry_bench_${label}_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  await withPostgres(POSTGRES_ADMIN_URL, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    drop: () => withPostgres(POSTGRES_ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}

async function withPostgres<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export class Api {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, ...extra };
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(this.url + path, {
      method,
      headers: this.headers(body === undefined ? headers : { 'content-type': 'application/json', ...headers }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  async expect(status: number | number[], method: string, path: string, body?: unknown): Promise<Response> {
    const res = await this.request(method, path, body);
    const ok = Array.isArray(status) ? status.includes(res.status) : res.status === status;
    if (!ok) throw new Error(`${method} ${path}: expected ${String(status)}, got ${res.status} ${await res.text()}`);
    return res;
  }
}

/** Step 1: classes and templates `cfg-000000` .. through the API. */
export async function seedThroughApi(api: Api): Promise<void> {
  for (const c of fixtureClasses()) {
    await api.expect([201, 409], 'POST', '/v1/module-classes', { id: c.id, fromObserved: c.fromObserved });
  }
  for (let k = 0; k < TEMPLATE_COUNT; k++) {
    await api.expect([200, 201], 'PUT', `/v1/configs/${configName(k)}`, templateBody(k));
  }
}

/** Step 2: copies of templates under new names, in one transaction. */
export async function replicate(db: BenchDatabase, copies: Array<{ name: string; template: string }>): Promise<void> {
  const statements = [
    `INSERT INTO config (name, latest_version, deleted, deleted_at, created_at, updated_at)
       SELECT m.name, c.latest_version, c.deleted, c.deleted_at, c.created_at, c.updated_at
       FROM seed_map m JOIN config c ON c.name = m.template ORDER BY m.name`,
    `INSERT INTO config_version (config_name, version, config_json, description, labels_json, content_hash, created_at, updated_by)
       SELECT m.name, v.version, v.config_json, v.description, v.labels_json, v.content_hash, v.created_at, v.updated_by
       FROM seed_map m JOIN config_version v ON v.config_name = m.template ORDER BY m.name, v.version`,
    `INSERT INTO config_label (config_name, "key", "value")
       SELECT m.name, l."key", l."value" FROM seed_map m JOIN config_label l ON l.config_name = m.template ORDER BY m.name`,
    `INSERT INTO config_class_ref (config_name, class_id, as_quantized)
       SELECT m.name, r.class_id, r.as_quantized FROM seed_map m JOIN config_class_ref r ON r.config_name = m.template ORDER BY m.name`,
  ];
  if (db.kind === 'sqlite') {
    const sqlite = new Sqlite(db.url.replace(/^file:/, ''), { timeout: 10_000 });
    try {
      sqlite.pragma('foreign_keys = ON');
      sqlite.exec('CREATE TEMP TABLE seed_map (name TEXT PRIMARY KEY, template TEXT NOT NULL)');
      const insert = sqlite.prepare('INSERT INTO seed_map (name, template) VALUES (?, ?)');
      sqlite.transaction(() => {
        for (const c of copies) insert.run(c.name, c.template);
        for (const sql of statements) sqlite.exec(sql);
      }).immediate();
    } finally {
      sqlite.close();
    }
    return;
  }
  await withPostgres(db.url, async (client) => {
    await client.query('BEGIN');
    await client.query(
      'CREATE TEMP TABLE seed_map (name TEXT COLLATE "C" PRIMARY KEY, template TEXT COLLATE "C" NOT NULL) ON COMMIT DROP',
    );
    await client.query('INSERT INTO seed_map (name, template) SELECT * FROM unnest($1::text[], $2::text[])', [
      copies.map((c) => c.name),
      copies.map((c) => c.template),
    ]);
    for (const sql of statements) await client.query(sql);
    await client.query('COMMIT');
    // What autovacuum does after a bulk load (PostgreSQL 13+ vacuums after many inserts, then
    // analyzes), done now so that plans and index-only scans do not depend on when it wakes up.
    await client.query('VACUUM (ANALYZE)');
  });
}

/** Copies `cfg-<i>` of template `i % TEMPLATE_COUNT` for every i in [TEMPLATE_COUNT, count). */
export function registryCopies(count: number): Array<{ name: string; template: string }> {
  const out: Array<{ name: string; template: string }> = [];
  for (let i = TEMPLATE_COUNT; i < count; i++) out.push({ name: configName(i), template: configName(i % TEMPLATE_COUNT) });
  return out;
}

/**
 * Step 3: a copy must read back through HTTP exactly as its template does, name aside (same
 * config text, hash, labels, version, timestamps, ETag), and so must its /dict export.
 */
export async function verifyCopies(api: Api, names: Array<{ name: string; template: string }>): Promise<void> {
  for (const { name, template } of names) {
    const [copy, original] = await Promise.all([api.expect(200, 'GET', `/v1/configs/${name}`), api.expect(200, 'GET', `/v1/configs/${template}`)]);
    const a = (await copy.json()) as Record<string, unknown>;
    const b = (await original.json()) as Record<string, unknown>;
    if (a.name !== name || JSON.stringify({ ...a, name: template }) !== JSON.stringify(b)) {
      throw new Error(`seeded ${name} does not read back like its template ${template}:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
    }
    if (copy.headers.get('etag') !== original.headers.get('etag')) throw new Error(`seeded ${name}: ETag differs from ${template}`);
    const [d1, d2] = await Promise.all([api.expect(200, 'GET', `/v1/configs/${name}/dict`), api.expect(200, 'GET', `/v1/configs/${template}/dict`)]);
    if ((await d1.text()) !== (await d2.text())) throw new Error(`seeded ${name}: /dict differs from ${template}`);
  }
}
