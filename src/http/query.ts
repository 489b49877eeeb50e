/** The neutral query string: one value → a string, a repeated key → an array, as Express and Fastify give it. */

/**
 * Turns a per-key list of values (Hono's `c.req.queries()`, `URLSearchParams`) into the neutral
 * query: a key given once maps to its string, a repeated key to all its values. The result has no
 * prototype, so a `__proto__` key is a plain key.
 * @example `singleOrList({ rows: ['5'], tag: ['a', 'b'] })` → `{ rows: '5', tag: ['a', 'b'] }`
 */
export function singleOrList(values: Readonly<Record<string, readonly string[]>>): Record<string, string | readonly string[]> {
  const query = Object.create(null) as Record<string, string | readonly string[]>;
  for (const key of Object.keys(values)) {
    const list = values[key] as readonly string[];
    query[key] = list.length === 1 ? (list[0] as string) : list;
  }
  return query;
}
