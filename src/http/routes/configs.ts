import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { applyMergePatch } from '../../domain/merge-patch.js';
import { renderPython } from '../../domain/python.js';
import type { ConfigContent, WriteResult } from '../../registry/configs.js';
import type { ConfigRecord, VersionRecord } from '../../registry/store.js';
import { InvalidError } from '../../registry/errors.js';
import { etagOf, ifNoneMatchHolds } from '../../registry/preconditions.js';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { ConfigReadQuery, ExportQuery } from '../alias-schemas.js';
import { preconditions } from '../conditional.js';
import { DryRunQuery, markDryRun, withDryRun } from '../dry-run.js';
import { configBody, pageBody, sendEmpty, sendJsonText, versionBody } from '../representation.js';
import {
  configContent,
  ConfigContentSchema,
  ConfigDictSchema,
  ConfigSchema,
  ConfigVersionSchema,
  DiffQuery,
  DiffSchema,
  exampleOf,
  ListConfigsQuery,
  MappingParams,
  NameParams,
  PageQuery,
  pageOf,
  PatchConfigBody,
  PurgeQuery,
  SetMappingBody,
  SetPreservedAttributesBody,
  VersionParams,
} from '../schemas.js';
import { problemsFromIssues } from '../validation.js';
import { configResponse, CONTENT_LOCATION, ETAG, jsonResponse, noContent, problemResponses } from './responses.js';

const TAG = 'Configs';

const PreconditionHeaders = z.looseObject({
  'if-match': z.string().optional().describe('Strong ETag ("3") the write is conditional on; 412 on mismatch.'),
});
const PutHeaders = z.looseObject({
  'if-match': z.string().optional().describe('Strong ETag ("3") the write is conditional on; 412 on mismatch.'),
  'if-none-match': z.string().optional().describe('`*`: create only; 412 if the name exists (even soft-deleted).'),
});
const GetHeaders = z.looseObject({
  'if-none-match': z.string().optional().describe('ETag(s) the client holds; 304 when current.'),
});

const ConfigPage = pageOf(ConfigSchema, 'ConfigPage', exampleOf(ConfigSchema));
const VersionPage = pageOf(ConfigVersionSchema, 'ConfigVersionPage', exampleOf(ConfigVersionSchema));

/** A read that may be by alias: the version as ETag and, by alias, where that version lives. */
const BY_ALIAS_HEADERS = { ETag: ETAG, 'Content-Location': CONTENT_LOCATION };

const PYTHON_EXAMPLE = renderPython(exampleOf(ConfigDictSchema), { name: 'resnet50-int8', version: 3 });

function sendConfig(reply: FastifyReply, result: WriteResult, nameForLocation?: string): FastifyReply {
  const status = result.outcome === 'created' ? 201 : 200;
  if (status === 201 && nameForLocation !== undefined) reply.header('location', `/v1/configs/${nameForLocation}`);
  reply.code(status).header('etag', etagOf(result.record.latest.version));
  return sendJsonText(reply, configBody(result.record, { warnings: result.warnings }));
}

/** The merged document must be a valid PUT body; problems point into the merged document. */
function mergeInto(patch: unknown): (current: ConfigContent) => ConfigContent {
  return (current) => {
    const merged = applyMergePatch(current, patch);
    const parsed = ConfigContentSchema.safeParse(merged);
    if (!parsed.success) {
      throw new InvalidError(
        'The patched config is not valid.',
        problemsFromIssues(parsed.error.issues, 'body'),
      );
    }
    return configContent(parsed.data);
  };
}

export function configRoutes(app: FastifyInstance, registry: Registry): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const configs = registry.configs;

  r.route({
    method: 'GET',
    url: '/v1/configs',
    config: { access: 'read' },
    schema: {
      operationId: 'listConfigs',
      tags: [TAG],
      summary: 'List configs',
      description: 'Configs by name ascending, with prefix, label (ANDed), usesClass and showDeleted filters.',
      querystring: ListConfigsQuery,
      response: { 200: jsonResponse(ConfigPage, 'One page of configs.'), ...problemResponses(400, 422) },
    },
    handler: async function listConfigs(request, reply) {
      const q = request.query;
      const page = await configs.list({
        labels: q.label,
        showDeleted: q.showDeleted,
        pageSize: q.pageSize,
        ...(q.prefix === undefined ? {} : { prefix: q.prefix }),
        ...(q.usesClass === undefined ? {} : { usesClass: q.usesClass }),
        ...(q.pageToken === undefined ? {} : { pageToken: q.pageToken }),
      });
      const items = page.items.map((record) => configBody(record, { showDeleted: q.showDeleted }));
      return sendJsonText(reply, pageBody(items, page.nextPageToken));
    },
  });

  r.route({
    method: 'PUT',
    url: '/v1/configs/:name',
    config: { access: 'write' },
    onRequest: markDryRun,
    schema: {
      operationId: 'putConfig',
      tags: [TAG],
      summary: 'Create or replace a config',
      description:
        'Replaces the whole resource (a left-out description or labels becomes empty). A result equal to the latest ' +
        'version makes no new version and answers 200 with it.',
      params: NameParams,
      querystring: DryRunQuery,
      headers: PutHeaders,
      body: ConfigContentSchema,
      response: withDryRun({
        200: configResponse('Replaced, or unchanged (no new version).'),
        201: configResponse('Created as version 1.', { created: true }),
        ...problemResponses(400, 409, 412, 413, 415, 422),
      }),
    },
    handler: async function putConfig(request, reply) {
      const content = configContent(request.body);
      const result = await configs.put(request.params.name, content, preconditions(request), actorOf(request), {
        dryRun: request.query.dryRun,
      });
      return sendConfig(reply, result, request.params.name);
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/configs/:name',
    config: { access: 'read' },
    schema: {
      operationId: 'getConfig',
      tags: [TAG],
      summary: 'Get a config',
      description:
        'The latest version, or with `?alias=` the version the alias names (Content-Location: that version). Sends ' +
        'the version as a strong ETag; If-None-Match answers 304.',
      params: NameParams,
      querystring: ConfigReadQuery,
      headers: GetHeaders,
      response: {
        200: configResponse('The config.', { byAlias: true }),
        304: noContent('Not modified: the version in If-None-Match is current.', { ETag: ETAG }),
        ...problemResponses(404, 422),
      },
    },
    // Not async: a config the store holds as current is answered at once (configs.get), and only
    // a read that goes to the database makes a promise.
    handler: function getConfig(request, reply) {
      const send = (record: ConfigRecord) => {
        reply.header('etag', etagOf(record.latest.version));
        const inm = request.headers['if-none-match'];
        if (typeof inm === 'string' && !ifNoneMatchHolds(inm, record.latest.version)) return sendEmpty(reply, 304);
        return sendJsonText(reply, configBody(record));
      };
      const { alias } = request.query;
      if (alias !== undefined) {
        return registry.aliases.resolve(request.params.name, alias).then(({ record }) => {
          reply.header('content-location', `/v1/configs/${record.head.name}/versions/${record.latest.version}`);
          return send(record);
        });
      }
      const found = configs.get(request.params.name);
      return found instanceof Promise ? found.then(send) : send(found);
    },
  });

  r.route({
    method: 'PATCH',
    url: '/v1/configs/:name',
    config: { access: 'write' },
    onRequest: markDryRun,
    schema: {
      operationId: 'patchConfig',
      tags: [TAG],
      summary: 'Merge-patch a config',
      description:
        'RFC 7396 merge patch (application/merge-patch+json) over {config, description, labels}. The result is validated ' +
        'and canonicalised like a PUT; problems point into the merged document.',
      params: NameParams,
      querystring: DryRunQuery,
      headers: PreconditionHeaders,
      body: PatchConfigBody,
      consumes: ['application/merge-patch+json', 'application/json'],
      response: withDryRun({ 200: configResponse('Patched, or unchanged.'), ...problemResponses(400, 404, 409, 412, 413, 415, 422) }),
    },
    handler: async function patchConfig(request, reply) {
      const result = await configs.patch(
        request.params.name,
        mergeInto(request.body),
        preconditions(request),
        actorOf(request),
        { dryRun: request.query.dryRun },
      );
      return sendConfig(reply, result);
    },
  });

  r.route({
    method: 'DELETE',
    url: '/v1/configs/:name',
    config: { access: 'write' },
    schema: {
      operationId: 'deleteConfig',
      tags: [TAG],
      summary: 'Delete a config',
      description:
        'Soft delete: history kept, GET answers 404, lists hide it unless showDeleted=true; no new version. ' +
        '`?purge=true` erases it and its whole history, and needs an admin token.',
      params: NameParams,
      querystring: PurgeQuery,
      headers: PreconditionHeaders,
      response: { 204: noContent('Deleted (or purged).'), ...problemResponses(400, 404, 409, 412, 413, 415, 422) },
    },
    handler: async function deleteConfig(request, reply) {
      if (request.query.purge) {
        // Erasing history is for admins; a soft delete (writers) keeps it.
        await app.requireAccess(request, 'admin');
        await configs.purge(request.params.name, actorOf(request));
      } else {
        await configs.delete(request.params.name, preconditions(request), actorOf(request));
      }
      return sendEmpty(reply, 204);
    },
  });

  r.route({
    method: 'POST',
    url: '/v1/configs/:name/undelete',
    config: { access: 'write' },
    onRequest: markDryRun,
    schema: {
      operationId: 'undeleteConfig',
      tags: [TAG],
      summary: 'Undelete a config',
      description: 'Restores a soft-deleted config; 422 if its latest version names a class no longer registered.',
      params: NameParams,
      querystring: DryRunQuery,
      headers: PreconditionHeaders,
      response: withDryRun({ 200: configResponse('The restored config.'), ...problemResponses(400, 404, 409, 412, 413, 415, 422) }),
    },
    handler: async function undeleteConfig(request, reply) {
      const record = await configs.undelete(request.params.name, preconditions(request), actorOf(request), {
        dryRun: request.query.dryRun,
      });
      return sendJsonText(reply.header('etag', etagOf(record.latest.version)), configBody(record));
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/configs/:name/versions',
    config: { access: 'read' },
    schema: {
      operationId: 'listConfigVersions',
      tags: [TAG],
      summary: 'List versions',
      description: 'Every version of a config, newest first.',
      params: NameParams,
      querystring: PageQuery,
      response: { 200: jsonResponse(VersionPage, 'One page of versions, newest first.'), ...problemResponses(400, 404, 422) },
    },
    handler: async function listConfigVersions(request, reply) {
      const page = await configs.listVersions(request.params.name, request.query.pageSize, request.query.pageToken);
      return sendJsonText(reply, pageBody(page.items.map(versionBody), page.nextPageToken));
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/configs/:name/versions/:version',
    config: { access: 'read' },
    schema: {
      operationId: 'getConfigVersion',
      tags: [TAG],
      summary: 'Get one version',
      description: 'An immutable version of a config.',
      params: VersionParams,
      response: { 200: jsonResponse(ConfigVersionSchema, 'The version.'), ...problemResponses(404, 422) },
    },
    handler: async function getConfigVersion(request, reply) {
      const version = await configs.getVersion(request.params.name, request.params.version);
      return sendJsonText(reply, versionBody(version));
    },
  });

  r.route({
    method: 'POST',
    url: '/v1/configs/:name/versions/:version/rollback',
    config: { access: 'write' },
    onRequest: markDryRun,
    schema: {
      operationId: 'rollbackConfig',
      tags: [TAG],
      summary: 'Roll back to a version',
      description:
        "A new version whose config, description and labels equal that version's (none if that equals the latest); " +
        're-validated like a write.',
      params: VersionParams,
      querystring: DryRunQuery,
      headers: PreconditionHeaders,
      response: withDryRun({
        200: configResponse('The config, now at a new version equal to the old one (or unchanged).'),
        ...problemResponses(400, 404, 409, 412, 413, 415, 422),
      }),
    },
    handler: async function rollbackConfig(request, reply) {
      const result = await configs.rollback(
        request.params.name,
        request.params.version,
        preconditions(request),
        actorOf(request),
        { dryRun: request.query.dryRun },
      );
      return sendConfig(reply, result);
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/configs/:name/diff',
    config: { access: 'read' },
    schema: {
      operationId: 'diffConfigVersions',
      tags: [TAG],
      summary: 'Diff two versions',
      description: 'Mappings added/removed/changed per quant type, preserved attributes, description and labels.',
      params: NameParams,
      querystring: DiffQuery,
      response: { 200: jsonResponse(DiffSchema, 'The differences.'), ...problemResponses(404, 422) },
    },
    handler: async function diffConfigVersions(request) {
      return configs.diff(request.params.name, request.query.from, request.query.to);
    },
  });

  r.route({
    method: 'PUT',
    url: '/v1/configs/:name/mappings/:quantType/:observedClass',
    config: { access: 'write' },
    onRequest: markDryRun,
    schema: {
      operationId: 'setObservedToQuantizedMapping',
      tags: [TAG],
      summary: 'Set one observed -> quantized mapping',
      description:
        "PyTorch's set_observed_to_quantized_mapping: an existing key keeps its position, a new one is appended.",
      params: MappingParams,
      querystring: DryRunQuery,
      headers: PreconditionHeaders,
      body: SetMappingBody,
      response: withDryRun({ 200: configResponse('The config with the mapping set.'), ...problemResponses(400, 404, 409, 412, 413, 415, 422) }),
    },
    handler: async function setObservedToQuantizedMapping(request, reply) {
      const { name, quantType, observedClass } = request.params;
      const result = await configs.setMapping(
        name,
        quantType,
        observedClass,
        request.body.quantizedClass,
        preconditions(request),
        actorOf(request),
        { dryRun: request.query.dryRun },
      );
      return sendConfig(reply, result);
    },
  });

  r.route({
    method: 'DELETE',
    url: '/v1/configs/:name/mappings/:quantType/:observedClass',
    config: { access: 'write' },
    onRequest: markDryRun,
    schema: {
      operationId: 'removeObservedToQuantizedMapping',
      tags: [TAG],
      summary: 'Remove one mapping',
      description: 'Removes the mapping of an observed class under a quant type; 404 if it is absent.',
      params: MappingParams,
      querystring: DryRunQuery,
      headers: PreconditionHeaders,
      response: withDryRun({ 200: configResponse('The config without the mapping.'), ...problemResponses(400, 404, 409, 412, 413, 415, 422) }),
    },
    handler: async function removeObservedToQuantizedMapping(request, reply) {
      const { name, quantType, observedClass } = request.params;
      const result = await configs.removeMapping(name, quantType, observedClass, preconditions(request), actorOf(request), {
        dryRun: request.query.dryRun,
      });
      return sendConfig(reply, result);
    },
  });

  r.route({
    method: 'PUT',
    url: '/v1/configs/:name/preserved-attributes',
    config: { access: 'write' },
    onRequest: markDryRun,
    schema: {
      operationId: 'setPreservedAttributes',
      tags: [TAG],
      summary: 'Replace the preserved attributes',
      description: "PyTorch's set_preserved_attributes: replaces the list (order and duplicates kept).",
      params: NameParams,
      querystring: DryRunQuery,
      headers: PreconditionHeaders,
      body: SetPreservedAttributesBody,
      response: withDryRun({ 200: configResponse('The config with the new list.'), ...problemResponses(400, 404, 409, 412, 413, 415, 422) }),
    },
    handler: async function setPreservedAttributes(request, reply) {
      const result = await configs.setPreservedAttributes(
        request.params.name,
        request.body.attributes,
        preconditions(request),
        actorOf(request),
        { dryRun: request.query.dryRun },
      );
      return sendConfig(reply, result);
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/configs/:name/dict',
    config: { access: 'read' },
    schema: {
      operationId: 'getConfigDict',
      tags: [TAG],
      summary: 'Export the to_dict JSON',
      description: 'The bare to_dict JSON, ready for ConvertCustomConfig.from_dict once identifiers are resolved.',
      params: NameParams,
      querystring: ExportQuery,
      response: {
        200: jsonResponse(ConfigDictSchema, 'The to_dict JSON of the version (latest by default).', BY_ALIAS_HEADERS),
        ...problemResponses(404, 422),
      },
    },
    // Not async, like getConfig: the latest version of a config held as current is answered at once.
    handler: function getConfigDict(request, reply) {
      const { name } = request.params;
      const { version, alias } = request.query;
      const send = (record: VersionRecord) => sendJsonText(reply.header('etag', etagOf(record.version)), record.configJson);
      if (version !== undefined) return configs.getVersion(name, version).then(send);
      if (alias !== undefined) {
        return registry.aliases.resolve(name, alias).then(({ version: named }) => {
          reply.header('content-location', `/v1/configs/${name}/dict?version=${named.version}`);
          return send(named);
        });
      }
      const found = configs.get(name);
      return found instanceof Promise ? found.then((record) => send(record.latest)) : send(found.latest);
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/configs/:name/python',
    config: { access: 'read' },
    schema: {
      operationId: 'getConfigPython',
      tags: [TAG],
      summary: 'Export a Python snippet',
      description: 'A runnable snippet that imports the classes and builds the ConvertCustomConfig with chained setters.',
      params: NameParams,
      querystring: ExportQuery,
      response: {
        200: {
          description: 'Python source that builds the ConvertCustomConfig.',
          headers: BY_ALIAS_HEADERS,
          content: { 'text/x-python': { schema: z.string(), example: PYTHON_EXAMPLE } },
        },
        ...problemResponses(404, 422),
      },
    },
    handler: async function getConfigPython(request, reply) {
      const { name } = request.params;
      const { version, alias } = request.query;
      let record: VersionRecord;
      if (alias === undefined) {
        record = await configs.getVersionOrLatest(name, version);
      } else {
        record = (await registry.aliases.resolve(name, alias)).version;
        reply.header('content-location', `/v1/configs/${name}/python?version=${record.version}`);
      }
      return reply.header('etag', etagOf(record.version)).type('text/x-python; charset=utf-8').send(configs.pythonOf(record));
    },
  });
}
