import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SECURITY_SCHEME } from './plugins/auth.js';
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
        { name: 'Tokens', description: 'Bearer tokens and their roles (admin only).' },
        { name: 'Operations', description: 'Health, readiness, metrics and the API description.' },
      ],
      components: {
        securitySchemes: {
          [SECURITY_SCHEME]: {
            type: 'http',
            scheme: 'bearer',
            description:
              '`Authorization: Bearer <token>`, a token from POST /v1/tokens (`ccr_...`) or the REGISTRY_ADMIN_TOKEN. ' +
              'Roles: reader (GET), writer (+ writes but purge), admin (+ purge, tokens). Each operation names the ' +
              'least role it needs in `x-required-role`.',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.withTypeProvider<ZodTypeProvider>().route({
    method: 'GET',
    url: '/openapi.json',
    config: { access: 'public' },
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
