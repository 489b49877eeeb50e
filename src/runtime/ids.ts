/** Fast random ids for the decision path: decision ids and request ids sliced from a pooled random buffer. */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const ID_BYTES = 16;
const HEX: readonly string[] = Array.from({ length: 256 }, function hexByte(_, byte) {
  return byte.toString(16).padStart(2, '0');
});

/**
 * A pool of cryptographically random bytes, refilled with one `randomFillSync` call per 256 ids
 * instead of one `randomBytes` call per id (the pattern Node's own `randomUUID` uses).
 */
class RandomPool {
  readonly #pool = Buffer.alloc(POOL_BYTES);
  #offset = POOL_BYTES;

  /** Reserves the next 16 random bytes; returns their offset in `bytes`. */
  take(): number {
    if (this.#offset === POOL_BYTES) {
      randomFillSync(this.#pool);
      this.#offset = 0;
    }
    const offset = this.#offset;
    this.#offset += ID_BYTES;
    return offset;
  }

  get bytes(): Buffer {
    return this.#pool;
  }
}

function decisionId(pool: RandomPool): string {
  const offset = pool.take();
  return 'dec_' + pool.bytes.toString('base64url', offset, offset + ID_BYTES);
}

/** A version 4 UUID (122 random bits) from the pool. */
function uuid(pool: RandomPool): string {
  const offset = pool.take();
  const b = pool.bytes;
  const h = HEX;
  return (
    (h[b[offset] as number] as string) + h[b[offset + 1] as number] + h[b[offset + 2] as number] + h[b[offset + 3] as number] + '-' +
    h[b[offset + 4] as number] + h[b[offset + 5] as number] + '-' +
    h[((b[offset + 6] as number) & 0x0f) | 0x40] + h[b[offset + 7] as number] + '-' +
    h[((b[offset + 8] as number) & 0x3f) | 0x80] + h[b[offset + 9] as number] + '-' +
    h[b[offset + 10] as number] + h[b[offset + 11] as number] + h[b[offset + 12] as number] + h[b[offset + 13] as number] + h[b[offset + 14] as number] + h[b[offset + 15] as number]
  );
}

/**
 * An id generator for `ActraRuntime` (`idGenerator` option, and the runtime's default): `dec_` +
 * 128 random bits (base64url) for decisions, a random (version 4) UUID for requests, both sliced
 * from one pooled random buffer.
 * @example `new ActraRuntime(policy, { idGenerator: pooledIdGenerator() })`
 */
export function pooledIdGenerator(): (kind: 'decision' | 'request') => string {
  const pool = new RandomPool();
  return function pooledId(kind) {
    return kind === 'decision' ? decisionId(pool) : uuid(pool);
  };
}

const shared = new RandomPool();

/** A random version 4 UUID from a process-wide pool (request ids). */
export function pooledUuid(): string {
  return uuid(shared);
}
