// Labels on every object the operator renders, as kcp-operator sets them, so selectors and tools
// keyed on them keep working.
export type Component = 'rootshard' | 'rootshard-proxy' | 'shard' | 'front-proxy' | 'cache-server' | 'kubeconfig' | 'virtual-workspace';

export const MANAGED_BY = 'kcp-operator';

export function selectorLabels(instance: string, component: Component): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'kcp',
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/component': component,
  };
}

export function componentLabels(instance: string, component: Component): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': MANAGED_BY, ...selectorLabels(instance, component) };
}
