// The Secret of a Kubeconfig object: one self-contained kubeconfig (CA, client certificate and key
// embedded) with kcp-operator's clusters and contexts, so scripts that pick `base` or `shard-base`
// keep working.
import type { FrontProxySpec } from '../../api/frontproxy.js';
import { DEFAULT_TARGET_WORKSPACE, type KubeconfigSpec } from '../../api/kubeconfig.js';
import type { RootShardSpec } from '../../api/rootshard.js';
import type { ShardSpec } from '../../api/shard.js';
import type { KubeObject } from '../../kube/object.js';
import { LABEL_KUBECONFIG } from '../../pki/hierarchy.js';
import { kubeconfigYaml, type KubeconfigContext } from '../common/kubeconfig.js';
import { componentLabels } from '../common/labels.js';
import { ownedSecret } from '../common/secret.js';
import { frontProxyURL } from '../frontproxy/model.js';
import { baseURL } from '../shard/model.js';

/** The target with the specs its URL depends on, resolved by the controller from the cache. */
export type KubeconfigTarget = { rootShardName: string; rootShard: RootShardSpec } & (
  | { kind: 'RootShard'; name: string }
  | { kind: 'Shard'; name: string; shard: ShardSpec }
  | { kind: 'FrontProxy'; name: string; frontProxy: FrontProxySpec }
);

export interface KubeconfigModel {
  owner: KubeObject;
  name: string;
  namespace: string;
  spec: KubeconfigSpec;
  target: KubeconfigTarget;
}

/** `RootShard/<name>` etc., as status.targetName. */
export function targetName(t: Pick<KubeconfigTarget, 'kind' | 'name'>): string {
  return `${t.kind}/${t.name}`;
}

/** Where the kubeconfig's `base` cluster points: the front-proxy's public address or the shard's base URL. */
export function targetBaseURL(t: KubeconfigTarget, namespace: string): string {
  switch (t.kind) {
    case 'FrontProxy':
      return frontProxyURL(t.frontProxy, t.rootShard);
    case 'Shard':
      return baseURL({ kind: 'Shard', name: t.name, namespace, spec: t.shard });
    case 'RootShard':
      return baseURL({ kind: 'RootShard', name: t.name, namespace, spec: t.rootShard });
  }
}

/** The workspace the `default` context points at. */
export function targetWorkspace(spec: KubeconfigSpec): string {
  return spec.targetWorkspace || DEFAULT_TARGET_WORKSPACE;
}

/** Where ClusterRoleBindings go: targetWorkspace, else the deprecated `cluster`, else root. */
export function authorizationWorkspace(spec: KubeconfigSpec): string {
  return spec.targetWorkspace || spec.authorization?.clusterRoleBindings.cluster || DEFAULT_TARGET_WORKSPACE;
}

export interface KubeconfigCredentials {
  /** PEM bundle the server's certificate chains to. */
  caPem: string;
  certificatePem: string;
  privateKeyPem: string;
}

/**
 * The `server` of the kubeconfig's `base` cluster: spec.serverURL when set (an Ingress or load
 * balancer in front, ours), else the target's own address.
 */
export function kubeconfigServer(m: Pick<KubeconfigModel, 'spec' | 'target' | 'namespace'>): string {
  return m.spec.serverURL ? m.spec.serverURL.replace(/\/+$/, '') : targetBaseURL(m.target, m.namespace);
}

export function kubeconfigText(m: KubeconfigModel, c: KubeconfigCredentials): string {
  const base = kubeconfigServer(m);
  const user = m.spec.username;
  const contexts: KubeconfigContext[] = [
    { name: 'default', cluster: 'default', user },
    { name: 'base', cluster: 'base', user },
  ];
  // kcp reads a shard kubeconfig's `shard-base` context by name.
  if (m.target.kind !== 'FrontProxy') contexts.push({ name: 'shard-base', cluster: 'base', user });
  return kubeconfigYaml({
    clusters: [
      { name: 'default', server: `${base.replace(/\/+$/, '')}/clusters/${targetWorkspace(m.spec)}`, caData: c.caPem },
      { name: 'base', server: base, caData: c.caPem },
    ],
    users: [{ name: user, certData: c.certificatePem, keyData: c.privateKeyPem }],
    contexts,
    currentContext: 'default',
  });
}

/** Owned by the Kubeconfig, so deleting it removes the Secret (kcp-operator leaves it behind). */
export function kubeconfigSecret(m: KubeconfigModel, c: KubeconfigCredentials): KubeObject {
  return ownedSecret(
    {
      name: m.spec.secretRef.name,
      namespace: m.namespace,
      labels: { ...componentLabels(m.name, 'kubeconfig'), [LABEL_KUBECONFIG]: m.name },
      owner: m.owner,
    },
    { kubeconfig: kubeconfigText(m, c) },
  );
}
