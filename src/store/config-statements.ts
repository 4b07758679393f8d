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
export const LOCK_CLASSES_PG = statement('SELECT id, from_observed FROM module_class WHERE id = ANY(?) ORDER BY id FOR SHARE');
export const CREATE_HEAD = statement(
  'INSERT INTO config (name, latest_version, deleted, created_at, updated_at) VALUES (?, 1, false, ?, ?) RETURNING created_at',
);
export const MOVE_HEAD = statement(
  'UPDATE config SET latest_version = ?, updated_at = ? WHERE name = ? AND latest_version = ? AND deleted = ? RETURNING created_at',
);
export const INSERT_VERSION = statement(
  'INSERT INTO config_version (config_name, version, config_json, description, labels_json, content_hash, created_at, updated_by) ' +
    'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
);
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
 * CROSS JOIN keeps that table the outer loop: SQLite's planner would otherwise walk the configs
 * (by the deleted index) and sort, reading every config for one page. PostgreSQL plans it as a
 * plain join.
 */
export function listConfigsStatement(query: ListConfigsQuery): { statement: Statement; args: SqlValue[] } {
  const where: string[] = [];
  const args: SqlValue[] = [];
  let from = 'config c';
  let key = 'c.name';
  const labels = [...query.labels];
  if (query.usesClass !== undefined) {
    from = 'config_class_ref r CROSS JOIN config c';
    key = 'r.config_name';
    where.push('r.class_id = ?', 'c.name = r.config_name');
    args.push(query.usesClass);
  } else if (labels.length > 0) {
    const first = labels.shift()!;
    from = 'config_label l CROSS JOIN config c';
    key = 'l.config_name';
    where.push('l.key = ? AND l.value = ?', 'c.name = l.config_name');
    args.push(first.key, first.value);
  }
  // The range is stated on every joined table: PostgreSQL may merge-join them in name order, and
  // a table without a lower bound is read from its start up to the cursor (a deep page took 5x
  // the first one).
  for (const column of new Set([key, 'c.name', 'v.config_name'])) {
    if (query.prefix !== undefined) {
      where.push(`${column} >= ? AND ${column} < ?`);
      args.push(query.prefix, prefixEnd(query.prefix));
    }
    if (query.after !== undefined) {
      where.push(`${column} > ?`);
      args.push(query.after);
    }
  }
  if (!query.showDeleted) {
    where.push('c.deleted = ?');
    args.push(false);
  }
  for (const label of labels) {
    where.push('EXISTS (SELECT 1 FROM config_label x WHERE x.config_name = c.name AND x.key = ? AND x.value = ?)');
    args.push(label.key, label.value);
  }
  args.push(query.limit);
  const text =
    `SELECT ${RECORD_COLUMNS} FROM ${from} ${WITH_LATEST}` +
    `${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${key} LIMIT ?`;
  return { statement: statement(text), args };
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
