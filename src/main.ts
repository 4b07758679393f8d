import closeWithGrace from 'close-with-grace';
import { readFileSync } from 'node:fs';
import { buildApp } from './http/app.js';
import { createRegistry } from './registry/registry.js';
import { loadSettings, SettingsError } from './settings.js';
import { openDatabase, redactDatabaseUrl } from './store/database.js';
import { PrismaRegistryStore } from './store/prisma-registry-store.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

async function main(): Promise<void> {
  let settings;
  try {
    settings = loadSettings();
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }

  const database = await openDatabase(settings.DATABASE_URL, { poolSize: settings.DATABASE_POOL_SIZE });
  const registry = await createRegistry(new PrismaRegistryStore(database.prisma, database.kind));
  const app = await buildApp({ registry, version, logger: { level: settings.LOG_LEVEL } });
  app.log.info({ database: redactDatabaseUrl(settings.DATABASE_URL), kind: database.kind }, 'database ready');

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error');
    else app.log.info({ signal }, 'shutting down');
    await app.close();
    await database.close();
  });

  await app.listen({ port: settings.PORT, host: settings.HOST });
}

main().catch((error: unknown) => {
  process.stderr.write(`Start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
