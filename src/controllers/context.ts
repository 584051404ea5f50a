// What every controller shares: the operator's own kinds as REST resources, the informers over
// them and over the children, one Applier (field manager) and one EventRecorder.
import { API_GROUP, API_VERSION, CACHE_SERVER, FRONT_PROXY, KUBECONFIG, ROOT_SHARD, SHARD, VIRTUAL_WORKSPACE, type KindNames } from '../api/names.js';
import { Applier } from '../kube/apply.js';
import { EventRecorder } from '../kube/events.js';
import type { Informer } from '../kube/informer.js';
import type { Manager } from '../kube/manager.js';
import type { KubeObject } from '../kube/object.js';
import { ObjectMemo } from '../kube/object-memo.js';
import { ConfigMaps, Deployments, Secrets, Services, type ResourceType } from '../kube/resources.js';
import { ORIGIN_CLUSTER_LABEL } from '../../sync/keys.js';
import { CertManagerWatch } from './cert-manager.js';

export const FIELD_MANAGER = 'kcp-operator-ts';

const crd = (k: KindNames): ResourceType => ({ group: API_GROUP, version: API_VERSION, kind: k.kind, plural: k.plural, namespaced: true });
export const RootShards = crd(ROOT_SHARD);
export const Shards = crd(SHARD);
export const FrontProxies = crd(FRONT_PROXY);
export const CacheServers = crd(CACHE_SERVER);
export const Kubeconfigs = crd(KUBECONFIG);
export const VirtualWorkspaces = crd(VIRTUAL_WORKSPACE);

export interface OperatorSettings {
  /** Watch only this namespace; undefined watches all. */
  namespace: string | undefined;
  /** How long a deleted Shard waits for kcp to confirm deregistration before letting go. */
  deregistrationTimeoutMs: number;
  concurrency: number;
}

export const DEFAULT_SETTINGS: OperatorSettings = { namespace: undefined, deregistrationTimeoutMs: 120_000, concurrency: 4 };

export interface ControllerContext {
  manager: Manager;
  settings: OperatorSettings;
  applier: Applier;
  events: EventRecorder;
  rootShards: Informer<KubeObject>;
  shards: Informer<KubeObject>;
  cacheServers: Informer<KubeObject>;
  secrets: Informer<KubeObject>;
  deployments: Informer<KubeObject>;
  services: Informer<KubeObject>;
  /** Replicas the sync sidecar made here (join info, join requests, join responses). */
  replicas: Informer<KubeObject>;
  /** cert-manager Certificates, once cert-manager's API exists (kcp-operator's leftovers). */
  certManager: CertManagerWatch;
}

export function controllerContext(manager: Manager, settings: OperatorSettings): ControllerContext {
  const scope = { namespace: settings.namespace };
  const ctx: ControllerContext = {
    manager,
    settings,
    applier: new Applier(manager.client, FIELD_MANAGER, { takeOverFrom: isKcpOperatorRef, absorbManagers: (m) => KCP_OPERATOR_FIELD_MANAGERS.includes(m) }),
    events: new EventRecorder(manager.client, FIELD_MANAGER, process.env.POD_NAME ?? 'local', { logger: manager.log }),
    rootShards: manager.informer(RootShards, scope),
    shards: manager.informer(Shards, scope),
    cacheServers: manager.informer(CacheServers, scope),
    // Secrets in the watched namespaces: the operator's own and the ones specs refer to (CA
    // bundles, etcd TLS, BYO CAs). kcp-operator watches the same set; scope with --namespace.
    secrets: manager.informer(Secrets, scope),
    deployments: manager.informer(Deployments, { ...scope, labelSelector: 'app.kubernetes.io/managed-by=kcp-operator' }),
    services: manager.informer(Services, { ...scope, labelSelector: 'app.kubernetes.io/managed-by=kcp-operator' }),
    // Only the sidecar's replicas (label-selected), never every ConfigMap.
    replicas: manager.informer(ConfigMaps, { ...scope, labelSelector: ORIGIN_CLUSTER_LABEL }),
    certManager: new CertManagerWatch(manager.client, settings.namespace, manager.log),
  };
  manager.onStop(() => ctx.certManager.stop());
  // Our own writes reach the caches at once, so a reconcile right after a write does not repeat it.
  const pairs: Array<[ResourceType, Informer<KubeObject>]> = [
    [RootShards, ctx.rootShards],
    [Shards, ctx.shards],
    [CacheServers, ctx.cacheServers],
    [Secrets, ctx.secrets],
    [Deployments, ctx.deployments],
    [Services, ctx.services],
  ];
  for (const [r, inf] of pairs) ctx.applier.observeWrites(r, inf);
  return ctx;
}

/**
 * The field managers kcp-operator writes as: v0.9.0's image runs /manager, and the API server
 * names an update's manager after the client's binary; `kcp-operator` when run from a build.
 * Their fields on an object we render become ours the first time we apply it, so what we do
 * not render (kcp-operator's volumes, its revision labels) goes instead of staying half-owned.
 */
export const KCP_OPERATOR_FIELD_MANAGERS: readonly string[] = ['manager', 'kcp-operator'];

/**
 * A controller reference kcp-operator wrote (to its CRs, or to its internal deploy.operator.kcp.io
 * Compiled* objects): after a migration, the objects it owned are ours to render.
 */
export function isKcpOperatorRef(ref: { apiVersion: string }): boolean {
  return /^(deploy\.)?operator\.kcp\.io\//.test(ref.apiVersion);
}

/** Decoded `data` of a cached Secret (base64 → UTF-8). */
export function secretData(secret: KubeObject | undefined): Record<string, string> | undefined {
  const data = secret?.data as Record<string, string> | undefined;
  if (!secret) return undefined;
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

// One memo per Secrets informer and purpose, following that informer's changes and deletions.
const memos = new WeakMap<Informer<KubeObject>, Map<string, ObjectMemo<unknown>>>();

/**
 * A memo of what is derived from the cached Secrets (see ObjectMemo): an entry goes when a Secret
 * it came from changes or is deleted, and at most maxEntries are kept.
 */
export function secretMemo<V>(ctx: Pick<ControllerContext, 'secrets'>, purpose: string, maxEntries: number): ObjectMemo<V> {
  let byPurpose = memos.get(ctx.secrets);
  if (!byPurpose) memos.set(ctx.secrets, (byPurpose = new Map()));
  let memo = byPurpose.get(purpose);
  if (!memo) byPurpose.set(purpose, (memo = ObjectMemo.following<unknown>(ctx.secrets, maxEntries)));
  return memo as ObjectMemo<V>;
}
