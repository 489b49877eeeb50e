/** Every benchmarked implementation of a rule set, and the check that they all agree. */

import type { EvaluationInput, Policy } from '../../src/core/types.js';
import { actraPeer } from './actra.js';
import { casbinPeer } from './casbin.js';
import { caslPeer } from './casl.js';
import { cedarPreparsedPeer, cedarTextPeer } from './cedar.js';
import { handWrittenPeer } from './handwritten.js';
import type { Peer } from './peer.js';
import { expectedEffect, type RuleSet } from './ruleset.js';

export type { Peer } from './peer.js';
export * from './ruleset.js';
export { actraPeer, compileActra } from './actra.js';
export { casbinPeer } from './casbin.js';
export { caslPeer } from './casl.js';
export { cedarPreparsedPeer, cedarTextPeer, toCedarText } from './cedar.js';
export { handWrittenPeer } from './handwritten.js';

/** Builds every peer for a rule set: hand-written first (the baseline), then Actra, then the others. */
export async function buildPeers(ruleSet: RuleSet, options: { policy?: Policy; cedarText?: boolean } = {}): Promise<Peer[]> {
  const peers: Peer[] = [
    handWrittenPeer(ruleSet),
    options.policy === undefined ? actraPeer(ruleSet) : actraPeer(ruleSet, options.policy),
    caslPeer(ruleSet),
    await casbinPeer(ruleSet),
    cedarPreparsedPeer(ruleSet),
  ];
  if (options.cedarText !== false) peers.push(cedarTextPeer(ruleSet));
  return peers;
}

/** One disagreement: which peer, on which input, said what, where the rules say otherwise. */
export interface Disagreement {
  readonly peer: string;
  readonly index: number;
  readonly expected: string;
  readonly actual: string;
}

/** Every disagreement between the peers and the obvious reading of the rules, on every input. */
export function findDisagreements(ruleSet: RuleSet, peers: readonly Peer[], inputs: readonly EvaluationInput[]): Disagreement[] {
  const out: Disagreement[] = [];
  for (const peer of peers) {
    const decide = peer.decider(inputs);
    inputs.forEach(function compare(input, index) {
      const expected = expectedEffect(ruleSet, input);
      let actual: string;
      try {
        actual = decide(index);
      } catch (error) {
        actual = `error: ${error instanceof Error ? error.message : String(error)}`;
      }
      if (actual !== expected) out.push({ peer: peer.name, index, expected, actual });
    });
  }
  return out;
}
