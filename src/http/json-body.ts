/**
 * The JSON request body parser. Fastify's own parser (kept for its prototype-poisoning checks)
 * accepts three things a registry must not:
 * - bytes that are not UTF-8 (decoded to U+FFFD, so the stored text silently differs from what
 *   the client sent);
 * - a member name twice in one object (`JSON.parse` keeps the last one and drops the first
 *   silently; RFC 8259 §4 leaves the meaning undefined and RFC 7493 (I-JSON) forbids it);
 * - unbounded nesting (every recursive walk afterwards, merge patch included, could overflow
 *   the stack and answer 500).
 * Each is a 400 naming the place with a JSON Pointer.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FieldProblem } from '../registry/errors.js';
import { jsonPointer } from './validation.js';

/** Deeper than any request this API takes (a config document is four objects deep). */
export const MAX_JSON_DEPTH = 32;

/** A body that is JSON but not JSON this service accepts. Answered with 400. */
export class MalformedBodyError extends Error {
  readonly statusCode = 400;
  constructor(
    message: string,
    readonly errors: FieldProblem[] = [],
  ) {
    super(message);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

type ParserDone = (error: Error | null, body?: unknown) => void;

/** Replaces Fastify's parsers for `types` with the strict one above, on top of Fastify's own. */
export function registerJsonBodyParser(app: FastifyInstance, types: string[]): void {
  const fastifyJson = app.getDefaultJsonParser('error', 'error') as (req: FastifyRequest, body: string, done: ParserDone) => void;
  for (const type of types) {
    if (app.hasContentTypeParser(type)) app.removeContentTypeParser(type);
    app.addContentTypeParser(type, { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer | string, done: ParserDone) => {
      let text: string;
      try {
        // A leading BOM is dropped, as Fastify does.
        text = typeof body === 'string' ? body : utf8.decode(body);
      } catch {
        done(new MalformedBodyError('The request body is not valid UTF-8.'));
        return;
      }
      fastifyJson(request, text, (error, value) => {
        if (error !== null) return done(error);
        const problem = structuralProblem(text);
        if (problem !== undefined) return done(new MalformedBodyError(problem.summary, [problem.at]));
        done(null, value);
      });
    });
  }
}

interface Frame {
  kind: 'object' | 'array';
  keys: Set<string>;
  /** The member name or index being read in this container. */
  position: string | number;
  expectingKey: boolean;
}

/**
 * Scans JSON text that `JSON.parse` has already accepted for a repeated member name or nesting
 * deeper than MAX_JSON_DEPTH. Iterative, so no input can overflow the stack.
 */
export function structuralProblem(text: string): { summary: string; at: FieldProblem } | undefined {
  const stack: Frame[] = [];
  const pointer = () => jsonPointer(stack.map((f) => f.position));
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length >= MAX_JSON_DEPTH) {
        return {
          summary: `The request body is nested more than ${MAX_JSON_DEPTH} levels deep.`,
          at: { pointer: pointer(), detail: `nested more than ${MAX_JSON_DEPTH} levels deep` },
        };
      }
      stack.push({ kind: c === 0x7b ? 'object' : 'array', keys: new Set(), position: c === 0x7b ? '' : 0, expectingKey: c === 0x7b });
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      i++;
    } else if (c === 0x2c /* , */) {
      if (top?.kind === 'array') top.position = (top.position as number) + 1;
      else if (top !== undefined) top.expectingKey = true;
      i++;
    } else if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      if (top?.kind === 'object' && top.expectingKey) {
        // Without an escape the member name is the text between the quotes, as JSON.parse would say.
        const raw = text.slice(i + 1, end - 1);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end)) as string) : raw;
        top.position = key;
        top.expectingKey = false;
        if (top.keys.has(key)) {
          return {
            summary: 'The request body names the same member twice in one object.',
            at: { pointer: pointer(), detail: `member '${key.length > 64 ? `${key.slice(0, 61)}...` : key}' appears more than once` },
          };
        }
        top.keys.add(key);
      }
      i = end;
    } else {
      i++;
    }
  }
  return undefined;
}

/** The index just past the closing quote of the string starting at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const quote = text.indexOf('"', i);
    // Valid JSON (JSON.parse accepted it): there is always a closing quote.
    let backslashes = 0;
    for (let j = quote - 1; text.charCodeAt(j) === 0x5c; j--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    i = quote + 1;
  }
}
