// What rendering a CacheServer needs, its names (kcp-operator's) and where it is reached.
import type { CacheServerSpec } from '../../api/cacheserver.js';
import type { KubeObject } from '../../kube/object.js';
import { cacheServerServiceHost } from '../../pki/hierarchy.js';
import { HTTPS_PORT } from '../common/component.js';

export interface CacheServerModel {
  owner: KubeObject;
  name: string;
  namespace: string;
  spec: CacheServerSpec;
}

export function cacheServerNames(name: string, caSecretRef?: string) {
  return {
    deployment: `${name}-cache-server`,
    server: `${name}-server`,
    client: `${name}-client-certificate`,
    /** What shards mount as the cache's CA (tls.crt only), whoever issued it. */
    ca: `${name}-ca`,
    /** The Secret holding the CA's key: ours, or the user's certificates.caSecretRef. */
    caSource: caSecretRef ?? `${name}-ca`,
    kubeconfig: `${name}-kubeconfig`,
  };
}

export function cacheServerURL(m: Pick<CacheServerModel, 'name' | 'namespace' | 'spec'>): string {
  return `https://${cacheServerServiceHost(m.name, m.namespace, m.spec.clusterDomain)}:${HTTPS_PORT}`;
}

/**
 * kcp-operator's rule: the embedded etcd cannot be shared, so at most one replica (the schema
 * rejects more); with an external etcd, 2 unless set.
 */
export function cacheServerReplicas(spec: CacheServerSpec): number {
  return spec.etcd ? (spec.replicas ?? 2) : Math.min(spec.replicas ?? 1, 1);
}
