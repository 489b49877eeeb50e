/** Reading Node's own header object, as the adapters receive it. */

/** Node's header object: lower-case names, a list for a header sent more than once. */
export type NodeHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** A header of Node's header object, by any case of its name; the first value when repeated. */
export function nodeHeader(headers: NodeHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
