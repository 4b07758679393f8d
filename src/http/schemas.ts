import { z } from 'zod';
import {
  ConfigNameSchema,
  ConvertCustomConfigDictSchema,
  ModuleClassIdSchema,
  PythonIdentifierSchema,
  QuantTypeNameSchema,
} from '../domain/config-document.js';
import {
  LABEL_KEY_PATTERN,
  LABEL_KEY_REGEXP,
  MAX_LABEL_VALUE_LENGTH,
  MAX_LABELS,
  MAX_MODULE_CLASS_ID_LENGTH,
  MODULE_CLASS_ID_PATTERN,
  PYTHON_IDENTIFIER_PATTERN,
} from '../domain/identifiers.js';
import { QUANT_TYPE_NAMES } from '../domain/quant-type.js';
import type { ConfigContent } from '../registry/configs.js';
import { ROLES } from '../registry/access.js';
import { TOKEN_NAME_PATTERN } from '../registry/tokens.js';
import { oneOrMany } from './validation.js';

/**
 * The zod schemas of the HTTP contract. They validate requests and, through @fastify/swagger,
 * are the OpenAPI document: `.meta({ id })` makes them named components clients see as types.
 */

const EXAMPLE_DICT = {
  observed_to_quantized_custom_module_class: {
    static: { 'torch.ao.nn.quantizable.LSTM': 'torch.ao.nn.quantized.LSTM' },
  },
  preserved_attributes: ['attr1'],
};

export const ConfigDictSchema = ConvertCustomConfigDictSchema.meta({
  id: 'ConvertCustomConfigDict',
  description:
    "PyTorch's `ConvertCustomConfig.to_dict()` form, with module classes named by registered identifiers. " +
    'Quant types: static, dynamic, weight_only, qat. Key order is kept exactly as sent.',
  examples: [EXAMPLE_DICT],
});

export const ConfigName = ConfigNameSchema.describe('Config name: lowercase letters, digits, `.`, `_`, `-`.');
export const ModuleClassId = ModuleClassIdSchema.describe(
  'Fully qualified Python class path, the public import path (e.g. `torch.ao.nn.quantized.LSTM`).',
);

export const LabelsSchema = z
  .record(
    z.string().regex(new RegExp(LABEL_KEY_PATTERN), 'label keys must match ' + LABEL_KEY_PATTERN),
    storableText(MAX_LABEL_VALUE_LENGTH),
  )
  .refine((labels) => Object.keys(labels).length <= MAX_LABELS, `at most ${MAX_LABELS} labels are allowed`)
  .meta({ id: 'Labels', description: 'Free-form key/value labels for filtering.', examples: [{ team: 'vision' }] });

/**
 * Text the databases can store as given: PostgreSQL rejects NUL in text and both backends would
 * mangle a lone surrogate, so both are refused up front (422) rather than failing in SQL (500).
 */
export function storableText(max: number) {
  return z
    .string()
    .max(max)
    .refine((s) => !s.includes('\u0000'), 'must not contain NUL characters')
    .refine((s) => s.isWellFormed(), 'must be well-formed Unicode (no lone surrogates)');
}

const Description = storableText(4096);
const Timestamp = z.string().meta({ format: 'date-time', description: 'RFC 3339 UTC time stamp.' });

export const ProblemSchema = z
  .looseObject({
    type: z
      .string()
      .describe(
        'URI reference naming the kind of problem: `/problems/<slug>`, relative to the request URI, a page of this ' +
          'service explaining it (`about:blank` for a bare status). Switch on this, not on the title.',
      ),
    title: z.string().describe('Short summary of the kind of problem.'),
    status: z.number().int().min(100).max(599).describe('The HTTP status code.'),
    detail: z.string().describe('What went wrong with this request, for a human.'),
    instance: z.string().describe('The request path.'),
    errors: z
      .array(
        z.object({
          pointer: z.string().optional().describe('JSON Pointer into the request body (as merged, for PATCH).'),
          parameter: z.string().optional().describe('Name of the path or query parameter.'),
          detail: z.string(),
        }),
      )
      .optional()
      .describe('Validation problems (422), each at its place in the request.'),
    configs: z
      .array(z.string())
      .optional()
      .describe('Module class conflicts (409): the live configs that block the change.'),
  })
  .meta({
    id: 'Problem',
    description: 'RFC 9457 problem details, sent as `application/problem+json`.',
    examples: [
      {
        type: '/problems/validation-failed',
        title: 'Validation failed',
        status: 422,
        detail: 'The request body does not match the schema.',
        instance: '/v1/configs/resnet50-int8',
        errors: [
          {
            pointer: '/config/observed_to_quantized_custom_module_class/statik',
            detail: "Unknown QuantType name 'statik'",
          },
        ],
      },
    ],
  });

export const ModuleClassSchema = z
  .object({
    id: ModuleClassId,
    fromObserved: z.boolean().describe('The class defines `from_observed`, so it may be a quantized class.'),
    description: z.string(),
    builtIn: z.boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({
    id: 'ModuleClass',
    description: 'A registered module class identifier that configs may name.',
    examples: [
      {
        id: 'torch.ao.nn.quantized.LSTM',
        fromObserved: true,
        description: 'Quantized LSTM',
        builtIn: true,
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-01T00:00:00.000Z',
      },
    ],
  });

/*
 * Request bodies are plain (no `.default()`, no transforms) and the routes fill in what was left
 * out: a JSON Schema `default` makes openapi-typescript (defaultNonNullable, on by default) type
 * the field as required in generated clients, and zod drops the `examples` of any input schema
 * that transforms.
 */
export const CreateModuleClassBody = z
  .strictObject({
    id: ModuleClassId,
    fromObserved: z.boolean().optional().describe('The class defines `from_observed` (false when left out).'),
    description: Description.optional().describe('Empty when left out.'),
  })
  .meta({
    id: 'CreateModuleClass',
    description: 'A class to register; `fromObserved: true` if it defines `from_observed` (a quantized class).',
    examples: [{ id: 'my_pkg.quantized.CustomLinear', fromObserved: true, description: 'Our quantized linear' }],
  });

export const UpdateModuleClassBody = z
  .strictObject({
    fromObserved: z.boolean().optional(),
    description: Description.nullable().optional().describe('null (merge patch) clears it.'),
  })
  .meta({
    id: 'UpdateModuleClass',
    description: 'The fields to change (merge patch).',
    examples: [{ description: 'Quantized custom linear, v2' }],
  });

const configResourceFields = {
  name: ConfigName,
  version: z.number().int().min(1).max(999_999_999).describe('1, 2, 3, ... with no gaps; also the strong ETag.'),
  description: z.string(),
  labels: LabelsSchema,
  config: ConfigDictSchema,
  contentHash: z
    .string()
    .meta({ pattern: '^sha256:[0-9a-f]{64}$', description: '`sha256:` + hex SHA-256 of the stored canonical config JSON text.' }),
  createdAt: Timestamp,
  updatedBy: z.string().describe('Who wrote this version: the token name, or `anonymous`.'),
};

const EXAMPLE_CONFIG = {
  name: 'resnet50-int8',
  version: 3,
  description: 'LSTM head quantized',
  labels: { team: 'vision' },
  config: EXAMPLE_DICT,
  contentHash: 'sha256:7d1a54127b222502f5b79b5fb0803061152a44f92b37e23c6527baf665d4da9a',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-03T00:00:00.000Z',
  updatedBy: 'anonymous',
};

const { updatedAt: _latestWrite, ...EXAMPLE_VERSION } = EXAMPLE_CONFIG;

export const ConfigSchema = z
  .object({
    ...configResourceFields,
    updatedAt: Timestamp,
    deleted: z.boolean().optional().describe('Present (true) only in lists with showDeleted=true.'),
    deletedAt: Timestamp.optional(),
    warnings: z.array(z.string()).optional().describe('Advice on a write, e.g. qat entries that convert_fx never consults.'),
  })
  .meta({
    id: 'Config',
    description: 'A config: its latest version, with when it was created and last written.',
    examples: [EXAMPLE_CONFIG],
  });

export const ConfigVersionSchema = z
  .object(configResourceFields)
  .meta({
    id: 'ConfigVersion',
    description: 'One immutable version of a config.',
    examples: [EXAMPLE_VERSION],
  });

/** The writable part of a config; PUT sends it whole, PATCH merges into it. */
export const ConfigContentSchema = z
  .strictObject({
    config: ConfigDictSchema,
    description: Description.optional().describe('Empty when left out.'),
    labels: LabelsSchema.optional().describe('None when left out.'),
  })
  .meta({
    id: 'PutConfig',
    description: 'The whole writable content of a config; a left-out description or labels becomes empty.',
    examples: [{ config: EXAMPLE_DICT, description: 'LSTM head quantized', labels: { team: 'vision' } }],
  });

/** A PUT body (or a merged PATCH result) as the registry's ConfigContent: left out means empty. */
export function configContent(body: z.output<typeof ConfigContentSchema>): ConfigContent {
  return { config: body.config, description: body.description ?? '', labels: body.labels ?? {} };
}

/**
 * JSON Schema of a merge patch over a ConvertCustomConfigDict: the same shape, where `null`
 * removes a member. The server validates the merged result, not the patch (RFC 7396).
 */
const nullable = (schema: object) => ({ anyOf: [schema, { type: 'null' }] });
const CLASS_ID_JSON = { type: 'string', pattern: MODULE_CLASS_ID_PATTERN, maxLength: MAX_MODULE_CLASS_ID_LENGTH };
const CONFIG_DICT_PATCH_JSON_SCHEMA = nullable({
  type: 'object',
  properties: {
    observed_to_quantized_custom_module_class: nullable({
      type: 'object',
      properties: Object.fromEntries(
        QUANT_TYPE_NAMES.map((name) => [
          name,
          nullable({ type: 'object', propertyNames: CLASS_ID_JSON, additionalProperties: nullable(CLASS_ID_JSON) }),
        ]),
      ),
      additionalProperties: false,
    }),
    preserved_attributes: nullable({ type: 'array', items: { type: 'string', pattern: PYTHON_IDENTIFIER_PATTERN } }),
  },
  additionalProperties: false,
});

export const PatchConfigBody = z
  .strictObject({
    config: z
      .union([z.record(z.string(), z.unknown()), z.null()])
      .optional()
      .meta({ ...CONFIG_DICT_PATCH_JSON_SCHEMA, description: 'Merged into the config document; null removes a member.' }),
    description: Description.nullable().optional(),
    labels: z.union([z.record(z.string(), z.union([z.string(), z.null()])), z.null()]).optional(),
  })
  .meta({
    id: 'ConfigMergePatch',
    description: 'RFC 7396 JSON merge patch over {config, description, labels}; the result is validated like a PUT.',
    examples: [{ description: 'new text', labels: { stage: 'prod', old: null } }],
  });

export const SetMappingBody = z
  .strictObject({ quantizedClass: ModuleClassId })
  .meta({
    id: 'SetMapping',
    description: 'The quantized class (registered with fromObserved) to map the observed class to.',
    examples: [{ quantizedClass: 'torch.ao.nn.quantized.LSTM' }],
  });

export const SetPreservedAttributesBody = z
  .strictObject({ attributes: z.array(PythonIdentifierSchema) })
  .meta({
    id: 'SetPreservedAttributes',
    description: 'The new list of preserved attribute names (replaces the old one; order and duplicates kept).',
    examples: [{ attributes: ['attr1', 'attr2'] }],
  });

export const DiffSchema = z
  .object({
    from: z.number().int(),
    to: z.number().int(),
    changes: z.object({
      mappings: z.record(
        z.string(),
        z.object({
          added: z.array(z.object({ observed: z.string(), quantized: z.string() })),
          removed: z.array(z.object({ observed: z.string(), quantized: z.string() })),
          changed: z.array(z.object({ observed: z.string(), from: z.string(), to: z.string() })),
        }),
      ),
      preservedAttributes: z.object({
        added: z.array(z.string()),
        removed: z.array(z.string()),
        orderChanged: z.boolean(),
      }),
      description: z.object({ from: z.string(), to: z.string() }).nullable(),
      labels: z.object({
        added: z.record(z.string(), z.string()),
        removed: z.record(z.string(), z.string()),
        changed: z.record(z.string(), z.object({ from: z.string(), to: z.string() })),
      }),
    }),
  })
  .meta({
    id: 'ConfigDiff',
    description: 'What changed from one version to another.',
    examples: [
      {
        from: 1,
        to: 3,
        changes: {
          mappings: {
            static: {
              added: [{ observed: 'my_pkg.observed.CustomLinear', quantized: 'my_pkg.quantized.CustomLinear' }],
              removed: [],
              changed: [],
            },
          },
          preservedAttributes: { added: ['attr2'], removed: [], orderChanged: false },
          description: { from: 'LSTM head', to: 'LSTM head quantized' },
          labels: { added: { stage: 'prod' }, removed: {}, changed: {} },
        },
      },
    ],
  });

/** The first example of a schema's metadata (the ones the document shows), typed as the schema's output. */
export function exampleOf<T extends z.ZodType>(schema: T): z.output<T> {
  const examples = schema.meta()?.examples;
  if (!Array.isArray(examples) || examples.length === 0) throw new Error('the schema has no example');
  return examples[0] as z.output<T>;
}

/** A list response: `{items, nextPageToken?}` as a named component, with an example page. */
export function pageOf<T extends z.ZodType>(item: T, id: string, exampleItem: z.output<T>) {
  return z
    .object({
      items: z.array(item),
      nextPageToken: z.string().optional().describe('Absent on the last page.'),
    })
    .meta({
      id,
      description: 'One page of a list; pass nextPageToken back as pageToken for the next one.',
      examples: [{ items: [exampleItem], nextPageToken: 'eyJ2IjoxLCJhZnRlciI6InJlc25ldDUwLWludDgifQ.kTq2' }],
    });
}

export const PageSize = z.coerce
  .number()
  .int()
  .min(1)
  .max(1000)
  .default(100)
  .describe('Items per page, 1..1000.');
export const PageToken = z.string().max(4096).optional().describe('Opaque token from the previous page.');

/**
 * Path and query parameters arrive as text. These are parsed strictly (no `1e3`, ` 1` or `0x1`,
 * which `Number()` would accept) and documented as what a client sends: an integer, a boolean.
 */
export const VersionNumber = z
  .string()
  .regex(/^[1-9][0-9]{0,8}$/, 'must be a positive version number')
  .transform(Number)
  .meta({ type: 'integer', minimum: 1, maximum: 999_999_999, pattern: undefined });

export const BooleanFlag = z
  .enum(['true', 'false'])
  .optional()
  .transform((v) => v === 'true')
  .meta({ type: 'boolean', default: false, enum: undefined });

const LabelFilter = storableText(64 + MAX_LABEL_VALUE_LENGTH).superRefine((filter, ctx) => {
  const colon = filter.indexOf(':');
  if (colon >= 0 && LABEL_KEY_REGEXP.test(filter.slice(0, colon))) return;
  ctx.addIssue({
    code: 'custom',
    message:
      colon < 0 && filter.includes('=')
        ? 'must be key:value, not key=value (e.g. team:vision)'
        : colon < 0
          ? 'must be key:value, e.g. team:vision'
          : `must be key:value with a label key matching ${LABEL_KEY_PATTERN}`,
  });
});

export const ListConfigsQuery = z.strictObject({
  prefix: z
    .string()
    .regex(/^[a-z0-9._-]{0,128}$/, 'must be the start of a config name (a-z, 0-9, ., _, -)')
    .optional()
    .describe('Only names starting with this.'),
  label: oneOrMany(LabelFilter)
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    // A config has at most MAX_LABELS labels, so more filters could never all match (and each
    // one is a clause of the query).
    .refine((v) => v.length <= MAX_LABELS, `at most ${MAX_LABELS} label filters are allowed`)
    .meta({
      description: `key:value; repeat to AND several (at most ${MAX_LABELS}).`,
      type: 'array',
      items: { type: 'string', pattern: '^[a-z][a-z0-9_.-]{0,62}:' },
      maxItems: MAX_LABELS,
      anyOf: undefined,
    }),
  usesClass: ModuleClassId.optional().describe('Only configs whose latest version references this class.'),
  showDeleted: BooleanFlag.describe('Include soft-deleted configs (marked deleted: true).'),
  pageSize: PageSize,
  pageToken: PageToken,
});

export const ListModuleClassesQuery = z.strictObject({
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_.]{0,255}$/, 'must be the start of a module class id')
    .optional()
    .describe('Only ids starting with this.'),
  pageSize: PageSize,
  pageToken: PageToken,
});

export const PageQuery = z.strictObject({ pageSize: PageSize, pageToken: PageToken });

export const VersionQuery = z.strictObject({
  version: VersionNumber.optional().describe('A version number; the latest when absent.'),
});

export const DiffQuery = z.strictObject({
  from: VersionNumber.describe('The older version.'),
  to: VersionNumber.optional().describe('The newer version; the latest when absent.'),
});

export const PurgeQuery = z.strictObject({
  purge: BooleanFlag.describe('Erase the config and its whole history (admin).'),
});

export const NameParams = z.strictObject({ name: ConfigName });
export const VersionParams = z.strictObject({ name: ConfigName, version: VersionNumber });
export const MappingParams = z.strictObject({
  name: ConfigName,
  quantType: QuantTypeNameSchema,
  observedClass: ModuleClassId,
});
export const ModuleClassParams = z.strictObject({ id: ModuleClassId });

export const TokenName = z
  .string()
  .regex(new RegExp(TOKEN_NAME_PATTERN), 'must be 1-64 lowercase letters, digits, `.`, `_`, `@`, `-`, starting and ending with a letter or digit')
  .describe('Token name, recorded as `updatedBy` on the versions it writes.');

const RoleSchema = z.enum(ROLES).describe('reader: GET; writer: + every write but purge; admin: + purge and token management.');

export const TokenSchema = z
  .object({ name: TokenName, role: RoleSchema, createdAt: Timestamp, createdBy: z.string() })
  .meta({
    id: 'Token',
    description: 'An API token, without its secret (only a hash of it is stored).',
    examples: [{ name: 'ci-vision', role: 'writer', createdAt: '2026-01-01T00:00:00.000Z', createdBy: 'admin' }],
  });

export const CreatedTokenSchema = z
  .object({
    name: TokenName,
    role: RoleSchema,
    token: z.string().describe('The secret, shown this once: send it as `Authorization: Bearer <token>`.'),
    createdAt: Timestamp,
  })
  .meta({
    id: 'CreatedToken',
    examples: [
      {
        name: 'ci-vision',
        role: 'writer',
        token: 'ccr_EXAMPLE0000000000000000000000000000000000',
        createdAt: '2026-01-01T00:00:00.000Z',
      },
    ],
  });

export const CreateTokenBody = z
  .strictObject({ name: TokenName, role: RoleSchema })
  .meta({ id: 'CreateToken', examples: [{ name: 'ci-vision', role: 'writer' }] });

export const TokenNameParams = z.strictObject({ name: TokenName });
