import { describe, expect, it } from 'vitest';
import { globMatch, isValidSegment, parseSourcePattern, splitList } from './patterns.js';

describe('globMatch', () => {
  it.each([
    ['team-*', 'team-a', true],
    ['team-*', 'team-', true],
    ['team-*', 'teams', false],
    ['*', '', true],
    ['*', 'anything', true],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['*-prod-*', 'eu-prod-1', true],
    ['*-prod-*', 'eu-prod', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['**x', 'abx', true],
    ['a*b*c', 'aXbYbZc', true],
    ['a*b*c', 'aXbYbZ', false],
    ['.', 'a', false], // no regex semantics
    ['[a]', 'a', false],
  ])('%s ~ %s → %s', (p, v, want) => {
    expect(globMatch(p, v)).toBe(want);
  });

  it('stays fast on a pathological pattern', () => {
    // A backtracking matcher tries every way to split 2,000 characters among 8 stars (~10^22):
    // it would never finish. This one is O(n·m), well under a millisecond. The bound only has to
    // tell those apart, so it is set where no load on a test machine reaches (the figure itself
    // belongs in a benchmark).
    const t0 = performance.now();
    expect(globMatch('*a*a*a*a*a*a*a*a*b', 'a'.repeat(2000))).toBe(false);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

describe('lists and segments', () => {
  it('splits on commas and newlines, trims, drops empties', () => {
    expect(splitList(' a, b ,,\nc\n')).toEqual(['a', 'b', 'c']);
    expect(splitList(undefined)).toEqual([]);
    expect(splitList('')).toEqual([]);
  });
  it('accepts name characters and wildcards only', () => {
    expect(isValidSegment('team-*')).toBe(true);
    expect(isValidSegment('a.b_c?')).toBe(true);
    expect(isValidSegment('')).toBe(false);
    expect(isValidSegment('a/b')).toBe(false);
    expect(isValidSegment('a b')).toBe(false);
    expect(isValidSegment('(.*)')).toBe(false);
  });
});

describe('parseSourcePattern', () => {
  it('reads [cluster/]namespace/name', () => {
    expect(parseSourcePattern('ns/name')).toEqual({ cluster: undefined, namespace: 'ns', name: 'name' });
    expect(parseSourcePattern('hub/ns/*')).toEqual({ cluster: 'hub', namespace: 'ns', name: '*' });
  });
  it('rejects anything else', () => {
    for (const bad of ['name', 'a/b/c/d', '/b', 'a//c', 'a/b c', 'ns/na|me']) expect(typeof parseSourcePattern(bad)).toBe('string');
  });
});
