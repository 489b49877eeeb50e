import { describe, expect, it } from 'vitest';
import { isAdmitted, withAdmitted, type Admitted } from '../../src/http/admitted.js';

describe('admitted action types', () => {
  it('holds nothing at first', () => {
    expect(isAdmitted(undefined, 'refund')).toBe(false);
    expect(isAdmitted(null, 'refund')).toBe(false);
  });

  it('keeps one type as the string itself, with no Set', () => {
    const one = withAdmitted(undefined, 'refund');
    expect(one).toBe('refund');
    expect(withAdmitted(null, 'refund')).toBe('refund');
    expect(withAdmitted(one, 'refund')).toBe('refund');
    expect(isAdmitted(one, 'refund')).toBe(true);
    expect(isAdmitted(one, 'transfer')).toBe(false);
  });

  it('grows into a Set for a second type and keeps every type', () => {
    let admitted: Admitted = withAdmitted(undefined, 'refund');
    admitted = withAdmitted(admitted, 'transfer');
    expect(admitted).toBeInstanceOf(Set);
    admitted = withAdmitted(admitted, 'export');
    for (const type of ['refund', 'transfer', 'export']) expect(isAdmitted(admitted, type)).toBe(true);
    expect(isAdmitted(admitted, 'delete')).toBe(false);
  });
});
