import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/databases.js';
import { registerClasses, startService, type TestService } from '../support/app.js';

interface GoldenCase {
  name: string;
  input_dict: Record<string, unknown>;
  ops?: Array<{ op: string; observed?: string; quantized?: string; quant_type?: string; attributes?: string[] }>;
  expected_to_dict?: unknown;
  expected_error?: { message: string };
}

const cases = JSON.parse(
  readFileSync(new URL('../fixtures/golden-convert-custom-config.json', import.meta.url), 'utf8'),
) as GoldenCase[];

const KNOWN_KEYS = new Set(['observed_to_quantized_custom_module_class', 'preserved_attributes']);

/** Every identifier a case names, with whether it is ever used as a quantized class. */
function identifiers(): Array<{ id: string; fromObserved: boolean }> {
  const found = new Map<string, boolean>();
  const note = (id: string, quantized: boolean) => found.set(id, (found.get(id) ?? false) || quantized);
  for (const c of cases) {
    const outer = c.input_dict.observed_to_quantized_custom_module_class;
    if (outer && typeof outer === 'object') {
      for (const inner of Object.values(outer as Record<string, unknown>)) {
        if (inner && typeof inner === 'object') {
          for (const [o, q] of Object.entries(inner as Record<string, string>)) {
            note(o, false);
            note(q, true);
          }
        }
      }
    }
    for (const op of c.ops ?? []) {
      if (op.observed) note(op.observed, false);
      if (op.quantized) note(op.quantized, true);
    }
  }
  return [...found].filter(([id]) => id.includes('.')).map(([id, fromObserved]) => ({ id, fromObserved }));
}

/** The golden vectors of ../shared/spec, through PUT and the builder routes, on each database. */
describe.each(BACKENDS)('golden vectors over HTTP on %s', (kind) => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService(kind);
    await registerClasses(svc.app, identifiers());
  });
  afterAll(async () => svc?.close());

  it.each(cases.map((c, i) => ({ ...c, slug: `golden-${i}` })))('$name', async (c) => {
    const put = await svc.app.inject({ method: 'PUT', url: `/v1/configs/${c.slug}`, payload: { config: c.input_dict } });
    const unknownKeys = Object.keys(c.input_dict).filter((k) => !KNOWN_KEYS.has(k));
    if (c.expected_error) {
      expect(put.statusCode).toBe(422);
      expect(put.json().errors.map((e: { detail: string }) => e.detail)).toContain(c.expected_error.message);
      return;
    }
    if (unknownKeys.length > 0) {
      // PyTorch ignores unknown top-level keys; the registry deliberately refuses them, naming each.
      expect(put.statusCode).toBe(422);
      expect(put.json().errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(
        unknownKeys.map((k) => `/config/${k}`).sort(),
      );
      return;
    }
    expect(put.statusCode).toBe(201);
    for (const op of c.ops ?? []) {
      if (op.op === 'set_observed_to_quantized_mapping') {
        const res = await svc.app.inject({
          method: 'PUT',
          url: `/v1/configs/${c.slug}/mappings/${op.quant_type ?? 'static'}/${op.observed}`,
          payload: { quantizedClass: op.quantized },
        });
        expect(res.statusCode).toBe(200);
      } else if (op.op === 'set_preserved_attributes') {
        const res = await svc.app.inject({
          method: 'PUT',
          url: `/v1/configs/${c.slug}/preserved-attributes`,
          payload: { attributes: op.attributes },
        });
        expect(res.statusCode).toBe(200);
      } else if (op.op === 'round_trip') {
        // A round trip through the service: PUT back what /dict exported; nothing may change.
        const dict = await svc.app.inject({ method: 'GET', url: `/v1/configs/${c.slug}/dict` });
        const again = await svc.app.inject({
          method: 'PUT',
          url: `/v1/configs/${c.slug}`,
          payload: `{"config":${dict.body}}`,
          headers: { 'content-type': 'application/json' },
        });
        expect(again.statusCode).toBe(200);
      }
    }
    const dict = await svc.app.inject({ method: 'GET', url: `/v1/configs/${c.slug}/dict` });
    expect(dict.body).toBe(JSON.stringify(c.expected_to_dict));
  });
});
