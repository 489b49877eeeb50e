import { describe, expect, it } from 'vitest';
import { normaliseMethod, recordedMethod } from '../../src/runtime/method.js';

describe('normaliseMethod', () => {
  it('keeps upper-case methods and reads HEAD as GET', () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND']) expect(normaliseMethod(method)).toBe(method);
    expect(normaliseMethod('HEAD')).toBe('GET');
  });

  it('upper-cases any other spelling, HEAD included', () => {
    expect(normaliseMethod('post')).toBe('POST');
    expect(normaliseMethod('Delete')).toBe('DELETE');
    expect(normaliseMethod('head')).toBe('GET');
    expect(normaliseMethod('propfind')).toBe('PROPFIND');
  });
});

describe('recordedMethod', () => {
  it('records function calls as call, whatever the case', () => {
    expect(recordedMethod('call')).toBe('call');
    expect(recordedMethod('CALL')).toBe('call');
    expect(recordedMethod('Call')).toBe('call');
  });

  it('records request methods as normaliseMethod does', () => {
    expect(recordedMethod('head')).toBe('GET');
    expect(recordedMethod('POST')).toBe('POST');
    expect(recordedMethod('patch')).toBe('PATCH');
  });
});
