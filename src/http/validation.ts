import type { FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import type { FieldProblem } from '../registry/errors.js';

/** A request part that failed its zod schema, with zod's issues kept whole. */
export class RequestValidationError extends Error {
  constructor(readonly issues: z.core.$ZodIssue[]) {
    super('The request does not match its schema.');
  }
}

/** RFC 6901: `~` and `/` inside a reference token are escaped. */
export function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/**
 * zod issues as the problem's `errors`: body issues carry a JSON Pointer (below `base`), path and
 * query issues name the `parameter`. An unknown key is reported at the key itself, one entry per
 * key, so the pointer names exactly what to remove.
 */
export function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  where: 'body' | 'params' | 'querystring' | 'headers',
  base: readonly PropertyKey[] = [],
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    for (const key of keys) {
      const at = key === undefined ? path : [...path, key];
      const detail = key === undefined ? issue.message : `unknown key '${key}'`;
      if (where === 'body') {
        problems.push({ pointer: jsonPointer(at), detail });
      } else {
        const [parameter, ...rest] = at;
        problems.push({
          parameter: String(parameter ?? ''),
          detail: rest.length > 0 ? `${jsonPointer(rest)}: ${detail}` : detail,
        });
      }
    }
  }
  return problems;
}

/**
 * A query parameter given once or repeated (`?label=a:b&label=c:d` arrives as an array). A bad
 * value fails both alternatives, and zod then says only "Invalid input" (an aborted check in the
 * one-value alternative, e.g. an enum, is enough for that): this names the value's own problem,
 * and which one (`/1: ...`) when several were given.
 */
export function oneOrMany<T extends z.ZodType>(item: T) {
  return z.union([item, z.array(item)], {
    error: (issue) => {
      if (issue.code !== 'invalid_union') return undefined;
      const repeated = Array.isArray(issue.input);
      const first = issue.errors[repeated ? 1 : 0]?.[0];
      if (first === undefined) return undefined;
      // As problemsFromIssues words an issue inside a parameter: a pointer to the value.
      const index = repeated ? first.path[0] : undefined;
      return typeof index === 'number' ? `/${index}: ${first.message}` : first.message;
    },
  });
}

/**
 * Our own validator compiler rather than fastify-type-provider-zod's: that one flattens zod's
 * path into an unescaped string, and we need RFC 6901 pointers and parameter names.
 *
 * Header schemas (loose objects of a few optional strings, with no checks or transforms) check only
 * the headers they name, and leave `request.headers` as Node parsed it. Validating the whole headers
 * object would copy every header the client sent, and handing Fastify a value makes every later
 * read of `request.headers` copy them all again (Fastify merges a replaced headers object into the
 * raw one on each access).
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const named = httpPart === 'headers' ? namedKeys(schema) : undefined;
  if (named !== undefined) {
    return (data) => {
      const headers = data as Record<string, unknown>;
      // Every value a string or absent: the schema (optional strings, no checks) holds, and zod
      // would only say so more slowly. Node joins repeats of these headers into one string, so
      // only an injected request can bring anything else, and then zod words the problem.
      let strings = true;
      for (const key of named) {
        const value = headers[key];
        if (value !== undefined && typeof value !== 'string') strings = false;
      }
      if (strings) return {};
      const picked: Record<string, unknown> = {};
      for (const key of named) if (headers[key] !== undefined) picked[key] = headers[key];
      const result = schema.safeParse(picked);
      return result.success ? {} : { error: new RequestValidationError(result.error.issues) };
    };
  }
  return (data) => {
    const result = schema.safeParse(data);
    return result.success ? { value: result.data } : { error: new RequestValidationError(result.error.issues) };
  };
};

/** The keys of a loose object schema of optional strings without checks (its output is its input); else undefined. */
function namedKeys(schema: z.ZodType): string[] | undefined {
  const def = schema._zod.def as { type: string; shape?: Record<string, z.ZodType>; catchall?: z.ZodType };
  if (def.type !== 'object' || def.shape === undefined || def.catchall?._zod.def.type !== 'unknown') return undefined;
  const shape = def.shape;
  const plain = (s: z.ZodType): boolean => {
    const d = s._zod.def as { type: string; innerType?: z.ZodType; checks?: unknown[] };
    if (d.type === 'optional') return d.innerType !== undefined && plain(d.innerType);
    return d.type === 'string' && (d.checks === undefined || d.checks.length === 0);
  };
  return Object.values(shape).every(plain) ? Object.keys(shape) : undefined;
}
