import { describe, expect, it } from 'vitest';
import { applyMergePatch } from '../../src/domain/merge-patch.js';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** RFC 7396 Appendix A, verbatim: [original, patch, result]. */
const APPENDIX_A: [string, string, string][] = [
  ['{"a":"b"}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'],
  ['{"a":"b"}', '{"a":null}', '{}'],
  ['{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'],
  ['{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'],
  ['{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'],
  ['{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'],
  ['{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'],
  ['["a","b"]', '["c","d"]', '["c","d"]'],
  ['{"a":"b"}', '["c"]', '["c"]'],
  ['{"a":"foo"}', 'null', 'null'],
  ['{"a":"foo"}', '"bar"', '"bar"'],
  ['{"e":null}', '{"a":1}', '{"e":null,"a":1}'],
  ['[1,2]', '{"a":"b","c":null}', '{"a":"b"}'],
  ['{}', '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}'],
];

describe('applyMergePatch (RFC 7396)', () => {
  for (const [original, patch, result] of APPENDIX_A) {
    it(`Appendix A: ${original} + ${patch} = ${result}`, () => {
      const target = deepFreeze(JSON.parse(original) as unknown);
      const merged = applyMergePatch(target, deepFreeze(JSON.parse(patch) as unknown));
      expect(JSON.stringify(merged)).toBe(result);
      expect(JSON.stringify(target)).toBe(original);
    });
  }

  it('section 3 example: keeps the target key order and appends new keys in patch order', () => {
    const target = {
      title: 'Goodbye!',
      author: { givenName: 'John', familyName: 'Doe' },
      tags: ['example', 'sample'],
      content: 'This will be unchanged',
    };
    const patch = { title: 'Hello!', phoneNumber: '+01-123-456-7890', author: { familyName: null }, tags: ['example'] };
    expect(JSON.stringify(applyMergePatch(deepFreeze(target), deepFreeze(patch)))).toBe(
      JSON.stringify({
        title: 'Hello!',
        author: { givenName: 'John' },
        tags: ['example'],
        content: 'This will be unchanged',
        phoneNumber: '+01-123-456-7890',
      }),
    );
  });

  it('keeps the order of quant types and entries in a config patch', () => {
    const target = { config: { observed_to_quantized_custom_module_class: { dynamic: { 'z.A': 'q.A' }, static: { 'b.B': 'q.B', 'a.C': 'q.C' } } } };
    const patch = { config: { observed_to_quantized_custom_module_class: { static: { 'b.B': 'q.B2', 'a.C': null, 'c.D': 'q.D' }, qat: { 'e.E': 'q.E' } } } };
    expect(JSON.stringify(applyMergePatch(deepFreeze(target), deepFreeze(patch)))).toBe(
      JSON.stringify({
        config: {
          observed_to_quantized_custom_module_class: {
            dynamic: { 'z.A': 'q.A' },
            static: { 'b.B': 'q.B2', 'c.D': 'q.D' },
            qat: { 'e.E': 'q.E' },
          },
        },
      }),
    );
  });

  it('treats __proto__ as an ordinary member name', () => {
    const patch = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as unknown;
    const merged = applyMergePatch({}, patch) as Record<string, unknown>;
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.keys(merged)).toEqual(['__proto__', 'a']);
    expect(JSON.stringify(merged)).toBe('{"__proto__":{"polluted":true},"a":1}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const target = JSON.parse('{"__proto__":{"x":1},"b":2}') as unknown;
    expect(JSON.stringify(applyMergePatch(target, JSON.parse('{"__proto__":{"y":2}}')))).toBe('{"__proto__":{"x":1,"y":2},"b":2}');
    expect(JSON.stringify(applyMergePatch(target, JSON.parse('{"__proto__":null}')))).toBe('{"b":2}');
    expect(JSON.stringify(applyMergePatch({}, JSON.parse('{"__proto__":null}')))).toBe('{}');
  });

  it('returns a new object rather than the target', () => {
    const target = { a: 1 };
    const merged = applyMergePatch(target, {});
    expect(merged).toEqual(target);
    expect(merged).not.toBe(target);
  });
});
