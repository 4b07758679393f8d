import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { createRegistry } from '../../src/registry/registry.js';
import { openDatabase, type Database, type DatabaseKind } from '../../src/store/database.js';
import { PrismaRegistryStore } from '../../src/store/prisma-registry-store.js';
import { createTestDatabase } from './databases.js';

export interface TestService {
  app: FastifyInstance;
  database: Database;
  url: string;
  /** Base URL once `listen()` was called. */
  baseUrl?: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** The real service on a fresh database of the given kind (its own file or PostgreSQL database). */
export async function startService(kind: DatabaseKind): Promise<TestService> {
  const testDb = await createTestDatabase(kind);
  const database = await openDatabase(testDb.url);
  const registry = await createRegistry(new PrismaRegistryStore(database.prisma, database.kind));
  const app = await buildApp({ registry });
  await app.ready();
  const service: TestService = {
    app,
    database,
    url: testDb.url,
    async listen() {
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      service.baseUrl = address;
      return address;
    },
    async close() {
      await app.close();
      await database.close();
      await testDb.drop();
    },
  };
  return service;
}

/** Registers module classes for a test (observed ones plain, quantized ones with fromObserved). */
export async function registerClasses(
  app: FastifyInstance,
  classes: Array<{ id: string; fromObserved?: boolean }>,
): Promise<void> {
  for (const c of classes) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/module-classes',
      payload: { id: c.id, fromObserved: c.fromObserved ?? false },
    });
    if (res.statusCode !== 201 && res.statusCode !== 409) {
      throw new Error(`registering ${c.id}: ${res.statusCode} ${res.body}`);
    }
  }
}
