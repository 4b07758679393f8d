import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry } from '../../registry/registry.js';
import { eventView, EventsPageSchema, ListEventsQuery } from '../event-schemas.js';
import { jsonResponse, problemResponses, type HeaderDoc } from './responses.js';

const TAG = 'Events';

export const REGISTRY_REVISION: HeaderDoc = {
  type: 'integer',
  description: 'The newest revision committed when the reply was made.',
};

export function eventRoutes(app: FastifyInstance, registry: Registry): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.route({
    method: 'GET',
    url: '/v1/events',
    config: { access: 'read' },
    schema: {
      operationId: 'listEvents',
      tags: [TAG],
      summary: 'Read the change feed',
      description:
        'Every change to the registry (config versions, delete/undelete/purge, alias moves, module class changes) ' +
        'under a registry-wide revision that is gap-free and in commit order: events with revision > after, ' +
        'ascending, filtered by config name and type (each repeatable, ORed). Continue with after=lastRevision.',
      querystring: ListEventsQuery,
      response: {
        200: jsonResponse(EventsPageSchema, 'Matching events, and the revision the answer accounts for.', {
          'X-Registry-Revision': REGISTRY_REVISION,
        }),
        ...problemResponses(400, 422),
      },
    },
    handler: async function listEvents(request, reply) {
      const { after, limit, name, type } = request.query;
      const page = await registry.events.list({ after: after ?? 0, limit, names: name, types: type });
      reply.header('x-registry-revision', String(page.committedRevision));
      return { items: page.items.map(eventView), lastRevision: page.lastRevision };
    },
  });
}
