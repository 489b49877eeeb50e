/** What every benchmarked implementation provides: a decider over a fixed list of inputs. */

import type { EvaluationInput } from '../../src/core/types.js';
import type { BenchEffect } from './ruleset.js';

/** One implementation of a rule set. */
export interface Peer {
  readonly name: string;
  /**
   * Prepares the inputs in the peer's own representation (done once, outside the timing) and
   * returns a function deciding input number `index`.
   */
  decider(inputs: readonly EvaluationInput[]): (index: number) => BenchEffect;
}
