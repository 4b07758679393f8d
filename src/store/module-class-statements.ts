// The module class writes, on the driver adapter so that each runs in one transaction with the
// event it appends (event-log.ts). Values are always bound; the UPDATE is assembled from constant
// fragments for the fields the request changes.
import type { ModuleClassRecord } from '../registry/store.js';
import { asBoolean, asDate, statement, type Row, type SqlValue, type Statement } from './driver-sql.js';

const COLUMNS = 'id, from_observed, description, built_in, created_at, updated_at';

export const INSERT_MODULE_CLASS = statement(`INSERT INTO module_class (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`);
export const DELETE_MODULE_CLASS = statement('DELETE FROM module_class WHERE id = ?');
export const SELECT_MODULE_CLASS = statement(`SELECT ${COLUMNS} FROM module_class WHERE id = ?`);
/** The live configs that use a class as a quantized class: they block turning fromObserved off. */
export const QUANTIZED_USERS = statement(
  'SELECT config_name FROM config_class_ref WHERE class_id = ? AND as_quantized = ? ORDER BY config_name LIMIT 100',
);

/**
 * Sets the given fields and updatedAt, only where one of them differs (an update that changes
 * nothing touches no row, so it makes no event); returns the row as updated. Undefined when there
 * is nothing to set.
 */
export function updateModuleClassStatement(
  id: string,
  update: { fromObserved?: boolean; description?: string; updatedAt: Date },
): { statement: Statement; args: SqlValue[] } | undefined {
  const set: string[] = [];
  const differs: string[] = [];
  const setArgs: SqlValue[] = [];
  const differArgs: SqlValue[] = [];
  if (update.fromObserved !== undefined) {
    set.push('from_observed = ?');
    differs.push('from_observed <> ?');
    setArgs.push(update.fromObserved);
    differArgs.push(update.fromObserved);
  }
  if (update.description !== undefined) {
    set.push('description = ?');
    differs.push('description <> ?');
    setArgs.push(update.description);
    differArgs.push(update.description);
  }
  if (set.length === 0) return undefined;
  return {
    statement: statement(
      `UPDATE module_class SET ${set.join(', ')}, updated_at = ? WHERE id = ? AND (${differs.join(' OR ')}) RETURNING ${COLUMNS}`,
    ),
    args: [...setArgs, update.updatedAt, id, ...differArgs],
  };
}

export function moduleClassArgs(record: ModuleClassRecord): SqlValue[] {
  return [record.id, record.fromObserved, record.description, record.builtIn, record.createdAt, record.updatedAt];
}

export function toModuleClass(row: Row): ModuleClassRecord {
  return {
    id: String(row.id),
    fromObserved: asBoolean(row.from_observed),
    description: String(row.description),
    builtIn: asBoolean(row.built_in),
    createdAt: asDate(row.created_at),
    updatedAt: asDate(row.updated_at),
  };
}
