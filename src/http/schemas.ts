import { z } from 'zod';
import {
  ConfigNameSchema,
  ConvertCustomConfigDictSchema,
  ModuleClassIdSchema,
  PythonIdentifierSchema,
  QuantTypeNameSchema,
} from '../domain/config-document.js';
import { LABEL_KEY_PATTERN, MAX_LABEL_VALUE_LENGTH, MAX_LABELS } from '../domain/identifiers.js';

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
const Timestamp = z.string().describe('RFC 3339 UTC time stamp.');

export const ProblemSchema = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    errors: z
      .array(
        z.object({
          pointer: z.string().optional().describe('JSON Pointer into the request body (as merged, for PATCH).'),
          parameter: z.string().optional().describe('Name of the path or query parameter.'),
          detail: z.string(),
        }),
      )
      .optional(),
  })
  .meta({
    id: 'Problem',
    description: 'RFC 9457 problem details.',
    examples: [
      {
        type: 'https://convert-config-registry.dev/problems/validation-failed',
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

export const CreateModuleClassBody = z
  .strictObject({
    id: ModuleClassId,
    fromObserved: z.boolean().default(false),
    description: Description.default(''),
  })
  .meta({
    id: 'CreateModuleClass',
    examples: [{ id: 'my_pkg.quantized.CustomLinear', fromObserved: true, description: 'Our quantized linear' }],
  });

export const UpdateModuleClassBody = z
  .strictObject({
    fromObserved: z.boolean().optional(),
    description: Description.nullable().optional().describe('null (merge patch) clears it.'),
  })
  .meta({ id: 'UpdateModuleClass', examples: [{ description: 'Quantized custom linear, v2' }] });

const configResourceFields = {
  name: ConfigName,
  version: z.number().int().min(1),
  description: z.string(),
  labels: LabelsSchema,
  config: ConfigDictSchema,
  contentHash: z.string().describe('`sha256:` + hex SHA-256 of the stored canonical config JSON text.'),
  createdAt: Timestamp,
  updatedBy: z.string(),
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

export const ConfigSchema = z
  .object({
    ...configResourceFields,
    updatedAt: Timestamp,
    deleted: z.boolean().optional().describe('Present (true) only in lists with showDeleted=true.'),
    deletedAt: Timestamp.optional(),
    warnings: z.array(z.string()).optional().describe('Advice on a write, e.g. qat entries that convert_fx never consults.'),
  })
  .meta({ id: 'Config', examples: [EXAMPLE_CONFIG] });

export const ConfigVersionSchema = z
  .object(configResourceFields)
  .meta({ id: 'ConfigVersion', examples: [{ ...EXAMPLE_CONFIG, updatedAt: undefined }] });

/** The writable part of a config; PUT sends it whole, PATCH merges into it. */
export const ConfigContentSchema = z
  .strictObject({
    config: ConfigDictSchema,
    description: Description.default(''),
    labels: LabelsSchema.default({}),
  })
  .meta({
    id: 'PutConfig',
    examples: [{ config: EXAMPLE_DICT, description: 'LSTM head quantized', labels: { team: 'vision' } }],
  });

export const PatchConfigBody = z
  .strictObject({
    config: z.union([z.record(z.string(), z.unknown()), z.null()]).optional(),
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
  .meta({ id: 'SetMapping', examples: [{ quantizedClass: 'torch.ao.nn.quantized.LSTM' }] });

export const SetPreservedAttributesBody = z
  .strictObject({ attributes: z.array(PythonIdentifierSchema) })
  .meta({ id: 'SetPreservedAttributes', examples: [{ attributes: ['attr1', 'attr2'] }] });

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
  .meta({ id: 'ConfigDiff' });

export function pageOf<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      items: z.array(item),
      nextPageToken: z.string().optional().describe('Absent on the last page.'),
    })
    .meta({ id });
}

export const PageSize = z.coerce
  .number()
  .int()
  .min(1)
  .max(1000)
  .default(100)
  .describe('Items per page, 1..1000.');
export const PageToken = z.string().max(4096).optional().describe('Opaque token from the previous page.');

export const VersionNumber = z
  .string()
  .regex(/^[1-9][0-9]{0,8}$/, 'must be a positive version number')
  .transform(Number);

const BooleanFlag = z
  .enum(['true', 'false'])
  .default('false')
  .transform((v) => v === 'true');

const LabelFilter = z
  .string()
  .regex(/^[a-z][a-z0-9_.-]{0,62}:/, 'must be key:value with a valid label key')
  .pipe(storableText(64 + MAX_LABEL_VALUE_LENGTH));

export const ListConfigsQuery = z.strictObject({
  prefix: z
    .string()
    .regex(/^[a-z0-9._-]{0,128}$/, 'must be the start of a config name (a-z, 0-9, ., _, -)')
    .optional()
    .describe('Only names starting with this.'),
  label: z
    .union([LabelFilter, z.array(LabelFilter)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    // A config has at most MAX_LABELS labels, so more filters could never all match (and each
    // one is a clause of the query).
    .refine((v) => v.length <= MAX_LABELS, `at most ${MAX_LABELS} label filters are allowed`)
    .describe(`key:value; repeat to AND several (at most ${MAX_LABELS}).`),
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
