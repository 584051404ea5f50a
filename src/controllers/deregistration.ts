// Deleting a Shard removes its registration (core.kcp.io/v1alpha1 Shard in the root workspace)
// from kcp, using the operator's own client certificate (<rs>-kcp-operator). kcp may be gone or
// unreachable, so the finalizer waits a bounded time and then lets go with a Warning: a namespace
// deletion must never wedge on it (kcp-operator's can).
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../kube/client.js';
import { describeError, isNotFound } from '../kube/errors.js';
import type { KubeObject } from '../kube/object.js';
import type { ResourceType } from '../kube/resources.js';
import { secretData, type ControllerContext } from './context.js';

export const SHARD_FINALIZER = 'operator.kcp.io/shard-deregistration';
const FINALIZER_MANAGER = 'kcp-operator-ts-finalizer';

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
  const cred = secretData(ctx.secrets.getByName(ns, `${root.name}-kcp-operator`));
  if (!cred?.['tls.crt'] || !cred['tls.key']) {
    return overdue ? { done: true, how: 'gave-up', detail: `Secret ${root.name}-kcp-operator is missing` } : { done: false, detail: `Secret ${root.name}-kcp-operator is missing` };
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'root', server: root.baseURL, caData: Buffer.from(cred['ca.crt'] ?? '').toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'operator', certData: Buffer.from(cred['tls.crt']).toString('base64'), keyData: Buffer.from(cred['tls.key']).toString('base64') }],
    contexts: [{ name: 'root', cluster: 'root', user: 'operator' }],
    currentContext: 'root',
  });
  const client = await KubeClient.fromKubeConfig(kc, { userAgent: 'kcp-operator-ts/deregistration', qps: 0 });
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

/** Adds or removes our finalizer with its own field manager (SSA on a set-typed list). */
export async function setFinalizer(ctx: ControllerContext, r: ResourceType, obj: KubeObject, present: boolean): Promise<void> {
  const has = obj.metadata.finalizers?.includes(SHARD_FINALIZER) ?? false;
  if (has === present) return;
  await ctx.manager.client.apply(
    r,
    {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, finalizers: present ? [SHARD_FINALIZER] : [] },
    },
    FINALIZER_MANAGER,
  );
}
