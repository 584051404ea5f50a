// What rendering a kcp shard needs, resolved by the controller from the cache: the shard's own
// spec, its RootShard, the effective cache server and the peers whose service-account keys it
// must trust. RootShard and Shard render through the same code; `kind` tells them apart.
import type { RootShardSpec } from '../../api/rootshard.js';
import type { CommonShardSpec } from '../../api/shard-common.js';
import { DEFAULT_CLUSTER_DOMAIN, rootCASecretName, rootShardCAName, type CAName } from '../../pki/hierarchy.js';
import { federatedCASecretName } from '../federation/objects.js';
import type { KubeObject } from '../../kube/object.js';
import type { AppliedRelease } from '../release.js';

export interface ShardModel {
  kind: 'RootShard' | 'Shard';
  owner: KubeObject;
  name: string;
  namespace: string;
  spec: CommonShardSpec;
  root: { name: string; spec: RootShardSpec };
  /** Effective CacheServer name (the shard's ref, else its RootShard's); undefined: embedded cache. */
  cacheServer?: string;
  /** With auth.serviceAccount.enabled: every other shard of the installation (RootShard included). */
  serviceAccountPeers: string[];
  /** Joined from elsewhere (spec.rootShard.joinRef): the installation's CA certificates are local copies without keys. */
  federated?: boolean;
  /**
   * With spec.kcpVirtualWorkspace: the URL kcp publishes for this shard's virtual workspaces (the
   * VirtualWorkspace's external address). The shard then runs none in-process.
   */
  virtualWorkspaceURL?: string;
  /** The RootShard's spec.release as this shard runs it (already applied to `spec`); recorded on the Deployment. */
  release?: AppliedRelease;
}

export const SECURE_PORT = 6443;

export function deploymentName(kind: ShardModel['kind'], name: string): string {
  return kind === 'RootShard' ? `${name}-kcp` : `${name}-shard-kcp`;
}

export function serviceURL(kind: ShardModel['kind'], name: string, namespace: string, clusterDomain?: string): string {
  return `https://${deploymentName(kind, name)}.${namespace}.svc.${clusterDomain || DEFAULT_CLUSTER_DOMAIN}:${SECURE_PORT}`;
}

/** How the shard is reached directly: spec.shardBaseURL, else its in-cluster Service. */
export function baseURL(m: Pick<ShardModel, 'kind' | 'name' | 'namespace' | 'spec'>): string {
  return m.spec.shardBaseURL || serviceURL(m.kind, m.name, m.namespace, m.spec.clusterDomain);
}

export function rootBaseURL(m: ShardModel): string {
  return baseURL({ kind: 'RootShard', name: m.root.name, namespace: m.namespace, spec: m.root.spec });
}

/** The front-proxy URL the installation advertises (RootShard spec.external). */
export function externalURL(root: RootShardSpec): string {
  return `https://${root.external.hostname}:${root.external.port}`;
}

/** Private (in-cluster) address of the front door, for the external-logical-cluster-admin kubeconfig. */
export function privateExternalURL(root: RootShardSpec): string {
  const e = root.external;
  // As kcp-operator: privatePort belongs to privateHostname and means nothing without it.
  return e.privateHostname ? `https://${e.privateHostname}:${e.privatePort || e.port}` : `https://${e.hostname}:${e.port}`;
}

/** Names of the Secrets a shard's rendering refers to. */
export function secretNames(m: ShardModel) {
  const rs = m.root.name;
  const own = m.name;
  const ca = (c: CAName) =>
    m.federated
      ? federatedCASecretName(own, c)
      : c === 'root'
        ? rootCASecretName({ name: rs, caSecretRef: m.root.spec.certificates?.caSecretRef?.name })
        : rootShardCAName(rs, c);
  return {
    rootCA: ca('root'),
    serverCA: ca('server'),
    clientCA: ca('client'),
    requestHeaderCA: ca('requestheader-client'),
    serviceAccountCA: ca('service-account'),
    server: `${own}-server`,
    serviceAccount: `${own}-service-account`,
    client: `${own}-client`,
    mountsProxy: `${own}-mounts-proxy`,
    logicalClusterAdmin: `${own}-logical-cluster-admin`,
    externalLogicalClusterAdmin: `${own}-external-logical-cluster-admin`,
    logicalClusterAdminKubeconfig: `${own}-logical-cluster-admin-kubeconfig`,
    externalLogicalClusterAdminKubeconfig: `${own}-external-logical-cluster-admin-kubeconfig`,
    clientKubeconfig: `${own}-client-kubeconfig`,
    mergedCABundle: `${own}-merged-ca-bundle`,
    mergedClientCA: `${own}-merged-client-ca`,
  };
}
