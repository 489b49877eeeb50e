/** Fast random ids for the decision path: decision ids cut from pooled random text, request ids from Node's pooled UUIDs. */
import { randomFillSync, randomUUID } from 'node:crypto';

const POOL_BYTES = 3072;
const DECISION_CHARS = 22;

/**
 * Random base64url text refilled with one `randomFillSync` call per batch of ids, instead of one
 * `randomBytes` call (and one buffer) per id. Every character carries 6 random bits.
 */
class RandomText {
  readonly #bytes = Buffer.alloc(POOL_BYTES);
  #text = '';
  #offset = 0;

  /** The next `length` random characters. */
  take(length: number): string {
    if (this.#offset + length > this.#text.length) {
      randomFillSync(this.#bytes);
      this.#text = this.#bytes.toString('base64url');
      this.#offset = 0;
    }
    const offset = this.#offset;
    this.#offset = offset + length;
    return this.#text.slice(offset, offset + length);
  }
}

/** `dec_` + 22 base64url characters: 132 random bits. */
function decisionId(pool: RandomText): string {
  return 'dec_' + pool.take(DECISION_CHARS);
}

/**
 * An id generator for `ActraRuntime` (`idGenerator` option, and the runtime's default): `dec_` +
 * 22 random base64url characters (132 bits, cut from pooled random text) for decisions, a random
 * (version 4) UUID for requests.
 * @example `new ActraRuntime(policy, { idGenerator: pooledIdGenerator() })`
 */
export function pooledIdGenerator(): (kind: 'decision' | 'request') => string {
  const decisions = new RandomText();
  return function pooledId(kind) {
    // Node's randomUUID already draws from a cached pool of random bytes.
    return kind === 'decision' ? decisionId(decisions) : randomUUID();
  };
}
