import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { InvalidError } from '../../registry/errors.js';
import type { Registry } from '../../registry/registry.js';
import { AfterRevision, StreamEventsQuery } from '../event-schemas.js';
import type { EventStreams } from '../event-streams.js';
import { problemResponses } from './responses.js';

const StreamHeaders = z.looseObject({
  'last-event-id': z
    .string()
    .optional()
    .describe(
      'The revision of the last event received, which an EventSource sends when it reconnects: the stream ' +
        'resumes right after it (and wins over `after`).',
    ),
});

const EXAMPLE =
  ': events after revision 41\n\n' +
  'id: 42\nevent: config.version_created\n' +
  'data: {"revision":42,"type":"config.version_created","at":"2026-01-03T00:00:00.000Z","by":"ci-vision","name":"resnet50-int8","version":3}\n\n' +
  ': keep-alive\n\n';

export function eventStreamRoutes(app: FastifyInstance, registry: Registry, streams: EventStreams): void {
  app.withTypeProvider<ZodTypeProvider>().route({
    method: 'GET',
    url: '/v1/events/stream',
    config: { access: 'read' },
    schema: {
      operationId: 'streamEvents',
      tags: ['Events'],
      summary: 'Stream the change feed (Server-Sent Events)',
      description:
        'The events of GET /v1/events as `text/event-stream`: each as `id: <revision>`, `event: <type>`, ' +
        '`data: <event JSON>`, first those already committed after `Last-Event-ID` (or `after`), then each as it is ' +
        'committed by any replica, with the same name and type filters. A comment line comes at least every 15 s, and ' +
        'with it the credentials are checked again: a stream whose token has been revoked ends (reconnecting gets the 401). ' +
        'A browser EventSource resumes by itself after a disconnect without missing an event; a replica that is ' +
        'shutting down ends its streams cleanly, and one serving its maximum of streams answers 503 with Retry-After.',
      querystring: StreamEventsQuery,
      headers: StreamHeaders,
      response: {
        200: {
          description: 'The stream; it stays open until the client leaves or the replica stops.',
          content: { 'text/event-stream': { schema: z.string(), example: EXAMPLE } },
        },
        ...problemResponses(400, 422, 503),
      },
    },
    handler: function streamEvents(request, reply) {
      const after = resumeFrom(request.headers['last-event-id'], request.query.after);
      const { name, type } = request.query;
      // Not async: the reply is the stream, sent here; Fastify has nothing to await.
      streams.open(reply, registry.watch, after, { names: name, types: type }, () => app.stillAllowed(request, 'read'));
    },
  });
}

function resumeFrom(lastEventId: string | string[] | undefined, after: number | undefined): number {
  if (lastEventId === undefined) return after ?? 0;
  const parsed = AfterRevision.safeParse(Array.isArray(lastEventId) ? lastEventId.join(',') : lastEventId.trim());
  if (!parsed.success) {
    throw new InvalidError('The Last-Event-ID header is not a revision.', [
      { parameter: 'last-event-id', detail: 'must be the id of an event this stream sent (a revision number)' },
    ]);
  }
  return parsed.data;
}
