// What rendering a VirtualWorkspace needs, resolved by the controller from the cache: its spec, the
// shard it serves (the RootShard itself or one of its Shards), that RootShard, and the effective
// cache server. Names follow kcp-operator, so tools keyed on them keep working.
import type { RootShardSpec } from '../../api/rootshard.js';
import type { VirtualWorkspaceSpec } from '../../api/virtualworkspace.js';
import type { KubeObject } from '../../kube/object.js';
import { DEFAULT_CLUSTER_DOMAIN, rootCASecretName, rootShardCAName } from '../../pki/hierarchy.js';
import { HTTPS_PORT } from '../common/component.js';

export interface VirtualWorkspaceModel {
  owner: KubeObject;
  name: string;
  namespace: string;
  spec: VirtualWorkspaceSpec;
  root: { name: string; spec: RootShardSpec };
  /** The shard served: the RootShard (kind RootShard) or a Shard of it. */
  target: { kind: 'RootShard' | 'Shard'; name: string };
  /** Effective CacheServer (the Shard's ref, else the RootShard's); undefined: the root shard's embedded cache. */
  cacheServer?: string;
}

export function virtualWorkspaceNames(m: Pick<VirtualWorkspaceModel, 'name' | 'root' | 'target'>) {
  const rs = m.root.name;
  return {
    deployment: `${m.name}-virtual-workspace`,
    server: `${m.name}-server`,
    client: `${m.name}-client`,
    mergedClientCA: `${m.name}-merged-client-ca`,
    rootCA: rootCASecretName({ name: rs, caSecretRef: m.root.spec.certificates?.caSecretRef?.name }),
    serverCA: rootShardCAName(rs, 'server'),
    clientCA: rootShardCAName(rs, 'client'),
    requestHeaderCA: rootShardCAName(rs, 'requestheader-client'),
    /** Borrowed from the target: it points at the shard, with client-certificate paths this Pod fills. */
    targetKubeconfig: `${m.target.name}-logical-cluster-admin-kubeconfig`,
    /** The target's bundle, which that kubeconfig verifies the shard with. */
    targetCABundle: `${m.target.name}-merged-ca-bundle`,
  };
}

/** In-cluster host of the server's Service (also in its serving certificate). */
export function virtualWorkspaceServiceHost(name: string, namespace: string, clusterDomain?: string): string {
  return `${name}-virtual-workspace.${namespace}.svc.${clusterDomain || DEFAULT_CLUSTER_DOMAIN}`;
}

/** Where the front-proxy reaches the server. */
export function virtualWorkspaceServiceURL(name: string, namespace: string, clusterDomain?: string): string {
  return `https://${virtualWorkspaceServiceHost(name, namespace, clusterDomain)}:${HTTPS_PORT}`;
}

/** What kcp publishes as the shard's virtual-workspace URL (kcp-operator: `https://<external.hostname>:<external.port>`). */
export function virtualWorkspaceExternalURL(spec: Pick<VirtualWorkspaceSpec, 'external'>): string {
  return `https://${spec.external.hostname}:${spec.external.port}`;
}
