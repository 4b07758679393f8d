/**
 * The config document as it crosses the HTTP boundary: the `to_dict()` form, validated more
 * strictly than PyTorch's `from_dict` (which ignores unknown keys and checks no identifier), then
 * canonicalised, hashed and scanned for the classes it references.
 *
 * Order matters here: the registry stores and returns the client's order of quant types and of
 * entries, as PyTorch's `to_dict()` would after `from_dict()`. In zod 4.6, `object()` rebuilds its
 * output in shape order, and `record(z.enum(...))` iterates the enum (enum order, every key
 * required); `partialRecord(z.enum(...))` keeps input order but reports an unknown key once at the
 * record, not at the key; a key schema that fails wraps its message in a generic "invalid key"
 * issue. So both maps are `record(z.string(), ...)` (input order kept) whose keys are checked by a
 * refinement that reports each bad key at its own path with a precise message.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConvertCustomConfig } from './convert-custom-config.js';
import type { ConvertCustomConfigDict } from './convert-custom-config.js';
import {
  CONFIG_NAME_PATTERN,
  MAX_CONFIG_NAME_LENGTH,
  MAX_MODULE_CLASS_ID_LENGTH,
  MODULE_CLASS_ID_PATTERN,
  PYTHON_IDENTIFIER_PATTERN,
  configNameProblem,
  moduleClassIdProblem,
  pythonIdentifierProblem,
} from './identifiers.js';
import { QUANT_TYPE_NAMES, isQuantTypeName } from './quant-type.js';
import type { QuantTypeName } from './quant-type.js';

const MAPPING_KEY = 'observed_to_quantized_custom_module_class';
const PRESERVED_KEY = 'preserved_attributes';

/** Run a key refinement even when some values failed, so every problem is reported at once. */
const whenObject = (payload: { value: unknown }): boolean =>
  typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value);

/**
 * A string checked by one `...Problem` function, so a bad value gets exactly one precise reason
 * (separate `.max()` / `.regex()` checks would each add an issue, with generic messages). The
 * grammar still reaches JSON Schema through `meta` (`pattern`, `maxLength`).
 */
function grammarString(
  problem: (s: string) => string | undefined,
  typeMessage: string,
  jsonSchema: { pattern: string; maxLength?: number },
) {
  return z
    .string({ error: typeMessage })
    .refine((s) => problem(s) === undefined, {
      error: (issue) => (typeof issue.input === 'string' ? problem(issue.input) : undefined) ?? `must match ${jsonSchema.pattern}`,
    })
    .meta(jsonSchema);
}

/** A module class identifier such as `torch.ao.nn.quantized.LSTM`. */
export const ModuleClassIdSchema = grammarString(
  moduleClassIdProblem,
  "must be a string: a fully qualified Python path like 'torch.ao.nn.quantized.LSTM'",
  { pattern: MODULE_CLASS_ID_PATTERN, maxLength: MAX_MODULE_CLASS_ID_LENGTH },
);

/** A preserved attribute name: an ASCII Python identifier that is not a keyword. */
export const PythonIdentifierSchema = grammarString(pythonIdentifierProblem, 'must be a string: a Python identifier', {
  pattern: PYTHON_IDENTIFIER_PATTERN,
});

/** A config name, e.g. `resnet50-int8`. */
export const ConfigNameSchema = grammarString(configNameProblem, 'must be a string: a config name', {
  pattern: CONFIG_NAME_PATTERN,
  maxLength: MAX_CONFIG_NAME_LENGTH,
});

/** One of the four quant type names, with PyTorch's message for anything else. */
export const QuantTypeNameSchema = z.enum(QUANT_TYPE_NAMES, {
  error: (issue) =>
    typeof issue.input === 'string'
      ? `Unknown QuantType name '${issue.input}'`
      : `must be a quant type name: one of ${QUANT_TYPE_NAMES.join(', ')}`,
});

/**
 * observed class -> quantized class, in the client's order. The key schema only documents the
 * grammar for JSON Schema (`propertyNames`); the refinement reports each bad key at its own path.
 */
const QuantTypeMappingSchema = z
  .record(z.string().meta({ pattern: MODULE_CLASS_ID_PATTERN, maxLength: MAX_MODULE_CLASS_ID_LENGTH }), ModuleClassIdSchema, {
    error: 'must be an object mapping observed class identifiers to quantized class identifiers',
  })
  .superRefine(
    (mapping, ctx) => {
      for (const observed of Object.keys(mapping)) {
        const problem = moduleClassIdProblem(observed);
        if (problem !== undefined) {
          ctx.addIssue({ code: 'custom', message: problem, path: [observed], input: observed, params: { target: 'key' } });
        }
      }
    },
    { when: whenObject },
  );

/** JSON Schema of one quant type's mapping (observed id -> quantized id), for documentation. */
const QUANT_TYPE_MAPPING_JSON_SCHEMA = {
  type: 'object',
  propertyNames: { type: 'string', pattern: MODULE_CLASS_ID_PATTERN, maxLength: MAX_MODULE_CLASS_ID_LENGTH },
  additionalProperties: { type: 'string', pattern: MODULE_CLASS_ID_PATTERN, maxLength: MAX_MODULE_CLASS_ID_LENGTH },
};

/**
 * quant type name -> mapping, in the client's order (PyTorch orders quant types by insertion).
 * JSON Schema names the four quant types as properties (rather than `propertyNames`), so
 * generated clients get `{static?, dynamic?, weight_only?, qat?}` and a misspelt one is a type error.
 */
const ObservedToQuantizedSchema = z
  .record(z.string().meta({ enum: [...QUANT_TYPE_NAMES] }), QuantTypeMappingSchema, {
    error: 'must be an object keyed by quant type name (static, dynamic, weight_only, qat)',
  })
  .superRefine(
    (mapping, ctx) => {
      for (const name of Object.keys(mapping)) {
        if (!isQuantTypeName(name)) {
          ctx.addIssue({ code: 'custom', message: `Unknown QuantType name '${name}'`, path: [name], input: name, params: { target: 'key' } });
        }
      }
    },
    { when: whenObject },
  )
  .meta({
    type: 'object',
    properties: Object.fromEntries(QUANT_TYPE_NAMES.map((name) => [name, QUANT_TYPE_MAPPING_JSON_SCHEMA])),
    additionalProperties: false,
    propertyNames: undefined,
  });

/**
 * The `to_dict()` form of a ConvertCustomConfig. Unlike PyTorch's `from_dict`, an unknown
 * top-level key is an error (zod reports it as one `unrecognized_keys` issue at the object, with
 * the keys listed in `keys`): a registry must never silently drop what a client sent. Record keys
 * named `__proto__` are skipped by zod (Fastify's JSON parser rejects them before they get here).
 */
export const ConvertCustomConfigDictSchema = z.strictObject(
  {
    [MAPPING_KEY]: ObservedToQuantizedSchema.optional(),
    [PRESERVED_KEY]: z.array(PythonIdentifierSchema, { error: 'must be a list of Python identifiers' }).optional(),
  },
  {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => `'${k}'`).join(', ');
        return `Unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}: a ConvertCustomConfig dict has only '${MAPPING_KEY}' and '${PRESERVED_KEY}'`;
      }
      if (issue.code === 'invalid_type') return `must be an object with '${MAPPING_KEY}' and/or '${PRESERVED_KEY}'`;
      return undefined;
    },
  },
);

/** The canonical form: PyTorch's `to_dict(from_dict(d))` (empties dropped, order kept). */
export function canonicalize(dict: ConvertCustomConfigDict): ConvertCustomConfigDict {
  return ConvertCustomConfig.fromDict(dict as Record<string, unknown>).toDict();
}

/** The canonical form as compact JSON text: what is stored and hashed. */
export function canonicalJson(dict: ConvertCustomConfigDict): string {
  return JSON.stringify(canonicalize(dict));
}

/** `sha256:<hex>` of the canonical JSON text (UTF-8). */
export function contentHash(canonicalText: string): string {
  return `sha256:${createHash('sha256').update(canonicalText, 'utf8').digest('hex')}`;
}

export interface ClassReference {
  id: string;
  role: 'observed' | 'quantized';
  quantType: QuantTypeName;
  pointer: string;
}

/** RFC 6901: `~` becomes `~0` and `/` becomes `~1`, in that order. */
function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * Every class a document names, in document order (per entry: observed, then quantized).
 * Both roles of one entry share a pointer: the observed class is the key at that path and the
 * quantized class is the value stored at that same path, which JSON Pointer cannot tell apart.
 */
export function classReferences(dict: ConvertCustomConfigDict, basePointer = '/config'): ClassReference[] {
  const references: ClassReference[] = [];
  for (const [name, mapping] of Object.entries(dict.observed_to_quantized_custom_module_class ?? {})) {
    if (!isQuantTypeName(name)) continue;
    for (const [observed, quantized] of Object.entries(mapping ?? {})) {
      const pointer = `${basePointer}/${MAPPING_KEY}/${escapePointerToken(name)}/${escapePointerToken(observed)}`;
      references.push({ id: observed, role: 'observed', quantType: name, pointer });
      references.push({ id: quantized, role: 'quantized', quantType: name, pointer });
    }
  }
  return references;
}

/** `convert_fx` looks up only static, dynamic and weight_only: `qat` entries are accepted but inert. */
export function convertWarnings(dict: ConvertCustomConfigDict): string[] {
  const qat = dict.observed_to_quantized_custom_module_class?.qat;
  const count = qat === undefined ? 0 : Object.keys(qat).length;
  if (count === 0) return [];
  return [
    `${MAPPING_KEY}.qat has ${count} mapping${count > 1 ? 's' : ''}: convert_fx never consults qat entries ` +
      '(it only looks up static, dynamic and weight_only), so they have no effect at convert time',
  ];
}
