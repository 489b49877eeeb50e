/** Explanations: a traced evaluation, the closest rule that did not match, and a readable text. */
import type { ConditionTrace, Decision, Effect, Explanation, RuleScope, RuleTrace } from './types.js';
import type { CondNode, RuleDef } from './ast.js';
import { ActraError } from '../errors.js';
import { comparator, makeCheckedReader } from './compile.js';
import type { Fields } from './compile.js';

function read(node: CondNode & { kind: 'atom' }, side: 'left' | 'right', a: Fields, c: Fields, s: Fields, ruleId: string): unknown {
  const ref = side === 'left' ? node.left : node.right?.kind === 'field' ? node.right.ref : undefined;
  if (ref === undefined) return node.right?.kind === 'literal' ? node.right.value : undefined;
  const obj = ref.domain === 'action' ? a : ref.domain === 'actor' ? c : s;
  // Explanations read any object, own properties only (the evaluator's checked path; not a hot path).
  return makeCheckedReader(ref, ruleId)(obj);
}

/** Evaluates a condition with the same order and reads as the compiled closure, recording each step. */
export function traceCondition(node: CondNode, a: Fields, c: Fields, s: Fields, ruleId: string): ConditionTrace {
  switch (node.kind) {
    case 'atom': {
      const left = read(node, 'left', a, c, s, ruleId);
      if (node.operator === 'exists') return withValues({ text: node.text, result: left !== undefined }, left, undefined);
      const right = read(node, 'right', a, c, s, ruleId);
      const result = left !== undefined && right !== undefined && comparator(node)(left, right);
      return withValues({ text: node.text, result }, left, right);
    }
    case 'not': {
      const child = traceCondition(node.child, a, c, s, ruleId);
      return { text: node.text, result: !child.result, children: [child] };
    }
    default: {
      const children: ConditionTrace[] = [];
      let result = node.kind === 'all';
      for (const item of node.children) {
        const child = traceCondition(item, a, c, s, ruleId);
        children.push(child);
        if (node.kind === 'all' && !child.result) {
          result = false;
          break;
        }
        if (node.kind === 'any' && child.result) {
          result = true;
          break;
        }
      }
      return { text: node.text, result, children };
    }
  }
}

function withValues(trace: { text: string; result: boolean }, left: unknown, right: unknown): ConditionTrace {
  const out: { text: string; result: boolean; left?: unknown; right?: unknown } = trace;
  if (left !== undefined) out.left = left;
  if (right !== undefined) out.right = right;
  return out;
}

/** Truth of a condition, evaluated completely; an input error counts as "does not hold". */
function truth(node: CondNode, a: Fields, c: Fields, s: Fields, ruleId: string): boolean {
  try {
    return traceCondition(node, a, c, s, ruleId).result;
  } catch {
    return false;
  }
}

/** How much of a condition holds: satisfied comparisons over comparisons (best branch of `any`). */
function score(node: CondNode, a: Fields, c: Fields, s: Fields, ruleId: string): { ok: number; total: number } {
  switch (node.kind) {
    case 'atom':
    case 'not':
      return { ok: truth(node, a, c, s, ruleId) ? 1 : 0, total: 1 };
    case 'all': {
      let ok = 0;
      let total = 0;
      for (const child of node.children) {
        const part = score(child, a, c, s, ruleId);
        ok += part.ok;
        total += part.total;
      }
      return { ok, total };
    }
    case 'any': {
      let best = { ok: 0, total: 1 };
      for (const child of node.children) {
        const part = score(child, a, c, s, ruleId);
        if (part.ok / part.total > best.ok / best.total) best = part;
      }
      return best;
    }
  }
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function describeAtom(node: CondNode & { kind: 'atom' }, a: Fields, c: Fields, s: Fields, ruleId: string): string {
  try {
    const left = read(node, 'left', a, c, s, ruleId);
    const right = node.right?.kind === 'field' ? read(node, 'right', a, c, s, ruleId) : undefined;
    const parts = [`${node.left.domain}.${node.left.field} is ${left === undefined ? 'absent' : show(left)}`];
    if (node.right?.kind === 'field') parts.push(`${node.right.ref.domain}.${node.right.ref.field} is ${right === undefined ? 'absent' : show(right)}`);
    return `${node.text} (${parts.join(', ')})`;
  } catch (error) {
    // Our input errors name the field and rule; anything else (a getter threw) is not repeated.
    return `${node.text} (${error instanceof ActraError ? error.message : 'the input could not be read'})`;
  }
}

/** The first condition that stops `node` from holding, in readable form. */
function stopper(node: CondNode, a: Fields, c: Fields, s: Fields, ruleId: string): string {
  switch (node.kind) {
    case 'atom':
      return describeAtom(node, a, c, s, ruleId);
    case 'not':
      return node.text;
    case 'all': {
      for (const child of node.children) if (!truth(child, a, c, s, ruleId)) return stopper(child, a, c, s, ruleId);
      return node.text;
    }
    case 'any': {
      let best: CondNode | undefined;
      let bestRatio = -1;
      for (const child of node.children) {
        const part = score(child, a, c, s, ruleId);
        if (part.ok / part.total > bestRatio) {
          best = child;
          bestRatio = part.ok / part.total;
        }
      }
      return best === undefined ? node.text : stopper(best, a, c, s, ruleId);
    }
  }
}

function scopeText(scope: RuleScope): string {
  if ('action' in scope) return `action ${scope.action}`;
  if ('actor' in scope) return `actor ${scope.actor}`;
  return 'global';
}

function conditionLines(trace: ConditionTrace, depth: number, out: string[]): void {
  const pad = '  '.repeat(depth);
  const mark = trace.result ? 'true ' : 'false';
  if (trace.children === undefined) {
    const values: string[] = [];
    if ('left' in trace) values.push(`left ${show(trace.left)}`);
    else values.push('left absent');
    if ('right' in trace) values.push(`right ${show(trace.right)}`);
    out.push(`${pad}${mark} ${trace.text}  [${values.join(', ')}]`);
    return;
  }
  const head = trace.text.startsWith('not') ? 'not' : trace.text.startsWith('all') ? 'all' : 'any';
  out.push(`${pad}${mark} ${head}`);
  for (const child of trace.children) conditionLines(child, depth + 1, out);
}

/** Builds the explanation for rules tried in order. */
export function buildExplanation(decision: Decision, considered: readonly { def: RuleDef; trace: ConditionTrace }[], a: Fields, c: Fields, s: Fields, actionType: string): Explanation {
  const trace: RuleTrace[] = considered.map(({ def, trace: condition }) => ({ ruleId: def.id, scope: def.scope, effect: def.effect, matched: condition.result, condition }));
  let closest: { ruleId: string; effect: Effect; failedCondition: string } | undefined;
  let bestRatio = -1;
  for (const { def, trace: condition } of considered) {
    if (condition.result || def.effect === decision.effect) continue;
    const part = score(def.when, a, c, s, def.id);
    const ratio = part.ok / part.total;
    if (ratio > bestRatio) {
      bestRatio = ratio;
      closest = { ruleId: def.id, effect: def.effect, failedCondition: stopper(def.when, a, c, s, def.id) };
    }
  }
  const lines: string[] = [];
  const meta = [decision.matchedRule === undefined ? 'no rule matched: default effect' : `rule ${decision.matchedRule}`];
  if (decision.reason !== undefined) meta.push(`reason ${decision.reason}`);
  if (decision.risk !== undefined) meta.push(`risk ${decision.risk}`);
  lines.push(`decision: ${decision.effect} (${meta.join(', ')})`);
  if (decision.message !== undefined) lines.push(`message: ${decision.message}`);
  lines.push(`action: ${actionType}`);
  lines.push(`policy: ${decision.policyHash}`);
  lines.push(considered.length === 0 ? 'rules considered: none' : 'rules considered, in order:');
  considered.forEach(({ def, trace: condition }, index) => {
    lines.push(`  ${index + 1}. ${def.id} [${scopeText(def.scope)}] -> ${def.effect}: ${condition.result ? 'matched' : 'did not match'}`);
    conditionLines(condition, 3, lines);
  });
  if (closest !== undefined) {
    lines.push(`closest rule that did not match: ${closest.ruleId} (would give ${closest.effect})`);
    lines.push(`  stopped by: ${closest.failedCondition}`);
  }
  const explanation: { -readonly [K in keyof Explanation]: Explanation[K] } = { decision, trace, text: lines.join('\n') };
  if (closest !== undefined) explanation.closest = closest;
  return explanation;
}
