import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Actra } from '../../src/core/actra.js';
import { codegen } from '../../src/core/codegen.js';
import type { EvaluationInput, Policy } from '../../src/core/types.js';
import { ActraAssertionError, ActraInputError } from '../../src/errors.js';

const SCHEMA = `
version: 1
actions:
  refund:
    fields:
      amount: number
      currency: { enum: [EUR, USD] }
      note: string?
      tags: string[]
      constructor: string?
  export:
    fields:
      rows: number
actor:
  fields:
    id: string
    role: string?
    level: number?
    teams: string[]?
snapshot:
  fields:
    fraud_flag: boolean
    limit: number
    scores: number[]
`;

function policyWith(rules: string, extra = ''): Policy {
  return Actra.fromStrings(SCHEMA, `version: 1\n${extra}rules:\n${rules}`);
}

const good = (): EvaluationInput => ({
  action: { type: 'refund', amount: 10, currency: 'EUR', tags: [] },
  actor: { id: 'u1' },
  snapshot: { fraud_flag: false, limit: 100, scores: [] },
});

function inputError(fn: () => unknown): ActraInputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ActraInputError) return error;
    throw error;
  }
  throw new Error('expected an ACTRA_INPUT error');
}

const BIG_REFUND = `  - id: big_refund
    scope: { action: refund }
    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 1000 } }
    effect: block
`;

describe('fail closed on missing or wrongly typed data', () => {
  const policy = policyWith(BIG_REFUND);

  it('fails with ACTRA_INPUT naming field and rule when amount is missing', () => {
    const input = good();
    delete (input.action as Record<string, unknown>).amount;
    const error = inputError(() => policy.evaluate(input));
    expect(error.code).toBe('ACTRA_INPUT');
    expect(error.statusCode).toBe(400);
    expect(error.field).toBe('action.amount');
    expect(error.ruleId).toBe('big_refund');
    expect(error.message).toBe('input field action.amount is missing or null, and rule "big_refund" requires it');
  });

  it('fails with ACTRA_INPUT when amount is null', () => {
    const error = inputError(() => policy.evaluate({ ...good(), action: { ...good().action, amount: null } }));
    expect(error.message).toContain('action.amount is missing or null');
  });

  it.each([
    ['a string', '5000'],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['an object', { valueOf: (): number => 5000 }],
    ['a bigint', 5000n],
    ['an array', [5000]],
  ])('fails with ACTRA_INPUT when amount is %s, without echoing the value', (_label, value) => {
    const error = inputError(() => policy.evaluate({ ...good(), action: { ...good().action, amount: value } }));
    expect(error.message).toBe('input field action.amount has the wrong type: rule "big_refund" expects a finite number');
    expect(error.message).not.toContain('5000');
  });

  it('treats -0 as 0 and accepts huge finite numbers', () => {
    expect(policy.evaluate({ ...good(), action: { ...good().action, amount: -0 } }).effect).toBe('allow');
    expect(policy.evaluate({ ...good(), action: { ...good().action, amount: 1e308 } }).matchedRule).toBe('big_refund');
  });

  it('only checks fields that reached rules read (short-circuit, in order)', () => {
    const p = policyWith(`  - id: first
    scope: { action: refund }
    when:
      any:
        - { subject: { domain: snapshot, field: fraud_flag }, operator: equals, value: { literal: true } }
        - { subject: { domain: snapshot, field: limit }, operator: less_than, value: { literal: 0 } }
    effect: block
`);
    // fraud_flag true: the any() stops before reading limit, so a missing limit is never noticed.
    expect(p.evaluate({ ...good(), snapshot: { fraud_flag: true } }).matchedRule).toBe('first');
    expect(inputError(() => p.evaluate({ ...good(), snapshot: { fraud_flag: false } })).field).toBe('snapshot.limit');
    // An export request never reaches the refund rule, so its fields are not needed.
    expect(p.evaluate({ action: { type: 'export', rows: 1 }, actor: {}, snapshot: {} }).effect).toBe('allow');
  });

  it('fails with ACTRA_INPUT for an enum value that is not declared', () => {
    const p = policyWith(`  - id: usd
    scope: { action: refund }
    when: { subject: { domain: action, field: currency }, operator: equals, value: { literal: USD } }
    effect: block
`);
    const error = inputError(() => p.evaluate({ ...good(), action: { ...good().action, currency: 'JPY' } }));
    expect(error.message).toBe('input field action.currency has the wrong type: rule "usd" expects one of the enum values [EUR, USD]');
  });

  it('fails with ACTRA_INPUT for an array with an element of the wrong type', () => {
    const p = policyWith(`  - id: tagged
    scope: { action: refund }
    when: { subject: { domain: action, field: tags }, operator: contains, value: { literal: vip } }
    effect: block
`);
    expect(p.evaluate({ ...good(), action: { ...good().action, tags: ['vip'] } }).matchedRule).toBe('tagged');
    expect(inputError(() => p.evaluate({ ...good(), action: { ...good().action, tags: ['vip', 3] } })).field).toBe('action.tags');
    expect(inputError(() => p.evaluate({ ...good(), action: { ...good().action, tags: 'vip' } })).field).toBe('action.tags');
    const sparse: unknown[] = ['vip'];
    sparse[2] = 'x';
    expect(inputError(() => p.evaluate({ ...good(), action: { ...good().action, tags: sparse } })).field).toBe('action.tags');
  });

  it.each([
    ['null', null],
    ['a string', 'refund'],
    ['a number', 42],
    ['an array', []],
    ['undefined', undefined],
  ])('fails with ACTRA_INPUT when the input is %s', (_label, value) => {
    const error = inputError(() => policy.evaluate(value as unknown as EvaluationInput));
    expect(error.message).toBe('evaluation input must be an object with action, actor and snapshot');
  });

  it.each(['action', 'actor', 'snapshot'] as const)('fails with ACTRA_INPUT when %s is not an object', (domain) => {
    for (const bad of [undefined, null, 'x', 1, [], [1]]) {
      const error = inputError(() => policy.evaluate({ ...good(), [domain]: bad } as EvaluationInput));
      expect(error.field).toBe(domain);
      expect(error.message).toBe(`evaluation input ${domain} must be an object`);
    }
  });

  it('fails with ACTRA_INPUT when action.type is not a string', () => {
    for (const type of [undefined, null, 1, ['refund'], { toString: () => 'refund' }]) {
      const error = inputError(() => policy.evaluate({ ...good(), action: { ...good().action, type } } as unknown as EvaluationInput));
      expect(error.field).toBe('action.type');
    }
  });

  it('keeps v1 behaviour for an undeclared action type: only global rules, then the default', () => {
    const p = policyWith(`${BIG_REFUND}  - id: fraud
    scope: { global: true }
    when: { subject: { domain: snapshot, field: fraud_flag }, operator: equals, value: { literal: true } }
    effect: block
`);
    expect(p.evaluate({ action: { type: 'unknown_thing' }, actor: {}, snapshot: { fraud_flag: true } }).matchedRule).toBe('fraud');
    expect(p.evaluate({ action: { type: 'unknown_thing' }, actor: {}, snapshot: { fraud_flag: false } }).effect).toBe('allow');
  });

  it('turns a throwing getter in the input into ACTRA_INPUT (never an allow)', () => {
    const action = { type: 'refund', currency: 'EUR', tags: [] } as Record<string, unknown>;
    Object.defineProperty(action, 'amount', { enumerable: true, get: () => { throw new Error('secret-token-123'); } });
    const error = inputError(() => policy.evaluate({ ...good(), action: action as EvaluationInput['action'] }));
    expect(error.message).toBe('evaluation input could not be read (a property access threw)');
    expect(error.message).not.toContain('secret');
  });
});

describe('prototype safety', () => {
  const p = policyWith(`  - id: ctor
    scope: { action: refund }
    when: { subject: { domain: action, field: constructor }, operator: equals, value: { literal: admin } }
    effect: block
  - id: ctor_present
    scope: { action: refund }
    when: { subject: { domain: action, field: constructor }, operator: exists }
    effect: require_approval
`);

  it('reads a field literally named constructor as an own property', () => {
    expect(p.evaluate({ ...good(), action: { ...good().action, constructor: 'admin' } }).matchedRule).toBe('ctor');
    expect(p.evaluate({ ...good(), action: { ...good().action, constructor: 'x' } }).matchedRule).toBe('ctor_present');
  });

  it('treats an inherited constructor as missing, not as Object', () => {
    expect(p.evaluate(good()).effect).toBe('allow');
  });

  it('ignores values inherited from a polluted Object.prototype', () => {
    const proto = Object.prototype as Record<string, unknown>;
    const q = policyWith(BIG_REFUND);
    try {
      proto.amount = 5000;
      proto.snapshot = { fraud_flag: true };
      const input = good();
      delete (input.action as Record<string, unknown>).amount;
      expect(inputError(() => q.evaluate(input)).field).toBe('action.amount');
      expect(inputError(() => q.evaluate({ action: { type: 'refund', amount: 1 }, actor: {} } as unknown as EvaluationInput)).field).toBe('snapshot');
      // An own value equal to the polluted one still counts.
      expect(q.evaluate({ ...good(), action: { ...good().action, amount: 5000 } }).matchedRule).toBe('big_refund');
    } finally {
      delete proto.amount;
      delete proto.snapshot;
    }
  });

  it('accepts null-prototype objects and JSON-parsed __proto__ keys without pollution', () => {
    const action = Object.assign(Object.create(null) as Record<string, unknown>, { type: 'refund', amount: 5000, currency: 'EUR', tags: [] });
    expect(policyWith(BIG_REFUND).evaluate({ ...good(), action: action as EvaluationInput['action'] }).matchedRule).toBe('big_refund');
    const parsed = JSON.parse('{"action":{"type":"refund","amount":1,"__proto__":{"amount":9999}},"actor":{"__proto__":{"role":"admin"}},"snapshot":{}}') as EvaluationInput;
    expect(policyWith(BIG_REFUND).evaluate(parsed).effect).toBe('allow');
    expect(({} as Record<string, unknown>).amount).toBeUndefined();
  });
});

const THROWN = 'secret-token-123';
const READ_FAILED = 'evaluation input could not be read (a property access threw)';

function throwing(): never {
  throw new Error(THROWN);
}

describe('throwing getters and Proxy traps anywhere in the input become ACTRA_INPUT', () => {
  const policy = policyWith(BIG_REFUND);
  const cases: [string, () => unknown][] = [
    ['a getter on the input itself', () => ({ get action() { return throwing(); }, actor: {}, snapshot: {} })],
    ['a getter on actor and snapshot', () => ({ ...good(), get snapshot() { return throwing(); } })],
    ['a getter on action.type', () => ({ ...good(), action: { get type() { return throwing(); }, amount: 1 } })],
    ['a Proxy input', () => new Proxy(good(), { get: throwing })],
    ['a Proxy input whose has/ownKeys traps throw', () => new Proxy(good(), { getOwnPropertyDescriptor: throwing, getPrototypeOf: throwing, get: throwing })],
    ['a Proxy action', () => ({ ...good(), action: new Proxy(good().action, { get: throwing }) })],
    ['a Proxy action whose prototype trap throws', () => ({ ...good(), action: new Proxy(good().action, { getPrototypeOf: throwing, get: (t, k) => (k === '__proto__' ? throwing() : Reflect.get(t, k)) }) })],
    ['a revoked Proxy input', () => { const r = Proxy.revocable(good(), {}); r.revoke(); return r.proxy; }],
    ['a revoked Proxy snapshot', () => { const r = Proxy.revocable({}, {}); r.revoke(); return { ...good(), snapshot: r.proxy }; }],
  ];
  for (const [name, make] of cases) {
    it(`evaluate and explain: ${name}`, () => {
      for (const run of [() => policy.evaluate(make() as EvaluationInput), () => policy.explain(make() as EvaluationInput)]) {
        const error = inputError(run);
        expect(error.code).toBe('ACTRA_INPUT');
        expect(error.message).not.toContain(THROWN);
        expect(error.message).toBe(READ_FAILED);
      }
    });
  }

  it('evaluateAction: a Proxy actor whose get trap throws', () => {
    const error = inputError(() => policy.evaluateAction(good().action, new Proxy({}, { get: throwing }), {}));
    expect([error.code, error.message]).toEqual(['ACTRA_INPUT', READ_FAILED]);
  });
});

class SnapshotWithGetter {
  get fraud_flag(): boolean {
    return false;
  }
}

class Refund {
  readonly type = 'refund';
  get amount(): number {
    return 5000;
  }
}

describe.each([
  { mode: 'generated code', enabled: true },
  { mode: 'closures', enabled: false },
])('only own properties are read, whatever the prototype ($mode)', ({ enabled }) => {
  const before = codegen.enabled;
  let policy: Policy;
  beforeAll(() => {
    codegen.enabled = enabled;
    policy = policyWith(`  - id: fraud
    scope: { action: refund }
    when: { subject: { domain: snapshot, field: fraud_flag }, operator: equals, value: { literal: true } }
    effect: block
${BIG_REFUND}  - id: role_check
    scope: { global: true }
    when: { subject: { domain: actor, field: role }, operator: equals, value: { literal: admin } }
    effect: require_approval
`);
  });
  afterAll(() => {
    codegen.enabled = before;
  });
  const plain = { action: { type: 'refund', amount: 10 }, actor: { id: 'u1', role: 'agent' }, snapshot: { fraud_flag: false } };

  it('fails closed on a snapshot field carried by the prototype (Object.create)', () => {
    const error = inputError(() => policy.evaluate({ ...plain, snapshot: Object.create({ fraud_flag: false }) as Record<string, unknown> }));
    expect([error.field, error.ruleId]).toEqual(['snapshot.fraud_flag', 'fraud']);
  });

  it('fails closed on a field that is a getter on a class prototype', () => {
    expect(inputError(() => policy.evaluate({ ...plain, snapshot: new SnapshotWithGetter() as unknown as Record<string, unknown> })).field).toBe('snapshot.fraud_flag');
    expect(inputError(() => policy.evaluate({ ...plain, action: new Refund() as unknown as EvaluationInput['action'] })).field).toBe('action.amount');
  });

  it('fails closed the same way for every field type (string fields too)', () => {
    // actor.role is optional: inherited, it is absent (no match), never 'admin'.
    expect(policy.evaluate({ ...plain, actor: Object.create({ id: 'u1', role: 'admin' }) as Record<string, unknown> })).toMatchObject({ effect: 'allow' });
    expect(policy.evaluate({ ...plain, actor: Object.create({ id: 'u1', role: 'admin' }) as Record<string, unknown> }).matchedRule).toBeUndefined();
    expect(inputError(() => policy.evaluate({ ...plain, action: Object.create({ type: 'refund', amount: 5000 }) as EvaluationInput['action'] })).field).toBe('action.type');
  });

  it('fails closed on domains the input only inherits', () => {
    expect(inputError(() => policy.evaluate(Object.create(plain) as EvaluationInput)).field).toBe('action');
    class Input {
      get action() {
        return plain.action;
      }
      readonly actor = plain.actor;
      readonly snapshot = plain.snapshot;
    }
    expect(inputError(() => policy.evaluate(new Input() as unknown as EvaluationInput)).field).toBe('action');
  });

  it('reads own properties of class instances, own getters, and null-prototype objects', () => {
    const snapshot = Object.assign(new SnapshotWithGetter(), {});
    Object.defineProperty(snapshot, 'fraud_flag', { value: true, enumerable: true });
    expect(policy.evaluate({ ...plain, snapshot: snapshot as unknown as Record<string, unknown> }).matchedRule).toBe('fraud');
    const getters = { type: 'refund', get amount() { return 5000; } };
    expect(policy.evaluate({ ...plain, action: getters }).matchedRule).toBe('big_refund');
    const actor = Object.assign(Object.create(null) as Record<string, unknown>, { role: 'admin' });
    expect(policy.evaluate({ ...plain, actor }).matchedRule).toBe('role_check');
    const inherited = Object.create(Object.assign(Object.create(null) as object, { fraud_flag: true })) as Record<string, unknown>;
    expect(inputError(() => policy.evaluate({ ...plain, snapshot: inherited })).field).toBe('snapshot.fraud_flag');
  });

  it('explains exactly what it evaluates, own properties only', () => {
    expect(inputError(() => policy.explain({ ...plain, snapshot: Object.create({ fraud_flag: true }) as Record<string, unknown> })).field).toBe('snapshot.fraud_flag');
    expect(policy.explain({ ...plain, actor: Object.assign(Object.create(null) as Record<string, unknown>, { role: 'admin' }) }).decision.matchedRule).toBe('role_check');
  });

  it('treats an own __proto__ key (JSON) as data and still reads the other own fields', () => {
    const input = JSON.parse('{"action":{"type":"refund","amount":5000,"__proto__":{"amount":1}},"actor":{"role":"agent","__proto__":{"role":"admin"}},"snapshot":{"fraud_flag":false,"__proto__":null}}') as EvaluationInput;
    expect(policy.evaluate(input).matchedRule).toBe('big_refund');
    const inheritedRole = JSON.parse('{"action":{"type":"refund","amount":1},"actor":{"__proto__":{"role":"admin"}},"snapshot":{"fraud_flag":false}}') as EvaluationInput;
    expect(policy.evaluate(inheritedRole).matchedRule).toBeUndefined();
  });
});

describe('canApprove reads only own approver fields', () => {
  const p = policyWith(`  - id: big
    scope: { action: refund }
    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 1000 } }
    effect: require_approval
    approval:
      approvers: { subject: { domain: actor, field: role }, operator: equals, value: { literal: lead } }
`);
  it('is false for an inherited role and true for an own one, on any prototype', () => {
    expect(p.canApprove('big', { role: 'lead' })).toBe(true);
    expect(p.canApprove('big', Object.create({ role: 'lead' }) as Record<string, unknown>)).toBe(false);
    expect(p.canApprove('big', Object.assign(Object.create({ role: 'x' }) as object, { role: 'lead' }) as Record<string, unknown>)).toBe(true);
    expect(p.canApprove('big', new Proxy({ role: 'lead' }, { get: throwing }))).toBe(false);
  });
});

describe('optional fields and exists', () => {
  const p = policyWith(`  - id: has_note
    scope: { action: refund }
    when: { subject: { domain: action, field: note }, operator: exists }
    effect: require_approval
  - id: not_admin
    scope: { action: refund }
    when:
      not: { subject: { domain: actor, field: role }, operator: equals, value: { literal: admin } }
    effect: block
`);

  it('exists is true only when the optional field is present', () => {
    expect(p.evaluate({ ...good(), action: { ...good().action, note: 'hi' } }).matchedRule).toBe('has_note');
    expect(p.evaluate({ ...good(), action: { ...good().action, note: null } }).matchedRule).toBe('not_admin');
  });

  it('a missing optional field makes the comparison false and its not() true (two-valued logic)', () => {
    expect(p.evaluate(good()).matchedRule).toBe('not_admin');
    expect(p.evaluate({ ...good(), actor: { id: 'u', role: 'admin' } }).effect).toBe('allow');
  });

  it('a present optional field of the wrong type still fails closed', () => {
    expect(inputError(() => p.evaluate({ ...good(), actor: { id: 'u', role: 7 } })).field).toBe('actor.role');
  });
});

describe('operators', () => {
  function decide(when: string, input: EvaluationInput): boolean {
    const q = policyWith(`  - id: r
    scope: { action: refund }
    when: ${when}
    effect: block
`);
    return q.evaluate(input).matchedRule === 'r';
  }
  const withAmount = (amount: number): EvaluationInput => ({ ...good(), action: { ...good().action, amount } });

  it('greater_than_or_equal and less_than_or_equal include the boundary', () => {
    const gte = '{ subject: { domain: action, field: amount }, operator: greater_than_or_equal, value: { literal: 10 } }';
    const lte = '{ subject: { domain: action, field: amount }, operator: less_than_or_equal, value: { literal: 10 } }';
    expect([9, 10, 11].map((n) => decide(gte, withAmount(n)))).toEqual([false, true, true]);
    expect([9, 10, 11].map((n) => decide(lte, withAmount(n)))).toEqual([true, true, false]);
  });

  it('in and not_in test membership of a list literal', () => {
    const inList = '{ subject: { domain: action, field: amount }, operator: in, value: { literal: [1, 2, 3] } }';
    const notIn = '{ subject: { domain: action, field: currency }, operator: not_in, value: { literal: [EUR] } }';
    expect([2, 4].map((n) => decide(inList, withAmount(n)))).toEqual([true, false]);
    expect(decide(notIn, good())).toBe(false);
    expect(decide(notIn, { ...good(), action: { ...good().action, currency: 'USD' } })).toBe(true);
  });

  it('contains tests a string[] or number[] field for a value, from a literal or a field', () => {
    const scores = '{ subject: { domain: snapshot, field: scores }, operator: contains, value: { subject: { domain: action, field: amount } } }';
    expect(decide(scores, { ...withAmount(7), snapshot: { fraud_flag: false, limit: 1, scores: [1, 7] } })).toBe(true);
    expect(decide(scores, { ...withAmount(8), snapshot: { fraud_flag: false, limit: 1, scores: [1, 7] } })).toBe(false);
  });

  it('starts_with and ends_with compare strings exactly (unicode, no normalization)', () => {
    const starts = '{ subject: { domain: action, field: note }, operator: starts_with, value: { literal: "🙂é" } }';
    const ends = '{ subject: { domain: action, field: note }, operator: ends_with, value: { literal: "!" } }';
    const note = (n: string): EvaluationInput => ({ ...good(), action: { ...good().action, note: n } });
    expect(decide(starts, note('🙂é and more'))).toBe(true);
    expect(decide(starts, note('🙂e\u0301 decomposed'))).toBe(false);
    expect(decide(ends, note(`${'x'.repeat(1_000_000)}!`))).toBe(true);
    expect(decide(ends, good())).toBe(false);
  });

  it('nests all / any / not to any depth', () => {
    const deep = `
      all:
        - any:
            - not: { subject: { domain: action, field: amount }, operator: less_than, value: { literal: 100 } }
            - all:
                - { subject: { domain: actor, field: level }, operator: greater_than, value: { literal: 3 } }
                - not:
                    not: { subject: { domain: actor, field: teams }, operator: contains, value: { literal: ops } }
        - { subject: { domain: snapshot, field: fraud_flag }, operator: equals, value: { literal: false } }`;
    expect(decide(deep, withAmount(150))).toBe(true);
    expect(decide(deep, withAmount(50))).toBe(false);
    expect(decide(deep, { ...withAmount(50), actor: { id: 'u', level: 4, teams: ['ops'] } })).toBe(true);
    expect(decide(deep, { ...withAmount(50), actor: { id: 'u', level: 4, teams: ['dev'] } })).toBe(false);
  });
});

describe('scopes and order', () => {
  const p = policyWith(`  - id: global_fraud
    scope: { global: true }
    when: { subject: { domain: snapshot, field: fraud_flag }, operator: equals, value: { literal: true } }
    effect: block
  - id: intern_any
    scope: { actor: intern }
    when: { subject: { domain: actor, field: id }, operator: not_equals, value: { literal: "" } }
    effect: require_approval
  - id: refund_small
    scope: { action: refund }
    when: { subject: { domain: action, field: amount }, operator: less_than, value: { literal: 50 } }
    effect: allow
`, 'default_effect: block\n');

  it('tries action rules, then actor rules for actor.type, then global rules, then the default', () => {
    const fraud = { fraud_flag: true, limit: 1, scores: [] };
    expect(p.evaluate({ ...good(), snapshot: fraud }).matchedRule).toBe('refund_small');
    expect(p.evaluate({ ...good(), action: { ...good().action, amount: 500 }, actor: { id: 'u', type: 'intern' }, snapshot: fraud }).matchedRule).toBe('intern_any');
    expect(p.evaluate({ ...good(), action: { ...good().action, amount: 500 }, actor: { id: 'u', type: 'staff' }, snapshot: fraud }).matchedRule).toBe('global_fraud');
    const fallback = p.evaluate({ ...good(), action: { ...good().action, amount: 500 } });
    expect(fallback).toEqual({ effect: 'block', policyHash: p.policyHash() });
  });

  it('ignores actor rules when actor.type is absent, and fails closed when it is not a string', () => {
    expect(p.evaluate({ ...good(), action: { ...good().action, amount: 500 }, actor: { id: 'u' } }).matchedRule).toBeUndefined();
    expect(inputError(() => p.evaluate({ ...good(), action: { ...good().action, amount: 500 }, actor: { id: 'u', type: 3 } })).field).toBe('actor.type');
  });

  it('readsFor lists the fields reachable for an action, per domain', () => {
    expect(p.readsFor('refund')).toEqual({ action: ['amount'], actor: ['id', 'type'], snapshot: ['fraud_flag'] });
    expect(p.readsFor('export')).toEqual({ action: [], actor: ['id', 'type'], snapshot: ['fraud_flag'] });
    expect(p.readsFor('not_declared')).toEqual({ action: [], actor: ['id', 'type'], snapshot: ['fraud_flag'] });
  });
});

describe('metadata and decisions', () => {
  const p = policyWith(`  - id: big
    scope: { action: refund }
    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { subject: { domain: snapshot, field: limit } } }
    effect: require_approval
    reason: refund.too_large
    message: Refunds over the limit need approval.
    risk: high
    description: internal note
    approval:
      ttl: 2h
      approvers:
        all:
          - { subject: { domain: actor, field: role }, operator: equals, value: { literal: supervisor } }
          - { subject: { domain: actor, field: level }, operator: greater_than_or_equal, value: { literal: 2 } }
  - id: blocked
    scope: { action: export }
    when: { subject: { domain: action, field: rows }, operator: greater_than, value: { literal: 10 } }
    effect: block
`);

  it('puts reason, message and risk on the decision', () => {
    expect(p.evaluate({ ...good(), action: { ...good().action, amount: 500 } })).toEqual({
      effect: 'require_approval',
      matchedRule: 'big',
      reason: 'refund.too_large',
      message: 'Refunds over the limit need approval.',
      risk: 'high',
      policyHash: p.policyHash(),
    });
    expect(p.rule('big')?.description).toBe('internal note');
    expect(p.rule('big')?.approval).toEqual({ ttlSeconds: 7200, restricted: true });
  });

  it('canApprove checks the approver against the approvers condition and never throws', () => {
    expect(p.canApprove('big', { id: 's', role: 'supervisor', level: 2 })).toBe(true);
    expect(p.canApprove('big', { id: 's', role: 'supervisor', level: 1 })).toBe(false);
    expect(p.canApprove('big', { id: 's', role: 'supervisor' })).toBe(false);
    expect(p.canApprove('big', { id: 's', role: 'supervisor', level: 'high' })).toBe(false);
    expect(p.canApprove('big', null as unknown as Record<string, unknown>)).toBe(false);
    expect(p.canApprove('blocked', { role: 'supervisor', level: 9 })).toBe(false);
    expect(p.canApprove('nope', { role: 'supervisor', level: 9 })).toBe(false);
  });

  it('canApprove is true for any approver when the rule has no approvers condition', () => {
    const q = policyWith(`  - id: ok
    scope: { action: export }
    when: { subject: { domain: action, field: rows }, operator: greater_than, value: { literal: 10 } }
    effect: require_approval
`);
    expect(q.canApprove('ok', {})).toBe(true);
    expect(q.rule('ok')?.approval).toBeUndefined();
  });
});

describe('assertEffect', () => {
  const p = policyWith(`${BIG_REFUND.replace('effect: block', 'effect: block\n    reason: refund.too_large')}`);
  const big = (): EvaluationInput => ({ ...good(), action: { ...good().action, amount: 5000 } });

  it('returns the decision when the outcome matches', () => {
    expect(p.assertEffect(big(), 'block').matchedRule).toBe('big_refund');
    expect(p.assertEffect(big(), { effect: 'block', rule: 'big_refund', reason: 'refund.too_large' }).effect).toBe('block');
    expect(p.assertEffect(good(), { effect: 'allow', rule: null }).effect).toBe('allow');
  });

  it('throws ACTRA_ASSERTION naming expected and actual outcomes', () => {
    for (const [expected, message] of [
      ['allow', 'expected allow; got block, rule big_refund, reason refund.too_large'],
      [{ effect: 'block', rule: 'other' }, 'expected block, rule other; got block, rule big_refund, reason refund.too_large'],
      [{ effect: 'block', reason: 'x' }, 'expected block, reason x; got block, rule big_refund, reason refund.too_large'],
    ] as const) {
      try {
        p.assertEffect(big(), expected);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(ActraAssertionError);
        expect((error as ActraAssertionError).code).toBe('ACTRA_ASSERTION');
        expect((error as Error).message).toBe(message);
      }
    }
    try {
      p.assertEffect(good(), 'block');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toBe('expected block; got allow, no rule matched');
    }
  });
});
