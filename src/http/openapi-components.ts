/**
 * fastify-type-provider-zod emits every `.meta({ id })` schema twice, as `X` (output) and `XInput`
 * (input, where defaults make fields optional), and emits every id registered anywhere in the
 * process whether a route uses it or not. Clients generated from the document would then see
 * `PutConfigInput` for a request body and unused types. This leaves one component per id:
 * identical pairs become `X`; an `XInput` whose `X` no route uses takes the name `X`; a pair that
 * really differs keeps both; unreachable components are dropped.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const PREFIX = '#/components/schemas/';
const INPUT_SUFFIX = 'Input';

/** Tidies `document.components.schemas` in place (see the module comment). */
export function tidySchemaComponents(document: JsonObject): void {
  const components = document.components;
  if (!isObject(components) || !isObject(components.schemas)) return;
  const schemas = components.schemas;

  // 1. Identical pairs, to a fixed point: XInput and X are the same once the pairs they
  //    reference are merged too.
  const merged = new Map<string, string>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [inputName, outputName] of pairs(schemas)) {
      if (merged.has(inputName)) continue;
      const a = JSON.stringify(schemas[inputName], renamedRef(merged));
      const b = JSON.stringify(schemas[outputName], renamedRef(merged));
      if (a === b) {
        merged.set(inputName, outputName);
        changed = true;
      }
    }
  }
  applyRenames(document, schemas, merged);

  // 2. An input-only schema takes the plain name.
  const reachable = reachableSchemas(document, schemas);
  const renamed = new Map<string, string>();
  for (const [inputName, outputName] of pairs(schemas)) {
    if (reachable.has(inputName) && !reachable.has(outputName)) renamed.set(inputName, outputName);
  }
  for (const [inputName, outputName] of renamed) schemas[outputName] = schemas[inputName]!;
  applyRenames(document, schemas, renamed);

  // 3. Nothing that no operation reaches (spectral's oas3-unused-component).
  const used = reachableSchemas(document, schemas);
  for (const name of Object.keys(schemas)) if (!used.has(name)) delete schemas[name];
}

function* pairs(schemas: JsonObject): Generator<[input: string, output: string]> {
  for (const name of Object.keys(schemas)) {
    if (!name.endsWith(INPUT_SUFFIX)) continue;
    const output = name.slice(0, -INPUT_SUFFIX.length);
    if (output in schemas) yield [name, output];
  }
}

function applyRenames(document: JsonObject, schemas: JsonObject, renames: Map<string, string>): void {
  if (renames.size === 0) return;
  for (const from of renames.keys()) delete schemas[from];
  rewriteRefs(document, renames);
}

/** Points every `$ref` to a renamed component at its new name, in place. */
function rewriteRefs(value: Json, renames: Map<string, string>): void {
  if (Array.isArray(value)) return value.forEach((v) => rewriteRefs(v, renames));
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key === '$ref' && typeof child === 'string' && child.startsWith(PREFIX)) {
      const target = child.slice(PREFIX.length);
      value[key] = PREFIX + (renames.get(target) ?? target);
    } else {
      rewriteRefs(child, renames);
    }
  }
}

/** Component names referenced from anywhere outside `components.schemas`, transitively. */
function reachableSchemas(document: JsonObject, schemas: JsonObject): Set<string> {
  const seen = new Set<string>();
  const queue: string[] = [];
  const visit = (value: Json): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!isObject(value)) return;
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string' && child.startsWith(PREFIX)) {
        const name = child.slice(PREFIX.length);
        if (!seen.has(name)) {
          seen.add(name);
          queue.push(name);
        }
      } else {
        visit(child);
      }
    }
  };
  for (const [key, value] of Object.entries(document)) {
    if (key === 'components' && isObject(value)) {
      for (const [kind, entries] of Object.entries(value)) if (kind !== 'schemas') visit(entries);
    } else {
      visit(value);
    }
  }
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    const schema = schemas[name];
    if (schema !== undefined) visit(schema);
  }
  return seen;
}

/** A JSON.stringify replacer that writes `$ref`s as they will read after the renames. */
function renamedRef(renames: Map<string, string>) {
  return (key: string, value: unknown): unknown =>
    key === '$ref' && typeof value === 'string' && value.startsWith(PREFIX)
      ? PREFIX + (renames.get(value.slice(PREFIX.length)) ?? value.slice(PREFIX.length))
      : value;
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
