import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../src/http/app.js';
import { createRegistry, type RegistryOptions } from '../../src/registry/registry.js';
import { openDatabase, type Database, type DatabaseKind } from '../../src/store/database.js';
import { changeSignal } from '../../src/store/change-signal.js';
import { registryStore } from '../../src/store/prisma-registry-store.js';
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

/** How to build the app: the registry's options (e.g. adminToken) and buildApp's (but the registry). */
export interface ServiceOptions extends Omit<AppOptions, 'registry'> {
  registry?: RegistryOptions;
}

/** The real service on a fresh database of the given kind (its own file or PostgreSQL database). */
export async function startService(kind: DatabaseKind, options: ServiceOptions = {}): Promise<TestService> {
  const testDb = await createTestDatabase(kind);
  const service = await startReplica(testDb.url, options);
  const close = service.close;
  service.close = async () => {
    await close();
    await testDb.drop();
  };
  return service;
}

/**
 * Another instance of the service on an existing database (as a second replica would be), or on
 * a URL that reaches it another way (e.g. through a TCP proxy). Closing it leaves the database.
 */
export async function startReplica(url: string, options: ServiceOptions = {}): Promise<TestService> {
  const { registry: registryOptions, ...appOptions } = options;
  const database = await openDatabase(url);
  const registry = await createRegistry(registryStore(database), undefined, { changes: changeSignal(url), ...registryOptions });
  const app = await buildApp({ registry, ...appOptions });
  await app.ready();
  const service: TestService = {
    app,
    database,
    url,
    async listen() {
      const address = await app.listen({ port: 0, host: '127.0.0.1' });
      service.baseUrl = address;
      return address;
    },
    async close() {
      await app.close();
      await database.close();
    },
  };
  return service;
}

/** Registers module classes for a test (observed ones plain, quantized ones with fromObserved). */
export async function registerClasses(
  app: FastifyInstance,
  classes: Array<{ id: string; fromObserved?: boolean }>,
  headers: Record<string, string> = {},
): Promise<void> {
  for (const c of classes) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/module-classes',
      headers,
      payload: { id: c.id, fromObserved: c.fromObserved ?? false },
    });
    if (res.statusCode !== 201 && res.statusCode !== 409) {
      throw new Error(`registering ${c.id}: ${res.statusCode} ${res.body}`);
    }
  }
}
