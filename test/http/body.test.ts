import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { declaredLength } from '../../src/http/body.js';

describe('declaredLength', () => {
  it('reads the digits of a Content-Length header', () => {
    expect(declaredLength('0')).toBe(0);
    expect(declaredLength('32')).toBe(32);
    expect(declaredLength('1048576')).toBe(1_048_576);
    expect(declaredLength('007')).toBe(7);
    expect(declaredLength('999999999999999')).toBe(999_999_999_999_999);
  });

  it('answers what Number() answers for any text, digits or not', () => {
    for (const odd of ['', ' 12', '12 ', '1e3', '0x10', '-1', '+5', '1.5', 'abc', '١٢', '9999999999999999999', 'Infinity']) {
      expect(Object.is(declaredLength(odd), Number(odd)), odd).toBe(true);
    }
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9]{1,20}$/)), (text) => Object.is(declaredLength(text), Number(text))),
      { numRuns: 2000 },
    );
  });
});
