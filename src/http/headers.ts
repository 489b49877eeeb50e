/** Reading Node's own header object, as the adapters receive it. */

/** Node's header object: lower-case names, a list for a header sent more than once. */
export type NodeHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * The lower-case form of the names read so far. Admission reads the same few names on every
 * request (`authorization`, the request id, `actra-approval`): a lookup of a name whose hash V8 has
 * cached costs a fraction of lower-casing it again. Bounded, so that names built per request
 * cannot grow it; past the bound a name is lower-cased on each read.
 */
const LOWER = new Map<string, string>();
const LOWER_MAX = 256;

/**
 * A header of Node's header object, by any case of its name; the first value when repeated. A name
 * given in lower case already (how Actra itself names the headers it reads) is looked up as it is;
 * only a name not found that way is looked up again in lower case. Only header values are returned:
 * a name such as `__proto__` or `constructor` finds what the object inherits, which is not one.
 */
export function nodeHeader(headers: NodeHeaders, name: string): string | undefined {
  const value = headerValue(headers[name]);
  if (value !== undefined) return value;
  const lower = LOWER.get(name) ?? lowerName(name);
  return lower === name ? undefined : headerValue(headers[lower]);
}

/** A header's value as Node keeps it (a string, or a list for a repeated header): the first one; nothing for anything else. */
function headerValue(value: unknown): string | undefined {
  return typeof value === 'string' ? value : Array.isArray(value) ? (value[0] as string | undefined) : undefined;
}

function lowerName(name: string): string {
  const lower = name.toLowerCase();
  if (LOWER.size < LOWER_MAX) LOWER.set(name, lower);
  return lower;
}
