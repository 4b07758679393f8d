import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConvertCustomConfig } from '../../src/domain/convert-custom-config.js';
import { UnknownQuantTypeError } from '../../src/domain/quant-type.js';
import type { QuantTypeName } from '../../src/domain/quant-type.js';

type GoldenOp =
  | { op: 'set_observed_to_quantized_mapping'; observed: string; quantized: string; quant_type?: QuantTypeName }
  | { op: 'set_preserved_attributes'; attributes: string[] }
  | { op: 'round_trip' };

interface GoldenCase {
  name: string;
  input_dict: Record<string, unknown>;
  ops?: GoldenOp[];
  expected_to_dict?: unknown;
  expected_error?: { type: string; message: string; stage: string };
  expected_repr_with_str_keys?: string;
}

const golden = JSON.parse(
  readFileSync(new URL('../fixtures/golden-convert-custom-config.json', import.meta.url), 'utf8'),
) as GoldenCase[];

function applyOp(config: ConvertCustomConfig, op: GoldenOp): ConvertCustomConfig {
  switch (op.op) {
    case 'set_observed_to_quantized_mapping':
      return config.setObservedToQuantizedMapping(op.observed, op.quantized, op.quant_type);
    case 'set_preserved_attributes':
      return config.setPreservedAttributes(op.attributes);
    case 'round_trip':
      return ConvertCustomConfig.fromDict(config.toDict() as Record<string, unknown>);
  }
}

/** Runs a case stage by stage; returns the config, or the error and the stage that threw it. */
function runCase(c: GoldenCase): { config?: ConvertCustomConfig; error?: unknown; stage?: string } {
  let stage = 'from_dict';
  try {
    let config = ConvertCustomConfig.fromDict(c.input_dict);
    for (const op of c.ops ?? []) {
      stage = op.op;
      config = applyOp(config, op);
    }
    stage = 'to_dict';
    config.toDict();
    return { config };
  } catch (error) {
    return { error, stage };
  }
}

describe('golden vectors (shared/spec/golden-convert-custom-config.json)', () => {
  it('has cases, each expecting either a dict or an error', () => {
    expect(golden.length).toBeGreaterThanOrEqual(20);
    for (const c of golden) {
      expect((c.expected_to_dict === undefined) !== (c.expected_error === undefined), c.name).toBe(true);
    }
  });

  for (const c of golden) {
    it(c.name, () => {
      const { config, error, stage } = runCase(c);
      if (c.expected_error !== undefined) {
        expect(config).toBeUndefined();
        expect(stage).toBe(c.expected_error.stage);
        expect(error).toBeInstanceOf(Error);
        expect((error as Error).message).toBe(c.expected_error.message);
        if (c.expected_error.type === 'ValueError') expect(error).toBeInstanceOf(UnknownQuantTypeError);
        return;
      }
      if (error !== undefined) throw error;
      const dict = config!.toDict();
      // Key order is significant: compare the serialised text, not only deep equality.
      expect(JSON.stringify(dict)).toBe(JSON.stringify(c.expected_to_dict));
      expect(dict).toEqual(c.expected_to_dict);
      if (c.expected_repr_with_str_keys !== undefined) {
        expect(config!.toString()).toBe(c.expected_repr_with_str_keys);
      }
    });
  }
});

describe('ConvertCustomConfig.fromDict', () => {
  it('fails on an unknown quant type even when its inner map is empty', () => {
    expect(() =>
      ConvertCustomConfig.fromDict({ observed_to_quantized_custom_module_class: { Static: {} } }),
    ).toThrow(new UnknownQuantTypeError('Static'));
  });

  it('fails on an unknown quant type that follows valid ones', () => {
    const dict = {
      observed_to_quantized_custom_module_class: { static: { 'a.B': 'c.D' }, dynamic: {}, int8: {} },
    };
    expect(() => ConvertCustomConfig.fromDict(dict)).toThrow("Unknown QuantType name 'int8'");
  });

  it('reads an eager-mode flat map as a quant type name and fails', () => {
    expect(() =>
      ConvertCustomConfig.fromDict({ observed_to_quantized_custom_module_class: { 'a.B': 'c.D' } }),
    ).toThrow(new UnknownQuantTypeError('a.B'));
  });

  it('checks the quant type name before the shape of its map', () => {
    expect(() =>
      ConvertCustomConfig.fromDict({ observed_to_quantized_custom_module_class: { bogus: 'not a map' } }),
    ).toThrow(UnknownQuantTypeError);
    expect(() =>
      ConvertCustomConfig.fromDict({ observed_to_quantized_custom_module_class: { static: 'not a map' } }),
    ).toThrow(TypeError);
  });

  it('rejects malformed shapes with a TypeError', () => {
    expect(() => ConvertCustomConfig.fromDict({ observed_to_quantized_custom_module_class: null })).toThrow(TypeError);
    expect(() => ConvertCustomConfig.fromDict({ observed_to_quantized_custom_module_class: [] })).toThrow(TypeError);
    expect(() =>
      ConvertCustomConfig.fromDict({ observed_to_quantized_custom_module_class: { static: { 'a.B': 1 } } }),
    ).toThrow(TypeError);
    expect(() => ConvertCustomConfig.fromDict({ preserved_attributes: 'attr' })).toThrow(TypeError);
    expect(() => ConvertCustomConfig.fromDict({ preserved_attributes: ['ok', 3] })).toThrow(TypeError);
  });

  it('lets a repeated entry overwrite in place, as inserting through the setter does', () => {
    const config = ConvertCustomConfig.fromDict({
      observed_to_quantized_custom_module_class: { static: { 'a.A': 'q.A', 'a.B': 'q.B' } },
    });
    config.setObservedToQuantizedMapping('a.A', 'q.A2');
    expect(JSON.stringify(config.toDict())).toBe(
      '{"observed_to_quantized_custom_module_class":{"static":{"a.A":"q.A2","a.B":"q.B"}}}',
    );
  });

  it('keeps a __proto__ key as data, never as a prototype', () => {
    const dict = JSON.parse('{"observed_to_quantized_custom_module_class":{"static":{"__proto__":"x.Y","a.B":"c.D"}}}') as Record<string, unknown>;
    const out = ConvertCustomConfig.fromDict(dict).toDict();
    const inner = out.observed_to_quantized_custom_module_class?.static ?? {};
    expect(Object.getPrototypeOf(inner)).toBe(Object.prototype);
    expect(Object.keys(inner)).toEqual(['__proto__', 'a.B']);
    expect(JSON.stringify(out)).toBe(JSON.stringify(dict));
  });
});

describe('ConvertCustomConfig setters', () => {
  it('are chainable and default to the static quant type', () => {
    const config = new ConvertCustomConfig();
    expect(config.setObservedToQuantizedMapping('a.B', 'c.D')).toBe(config);
    expect(config.setPreservedAttributes(['x'])).toBe(config);
    expect([...config.observedToQuantizedMapping.keys()]).toEqual(['static']);
  });

  it('treats the same observed class under two quant types as two entries', () => {
    const config = new ConvertCustomConfig()
      .setObservedToQuantizedMapping('a.B', 'c.Static', 'static')
      .setObservedToQuantizedMapping('a.B', 'c.Dynamic', 'dynamic');
    expect(config.toDict()).toEqual({
      observed_to_quantized_custom_module_class: { static: { 'a.B': 'c.Static' }, dynamic: { 'a.B': 'c.Dynamic' } },
    });
  });

  it('rejects an unknown quant type at run time', () => {
    const config = new ConvertCustomConfig();
    expect(() => config.setObservedToQuantizedMapping('a.B', 'c.D', 'STATIC' as QuantTypeName)).toThrow(
      "Unknown QuantType name 'STATIC'",
    );
    expect(config.toDict()).toEqual({});
  });

  it('replaces preserved attributes with a copy, keeping order and duplicates; [] clears', () => {
    const source = ['b', 'a', 'b'];
    const config = new ConvertCustomConfig().setPreservedAttributes(['old']).setPreservedAttributes(source);
    source.push('c');
    expect(config.toDict()).toEqual({ preserved_attributes: ['b', 'a', 'b'] });
    expect(config.setPreservedAttributes([]).toDict()).toEqual({});
  });

  it('returns fresh objects from toDict', () => {
    const config = new ConvertCustomConfig().setObservedToQuantizedMapping('a.B', 'c.D').setPreservedAttributes(['x']);
    const first = config.toDict();
    first.preserved_attributes?.push('y');
    const inner = first.observed_to_quantized_custom_module_class?.static;
    if (inner !== undefined) inner['e.F'] = 'g.H';
    expect(config.toDict()).toEqual({
      observed_to_quantized_custom_module_class: { static: { 'a.B': 'c.D' } },
      preserved_attributes: ['x'],
    });
  });

  it('drops a quant type whose inner map was emptied directly', () => {
    const config = new ConvertCustomConfig().setObservedToQuantizedMapping('a.B', 'c.D', 'dynamic');
    config.observedToQuantizedMapping.get('dynamic')?.clear();
    expect(config.toDict()).toEqual({});
  });
});

describe('ConvertCustomConfig.toString (PyTorch repr)', () => {
  it('lists both attributes with every quant type, as Python prints them', () => {
    const config = new ConvertCustomConfig()
      .setObservedToQuantizedMapping('torch.ao.nn.quantizable.LSTM', 'torch.ao.nn.quantized.LSTM', 'weight_only')
      .setObservedToQuantizedMapping('a.B', 'c.D', 'dynamic')
      .setObservedToQuantizedMapping('e.F', 'g.H', 'qat')
      .setObservedToQuantizedMapping('i.J', 'k.L', 'weight_only')
      .setPreservedAttributes(['attr1']);
    expect(config.toString()).toBe(
      "ConvertCustomConfig({'observed_to_quantized_mapping': {" +
        "<QuantType.WEIGHT_ONLY: 3>: {'torch.ao.nn.quantizable.LSTM': 'torch.ao.nn.quantized.LSTM', 'i.J': 'k.L'}, " +
        "<QuantType.DYNAMIC: 0>: {'a.B': 'c.D'}, <QuantType.QAT: 2>: {'e.F': 'g.H'}}, " +
        "'preserved_attributes': ['attr1']})",
    );
  });

  it('quotes strings the way Python repr() does', () => {
    // Expected texts produced by CPython 3.11's repr().
    const cases: [string, string][] = [
      ["it's", `"it's"`],
      ['say "hi"', `'say "hi"'`],
      [`both ' and "`, `'both \\' and "'`],
      ['back\\slash', `'back\\\\slash'`],
      ['tab\tnl\ncr\r', `'tab\\tnl\\ncr\\r'`],
      ['\u0000\u007f\u0085', `'\\x00\\x7f\\x85'`],
      ['é ß日本😀', `'é ß日本😀'`],
      ['\u00a0\u2028\u200b', `'\\xa0\\u2028\\u200b'`],
      ['\ud800', `'\\ud800'`],
      ['\u{e0001}', `'\\U000e0001'`],
    ];
    for (const [text, expected] of cases) {
      expect(new ConvertCustomConfig().setPreservedAttributes([text]).toString()).toBe(
        `ConvertCustomConfig({'preserved_attributes': [${expected}]})`,
      );
    }
  });
});
