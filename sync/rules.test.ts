import { describe, expect, it } from 'vitest';
import { ACCEPT_FROM, ACCEPT_LABEL, TO_CLUSTERS, TO_CLUSTER_SELECTOR, TO_NAMESPACES, TO_NAMESPACE_SELECTOR } from './keys.js';
import { accepts, literalNamespaces, parseAcceptance, parseSourceRules, targetsCluster, targetsNamespace, type SourceRules } from './rules.js';

const rules = (a: Record<string, string>): SourceRules => {
  const r = parseSourceRules(a);
  if (typeof r === 'string') throw new Error(r);
  return r;
};

describe('source rules', () => {
  it('names namespaces by name, glob or selector (OR)', () => {
    const r = rules({ [TO_NAMESPACES]: 'a, team-*', [TO_NAMESPACE_SELECTOR]: 'env=prod' });
    expect(targetsNamespace(r, { name: 'a' })).toBe(true);
    expect(targetsNamespace(r, { name: 'team-x' })).toBe(true);
    expect(targetsNamespace(r, { name: 'other', labels: { env: 'prod' } })).toBe(true);
    expect(targetsNamespace(r, { name: 'other', labels: { env: 'dev' } })).toBe(false);
    expect(literalNamespaces(r)).toEqual(['a']);
  });

  it('names nothing when nothing is given; an empty selector selects nothing', () => {
    const r = rules({ [TO_NAMESPACE_SELECTOR]: '  ' });
    expect(targetsNamespace(r, { name: 'a', labels: {} })).toBe(false);
    expect(targetsNamespace(rules({}), { name: 'a' })).toBe(false);
  });

  it('defaults to the own cluster only', () => {
    const r = rules({ [TO_NAMESPACES]: 'a' });
    expect(targetsCluster(r, { name: 'hub' }, 'hub')).toBe(true);
    expect(targetsCluster(r, { name: 'edge' }, 'hub')).toBe(false);
  });

  it('names clusters by name, glob or label selector; naming some excludes the own unless named', () => {
    const r = rules({ [TO_CLUSTERS]: 'edge-*', [TO_CLUSTER_SELECTOR]: 'region=us' });
    expect(targetsCluster(r, { name: 'edge-1' }, 'hub')).toBe(true);
    expect(targetsCluster(r, { name: 'far', labels: { region: 'us' } }, 'hub')).toBe(true);
    expect(targetsCluster(r, { name: 'hub' }, 'hub')).toBe(false);
    expect(targetsCluster(rules({ [TO_CLUSTERS]: '' }), { name: 'hub' }, 'hub')).toBe(false);
  });

  it('is invalid as a whole when any entry is invalid', () => {
    expect(parseSourceRules({ [TO_NAMESPACES]: 'a, b/c' })).toMatch(/not a namespace name/);
    expect(parseSourceRules({ [TO_CLUSTERS]: 'x y' })).toMatch(/not a cluster name/);
    expect(parseSourceRules({ [TO_NAMESPACE_SELECTOR]: 'env in (' })).toMatch(/to-namespace-selector/);
    expect(parseSourceRules({ [TO_CLUSTER_SELECTOR]: '!' })).toMatch(/to-cluster-selector/);
  });
});

describe('destination acceptance', () => {
  const ns = (annotation: string | undefined, label = 'true') => {
    const annotations: Record<string, string> = annotation === undefined ? {} : { [ACCEPT_FROM]: annotation };
    return { labels: { [ACCEPT_LABEL]: label }, annotations };
  };
  const src = { cluster: 'hub', namespace: 'platform', name: 'db' };

  it('needs both the label and a matching pattern', () => {
    expect(accepts(parseAcceptance(ns('platform/db')), src, 'hub')).toBe(true);
    expect(accepts(parseAcceptance(ns('platform/db', 'false')), src, 'hub')).toBe(false);
    expect(accepts(parseAcceptance(ns(undefined)), src, 'hub')).toBe(false);
    expect(accepts(parseAcceptance({ annotations: { [ACCEPT_FROM]: 'platform/db' } }), src, 'hub')).toBe(false);
    expect(accepts(parseAcceptance(ns('platform/other')), src, 'hub')).toBe(false);
    expect(accepts(parseAcceptance(ns('other/db')), src, 'hub')).toBe(false);
  });

  it('reads an unqualified pattern as "from this cluster"', () => {
    expect(accepts(parseAcceptance(ns('platform/db')), src, 'edge')).toBe(false);
    expect(accepts(parseAcceptance(ns('hub/platform/db')), src, 'edge')).toBe(true);
    expect(accepts(parseAcceptance(ns('*/platform/*')), src, 'edge')).toBe(true);
    expect(accepts(parseAcceptance(ns('other/platform/db')), src, 'edge')).toBe(false);
  });

  it('ignores invalid entries but keeps the valid ones', () => {
    const a = parseAcceptance(ns('bad, platform/db, a/b/c/d'));
    expect(a.errors).toHaveLength(2);
    expect(accepts(a, src, 'hub')).toBe(true);
  });
});
