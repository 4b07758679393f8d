// The statements the store runs on the driver adapter (driver-sql.ts), and the rows they return.
// Texts are constants, or built from constant fragments and placeholder counts: request values
// are always bound, never spliced.
import type { ClassRef, ConfigRecord, ListConfigsQuery } from '../registry/store.js';
import {
  asBoolean,
  asDate,
  asNullableDate,
  placeholders,
  statement,
  type Row,
  type SqlValue,
  type Statement,
} from './driver-sql.js';

/**
 * Names and ids are ASCII (see the grammars in src/domain/identifiers.ts), so every name with
 * `prefix` sorts in [prefix, prefixEnd(prefix)). A range keeps the primary-key index usable and,
 * unlike LIKE, needs no escaping of `_`.
 */
export function prefixEnd(prefix: string): string {
  return `${prefix}\u007f`;
}

export const WAIT_FOR_EXCLUSIVE_WRITER = statement('SELECT pg_advisory_xact_lock_shared(?::int4, hashtext(?))');
/** The configs' write locks, shared, for those not held exclusively now (no waiting): `locked` per name. */
export const TRY_SHARED_WRITE_LOCKS_PG = statement(
  'SELECT n AS name, pg_try_advisory_xact_lock_shared(?::int4, hashtext(n)) AS locked FROM unnest(?::text[]) AS n',
);
export const LOCK_CLASSES_PG = statement('SELECT id, from_observed FROM module_class WHERE id = ANY(?) ORDER BY id FOR SHARE');
/** ROW_VERSION (below) in a statement that writes the head: its RETURNING names no table alias. */
const HEAD_ROW_VERSION = `xmin::text || '/' || latest_version AS row_version`;

/**
 * A write of the head returns its creation time and, on PostgreSQL, its new row version, under
 * which the read cache may keep what was written.
 */
function returningHead(text: string): Statement {
  return {
    sqlite: statement(`${text} RETURNING created_at`).sqlite,
    postgresql: statement(`${text} RETURNING created_at, ${HEAD_ROW_VERSION}`).postgresql,
  };
}

/** No row when the name is taken: a failed create is no error, which would abort a PostgreSQL transaction. */
export const CREATE_HEAD = returningHead(
  'INSERT INTO config (name, latest_version, deleted, created_at, updated_at) VALUES (?, 1, false, ?, ?) ON CONFLICT (name) DO NOTHING',
);
export const MOVE_HEAD = returningHead(
  'UPDATE config SET latest_version = ?, updated_at = ? WHERE name = ? AND latest_version = ? AND deleted = ?',
);
/**
 * PostgreSQL, for a group (version-appends.ts): the heads of the configs to be moved, locked in
 * name order, so that two replicas' groups sharing configs never wait for each other in a cycle
 * (FOR UPDATE with ORDER BY locks the rows as the sort hands them over). Then MOVE_HEADS_PG
 * moves them all in one statement.
 */
export const LOCK_HEADS_PG = statement('SELECT name FROM config WHERE name = ANY(?) ORDER BY name FOR UPDATE');
/**
 * MOVE_HEAD for several configs in one statement (PostgreSQL): names, the latest versions
 * expected and the update times (UTC, as text) side by side; a row per head that moved.
 */
export const MOVE_HEADS_PG = statement(
  'UPDATE config c SET latest_version = m.expected + 1, updated_at = m.at ' +
    'FROM unnest(?::text[], ?::int4[], ?::timestamp(3)[]) AS m(name, expected, at) ' +
    'WHERE c.name = m.name AND c.latest_version = m.expected AND c.deleted = false ' +
    `RETURNING c.name, c.created_at, c.xmin::text || '/' || c.latest_version AS row_version`,
);
/** CREATE_HEAD for several configs in one statement (PostgreSQL), inserted in name order; a row per head created. */
export const CREATE_HEADS_PG = statement(
  'INSERT INTO config (name, latest_version, deleted, created_at, updated_at) ' +
    'SELECT n.name, 1, false, n.at, n.at FROM unnest(?::text[], ?::timestamp(3)[]) AS n(name, at) ORDER BY n.name ' +
    `ON CONFLICT (name) DO NOTHING RETURNING name, created_at, xmin::text || '/' || latest_version AS row_version`,
);
const VERSION_COLUMNS = 'config_name, version, config_json, description, labels_json, content_hash, created_at, updated_by';
export const INSERT_VERSION = statement(`INSERT INTO config_version (${VERSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
/** INSERT_VERSION for `count` versions in one statement. */
export function insertVersions(count: number): Statement {
  return statement(`INSERT INTO config_version (${VERSION_COLUMNS}) VALUES ${placeholders(count, '(?, ?, ?, ?, ?, ?, ?, ?)')}`);
}
/** Soft delete or undelete: a compare-and-set on the latest version and the deleted state. */
export const SET_DELETED = statement(
  'UPDATE config SET deleted = ?, deleted_at = ? WHERE name = ? AND latest_version = ? AND deleted = ? RETURNING created_at, updated_at',
);
/** Erases a config; its versions, index rows (and aliases) go with it by the foreign keys' cascade. */
export const PURGE_CONFIG = statement('DELETE FROM config WHERE name = ? RETURNING latest_version');
export const DELETE_LABELS = statement('DELETE FROM config_label WHERE config_name = ?');
export const DELETE_CLASS_REFS = statement('DELETE FROM config_class_ref WHERE config_name = ?');

/** A head with the version it names, as GET_CONFIG and listConfigsStatement select them. */
const RECORD_COLUMNS =
  'c.name, c.latest_version, c.deleted, c.deleted_at, c.created_at, c.updated_at, ' +
  'v.config_json, v.description, v.labels_json, v.content_hash, v.created_at AS version_created_at, v.updated_by';
const WITH_LATEST = 'JOIN config_version v ON v.config_name = c.name AND v.version = c.latest_version';

export const GET_CONFIG = statement(`SELECT ${RECORD_COLUMNS} FROM config c ${WITH_LATEST} WHERE c.name = ?`);

/**
 * PostgreSQL: what identifies the state of a config's head row. Every UPDATE writes a new row
 * version whose xmin is the writing transaction's id, and a purged and re-created config is a new
 * row, so an equal xmin means the same head (and with it the same latest version, which is never
 * rewritten). xmin is a 32-bit counter that wraps after some four billion transactions; the
 * version number beside it keeps a wrapped-around id from passing for an old one.
 */
const ROW_VERSION = `c.xmin::text || '/' || c.latest_version AS row_version`;

/** GET_CONFIG with the head's row version (PostgreSQL). */
export const GET_CONFIG_WITH_ROW_VERSION_PG = statement(
  `SELECT ${RECORD_COLUMNS}, ${ROW_VERSION} FROM config c ${WITH_LATEST} WHERE c.name = ?`,
);

/** The row versions of some configs' heads, in one statement (PostgreSQL); a missing name has no row. */
export const ROW_VERSIONS_PG = statement(`SELECT c.name, ${ROW_VERSION} FROM config c WHERE c.name = ANY(?)`);

/** A row of GET_CONFIG or listConfigsStatement as the registry's record. */
export function toRecord(row: Row): ConfigRecord {
  const name = String(row.name);
  const version = Number(row.latest_version);
  return {
    head: {
      name,
      latestVersion: version,
      deleted: asBoolean(row.deleted),
      deletedAt: asNullableDate(row.deleted_at),
      createdAt: asDate(row.created_at),
      updatedAt: asDate(row.updated_at),
    },
    latest: {
      name,
      version,
      configJson: String(row.config_json),
      description: String(row.description),
      labels: JSON.parse(String(row.labels_json)) as Record<string, string>,
      contentHash: String(row.content_hash),
      createdAt: asDate(row.version_created_at),
      updatedBy: String(row.updated_by),
    },
  };
}

/**
 * A page of configs in name order, after the cursor. The page is walked along an index that
 * already holds the filter: a `usesClass` page along config_class_ref(class_id, config_name), a
 * label page along config_label(key, value, config_name), otherwise the config primary key; the
 * other filters are EXISTS probes. Either way a deep page costs what the first page costs.
 *
 * A filtered page looks each matching name up in config, then its latest version up in
 * config_version, and each dialect needs its own nudge to do just that:
 * - SQLite: CROSS JOIN keeps the filter table the outer loop; the planner would otherwise walk the
 *   configs (by the deleted index) and sort, reading every config for one page.
 * - PostgreSQL: both lookups are LATERAL subqueries that OFFSET 0 keeps from being flattened into
 *   one join. Flattened, the plan depended on the statistics: the usesClass page merge-joined the
 *   filter's names with a scan of the config primary key (ordered, so the cost model finds it
 *   cheap) and read 100 configs for each one on the page (on the bench's 100,000 configs, 1 in
 *   100 using the class: 4.8 ms of execution against 0.9 ms for lookups, 1.8 times the first
 *   page's latency under load), and with one version per config in the statistics the version
 *   was found by name alone and its number filtered afterwards (every version of a long history
 *   read). Fenced, each lookup is one primary-key probe whatever the statistics say, and planning
 *   takes a quarter of the time (BENCHMARKS.md).
 * Both texts bind the same arguments in the same order: the conditions on config, then on its
 * version, then on the filter table.
 */
export function listConfigsStatement(query: ListConfigsQuery): { statement: Statement; args: SqlValue[] } {
  const args: SqlValue[] = [];
  const labels = [...query.labels];
  let walk: { from: string; key: string; where: string; args: SqlValue[] } | undefined;
  if (query.usesClass !== undefined) {
    walk = { from: 'config_class_ref r', key: 'r.config_name', where: 'r.class_id = ?', args: [query.usesClass] };
  } else if (labels.length > 0) {
    const first = labels.shift()!;
    walk = { from: 'config_label l', key: 'l.config_name', where: 'l.key = ? AND l.value = ?', args: [first.key, first.value] };
  }
  const key = walk?.key ?? 'c.name';
  /** `column` within the prefix and after the cursor. */
  const ranges = (column: string, into: string[]) => {
    if (query.prefix !== undefined) {
      into.push(`${column} >= ? AND ${column} < ?`);
      args.push(query.prefix, prefixEnd(query.prefix));
    }
    if (query.after !== undefined) {
      into.push(`${column} > ?`);
      args.push(query.after);
    }
  };
  const onConfig: string[] = walk === undefined ? [] : [`c.name = ${key}`];
  if (!query.showDeleted) {
    onConfig.push('c.deleted = ?');
    args.push(false);
  }
  for (const label of labels) {
    onConfig.push('EXISTS (SELECT 1 FROM config_label x WHERE x.config_name = c.name AND x.key = ? AND x.value = ?)');
    args.push(label.key, label.value);
  }
  // The range is stated on every joined table: PostgreSQL may merge-join them in name order, and
  // a table without a lower bound is read from its start up to the cursor (a deep page took 5x
  // the first one).
  ranges('c.name', onConfig);
  const onVersion: string[] = [];
  ranges('v.config_name', onVersion);
  const onWalk: string[] = [];
  if (walk !== undefined) {
    onWalk.push(walk.where);
    args.push(...walk.args);
    ranges(key, onWalk);
  }
  args.push(query.limit);

  const where = (conditions: string[], word = 'WHERE') => (conditions.length > 0 ? ` ${word} ${conditions.join(' AND ')}` : '');
  const order = ` ORDER BY ${key} LIMIT ?`;
  if (walk === undefined) {
    return { statement: statement(`SELECT ${RECORD_COLUMNS} FROM config c ${WITH_LATEST}${where([...onConfig, ...onVersion])}${order}`), args };
  }
  const sqlite = `SELECT ${RECORD_COLUMNS} FROM ${walk.from} CROSS JOIN config c ${WITH_LATEST}${where([...onConfig, ...onVersion, ...onWalk])}${order}`;
  const postgresql =
    `SELECT ${RECORD_COLUMNS} FROM ${walk.from}` +
    ` CROSS JOIN LATERAL (SELECT * FROM config c${where(onConfig)} OFFSET 0) c` +
    ` CROSS JOIN LATERAL (SELECT * FROM config_version v WHERE v.config_name = c.name AND v.version = c.latest_version${where(onVersion, 'AND')} OFFSET 0) v` +
    `${where(onWalk)}${order}`;
  return { statement: { sqlite: statement(sqlite).sqlite, postgresql: statement(postgresql).postgresql }, args };
}

/** The classes a version names, to re-check inside the append (SQLite; PostgreSQL uses LOCK_CLASSES_PG). */
export function selectClasses(count: number): Statement {
  return statement(`SELECT id, from_observed FROM module_class WHERE id IN (${placeholders(count)})`);
}

export function insertLabels(name: string, labels: Record<string, string>): { statement: Statement; args: SqlValue[] } {
  const entries = Object.entries(labels);
  return {
    statement: statement(`INSERT INTO config_label (config_name, key, value) VALUES ${placeholders(entries.length, '(?, ?, ?)')}`),
    args: entries.flatMap(([key, value]) => [name, key, value]),
  };
}

export function insertClassRefs(name: string, refs: readonly ClassRef[]): { statement: Statement; args: SqlValue[] } {
  return {
    statement: statement(
      `INSERT INTO config_class_ref (config_name, class_id, as_quantized) VALUES ${placeholders(refs.length, '(?, ?, ?)')}`,
    ),
    args: refs.flatMap((r) => [name, r.classId, r.asQuantized]),
  };
}
