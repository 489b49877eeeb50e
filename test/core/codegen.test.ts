import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Actra } from '../../src/core/actra.js';
import { codegen } from '../../src/core/codegen.js';
import type { EvaluationInput } from '../../src/core/types.js';
import { isActraError } from '../../src/errors.js';

const exec = promisify(execFile);
const DIST_INDEX = join(import.meta.dirname, '..', '..', 'dist', 'src', 'index.js');
const ENABLED = codegen.enabled;

afterEach(() => {
  codegen.enabled = ENABLED;
});

/** A policy whose field names and literals are hostile to naive code generation. */
const HOSTILE_FIELD = 'a"]);globalThis.__actraPwned=1;//\u2028x';
const HOSTILE_LITERAL = '"+(globalThis.__actraPwned=2)+"\\\u2029*/`${1}`';

function hostilePolicy() {
  const schema = stringify({
    version: 1,
    actions: { say: { fields: { [HOSTILE_FIELD]: 'string', text: 'string', n: 'number?' } } },
    actor: { fields: { role: 'string' } },
    snapshot: { fields: {} },
  });
  const policy = stringify({
    version: 1,
    rules: [
      { id: 'odd_field', scope: { action: 'say' }, when: { subject: { domain: 'action', field: HOSTILE_FIELD }, operator: 'equals', value: { literal: 'x' } }, effect: 'block' },
      { id: 'odd_literal', scope: { action: 'say' }, when: { subject: { domain: 'action', field: 'text' }, operator: 'equals', value: { literal: HOSTILE_LITERAL } }, effect: 'require_approval' },
      { id: 'negative', scope: { action: 'say' }, when: { subject: { domain: 'action', field: 'n' }, operator: 'less_than', value: { literal: -2.5 } }, effect: 'block' },
    ],
  });
  return Actra.fromStrings(schema, policy);
}

function say(fields: Record<string, unknown>): EvaluationInput {
  return { action: { type: 'say', [HOSTILE_FIELD]: 'y', text: 'hello', ...fields }, actor: { role: 'r' }, snapshot: {} };
}

/** One action with `count` rules, rule k blocking `amount == k`, and `globals` global rules after it. */
function longPolicy(count: number, globals: number) {
  const schema = stringify({ version: 1, actions: { pay: { fields: { amount: 'number' } }, other: { fields: { amount: 'number' } } }, actor: { fields: { role: 'string' } }, snapshot: { fields: { level: 'number' } } });
  const rules: unknown[] = [];
  for (let k = 0; k < count; k++) rules.push({ id: `pay_${k}`, scope: { action: 'pay' }, when: { subject: { domain: 'action', field: 'amount' }, operator: 'equals', value: { literal: k } }, effect: 'block' });
  for (let g = 0; g < globals; g++) rules.push({ id: `global_${g}`, scope: { global: true }, when: { subject: { domain: 'snapshot', field: 'level' }, operator: 'equals', value: { literal: g } }, effect: 'require_approval' });
  return Actra.fromStrings(schema, stringify({ version: 1, rules }));
}

describe.each([
  { mode: 'generated code', enabled: true },
  { mode: 'closures', enabled: false },
])('rule lists ($mode)', ({ enabled }) => {
  it('treats field names and literals as data, never as code', () => {
    codegen.enabled = enabled;
    const policy = hostilePolicy();
    expect(policy.evaluate(say({ [HOSTILE_FIELD]: 'x' })).matchedRule).toBe('odd_field');
    expect(policy.evaluate(say({ text: HOSTILE_LITERAL })).matchedRule).toBe('odd_literal');
    expect(policy.evaluate(say({ n: -3 })).matchedRule).toBe('negative');
    expect(policy.evaluate(say({ n: -2.5 })).effect).toBe('allow');
    expect(policy.evaluate(say({})).effect).toBe('allow');
    expect((globalThis as { __actraPwned?: unknown }).__actraPwned).toBeUndefined();
  });

  it('keeps first-match order across long rule lists and many global rules', () => {
    codegen.enabled = enabled;
    const policy = longPolicy(130, 40);
    for (const k of [0, 1, 47, 48, 49, 95, 96, 129]) {
      expect(policy.evaluate({ action: { type: 'pay', amount: k }, actor: { role: 'r' }, snapshot: { level: 3 } }).matchedRule).toBe(`pay_${k}`);
    }
    expect(policy.evaluate({ action: { type: 'pay', amount: 500 }, actor: { role: 'r' }, snapshot: { level: 39 } }).matchedRule).toBe('global_39');
    expect(policy.evaluate({ action: { type: 'other', amount: 1 }, actor: { role: 'r' }, snapshot: { level: 17 } }).matchedRule).toBe('global_17');
    expect(policy.evaluate({ action: { type: 'unknown' }, actor: { role: 'r' }, snapshot: { level: 0 } }).matchedRule).toBe('global_0');
    const none = policy.evaluate({ action: { type: 'pay', amount: 500 }, actor: { role: 'r' }, snapshot: { level: 1000 } });
    expect(none.effect).toBe('allow');
    expect(none.matchedRule).toBeUndefined();
  });

  it('fails closed when a field getter throws or a field has the wrong type', () => {
    codegen.enabled = enabled;
    const policy = longPolicy(3, 2);
    const action = { type: 'pay' } as Record<string, unknown>;
    Object.defineProperty(action, 'amount', {
      enumerable: true,
      get() {
        throw new Error('secret-value-from-getter');
      },
    });
    let caught: unknown;
    try {
      policy.evaluate({ action, actor: { role: 'r' }, snapshot: { level: 1 } } as unknown as EvaluationInput);
    } catch (error) {
      caught = error;
    }
    expect(isActraError(caught, 'ACTRA_INPUT')).toBe(true);
    expect(String((caught as Error).message)).not.toContain('secret-value-from-getter');
    expect(() => policy.evaluate({ action: { type: 'pay', amount: '3' }, actor: { role: 'r' }, snapshot: { level: 1 } })).toThrow(/action\.amount has the wrong type/);
    expect(() => policy.evaluate({ action: { type: 'pay', amount: Number.NaN }, actor: { role: 'r' }, snapshot: { level: 1 } })).toThrow(/action\.amount has the wrong type/);
  });

  it('gives the same decisions when action types alternate', () => {
    codegen.enabled = enabled;
    const policy = longPolicy(5, 2);
    const expected: (string | undefined)[] = [];
    const actual: (string | undefined)[] = [];
    for (let i = 0; i < 60; i++) {
      const type = ['pay', 'other', 'unknown'][i % 3] as string;
      const amount = i % 7;
      const level = i % 4;
      expected.push(type === 'pay' && amount < 5 ? `pay_${amount}` : level < 2 ? `global_${level}` : undefined);
      actual.push(policy.evaluate({ action: { type, amount }, actor: { role: 'r' }, snapshot: { level } }).matchedRule);
    }
    expect(actual).toEqual(expected);
  });
});

describe('code generation', () => {
  it('is on by default where Node allows it', () => {
    expect(ENABLED).toBe(true);
  });

  it('falls back to closures under --disallow-code-generation-from-strings', async () => {
    expect(existsSync(DIST_INDEX), 'run the build first (npm test does)').toBe(true);
    const script = `
      import { Actra } from ${JSON.stringify(new URL(`file://${DIST_INDEX}`).href)};
      const policy = Actra.fromStrings(
        'version: 1\\nactions:\\n  refund:\\n    fields: { amount: number }\\nactor:\\n  fields: { role: string }\\nsnapshot:\\n  fields: {}\\n',
        'version: 1\\nrules:\\n  - id: big\\n    scope: { action: refund }\\n    when: { subject: { domain: action, field: amount }, operator: greater_than, value: { literal: 1000 } }\\n    effect: block\\n',
      );
      const big = policy.evaluate({ action: { type: 'refund', amount: 5000 }, actor: { role: 'a' }, snapshot: {} });
      const small = policy.evaluate({ action: { type: 'refund', amount: 5 }, actor: { role: 'a' }, snapshot: {} });
      let evalBlocked = false;
      try { new Function('return 1'); } catch { evalBlocked = true; }
      console.log(JSON.stringify({ big: big.matchedRule, small: small.effect, evalBlocked }));
    `;
    const { stdout } = await exec(process.execPath, ['--disallow-code-generation-from-strings', '--input-type=module', '-e', script]);
    expect(JSON.parse(stdout)).toEqual({ big: 'big', small: 'allow', evalBlocked: true });
  });
});
