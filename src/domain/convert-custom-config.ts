/**
 * PyTorch's `ConvertCustomConfig` (torch/ao/quantization/fx/custom_config.py), with classes
 * replaced by their registered string identifiers. This class mirrors PyTorch, including its
 * leniency (unknown top-level keys ignored, identifiers unchecked); the HTTP boundary is stricter
 * (see config-document.ts).
 */
import { pythonStringLiteral } from './python-literal.js';
import { quantTypeFromName, quantTypeMember, QUANT_TYPE_ENUM_VALUES } from './quant-type.js';
import type { QuantTypeName } from './quant-type.js';

/** observed (or float) class identifier -> quantized class identifier. */
export type QuantTypeMapping = Record<string, string>;

/** The `to_dict()` / `from_dict()` form: the persisted and exchanged document. */
export interface ConvertCustomConfigDict {
  observed_to_quantized_custom_module_class?: Partial<Record<QuantTypeName, QuantTypeMapping>>;
  preserved_attributes?: string[];
}

const MAPPING_KEY = 'observed_to_quantized_custom_module_class';
const PRESERVED_KEY = 'preserved_attributes';

/** Adds an own key even when it is `__proto__` (plain assignment would set the prototype). */
function defineEntry(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class ConvertCustomConfig {
  /** quant type -> (observed -> quantized); both levels keep insertion order, like Python dicts. */
  readonly observedToQuantizedMapping: Map<QuantTypeName, Map<string, string>> = new Map();

  /** Names of model attributes that `convert_fx` must keep even if `forward` never uses them. */
  preservedAttributes: string[] = [];

  /**
   * Mirrors `set_observed_to_quantized_mapping(observed_class, quantized_class,
   * quant_type=QuantType.STATIC)`. Re-setting an observed class under the same quant type replaces
   * the value in place (Python dict assignment keeps the key's position); quant types are ordered
   * by first insertion.
   *
   * @example new ConvertCustomConfig().setObservedToQuantizedMapping(
   *   'torch.ao.nn.quantizable.LSTM', 'torch.ao.nn.quantized.LSTM')
   */
  setObservedToQuantizedMapping(observed: string, quantized: string, quantType: QuantTypeName = 'static'): this {
    const name = quantTypeFromName(quantType);
    let inner = this.observedToQuantizedMapping.get(name);
    if (inner === undefined) {
      inner = new Map();
      this.observedToQuantizedMapping.set(name, inner);
    }
    inner.set(observed, quantized);
    return this;
  }

  /**
   * Mirrors `set_preserved_attributes(attributes)`: replaces the list (never appends), keeping
   * order and duplicates as given.
   *
   * @example new ConvertCustomConfig().setPreservedAttributes(['attr1', 'attr2'])
   */
  setPreservedAttributes(attributes: readonly string[]): this {
    this.preservedAttributes = [...attributes];
    return this;
  }

  /**
   * Mirrors `from_dict`: missing keys mean empty and unknown top-level keys are ignored. Entries
   * are inserted in input order through the setter, so its overwrite rule applies. A quant type
   * name is resolved before its inner map is read, so an unknown name fails the whole call even
   * when its map is empty and even after valid ones (UnknownQuantTypeError). Where PyTorch would
   * fail with an AttributeError on a malformed shape, this throws a TypeError.
   */
  static fromDict(dict: Record<string, unknown>): ConvertCustomConfig {
    const config = new ConvertCustomConfig();
    const mapping = Object.hasOwn(dict, MAPPING_KEY) ? dict[MAPPING_KEY] : undefined;
    if (mapping !== undefined) {
      if (!isPlainObject(mapping)) {
        throw new TypeError(`'${MAPPING_KEY}' must be an object keyed by quant type name`);
      }
      for (const [quantTypeName, inner] of Object.entries(mapping)) {
        const quantType = quantTypeFromName(quantTypeName);
        if (!isPlainObject(inner)) {
          throw new TypeError(`'${MAPPING_KEY}.${quantTypeName}' must be an object mapping observed to quantized classes`);
        }
        for (const [observed, quantized] of Object.entries(inner)) {
          if (typeof quantized !== 'string') {
            throw new TypeError(`the quantized class of '${observed}' under '${quantTypeName}' must be a string identifier`);
          }
          config.setObservedToQuantizedMapping(observed, quantized, quantType);
        }
      }
    }
    const preserved = Object.hasOwn(dict, PRESERVED_KEY) ? dict[PRESERVED_KEY] : undefined;
    if (preserved !== undefined) {
      if (!Array.isArray(preserved) || !preserved.every((a): a is string => typeof a === 'string')) {
        throw new TypeError(`'${PRESERVED_KEY}' must be a list of strings`);
      }
      config.setPreservedAttributes(preserved);
    }
    return config;
  }

  /**
   * Mirrors `to_dict`: `{}` when empty; a quant type with no entries is dropped; the mapping key
   * comes first, then `preserved_attributes` (omitted when empty). Insertion order is kept, so
   * `fromDict(c.toDict()).toDict()` equals `c.toDict()` exactly. Returns fresh objects.
   */
  toDict(): ConvertCustomConfigDict {
    const dict: ConvertCustomConfigDict = {};
    const mapping: Partial<Record<QuantTypeName, QuantTypeMapping>> = {};
    let hasMapping = false;
    for (const [quantType, inner] of this.observedToQuantizedMapping) {
      if (inner.size === 0) continue;
      const entries: QuantTypeMapping = {};
      for (const [observed, quantized] of inner) defineEntry(entries, observed, quantized);
      defineEntry(mapping, quantType, entries);
      hasMapping = true;
    }
    if (hasMapping) dict.observed_to_quantized_custom_module_class = mapping;
    if (this.preservedAttributes.length > 0) dict.preserved_attributes = [...this.preservedAttributes];
    return dict;
  }

  /**
   * PyTorch's `__repr__`: `ConvertCustomConfig(<dict of the non-empty instance attributes>)`,
   * rendered as Python would print it, with identifiers shown as `str` keys and values, e.g.
   * `ConvertCustomConfig({'observed_to_quantized_mapping': {<QuantType.STATIC: 1>: {'a.B': 'c.D'}}})`.
   */
  toString(): string {
    const attributes: string[] = [];
    if (this.observedToQuantizedMapping.size > 0) {
      const quantTypes = [...this.observedToQuantizedMapping].map(([quantType, inner]) => {
        const entries = [...inner].map(([o, q]) => `${pythonStringLiteral(o)}: ${pythonStringLiteral(q)}`);
        const member = `<QuantType.${quantTypeMember(quantType)}: ${QUANT_TYPE_ENUM_VALUES[quantType]}>`;
        return `${member}: {${entries.join(', ')}}`;
      });
      attributes.push(`'observed_to_quantized_mapping': {${quantTypes.join(', ')}}`);
    }
    if (this.preservedAttributes.length > 0) {
      attributes.push(`'preserved_attributes': [${this.preservedAttributes.map(pythonStringLiteral).join(', ')}]`);
    }
    return `ConvertCustomConfig({${attributes.join(', ')}})`;
  }
}
