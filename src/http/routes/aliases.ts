import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AliasCaller } from '../../registry/aliases.js';
import { etagOf, ifNoneMatchHolds } from '../../registry/preconditions.js';
import type { Registry } from '../../registry/registry.js';
import { actorOf, mayAdminister } from '../actor.js';
import {
  AliasHistoryPage,
  AliasHistoryQuery,
  AliasListSchema,
  AliasParams,
  AliasSchema,
  aliasMoveView,
  aliasView,
  SetAliasBody,
} from '../alias-schemas.js';
import { preconditions } from '../conditional.js';
import { DryRunQuery, markDryRun, withDryRun } from '../dry-run.js';
import { sendEmpty } from '../representation.js';
import { NameParams } from '../schemas.js';
import { jsonResponse, LOCATION, noContent, problemResponses, type HeaderDoc } from './responses.js';

const TAG = 'Aliases';

const ALIAS_ETAG: HeaderDoc = {
  type: 'string',
  required: true,
  description: "The alias's moves as a strong entity tag, e.g. `\"2\"`: send it back in If-Match to move it only if nobody did.",
};

const WriteHeaders = z.looseObject({
  'if-match': z.string().optional().describe('Strong ETag (the moves, "2") the write is conditional on; 412 on mismatch.'),
});
const SetHeaders = z.looseObject({
  'if-match': z.string().optional().describe('Strong ETag (the moves, "2") the write is conditional on; 412 on mismatch.'),
  'if-none-match': z.string().optional().describe('`*`: create only; 412 if the alias exists.'),
});
const GetHeaders = z.looseObject({
  'if-none-match': z.string().optional().describe('ETag(s) the client holds; 304 when current.'),
});

async function callerOf(request: FastifyRequest): Promise<AliasCaller> {
  return { actor: actorOf(request), admin: await mayAdminister(request) };
}

export function aliasRoutes(app: FastifyInstance, registry: Registry): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const aliases = registry.aliases;

  r.route({
    method: 'PUT',
    url: '/v1/configs/:name/aliases/:alias',
    config: { access: 'write' },
    onRequest: markDryRun,
    schema: {
      operationId: 'setConfigAlias',
      tags: [TAG],
      summary: 'Set or move an alias',
      description:
        'Points the alias at a version: 201 when it is new, 200 when it moved (or was already there: no move). ' +
        'If-Match on its moves, If-None-Match: * to create only. A protected alias, or changing `protected`, needs admin. ' +
        'A config holds at most 32 aliases; `latest` is reserved. `?dryRun=true` answers the same and stores nothing.',
      params: AliasParams,
      querystring: DryRunQuery,
      headers: SetHeaders,
      body: SetAliasBody,
      response: withDryRun({
        200: jsonResponse(AliasSchema, 'Moved, or unchanged (already there).', { ETag: ALIAS_ETAG }),
        201: jsonResponse(AliasSchema, 'Created.', { ETag: ALIAS_ETAG, Location: LOCATION }),
        ...problemResponses(400, 404, 409, 412, 413, 415, 422),
      }),
    },
    handler: async function setConfigAlias(request, reply) {
      const { name, alias } = request.params;
      const { version, protected: protect } = request.body;
      const result = await aliases.set(
        name,
        alias,
        { version, ...(protect === undefined ? {} : { protected: protect }) },
        preconditions(request),
        await callerOf(request),
        { dryRun: request.query.dryRun },
      );
      if (result.outcome === 'created') reply.code(201).header('location', `/v1/configs/${name}/aliases/${alias}`);
      return reply.header('etag', etagOf(result.record.moves)).send(aliasView(result.record));
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/configs/:name/aliases',
    config: { access: 'read' },
    schema: {
      operationId: 'listConfigAliases',
      tags: [TAG],
      summary: 'List the aliases of a config',
      description: 'All of them (at most 32), by alias ascending.',
      params: NameParams,
      response: { 200: jsonResponse(AliasListSchema, 'The aliases.'), ...problemResponses(404, 422) },
    },
    handler: async function listConfigAliases(request) {
      return { items: (await aliases.list(request.params.name)).map(aliasView) };
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/configs/:name/aliases/:alias',
    config: { access: 'read' },
    schema: {
      operationId: 'getConfigAlias',
      tags: [TAG],
      summary: 'Get an alias',
      description: 'Where the alias points, with its moves as a strong ETag; If-None-Match answers 304.',
      params: AliasParams,
      headers: GetHeaders,
      response: {
        200: jsonResponse(AliasSchema, 'The alias.', { ETag: ALIAS_ETAG }),
        304: noContent('Not modified: the moves in If-None-Match are current.', { ETag: ALIAS_ETAG }),
        ...problemResponses(404, 422),
      },
    },
    handler: async function getConfigAlias(request, reply) {
      const record = await aliases.get(request.params.name, request.params.alias);
      reply.header('etag', etagOf(record.moves));
      const inm = request.headers['if-none-match'];
      if (typeof inm === 'string' && !ifNoneMatchHolds(inm, record.moves)) return sendEmpty(reply, 304);
      return aliasView(record);
    },
  });

  r.route({
    method: 'DELETE',
    url: '/v1/configs/:name/aliases/:alias',
    config: { access: 'write' },
    schema: {
      operationId: 'deleteConfigAlias',
      tags: [TAG],
      summary: 'Delete an alias',
      description: 'Removes the pointer; its history stays (the last entry has version null). A protected alias needs admin.',
      params: AliasParams,
      headers: WriteHeaders,
      response: { 204: noContent('Deleted.'), ...problemResponses(400, 404, 409, 412, 413, 415, 422) },
    },
    handler: async function deleteConfigAlias(request, reply) {
      const { name, alias } = request.params;
      await aliases.delete(name, alias, preconditions(request), await callerOf(request));
      return sendEmpty(reply, 204);
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/configs/:name/aliases/:alias/history',
    config: { access: 'read' },
    schema: {
      operationId: 'listConfigAliasHistory',
      tags: [TAG],
      summary: 'The moves of an alias',
      description:
        'Every set, move and deletion of the alias, newest first, with who and when; kept after the alias is deleted ' +
        '(so "what was production on 1 November" has an answer), erased by a purge of the config.',
      params: AliasParams,
      querystring: AliasHistoryQuery,
      response: { 200: jsonResponse(AliasHistoryPage, 'One page of moves, newest first.'), ...problemResponses(400, 404, 422) },
    },
    handler: async function listConfigAliasHistory(request) {
      const { name, alias } = request.params;
      const page = await aliases.history(name, alias, request.query.pageSize, request.query.pageToken);
      return { items: page.items.map(aliasMoveView), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
    },
  });
}
