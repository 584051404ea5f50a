// The informers the FrontProxy, CacheServer and Kubeconfig controllers add to the shared context
// (the Manager hands out one informer per resource and scope, so every caller gets the same), and
// a mapped watch that ignores status-only updates of the referenced object.
import type { Controller, UpdatePredicate } from '../kube/controller.js';
import type { Informer } from '../kube/informer.js';
import type { KubeObject } from '../kube/object.js';
import { ConfigMaps, PodDisruptionBudgets, Pods, type ResourceType } from '../kube/resources.js';
import { MANAGED_BY } from '../resources/common/labels.js';
import { FrontProxies, Kubeconfigs, VirtualWorkspaces, type ControllerContext } from './context.js';

// Our own writes reach these caches at once too (see controllerContext), so a reconcile right after
// a write compares against it instead of a stale copy.
function shared(ctx: ControllerContext, r: ResourceType, labelSelector?: string): Informer<KubeObject> {
  const inf = ctx.manager.informer(r, { namespace: ctx.settings.namespace, ...(labelSelector ? { labelSelector } : {}) });
  ctx.applier.observeWrites(r, inf);
  return inf;
}

export function frontProxyInformer(ctx: ControllerContext): Informer<KubeObject> {
  return shared(ctx, FrontProxies);
}

export function kubeconfigInformer(ctx: ControllerContext): Informer<KubeObject> {
  return shared(ctx, Kubeconfigs);
}

export function virtualWorkspaceInformer(ctx: ControllerContext): Informer<KubeObject> {
  return shared(ctx, VirtualWorkspaces);
}

/** Only the ConfigMaps this operator renders (front-proxy mapping files). */
export function configMapInformer(ctx: ControllerContext): Informer<KubeObject> {
  return shared(ctx, ConfigMaps, `app.kubernetes.io/managed-by=${MANAGED_BY}`);
}

/** Only the PodDisruptionBudgets this operator renders. */
export function podDisruptionBudgetInformer(ctx: ControllerContext): Informer<KubeObject> {
  return shared(ctx, PodDisruptionBudgets, `app.kubernetes.io/managed-by=${MANAGED_BY}`);
}

/** Only the Pods of Deployments this operator renders (their container restarts gate a rollout). */
export function podInformer(ctx: ControllerContext): Informer<KubeObject> {
  return ctx.manager.informer(Pods, { namespace: ctx.settings.namespace, labelSelector: `app.kubernetes.io/managed-by=${MANAGED_BY}` });
}

/** Spec changes, deletion and finalizer edits: what a controller acts on for its own kind. */
export const specOrDeletionChanged: UpdatePredicate<KubeObject> = (o, n) =>
  o.metadata.generation === undefined ||
  o.metadata.generation !== n.metadata.generation ||
  !!n.metadata.deletionTimestamp !== !!o.metadata.deletionTimestamp;

/**
 * Like Controller.watchMapped, but updates pass only when `predicate` says so: a referenced
 * object's status writes (every reconcile of a RootShard) need not wake everything that refers
 * to it. Adds and deletes always pass.
 */
export function watchMappedWhen<T extends KubeObject>(
  c: Controller,
  informer: Informer<T>,
  predicate: UpdatePredicate<T>,
  map: (obj: T) => string[],
): void {
  const enqueue = (o: T) => {
    for (const k of map(o)) c.queue.add(k);
  };
  informer.on({
    add: enqueue,
    update: (o, n) => {
      if (o === n || !predicate(o, n)) return;
      enqueue(n);
      enqueue(o);
    },
    delete: enqueue,
  });
}
