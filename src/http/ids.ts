/** Fast decision and request ids for the HTTP hot path (the runtime's pooled generator). */
export { pooledIdGenerator } from '../runtime/ids.js';
