import type { FastifyReply } from 'fastify';
import type { ConfigRecord, ModuleClassRecord, VersionRecord } from '../registry/store.js';

/**
 * JSON bodies for configs are assembled as text around the stored config JSON rather than
 * re-serialised: the stored text *is* the client's key order (byte for byte on every backend),
 * and splicing it avoids a parse/stringify per read on the hottest path.
 */
export function configBody(record: ConfigRecord, options?: { warnings?: string[]; showDeleted?: boolean }): string {
  if (options !== undefined) return renderConfig(record, options);
  // Records are immutable, and the store hands out the same object while it is current
  // (caching-store.ts): its body is rendered once.
  let body = rendered.get(record);
  if (body === undefined) {
    body = renderConfig(record, {});
    rendered.set(record, body);
  }
  return body;
}

const rendered = new WeakMap<ConfigRecord, string>();

function renderConfig(record: ConfigRecord, options: { warnings?: string[]; showDeleted?: boolean }): string {
  const { head, latest } = record;
  let body =
    `{"name":${JSON.stringify(head.name)},"version":${latest.version}` +
    `,"description":${JSON.stringify(latest.description)},"labels":${JSON.stringify(latest.labels)}` +
    `,"config":${latest.configJson},"contentHash":${JSON.stringify(latest.contentHash)}` +
    `,"createdAt":"${head.createdAt.toISOString()}","updatedAt":"${latest.createdAt.toISOString()}"` +
    `,"updatedBy":${JSON.stringify(latest.updatedBy)}`;
  if (options.showDeleted && head.deleted) {
    body += `,"deleted":true,"deletedAt":"${(head.deletedAt ?? head.updatedAt).toISOString()}"`;
  }
  if (options.warnings !== undefined && options.warnings.length > 0) {
    body += `,"warnings":${JSON.stringify(options.warnings)}`;
  }
  return `${body}}`;
}

export function versionBody(version: VersionRecord): string {
  return (
    `{"name":${JSON.stringify(version.name)},"version":${version.version}` +
    `,"description":${JSON.stringify(version.description)},"labels":${JSON.stringify(version.labels)}` +
    `,"config":${version.configJson},"contentHash":${JSON.stringify(version.contentHash)}` +
    `,"createdAt":"${version.createdAt.toISOString()}","updatedBy":${JSON.stringify(version.updatedBy)}}`
  );
}

export function pageBody(items: string[], nextPageToken: string | undefined): string {
  const next = nextPageToken === undefined ? '' : `,"nextPageToken":${JSON.stringify(nextPageToken)}`;
  return `{"items":[${items.join(',')}]${next}}`;
}

export function moduleClassView(record: ModuleClassRecord) {
  return {
    id: record.id,
    fromObserved: record.fromObserved,
    description: record.description,
    builtIn: record.builtIn,
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Sends JSON text assembled above. Fastify sends string payloads as they are (the route's response
 * schema still documents the shape); the cast only widens the route's typed reply.
 */
export function sendJsonText(reply: unknown, text: string): FastifyReply {
  return (reply as FastifyReply).type(JSON_TYPE).send(text);
}

/**
 * 204 and 304 carry no body (RFC 9110 §15.3.5, §15.4.5): sent without a payload, so no serializer
 * writes `null` and no Content-Type or Content-Length describes one.
 */
export function sendEmpty(reply: unknown, status: 204 | 304): FastifyReply {
  const r = reply as FastifyReply;
  r.removeHeader('content-type');
  return r.code(status).send();
}
