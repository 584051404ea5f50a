// The objects shard federation writes, as pure builders. The three protocol documents are
// ConfigMaps made sync sources (sync/marks.ts) for exactly the cluster and namespace they are
// meant for; the Secrets never leave their cluster (no sync marks).
import type { FederationAcceptRule } from '../../api/federation.js';
import type { KubeObject } from '../../kube/object.js';
import { LABEL_ROOTSHARD, LABEL_SHARD } from '../../pki/hierarchy.js';
import { sourceMarks, withMarks } from '../../../sync/marks.js';
import { componentLabels, type Component } from '../common/labels.js';
import { controllerRef } from '../common/owner.js';
import {
  JOIN_KEY,
  joinConfigMapName,
  LABEL_FEDERATION,
  pendingKeysSecretName,
  REQUEST_KEY,
  requestConfigMapName,
  RESPONSE_KEY,
  responseConfigMapName,
  requesterOf,
  type CAKey,
  type Requester,
  type JoinInfo,
  type JoinRequest,
  type JoinResponse,
} from '../../federation/protocol.js';

/** Label value of LABEL_FEDERATION on each generated object. */
export type FederationRole = 'join' | 'request' | 'response' | 'remote-service-account' | 'ca' | 'keys';

const unique = (xs: readonly string[]) => [...new Set(xs)].sort();

function configMap(owner: KubeObject, component: Component, name: string, role: FederationRole, extraLabels: Record<string, string>, key: string, doc: unknown): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: owner.metadata.namespace,
      labels: { ...componentLabels(owner.metadata.name ?? '', component), ...extraLabels, [LABEL_FEDERATION]: role },
      ownerReferences: [controllerRef(owner)],
    },
    data: { [key]: JSON.stringify(doc, null, 2) },
  };
}

function withSourceMarks(obj: KubeObject, clusters: readonly string[], namespaces: readonly string[]): KubeObject {
  return withMarks(obj, sourceMarks({ clusters: unique(clusters), namespaces: unique(namespaces) }));
}

/** `<rs>-federation`: goes to every cluster and namespace an accept rule names (globs as the sidecar reads them). */
export function joinConfigMap(rootShard: KubeObject, info: JoinInfo, accept: readonly FederationAcceptRule[]): KubeObject {
  const cm = configMap(rootShard, 'rootshard', joinConfigMapName(rootShard.metadata.name ?? ''), 'join', { [LABEL_ROOTSHARD]: rootShard.metadata.name ?? '' }, JOIN_KEY, info);
  return withSourceMarks(cm, accept.map((a) => a.cluster), accept.map((a) => a.namespace));
}

/** `<shard>-join-request` (`<kubeconfig>-kubeconfig-request`): goes to the RootShard's cluster, into its request namespace only. */
export function requestConfigMap(owner: KubeObject, req: JoinRequest, hub: { cluster: string; namespace: string }): KubeObject {
  const requester = requesterOf(req);
  const name = owner.metadata.name ?? '';
  const labels: Record<string, string> = requester === 'Shard' ? { [LABEL_SHARD]: name } : {};
  const cm = configMap(owner, COMPONENT[requester], requestConfigMapName(name, requester), 'request', labels, REQUEST_KEY, req);
  return withSourceMarks(cm, [hub.cluster], [hub.namespace]);
}

const COMPONENT: Record<Requester, Component> = { Shard: 'shard', Kubeconfig: 'kubeconfig' };

/** On a response for a remote Kubeconfig: its name (a Shard's response carries LABEL_SHARD instead). */
export const LABEL_REMOTE_KUBECONFIG = 'operator.kcp.io/remote-kubeconfig';

/** `<shard>-join-response` (`<kubeconfig>-kubeconfig-response`): goes back to where the request came from, and nowhere else. */
export function responseConfigMap(rootShard: KubeObject, resp: JoinResponse): KubeObject {
  const requester = requesterOf(resp);
  const cm = configMap(
    rootShard,
    'rootshard',
    responseConfigMapName(resp.shard, requester),
    'response',
    { [LABEL_ROOTSHARD]: rootShard.metadata.name ?? '', [requester === 'Shard' ? LABEL_SHARD : LABEL_REMOTE_KUBECONFIG]: resp.shard },
    RESPONSE_KEY,
    resp,
  );
  return withSourceMarks(cm, [resp.cluster], [resp.namespace]);
}

function secret(owner: KubeObject, component: Component, name: string, role: FederationRole, labels: Record<string, string>, data: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: owner.metadata.namespace,
      labels: { ...componentLabels(owner.metadata.name ?? '', component), ...labels, [LABEL_FEDERATION]: role },
      ownerReferences: [controllerRef(owner)],
    },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

/**
 * On the RootShard's cluster: a remote shard's service-account certificate (public key only), under
 * the name local shards use (`<shard>-service-account`), so the root shard and front-proxies trust
 * its tokens the way they trust a local shard's.
 */
export function remoteServiceAccountSecret(rootShard: KubeObject, shard: string, certificatePem: string): KubeObject {
  return secret(rootShard, 'rootshard', `${shard}-service-account`, 'remote-service-account', { [LABEL_ROOTSHARD]: rootShard.metadata.name ?? '', [LABEL_SHARD]: shard }, {
    'tls.crt': certificatePem,
  });
}

/** On the Shard's cluster: the name of a CA certificate of the remote installation (no key). */
export function federatedCASecretName(shard: string, ca: CAKey): string {
  return `${shard}-federation-${ca}-ca`;
}

export function federatedCASecret(shard: KubeObject, ca: CAKey, certificatePem: string): KubeObject {
  return secret(shard, 'shard', federatedCASecretName(shard.metadata.name ?? '', ca), 'ca', { [LABEL_SHARD]: shard.metadata.name ?? '' }, { 'tls.crt': certificatePem, 'ca.crt': certificatePem });
}

/** On the requester's cluster: the private keys of the request being signed. Never synced. */
export function pendingKeysSecret(owner: KubeObject, requester: Requester, generation: number, keys: Record<string, string>): KubeObject {
  const name = owner.metadata.name ?? '';
  return secret(owner, COMPONENT[requester], pendingKeysSecretName(name, requester), 'keys', requester === 'Shard' ? { [LABEL_SHARD]: name } : {}, {
    generation: String(generation),
    ...Object.fromEntries(Object.entries(keys).map(([k, v]) => [`${k}.key`, v])),
  });
}
