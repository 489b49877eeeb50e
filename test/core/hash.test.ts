import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Actra } from '../../src/core/actra.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'extended', 'payments');
const schema = readFileSync(join(DIR, 'schema.yaml'), 'utf8');
const policy = readFileSync(join(DIR, 'policy.yaml'), 'utf8');
const hashOf = (s: string, p: string, g?: string): string => Actra.fromStrings(s, p, g).policyHash();
const base = hashOf(schema, policy);

describe('policy hash', () => {
  it('is a pinned SHA-256 hex value, identical on every run and machine', () => {
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(Actra.fromStrings(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'v1', 'refund', 'schema.yaml'), 'utf8'), readFileSync(join(import.meta.dirname, '..', 'fixtures', 'v1', 'refund', 'policy.yaml'), 'utf8')).policyHash()).toBe(
      '2645bc864541422bb6ac355f5133055f99c2329930142433572a22be8779d768',
    );
  });

  it('ignores comments, formatting, quoting and key order', () => {
    const reformatted = `# refunds policy
rules:
- effect: block
  id: "refund_fraud"
  when: {value: {literal: true}, operator: equals, subject: {field: fraud_flag, domain: snapshot}}
  scope: {action: 'refund'}
  risk: critical   # worst
  message: "Refunds are blocked while the account is flagged for fraud."
  reason: refund.fraud
${policy.slice(policy.indexOf('  - id: refund_over_limit')).replace(/^  /gm, '')}default_effect: block
version: 1
`;
    expect(hashOf(schema, reformatted)).toBe(base);
    const schemaReordered = schema.replace('version: 1\n', '') + 'version: 1\n';
    expect(hashOf(schemaReordered, policy)).toBe(base);
  });

  it('treats equivalent spellings alike: ttl 15m == 900, enum and in-list order, default allow', () => {
    expect(hashOf(schema, policy.replace('ttl: 15m', 'ttl: 900'))).toBe(base);
    expect(hashOf(schema.replace('[EUR, USD, GBP]', '[GBP, EUR, USD]'), policy)).toBe(base);
    expect(hashOf(schema, policy.replace('[EUR, GBP]', '[GBP, EUR]'))).toBe(base);
    const simpleSchema = 'version: 1\nactions: { a: { fields: { n: number } } }\n';
    const simple = 'version: 1\nrules:\n  - { id: r, scope: { action: a }, when: { subject: { domain: action, field: n }, operator: greater_than, value: { literal: 1 } }, effect: block }\n';
    expect(hashOf(simpleSchema, `default_effect: allow\n${simple}`)).toBe(hashOf(simpleSchema, simple));
    expect(hashOf(simpleSchema.replace('n: number', 'n: number'), simple.replace('literal: 1 }', 'literal: 1.0 }'))).toBe(hashOf(simpleSchema, simple));
  });

  it('changes with any change of meaning', () => {
    const changed = [
      hashOf(schema, policy.replace('ttl: 15m', 'ttl: 16m')),
      hashOf(schema, policy.replace('risk: critical', 'risk: high')),
      hashOf(schema, policy.replace('default_effect: block', 'default_effect: allow')),
      hashOf(schema, policy.replace('literal: 99', 'literal: 98')),
      hashOf(schema.replace('note: string?', 'note: string'), policy),
      hashOf(schema, policy.replace('Refunds are blocked', 'Refunds are stopped')),
      hashOf(schema, policy, 'version: 1\ngovernance:\n  rules: []\n'),
    ];
    for (const hash of changed) expect(hash).not.toBe(base);
    expect(new Set(changed).size).toBe(changed.length);
  });

  it('changes when rule order changes (first match wins)', () => {
    const first = policy.indexOf('  - id: service_accounts_ok');
    const second = policy.indexOf('  - id: risky_snapshot');
    const third = policy.indexOf('  - id: known_actor');
    const swapped = policy.slice(0, first) + policy.slice(second, third) + policy.slice(first, second) + policy.slice(third);
    expect(hashOf(schema, swapped)).not.toBe(base);
  });
});
