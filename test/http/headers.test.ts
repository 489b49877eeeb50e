import { describe, expect, it } from 'vitest';
import { nodeHeader } from '../../src/http/headers.js';

describe('nodeHeader', () => {
  const headers = { authorization: 'Bearer abc', 'x-forwarded-for': ['10.0.0.1', '10.0.0.2'], 'content-length': '2' };

  it('reads a header by any case of its name, the first value of a repeated one', () => {
    expect(nodeHeader(headers, 'authorization')).toBe('Bearer abc');
    expect(nodeHeader(headers, 'Authorization')).toBe('Bearer abc');
    expect(nodeHeader(headers, 'AUTHORIZATION')).toBe('Bearer abc');
    expect(nodeHeader(headers, 'X-Forwarded-For')).toBe('10.0.0.1');
    expect(nodeHeader(headers, 'x-request-id')).toBeUndefined();
  });

  it('returns header values only, never what the header object inherits', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '__PROTO__', 'Constructor']) expect(nodeHeader(headers, name)).toBeUndefined();
    expect(nodeHeader({ ...headers, 'x-empty': [] }, 'X-Empty')).toBeUndefined();
    // A name that finds an inherited property as given still finds the header of its lower-case form.
    expect(nodeHeader({ ...headers, valueof: 'sent' }, 'valueOf')).toBe('sent');
  });

  it('keeps reading every name correctly past the bound of remembered lower-case names', () => {
    for (let index = 0; index < 600; index++) expect(nodeHeader(headers, `X-Custom-${index}`)).toBeUndefined();
    expect(nodeHeader({ ...headers, 'x-custom-599': 'late' }, 'X-Custom-599')).toBe('late');
    expect(nodeHeader(headers, 'Content-Length')).toBe('2');
  });
});
