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
