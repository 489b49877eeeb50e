/** Awaits a promise that must reject with an ActraError and returns that error. */
import { ActraError } from '../../src/errors.js';

export async function rejection(promise: Promise<unknown>): Promise<ActraError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ActraError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}
