/**
 * PyTorch's `QuantType` (torch/ao/quantization/quant_type.py): an IntEnum with four members,
 * looked up from its lower-case name by `_quant_type_from_str`, which matches exactly and
 * case-sensitively and raises `ValueError("Unknown QuantType name '<name>'")` otherwise.
 */

/** The four names accepted by `_quant_type_from_str`, in the order this service documents them. */
export const QUANT_TYPE_NAMES = ['static', 'dynamic', 'weight_only', 'qat'] as const;

export type QuantTypeName = (typeof QUANT_TYPE_NAMES)[number];

/** The IntEnum values: DYNAMIC=0, STATIC=1, QAT=2, WEIGHT_ONLY=3 (they appear in `repr`). */
export const QUANT_TYPE_ENUM_VALUES: Readonly<Record<QuantTypeName, number>> = Object.freeze({
  dynamic: 0,
  static: 1,
  qat: 2,
  weight_only: 3,
});

const MEMBERS: Readonly<Record<QuantTypeName, string>> = Object.freeze({
  static: 'STATIC',
  dynamic: 'DYNAMIC',
  weight_only: 'WEIGHT_ONLY',
  qat: 'QAT',
});

/** The Python member name (`'static'` -> `'STATIC'`), as in `QuantType.STATIC`. */
export function quantTypeMember(q: QuantTypeName): string {
  return MEMBERS[q];
}

/** Exact, case-sensitive match against the four names (`'Static'` and `'1'` are not names). */
export function isQuantTypeName(s: string): s is QuantTypeName {
  return (QUANT_TYPE_NAMES as readonly string[]).includes(s);
}

/** PyTorch raises ValueError with exactly this message; the service repeats it verbatim. */
export class UnknownQuantTypeError extends Error {
  readonly quantTypeName: string;

  constructor(name: string) {
    super(`Unknown QuantType name '${name}'`);
    this.name = 'UnknownQuantTypeError';
    this.quantTypeName = name;
  }
}

/** Mirrors `_quant_type_from_str`: the name itself, or UnknownQuantTypeError. */
export function quantTypeFromName(name: string): QuantTypeName {
  if (!isQuantTypeName(name)) throw new UnknownQuantTypeError(name);
  return name;
}

/**
 * The quant types `convert_fx` looks up when swapping custom modules. `qat` entries are accepted
 * and round-trip, but convert never consults them.
 */
export const QUANT_TYPES_USED_BY_CONVERT: readonly QuantTypeName[] = Object.freeze([
  'static',
  'dynamic',
  'weight_only',
]);
