import swagger, { type SwaggerTransform, type SwaggerTransformObject } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SECURITY_SCHEME } from './plugins/auth.js';
import { tidySchemaComponents } from './openapi-components.js';
import { sendJsonText } from './representation.js';
import { commonProblemStatuses, jsonResponse, problemResponses, type DocumentedResponse } from './routes/responses.js';

/**
 * OpenAPI 3.1 generated from the routes' zod schemas, served at /openapi.json, UI at /docs.
 *
 * Security: no scheme is declared while the service runs open. Auth adds
 * `components.securitySchemes` here and its 401/403 problems through `problemResponses`, which
 * every route already uses for its error statuses.
 */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  app.addHook('onRoute', declareCommonAnswers);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'convert-config registry',
        version,
        description:
          'A team-shared registry of PyTorch FX `ConvertCustomConfig`s: named, versioned configs whose module classes ' +
          'are registered identifiers. Errors are RFC 9457 `application/problem+json`, each `type` a page of this ' +
          'service (`/problems/<slug>`, relative to the request URI; all of them at /problems); every config reply ' +
          'carries its version as a strong ETag, and every write honours If-Match.',
        contact: { name: 'convert-config registry maintainers' },
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: '/', description: 'This server' }],
      tags: [
        { name: 'Configs', description: 'Named, versioned ConvertCustomConfigs.' },
        { name: 'Aliases', description: 'Named pointers to config versions (production, staging), with their history.' },
        { name: 'Module classes', description: 'The registered class identifiers configs may name.' },
        { name: 'Events', description: 'The change feed: every change under a gap-free, commit-ordered revision.' },
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
    transform: documentResponses,
    transformObject: tidyDocument,
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
      description: 'This API as OpenAPI 3.1, generated from the schemas that validate requests.',
      response: {
        200: jsonResponse(
          z.record(z.string(), z.unknown()).meta({
            examples: [{ openapi: '3.1.0', info: { title: 'convert-config registry', version: '0.1.0' }, paths: {} }],
          }),
          'The OpenAPI 3.1 document.',
        ),
        ...problemResponses(),
      },
    },
    handler: async function getOpenApi(_request, reply) {
      return sendJsonText(reply, JSON.stringify(app.swagger()));
    },
  });
}

/**
 * Every documented route also declares the answers any operation may give (see
 * `commonProblemStatuses`); what the route declares itself is kept. Fastify serialises error
 * replies by these schemas too, which are the Problem schema the error handler's bodies follow.
 */
function declareCommonAnswers(route: RouteOptions): void {
  const schema = route.schema as (FastifySchema & { hide?: boolean; response?: Record<string, unknown> }) | undefined;
  if (schema === undefined || schema.hide === true || schema.response === undefined) return;
  const method = Array.isArray(route.method) ? route.method[0]! : route.method;
  const common = problemResponses(...commonProblemStatuses(method, route.url));
  route.schema = { ...schema, response: { ...common, ...schema.response } };
}

type JsonSchemaResponse = { description?: string; content?: Record<string, Record<string, unknown>>; [key: string]: unknown };

/**
 * The zod transform documents each response's content schemas; this adds what it drops from a
 * `DocumentedResponse`: response headers, media examples, and no content for 204/304.
 */
const documentResponses: SwaggerTransform = (route) => {
  const transformed = jsonSchemaTransform(route);
  const declared = route.schema?.response as Record<string, unknown> | undefined;
  const documented = (transformed.schema as { response?: Record<string, JsonSchemaResponse> }).response;
  if (declared === undefined || documented === undefined) return transformed;
  for (const [status, response] of Object.entries(declared)) {
    if (!isDocumentedResponse(response)) continue;
    const headers = response.headers ?? {};
    if (Object.keys(response.content).length === 0) {
      documented[status] = { type: 'null', description: response.description, headers };
      continue;
    }
    const out = documented[status]!;
    if (response.headers !== undefined) out.headers = headers;
    for (const [mediaType, media] of Object.entries(response.content)) {
      if (media.example !== undefined && out.content?.[mediaType] !== undefined) out.content[mediaType].example = media.example;
    }
  }
  return transformed;
};

function isDocumentedResponse(value: unknown): value is DocumentedResponse {
  return typeof value === 'object' && value !== null && 'content' in value && 'description' in value;
}

const tidyDocument: SwaggerTransformObject = (input) => {
  const document = jsonSchemaTransformObject(input);
  tidySchemaComponents(document as unknown as Parameters<typeof tidySchemaComponents>[0]);
  liftRequiredHeaders(document as unknown as { paths?: Record<string, Record<string, { responses?: Record<string, JsonSchemaResponse> }>> });
  return document;
};

type HeaderObject = { schema?: { required?: unknown }; required?: boolean };

/**
 * @fastify/swagger puts everything of a response header but its description into the header's
 * schema, so a `HeaderDoc`'s `required: true` lands there (where JSON Schema wants an array).
 * OpenAPI has it on the Header Object: move it.
 */
function liftRequiredHeaders(document: { paths?: Record<string, Record<string, { responses?: Record<string, JsonSchemaResponse> }>> }): void {
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item)) {
      for (const response of Object.values(operation.responses ?? {})) {
        for (const header of Object.values((response.headers ?? {}) as Record<string, HeaderObject>)) {
          if (header.schema?.required === undefined) continue;
          if (header.schema.required === true) header.required = true;
          delete header.schema.required;
        }
      }
    }
  }
}
