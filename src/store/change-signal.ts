import type { ChangeSignal } from '../registry/watch-hub.js';
import { databaseKind, sqliteFilePath } from './database.js';
import { PostgresListener } from './postgres-listener.js';
import { WalIndexSignal } from './wal-index-signal.js';

/**
 * The wake-up for waiters on the database `url` names: the WAL-index header on SQLite, LISTEN on
 * PostgreSQL. Either way it only says "look again"; the hub reads the events table.
 */
export function changeSignal(url: string, log?: (level: 'info' | 'warn', msg: string) => void): ChangeSignal {
  return databaseKind(url) === 'sqlite'
    ? new WalIndexSignal(sqliteFilePath(url))
    : new PostgresListener(url, log === undefined ? {} : { log });
}
