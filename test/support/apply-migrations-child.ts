// A starting replica, for the concurrency tests:
//   node --import tsx apply-migrations-child.ts <sqlite|postgresql> <url> [startAtEpochMs]
// applies the migrations and prints the names it applied as JSON. With startAt, it loads
// everything first and then waits for that moment, so that several children really do start
// migrating at the same time rather than staggered by their start-up times.
import { setTimeout as sleep } from 'node:timers/promises';
import type { DatabaseKind } from '../../src/store/database.js';
import { applyMigrations } from '../../src/store/migrate.js';

const [kind, url, startAt] = process.argv.slice(2) as [DatabaseKind, string, string | undefined];
if (startAt !== undefined) await sleep(Math.max(0, Number(startAt) - Date.now()));
const applied = await applyMigrations(kind, url);
process.stdout.write(`${JSON.stringify(applied)}\n`);
