/** Engine benchmark: `policy.evaluate` against a hand-written function, CASL, casbin and Cedar (wasm), same run. */

import { do_not_optimize, measure } from 'mitata';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { EvaluationInput } from '../src/core/types.js';
import { isActraError, type ActraCompileError } from '../src/errors.js';
import { agreementInputs, benchInputs, buildPeers, compileActra, actraPeer, findDisagreements, makeRuleSet, type Peer, type RuleSet } from './peers/index.js';

/** One timed implementation. */
interface Row {
  readonly name: string;
  readonly p50: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** p50 of one call, in ns, cycling through the inputs. */
async function timeDecider(peer: Peer, inputs: readonly EvaluationInput[]): Promise<number> {
  const decide = peer.decider(inputs);
  const last = inputs.length - 1;
  let i = 0;
  const stats = await measure(function cycleInputs() {
    do_not_optimize(decide(i));
    i = i === last ? 0 : i + 1;
  });
  return stats.p50;
}

/** Throws unless every peer gives the rules' outcome on every agreement input. */
function assertAgreement(ruleSet: RuleSet, peers: readonly Peer[]): void {
  const problems = findDisagreements(ruleSet, peers, agreementInputs(ruleSet));
  if (problems.length > 0) {
    const lines = problems.slice(0, 10).map((p) => `  ${p.peer} on input ${p.index}: expected ${p.expected}, got ${p.actual}`);
    throw new Error(`peers disagree on ${ruleSet.name}:\n${lines.join('\n')}`);
  }
}

function formatNs(ns: number): string {
  if (ns >= 1_000_000) return `${(ns / 1_000_000).toFixed(2)} ms`;
  if (ns >= 10_000) return `${(ns / 1000).toFixed(1)} µs`;
  if (ns >= 100) return `${ns.toFixed(0)} ns`;
  return `${ns.toFixed(1)} ns`;
}

function formatRatio(r: number): string {
  if (r >= 100) return `${r.toFixed(0)}×`;
  if (r >= 10) return `${r.toFixed(1)}×`;
  return `${r.toFixed(2)}×`;
}

function printTable(title: string, rows: readonly Row[]): void {
  const base = rows.find((r) => r.name === 'hand-written JS')?.p50 ?? Number.NaN;
  const actra = rows.find((r) => r.name === 'actra policy.evaluate')?.p50 ?? Number.NaN;
  const cells = [
    ['implementation', 'p50 per call', 'vs hand-written', 'vs policy.evaluate'],
    ...rows.map((r) => [r.name, formatNs(r.p50), formatRatio(r.p50 / base), formatRatio(r.p50 / actra)]),
  ];
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  console.log(`\n${title}`);
  cells.forEach(function printRow(row, index) {
    console.log(`| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`);
    if (index === 0) console.log(`|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  });
}

async function benchRuleSet(ruleCount: number): Promise<Row[]> {
  const ruleSet = makeRuleSet(ruleCount);
  const peers = await buildPeers(ruleSet);
  assertAgreement(ruleSet, peers);
  const inputs = benchInputs();
  const rows: Row[] = [];
  for (const peer of peers) rows.push({ name: peer.name, p50: await timeDecider(peer, inputs) });
  printTable(`Refund rule "block when amount > 1000", ${ruleSet.name}, cycling ${inputs.length} inputs (all ${peers.length} implementations agree on ${agreementInputs(ruleSet).length} inputs)`, rows);
  return rows;
}

function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

async function benchLargePolicy(tenRuleP50: number): Promise<void> {
  const ruleSet = makeRuleSet(10_000, 1_000);
  try {
    compileActra(ruleSet);
  } catch (error) {
    const issue = isActraError(error, 'ACTRA_COMPILE') ? (error as ActraCompileError).issues[0] : undefined;
    console.log(`\n${ruleSet.name}: does not compile (${issue ? `${issue.code} ${issue.message}` : String(error)})`);
    process.exitCode = 1;
    return;
  }
  const compileTimes: number[] = [];
  for (let run = 0; run < 5; run++) {
    const start = performance.now();
    do_not_optimize(compileActra(ruleSet));
    compileTimes.push(performance.now() - start);
  }
  compileTimes.sort((a, b) => a - b);
  const before = heapUsed();
  const policy = compileActra(ruleSet);
  const after = heapUsed();
  const peer = actraPeer(ruleSet, policy);
  assertAgreement(ruleSet, [peer]);
  const p50 = await timeDecider(peer, benchInputs());
  console.log(`\n${ruleSet.name}: policy.evaluate on the same 20 refunds`);
  console.log(`| measure | value |`);
  console.log(`|---|---:|`);
  console.log(`| evaluation p50 | ${formatNs(p50)} |`);
  console.log(`| vs the 10-rule policy | ${formatRatio(p50 / tenRuleP50)} |`);
  console.log(`| compile (schema + policy YAML → Policy), median of 5 | ${compileTimes[2]!.toFixed(0)} ms |`);
  console.log(
    gc === undefined
      ? '| heap used by the compiled policy | run with node --expose-gc |'
      : `| heap used by the compiled policy | ${((after - before) / 1024 / 1024).toFixed(1)} MiB |`,
  );
  do_not_optimize(policy);
}

async function runEngineBench(): Promise<void> {
  const cpu = cpus();
  console.log(`engine benchmark — node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown cpu'}`);
  const ten = await benchRuleSet(10);
  await benchRuleSet(200);
  const tenActra = ten.find((r) => r.name === 'actra policy.evaluate')!.p50;
  await benchLargePolicy(tenActra);
}

await runEngineBench();
