import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { moduleClassView, sendEmpty } from '../representation.js';
import {
  ConfigName,
  CreateModuleClassBody,
  exampleOf,
  ListModuleClassesQuery,
  ModuleClassParams,
  ModuleClassSchema,
  PageQuery,
  pageOf,
  UpdateModuleClassBody,
} from '../schemas.js';
import { jsonResponse, LOCATION, noContent, problemResponses } from './responses.js';

const TAG = 'Module classes';
const ModuleClassPage = pageOf(ModuleClassSchema, 'ModuleClassPage', exampleOf(ModuleClassSchema));
const ReferencePage = pageOf(ConfigName, 'ModuleClassReferencePage', 'resnet50-int8');

export function moduleClassRoutes(app: FastifyInstance, registry: Registry): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const classes = registry.moduleClasses;

  r.route({
    method: 'POST',
    url: '/v1/module-classes',
    config: { access: 'write' },
    schema: {
      operationId: 'createModuleClass',
      tags: [TAG],
      summary: 'Register a module class',
      description: 'Registers a Python class identifier that configs may reference.',
      body: CreateModuleClassBody,
      response: {
        201: jsonResponse(ModuleClassSchema, 'Registered.', { Location: LOCATION }),
        ...problemResponses(400, 409, 413, 415, 422),
      },
    },
    handler: async function createModuleClass(request, reply) {
      const { id, fromObserved, description } = request.body;
      const record = await classes.create(
        { id, fromObserved: fromObserved ?? false, description: description ?? '' },
        actorOf(request),
      );
      return reply.code(201).header('location', `/v1/module-classes/${record.id}`).send(moduleClassView(record));
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/module-classes',
    config: { access: 'read' },
    schema: {
      operationId: 'listModuleClasses',
      tags: [TAG],
      summary: 'List module classes',
      description: 'Registered classes by id ascending.',
      querystring: ListModuleClassesQuery,
      response: { 200: jsonResponse(ModuleClassPage, 'One page of module classes.'), ...problemResponses(400, 422) },
    },
    handler: async function listModuleClasses(request) {
      const { prefix, pageSize, pageToken } = request.query;
      const page = await classes.list({
        pageSize,
        ...(prefix === undefined ? {} : { prefix }),
        ...(pageToken === undefined ? {} : { pageToken }),
      });
      return { items: page.items.map(moduleClassView), ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/module-classes/:id',
    config: { access: 'read' },
    schema: {
      operationId: 'getModuleClass',
      tags: [TAG],
      summary: 'Get a module class',
      description: 'One registered class.',
      params: ModuleClassParams,
      response: { 200: jsonResponse(ModuleClassSchema, 'The module class.'), ...problemResponses(404, 422) },
    },
    handler: async function getModuleClass(request) {
      return moduleClassView(await classes.get(request.params.id));
    },
  });

  r.route({
    method: 'PATCH',
    url: '/v1/module-classes/:id',
    config: { access: 'write' },
    schema: {
      operationId: 'updateModuleClass',
      tags: [TAG],
      summary: 'Update a module class',
      description:
        'Changes fromObserved or description (application/json or application/merge-patch+json). Turning ' +
        'fromObserved off while a live config uses the class as a quantized class is a 409.',
      params: ModuleClassParams,
      body: UpdateModuleClassBody,
      consumes: ['application/merge-patch+json', 'application/json'],
      response: { 200: jsonResponse(ModuleClassSchema, 'The updated module class.'), ...problemResponses(400, 404, 409, 413, 415, 422) },
    },
    handler: async function updateModuleClass(request) {
      const { fromObserved, description } = request.body;
      const record = await classes.update(request.params.id, {
        ...(fromObserved === undefined ? {} : { fromObserved }),
        ...(description === undefined ? {} : { description: description ?? '' }),
      }, actorOf(request));
      return moduleClassView(record);
    },
  });

  r.route({
    method: 'DELETE',
    url: '/v1/module-classes/:id',
    config: { access: 'write' },
    schema: {
      operationId: 'deleteModuleClass',
      tags: [TAG],
      summary: 'Delete a module class',
      description: "409 while any live config's latest version references it (the problem lists those configs).",
      params: ModuleClassParams,
      response: { 204: noContent('Deleted.'), ...problemResponses(400, 404, 409, 413, 415, 422) },
    },
    handler: async function deleteModuleClass(request, reply) {
      await classes.delete(request.params.id, actorOf(request));
      return sendEmpty(reply, 204);
    },
  });

  r.route({
    method: 'GET',
    url: '/v1/module-classes/:id/references',
    config: { access: 'read' },
    schema: {
      operationId: 'listModuleClassReferences',
      tags: [TAG],
      summary: 'Configs that reference a class',
      description: 'Names of the live configs whose latest version references the class, ascending.',
      params: ModuleClassParams,
      querystring: PageQuery,
      response: { 200: jsonResponse(ReferencePage, 'One page of config names.'), ...problemResponses(400, 404, 422) },
    },
    handler: async function listModuleClassReferences(request) {
      const page = await classes.references(request.params.id, request.query);
      return { items: page.items, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
    },
  });
}
