import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../src/core/canonical.js';

describe('canonicalJson', () => {
  it('sorts keys at every level and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('gives the same text whatever the insertion order', () => {
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });

  it('writes -0 as 0, omits undefined members, writes undefined array items as null, honours toJSON', () => {
    expect(canonicalJson({ a: -0, b: undefined, c: [undefined], d: new Date(0) })).toBe('{"a":0,"c":[null],"d":"1970-01-01T00:00:00.000Z"}');
  });

  it('keeps __proto__ as an ordinary key', () => {
    expect(canonicalJson(JSON.parse('{"__proto__":{"x":1}}'))).toBe('{"__proto__":{"x":1}}');
  });

  it('fails with ACTRA_INPUT for values JSON cannot represent, naming the path only', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const [value, message] of [
      [{ a: [1, Number.NaN] }, 'cannot canonicalize a non-finite number at $.a[1]'],
      [{ a: Number.POSITIVE_INFINITY }, 'cannot canonicalize a non-finite number at $.a'],
      [{ a: 1n }, 'cannot canonicalize a bigint at $.a'],
      [cyclic, 'cannot canonicalize a cyclic structure at $.self'],
    ] as const) {
      expect(() => canonicalJson(value)).toThrow(expect.objectContaining({ code: 'ACTRA_INPUT', message }));
    }
  });
});

describe('sha256Hex', () => {
  it('hashes UTF-8 text to lowercase hex', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
