// The door: settings, logger, database (migrated), app, listen; and the way out again.
//
// Lifecycle, as operators and orchestrators rely on it:
// - An invalid setting prints one line naming it (never its value) and exits 2; any other
//   start-up failure (database unreachable, a migration refused) prints one line and exits 1.
// - SIGTERM / SIGINT: stop accepting connections, let in-flight requests finish (requests that
//   arrive on kept-alive connections meanwhile get 503), close the database, exit 0. A second
//   signal, or shutdown taking longer than SHUTDOWN_GRACE_MS, exits 1 at once. Under `npm start`
//   npm passes SIGTERM and SIGINT on to the service (the script `exec`s node, so the service is
//   npm's child); a Ctrl-C in a terminal therefore arrives twice, from the terminal and from npm,
//   and a repeat of the first signal within REPEATED_SIGNAL_MS counts as the same request.
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { buildApp } from './http/app.js';
import { loggerOptions } from './http/logging.js';
import { createRegistry } from './registry/registry.js';
import { loadSettings, SettingsError, type Settings } from './settings.js';
import { hidePassword, openDatabase, redactDatabaseUrl, type Database } from './store/database.js';
import { changeSignal } from './store/change-signal.js';
import { registryStore } from './store/prisma-registry-store.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * How long in-flight requests get to finish after SIGTERM. Below the 15 s stop grace period
 * that docker-compose.yml gives (Docker's own default is 10 s, Kubernetes' 30 s).
 */
export const SHUTDOWN_GRACE_MS = 10_000;

/** A repeat of the first signal this soon is the same request (see the top of this file). */
const REPEATED_SIGNAL_MS = 1_000;

/** Set once settings are read, so that a start-up failure message can hide its password. */
let databaseUrl: string | undefined;

/** The one logger of the process: start-up (migrations), requests and shutdown all go through it. */
function createLogger(settings: Settings): Logger {
  const secrets = settings.REGISTRY_ADMIN_TOKEN === undefined ? [] : [settings.REGISTRY_ADMIN_TOKEN];
  return pino(loggerOptions({ level: settings.LOG_LEVEL, secrets }) as LoggerOptions);
}

async function main(): Promise<void> {
  let settings: Settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  databaseUrl = settings.DATABASE_URL;

  const log = createLogger(settings);
  const database = await openDatabase(settings.DATABASE_URL, {
    poolSize: settings.DATABASE_POOL_SIZE,
    log: (msg) => log.info(msg),
  });
  let app: FastifyInstance | undefined;
  installShutdown(log, database, () => app);

  const adminToken = settings.REGISTRY_ADMIN_TOKEN;
  const registry = await createRegistry(registryStore(database), undefined, {
    ...(adminToken === undefined ? {} : { adminToken }),
    changes: changeSignal(settings.DATABASE_URL, (level, msg) => log[level](msg)),
    watch: {
      maxWaiters: settings.WATCH_MAX_WAITERS,
      maxStreams: settings.WATCH_MAX_STREAMS,
      onError: (error) => log.warn({ err: error }, 'watch: reading the change feed failed; retrying'),
    },
  });
  app = await buildApp({
    registry,
    version,
    loggerInstance: log,
    anonymousRead: settings.REGISTRY_ANONYMOUS_READ,
    rateLimitMax: settings.RATE_LIMIT_MAX,
    corsOrigins: settings.CORS_ORIGINS,
    trustProxy: settings.TRUST_PROXY,
    timeouts: {
      requestMs: settings.REQUEST_TIMEOUT_MS,
      handlerMs: settings.HANDLER_TIMEOUT_MS,
      connectionMs: settings.CONNECTION_TIMEOUT_MS,
      keepAliveMs: settings.KEEP_ALIVE_TIMEOUT_MS,
    },
  });
  log.info({ database: redactDatabaseUrl(settings.DATABASE_URL), kind: database.kind }, 'database ready');
  await app.listen({ port: settings.PORT, host: settings.HOST });
}

function installShutdown(log: Logger, database: Database, currentApp: () => FastifyInstance | undefined): void {
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  // close-with-grace handles errors and the rest of the signals; SIGTERM and SIGINT are ours. Its
  // own handling removes the first signal's listener before adding the "second signal" one, and
  // Node restores the default action (death) in between: npm's copy of a Ctrl-C landing there
  // killed the service without a shutdown. These listeners stay installed from start to exit.
  const closer = closeWithGrace(
    {
      delay: SHUTDOWN_GRACE_MS,
      skip: ['SIGTERM', 'SIGINT'],
      logger: { error: (msg: unknown) => log.error(msg instanceof Error ? { err: msg } : { msg: String(msg) }) },
    },
    async ({ signal, err }) => {
      if (err) log.error({ err }, 'shutting down after an error');
      else log.info({ signal: signal ?? first?.signal }, 'shutting down');
      // Stops accepting at once, then waits for in-flight requests; only then the database.
      await currentApp()?.close();
      await database.close();
      log.info('stopped');
    },
  );
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (first === undefined) {
        first = { signal, at: Date.now() };
        void closer.close();
      } else if (signal !== first.signal || Date.now() - first.at >= REPEATED_SIGNAL_MS) {
        log.error(`second ${signal}, exiting`);
        process.exit(1);
      }
    });
  }
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  // One line: multi-line driver messages are joined.
  const safe = databaseUrl === undefined ? message : hidePassword(message, databaseUrl);
  process.stderr.write(`Start-up failed: ${safe.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
});
