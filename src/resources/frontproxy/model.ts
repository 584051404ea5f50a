// What rendering a FrontProxy needs, resolved by the controller from the cache: its spec, its
// RootShard, and the shards whose service-account keys it must trust. Names and the public
// address follow kcp-operator, so tools keyed on them keep working.
import type { FrontProxySpec } from '../../api/frontproxy.js';
import type { RootShardSpec } from '../../api/rootshard.js';
import type { KubeObject } from '../../kube/object.js';
import { DEFAULT_CLUSTER_DOMAIN, FRONT_PROXY_COMMON_NAME, LABEL_FRONT_PROXY, ROOT_SHARD_PROXY_COMMON_NAME, rootCASecretName, rootShardCAName } from '../../pki/hierarchy.js';
import { HTTPS_PORT } from '../common/component.js';
import { componentLabels } from '../common/labels.js';
import type { AppliedRelease } from '../release.js';

export interface FrontProxyModel {
  owner: KubeObject;
  name: string;
  namespace: string;
  spec: FrontProxySpec;
  root: { name: string; spec: RootShardSpec };
  /** With auth.serviceAccount.enabled: the RootShard and every Shard of the installation. */
  serviceAccountPeers: string[];
  /**
   * The RootShard's internal proxy `<rs>-proxy` (same binary, kcp-operator's names and identity
   * kcp-root-shard-proxy) rather than a FrontProxy; `name` is then the RootShard's.
   */
  internal?: boolean;
  /**
   * The in-cluster URL of the RootShard's external VirtualWorkspace (its spec.kcpVirtualWorkspace),
   * which then serves /services/ instead of the root shard.
   */
  virtualWorkspaceURL?: string;
  /** The RootShard's spec.release as this proxy runs it (already applied to `spec`); recorded on the Deployment. */
  release?: AppliedRelease;
}

export function frontProxyNames(m: Pick<FrontProxyModel, 'name' | 'root' | 'internal'>) {
  const rs = m.root.name;
  // kcp-operator names the internal proxy's objects `<rs>-proxy-…` throughout; a FrontProxy's
  // certificates `<rs>-<fp>-…` and its other objects `<fp>-…`.
  const prefix = m.internal ? `${rs}-proxy` : `${rs}-${m.name}`;
  const own = m.internal ? `${rs}-proxy` : m.name;
  return {
    deployment: m.internal ? `${rs}-proxy` : `${m.name}-front-proxy`,
    server: `${prefix}-server`,
    kubeconfigClient: `${prefix}-kubeconfig`,
    requestHeaderClient: `${prefix}-requestheader`,
    dynamicKubeconfig: `${prefix}-dynamic-kubeconfig`,
    config: `${own}-config`,
    mergedClientCA: `${own}-merged-client-ca`,
    mergedCABundle: `${own}-merged-ca-bundle`,
    rootCA: rootCASecretName({ name: rs, caSecretRef: m.root.spec.certificates?.caSecretRef?.name }),
    serverCA: rootShardCAName(rs, 'server'),
    clientCA: rootShardCAName(rs, 'client'),
    requestHeaderCA: rootShardCAName(rs, 'requestheader-client'),
  };
}

/** Labels, component and the identity the proxy presents to shards (--requestheader-allowed-names). */
export function frontProxyIdentity(m: Pick<FrontProxyModel, 'name' | 'internal'>) {
  const component = m.internal ? ('rootshard-proxy' as const) : ('front-proxy' as const);
  return {
    component,
    commonName: m.internal ? ROOT_SHARD_PROXY_COMMON_NAME : FRONT_PROXY_COMMON_NAME,
    /** On the Secrets and ConfigMaps it renders. */
    labels: m.internal ? componentLabels(m.name, component) : { ...componentLabels(m.name, component), [LABEL_FRONT_PROXY]: m.name },
  };
}

/** The public host name: spec.external.hostname, else the deprecated spec.externalHostname. */
export function frontProxyHostname(spec: FrontProxySpec): string | undefined {
  return spec.external?.hostname || spec.externalHostname || undefined;
}

/**
 * The port clients use, which is also the Service port (kcp-operator's order): spec.external.port,
 * else the RootShard's external port, else 6443.
 */
export function frontProxyPort(spec: FrontProxySpec, root: RootShardSpec): number {
  return spec.external?.port || root.external?.port || HTTPS_PORT;
}

/**
 * The URL a generated kubeconfig uses: this front-proxy's own public address when it has one,
 * else the installation's (RootShard spec.external). kcp-operator puts 6443 after a deprecated
 * externalHostname; we use the Service port, so the URL and the Service agree.
 */
export function frontProxyURL(spec: FrontProxySpec, root: RootShardSpec): string {
  const host = frontProxyHostname(spec);
  if (host) return `https://${host}:${frontProxyPort(spec, root)}`;
  return `https://${root.external.hostname}:${root.external.port}`;
}

/**
 * The Service port: the internal proxy is for the operator only, so kcp-operator fixes it at 6443
 * whatever the installation's public port.
 */
export function frontProxyServicePort(m: Pick<FrontProxyModel, 'spec' | 'root' | 'internal'>): number {
  return m.internal ? HTTPS_PORT : frontProxyPort(m.spec, m.root.spec);
}

/** In-cluster address of the front-proxy's Service (what the operator itself dials). */
export function frontProxyServiceURL(m: Pick<FrontProxyModel, 'name' | 'namespace' | 'spec' | 'root' | 'internal'>): string {
  const domain = m.root.spec.clusterDomain || DEFAULT_CLUSTER_DOMAIN;
  return `https://${frontProxyNames(m).deployment}.${m.namespace}.svc.${domain}:${frontProxyServicePort(m)}`;
}
