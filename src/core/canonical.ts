/** Canonical JSON (sorted keys, no whitespace) and SHA-256 helpers used for hashes and digests. */
import { createHash } from 'node:crypto';
import { ActraInputError } from '../errors.js';

/**
 * Serializes a JSON-like value canonically: object keys sorted by UTF-16 code units, no
 * whitespace, numbers in JavaScript's shortest round-trip form (`-0` becomes `0`), `undefined`
 * object members omitted, `undefined` array items written as `null`, `toJSON` honoured.
 * The same value always gives the same string, on every run and machine.
 *
 * @throws ActraInputError (`ACTRA_INPUT`) for values JSON cannot represent faithfully:
 *   non-finite numbers, bigints, functions, symbols, and cycles. The message names the path, never the value.
 * @example
 * canonicalJson({ b: 1, a: [true, 'x'] }) // '{"a":[true,"x"],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  const seen = new Set<object>();
  return write(value, '$', seen, true) ?? 'null';
}

function write(value: unknown, path: string, seen: Set<object>, inArray: boolean): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new ActraInputError(`cannot canonicalize a non-finite number at ${path}`);
      return JSON.stringify(value);
    case 'undefined':
      return inArray ? 'null' : undefined;
    case 'bigint':
    case 'function':
    case 'symbol':
      throw new ActraInputError(`cannot canonicalize a ${typeof value} at ${path}`);
    default:
      break;
  }
  if (value === null) return 'null';
  const obj = value as object;
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return write((toJSON as () => unknown).call(obj), path, seen, inArray);
  if (seen.has(obj)) throw new ActraInputError(`cannot canonicalize a cyclic structure at ${path}`);
  seen.add(obj);
  let out: string;
  if (Array.isArray(obj)) {
    const parts: string[] = [];
    for (let i = 0; i < obj.length; i++) parts.push(write(obj[i], `${path}[${i}]`, seen, true) ?? 'null');
    out = `[${parts.join(',')}]`;
  } else {
    const keys = Object.keys(obj).sort();
    const parts: string[] = [];
    for (const key of keys) {
      const item = write((obj as Record<string, unknown>)[key], `${path}.${key}`, seen, false);
      if (item !== undefined) parts.push(`${JSON.stringify(key)}:${item}`);
    }
    out = `{${parts.join(',')}}`;
  }
  seen.delete(obj);
  return out;
}

/**
 * SHA-256 of the UTF-8 bytes of `text`, as 64 lowercase hex characters.
 * @example
 * sha256Hex('') // 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
 */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
