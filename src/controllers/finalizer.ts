// Adding and removing one finalizer with server-side apply under a field manager of its own, so
// the list entry is ours alone and other controllers' finalizers are never touched.
import type { KubeObject } from '../kube/object.js';
import type { ResourceType } from '../kube/resources.js';
import type { ControllerContext } from './context.js';

export async function ensureFinalizer(ctx: ControllerContext, r: ResourceType, obj: KubeObject, finalizer: string, present: boolean): Promise<boolean> {
  const has = obj.metadata.finalizers?.includes(finalizer) ?? false;
  if (has === present) return false;
  await ctx.manager.client.apply(
    r,
    { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, finalizers: present ? [finalizer] : [] } },
    `kcp-operator-ts-finalizer-${finalizer.replace(/^.*\//, '')}`,
  );
  return true;
}
