// The same-run baselines, in their own process (never part of the product):
// - bare reads: a Fastify route answering the exact bytes the product answered for the same path
//   (status, headers, body), from memory, with If-None-Match -> 304 by string comparison; and under
//   /body-only the same body with its ETag and content type only;
// - raw writes: a minimal Fastify route that does what a new config version does to the database,
//   in one transaction, with the raw driver (better-sqlite3 / pg) and no ORM: move the head, insert
//   the version row, replace the label and class-reference rows.
// It listens on an ephemeral loopback port and prints {"port": N} once ready.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Sqlite from 'better-sqlite3';
import Fastify, { type FastifyReply } from 'fastify';
import pg from 'pg';

interface PutBody {
  config: { observed_to_quantized_custom_module_class?: Record<string, Record<string, string>> };
  description?: string;
  labels?: Record<string, string>;
}

interface NewVersion {
  name: string;
  configJson: string;
  description: string;
  labels: Record<string, string>;
  contentHash: string;
  at: Date;
  refs: Map<string, boolean>;
}

interface Head {
  latest_version: number;
  created_at: string | Date;
}

type Writer = (v: NewVersion) => Promise<Head | null>;

const kind = process.env.BASELINE_KIND;
const databaseUrl = process.env.BASELINE_DATABASE_URL ?? '';
const bodies = new Map(
  Object.entries(
    JSON.parse(readFileSync(process.env.BASELINE_BODIES ?? '', 'utf8')) as Record<string, { body: string; etag: string; headers: Record<string, string> }>,
  ),
);

function sqliteWriter(file: string): Writer {
  const db = new Sqlite(file, { timeout: 5000 });
  // The product's connection settings (src/store/database.ts): same durability, same checks.
  db.pragma('foreign_keys = ON');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const moveHead = db.prepare(
    'UPDATE config SET latest_version = latest_version + 1, updated_at = ? WHERE name = ? AND deleted = 0 RETURNING latest_version, created_at',
  );
  const insertVersion = db.prepare(
    'INSERT INTO config_version (config_name, version, config_json, description, labels_json, content_hash, created_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const deleteLabels = db.prepare('DELETE FROM config_label WHERE config_name = ?');
  const insertLabel = db.prepare('INSERT INTO config_label (config_name, key, value) VALUES (?, ?, ?)');
  const deleteRefs = db.prepare('DELETE FROM config_class_ref WHERE config_name = ?');
  const insertRef = db.prepare('INSERT INTO config_class_ref (config_name, class_id, as_quantized) VALUES (?, ?, ?)');
  const append = db.transaction((v: NewVersion): Head | null => {
    const at = v.at.toISOString().replace('Z', '+00:00');
    const head = moveHead.get(at, v.name) as Head | undefined;
    if (head === undefined) return null;
    insertVersion.run(v.name, head.latest_version, v.configJson, v.description, JSON.stringify(v.labels), v.contentHash, at, 'baseline');
    deleteLabels.run(v.name);
    for (const [key, value] of Object.entries(v.labels)) insertLabel.run(v.name, key, value);
    deleteRefs.run(v.name);
    for (const [classId, asQuantized] of v.refs) insertRef.run(v.name, classId, asQuantized ? 1 : 0);
    return head;
  });
  return async (v) => append.immediate(v);
}

function postgresWriter(url: string): Writer {
  // The product's default pool size (DATABASE_POOL_SIZE=10).
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  return async (v) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const at = v.at.toISOString();
      const moved = await client.query<Head>(
        'UPDATE config SET latest_version = latest_version + 1, updated_at = $1 WHERE name = $2 AND deleted = false RETURNING latest_version, created_at',
        [at, v.name],
      );
      const head = moved.rows[0];
      if (head === undefined) {
        await client.query('ROLLBACK');
        return null;
      }
      await client.query(
        'INSERT INTO config_version (config_name, version, config_json, description, labels_json, content_hash, created_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [v.name, head.latest_version, v.configJson, v.description, JSON.stringify(v.labels), v.contentHash, at, 'baseline'],
      );
      await client.query('DELETE FROM config_label WHERE config_name = $1', [v.name]);
      await client.query('INSERT INTO config_label (config_name, key, value) SELECT $1, * FROM unnest($2::text[], $3::text[])', [
        v.name,
        Object.keys(v.labels),
        Object.values(v.labels),
      ]);
      await client.query('DELETE FROM config_class_ref WHERE config_name = $1', [v.name]);
      await client.query(
        'INSERT INTO config_class_ref (config_name, class_id, as_quantized) SELECT $1, * FROM unnest($2::text[], $3::boolean[])',
        [v.name, [...v.refs.keys()], [...v.refs.values()]],
      );
      await client.query('COMMIT');
      return head;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };
}

const write: Writer = kind === 'postgresql' ? postgresWriter(databaseUrl) : sqliteWriter(databaseUrl.replace(/^file:/, ''));

const app = Fastify({ logger: false });

app.get('/healthz', async () => ({ status: 'ok' }));

/**
 * The stored answer for `path`. `bytes: 'same'` sends the very response the product sent (status,
 * headers, body; only the request id is new per reply, a UUID like the product's), `'body'` only
 * the body, its content type and ETag (the baseline of runs before 2026-11-28's second session).
 */
function sendStored(path: string, ifNoneMatch: string | undefined, reply: FastifyReply, bytes: 'same' | 'body') {
  const stored = bodies.get(path);
  if (stored === undefined) return reply.code(404).send({ status: 404 });
  if (bytes === 'same') {
    reply.headers(stored.headers);
    reply.header('x-request-id', randomUUID());
  } else {
    reply.header('etag', stored.etag);
  }
  if (ifNoneMatch === stored.etag) {
    // The product's 304 carries its 200's headers but the body's.
    if (bytes === 'same') reply.removeHeader('content-type');
    return reply.code(304).send();
  }
  return reply.type('application/json; charset=utf-8').send(stored.body);
}

for (const [prefix, bytes] of [['', 'same'], ['/body-only', 'body']] as const) {
  for (const suffix of ['', '/dict']) {
    app.get(`${prefix}/v1/configs/:name${suffix}`, async (request, reply) =>
      sendStored(request.url.slice(prefix.length), request.headers['if-none-match'], reply, bytes),
    );
  }
}

app.put<{ Params: { name: string }; Body: PutBody }>('/v1/configs/:name', async (request, reply) => {
  const { config, description = '', labels = {} } = request.body;
  const configJson = JSON.stringify(config);
  const refs = new Map<string, boolean>();
  for (const mapping of Object.values(config.observed_to_quantized_custom_module_class ?? {})) {
    for (const [observed, quantized] of Object.entries(mapping)) {
      refs.set(observed, refs.get(observed) ?? false);
      refs.set(quantized, true);
    }
  }
  const v: NewVersion = {
    name: request.params.name,
    configJson,
    description,
    labels,
    contentHash: `sha256:${createHash('sha256').update(configJson).digest('hex')}`,
    at: new Date(),
    refs,
  };
  const head = await write(v);
  if (head === null) return reply.code(404).send({ status: 404 });
  const createdAt = head.created_at instanceof Date ? head.created_at.toISOString() : new Date(head.created_at).toISOString();
  reply.header('etag', `"${head.latest_version}"`);
  return reply
    .type('application/json; charset=utf-8')
    .send(
      `{"name":${JSON.stringify(v.name)},"version":${head.latest_version},"description":${JSON.stringify(description)}` +
        `,"labels":${JSON.stringify(labels)},"config":${configJson},"contentHash":"${v.contentHash}"` +
        `,"createdAt":"${createdAt}","updatedAt":"${v.at.toISOString()}","updatedBy":"baseline"}`,
    );
});

const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
