// The RootShard's internal proxy `<rs>-proxy`: a kcp-front-proxy that kcp-operator deploys for every
// RootShard and that only the operator uses (it reaches kcp through it as system:kcp-operator,
// because a FrontProxy for people may drop privileged groups). It is the same binary as a FrontProxy,
// so it is rendered by the FrontProxy builders from a FrontProxy model that spec.proxy fills in.
import { DEFAULT_ROOT_SHARD_PROXY_REPLICAS, type RootShardSpec } from '../../api/rootshard.js';
import type { KubeObject } from '../../kube/object.js';
import { frontProxyNames, frontProxyServiceURL, type FrontProxyModel } from '../frontproxy/model.js';
import { withRelease, type AppliedRelease } from '../release.js';

export interface RootShardProxyInput {
  /** The RootShard (with apiVersion and kind), which owns everything the proxy is made of. */
  owner: KubeObject;
  name: string;
  namespace: string;
  spec: RootShardSpec;
  /** The RootShard's spec.release as the proxy runs it (see rollout-plan.ts). */
  proxyRelease?: AppliedRelease;
}

/**
 * spec.proxy as a FrontProxy: image, replicas (default 2), resources, templates, extras and logging
 * as kcp-operator applies them. Nothing else of a FrontProxy applies: no public address, no auth
 * options, no additional path mappings, no service-account keys (the operator authenticates with
 * its client certificate). The image is spec.proxy.image alone, as in kcp-operator (not the
 * RootShard's).
 */
export function rootShardProxyModel(rs: RootShardProxyInput): FrontProxyModel {
  const p = rs.spec.proxy ?? {};
  return {
    owner: rs.owner,
    name: rs.name,
    namespace: rs.namespace,
    internal: true,
    root: { name: rs.name, spec: rs.spec },
    serviceAccountPeers: [],
    ...(rs.proxyRelease ? { release: rs.proxyRelease } : {}),
    spec: withRelease({
      rootShard: { ref: { name: rs.name } },
      replicas: p.replicas ?? DEFAULT_ROOT_SHARD_PROXY_REPLICAS,
      image: p.image,
      resources: p.resources,
      serviceTemplate: p.serviceTemplate,
      deploymentTemplate: p.deploymentTemplate,
      podDisruptionBudget: p.podDisruptionBudget,
      certificateTemplates: p.certificateTemplates,
      extraArgs: p.extraArgs,
      extraVolumes: p.extraVolumes,
      extraVolumeMounts: p.extraVolumeMounts,
      logging: p.logging,
    }, rs.proxyRelease),
  };
}

type ProxyRef = Pick<RootShardProxyInput, 'name' | 'namespace' | 'spec'>;

const refModel = (rs: ProxyRef) => ({ name: rs.name, namespace: rs.namespace, internal: true, spec: { rootShard: {} }, root: { name: rs.name, spec: rs.spec } });

/** `<rs>-proxy`: the Deployment's and the Service's name. */
export function rootShardProxyName(rs: Pick<RootShardProxyInput, 'name' | 'spec'>): string {
  return frontProxyNames({ name: rs.name, internal: true, root: { name: rs.name, spec: rs.spec } }).deployment;
}

/** `https://<rs>-proxy.<ns>.svc.<clusterDomain>:6443`, where the operator reaches kcp through the proxy. */
export function rootShardProxyURL(rs: ProxyRef): string {
  return frontProxyServiceURL(refModel(rs));
}
