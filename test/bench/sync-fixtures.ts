// Fixtures for the sync sidecar, shared by its integration tests (test/integration/sync-*.test.ts)
// and its benchmark: the sidecar in-process on real control planes, under the RBAC that
// docs/sync.md documents (never as admin), plus builders for sources, accepting namespaces and
// cluster registrations. It lives beside the benchmark because both tiers use it.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadKubeconfigFile } from '../../src/kube/kubeconfig.js';
import { KubeClient } from '../../src/kube/client.js';
import type { Controller } from '../../src/kube/controller.js';
import { isAlreadyExists, isNotFound } from '../../src/kube/errors.js';
import { createLogger, silentLogger } from '../../src/kube/log.js';
import { Manager } from '../../src/kube/manager.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Namespaces, Secrets, type ResourceType } from '../../src/kube/resources.js';
import { CLUSTER_LABEL, KUBECONFIG_KEY } from '../../sync/keys.js';
import { acceptMarks, sourceMarks, type SyncTargets } from '../../sync/marks.js';
import { localRbac, remoteRbac } from '../../sync/rbac.js';
import { SyncSidecar, type SidecarOptions } from '../../sync/sidecar.js';
import type { ControlPlane } from '../../local/control-plane.js';

const rbac = (kind: string, plural: string, namespaced: boolean): ResourceType => ({
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind,
  plural,
  namespaced,
});
const RBAC_TYPES: Record<string, ResourceType> = {
  ClusterRole: rbac('ClusterRole', 'clusterroles', false),
  ClusterRoleBinding: rbac('ClusterRoleBinding', 'clusterrolebindings', false),
  Role: rbac('Role', 'roles', true),
  RoleBinding: rbac('RoleBinding', 'rolebindings', true),
};

export const suffix = (): string => randomBytes(3).toString('hex');

export async function applyAll(client: KubeClient, objs: KubeObject[]): Promise<void> {
  for (const o of objs) {
    const r = RBAC_TYPES[o.kind ?? ''] ?? (o.kind === 'Namespace' ? Namespaces : undefined);
    if (!r) throw new Error(`no resource type for ${o.kind}`);
    await client.apply(r, o, 'sync-tests');
  }
}

/** Creates a namespace, or merges `marks` into an existing one. */
export async function ensureNamespace(client: KubeClient, name: string, marks?: { labels?: Record<string, string>; annotations?: Record<string, string> }): Promise<void> {
  try {
    await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, ...marks } });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    if (marks) await client.patch(Namespaces, undefined, name, { metadata: marks }, 'merge');
  }
}

/** A kubeconfig (file path) for user `kcp-sync` on `cp`, with the local sidecar RBAC bound. */
export async function localIdentity(cp: ControlPlane, admin: KubeClient, namespace: string): Promise<string> {
  await ensureNamespace(admin, namespace);
  await applyAll(admin, localRbac(namespace, { kind: 'User', name: 'kcp-sync' }));
  return cp.kubeconfigFor('kcp-sync');
}

/** A kubeconfig (YAML text) for user `kcp-sync-remote` on `cp`, with the remote RBAC bound. */
export async function remoteIdentity(cp: ControlPlane, admin: KubeClient, user = 'kcp-sync-remote'): Promise<string> {
  await applyAll(admin, remoteRbac({ kind: 'User', name: user }, `${user}`));
  return readFile(await cp.kubeconfigFor(user), 'utf8');
}

export function registration(namespace: string, name: string, kubeconfig: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { ...labels, [CLUSTER_LABEL]: 'true' } },
    type: 'Opaque',
    data: { [KUBECONFIG_KEY]: Buffer.from(kubeconfig).toString('base64') },
  };
}

export const b64 = (s: string): string => Buffer.from(s).toString('base64');

export function secretSource(namespace: string, name: string, data: Record<string, string>, targets: SyncTargets | undefined, type = 'Opaque'): KubeObject {
  const marks = targets ? sourceMarks(targets) : { labels: {}, annotations: {} };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: marks.labels, annotations: marks.annotations },
    type,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

export function configMapSource(namespace: string, name: string, data: Record<string, string>, targets: SyncTargets | undefined): KubeObject {
  const marks = targets ? sourceMarks(targets) : { labels: {}, annotations: {} };
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: marks.labels, annotations: marks.annotations }, data };
}

/** Creates (or re-marks) a namespace that accepts `patterns`; no patterns: a plain namespace. */
export async function acceptingNamespace(client: KubeClient, name: string, patterns: string[] | undefined, labels: Record<string, string> = {}): Promise<void> {
  const marks = patterns ? acceptMarks(patterns) : { labels: {}, annotations: {} };
  await ensureNamespace(client, name, { labels: { ...labels, ...marks.labels }, annotations: marks.annotations });
}

export async function getOrUndefined(client: KubeClient, r: ResourceType, ns: string, name: string): Promise<KubeObject | undefined> {
  try {
    return await client.get(r, ns, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export const decoded = (o: KubeObject | undefined): Record<string, string> | undefined =>
  o?.data ? Object.fromEntries(Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])) : undefined;

export interface RunningSidecar {
  sidecar: SyncSidecar;
  manager: Manager;
  stop(): Promise<void>;
}

/** The sidecar in-process against `kubeconfigPath` (its local cluster). Fast timings for tests. */
export async function startSidecar(kubeconfigPath: string, opts: Omit<SidecarOptions, 'manager' | 'kubeConfig'>): Promise<RunningSidecar> {
  const kubeConfig = loadKubeconfigFile(kubeconfigPath);
  const client = await KubeClient.fromKubeConfig(kubeConfig, { userAgent: `kcp-sync/manager`, qps: 0 });
  const logger = process.env.SYNC_TEST_LOG ? createLogger({ name: 'kcp-sync', level: process.env.SYNC_TEST_LOG }) : silentLogger;
  const manager = new Manager({ client, logger });
  const sidecar = new SyncSidecar({
    resyncMs: 0,
    conflictRecheckMs: 1_000,
    statusDelayMs: 100,
    probeMinMs: 200,
    probeMaxMs: 1_000,
    deregisterTimeoutMs: 20_000,
    ...opts,
    manager,
    kubeConfig,
  });
  await manager.start();
  await sidecar.start();
  return {
    sidecar,
    manager,
    async stop() {
      await sidecar.stop();
      await manager.stop();
    },
  };
}

/**
 * A full resync (every source and replica checked again on every cluster, every source's status
 * recomputed), awaited to its end rather than given a fixed time: resolves once every Ready
 * cluster's controller and the status controller have reconciled every source key since the call
 * and have nothing queued or in flight.
 */
export async function resyncSettled(sidecar: SyncSidecar, timeoutMs = 60_000): Promise<void> {
  const controllers = (): Controller[] =>
    [...[...sidecar.engine.clusters.values()].filter((c) => c.isReady()).map((c) => c.controller), sidecar.engine.statusController].filter(
      (c): c is Controller => c !== undefined,
    );
  const before = new Map(controllers().map((c) => [c, new Map(c.reconciles)]));
  const keys = sidecar.engine.sourceKeys();
  sidecar.resyncAll();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const settled = controllers().every(
      (c) => keys.every((k) => (c.reconciles.get(k) ?? 0) > (before.get(c)?.get(k) ?? 0)) && c.queue.length === 0 && c.queue.processingCount === 0,
    );
    if (settled) return;
    if (Date.now() > deadline) throw new Error(`resync not settled after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export { ConfigMaps, Secrets };
