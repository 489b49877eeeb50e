/** Method names as decisions record them: upper case, `HEAD` as `GET`, function calls as `call`. */

/**
 * A request method in upper case, `HEAD` read as `GET`. The methods servers hand over in upper case
 * already are returned as they are: no new string per request.
 */
export function normaliseMethod(method: string): string {
  switch (method) {
    case 'GET':
    case 'POST':
    case 'PUT':
    case 'PATCH':
    case 'DELETE':
    case 'OPTIONS':
      return method;
    case 'HEAD':
      return 'GET';
  }
  const upper = method.toUpperCase();
  return upper === 'HEAD' ? 'GET' : upper;
}

/**
 * The method a decision records: {@link normaliseMethod}, with `call` (any case) for function calls.
 * No map lookup: the common names, which servers hand over as the same internalised strings, are
 * told apart by comparisons.
 */
export function recordedMethod(method: string): string {
  if (method === 'call') return method;
  const normal = normaliseMethod(method);
  return normal === 'CALL' ? 'call' : normal;
}
