/**
 * JSON Merge Patch (RFC 7396), used by `PATCH /v1/configs/{name}`. Hand-written on purpose: the
 * RFC's algorithm is ten lines, and the npm packages implementing it are unmaintained and either
 * mutate their input or lose key order, which this registry must keep (the client's order of quant
 * types and entries is part of the stored config).
 */

type JsonObject = Record<string, unknown>;

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets an own key even when it is `__proto__` (assignment would replace the prototype). */
function defineEntry(target: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * RFC 7396 section 2, `MergePatch(Target, Patch)`: a non-object patch replaces the target; in an
 * object patch `null` deletes a member and any other value is merged recursively into it (so
 * arrays replace). The result keeps the target's key order and appends new keys in patch order.
 * Inputs are never mutated; unchanged sub-values of the result are shared with the inputs.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return patch;
  const result: JsonObject = {};
  if (isJsonObject(target)) {
    for (const [key, value] of Object.entries(target)) defineEntry(result, key, value);
  }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else {
      defineEntry(result, key, applyMergePatch(Object.hasOwn(result, key) ? result[key] : undefined, value));
    }
  }
  return result;
}
