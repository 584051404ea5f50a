// Applying, or removing, the PodDisruptionBudget beside a component's Deployment. The budget is
// derived from the desired Deployment (src/resources/common/pdb.ts); when none is wanted any more
// (one replica, enabled: false) the one this operator made is deleted, and only that one: it must
// carry our label (the informer sees nothing else) and be controlled by the Deployment's owner.
import type { PodDisruptionBudgetSpec } from '../api/disruption.js';
import { isNotFound } from '../kube/errors.js';
import type { KubeObject } from '../kube/object.js';
import { PodDisruptionBudgets } from '../kube/resources.js';
import { podDisruptionBudget } from '../resources/common/pdb.js';
import type { ControllerContext } from './context.js';
import { podDisruptionBudgetInformer } from './watches.js';

/** Returns whether a write request was made. */
export async function reconcilePodDisruptionBudget(
  ctx: ControllerContext,
  deployment: KubeObject,
  policy: PodDisruptionBudgetSpec | undefined,
): Promise<boolean> {
  const ns = deployment.metadata.namespace ?? '';
  const name = deployment.metadata.name ?? '';
  const live = podDisruptionBudgetInformer(ctx).getByName(ns, name);
  const desired = podDisruptionBudget(deployment, policy);
  if (desired) return (await ctx.applier.apply(PodDisruptionBudgets, desired, live)).changed;
  const owner = deployment.metadata.ownerReferences?.find((r) => r.controller)?.uid;
  const ours = !!owner && !!live?.metadata.ownerReferences?.some((r) => r.controller && r.uid === owner);
  if (!live || !ours) return false;
  try {
    // The uid precondition: never a same-named budget someone created since the cache last saw ours.
    await ctx.manager.client.delete(PodDisruptionBudgets, ns, name, { uid: live.metadata.uid });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return true;
}
