import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { sendJsonText } from './representation.js';

/** OpenAPI 3.1 generated from the routes' zod schemas, served at /openapi.json, UI at /docs. */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'convert-config registry',
        version,
        description:
          "A team-shared registry of PyTorch FX `ConvertCustomConfig`s: named, versioned configs whose module classes are registered identifiers.",
        contact: { name: 'convert-config registry maintainers' },
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: '/', description: 'This server' }],
      tags: [
        { name: 'Configs', description: 'Named, versioned ConvertCustomConfigs.' },
        { name: 'Module classes', description: 'The registered class identifiers configs may name.' },
        { name: 'Operations', description: 'Health, readiness and the API description.' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.withTypeProvider<ZodTypeProvider>().route({
    method: 'GET',
    url: '/openapi.json',
    schema: {
      operationId: 'getOpenApi',
      tags: ['Operations'],
      summary: 'OpenAPI document',
      description: 'This API as OpenAPI 3.1.',
      response: { 200: z.record(z.string(), z.unknown()).describe('OpenAPI 3.1 document.') },
    },
    handler: async function getOpenApi(_request, reply) {
      return sendJsonText(reply, JSON.stringify(app.swagger()));
    },
  });
}
