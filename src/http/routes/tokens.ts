import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry } from '../../registry/registry.js';
import type { TokenRecord } from '../../registry/store.js';
import { sendEmpty } from '../representation.js';
import { actorOf } from '../actor.js';
import { CreatedTokenSchema, CreateTokenBody, exampleOf, PageQuery, pageOf, TokenNameParams, TokenSchema } from '../schemas.js';
import { jsonResponse, LOCATION, noContent, problemResponses } from './responses.js';

const TAG = 'Tokens';
const TokenPage = pageOf(TokenSchema, 'TokenPage', exampleOf(TokenSchema));

function tokenView(record: TokenRecord) {
  // Never the hash: it is not a credential, but it is nobody's business either.
  return { name: record.name, role: record.role, createdAt: record.createdAt.toISOString(), createdBy: record.createdBy };
}

export function tokenRoutes(app: FastifyInstance, registry: Registry): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tokens = registry.tokens;

  r.route({
    method: 'POST',
    url: '/v1/tokens',
    config: { access: 'admin' },
    schema: {
      operationId: 'createToken',
      tags: [TAG],
      summary: 'Create a token',
      description:
        'Makes a bearer token with a role. The secret is in this reply only; the registry keeps just its SHA-256. ' +
        'Without REGISTRY_ADMIN_TOKEN the first token must be an admin one.',
      body: CreateTokenBody,
      response: {
        201: jsonResponse(CreatedTokenSchema, 'Created; the secret is in this reply only.', { Location: LOCATION }),
        ...problemResponses(400, 409, 413, 415, 422),
      },
    },
    handler: async function createToken(request, reply) {
      const { record, secret } = await tokens.create(request.body, actorOf(request));
      return reply
        .code(201)
        .header('location', `/v1/tokens/${record.name}`)
        .header('cache-control', 'no-store')
        .send({ name: record.name, role: record.role, token: secret, createdAt: record.createdAt.toISOString() });
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/tokens',
    config: { access: 'admin' },
    schema: {
      operationId: 'listTokens',
      tags: [TAG],
      summary: 'List tokens',
      description: 'Tokens by name ascending, without secrets or hashes.',
      querystring: PageQuery,
      response: { 200: jsonResponse(TokenPage, 'One page of tokens.'), ...problemResponses(400, 422) },
    },
    handler: async function listTokens(request) {
      const page = await tokens.list(request.query);
      return { items: page.items.map(tokenView), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
    },
  });

  r.route({
    method: 'DELETE',
    url: '/v1/tokens/:name',
    config: { access: 'admin' },
    schema: {
      operationId: 'revokeToken',
      tags: [TAG],
      summary: 'Revoke a token',
      description:
        'Deletes the token: every replica refuses it from the next request on. Revoking the last admin token is a 409 ' +
        'unless REGISTRY_ADMIN_TOKEN is set.',
      params: TokenNameParams,
      response: { 204: noContent('Revoked.'), ...problemResponses(400, 404, 409, 413, 415, 422) },
    },
    handler: async function revokeToken(request, reply) {
      await tokens.revoke(request.params.name);
      return sendEmpty(reply, 204);
    },
  });
}
