import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { serializerCompiler } from 'fastify-type-provider-zod';
import type { Registry } from '../registry/registry.js';
import { registerOpenApi } from './openapi.js';
import { answerClientError, frameworkProblem, problem, registerProblemHandlers, sendProblem } from './problem.js';
import { registerJsonBodyParser } from './json-body.js';
import { configRoutes } from './routes/configs.js';
import { moduleClassRoutes } from './routes/module-classes.js';
import { operationRoutes } from './routes/operations.js';
import { validatorCompiler } from './validation.js';

export const BODY_LIMIT = 1024 * 1024;

export interface AppOptions {
  registry: Registry;
  logger?: FastifyServerOptions['logger'];
  version?: string;
}

const JSON_TYPES = new Set(['application/json', 'application/merge-patch+json']);

/** The whole HTTP API as a Fastify instance that is not listening yet (tests inject into it). */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT,
    requestIdHeader: 'x-request-id',
    // Unique across replicas and restarts, unlike Fastify's per-process counter.
    genReqId: () => randomUUID(),
    // Class ids are up to 255 characters; the default (100) would answer long ones with 404.
    routerOptions: { maxParamLength: 512 },
    return503OnClosing: true,
    // A URL that does not decode, or a path segment over maxParamLength, is answered before any
    // route is found; without this Fastify sends its own non-problem JSON.
    frameworkErrors: (error, request, reply) => sendProblem(reply, frameworkProblem(error, request)),
    // Requests Node's HTTP parser rejects (bad request line, oversized headers) never reach
    // Fastify: answer them as problems too.
    clientErrorHandler: answerClientError,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerProblemHandlers(app);

  // RFC 7396 bodies are JSON too; both go through the strict parser (see json-body.ts).
  registerJsonBodyParser(app, [...JSON_TYPES]);

  // PATCH routes take merge-patch or plain JSON; everything else takes JSON only.
  app.addHook('preValidation', async (request, reply) => {
    if (request.body === undefined) return;
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'application/merge-patch+json' && request.method !== 'PATCH') {
      return sendProblem(
        reply,
        problem(request, 415, `${request.method} takes application/json; application/merge-patch+json is for PATCH.`),
      );
    }
    if (!JSON_TYPES.has(type)) {
      return sendProblem(reply, problem(request, 415, `Unsupported content type '${type}'. Send application/json.`));
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });

  await registerOpenApi(app, options.version ?? '0.0.0');
  operationRoutes(app, options.registry);
  moduleClassRoutes(app, options.registry);
  configRoutes(app, options.registry);
  return app;
}
