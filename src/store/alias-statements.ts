// The statements of aliases and their history (prisma/schema.prisma, ConfigAlias and
// ConfigAliasMove), on the driver adapter. Texts are constants; values are always bound.
import type { AliasMove, AliasRecord } from '../registry/store.js';
import { asBoolean, asDate, statement, type Row, type Statement } from './driver-sql.js';

const ALIAS_COLUMNS = 'config_name, alias, version, protected, moves, updated_at, updated_by';
const MOVE_COLUMNS = 'seq, version, previous_version, protected, moves, moved_at, moved_by';

/**
 * The first statement of every alias write: it takes the config's row lock and answers whether the
 * config is live. PostgreSQL: FOR NO KEY UPDATE, which alias writes of the same config wait for
 * (so the 32-aliases limit is counted by one writer at a time) while foreign-key checks (KEY
 * SHARE) do not. SQLite: a write, so that the transaction holds the database's write lock from
 * its start (a deferred transaction that read first could not upgrade after another process
 * committed); setting a column to itself changes nothing.
 */
export const LOCK_CONFIG: Statement = {
  sqlite: 'UPDATE config SET deleted = deleted WHERE name = ? RETURNING deleted',
  postgresql: 'SELECT deleted FROM config WHERE name = $1 FOR NO KEY UPDATE',
};

export const GET_ALIAS = statement(`SELECT ${ALIAS_COLUMNS} FROM config_alias WHERE config_name = ? AND alias = ?`);
export const LIST_ALIASES = statement(`SELECT ${ALIAS_COLUMNS} FROM config_alias WHERE config_name = ? ORDER BY alias`);
export const COUNT_ALIASES = statement('SELECT COUNT(*) AS n FROM config_alias WHERE config_name = ?');

/** A new alias; its moves continue from its history (a deleted alias set again is not at "1" again). */
export const INSERT_ALIAS = statement(
  `INSERT INTO config_alias (${ALIAS_COLUMNS}) VALUES (?, ?, ?, ?, ` +
    '(SELECT COALESCE(MAX(moves), 0) + 1 FROM config_alias_move WHERE config_name = ? AND alias = ?), ?, ?) RETURNING moves',
);
/** Compare-and-set on moves: a move from exactly the state the writer read. */
export const MOVE_ALIAS = statement(
  'UPDATE config_alias SET version = ?, protected = ?, moves = moves + 1, updated_at = ?, updated_by = ? ' +
    'WHERE config_name = ? AND alias = ? AND moves = ? RETURNING moves',
);
export const DELETE_ALIAS = statement(
  'DELETE FROM config_alias WHERE config_name = ? AND alias = ? AND moves = ? RETURNING version, protected',
);

/** The next entry of an alias's history (seq: one more than its last). */
export const INSERT_MOVE = statement(
  `INSERT INTO config_alias_move (config_name, alias, ${MOVE_COLUMNS}) VALUES (?, ?, ` +
    '(SELECT COALESCE(MAX(seq), 0) + 1 FROM config_alias_move WHERE config_name = ? AND alias = ?), ?, ?, ?, ?, ?, ?)',
);
export const LIST_MOVES = statement(
  `SELECT ${MOVE_COLUMNS} FROM config_alias_move WHERE config_name = ? AND alias = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
);

export function toAlias(row: Row): AliasRecord {
  return {
    name: String(row.config_name),
    alias: String(row.alias),
    version: Number(row.version),
    protected: asBoolean(row.protected),
    moves: Number(row.moves),
    updatedAt: asDate(row.updated_at),
    updatedBy: String(row.updated_by),
  };
}

export function toMove(row: Row): AliasMove {
  const version = row.version === null || row.version === undefined ? null : Number(row.version);
  const previous = row.previous_version === null || row.previous_version === undefined ? null : Number(row.previous_version);
  return {
    seq: Number(row.seq),
    version,
    previousVersion: previous,
    protected: asBoolean(row.protected),
    moves: Number(row.moves),
    movedAt: asDate(row.moved_at),
    movedBy: String(row.moved_by),
  };
}
