// The operator's door, beside main.ts: `npm run --silent registry -- <command>` (or
// `node dist/registry-cli.js <command>` in the container) on the database named by DATABASE_URL.
//
//   export [--output FILE]              the whole registry as NDJSON (src/store/registry-dump.ts)
//   import [--input FILE] [--overwrite] load such a dump, in one transaction
//
// Data goes to stdout / comes from stdin unless a file is named; progress and errors go to stderr,
// one line each. Exit status: 0 done, 1 refused or failed (nothing imported), 2 usage or settings.
import { once } from 'node:events';
import { accessSync, constants, createReadStream, createWriteStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { loadCliSettings, SettingsError } from './settings.js';
import { databaseKind, hidePassword, openDatabase, redactDatabaseUrl, sqliteFilePath } from './store/database.js';
import { exportRegistry, importRegistry } from './store/registry-dump.js';

const USAGE = `Usage: npm run --silent registry -- <command> [options]
The database is DATABASE_URL (file:... for SQLite, postgresql://... for PostgreSQL).

Commands:
  export [--output FILE]               write the whole registry as NDJSON (default: stdout)
  import [--input FILE] [--overwrite]  load a dump (default: stdin) into the database, creating
                                       and migrating it if needed, in one transaction; a database
                                       that already holds a registry is refused unless --overwrite

Moving from SQLite to PostgreSQL: see README.md.`;

class UsageError extends Error {}

function say(command: string, message: string): void {
  process.stderr.write(`registry${command === '' ? '' : ` ${command}`}: ${message}\n`);
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        input: { type: 'string', short: 'i' },
        overwrite: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === undefined) throw new UsageError('which command? export or import');
  if (positionals.length > 1) throw new UsageError(`unexpected argument: ${positionals[1]}`);
  if (command === 'export') {
    if (values.input !== undefined || values.overwrite) throw new UsageError('export takes only --output');
    return runExport(values.output);
  }
  if (command === 'import') {
    if (values.output !== undefined) throw new UsageError('import takes --input and --overwrite');
    return runImport(values.input, values.overwrite);
  }
  throw new UsageError(`unknown command: ${command}`);
}

async function runExport(output: string | undefined): Promise<number> {
  const { DATABASE_URL: url } = loadCliSettings();
  // Opening a SQLite URL creates the file; exporting a path that does not exist is a mistake.
  if (databaseKind(url) === 'sqlite' && !existsSync(sqliteFilePath(url))) {
    say('export', `no SQLite database at ${sqliteFilePath(url)} (DATABASE_URL)`);
    return 1;
  }
  const database = await openDatabase(url, { migrate: false });
  const out: Writable = output === undefined ? process.stdout : createWriteStream(output);
  // A reader that went away (a closed pipe) or a full disk: one line, exit 1.
  out.once('error', (error) => {
    say('export', `cannot write the dump: ${error.message}`);
    process.exit(1);
  });
  try {
    say('export', `from ${database.kind} ${redactDatabaseUrl(url)}`);
    const counts = await exportRegistry(database, (line) => writeLine(out, line), {
      onProgress: (message) => say('export', message),
    });
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    say('export', `done: ${total} rows from ${Object.keys(counts).length} tables${output === undefined ? '' : ` to ${output}`}`);
  } finally {
    await database.close();
    if (out !== process.stdout) {
      out.end();
      await once(out, 'finish');
    }
  }
  return 0;
}

async function runImport(input: string | undefined, overwrite: boolean): Promise<number> {
  const { DATABASE_URL: url } = loadCliSettings();
  if (input === undefined && process.stdin.isTTY) {
    throw new UsageError('the dump is read from stdin, which is a terminal: pipe a dump in, or pass --input FILE');
  }
  if (input !== undefined) {
    try {
      accessSync(input, constants.R_OK);
    } catch {
      say('import', `cannot read ${input}`);
      return 1;
    }
  }
  const database = await openDatabase(url, { log: (message) => say('import', message) });
  const stream = input === undefined ? process.stdin : createReadStream(input);
  try {
    say('import', `into ${database.kind} ${redactDatabaseUrl(url)}${overwrite ? ' (overwriting what it holds)' : ''}`);
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    // A read error ends the iteration with that error (and the transaction with a rollback).
    stream.once('error', (error: Error) => lines.emit('error', error));
    const counts = await importRegistry(database, lines, { overwrite, onProgress: (message) => say('import', message) });
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    say('import', `done: ${total} rows in one transaction`);
  } finally {
    await database.close();
    stream.destroy();
  }
  return 0;
}

/** Writes one line, waiting while the reader (a pipe, a file) catches up. */
async function writeLine(out: Writable, line: string): Promise<void> {
  if (!out.write(`${line}\n`)) await once(out, 'drain');
}

const command = process.argv[2] ?? '';
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError || error instanceof SettingsError) {
      say(command, error instanceof UsageError ? `${error.message} (see --help)` : error.message);
      process.exitCode = 2;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const url = process.env.DATABASE_URL;
    say(command, (url === undefined ? message : hidePassword(message, url)).trim().replace(/\s*\n\s*/g, ' '));
    process.exitCode = 1;
  },
);
