// Reading the change feed in tests: through the API (the whole feed, page by page) and from the
// raw tables (what the invariants compare against).
import type { FastifyInstance } from 'fastify';
import type { DatabaseDumper } from './db-dump.js';

export interface FeedEvent {
  revision: number;
  type: string;
  at: string;
  by: string;
  name?: string;
  version?: number;
  alias?: string;
  classId?: string;
}

/** Every event after `after`, through GET /v1/events, following lastRevision. */
export async function readFeed(
  app: FastifyInstance,
  after = 0,
  options: { query?: string; headers?: Record<string, string> } = {},
): Promise<FeedEvent[]> {
  const events: FeedEvent[] = [];
  for (;;) {
    const res = await app.inject({
      method: 'GET',
      url: `/v1/events?after=${after}&limit=1000${options.query ?? ''}`,
      headers: options.headers ?? {},
    });
    if (res.statusCode !== 200) throw new Error(`GET /v1/events: ${res.statusCode} ${res.body}`);
    const page = res.json() as { items: FeedEvent[]; lastRevision: number };
    events.push(...page.items);
    if (page.items.length < 1000) return events;
    after = page.lastRevision;
  }
}

/** The newest revision the feed has committed (GET /v1/events' X-Registry-Revision). */
export async function feedRevision(app: FastifyInstance): Promise<number> {
  const res = await app.inject({ method: 'GET', url: '/v1/events?limit=1' });
  return Number(res.headers['x-registry-revision']);
}

/** The events table and the revision counter as stored. */
export async function storedFeed(db: DatabaseDumper): Promise<{ events: FeedEvent[]; counter: number }> {
  const rows = await db.query<{
    revision: number;
    type: string;
    actor: string;
    config_name: string | null;
    version: number | null;
    alias: string | null;
    class_id: string | null;
  }>('SELECT revision, type, actor, config_name, version, alias, class_id FROM registry_event ORDER BY revision');
  const [counter] = await db.query<{ value: number }>('SELECT value FROM registry_revision WHERE id = 1');
  return {
    events: rows.map((r) => ({
      revision: Number(r.revision),
      type: r.type,
      at: '',
      by: r.actor,
      ...(r.config_name === null ? {} : { name: r.config_name }),
      ...(r.version === null ? {} : { version: Number(r.version) }),
      ...(r.alias === null ? {} : { alias: r.alias }),
      ...(r.class_id === null ? {} : { classId: r.class_id }),
    })),
    counter: Number(counter?.value ?? -1),
  };
}

/** What must hold of any feed: revisions exactly 1..counter, ascending, each once. */
export function feedViolations(feed: { events: FeedEvent[]; counter: number }): string[] {
  const problems: string[] = [];
  const revisions = feed.events.map((e) => e.revision);
  const expected = Array.from({ length: feed.counter }, (_, i) => i + 1);
  if (JSON.stringify(revisions) !== JSON.stringify(expected)) {
    const missing = expected.filter((r) => !revisions.includes(r));
    const extra = revisions.filter((r) => r < 1 || r > feed.counter);
    problems.push(
      `revisions are not exactly 1..${feed.counter}: ${revisions.length} events, missing [${missing.slice(0, 10).join(',')}], ` +
        `beyond the counter [${extra.slice(0, 10).join(',')}]`,
    );
  }
  return problems;
}

/** The events of one config as `type vN` strings, in feed order (for compact expectations). */
export function story(events: FeedEvent[], name: string): string[] {
  return events
    .filter((e) => e.name === name)
    .map((e) => [e.type, e.alias, e.version === undefined ? undefined : `v${e.version}`].filter(Boolean).join(' '));
}

/**
 * The feed against what is stored, after anything (crashes, outages, races): revisions exactly
 * 1..counter; every stored version has exactly one config.version_created event and every such
 * event its version (unless a later purge erased it); every registered class that is not built in
 * has its module_class.created event; every alias points where its last alias.set says. So no
 * change committed without its event, and no event without its change.
 */
export async function feedStateViolations(db: DatabaseDumper): Promise<string[]> {
  const feed = await storedFeed(db);
  const problems = feedViolations(feed);
  const versions = await db.query<{ config_name: string; version: number }>('SELECT config_name, version FROM config_version');
  const stored = new Set(versions.map((v) => `${v.config_name} v${Number(v.version)}`));
  const created = new Map<string, number>();
  const purgedAt = new Map<string, number>();
  for (const event of feed.events) {
    if (event.type === 'config.purged') purgedAt.set(event.name!, event.revision);
  }
  for (const event of feed.events.filter((e) => e.type === 'config.version_created')) {
    const key = `${event.name} v${event.version}`;
    if (created.has(key) && (purgedAt.get(event.name!) ?? 0) < event.revision) problems.push(`two events for ${key}`);
    created.set(key, event.revision);
    if (!stored.has(key) && (purgedAt.get(event.name!) ?? 0) < event.revision) problems.push(`event ${event.revision} for ${key}, which is not stored`);
  }
  for (const key of stored) if (!created.has(key)) problems.push(`${key} is stored without its event`);

  const classes = await db.query<{ id: string; built_in: unknown }>('SELECT id, built_in FROM module_class');
  const lastClassEvent = new Map<string, string>();
  for (const event of feed.events) if (event.classId !== undefined) lastClassEvent.set(event.classId, event.type);
  for (const c of classes) {
    const builtIn = c.built_in === true || c.built_in === 1 || c.built_in === 1n;
    const last = lastClassEvent.get(c.id);
    if (!builtIn && (last === undefined || last === 'module_class.deleted')) problems.push(`class ${c.id} is registered without its event`);
  }
  for (const [id, last] of lastClassEvent) {
    if (last !== 'module_class.deleted' && !classes.some((c) => c.id === id)) problems.push(`class ${id} has events but is not registered`);
  }

  const aliases = await db.query<{ config_name: string; alias: string; version: number }>('SELECT config_name, alias, version FROM config_alias');
  const lastAliasEvent = new Map<string, FeedEvent>();
  for (const event of feed.events) if (event.alias !== undefined) lastAliasEvent.set(`${event.name} ${event.alias}`, event);
  for (const a of aliases) {
    const last = lastAliasEvent.get(`${a.config_name} ${a.alias}`);
    if (last?.type !== 'alias.set' || last.version !== Number(a.version)) {
      problems.push(`alias ${a.config_name}/${a.alias} -> v${a.version}, but its last event is ${JSON.stringify(last)}`);
    }
  }
  return problems;
}

/** Acknowledged writes whose event is missing from the stored feed (empty: all there). */
export async function acksWithoutEvents(
  db: DatabaseDumper,
  acks: ReadonlyArray<{ kind: 'version'; name: string; version: number } | { kind: 'class'; id: string }>,
): Promise<string[]> {
  const { events } = await storedFeed(db);
  const keys = new Set(events.map((e) => (e.type === 'module_class.created' ? `class ${e.classId}` : `${e.type} ${e.name} v${e.version}`)));
  return acks
    .map((ack) => (ack.kind === 'class' ? `class ${ack.id}` : `config.version_created ${ack.name} v${ack.version}`))
    .filter((key) => !keys.has(key));
}
