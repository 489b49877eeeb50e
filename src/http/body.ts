/** Reads a request body stream with a size limit (approval decisions need the raw text for signatures). */
import { ActraError } from '../errors.js';

/**
 * Reads a Node.js readable request to a UTF-8 string.
 * @throws ActraError `ACTRA_BAD_REQUEST` with status 413 when it exceeds `limit` bytes.
 */
export async function readRawBody(stream: AsyncIterable<unknown>, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = chunk instanceof Uint8Array ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The 413 error for a body over `limit` bytes. */
export function tooLarge(limit: number): ActraError {
  return new ActraError('ACTRA_BAD_REQUEST', `the request body is larger than ${limit} bytes`, { statusCode: 413 });
}

/** The 400 error for a body that is not valid JSON. */
export function invalidJson(): ActraError {
  return new ActraError('ACTRA_BAD_REQUEST', 'the request body is not valid JSON', { statusCode: 400 });
}
