/** Fast decision ids for the HTTP hot path: 128 random bits each, sliced from a pooled random buffer. */
import { randomFillSync, randomUUID } from 'node:crypto';

const POOL_IDS = 256;
const ID_BYTES = 16;

/**
 * An id generator for `ActraRuntime` (`idGenerator` option): `dec_` + 128 random bits (base64url)
 * for decisions, a random UUID for requests — the runtime's format, with one `randomFillSync` call
 * per 256 ids instead of one `randomBytes` call per id.
 */
export function pooledIdGenerator(): (kind: 'decision' | 'request') => string {
  const pool = Buffer.alloc(POOL_IDS * ID_BYTES);
  let offset = pool.length;
  return function pooledId(kind) {
    if (kind === 'request') return randomUUID();
    if (offset === pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const id = 'dec_' + pool.toString('base64url', offset, offset + ID_BYTES);
    offset += ID_BYTES;
    return id;
  };
}
