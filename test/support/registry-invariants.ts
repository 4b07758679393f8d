// What must hold in the database whatever happened before (races, crashes, outages), checked on
// the raw tables rather than through the API under test:
// - every config's versions are exactly 1..latest_version (no gap, none missing, none extra);
// - a live config's latest version names only registered classes, and its quantized classes are
//   registered with from_observed (convert_fx calls from_observed on them);
// - config_class_ref is exactly the classes of the latest version of each live config, and
//   config_label exactly its labels (deleted configs keep none of either).
import type { DatabaseDumper } from './db-dump.js';

export interface RegistryState {
  configs: Map<string, { latestVersion: number; deleted: boolean }>;
  /** name -> version -> stored row */
  versions: Map<string, Map<number, { configJson: string; description: string; labelsJson: string }>>;
  classes: Map<string, { fromObserved: boolean }>;
  refs: Array<{ configName: string; classId: string; asQuantized: boolean }>;
  labels: Array<{ configName: string; key: string; value: string }>;
}

const bool = (v: unknown) => v === true || v === 1 || v === 1n || v === 't';

export async function readState(db: DatabaseDumper): Promise<RegistryState> {
  const configs = await db.query<{ name: string; latest_version: number; deleted: unknown }>(
    'SELECT name, latest_version, deleted FROM config',
  );
  const versions = await db.query<{ config_name: string; version: number; config_json: string; description: string; labels_json: string }>(
    'SELECT config_name, version, config_json, description, labels_json FROM config_version',
  );
  const classes = await db.query<{ id: string; from_observed: unknown }>('SELECT id, from_observed FROM module_class');
  const refs = await db.query<{ config_name: string; class_id: string; as_quantized: unknown }>(
    'SELECT config_name, class_id, as_quantized FROM config_class_ref',
  );
  const labels = await db.query<{ config_name: string; key: string; value: string }>('SELECT config_name, key, value FROM config_label');
  const state: RegistryState = {
    configs: new Map(configs.map((c) => [c.name, { latestVersion: Number(c.latest_version), deleted: bool(c.deleted) }])),
    versions: new Map(),
    classes: new Map(classes.map((c) => [c.id, { fromObserved: bool(c.from_observed) }])),
    refs: refs.map((r) => ({ configName: r.config_name, classId: r.class_id, asQuantized: bool(r.as_quantized) })),
    labels: labels.map((l) => ({ configName: l.config_name, key: l.key, value: l.value })),
  };
  for (const v of versions) {
    let byVersion = state.versions.get(v.config_name);
    if (byVersion === undefined) state.versions.set(v.config_name, (byVersion = new Map()));
    byVersion.set(Number(v.version), { configJson: v.config_json, description: v.description, labelsJson: v.labels_json });
  }
  return state;
}

/** observed -> quantized entries of a stored config document, per quant type. */
export function classesOf(configJson: string): Array<{ id: string; asQuantized: boolean }> {
  const doc = JSON.parse(configJson) as { observed_to_quantized_custom_module_class?: Record<string, Record<string, string>> };
  const out: Array<{ id: string; asQuantized: boolean }> = [];
  for (const mapping of Object.values(doc.observed_to_quantized_custom_module_class ?? {})) {
    for (const [observed, quantized] of Object.entries(mapping)) {
      out.push({ id: observed, asQuantized: false }, { id: quantized, asQuantized: true });
    }
  }
  return out;
}

/** Every violated invariant, as readable lines (empty: all hold). */
export function violations(state: RegistryState): string[] {
  const problems: string[] = [];
  const refsByConfig = new Map<string, Map<string, boolean>>();
  for (const r of state.refs) {
    let m = refsByConfig.get(r.configName);
    if (m === undefined) refsByConfig.set(r.configName, (m = new Map()));
    m.set(r.classId, r.asQuantized);
  }
  const labelsByConfig = new Map<string, Record<string, string>>();
  for (const l of state.labels) {
    const m = labelsByConfig.get(l.configName) ?? {};
    m[l.key] = l.value;
    labelsByConfig.set(l.configName, m);
  }
  for (const name of state.versions.keys()) {
    if (!state.configs.has(name)) problems.push(`versions of '${name}' survive without its config row`);
  }
  for (const [name, head] of state.configs) {
    const versions = state.versions.get(name) ?? new Map();
    const numbers = [...versions.keys()].sort((a, b) => a - b);
    const expected = Array.from({ length: head.latestVersion }, (_, i) => i + 1);
    if (JSON.stringify(numbers) !== JSON.stringify(expected)) {
      problems.push(`'${name}' has versions [${numbers.join(',')}], expected 1..${head.latestVersion}`);
      continue;
    }
    const latest = versions.get(head.latestVersion)!;
    const storedRefs = refsByConfig.get(name) ?? new Map<string, boolean>();
    const storedLabels = labelsByConfig.get(name) ?? {};
    if (head.deleted) {
      if (storedRefs.size > 0) problems.push(`deleted '${name}' still holds class references`);
      continue;
    }
    const wanted = new Map<string, boolean>();
    for (const c of classesOf(latest.configJson)) wanted.set(c.id, (wanted.get(c.id) ?? false) || c.asQuantized);
    for (const [id, asQuantized] of wanted) {
      const cls = state.classes.get(id);
      if (cls === undefined) problems.push(`live '${name}' v${head.latestVersion} names unregistered class '${id}'`);
      else if (asQuantized && !cls.fromObserved) problems.push(`live '${name}' v${head.latestVersion} uses '${id}' as quantized, but it is not fromObserved`);
      if (storedRefs.get(id) !== asQuantized) problems.push(`'${name}': config_class_ref for '${id}' is ${storedRefs.get(id)}, expected ${asQuantized}`);
    }
    for (const id of storedRefs.keys()) {
      if (!wanted.has(id)) problems.push(`'${name}': stale config_class_ref for '${id}'`);
    }
    const labels = JSON.parse(latest.labelsJson) as Record<string, string>;
    const sameLabels =
      Object.keys(labels).length === Object.keys(storedLabels).length && Object.entries(labels).every(([k, v]) => storedLabels[k] === v);
    if (!sameLabels) problems.push(`'${name}': config_label ${JSON.stringify(storedLabels)} differs from v${head.latestVersion} labels ${latest.labelsJson}`);
  }
  return problems;
}
