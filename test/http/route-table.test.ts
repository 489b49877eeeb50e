import fc from 'fast-check';
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

  it('marks a route alone when no other route can match a path it matches', () => {
    const alone = (table: RouteTable<string>) => Object.fromEntries(table.routes.map((r) => [`${r.method} ${r.pattern}`, r.alone]));
    expect(alone(insensitive)).toEqual({
      // `GET /refunds/export` and `GET /refunds/:id` both match GET /refunds/export; POST is another method.
      'POST /refunds/:id': true,
      'GET /refunds/export': false,
      'GET /refunds/:id': false,
      'DELETE /api/v1/accounts/:accountId/keys/:keyId': true,
      // A wildcard route is never alone (its params are not the frameworks' own shape).
      'GET /files/*path': false,
    });
    const all = new RouteTable(
      [
        ['ALL /admin/:section', 'admin'],
        ['POST /admin/users', 'add_user'],
        ['POST /Users/:id', 'user'],
        ['POST /users/:id/keys', 'keys'],
        ['GET /docs/*rest', 'docs'],
        ['GET /docs/intro', 'intro'],
        ['GET /doc/intro', 'doc'],
      ],
      { caseSensitive: false },
    );
    expect(alone(all)).toEqual({
      'ALL /admin/:section': false,
      'POST /admin/users': false,
      'POST /Users/:id': true,
      'POST /users/:id/keys': true,
      'GET /docs/*rest': false,
      'GET /docs/intro': false,
      'GET /doc/intro': true,
    });
    // Case matters only where the table compares case: `/Users/:id` and `/users/:id` meet when it does not.
    const cases = [['POST /Users/:id', 'a'], ['POST /users/:id', 'b']] as const;
    expect(alone(new RouteTable(cases, { caseSensitive: false }))).toEqual({ 'POST /Users/:id': false, 'POST /users/:id': false });
    expect(alone(new RouteTable(cases, { caseSensitive: true }))).toEqual({ 'POST /Users/:id': true, 'POST /users/:id': true });
  });

  it('matches a plain ASCII path, read in place, exactly as the same path with an escape, split and decoded', () => {
    const segment = fc.constantFrom('a', 'A', 'b', 'Bc', 'bc', 'x1');
    const patternSegment = fc.oneof(segment, fc.constantFrom(':p', ':q'));
    const key = fc.tuple(fc.constantFrom('GET', 'POST', 'ALL'), fc.array(patternSegment, { maxLength: 3 }), fc.boolean()).map(([method, parts, rest]) => `${method} /${[...parts, ...(rest ? ['*r'] : [])].join('/')}`);
    const slashes = fc.constantFrom('/', '//', '///');
    const path = fc.tuple(fc.array(fc.tuple(slashes, segment), { maxLength: 5 }), fc.constantFrom('', '/', '//')).map(([parts, end]) => parts.map(([slash, part]) => slash + part).join('') + end);
    fc.assert(
      fc.property(fc.uniqueArray(key, { maxLength: 6, selector: (k) => k.replace(/:\w+|\*\w+/g, ':') }), fc.constantFrom('GET', 'POST', 'HEAD'), path, fc.boolean(), (keys, method, raw, caseSensitive) => {
        const table = new RouteTable(keys.map((k, i) => [k, i] as const), { caseSensitive });
        const letter = /[A-Za-z0-9]/.exec(raw);
        fc.pre(letter !== null);
        const at = (letter as RegExpExecArray).index;
        // An unreserved character written as an escape means the same path, but takes the general matcher.
        const escaped = raw.slice(0, at) + '%' + raw.charCodeAt(at).toString(16).toUpperCase() + raw.slice(at + 1);
        const scanned = table.match(method, raw);
        const split = table.match(method, escaped);
        expect(scanned?.route.value, `${raw} / ${escaped}`).toBe(split?.route.value);
        expect(scanned?.params).toEqual(split?.params);
      }),
      { numRuns: 3000 },
    );
  });

  it('normalises paths and patterns', () => {
    expect(normalisePattern('//a///b/')).toBe('/a/b');
    expect(normalisePattern('/')).toBe('/');
    expect(splitPath('/a%2Db/%2F')).toEqual(['a-b', '%2F']);
  });
});
