import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ConfigNameSchema,
  ConvertCustomConfigDictSchema,
  ModuleClassIdSchema,
  PythonIdentifierSchema,
  QuantTypeNameSchema,
  canonicalJson,
  canonicalize,
  classReferences,
  contentHash,
  convertWarnings,
} from '../../src/domain/config-document.js';
import { ConvertCustomConfig } from '../../src/domain/convert-custom-config.js';
import type { ConvertCustomConfigDict } from '../../src/domain/convert-custom-config.js';

const MAP = 'observed_to_quantized_custom_module_class';

/** Issues as `[path, message]` pairs, the way the HTTP layer turns them into pointers. */
function issuesOf(schema: z.ZodType, input: unknown): [string, string][] {
  const result = schema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => ['/' + issue.path.map(String).join('/'), issue.message]);
}

describe('ConvertCustomConfigDictSchema', () => {
  it('accepts a valid document and keeps the client order of quant types and entries', () => {
    const input = {
      [MAP]: {
        weight_only: { 'z.Last': 'q.Z', 'a.First': 'q.A' },
        dynamic: { 'm.Mid': 'q.M' },
        static: { 'torch.ao.nn.quantizable.LSTM': 'torch.ao.nn.quantized.LSTM' },
      },
      preserved_attributes: ['zeta', 'alpha', 'zeta'],
    };
    const parsed = ConvertCustomConfigDictSchema.parse(input);
    expect(JSON.stringify(parsed)).toBe(JSON.stringify(input));
    expect(Object.keys(parsed[MAP] ?? {})).toEqual(['weight_only', 'dynamic', 'static']);
  });

  it('puts the mapping key first in its output even when the client sent it last', () => {
    const parsed = ConvertCustomConfigDictSchema.parse({ preserved_attributes: ['a'], [MAP]: { static: { 'a.B': 'c.D' } } });
    expect(Object.keys(parsed)).toEqual([MAP, 'preserved_attributes']);
  });

  it('names an unknown quant type at its own key, with PyTorch\'s message', () => {
    expect(issuesOf(ConvertCustomConfigDictSchema, { [MAP]: { statik: { 'a.B': 'c.D' } } })).toEqual([
      [`/${MAP}/statik`, "Unknown QuantType name 'statik'"],
    ]);
    expect(issuesOf(ConvertCustomConfigDictSchema, { [MAP]: { Static: {} } })).toEqual([
      [`/${MAP}/Static`, "Unknown QuantType name 'Static'"],
    ]);
  });

  it('names a malformed observed class at its key and a malformed quantized class at its entry', () => {
    expect(issuesOf(ConvertCustomConfigDictSchema, { [MAP]: { static: { 'a.class.B': 'c.D', 'e.F': 'LSTM' } } })).toEqual([
      [`/${MAP}/static/e.F`, "must be a fully qualified Python path like 'torch.ao.nn.quantized.LSTM' (at least two dot-separated segments)"],
      [`/${MAP}/static/a.class.B`, "segment 'class' is a Python keyword"],
    ]);
  });

  it('marks key problems as such', () => {
    const result = ConvertCustomConfigDictSchema.safeParse({ [MAP]: { bad: {}, static: { 'x.1y': 'a.B' } } });
    expect(result.success).toBe(false);
    const params = result.error?.issues.map((issue) => (issue.code === 'custom' ? issue.params : undefined));
    expect(params).toEqual([{ target: 'key' }, { target: 'key' }]);
  });

  it('names a malformed preserved attribute at its index', () => {
    expect(issuesOf(ConvertCustomConfigDictSchema, { preserved_attributes: ['ok', 'not-ok', 'class', '_', 'match'] })).toEqual([
      ['/preserved_attributes/1', "'not-ok' contains '-' (U+002D); only ASCII letters, digits and '_' are allowed"],
      ['/preserved_attributes/2', "'class' is a Python keyword"],
    ]);
  });

  it('rejects unknown top-level keys, naming them', () => {
    const issues = ConvertCustomConfigDictSchema.safeParse({ preserved_attributes: [], not_a_key: 1 }).error?.issues ?? [];
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['not_a_key'], path: [] });
    expect(issues[0]?.message).toBe(
      "Unknown key 'not_a_key': a ConvertCustomConfig dict has only 'observed_to_quantized_custom_module_class' and 'preserved_attributes'",
    );
  });

  it('reports wrong JSON types where they are', () => {
    expect(issuesOf(ConvertCustomConfigDictSchema, [])).toEqual([
      ['/', "must be an object with 'observed_to_quantized_custom_module_class' and/or 'preserved_attributes'"],
    ]);
    expect(issuesOf(ConvertCustomConfigDictSchema, { [MAP]: [], preserved_attributes: 'x' })).toEqual([
      [`/${MAP}`, 'must be an object keyed by quant type name (static, dynamic, weight_only, qat)'],
      ['/preserved_attributes', 'must be a list of Python identifiers'],
    ]);
    expect(issuesOf(ConvertCustomConfigDictSchema, { [MAP]: { static: { 'a.B': 7 } }, preserved_attributes: [null] })).toEqual([
      [`/${MAP}/static/a.B`, "must be a string: a fully qualified Python path like 'torch.ao.nn.quantized.LSTM'"],
      ['/preserved_attributes/0', 'must be a string: a Python identifier'],
    ]);
  });

  it('reports an eager-mode flat map as an unknown quant type', () => {
    expect(issuesOf(ConvertCustomConfigDictSchema, { [MAP]: { 'a.B': 'c.D' } })).toEqual([
      [`/${MAP}/a.B`, 'must be an object mapping observed class identifiers to quantized class identifiers'],
      [`/${MAP}/a.B`, "Unknown QuantType name 'a.B'"],
    ]);
  });

  it('reports every problem of a document at once', () => {
    const input = {
      [MAP]: {
        statik: { 'a.B': 'c.D' },
        static: { 'ok.Observed': 'bad', 'bad..Key': 'ok.Quantized', 'also bad.X': 'é.Y' },
        qat: { 'a.B': 'c.D' },
      },
      preserved_attributes: ['1st', 'fine'],
      extra: true,
    };
    const issues = issuesOf(ConvertCustomConfigDictSchema, input);
    expect(issues).toEqual(
      expect.arrayContaining([
        [`/${MAP}/statik`, "Unknown QuantType name 'statik'"],
        [`/${MAP}/static/ok.Observed`, expect.stringContaining('fully qualified')],
        [`/${MAP}/static/bad..Key`, "contains '..'; dot-separated segments must not be empty"],
        [`/${MAP}/static/also bad.X`, "segment 'also bad' contains U+0020; only ASCII letters, digits and '_' are allowed"],
        [`/${MAP}/static/also bad.X`, "segment 'é' contains U+00E9; only ASCII letters, digits and '_' are allowed"],
        ['/preserved_attributes/0', "'1st' starts with a digit"],
        ['/', expect.stringContaining("'extra'")],
      ]),
    );
    expect(issues).toHaveLength(7);
  });

  it('rejects the golden cases whose unknown top-level keys PyTorch ignores', () => {
    const golden = JSON.parse(
      readFileSync(new URL('../fixtures/golden-convert-custom-config.json', import.meta.url), 'utf8'),
    ) as { name: string; input_dict: Record<string, unknown>; expected_to_dict?: unknown }[];
    const lenient = golden.filter((c) => Object.keys(c.input_dict).some((k) => k !== MAP && k !== 'preserved_attributes'));
    expect(lenient.map((c) => c.name)).toEqual(['unknown_top_level_keys_ignored', 'prepare_key_in_convert_dict_ignored']);
    for (const c of lenient) {
      const result = ConvertCustomConfigDictSchema.safeParse(c.input_dict);
      expect(result.success, c.name).toBe(false);
      expect(result.error?.issues.map((issue) => issue.code), c.name).toEqual(['unrecognized_keys']);
      // ...while the domain object mirrors PyTorch and ignores them.
      expect(ConvertCustomConfig.fromDict(c.input_dict).toDict(), c.name).toEqual(c.expected_to_dict);
    }
  });

  it('accepts every golden to_dict result', () => {
    const golden = JSON.parse(
      readFileSync(new URL('../fixtures/golden-convert-custom-config.json', import.meta.url), 'utf8'),
    ) as { name: string; expected_to_dict?: unknown }[];
    for (const c of golden) {
      if (c.expected_to_dict === undefined) continue;
      const parsed = ConvertCustomConfigDictSchema.parse(c.expected_to_dict);
      expect(JSON.stringify(parsed), c.name).toBe(JSON.stringify(c.expected_to_dict));
    }
  });
});

describe('field schemas', () => {
  it('ModuleClassIdSchema gives one precise reason per bad identifier', () => {
    expect(ModuleClassIdSchema.safeParse('torch.ao.nn.quantized.LSTM').success).toBe(true);
    expect(issuesOf(ModuleClassIdSchema, 'LSTM')).toEqual([
      ['/', "must be a fully qualified Python path like 'torch.ao.nn.quantized.LSTM' (at least two dot-separated segments)"],
    ]);
    expect(issuesOf(ModuleClassIdSchema, `a.${'B'.repeat(298)}`)).toEqual([['/', 'is 300 characters long; at most 255 are allowed']]);
    expect(issuesOf(ModuleClassIdSchema, 'a.None')).toEqual([['/', "segment 'None' is a Python keyword"]]);
  });

  it('PythonIdentifierSchema accepts _ and soft keywords', () => {
    for (const name of ['_', 'match', 'case', 'type', '_private', 'A1']) {
      expect(PythonIdentifierSchema.safeParse(name).success, name).toBe(true);
    }
    expect(issuesOf(PythonIdentifierSchema, '')).toEqual([['/', 'is empty; a Python identifier is required']]);
  });

  it('ConfigNameSchema follows the config name grammar', () => {
    expect(ConfigNameSchema.safeParse('resnet50-int8').success).toBe(true);
    expect(issuesOf(ConfigNameSchema, 'ResNet')).toEqual([['/', "contains upper-case 'R' (U+0052); config names are lower-case"]]);
    expect(issuesOf(ConfigNameSchema, 'a'.repeat(129))).toEqual([['/', 'is 129 characters long; at most 128 are allowed']]);
  });

  it('QuantTypeNameSchema uses PyTorch\'s message', () => {
    expect(QuantTypeNameSchema.parse('weight_only')).toBe('weight_only');
    expect(issuesOf(QuantTypeNameSchema, 'Static')).toEqual([['/', "Unknown QuantType name 'Static'"]]);
    expect(issuesOf(QuantTypeNameSchema, '1')).toEqual([['/', "Unknown QuantType name '1'"]]);
  });

  it('carry the grammar into JSON Schema', () => {
    expect(z.toJSONSchema(ModuleClassIdSchema)).toMatchObject({
      type: 'string',
      pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+$',
      maxLength: 255,
    });
    const dictSchema = z.toJSONSchema(ConvertCustomConfigDictSchema) as {
      additionalProperties: unknown;
      properties: Record<string, { properties?: Record<string, { propertyNames?: unknown }>; additionalProperties?: unknown }>;
    };
    expect(dictSchema.additionalProperties).toBe(false);
    // The quant types are named properties (generated clients get {static?, dynamic?, ...}).
    expect(Object.keys(dictSchema.properties[MAP]?.properties ?? {})).toEqual(['static', 'dynamic', 'weight_only', 'qat']);
    expect(dictSchema.properties[MAP]?.additionalProperties).toBe(false);
    expect(dictSchema.properties[MAP]?.properties?.static?.propertyNames).toMatchObject({ pattern: expect.any(String) });
  });
});

describe('canonical form and hash', () => {
  const dict = {
    [MAP]: { dynamic: {}, qat: { 'a.B': 'c.D' } },
    preserved_attributes: [],
  } as ConvertCustomConfigDict;

  it('canonicalize drops empties and keeps order', () => {
    expect(canonicalize(dict)).toEqual({ [MAP]: { qat: { 'a.B': 'c.D' } } });
    expect(canonicalize({})).toEqual({});
    expect(canonicalize({ preserved_attributes: [] })).toEqual({});
  });

  it('canonicalJson is compact JSON of the canonical form', () => {
    expect(canonicalJson(dict)).toBe('{"observed_to_quantized_custom_module_class":{"qat":{"a.B":"c.D"}}}');
    expect(canonicalJson({})).toBe('{}');
  });

  it('contentHash is sha256 of the text', () => {
    expect(contentHash('{}')).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    const text = canonicalJson({ preserved_attributes: ['é'] });
    expect(contentHash(text)).toBe(`sha256:${createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex')}`);
  });
});

describe('classReferences', () => {
  it('lists every class in document order with RFC 6901 pointers', () => {
    const dict: ConvertCustomConfigDict = {
      [MAP]: {
        dynamic: { 'torch.ao.nn.quantizable.LSTM': 'torch.ao.nn.quantized.LSTM' },
        static: { 'a/b~c.D': 'e.F' },
      },
      preserved_attributes: ['x'],
    };
    expect(classReferences(dict)).toEqual([
      { id: 'torch.ao.nn.quantizable.LSTM', role: 'observed', quantType: 'dynamic', pointer: `/config/${MAP}/dynamic/torch.ao.nn.quantizable.LSTM` },
      { id: 'torch.ao.nn.quantized.LSTM', role: 'quantized', quantType: 'dynamic', pointer: `/config/${MAP}/dynamic/torch.ao.nn.quantizable.LSTM` },
      { id: 'a/b~c.D', role: 'observed', quantType: 'static', pointer: `/config/${MAP}/static/a~1b~0c.D` },
      { id: 'e.F', role: 'quantized', quantType: 'static', pointer: `/config/${MAP}/static/a~1b~0c.D` },
    ]);
  });

  it('takes another base pointer and handles an empty document', () => {
    expect(classReferences({ [MAP]: { static: { 'a.B': 'c.D' } } }, '')[0]?.pointer).toBe(`/${MAP}/static/a.B`);
    expect(classReferences({})).toEqual([]);
  });
});

describe('convertWarnings', () => {
  it('warns once about non-empty qat entries only', () => {
    expect(convertWarnings({ [MAP]: { static: { 'a.B': 'c.D' }, qat: {} } })).toEqual([]);
    const warnings = convertWarnings({ [MAP]: { qat: { 'a.B': 'c.D', 'e.F': 'g.H' } } });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('qat');
    expect(warnings[0]).toContain('2 mappings');
    expect(warnings[0]).toContain('convert_fx never consults');
  });
});
