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

/** What the common methods record as: one lookup, where comparing against each name costs one test per name. */
const RECORDED = new Map(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'call'].map((method) => [method, method]));
RECORDED.set('HEAD', 'GET');

/** The method a decision records: {@link normaliseMethod}, with `call` (any case) for function calls. */
export function recordedMethod(method: string): string {
  const known = RECORDED.get(method);
  if (known !== undefined) return known;
  const normal = normaliseMethod(method);
  return normal === 'CALL' ? 'call' : normal;
}
