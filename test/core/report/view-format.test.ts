/** The report's number formatting: whole counts are grouped without Intl, exactly as Intl groups them. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCount } from '../../../lambdas/core/report/view.ts';

const intl = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

describe('formatCount', () => {
  it('groups whole counts as Intl en-US does', () => {
    for (const n of [0, 1, 999, 1000, 12345, 999999, 1000000, Number.MAX_SAFE_INTEGER]) {
      expect(formatCount(n)).toBe(intl.format(n));
    }
    fc.assert(fc.property(fc.maxSafeNat(), (n) => formatCount(n) === intl.format(n)));
  });

  it('gives any other finite number exactly as Intl does (fractions, negatives, -0, beyond 2^53)', () => {
    for (const n of [-0, -1, -1234.5, 0.5, 2.5, 1234.49, 1e21, 2 ** 60]) {
      expect(formatCount(n)).toBe(intl.format(n));
    }
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        (n) => formatCount(n) === intl.format(n),
      ),
    );
  });

  it('shows what is not a finite number as ?', () => {
    expect([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY].map(formatCount)).toEqual([
      '?',
      '?',
      '?',
    ]);
  });
});
