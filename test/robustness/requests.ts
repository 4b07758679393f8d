// Request generators for the property-based suite, driven by the OpenAPI document: every operation
// it lists gets requests built from its own parameters and body schema, plus everything a
// careless or hostile client might send instead. New routes are covered without editing this file.
import fc from 'fast-check';
import { expect } from 'vitest';

// ---------------------------------------------------------------------------------------------
// The OpenAPI document, as much of it as the generators need.

interface SchemaObject {
  type?: string | string[];
  pattern?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  anyOf?: SchemaObject[];
  items?: SchemaObject;
  $ref?: string;
  examples?: unknown[];
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  schema?: SchemaObject;
}

export interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        operationId?: string;
        parameters?: Parameter[];
        requestBody?: { content: Record<string, { schema?: SchemaObject }> };
        responses?: Record<string, unknown>;
      }
    >
  >;
  components?: { schemas?: Record<string, SchemaObject> };
}

export interface Operation {
  id: string;
  method: string;
  /** The template, e.g. `/v1/configs/{name}/versions/{version}`. */
  path: string;
  pathParams: Parameter[];
  queryParams: Parameter[];
  headerParams: Parameter[];
  /** Present when the operation takes a body: its content types and example bodies. */
  body?: { contentTypes: string[]; examples: unknown[] };
  documentedStatuses: Set<number>;
}

const METHODS = new Set(['get', 'put', 'post', 'patch', 'delete', 'head', 'options']);

export function operationsOf(doc: OpenApiDocument): Operation[] {
  const resolve = (schema: SchemaObject | undefined): SchemaObject | undefined => {
    const ref = schema?.$ref;
    if (ref === undefined) return schema;
    return doc.components?.schemas?.[ref.replace('#/components/schemas/', '')];
  };
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const params = op.parameters ?? [];
      const content = op.requestBody?.content;
      const bodySchema = content === undefined ? undefined : resolve(Object.values(content)[0]?.schema);
      operations.push({
        id: op.operationId ?? `${method} ${path}`,
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path'),
        queryParams: params.filter((p) => p.in === 'query'),
        headerParams: params.filter((p) => p.in === 'header'),
        ...(content === undefined ? {} : { body: { contentTypes: Object.keys(content), examples: bodySchema?.examples ?? [{}] } }),
        documentedStatuses: new Set(Object.keys(op.responses ?? {}).map(Number)),
      });
    }
  }
  return operations;
}

// ---------------------------------------------------------------------------------------------
// Strings and JSON values a client should not send, and the encodings that carry them.

/** Characters that trip up storage, collation, normalisation, parsers and terminals. */
export const NASTY_PIECES = [
  '\u0000', // NUL: PostgreSQL text refuses it
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  '\udbff\udfff', // U+10FFFF, a valid pair at the very top
  '\ufeff', // BOM / zero-width no-break space
  '\u200b', // zero-width space
  '\u202e', // right-to-left override
  '\u2028', // line separator (breaks naive JS string literals)
  '\u00a0', // NBSP
  'e\u0301', // e + combining acute (NFD)
  '\u00e9', // é precomposed (NFC)
  '\u212a', // KELVIN SIGN, lower-cases to ASCII k
  '\u0130', // İ, lower-cases to two code points
  '\u0131', // dotless ı
  'ß',
  'ｒｅｓｎｅｔ', // fullwidth
  '😀',
  '\u{1F3F3}\u{FE0F}\u200D\u{1F308}', // ZWJ sequence
  '\t',
  '\n',
  '\r\n',
  '\u007f',
  '\\',
  '"',
  "'",
  '/',
  '%',
  '%00',
  '..',
  '.',
  '~',
  '*',
  '`',
  '${x}',
  '<script>',
  "'; DROP TABLE config; --",
  '__proto__',
  'constructor',
  'class',
  'import',
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.oneof(fc.constantFrom(...NASTY_PIECES), fc.string({ maxLength: 4 })), { maxLength: 5 }).map((p) => p.join('')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom(300, 5_000, 70_000).map((n) => 'a'.repeat(n)) },
);

/**
 * encodeURIComponent, except that a lone surrogate (which it refuses) becomes the three bytes of
 * its WTF-8 form: what a sloppy client would put on the wire.
 */
export function percentEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    const isHigh = unit >= 0xd800 && unit <= 0xdbff;
    const next = s.charCodeAt(i + 1);
    if (isHigh && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(s.slice(i, i + 2));
      i++;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else {
      out += encodeURIComponent(s[i]!);
    }
  }
  return out;
}

/** Already-encoded path segments that a URL decoder has to cope with. */
const RAW_SEGMENTS = [
  '%',
  '%zz',
  '%4',
  '%ED%A0%80', // a lone surrogate in WTF-8
  '%C0%AF', // overlong '/'
  '%FF%FE',
  '%00',
  '%2F',
  'a%2Fb',
  '%2e%2e',
  '..',
  '.',
  '%252F', // double-encoded
  '',
  'a'.repeat(600), // over the router's parameter limit
];

/** Any JSON value, with nasty strings in keys and values, small enough to generate quickly. */
export const nastyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.constantFrom(0, -0, 1e308, -1, 2 ** 31, 2 ** 53 + 1),
    nastyString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(nastyString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

// ---------------------------------------------------------------------------------------------
// One generated request.

export interface GeneratedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** What kind of body was generated, for the log of a failure. */
  bodyKind?: string;
}

/** Values that exist in the fixture (names, ids, versions, page tokens), so requests also hit real rows. */
export interface World {
  strings: string[];
  pageTokens: string[];
}

function patternValue(schema: SchemaObject | undefined): fc.Arbitrary<string> {
  if (schema?.enum !== undefined) return fc.constantFrom(...schema.enum.map(String));
  if (schema?.pattern !== undefined) {
    const max = schema.maxLength ?? 200;
    return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= max);
  }
  if (schema?.type === 'integer' || schema?.type === 'number') {
    return fc.integer({ min: schema.minimum ?? -10, max: schema.maximum ?? 2000 }).map(String);
  }
  return fc.string({ maxLength: 20 });
}

const NUMBERISH = ['0', '-1', '1.5', '1e3', ' 1', '1 ', '0x10', '01', '999999999', '1000000000', '99999999999999999999', 'NaN', 'Infinity', 'true', ''];

/** A parameter value: real, valid by the schema, numeric edge, or nasty. */
function parameterValue(param: Parameter, world: World): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...world.strings) },
    { weight: 3, arbitrary: patternValue(param.schema) },
    { weight: 1, arbitrary: fc.constantFrom(...NUMBERISH) },
    { weight: 3, arbitrary: nastyString },
  );
}

function pathSegment(param: Parameter, world: World): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 9, arbitrary: parameterValue(param, world).map(percentEncode) },
    { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
  );
}

/** A tampered page token: edited, truncated, spliced, forged, or one from another listing. */
function pageToken(world: World): fc.Arbitrary<string> {
  const real = world.pageTokens.length > 0 ? world.pageTokens : ['eyJjIjoiYSJ9.c2ln'];
  return fc.oneof(
    fc.constantFrom(...real),
    fc.tuple(fc.constantFrom(...real), fc.nat(), fc.constantFrom('A', '_', '-', '.', '=', '%', '\u00e9')).map(
      ([t, i, ch]) => t.slice(0, i % t.length) + ch + t.slice((i % t.length) + 1),
    ),
    fc.tuple(fc.constantFrom(...real), fc.nat()).map(([t, i]) => t.slice(0, i % t.length)),
    fc.tuple(fc.constantFrom(...real), fc.constantFrom(...real)).map(([a, b]) => `${a.split('.')[0]}.${b.split('.')[1] ?? ''}`),
    fc.tuple(nastyJson, fc.string()).map(([payload, sig]) => `${Buffer.from(JSON.stringify(payload) ?? 'null').toString('base64url')}.${sig}`),
    fc.constantFrom('', '.', '..', 'a.', '.a', 'x'.repeat(5000)),
    nastyString,
  );
}

function queryString(op: Operation, world: World): fc.Arbitrary<string> {
  const known = op.queryParams;
  const entry: fc.Arbitrary<[string, string]> = fc.oneof(
    ...(known.length > 0
      ? [
          {
            weight: 6,
            arbitrary: fc.constantFrom(...known).chain((p) =>
              fc.tuple(fc.constant(p.name), p.name === 'pageToken' ? pageToken(world) : parameterValue(p, world)),
            ),
          },
        ]
      : []),
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('foo', '__proto__', 'constructor', 'pageSize[]', 'PAGESIZE', ''), fc.string({ maxLength: 5 })) },
    { weight: 1, arbitrary: fc.tuple(nastyString, nastyString) },
  );
  return fc
    .oneof(
      fc.array(entry, { maxLength: 4 }).map((entries) => entries.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&')),
      fc.constantFrom('', '&', '=', 'a', 'pageSize', 'pageSize=%zz', 'label=%FF', 'prefix=%ED%A0%80', '%'),
    )
    .map((q) => (q === '' ? '' : `?${q}`));
}

/** Header values a client can put on the wire (no CR/LF; Latin-1 bytes allowed). */
const headerText = fc.string({ unit: fc.constantFrom(...'\t !"#*,/0123456789:;=AWZ\\az{}~\u00e9\u00ff'.split('')), maxLength: 20 });

const ETAG = fc.oneof(
  fc.constantFrom('"1"', '"2"', '"3"', '*', 'W/"1"', 'W/"2"', '"0"', '"-1"', '"01"', '"1', '1', '""', '"1", "2"', '"9", *', ',', ' ', '"999999999999999999999"'),
  headerText,
  fc.constant(`"${'9'.repeat(3000)}"`),
);

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/merge-patch+json',
  'application/json; charset=utf-16',
  'application/json;;',
  'application/problem+json',
  'application/jsonx',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '*/*',
  '',
];

/** Values worth trying for the other headers an operation documents (waiting, resuming a stream). */
const HEADER_VALUES: Record<string, string[]> = {
  prefer: ['wait=1', 'wait=60', 'wait=0', 'wait=61', 'wait=-1', 'wait="2"', 'WAIT=1', 'respond-async, wait=1', 'wait=1; x=y', 'wait', 'wait=abc', 'handling=strict'],
  'last-event-id': ['0', '1', '3', '2147483647', '2147483648', '-1', '01', '1.5', 'abc', '1, 2', ''],
};

/** A value for a documented header: one of its interesting values, or arbitrary header text. */
function headerValue(param: Parameter): fc.Arbitrary<string> {
  const known = HEADER_VALUES[param.name.toLowerCase()] ?? [];
  return known.length > 0 ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: headerText }) : headerText;
}

function headers(op: Operation, withBody: boolean): fc.Arbitrary<Record<string, string>> {
  const documented: Record<string, fc.Arbitrary<string>> = {};
  for (const p of op.headerParams) {
    const name = p.name.toLowerCase();
    if (name !== 'if-match' && name !== 'if-none-match') documented[name] = headerValue(p);
  }
  return fc
    .record(
      {
        ...documented,
        'if-match': ETAG,
        'if-none-match': ETAG,
        'content-type': withBody
          ? fc.oneof({ weight: 4, arbitrary: fc.constant(op.body?.contentTypes[0] ?? 'application/json') }, { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) })
          : fc.constantFrom(...CONTENT_TYPES),
        accept: fc.constantFrom('application/json', 'text/html', 'application/xml', '*/*', 'application/problem+json'),
        'x-request-id': headerText,
      },
      { requiredKeys: withBody ? ['content-type'] : [] },
    )
    .map((h) => h as Record<string, string>);
}

/** Paths into a JSON value, to graft generated values onto a valid body. */
function pathsOf(value: unknown, prefix: string[] = []): string[][] {
  const out = [prefix];
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}

function graft(value: unknown, path: string[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path as [string, ...string[]];
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as Record<string, unknown>) };
  Object.defineProperty(copy, head, {
    value: graft((value as Record<string, unknown>)[head], rest, replacement),
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

/** A body for an operation: valid, valid with a part replaced, or broken on the wire. */
function body(op: Operation): fc.Arbitrary<{ kind: string; payload: string | Buffer }> {
  const examples = op.body?.examples.length ? op.body.examples : [{}];
  const example = fc.constantFrom(...examples);
  const text = (kind: string) => (payload: string | Buffer) => ({ kind, payload });
  return fc.oneof(
    { weight: 2, arbitrary: example.map((e) => JSON.stringify(e)).map(text('example')) },
    {
      weight: 5,
      arbitrary: example
        .chain((e) => fc.tuple(fc.constant(e), fc.constantFrom(...pathsOf(e)), nastyJson))
        .map(([e, path, value]) => JSON.stringify(graft(e, path, value)))
        .map(text('example with a part replaced')),
    },
    {
      weight: 2,
      arbitrary: example
        // A new member next to an existing one (or at the top of a body that has none).
        .chain((e) => fc.tuple(fc.constant(e), fc.constantFrom(...pathsOf(e)), nastyString, nastyJson))
        .map(([e, path, key, value]) =>
          JSON.stringify(typeof e === 'object' && e !== null ? graft(e, [...path.slice(0, -1), key], value) : { [key]: value }),
        )
        .map(text('example with a key added')),
    },
    { weight: 2, arbitrary: nastyJson.map((v) => JSON.stringify(v) ?? 'null').map(text('arbitrary JSON')) },
    {
      weight: 1,
      arbitrary: example
        .chain((e) => {
          const s = JSON.stringify(e);
          return fc.nat({ max: Math.max(0, s.length - 1) }).map((n) => s.slice(0, n));
        })
        .map(text('truncated')),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(example, nastyJson)
        .map(([e, extra]) => {
          // The same member twice, as raw text (JSON.stringify cannot produce it).
          const s = JSON.stringify(e);
          const first = /^\{("(?:[^"\\]|\\.)*"):/.exec(s)?.[1] ?? '"config"';
          return s.length > 2 ? `{${first}:${JSON.stringify(extra) ?? 'null'},${s.slice(1)}` : `{${first}:1,${first}:2}`;
        })
        .map(text('duplicate key')),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('[', '{"a":', '{"config":'), fc.constantFrom(100, 2_000, 20_000, 200_000))
        .map(([open, depth]) => {
          const close = open === '[' ? ']' : '}';
          return `{"config":${open.repeat(depth)}1${close.repeat(depth)}}`.replace('1]', ']');
        })
        .map(text('deep nesting')),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(example, fc.constantFrom('\\u0000', '\\ud800', '\\udc00', '\\ud800\\u0000', '\\uffff', '\\u0085'), fc.boolean())
        .map(([e, esc, inKey]) => {
          const s = JSON.stringify(e);
          return inKey ? s.replace(/"([^"]*)":/, `"$1${esc}":`) : s.replace(/:"([^"]*)"/, `:"$1${esc}"`);
        })
        .map(text('escaped NUL or lone surrogate')),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.constantFrom(
            Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), // invalid UTF-8 in a key
            Buffer.from('{"description":"\xc3\x28"}', 'latin1'), // invalid UTF-8 continuation
            Buffer.from('\ufeff{}', 'utf8'),
            Buffer.from('{"config":{}}', 'utf16le'),
            Buffer.alloc(0),
          ),
          fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
          fc.constantFrom('', ' ', 'null', '[]', '"x"', '0', 'true', '{', '}', '{"a":1}x', 'NaN', "{'config':{}}", '{"config":{},}'),
        )
        .map(text('raw bytes')),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(4_097, 1_048_000, 1_048_577)
        .map((n) => JSON.stringify({ config: {}, description: 'x'.repeat(n) }))
        .map(text('huge')),
    },
  );
}

export function requestFor(op: Operation, world: World): fc.Arbitrary<GeneratedRequest> {
  const segments = fc.tuple(...op.pathParams.map((p) => pathSegment(p, world)));
  const withBody = op.body !== undefined;
  return fc
    .tuple(
      segments,
      queryString(op, world),
      // A body where none is expected now and then, too.
      withBody
        ? fc.option(body(op), { freq: 12, nil: null })
        : fc.oneof(
            { weight: 9, arbitrary: fc.constant(null) },
            { weight: 1, arbitrary: body({ ...op, body: { contentTypes: ['application/json'], examples: [{}] } }) },
          ),
    )
    .chain(([values, query, generated]) =>
      headers(op, generated !== null).map((h) => {
        let url = op.path;
        op.pathParams.forEach((p, i) => {
          url = url.replace(`{${p.name}}`, values[i]!);
        });
        const request: GeneratedRequest = { method: op.method, url: url + query, headers: h };
        if (generated !== null) {
          request.payload = generated.payload;
          request.bodyKind = generated.kind;
        }
        return request;
      }),
    );
}

// ---------------------------------------------------------------------------------------------
// What every answer must look like.

export interface Answer {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** RFC 6901: empty, or `/`-prefixed tokens with `~` only as `~0` / `~1`. */
const JSON_POINTER = /^(\/([^~/]|~[01])*)*$/u;

/** Never a 5xx; every 4xx a complete RFC 9457 problem; every 2xx JSON that parses. */
export function expectWellFormed(answer: Answer, label: string): void {
  expect(answer.statusCode, `${label}: ${answer.body.slice(0, 500)}`).toBeLessThan(500);
  const type = String(answer.headers['content-type'] ?? '');
  if (answer.statusCode >= 400) {
    expect(type, label).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(answer.body) as Record<string, unknown>;
    // A page of this registry (problem-types.ts), or about:blank for a bare status.
    expect(problem.type, `${label}: type`).toMatch(/^(\/problems\/[a-z-]+|about:blank)$/);
    expect(typeof problem.title, `${label}: title`).toBe('string');
    expect(problem.status, `${label}: status`).toBe(answer.statusCode);
    expect(typeof problem.detail, `${label}: detail`).toBe('string');
    expect(typeof problem.instance, `${label}: instance`).toBe('string');
    expect(String(problem.instance), `${label}: instance`).toMatch(/^\//);
    if (problem.errors !== undefined) {
      expect(Array.isArray(problem.errors), `${label}: errors`).toBe(true);
      for (const entry of problem.errors as Array<Record<string, unknown>>) {
        expect(typeof entry.detail, `${label}: errors[].detail`).toBe('string');
        const hasPointer = typeof entry.pointer === 'string';
        // `?=` has a parameter whose name is empty: '' names it exactly.
        const hasParameter = typeof entry.parameter === 'string';
        expect(hasPointer || hasParameter, `${label}: errors[] entry ${JSON.stringify(entry)}`).toBe(true);
        if (hasPointer) expect(entry.pointer as string, `${label}: pointer`).toMatch(JSON_POINTER);
      }
    }
  } else if (type.startsWith('application/json') && answer.body !== '') {
    expect(() => JSON.parse(answer.body), `${label}: 2xx JSON`).not.toThrow();
  }
}

export function describeRequest(r: GeneratedRequest): string {
  const payload =
    r.payload === undefined
      ? ''
      : ` body(${r.bodyKind}, ${r.payload.length} ${Buffer.isBuffer(r.payload) ? 'bytes' : 'chars'}): ${JSON.stringify(
          Buffer.isBuffer(r.payload) ? r.payload.toString('hex').slice(0, 200) : r.payload.slice(0, 200),
        )}`;
  return `${r.method} ${r.url.slice(0, 300)} ${JSON.stringify(r.headers).slice(0, 300)}${payload}`;
}

/** A failure message a person can read: long runs of one character folded, the whole capped. */
export function compactMessage(message: string): string {
  const folded = message.replace(/(.)\1{40,}/gsu, (run, ch: string) => `${ch}…(${run.length} times)`);
  return folded.length > 6000 ? `${folded.slice(0, 6000)}… (${folded.length - 6000} more characters)` : folded;
}
