/** Request bodies: reading a stream with a size limit, and the JSON object action fields are read from. */
import { ActraError, ActraOptionsError } from '../errors.js';
import type { NeutralRequest } from './types.js';

/**
 * What an adapter puts in `NeutralRequest.body` when the request has a body that no parser read
 * (Express without `express.json()` for its content type): Actra refuses it rather than guess.
 */
export const UNPARSED_BODY: unique symbol = Symbol.for('actra.unparsedBody');

const JSON_TYPE = /^application\/(?:[\w.+-]*\+)?json\s*(?:;|$)/i;

/** True for `application/json` and `application/<anything>+json`, parameters allowed. */
export function isJsonType(contentType: string | undefined): boolean {
  return contentType === 'application/json' || (contentType !== undefined && JSON_TYPE.test(contentType));
}

/**
 * The number a `Content-Length` header declares. Node's parser lets through only digits there, read
 * here one by one: `Number(text)` on a string received with the request goes through V8's general
 * string-to-number conversion (some 300 instructions, mostly cold code). Any other text is read by
 * `Number` all the same, so the result never differs from `Number(text)`.
 */
export function declaredLength(text: string): number {
  const size = text.length;
  if (size === 0 || size > 15) return Number(text);
  let value = 0;
  for (let index = 0; index < size; index++) {
    const digit = text.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return Number(text);
    value = value * 10 + digit;
  }
  return value;
}

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

/** The 415 error for a body Actra cannot read because it is not JSON. */
export function notJson(): ActraError {
  return new ActraError('ACTRA_BAD_REQUEST', 'the request body must be application/json', { statusCode: 415 });
}

/** The 400 error for a JSON body that is not an object (an array, a string, a number, null). */
export function notAnObject(): ActraError {
  return new ActraError('ACTRA_BAD_REQUEST', 'the request body must be a JSON object', { statusCode: 400 });
}

/**
 * The body action fields are read from: a JSON object, or `undefined` when the request has none.
 * Any other body is refused, so the handler can never act on fields the policy did not see (a
 * `text/plain` body that the handler parses as JSON anyway, for example).
 * @throws ActraError `ACTRA_BAD_REQUEST` — 415 for a body that is not JSON, 400 for JSON that is
 *   not an object; ActraOptionsError (`ACTRA_OPTIONS`, 500) for a JSON body no parser read.
 */
export function actionBody(req: NeutralRequest): Readonly<Record<string, unknown>> | undefined {
  const body = req.body;
  if (body === undefined) return undefined;
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && !ArrayBuffer.isView(body)) return body as Readonly<Record<string, unknown>>;
  if (body === '' || (ArrayBuffer.isView(body) && body.byteLength === 0)) return undefined;
  const json = isJsonType(req.header('content-type'));
  if (body === UNPARSED_BODY) {
    if (json) throw new ActraOptionsError('a JSON request body was not parsed: install a JSON body parser (express.json()) before Actra');
    throw notJson();
  }
  throw json ? notAnObject() : notJson();
}
