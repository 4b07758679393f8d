import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Registry } from '../../registry/registry.js';
import { sendJsonText } from '../representation.js';
import { ConfigDictSchema, exampleOf } from '../schemas.js';
import { jsonResponse, problemResponses } from './responses.js';

export const ValidateBody = z
  .strictObject({ config: ConfigDictSchema })
  .meta({
    id: 'ValidateConfig',
    description: 'A config document to check, without a name.',
    examples: [{ config: exampleOf(ConfigDictSchema) }],
  });

export const ValidatedSchema = z
  .object({
    config: ConfigDictSchema.describe('The canonical to_dict form it would be stored as (empties dropped, order kept).'),
    contentHash: z.string().meta({ pattern: '^sha256:[0-9a-f]{64}$', description: 'The contentHash a write of it would get.' }),
    warnings: z.array(z.string()).describe('Advice a write would carry, e.g. qat entries that convert_fx never consults.'),
  })
  .meta({
    id: 'ValidatedConfig',
    description: 'What the registry would store.',
    examples: [
      {
        config: exampleOf(ConfigDictSchema),
        contentHash: 'sha256:7d1a54127b222502f5b79b5fb0803061152a44f92b37e23c6527baf665d4da9a',
        warnings: [],
      },
    ],
  });

export function validateRoutes(app: FastifyInstance, registry: Registry): void {
  app.withTypeProvider<ZodTypeProvider>().route({
    method: 'POST',
    url: '/v1/validate',
    // It stores nothing: a reader (a CI job's token) may lint.
    config: { access: 'read' },
    schema: {
      operationId: 'validateConfig',
      tags: ['Configs'],
      summary: 'Validate a config document',
      description:
        'The canonical form a config would be stored as, with its content hash and warnings, or the 422 a write of it ' +
        'would get (every problem with its pointer). No name, no storage: for CI jobs that lint a config file.',
      body: ValidateBody,
      response: {
        200: jsonResponse(ValidatedSchema, 'Valid: what the registry would store.'),
        ...problemResponses(400, 413, 415, 422),
      },
    },
    handler: async function validateConfig(request, reply) {
      const { configJson, contentHash, warnings } = await registry.configs.validate(request.body.config);
      // The canonical text is spliced in as is: its key order is the one the client gave.
      return sendJsonText(reply, `{"config":${configJson},"contentHash":${JSON.stringify(contentHash)},"warnings":${JSON.stringify(warnings)}}`);
    },
  });
}
