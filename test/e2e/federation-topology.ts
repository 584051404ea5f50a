// Two clusters, one kcp installation: the hub (A) runs etcd, the RootShard, a FrontProxy and the
// admin Kubeconfig; the edge (B) runs its own etcd and a Shard that joins A's RootShard through the
// sync sidecars. Each cluster is a LocalStack (control plane, pod runner, operator and sidecar
// under deploy/'s RBAC); the two stacks share one Pod network and see each other's Service names.
//
// What the harness stands in for: the network between the clusters (one L2 segment instead of
// routed cluster networks) and cross-cluster DNS (each side's Pods resolve the other's
// `<svc>.<ns>.svc.cluster.local` and the front door's ExternalDNS name, where a real setup would
// use multi-cluster Services or published load balancer names). Everything else is real: kcp
// v0.32.3 Pods on both sides, the operators, the sidecars, the credentials each cluster issues the
// other's sidecar (least privilege: ConfigMaps in the one namespace that receives them).
import { readFile } from 'node:fs/promises';
import type { KubeObject } from '../../src/kube/object.js';
import { Secrets } from '../../src/kube/resources.js';
import { acceptMarks } from '../../sync/marks.js';
import { CLUSTER_LABEL, KUBECONFIG_KEY } from '../../sync/keys.js';
import { INSTALL_NAMESPACE } from '../../local/install.js';
import { LocalStack } from '../../local/stack.js';
import { sampleObjects, waitAvailable } from './topology.js';

export const HUB = { cluster: 'hub', namespace: 'kcp-hub' } as const;
export const EDGE = { cluster: 'edge', namespace: 'kcp-edge' } as const;
export const EDGE_SHARD = 'edge-1';
export const JOIN = 'root-federation';

const byName = (objs: KubeObject[], kind: string, name: string): KubeObject => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`config/samples has no ${kind} ${name}`);
  return structuredClone(o);
};

/** The samples' root-side objects, one replica each (two clusters of kcp on two cores), accepting edge-* from the edge. */
export function hubObjects(): KubeObject[] {
  const s = sampleObjects();
  const etcd = s.filter((o) => o.metadata.name === 'etcd-root');
  const root = byName(s, 'RootShard', 'root');
  root.spec = {
    ...(root.spec as object),
    replicas: 1,
    proxy: { replicas: 1 },
    federation: {
      accept: [{ cluster: EDGE.cluster, namespace: EDGE.namespace, shard: 'edge-*' }],
      acceptKubeconfigs: [{ cluster: EDGE.cluster, namespace: EDGE.namespace, name: 'team-*', usernames: ['alice'], groups: ['team-*'] }],
    },
  };
  const fp = byName(s, 'FrontProxy', 'front-proxy');
  fp.spec = { ...(fp.spec as object), replicas: 1 };
  return [...etcd, root, fp, byName(s, 'Kubeconfig', 'kcp-admin')];
}

/** The samples' second etcd, renamed for an edge shard. */
export function edgeEtcd(shard = EDGE_SHARD): KubeObject[] {
  const text = JSON.stringify(sampleObjects().filter((o) => o.metadata.name === 'etcd-shard-2'));
  return JSON.parse(text.replaceAll('etcd-shard-2', `etcd-${shard}`)) as KubeObject[];
}

/** A Shard joining through the hub's join info; its etcd is `etcd-edge-1` unless `etcd` names another shard's. */
export function edgeShard(name = EDGE_SHARD, extra: Record<string, unknown> = {}, etcd = EDGE_SHARD): KubeObject {
  return {
    apiVersion: 'operator.kcp.io/v1alpha1',
    kind: 'Shard',
    metadata: { name },
    spec: { rootShard: { joinRef: { name: JOIN } }, replicas: 1, etcd: { endpoints: [`http://etcd-${etcd}:2379`] }, auth: { serviceAccount: { enabled: true } }, ...extra },
  };
}

/**
 * What `into` gives the sidecar of the other cluster: a user that may read namespaces, ConfigMaps
 * and Secrets (the sidecar watches its replicas by label) and write ConfigMaps only in `namespace`.
 */
async function remoteSidecarIdentity(into: LocalStack, user: string): Promise<string> {
  await into.apply([
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `${user}-reader` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kcp-sync-reader' }, subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }] },
    // kcp-sync-reader holds no Secret read; a remote connection watches its Secret replicas cluster-wide.
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'kcp-sync-remote-secrets' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `${user}-secrets` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kcp-sync-remote-secrets' }, subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'federation-replicas', namespace: into.namespace }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'update', 'delete'] }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: `${user}-replicas`, namespace: into.namespace }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'federation-replicas' }, subjects: [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }] },
  ]);
  return readFile(await into.cp.kubeconfigFor(user), 'utf8');
}

/** The namespace consents to the other side's documents, and lets its own sidecar patch status on our sources. */
async function consent(stack: LocalStack, acceptFrom: string[]): Promise<void> {
  const marks = acceptMarks(acceptFrom);
  await stack.apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: stack.namespace, labels: marks.labels, annotations: marks.annotations } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'kcp-sync-writer', namespace: stack.namespace }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kcp-sync-writer' }, subjects: [{ kind: 'ServiceAccount', name: 'kcp-sync', namespace: INSTALL_NAMESPACE }] },
  ]);
}

async function register(stack: LocalStack, name: string, kubeconfig: string): Promise<void> {
  await stack.admin.apply(
    Secrets,
    { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: INSTALL_NAMESPACE, labels: { [CLUSTER_LABEL]: 'true' } }, type: 'Opaque', data: { [KUBECONFIG_KEY]: Buffer.from(kubeconfig).toString('base64') } },
    'federation-e2e',
  );
}

export interface Federation {
  hub: LocalStack;
  edge: LocalStack;
  stop(): Promise<void>;
}

/** Both clusters with operators and sidecars, consent on both sides, and the hub's objects applied and Available. */
export async function startFederation(name: string): Promise<Federation> {
  const hub = await LocalStack.start({ name: `${name}-hub`, namespace: HUB.namespace, sidecar: true, sidecarArgs: [`--cluster-name=${HUB.cluster}`], crashLoopBackOffMs: 2_000 });
  let edge: LocalStack | undefined;
  try {
    edge = await LocalStack.start({ name: `${name}-edge`, namespace: EDGE.namespace, peerOf: hub, sidecar: true, sidecarArgs: [`--cluster-name=${EDGE.cluster}`], crashLoopBackOffMs: 2_000 });
    await consent(hub, [`${EDGE.cluster}/${EDGE.namespace}/*-join-request`, `${EDGE.cluster}/${EDGE.namespace}/*-kubeconfig-request`]);
    await consent(edge, [`${HUB.cluster}/${HUB.namespace}/${JOIN}`, `${HUB.cluster}/${HUB.namespace}/*-join-response`, `${HUB.cluster}/${HUB.namespace}/*-kubeconfig-response`]);
    await register(hub, EDGE.cluster, await remoteSidecarIdentity(edge, 'kcp-sync-hub'));
    await register(edge, HUB.cluster, await remoteSidecarIdentity(hub, 'kcp-sync-edge'));
    await hub.apply(hubObjects());
    await edge.apply(edgeEtcd());
    await waitAvailable(hub, ['rootshard/root', 'frontproxy/front-proxy', 'kubeconfig/kcp-admin']);
    const e = edge;
    return { hub, edge: e, stop: async () => void (await Promise.all([hub.stop(), e.stop()])) };
  } catch (err) {
    await Promise.all([hub.stop(), edge?.stop()]);
    throw err;
  }
}
