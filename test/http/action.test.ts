import { describe, expect, it } from 'vitest';
import type { FieldSpec, SchemaInfo } from '../../src/core/types.js';
import { codegen } from '../../src/core/codegen.js';
import { compileAction } from '../../src/http/action.js';
import type { NeutralRequest } from '../../src/http/types.js';

const f = (kind: FieldSpec['kind'], extra: Partial<FieldSpec> = {}): FieldSpec => ({ kind, optional: false, ...extra });
const schema: SchemaInfo = {
  actions: new Map([
    ['refund', new Map([['amount', f('number')], ['currency', f('string')], ['id', f('string')], ['express', f('boolean')], ['tags', f('string[]')], ['tier', f('enum', { values: ['gold', 'silver'] })], ['constructor', f('string')]])],
  ]),
  actor: new Map(),
  snapshot: new Map(),
};

function request(parts: Partial<Pick<NeutralRequest, 'params' | 'query' | 'body'>>): NeutralRequest {
  return { method: 'POST', path: '/x', params: parts.params ?? {}, query: parts.query ?? {}, body: parts.body, header: () => undefined };
}

describe('compileAction', () => {
  const builder = compileAction({ action: 'refund' }, schema, 'test');

  it('keeps only the fields the schema declares', () => {
    const action = builder.build(request({ body: { amount: 10, currency: 'EUR', admin: true } }));
    expect(action).toEqual({ type: 'refund', amount: 10, currency: 'EUR' });
  });

  it('takes params before body before query', () => {
    const action = builder.build(request({ params: { id: 'p' }, body: { id: 'b', currency: 'b' }, query: { id: 'q', currency: 'q', tier: 'gold' } }));
    expect(action).toEqual({ type: 'refund', id: 'p', currency: 'b', tier: 'gold' });
  });

  it('looks in the params only for the fields the route declares as params, when the route is known', () => {
    const routed = compileAction({ action: 'refund' }, schema, 'test', new Set(['id']));
    const action = routed.build(request({ params: { id: 'p', amount: '3' }, body: { currency: 'b' }, query: { amount: '7' } }));
    expect(action).toEqual({ type: 'refund', id: 'p', amount: 7, currency: 'b' });
  });

  it('coerces numbers and booleans from params and query', () => {
    const action = builder.build(request({ params: { amount: '12.5' }, query: { express: 'true', tags: 'a' } }));
    expect(action).toEqual({ type: 'refund', amount: 12.5, express: true, tags: ['a'] });
  });

  it('fails with ACTRA_INPUT when a body field has the wrong type, without the value', () => {
    expect(() => builder.build(request({ body: { amount: '4900' } }))).toThrow(expect.objectContaining({ code: 'ACTRA_INPUT', statusCode: 400, message: 'action field "amount" (from body) must be a number' }));
  });

  it('fails with ACTRA_INPUT when a query value is not numeric', () => {
    expect(() => builder.build(request({ query: { amount: '12abc' } }))).toThrow(expect.objectContaining({ code: 'ACTRA_INPUT', message: 'action field "amount" (from query) must be a number' }));
  });

  it('fails with ACTRA_INPUT for a value outside an enum', () => {
    expect(() => builder.build(request({ body: { tier: 'platinum' } }))).toThrow(expect.objectContaining({ code: 'ACTRA_INPUT', message: 'action field "tier" (from body) must be one of the declared values' }));
  });

  it('ignores __proto__ and constructor keys, even when the schema declares them', () => {
    const body = JSON.parse('{"__proto__": {"amount": 1}, "constructor": "x", "currency": "EUR"}') as unknown;
    const action = builder.build(request({ body }));
    expect(action).toEqual({ type: 'refund', currency: 'EUR' });
    expect(Object.hasOwn(action, 'constructor')).toBe(false);
    expect(({} as Record<string, unknown>)['amount']).toBeUndefined();
  });

  it('does not read inherited properties', () => {
    const body = Object.create({ amount: 5 }) as object;
    expect(builder.build(request({ body }))).toEqual({ type: 'refund' });
  });

  it('reads mapped fields from the named source path', () => {
    const mapped = compileAction({ action: 'refund', fields: { amount: 'body.refund.amount_cents', id: 'params.refundId' } }, schema, 'test');
    expect(mapped.build(request({ params: { refundId: 'r1', id: 'ignored' }, body: { refund: { amount_cents: 4900 }, amount: 1 } }))).toEqual({ type: 'refund', amount: 4900, id: 'r1' });
  });

  it('limits a mapper result to declared fields and checks its types', () => {
    const mapped = compileAction({ action: 'refund', mapper: () => ({ amount: 3, other: 1 }) }, schema, 'test');
    expect(mapped.build(request({}))).toEqual({ type: 'refund', amount: 3 });
    const bad = compileAction({ action: 'refund', mapper: () => ({ amount: '3' }) }, schema, 'test');
    expect(() => bad.build(request({}))).toThrow(expect.objectContaining({ code: 'ACTRA_INPUT', message: 'action field "amount" (from mapper) must be a number' }));
  });

  it('rejects unknown actions, undeclared mapped fields and bad source paths at compile time', () => {
    expect(() => compileAction({ action: 'payout' }, schema, 'guard')).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'guard: action "payout" is not declared in the schema' }));
    expect(() => compileAction({ action: 'refund', fields: { total: 'body.total' } }, schema, 'guard')).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'guard: field "total" is not declared for action "refund"' }));
    expect(() => compileAction({ action: 'refund', fields: { amount: 'headers.x' } }, schema, 'guard')).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'guard: field source "headers.x" must start with params., body. or query.' }));
    expect(() => compileAction({ action: 'refund', fields: { amount: 'body.__proto__.x' } }, schema, 'guard')).toThrow(expect.objectContaining({ code: 'ACTRA_OPTIONS', message: 'guard: field source "body.__proto__.x" has an invalid key' }));
  });

  it('says whether the body is needed', () => {
    expect(builder.needsBody).toBe(true);
    expect(compileAction({ action: 'refund', fields: Object.fromEntries(['amount', 'currency', 'id', 'express', 'tags', 'tier'].map((k) => [k, `params.${k}`])) }, schema, 't').needsBody).toBe(false);
  });
});

describe('compileAction, generated and closure builders', () => {
  function both<T>(make: () => T): [T, T] {
    const before = codegen.enabled;
    try {
      codegen.enabled = true;
      const generated = make();
      codegen.enabled = false;
      return [generated, make()];
    } finally {
      codegen.enabled = before;
    }
  }
  function outcome(builder: ReturnType<typeof compileAction>, req: NeutralRequest): unknown {
    try {
      return { action: builder.build(req) };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  it('builds the same action, or throws the same error, for every mix of sources and values', () => {
    const specs = [
      { action: 'refund' },
      { action: 'refund', fields: { amount: 'body.refund.amount_cents', id: 'params.refundId', currency: 'query.cur' } },
    ];
    const values: unknown[] = [undefined, 5, -0, 12.5, Number.NaN, Number.POSITIVE_INFINITY, '7', '7x', 'gold', 'platinum', true, 'true', ['a'], 'a', [1], null, { nested: 1 }];
    const fields = ['amount', 'currency', 'id', 'express', 'tags', 'tier', 'constructor'];
    let compared = 0;
    for (const spec of specs) {
      for (const routeParams of [undefined, new Set(['id'])]) {
        const [generated, closure] = both(() => compileAction(spec, schema, 'test', routeParams));
        expect(generated.build.name).toBe('actraBuildAction');
        expect(closure.build.name).toBe('buildAction');
        for (const [index, value] of values.entries()) {
          const field = fields[index % fields.length] as string;
          const other = fields[(index + 3) % fields.length] as string;
          const requests = [
            request({ body: { [field]: value, [other]: values[(index + 5) % values.length] } }),
            request({ params: { [field]: String(value), refundId: 'r1' }, query: { [other]: String(value), cur: 'EUR' } }),
            request({ body: { refund: { amount_cents: value } }, params: { id: 'p', [field]: 'x' }, query: { [field]: String(value) } }),
            request({ body: JSON.parse(`{"__proto__": {"${field}": 1}, "${other}": ${JSON.stringify(value ?? null)}}`) as unknown }),
            request({ body: Object.create({ [field]: value }) as object }),
            request({ body: [value] }),
          ];
          for (const req of requests) {
            expect(outcome(generated, req)).toEqual(outcome(closure, req));
            compared += 1;
          }
        }
      }
    }
    expect(compared).toBe(2 * 2 * values.length * 6);
  });

  it('skips the params of a route that says a field cannot be there, like the closure builder', () => {
    const [generated, closure] = both(() => compileAction({ action: 'refund' }, schema, 'test'));
    const req = { ...request({ params: { id: 'p' }, query: { id: 'q' } }), mayHaveParam: (name: string) => name !== 'id' };
    expect(generated.build(req)).toEqual({ type: 'refund', id: 'q' });
    expect(closure.build(req)).toEqual({ type: 'refund', id: 'q' });
  });
});
