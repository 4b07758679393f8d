import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Registry } from '../../registry/registry.js';
import { jsonResponse, problemResponses } from './responses.js';

const TAG = 'Operations';
const Status = z
  .object({ status: z.string() })
  .meta({ id: 'Status', description: 'A liveness or readiness answer.', examples: [{ status: 'ok' }] });

export function operationRoutes(app: FastifyInstance, registry: Registry): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.route({
    method: 'GET',
    url: '/healthz',
    schema: {
      operationId: 'getHealth',
      tags: [TAG],
      summary: 'Liveness',
      description: 'The process is alive (does not touch the database).',
      response: { 200: jsonResponse(Status, 'Alive.'), ...problemResponses() },
    },
    handler: async function getHealth() {
      return { status: 'ok' };
    },
  });

  r.route({
    method: 'GET',
    url: '/readyz',
    schema: {
      operationId: 'getReadiness',
      tags: [TAG],
      summary: 'Readiness',
      description: 'The database is reachable and migrated; 503 otherwise.',
      response: { 200: jsonResponse(Status, 'Ready to serve.'), ...problemResponses(503) },
    },
    handler: async function getReadiness() {
      // Reading the page-token key proves both reachability and that migrations ran.
      await registry.store.pageTokenKey();
      return { status: 'ready' };
    },
  });
}
