import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Registry } from '../../registry/registry.js';
import { withDeadline } from '../deadline.js';
import type { Metrics } from '../plugins/metrics.js';
import { jsonResponse, problemResponses } from './responses.js';

const TAG = 'Operations';
const Status = z
  .object({ status: z.string() })
  .meta({ id: 'Status', description: 'A liveness or readiness answer.', examples: [{ status: 'ok' }] });

/** A readiness probe answers within this, database or not (orchestrators time out probes too). */
const READINESS_DEADLINE_MS = 2000;

/** Orchestrators and scrapers must always get an answer: no token, no rate limit. */
const OPERATIONS = { access: 'public', rateLimit: false } as const;

export function operationRoutes(app: FastifyInstance, registry: Registry, metrics: Metrics): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.route({
    method: 'GET',
    url: '/healthz',
    config: OPERATIONS,
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
    config: OPERATIONS,
    schema: {
      operationId: 'getReadiness',
      tags: [TAG],
      summary: 'Readiness',
      description:
        'The database is reachable and migrated; 503 otherwise (within 2 s, also when the database hangs). ' +
        'Recovers by itself when the database returns.',
      response: { 200: jsonResponse(Status, 'Ready to serve.'), ...problemResponses(503) },
    },
    handler: async function getReadiness() {
      // Reading the page-token key proves both reachability and that migrations ran.
      await withDeadline(registry.store.pageTokenKey(), READINESS_DEADLINE_MS, 'the readiness check');
      return { status: 'ready' };
    },
  });

  r.route({
    method: 'GET',
    url: '/metrics',
    config: OPERATIONS,
    schema: {
      operationId: 'getMetrics',
      tags: [TAG],
      summary: 'Prometheus metrics',
      description:
        'Prometheus text format: http_requests_total and http_request_duration_seconds by method, route pattern and ' +
        'status code; registry_configs, registry_config_versions, registry_module_classes, registry_api_tokens and ' +
        'registry_database_up; and the process metrics.',
      response: {
        200: {
          description: 'Prometheus text exposition format 0.0.4.',
          content: {
            'text/plain': {
              schema: z.string(),
              example: '# TYPE http_requests_total counter\nhttp_requests_total{method="GET",route="/v1/configs/:name",status_code="200"} 42\n',
            },
          },
        },
        ...problemResponses(),
      },
    },
    handler: async function getMetrics(_request, reply) {
      const text = await metrics.render();
      return reply.type(metrics.contentType).send(text);
    },
  });
}
