// Runs once per `vitest run`, in the main process: finds out whether PostgreSQL is there, tells
// the test files (inject('postgresAvailable')), and clears test databases that crashed runs left.
import type { TestProject } from 'vitest/node';
import { adminAddress, TEST_DATABASE_PREFIX, withAdminClient } from './postgres-admin.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAvailable: boolean;
  }
}

/** Older than this, a test database belongs to no running test run. */
const STALE_AFTER_SECONDS = 2 * 60 * 60;

export default async function setup(project: TestProject): Promise<void> {
  let available = false;
  let reason = '';
  try {
    await withAdminClient(async (client) => {
      await client.query('SELECT 1');
      await dropStaleDatabases(client);
    });
    available = true;
  } catch (error) {
    reason = (error as Error).message || String(error);
  }
  if (!available) {
    if (process.env.REQUIRE_POSTGRES === '1') {
      throw new Error(
        `PostgreSQL not reachable at ${adminAddress()} (${reason}) and REQUIRE_POSTGRES=1: ` +
          'start it, or set TEST_POSTGRES_URL to a role that may CREATE DATABASE',
      );
    }
    console.log(`PostgreSQL not reachable at ${adminAddress()}: PostgreSQL suites skipped`);
  }
  project.provide('postgresAvailable', available);
}

async function dropStaleDatabases(client: import('pg').Client): Promise<void> {
  const { rows } = await client.query<{ datname: string }>(
    'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
    [TEST_DATABASE_PREFIX],
  );
  const now = Math.floor(Date.now() / 1000);
  for (const { datname } of rows) {
    const created = Number(/^\D+(\d+)_/.exec(datname)?.[1]);
    if (Number.isFinite(created) && now - created > STALE_AFTER_SECONDS) {
      await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
    }
  }
}
