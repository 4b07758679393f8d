import { describe, expect, it } from 'vitest';
import {
  QUANT_TYPE_ENUM_VALUES,
  QUANT_TYPE_NAMES,
  QUANT_TYPES_USED_BY_CONVERT,
  UnknownQuantTypeError,
  isQuantTypeName,
  quantTypeFromName,
  quantTypeMember,
} from '../../src/domain/quant-type.js';

describe('QuantType', () => {
  it('has the four names with PyTorch enum values and member names', () => {
    expect(QUANT_TYPE_NAMES).toEqual(['static', 'dynamic', 'weight_only', 'qat']);
    expect(QUANT_TYPE_ENUM_VALUES).toEqual({ dynamic: 0, static: 1, qat: 2, weight_only: 3 });
    expect(QUANT_TYPE_NAMES.map(quantTypeMember)).toEqual(['STATIC', 'DYNAMIC', 'WEIGHT_ONLY', 'QAT']);
  });

  it('matches names exactly and case-sensitively', () => {
    expect(QUANT_TYPE_NAMES.every(isQuantTypeName)).toBe(true);
    for (const bad of ['Static', 'STATIC', '1', ' static', 'weight-only', '', 'toString', '__proto__']) {
      expect(isQuantTypeName(bad), bad).toBe(false);
      expect(() => quantTypeFromName(bad)).toThrow(UnknownQuantTypeError);
    }
    expect(quantTypeFromName('qat')).toBe('qat');
  });

  it('fails with PyTorch\'s exact message', () => {
    const error = new UnknownQuantTypeError('int4');
    expect(error.message).toBe("Unknown QuantType name 'int4'");
    expect(error).toBeInstanceOf(Error);
    expect(error.quantTypeName).toBe('int4');
    expect(() => quantTypeFromName('Static')).toThrow("Unknown QuantType name 'Static'");
  });

  it('lists the quant types convert_fx consults (not qat)', () => {
    expect(QUANT_TYPES_USED_BY_CONVERT).toEqual(['static', 'dynamic', 'weight_only']);
  });
});
