// Aliases on the driver adapter: each write is one transaction that locks the config's row, changes
// the alias, records the move in its history and appends the event, so an alias, its history and
// the feed never disagree.
import type { AliasMove, AliasRecord, AliasWriteOutcome, SetAlias } from '../registry/store.js';
import {
  COUNT_ALIASES,
  DELETE_ALIAS,
  GET_ALIAS,
  INSERT_ALIAS,
  INSERT_MOVE,
  LIST_ALIASES,
  LIST_MOVES,
  LOCK_CONFIG,
  MOVE_ALIAS,
  toAlias,
  toMove,
} from './alias-statements.js';
import { asBoolean, type DriverSql, type SqlRunner } from './driver-sql.js';
import { appendEvent } from './event-log.js';
import { isForeignKeyViolation, isUniqueViolation } from './store-errors.js';

/** Thrown inside an alias transaction to roll it back with the outcome to answer. */
class Refused extends Error {
  constructor(readonly outcome: AliasWriteOutcome & { ok: false }) {
    super(outcome.reason);
  }
}

const NO_SEQ_ABOVE = 2_147_483_647;

export class AliasStore {
  constructor(private readonly sql: DriverSql) {}

  async get(name: string, alias: string): Promise<AliasRecord | null> {
    const [row] = await this.sql.rows(GET_ALIAS, [name, alias]);
    return row === undefined ? null : toAlias(row);
  }

  async list(name: string): Promise<AliasRecord[]> {
    return (await this.sql.rows(LIST_ALIASES, [name])).map(toAlias);
  }

  async history(name: string, alias: string, query: { before?: number; limit: number }): Promise<AliasMove[]> {
    return (await this.sql.rows(LIST_MOVES, [name, alias, query.before ?? NO_SEQ_ABOVE, query.limit])).map(toMove);
  }

  set(change: SetAlias): Promise<AliasWriteOutcome> {
    const { name, alias, version, at, by } = change;
    return this.write(async (tx) => {
      await lockLiveConfig(tx, name);
      let moves: number;
      if (change.expected === null) {
        const [created] = await tx.rows(INSERT_ALIAS, [name, alias, version, change.protected, name, alias, at, by]);
        moves = Number(created!.moves);
        // Counted after the insert, under the config's lock: racing creators are counted one by one.
        const [count] = await tx.rows(COUNT_ALIASES, [name]);
        if (Number(count?.n) > change.maxAliases) throw new Refused({ ok: false, reason: 'too-many' });
      } else {
        const [moved] = await tx.rows(MOVE_ALIAS, [version, change.protected, at, by, name, alias, change.expected.moves]);
        if (moved === undefined) throw new Refused({ ok: false, reason: 'conflict' });
        moves = Number(moved.moves);
      }
      const previous = change.expected?.version ?? null;
      await tx.execute(INSERT_MOVE, [name, alias, name, alias, version, previous, change.protected, moves, at, by]);
      await appendEvent(tx, { type: 'alias.set', at, by, name, alias, version });
      return { ok: true, record: { name, alias, version, protected: change.protected, moves, updatedAt: at, updatedBy: by } };
    });
  }

  delete(change: { name: string; alias: string; expectedMoves: number; at: Date; by: string }): Promise<AliasWriteOutcome> {
    const { name, alias, expectedMoves, at, by } = change;
    return this.write(async (tx) => {
      await lockLiveConfig(tx, name);
      const [deleted] = await tx.rows(DELETE_ALIAS, [name, alias, expectedMoves]);
      if (deleted === undefined) throw new Refused({ ok: false, reason: 'conflict' });
      const record: AliasRecord = {
        name,
        alias,
        version: Number(deleted.version),
        protected: asBoolean(deleted.protected),
        moves: expectedMoves,
        updatedAt: at,
        updatedBy: by,
      };
      await tx.execute(INSERT_MOVE, [name, alias, name, alias, null, record.version, record.protected, expectedMoves, at, by]);
      await appendEvent(tx, { type: 'alias.deleted', at, by, name, alias });
      return { ok: true, record };
    });
  }

  private async write(work: (tx: SqlRunner) => Promise<AliasWriteOutcome>): Promise<AliasWriteOutcome> {
    try {
      return await this.sql.transaction(work);
    } catch (error) {
      if (error instanceof Refused) return error.outcome;
      // Another writer created the alias first.
      if (isUniqueViolation(error)) return { ok: false, reason: 'conflict' };
      // The version is not there (it was never made, or a purge took it).
      if (isForeignKeyViolation(error)) return { ok: false, reason: 'missing-version' };
      throw error;
    }
  }
}

async function lockLiveConfig(tx: SqlRunner, name: string): Promise<void> {
  const [config] = await tx.rows(LOCK_CONFIG, [name]);
  if (config === undefined || asBoolean(config.deleted)) throw new Refused({ ok: false, reason: 'config-gone' });
}
