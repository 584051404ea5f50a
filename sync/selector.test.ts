import { describe, expect, it } from 'vitest';
import { isValidLabelKey, matchesSelector, parseSelector, type Selector } from './selector.js';

const sel = (s: string): Selector => {
  const r = parseSelector(s);
  if (typeof r === 'string') throw new Error(r);
  return r;
};

describe('label selectors', () => {
  const labels = { env: 'prod', tier: 'web', 'example.com/team': 'a' };
  it.each([
    ['env=prod', true],
    ['env==prod', true],
    ['env=dev', false],
    ['env!=dev', true],
    ['missing!=x', true],
    ['env', true],
    ['!env', false],
    ['!missing', true],
    ['env in (dev, prod)', true],
    ['env in (dev)', false],
    ['env notin (dev)', true],
    ['missing notin (dev)', true],
    ['missing in (dev)', false],
    ['env=prod,tier=web', true],
    ['env=prod,tier=api', false],
    ['env in (prod,staging),example.com/team=a', true],
    ['example.com/team', true],
  ])('%s → %s', (s, want) => {
    expect(matchesSelector(sel(s), labels)).toBe(want);
  });

  it('matches against absent labels', () => {
    expect(matchesSelector(sel('!a'), undefined)).toBe(true);
    expect(matchesSelector(sel('a'), undefined)).toBe(false);
  });

  it.each(['', '  ', 'env in ()', 'env in (a', 'env=(a)', '=x', 'in (a)', 'a b', 'Bad Key=x', 'env=bad value', 'a=b,,c=d', '-a=b'])(
    'rejects %j',
    (s) => {
      expect(typeof parseSelector(s)).toBe('string');
    },
  );

  it('validates keys with prefixes', () => {
    expect(isValidLabelKey('sync.operator.kcp.io/accept')).toBe(true);
    expect(isValidLabelKey('a/b/c')).toBe(false);
    expect(isValidLabelKey('x'.repeat(64))).toBe(false);
  });
});
