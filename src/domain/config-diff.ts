/**
 * What changed between two versions of a config (`GET /v1/configs/{name}/diff`). PyTorch has no
 * equality on ConvertCustomConfig, so the diff compares `to_dict()` contents: mappings per quant
 * type keyed by observed class (the key `convert_fx` looks up), preserved attributes as names.
 */
import type { ConvertCustomConfigDict } from './convert-custom-config.js';
import { isQuantTypeName } from './quant-type.js';
import type { QuantTypeName } from './quant-type.js';

export interface ConfigSnapshot {
  config: ConvertCustomConfigDict;
  description: string;
  labels: Record<string, string>;
}

export interface MappingEntry {
  observed: string;
  quantized: string;
}

export interface MappingChange {
  observed: string;
  from: string;
  to: string;
}

export interface ConfigDiff {
  /** Only quant types with at least one added, removed or changed entry appear. */
  mappings: Partial<Record<QuantTypeName, { added: MappingEntry[]; removed: MappingEntry[]; changed: MappingChange[] }>>;
  preservedAttributes: { added: string[]; removed: string[]; orderChanged: boolean };
  description: { from: string; to: string } | null;
  labels: {
    added: Record<string, string>;
    removed: Record<string, string>;
    changed: Record<string, { from: string; to: string }>;
  };
}

function defineEntry(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function entriesOf(dict: ConvertCustomConfigDict, quantType: QuantTypeName): Map<string, string> {
  const mapping = dict.observed_to_quantized_custom_module_class;
  const inner = mapping !== undefined && Object.hasOwn(mapping, quantType) ? mapping[quantType] : undefined;
  return new Map(Object.entries(inner ?? {}));
}

/** Quant types in the order they first appear in `from`, then in `to`. */
function quantTypesOf(...dicts: ConvertCustomConfigDict[]): QuantTypeName[] {
  const seen = new Set<QuantTypeName>();
  for (const dict of dicts) {
    for (const name of Object.keys(dict.observed_to_quantized_custom_module_class ?? {})) {
      if (isQuantTypeName(name)) seen.add(name);
    }
  }
  return [...seen];
}

function diffMappings(from: ConvertCustomConfigDict, to: ConvertCustomConfigDict): ConfigDiff['mappings'] {
  const mappings: ConfigDiff['mappings'] = {};
  for (const quantType of quantTypesOf(from, to)) {
    const before = entriesOf(from, quantType);
    const after = entriesOf(to, quantType);
    const added: MappingEntry[] = [];
    const changed: MappingChange[] = [];
    for (const [observed, quantized] of after) {
      const previous = before.get(observed);
      if (previous === undefined) added.push({ observed, quantized });
      else if (previous !== quantized) changed.push({ observed, from: previous, to: quantized });
    }
    const removed = [...before].filter(([observed]) => !after.has(observed)).map(([observed, quantized]) => ({ observed, quantized }));
    if (added.length + removed.length + changed.length > 0) mappings[quantType] = { added, removed, changed };
  }
  return mappings;
}

/**
 * Names added and removed (each once, in list order). `orderChanged` is true when the names kept
 * on both sides do not form the same sequence (reordered, or repeated a different number of
 * times): `set_preserved_attributes` keeps order and duplicates, so that is a change too.
 */
function diffPreservedAttributes(from: readonly string[], to: readonly string[]): ConfigDiff['preservedAttributes'] {
  const before = new Set(from);
  const after = new Set(to);
  const added = [...after].filter((a) => !before.has(a));
  const removed = [...before].filter((a) => !after.has(a));
  const keptBefore = from.filter((a) => after.has(a));
  const keptAfter = to.filter((a) => before.has(a));
  const orderChanged = keptBefore.length !== keptAfter.length || keptBefore.some((a, i) => a !== keptAfter[i]);
  return { added, removed, orderChanged };
}

function diffLabels(from: Record<string, string>, to: Record<string, string>): ConfigDiff['labels'] {
  const labels: ConfigDiff['labels'] = { added: {}, removed: {}, changed: {} };
  const before = new Map(Object.entries(from));
  const after = new Map(Object.entries(to));
  for (const [key, value] of after) {
    const previous = before.get(key);
    if (previous === undefined) defineEntry(labels.added, key, value);
    else if (previous !== value) defineEntry(labels.changed, key, { from: previous, to: value });
  }
  for (const [key, value] of before) {
    if (!after.has(key)) defineEntry(labels.removed, key, value);
  }
  return labels;
}

/** The changes that turn `from` into `to`. */
export function diffConfigs(from: ConfigSnapshot, to: ConfigSnapshot): ConfigDiff {
  return {
    mappings: diffMappings(from.config, to.config),
    preservedAttributes: diffPreservedAttributes(from.config.preserved_attributes ?? [], to.config.preserved_attributes ?? []),
    description: from.description === to.description ? null : { from: from.description, to: to.description },
    labels: diffLabels(from.labels, to.labels),
  };
}
