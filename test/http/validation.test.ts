import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RequestValidationError, validatorCompiler } from '../../src/http/validation.js';

function headerValidator(schema: z.ZodType) {
  const validate = validatorCompiler({ schema, httpPart: 'headers', method: 'GET', url: '/' } as Parameters<typeof validatorCompiler>[0]);
  return (headers: Record<string, unknown>) => validate(headers) as { value?: unknown; error?: RequestValidationError };
}

describe('header schemas', () => {
  const Preconditions = z.looseObject({ 'if-match': z.string().optional(), 'if-none-match': z.string().optional() });

  it('accept strings and absent headers, and leave the headers object alone', () => {
    const validate = headerValidator(Preconditions);
    const headers = { 'if-none-match': '"3", "4"', host: 'x', 'x-other': ['a', 'b'] };
    expect(validate(headers)).toEqual({});
    expect(validate({})).toEqual({});
    expect(headers).toEqual({ 'if-none-match': '"3", "4"', host: 'x', 'x-other': ['a', 'b'] });
  });

  it('refuse a named header that is not a string, in zod words, naming the header', () => {
    const validate = headerValidator(Preconditions);
    const { error } = validate({ 'if-match': ['"1"', '"2"'] });
    expect(error).toBeInstanceOf(RequestValidationError);
    expect(error!.issues.map((i) => i.path)).toEqual([['if-match']]);
    // Headers the schema does not name are not its business.
    expect(validate({ 'x-other': 7 })).toEqual({});
  });

  it('check every header of a schema with checks in it, through zod', () => {
    const validate = headerValidator(z.looseObject({ 'if-match': z.string().min(3).optional() }));
    expect(validate({ 'if-match': '"1"' })).toEqual({ value: { 'if-match': '"1"' } });
    expect(validate({ 'if-match': '1' }).error).toBeInstanceOf(RequestValidationError);
  });
});

