import { describe, expect, it } from 'vitest';
import { metaTime, microTime, setCondition } from './conditions.js';

describe('conditions', () => {
  const t1 = new Date('2026-01-01T00:00:00.123Z');
  const t2 = new Date('2026-01-01T01:00:00Z');

  it('moves lastTransitionTime only when the status flips', () => {
    let c = setCondition([], { type: 'Available', status: 'False', reason: 'Pending', message: 'a' }, t1);
    expect(c[0]?.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
    c = setCondition(c, { type: 'Available', status: 'False', reason: 'Other', message: 'b', observedGeneration: 2 }, t2);
    expect(c[0]).toMatchObject({ lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'Other', observedGeneration: 2 });
    c = setCondition(c, { type: 'Available', status: 'True', reason: 'Ready', message: '' }, t2);
    expect(c[0]?.lastTransitionTime).toBe('2026-01-01T01:00:00Z');
    expect(c).toHaveLength(1);
  });

  it('formats metav1.Time and MicroTime', () => {
    expect(metaTime(t1)).toBe('2026-01-01T00:00:00Z');
    expect(microTime(t1)).toBe('2026-01-01T00:00:00.123000Z');
  });
});
