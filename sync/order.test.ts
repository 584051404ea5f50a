import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byCodeUnit } from './order.js';

const kubeName = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/);

describe('byCodeUnit', () => {
  it('orders Kubernetes names as localeCompare did, so existing statuses keep their order', () => {
    fc.assert(
      fc.property(kubeName, kubeName, (a, b) => {
        expect(Math.sign(byCodeUnit(a, b))).toBe(Math.sign(a.localeCompare(b)));
      }),
      { numRuns: 5_000 },
    );
  });

  it('is a total order on any strings: antisymmetric and transitive, 0 only for equal strings', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (a, b, c) => {
        // A sum, not toBe(-x): toBe tells 0 from -0.
        expect(Math.sign(byCodeUnit(a, b)) + Math.sign(byCodeUnit(b, a))).toBe(0);
        expect(byCodeUnit(a, b) === 0).toBe(a === b);
        if (byCodeUnit(a, b) <= 0 && byCodeUnit(b, c) <= 0) expect(byCodeUnit(a, c)).toBeLessThanOrEqual(0);
      }),
    );
  });

  it('differs from localeCompare where locale rules apply (upper case), which is why it is used', () => {
    expect(byCodeUnit('B', 'a')).toBe(-1);
    expect('B'.localeCompare('a')).toBe(1);
  });
});
