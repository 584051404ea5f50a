// Deleting a Shard removes its registration (core.kcp.io/v1alpha1 Shard in the root workspace)
// from kcp, using the operator's own client certificate (<rs>-kcp-operator). kcp may be gone or
// unreachable, so the finalizer waits a bounded time and then lets go with a Warning: a namespace
// deletion must never wedge on it (kcp-operator's can).
import { describeError, isNotFound } from '../kube/errors.js';
import type { KubeObject } from '../kube/object.js';
import type { ResourceType } from '../kube/resources.js';
import type { ControllerContext } from './context.js';
import { dropFinalizer, ensureFinalizer } from './finalizer.js';
import { operatorKcpClient } from './kcp-client.js';

export const SHARD_FINALIZER = 'operator.kcp.io/shard-deregistration';
/** kcp-operator's finalizer for the same job; a Shard it managed still carries it. */
export const KCP_OPERATOR_SHARD_FINALIZER = 'operator.kcp.io/cleanup-shard';

export type DeregistrationResult = { done: true; how: 'deregistered' | 'not-registered' | 'gave-up'; detail?: string } | { done: false; detail: string };

export async function deregisterShard(
  ctx: ControllerContext,
  shard: KubeObject,
  root: { name: string; baseURL: string } | undefined,
  now = Date.now(),
): Promise<DeregistrationResult> {
  const deletedAt = Date.parse(shard.metadata.deletionTimestamp ?? '') || now;
  const overdue = now - deletedAt >= ctx.settings.deregistrationTimeoutMs;
  if (!root) return { done: true, how: 'gave-up', detail: 'its RootShard is gone, so kcp cannot be reached' };
  const ns = shard.metadata.namespace ?? '';
  const kcp = await operatorKcpClient(ctx, ns, root.name, root.baseURL, 'kcp-operator-ts/deregistration');
  if ('missing' in kcp) return overdue ? { done: true, how: 'gave-up', detail: kcp.missing } : { done: false, detail: kcp.missing };
  const client = kcp.client;
  try {
    await client.request({
      method: 'DELETE',
      path: `/clusters/root/apis/core.kcp.io/v1alpha1/shards/${encodeURIComponent(shard.metadata.name ?? '')}`,
      verb: 'delete',
      timeoutMs: 5000,
    });
    return { done: true, how: 'deregistered' };
  } catch (err) {
    if (isNotFound(err)) return { done: true, how: 'not-registered' };
    const detail = `cannot reach kcp at ${root.baseURL}: ${describeError(err)}`;
    return overdue ? { done: true, how: 'gave-up', detail } : { done: false, detail };
  } finally {
    client.close();
  }
}

/**
 * Adds or removes the Shard's deregistration finalizer. kcp-operator's goes either way: ours does
 * its job, and with kcp-operator gone nobody else would ever remove it.
 */
export async function setFinalizer(ctx: ControllerContext, r: ResourceType, obj: KubeObject, present: boolean): Promise<void> {
  await ensureFinalizer(ctx, r, obj, SHARD_FINALIZER, present);
  if (obj.metadata.finalizers?.includes(KCP_OPERATOR_SHARD_FINALIZER)) {
    await dropFinalizer(ctx, r, (await ctx.manager.client.get(r, obj.metadata.namespace, obj.metadata.name ?? '')), KCP_OPERATOR_SHARD_FINALIZER);
  }
}
