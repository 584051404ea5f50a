// Adding and removing one finalizer with server-side apply under a field manager of its own, so
// the list entry is ours alone and other controllers' finalizers are never touched.
import type { KubeObject } from '../kube/object.js';
import type { ResourceType } from '../kube/resources.js';
import type { ControllerContext } from './context.js';

export async function ensureFinalizer(ctx: ControllerContext, r: ResourceType, obj: KubeObject, finalizer: string, present: boolean): Promise<boolean> {
  const has = obj.metadata.finalizers?.includes(finalizer) ?? false;
  if (has === present) return false;
  const out = await ctx.manager.client.apply(
    r,
    { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, finalizers: present ? [finalizer] : [] } },
    `kcp-operator-ts-finalizer-${finalizer.replace(/^.*\//, '')}`,
  );
  // An entry another manager wrote survives our apply: kcp-operator uses the same name for the
  // same cleanup (cleanup-rbac). The cleanup is done, so it goes too, or deletion would hang.
  if (!present) await dropFinalizer(ctx, r, out, finalizer);
  return true;
}

/**
 * Removes a finalizer whoever wrote it: one whose job this operator does (kcp-operator's, after
 * a migration, with nobody left to remove it). A JSON patch that tests the entry first, so a list
 * that changed meanwhile fails the request instead of losing someone else's finalizer.
 */
export async function dropFinalizer(ctx: ControllerContext, r: ResourceType, obj: KubeObject, finalizer: string): Promise<boolean> {
  const i = obj.metadata.finalizers?.indexOf(finalizer) ?? -1;
  if (i < 0) return false;
  await ctx.manager.client.patch(
    r,
    obj.metadata.namespace,
    obj.metadata.name ?? '',
    [
      { op: 'test', path: `/metadata/finalizers/${i}`, value: finalizer },
      { op: 'remove', path: `/metadata/finalizers/${i}` },
    ],
    'json',
  );
  return true;
}
