import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry } from '../../registry/registry.js';
import { eventView, EventsPageSchema, ListEventsQuery } from '../event-schemas.js';
import { waitForEvents, type WaitingOptions } from '../long-poll.js';
import { jsonResponse, problemResponses, type HeaderDoc } from './responses.js';

const TAG = 'Events';

export const REGISTRY_REVISION: HeaderDoc = {
  type: 'integer',
  required: true,
  description: 'The newest revision committed when the reply was made.',
};

export function eventRoutes(app: FastifyInstance, registry: Registry, waiting: WaitingOptions = {}): void {
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
        'ascending, filtered by config name and type (each repeatable, ORed). Continue with after=lastRevision. ' +
        'With wait=N, a reply that would have no items is held until a matching change is committed (by any ' +
        'replica) or N seconds pass; a replica holding its maximum of waiting requests answers 503 with Retry-After.',
      querystring: ListEventsQuery,
      response: {
        200: jsonResponse(EventsPageSchema, 'Matching events, and the revision the answer accounts for.', {
          'X-Registry-Revision': REGISTRY_REVISION,
        }),
        ...problemResponses(400, 422, 503),
      },
    },
    handler: async function listEvents(request, reply) {
      const { after, limit, name, type, wait } = request.query;
      const params = { after: after ?? 0, limit, names: name, types: type };
      let page = await registry.events.list(params);
      if (page.items.length === 0 && wait !== undefined && wait > 0) {
        page = await waitForEvents(reply, registry.watch, params, page, wait, waiting);
      }
      reply.header('x-registry-revision', String(page.committedRevision));
      return { items: page.items.map(eventView), lastRevision: page.lastRevision };
    },
  });
}
