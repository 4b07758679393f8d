// Where the tests create and drop their PostgreSQL databases. Shared by the global setup (which
// runs in vitest's main process) and databases.ts (which runs in the test workers).
import pg from 'pg';

/** A role that may CREATE DATABASE, connected to a maintenance database. Trust auth here. */
export const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://root@127.0.0.1:5432/postgres';

/** Test databases are named `<prefix><unix seconds>_<random>`, so stale ones can be recognised. */
export const TEST_DATABASE_PREFIX = 'registry_test_';

/** `host:port` of the admin URL, for messages (never the password). */
export function adminAddress(): string {
  const url = new URL(ADMIN_URL);
  return `${url.hostname || 'localhost'}:${url.port || '5432'}`;
}

export async function withAdminClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The URL of another database on the admin URL's server. */
export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}
