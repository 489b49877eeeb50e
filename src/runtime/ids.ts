/** Fast random ids for the decision path: decision and request ids cut from pooled random text. */
import { randomFillSync } from 'node:crypto';

/** One `randomFillSync` per ~2,900 ids: a refill costs far more than its size under load, so refills are kept rare. */
const POOL_BYTES = 48 * 1024;
const ID_CHARS = 22;

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

/**
 * An id generator for `ActraRuntime` (`idGenerator` option, and the runtime's default): `dec_` +
 * 22 random base64url characters (132 bits, cut from pooled random text) for decisions, `req_` +
 * 22 for requests.
 * @example `new ActraRuntime(policy, { idGenerator: pooledIdGenerator() })`
 */
export function pooledIdGenerator(): (kind: 'decision' | 'request') => string {
  const pool = new RandomText();
  return function pooledId(kind) {
    return (kind === 'decision' ? 'dec_' : 'req_') + pool.take(ID_CHARS);
  };
}
