/** The action types already admitted for one request, so that a route-level guard does not evaluate one again. */

/**
 * One type (the common case) as itself, several as a `Set`, none as `undefined` or `null`: no `Set`
 * is allocated for a request that admits one action.
 */
export type Admitted = string | Set<string> | undefined | null;

/** `admitted` with `type` added. */
export function withAdmitted(admitted: Admitted, type: string): Admitted {
  if (admitted === undefined || admitted === null) return type;
  if (typeof admitted !== 'string') return admitted.add(type);
  return admitted === type ? admitted : new Set([admitted, type]);
}

/** True when `type` was admitted. */
export function isAdmitted(admitted: Admitted, type: string): boolean {
  return admitted === type || (typeof admitted === 'object' && admitted !== null && admitted.has(type));
}
