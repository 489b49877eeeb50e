import { describe, expect, it } from 'vitest';
import { normaliseMethod, normalisePattern, RouteTable, splitPath } from '../../src/http/route-table.js';

const routes = [
  ['POST /refunds/:id', 'refund'],
  ['GET /refunds/export', 'export'],
  ['GET /refunds/:id', 'read'],
  ['DELETE /api/v1/accounts/:accountId/keys/:keyId', 'revoke'],
  ['GET /files/*path', 'file'],
] as const;

describe('RouteTable', () => {
  const insensitive = new RouteTable(routes, { caseSensitive: false });
  const sensitive = new RouteTable(routes, { caseSensitive: true });

  it('matches a parameterised route and decodes its parameters', () => {
    const m = insensitive.match('POST', '/refunds/r%201');
    expect(m?.route.value).toBe('refund');
    expect(m?.params).toEqual({ id: 'r 1' });
  });

  it('treats HEAD as GET', () => {
    expect(normaliseMethod('head')).toBe('GET');
    expect(insensitive.match('HEAD', '/refunds/7')?.route.value).toBe('read');
  });

  it('prefers the more specific route', () => {
    expect(insensitive.match('GET', '/refunds/export')?.route.value).toBe('export');
  });

  it('matches trailing-slash, double-slash and unreserved percent-encoded variants', () => {
    for (const path of ['/refunds/7/', '//refunds//7', '/refund%73/7', '/%72efunds/7']) {
      expect(insensitive.match('POST', path)?.route.value, path).toBe('refund');
      expect(sensitive.match('POST', path)?.route.value, path).toBe('refund');
    }
  });

  it('matches case variants only when case-insensitive', () => {
    expect(insensitive.match('POST', '/REFUNDS/7')?.route.value).toBe('refund');
    expect(sensitive.match('POST', '/REFUNDS/7')).toBeUndefined();
  });

  it('never decodes an encoded slash into a segment boundary', () => {
    const m = insensitive.match('POST', '/refunds/a%2Fb');
    expect(m?.params).toEqual({ id: 'a/b' });
    expect(insensitive.match('POST', '/refunds%2F7')).toBeUndefined();
  });

  it('does not match other methods or other shapes', () => {
    expect(insensitive.match('PUT', '/refunds/7')).toBeUndefined();
    expect(insensitive.match('POST', '/refunds/7/extra')).toBeUndefined();
    expect(insensitive.match('POST', '/refunds')).toBeUndefined();
  });

  it('matches wildcards over several segments', () => {
    expect(insensitive.match('GET', '/files/a/b.txt')?.params).toEqual({ path: 'a/b.txt' });
  });

  it('looks up the framework pattern exactly', () => {
    expect(sensitive.lookup('POST', '/refunds/:id')?.value).toBe('refund');
    expect(sensitive.lookup('HEAD', '/refunds/:id/')?.value).toBe('read');
    expect(sensitive.lookup('POST', '/refunds/:other')).toBeUndefined();
  });

  it('fails with ACTRA_BAD_REQUEST on a malformed escape in a parameter', () => {
    expect(() => insensitive.match('POST', '/refunds/%E0%A4%A')).toThrow(expect.objectContaining({ code: 'ACTRA_BAD_REQUEST', message: 'a path parameter is not valid percent-encoding' }));
  });

  it('rejects malformed keys at construction with ACTRA_OPTIONS', () => {
    expect(() => new RouteTable([['refunds', 'x']], { caseSensitive: true })).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'routes: key "refunds" must look like "POST /refunds/:id"' }));
    expect(() => new RouteTable([['GET /a/*x/b', 'x']], { caseSensitive: true })).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'routes: key "GET /a/*x/b" may only end with a wildcard' }));
    expect(() => new RouteTable([['GET /a', 'x'], ['get /a/', 'y']], { caseSensitive: true })).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'routes: "get /a/" is declared twice' }));
  });

  it('normalises paths and patterns', () => {
    expect(normalisePattern('//a///b/')).toBe('/a/b');
    expect(normalisePattern('/')).toBe('/');
    expect(splitPath('/a%2Db/%2F')).toEqual(['a-b', '%2F']);
  });
});
