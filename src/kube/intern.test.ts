import { describe, expect, it } from 'vitest';
import { StringInterner } from './intern.js';

describe('StringInterner', () => {
  it('returns equal strings and copies maps with the same entries', () => {
    const i = new StringInterner();
    const a = JSON.parse('"hub/src/s-1"') as string;
    const b = JSON.parse('"hub/src/s-1"') as string;
    expect(i.intern(a)).toBe(a);
    expect(i.intern(b)).toBe(a);
    expect(i.intern(undefined)).toBeUndefined();
    expect(i.size).toBe(1);
    const m = { x: 'hub', y: 'hub/src/s-1' };
    const copy = i.record(m);
    expect(copy).toEqual(m);
    expect(copy).not.toBe(m);
    expect(i.record(undefined)).toBeUndefined();
  });

  it('shares one frozen copy of each distinct string map', () => {
    const i = new StringInterner();
    const a = i.sharedRecord(JSON.parse('{"origin-cluster":"hub"}') as Record<string, string>);
    const b = i.sharedRecord(JSON.parse('{"origin-cluster":"hub"}') as Record<string, string>);
    const c = i.sharedRecord({ 'origin-cluster': 'edge' });
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(c).toEqual({ 'origin-cluster': 'edge' });
    expect(Object.isFrozen(a)).toBe(true);
    expect(i.sharedRecord(undefined)).toBeUndefined();
  });

  it('never holds more than its bound (a stream of unique values, e.g. content hashes, cannot grow it)', () => {
    const i = new StringInterner(100);
    let most = 0;
    for (let n = 0; n < 1_000; n++) {
      i.intern(`hash-${n}`);
      most = Math.max(most, i.size);
    }
    expect(most).toBe(100);
  });
});
