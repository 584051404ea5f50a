import { describe, expect, it } from 'vitest';
import { ACCEPT_FROM, ACCEPT_LABEL, SOURCE_LABEL, TO_CLUSTERS, TO_CLUSTER_SELECTOR, TO_NAMESPACES, TO_NAMESPACE_SELECTOR } from './keys.js';
import { acceptMarks, sourceMarks, withMarks } from './marks.js';
import { parseDuration, parseLabels } from './duration.js';
import { parseAcceptance, parseSourceRules } from './rules.js';

describe('marks for the operator', () => {
  it('source marks round-trip through the rules parser', () => {
    const m = sourceMarks({ namespaces: ['a', 'team-*'], namespaceSelector: 'env=prod', clusters: ['edge-*'], clusterSelector: 'region in (eu)' });
    expect(m.labels).toEqual({ [SOURCE_LABEL]: 'true' });
    expect(m.annotations).toEqual({
      [TO_NAMESPACES]: 'a,team-*',
      [TO_NAMESPACE_SELECTOR]: 'env=prod',
      [TO_CLUSTERS]: 'edge-*',
      [TO_CLUSTER_SELECTOR]: 'region in (eu)',
    });
    expect(typeof parseSourceRules(m.annotations)).toBe('object');
  });

  it('accept marks round-trip, and invalid input throws', () => {
    const m = acceptMarks(['hub/platform/*', 'platform/db']);
    expect(m.labels).toEqual({ [ACCEPT_LABEL]: 'true' });
    expect(m.annotations[ACCEPT_FROM]).toBe('hub/platform/*,platform/db');
    expect(parseAcceptance(m).patterns).toHaveLength(2);
    expect(() => acceptMarks(['nope'])).toThrow();
    expect(() => sourceMarks({ namespaces: ['a/b'] })).toThrow();
    expect(() => sourceMarks({ namespaceSelector: 'in (' })).toThrow();
  });

  it('merges into an object without mutating it', () => {
    const obj = { metadata: { name: 'x', labels: { a: 'b' } } };
    const out = withMarks(obj, sourceMarks({ namespaces: ['n'] }));
    expect(out.metadata.labels).toEqual({ a: 'b', [SOURCE_LABEL]: 'true' });
    expect(obj.metadata.labels).toEqual({ a: 'b' });
  });
});

describe('flag values', () => {
  it('parses durations and label lists', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('2')).toBe(2000);
    expect(() => parseDuration('soon')).toThrow();
    expect(parseLabels('region=eu, tier = a')).toEqual({ region: 'eu', tier: 'a' });
    expect(() => parseLabels('novalue')).toThrow();
  });
});
