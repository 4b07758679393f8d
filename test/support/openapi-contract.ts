// Checks real responses against the OpenAPI document the service serves: the status is
// documented for the operation, the content type is one the document names for that status, the
// body validates against its schema, and the headers it declares required were sent. Tests record
// what they saw (over a listening server, or app.inject in the fuzz suite) and ask
// `violations` whether the document told the truth; test/support/openapi-contract.test.ts checks
// that a response breaking the document is caught.
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, unknown>; securitySchemes?: Record<string, unknown>; [kind: string]: unknown };
  [key: string]: unknown;
}

export interface OperationObject {
  operationId?: string;
  tags?: string[];
  summary?: string;
  description?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: unknown }>;
  requestBody?: { content: Record<string, MediaObject> };
  responses: Record<string, ResponseObject>;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, { required?: boolean; schema?: unknown; description?: string }>;
  content?: Record<string, MediaObject>;
}

export interface MediaObject {
  schema?: unknown;
  example?: unknown;
  examples?: unknown;
}

/** One exchange as a test saw it; `path` is the document's template (`/v1/configs/{name}`). */
export interface ObservedResponse {
  method: string;
  path: string;
  status: number;
  contentType: string | null;
  body: string;
  /** The reply's headers (any case); when given, the headers the document requires are checked. */
  headers?: Record<string, unknown> | Headers;
}

const DOCUMENT_ID = 'https://convert-config-registry.test/openapi.json';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;

export function operations(document: OpenApiDocument): Array<{ method: string; path: string; operation: OperationObject }> {
  const out = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if ((HTTP_METHODS as readonly string[]).includes(method)) out.push({ method, path, operation });
    }
  }
  return out;
}

/** The documented response for a status: the exact code first, then its range (`4XX`), then `default`. */
export function documentedResponse(operation: OperationObject, status: number): ResponseObject | undefined {
  const { responses } = operation;
  return responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
}

export class ContractChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(readonly document: OpenApiDocument) {
    this.ajv.addSchema({ $id: DOCUMENT_ID, components: document.components });
  }

  /** What is wrong with one observed response, as readable lines (empty when it conforms). */
  violations(seen: ObservedResponse): string[] {
    const where = `${seen.method.toUpperCase()} ${seen.path} -> ${seen.status}`;
    const operation = this.document.paths[seen.path]?.[seen.method.toLowerCase()];
    if (operation === undefined) return [`${where}: no such operation in the document`];
    const response = documentedResponse(operation, seen.status);
    if (response === undefined) return [`${where}: status not documented (has ${Object.keys(operation.responses).join(', ')})`];
    const missing = seen.headers === undefined ? [] : missingHeaders(response, seen.headers);
    if (missing.length > 0) return [`${where}: required header ${missing.join(', ')} not sent`];
    const content = response.content ?? {};
    if (Object.keys(content).length === 0) {
      return seen.body === '' ? [] : [`${where}: documented without a body but sent ${JSON.stringify(seen.body.slice(0, 80))}`];
    }
    const mediaType = (seen.contentType ?? '').split(';')[0]!.trim().toLowerCase();
    const media = content[mediaType];
    if (media === undefined) return [`${where}: content type ${mediaType || '(none)'} not documented (has ${Object.keys(content).join(', ')})`];
    if (media.schema === undefined) return [];
    let body: unknown = seen.body;
    if (mediaType.endsWith('json')) {
      try {
        body = JSON.parse(seen.body);
      } catch {
        return [`${where}: ${mediaType} body is not JSON`];
      }
    }
    const validate = this.validator(media.schema);
    if (validate(body)) return [];
    return (validate.errors ?? []).map((e) => `${where}: body${e.instancePath} ${e.message ?? 'is invalid'}`);
  }

  private validator(schema: unknown): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.validators.get(key);
    if (validate === undefined) {
      // Refs inside the document are relative to its root: make them absolute for Ajv.
      const absolute = JSON.parse(key.replaceAll('"#/components/', `"${DOCUMENT_ID}#/components/`)) as object;
      validate = this.ajv.compile(absolute);
      this.validators.set(key, validate);
    }
    return validate;
  }
}

function missingHeaders(response: ResponseObject, headers: Record<string, unknown> | Headers): string[] {
  const sent =
    headers instanceof Headers
      ? new Set([...headers.keys()].map((k) => k.toLowerCase()))
      : new Set(Object.entries(headers).filter(([, v]) => v !== undefined).map(([k]) => k.toLowerCase()));
  return Object.entries(response.headers ?? {})
    .filter(([name, header]) => header.required === true && !sent.has(name.toLowerCase()))
    .map(([name]) => name);
}

export async function fetchDocument(baseUrl: string): Promise<OpenApiDocument> {
  const response = await fetch(`${baseUrl}/openapi.json`);
  if (response.status !== 200) throw new Error(`GET /openapi.json answered ${response.status}`);
  return (await response.json()) as OpenApiDocument;
}
