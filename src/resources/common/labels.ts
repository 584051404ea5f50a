// Labels on every object the operator renders, as kcp-operator sets them, so selectors and tools
// keyed on them keep working.
import type { KubeObject } from '../../kube/object.js';

export type Component = 'rootshard' | 'rootshard-proxy' | 'shard' | 'front-proxy' | 'cache-server' | 'kubeconfig' | 'virtual-workspace';

export const MANAGED_BY = 'kcp-operator';

/**
 * Deployment and Service selectors: kcp-operator v0.9.0's four labels, managed-by included.
 * A Deployment's selector is immutable, so anything less than the same four labels would make
 * every Deployment kcp-operator created impossible to update in place.
 */
export function selectorLabels(instance: string, component: Component): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'kcp',
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
}

export function componentLabels(instance: string, component: Component): Record<string, string> {
  return selectorLabels(instance, component);
}

type Selector = { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };

const selectorOf = (o: KubeObject | undefined): Selector | undefined => (o?.spec as { selector?: Selector } | undefined)?.selector;

/**
 * The Deployment to apply, given the live one: `desired` itself, unless the live Deployment's
 * (immutable) selector differs from ours and still selects the Pods we render; then the live
 * selector is kept. Earlier versions of this operator selected on three labels (no managed-by);
 * replacing their selector would fail with 422 and leave the Deployment stuck, and a kept selector
 * that matches our Pod labels behaves the same.
 */
export function keepLiveSelector(desired: KubeObject, live: KubeObject | undefined): KubeObject {
  const liveSelector = selectorOf(live);
  const spec = desired.spec as { selector?: Selector; template?: { metadata?: { labels?: Record<string, string> } } } | undefined;
  if (!liveSelector || !spec?.selector) return desired;
  const liveLabels = liveSelector.matchLabels ?? {};
  const podLabels = spec.template?.metadata?.labels ?? {};
  const same = JSON.stringify(Object.entries(liveLabels).sort()) === JSON.stringify(Object.entries(spec.selector.matchLabels ?? {}).sort());
  // Only a plain matchLabels selector is understood here; anything else is left for the server to judge.
  if (same || (liveSelector.matchExpressions?.length ?? 0) > 0 || Object.keys(liveLabels).length === 0) return desired;
  if (!Object.entries(liveLabels).every(([k, v]) => podLabels[k] === v)) return desired;
  return { ...desired, spec: { ...spec, selector: { matchLabels: { ...liveLabels } } } };
}
