// The change feed's storage: the revision counter and the events table (prisma/schema.prisma,
// RegistryRevision and RegistryEvent), on the driver adapter like the other hot statements.
//
// Why the revision is gap-free and in commit order:
// - Every write transaction that changes something appends its event *in the same transaction*,
//   as its last statement, after everything that could still fail: the event commits with the
//   change or not at all, and a transaction that rolls back takes its revision with it (the next
//   writer reads the counter as it was), so no number is skipped.
// - PostgreSQL: the append increments the one counter row (`UPDATE ... SET value = value + 1`). The
//   row lock it takes is held until commit, so the writer that comes next waits for this commit
//   before it can read the counter: revision order is commit order, across every replica and the
//   CLI. And since a committing transaction becomes visible before it releases its locks, any
//   snapshot that sees revision N sees every revision below N too, so a reader of
//   `revision > after` never skips one that commits later. Taking the counter last keeps that
//   lock (which every write to any config waits for) to the end of the transaction: one statement
//   and the commit.
// - SQLite: one write transaction at a time for the whole file (every registry write transaction
//   starts with a write, so it holds the write lock from its first statement), so the counter is
//   read and written under that lock and commits follow the same order. The append reads the
//   counter in its INSERT and a trigger (migration change_feed) moves it on.
// The counter row, rather than MAX(revision) + 1, is what PostgreSQL needs (MAX takes no lock: two
// transactions would read the same maximum), and the same statement serves SQLite.
import type { EventType, ListEventsQuery, NewEvent, RegistryEvent } from '../registry/store.js';
import { asDate, placeholders, statement, type Row, type SqlRunner, type SqlValue, type Statement } from './driver-sql.js';

/** The PostgreSQL channel a committed event is announced on (the payload is its revision as text). */
export const EVENTS_CHANNEL = 'registry_events';

const EVENT_COLUMNS = 'revision, type, at, actor, config_name, version, alias, class_id';

/**
 * PostgreSQL, in one round trip: the next revision, the event under it, and the notification.
 * NOTIFY is delivered at commit, in commit order, and only if the transaction commits; the events
 * table stays the truth (a listener that missed a notification re-reads it).
 */
const APPEND_EVENT_PG = statement(
  'WITH r AS (UPDATE registry_revision SET value = value + 1 WHERE id = 1 RETURNING value), ' +
    `e AS (INSERT INTO registry_event (${EVENT_COLUMNS}) VALUES ((SELECT value FROM r), ?, ?, ?, ?, ?, ?, ?) RETURNING revision) ` +
    `SELECT pg_notify('${EVENTS_CHANNEL}', revision::text) FROM e`,
);
/** SQLite: the next revision from the counter, which the migration's trigger then moves on. */
const APPEND_EVENT_SQLITE = statement(
  `INSERT INTO registry_event (${EVENT_COLUMNS}) VALUES ((SELECT value + 1 FROM registry_revision WHERE id = 1), ?, ?, ?, ?, ?, ?, ?)`,
);
const LAST_REVISION = statement('SELECT value FROM registry_revision WHERE id = 1');

/**
 * Appends `event` under the next revision. Call it last in the write transaction `tx`, once the
 * change is certain: see the module comment for why that makes revisions gap-free and ordered.
 */
export async function appendEvent(tx: SqlRunner, event: NewEvent): Promise<void> {
  const values = eventValues(event);
  // One statement on either database: an append is on every write path, and each statement
  // through the driver adapter costs tens of µs.
  await tx.execute(tx.kind === 'postgresql' ? APPEND_EVENT_PG : APPEND_EVENT_SQLITE, values);
}

/**
 * Appends `events` under the next revisions, in their order: what appendEvent does for one, for a
 * group of changes committed together (version-appends.ts). On PostgreSQL in one statement that
 * moves the counter once and sends one notification (the newest revision: a listener reads the
 * table after what it has seen, so one hint covers them all).
 */
export async function appendEvents(tx: SqlRunner, events: readonly NewEvent[]): Promise<void> {
  if (events.length <= 1 || tx.kind === 'sqlite') {
    // SQLite: each INSERT reads the counter its trigger moved on after the one before.
    for (const event of events) await appendEvent(tx, event);
    return;
  }
  await tx.execute(appendEventsPg(events.length), events.flatMap(eventValues));
}

/** `count` events under the revisions the counter moved past, oldest first (numbers of ours, not of a request). */
function appendEventsPg(count: number): Statement {
  const rows = Array.from({ length: count }, (_, i) => `((SELECT value FROM r) - ${count - 1 - i}, ?, ?, ?, ?, ?, ?, ?)`);
  return statement(
    `WITH r AS (UPDATE registry_revision SET value = value + ${count} WHERE id = 1 RETURNING value), ` +
      `e AS (INSERT INTO registry_event (${EVENT_COLUMNS}) VALUES ${rows.join(', ')} RETURNING revision) ` +
      `SELECT pg_notify('${EVENTS_CHANNEL}', max(revision)::text) FROM e`,
  );
}

function eventValues(event: NewEvent): SqlValue[] {
  return [
    event.type,
    event.at,
    event.by,
    event.name ?? null,
    event.version ?? null,
    event.alias ?? null,
    event.classId ?? null,
  ];
}

/** The newest committed revision (0 before the first change). */
export async function lastRevision(sql: SqlRunner): Promise<number> {
  const [row] = await sql.rows(LAST_REVISION);
  return row === undefined ? 0 : Number(row.value);
}

/**
 * One page of the feed and the counter, read by one statement so that both come from the same
 * snapshot (a PostgreSQL statement sees one snapshot even under READ COMMITTED): `lastRevision`
 * then never claims a revision whose event the page could not have shown.
 */
export async function listEvents(
  sql: SqlRunner,
  query: ListEventsQuery,
): Promise<{ items: RegistryEvent[]; lastRevision: number }> {
  const { statement: text, args } = listEventsStatement(query);
  const rows = await sql.rows(text, args);
  const newest = Number(rows[0]?.last_revision ?? 0);
  const items = rows.filter((row) => row.revision !== null && row.revision !== undefined).map(toEvent);
  if (items.length > query.limit) {
    // One more than asked matched: the page stops at its last item, and so does what it accounts for.
    items.length = query.limit;
    return { items, lastRevision: items[items.length - 1]!.revision };
  }
  return { items, lastRevision: newest };
}

/** Filters are IN lists of bound values; one more row than `limit` tells whether the page was cut. */
function listEventsStatement(query: ListEventsQuery): { statement: Statement; args: SqlValue[] } {
  const where = ['revision > ?'];
  const args: SqlValue[] = [query.after];
  if (query.names !== undefined && query.names.length > 0) {
    where.push(`config_name IN (${placeholders(query.names.length)})`);
    args.push(...query.names);
  }
  if (query.types !== undefined && query.types.length > 0) {
    where.push(`type IN (${placeholders(query.types.length)})`);
    args.push(...query.types);
  }
  args.push(query.limit + 1);
  // The counter row is the outer side, so the counter comes back even when no event matches.
  const text =
    `SELECT r.value AS last_revision, e.revision, e.type, e.at, e.actor, e.config_name, e.version, e.alias, e.class_id ` +
    `FROM registry_revision r LEFT JOIN (SELECT ${EVENT_COLUMNS} FROM registry_event WHERE ${where.join(' AND ')} ` +
    `ORDER BY revision LIMIT ?) e ON 1 = 1 WHERE r.id = 1 ORDER BY e.revision`;
  return { statement: statement(text), args };
}

function toEvent(row: Row): RegistryEvent {
  const event: RegistryEvent = {
    revision: Number(row.revision),
    type: String(row.type) as EventType,
    at: asDate(row.at),
    by: String(row.actor),
  };
  if (row.config_name !== null && row.config_name !== undefined) event.name = String(row.config_name);
  if (row.version !== null && row.version !== undefined) event.version = Number(row.version);
  if (row.alias !== null && row.alias !== undefined) event.alias = String(row.alias);
  if (row.class_id !== null && row.class_id !== undefined) event.classId = String(row.class_id);
  return event;
}
