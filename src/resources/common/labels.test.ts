import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../kube/object.js';
import { componentLabels, keepLiveSelector, selectorLabels } from './labels.js';

const deployment = (selector: Record<string, unknown>, podLabels = componentLabels('root', 'rootshard')): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'root-kcp', namespace: 'ns' },
  spec: { selector, template: { metadata: { labels: podLabels } } },
});

describe('selectors', () => {
  it('are kcp-operator v0.9.0’s four labels, managed-by included', () => {
    expect(selectorLabels('root', 'rootshard')).toEqual({
      'app.kubernetes.io/name': 'kcp',
      'app.kubernetes.io/instance': 'root',
      'app.kubernetes.io/component': 'rootshard',
      'app.kubernetes.io/managed-by': 'kcp-operator',
    });
  });

  const ours = deployment({ matchLabels: selectorLabels('root', 'rootshard') });
  const threeLabels = { 'app.kubernetes.io/name': 'kcp', 'app.kubernetes.io/instance': 'root', 'app.kubernetes.io/component': 'rootshard' };

  it('renders ours for a fresh Deployment and for one that already has them', () => {
    expect(keepLiveSelector(ours, undefined)).toBe(ours);
    expect(keepLiveSelector(ours, deployment({ matchLabels: selectorLabels('root', 'rootshard') }))).toBe(ours);
  });

  it('keeps the immutable three-label selector of an earlier version, which still selects our Pods', () => {
    const out = keepLiveSelector(ours, deployment({ matchLabels: threeLabels }));
    expect((out.spec as { selector: unknown }).selector).toEqual({ matchLabels: threeLabels });
    // Only the selector changes: the Pods keep all four labels.
    expect((out.spec as { template: unknown }).template).toEqual((ours.spec as { template: unknown }).template);
  });

  it('does not keep a live selector that would not select the Pods we render', () => {
    expect(keepLiveSelector(ours, deployment({ matchLabels: { ...threeLabels, 'app.kubernetes.io/instance': 'other' } }))).toBe(ours);
    expect(keepLiveSelector(ours, deployment({ matchLabels: { app: 'kcp' } }))).toBe(ours);
    expect(keepLiveSelector(ours, deployment({ matchLabels: threeLabels, matchExpressions: [{ key: 'x', operator: 'Exists' }] }))).toBe(ours);
  });
});
