// kcp_operator_component_available from the Available condition every controller writes through
// writeStatus, and removal of an object's series (availability and certificates) once the object is
// deleted, so a deleted component neither alerts nor leaves a series behind.
import type { Condition } from '../kube/conditions.js';
import type { Informer } from '../kube/informer.js';
import { componentAvailable } from '../kube/metrics.js';
import type { KubeObject } from '../kube/object.js';
import { forgetCertificates } from './certificate-metrics.js';
import type { ControllerContext } from './context.js';
import { frontProxyInformer, kubeconfigInformer, virtualWorkspaceInformer } from './watches.js';

const labels = (kind: string, o: KubeObject) => ({ namespace: o.metadata.namespace ?? '', kind, name: o.metadata.name ?? '' });

/** Called with each status written; a status without an Available condition leaves the gauge as is. */
export function recordAvailability(kind: string, obj: KubeObject, status: Record<string, unknown>): void {
  const available = (status.conditions as Condition[] | undefined)?.find((c) => c.type === 'Available');
  if (!available) return;
  componentAvailable.set(labels(kind, obj), available.status === 'True' ? 1 : 0);
}

export function forgetComponent(kind: string, obj: KubeObject): void {
  componentAvailable.remove(labels(kind, obj));
  forgetCertificates({ ...obj, kind });
}

/** Drops the series of every operator.kcp.io object deleted from the watched namespaces. */
export function watchComponentDeletions(ctx: ControllerContext): void {
  const informers: Array<[string, Informer<KubeObject>]> = [
    ['RootShard', ctx.rootShards],
    ['Shard', ctx.shards],
    ['CacheServer', ctx.cacheServers],
    ['FrontProxy', frontProxyInformer(ctx)],
    ['Kubeconfig', kubeconfigInformer(ctx)],
    ['VirtualWorkspace', virtualWorkspaceInformer(ctx)],
  ];
  for (const [kind, inf] of informers) inf.on({ delete: (o) => forgetComponent(kind, o) });
}
