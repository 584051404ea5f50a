// The RootShard's internal proxy `<rs>-proxy` (kcp-operator deploys it for every RootShard; spec.proxy
// configures it): its certificates are part of the RootShard's plan, its objects are rendered by the
// FrontProxy builders and applied like a FrontProxy's, and its readiness is the RootShard's
// ProxyAvailable condition (ours: kcp-operator's Available covers the root shard alone, and so does ours).
import type { RootShardSpec } from '../api/rootshard.js';
import type { ConditionInput } from '../kube/conditions.js';
import type { KubeObject } from '../kube/object.js';
import type { TlsSecretData } from '../pki/bundle.js';
import { frontProxyCertificates, type CertificateTemplates, type PlannedCertificate } from '../pki/hierarchy.js';
import type { KeySpec } from '../pki/keys.js';
import { rootShardProxyModel, rootShardProxyName, type RootShardProxyInput } from '../resources/rootshard-proxy/model.js';
import type { ControllerContext } from './context.js';
import { applyFrontProxyWorkload } from './frontproxy.js';
import { deploymentAvailable } from './status.js';

export const PROXY_AVAILABLE = 'ProxyAvailable';

/** The proxy's server, kubeconfig and requestheader certificates (`<rs>-proxy-…`). */
export function rootShardProxyCertificates(
  rs: { name: string; namespace: string; spec: RootShardSpec },
  key: KeySpec,
  templates: CertificateTemplates,
): PlannedCertificate[] {
  return frontProxyCertificates({
    rootShard: { name: rs.name, namespace: rs.namespace, externalHostname: rs.spec.external.hostname, clusterDomain: rs.spec.clusterDomain },
    key,
    templates,
  });
}

export interface ProxyOutcome {
  condition: ConditionInput;
  /** A Secret or template only a person can fix. */
  failure?: { reason: string; message: string };
}

/** Applies the proxy once the certificates exist, and says whether it serves. */
export async function reconcileRootShardProxy(
  ctx: ControllerContext,
  rs: RootShardProxyInput,
  certs: ReadonlyMap<string, TlsSecretData>,
  certsReady: boolean,
  generation: number | undefined,
): Promise<ProxyOutcome> {
  const name = rootShardProxyName(rs);
  const cond = (status: 'True' | 'False', reason: string, message: string): ConditionInput => ({ type: PROXY_AVAILABLE, status, reason, message, observedGeneration: generation });
  if (!certsReady) return { condition: cond('False', 'CertificatesPending', `internal proxy ${name}: certificates are being issued`) };
  const out = await applyFrontProxyWorkload(ctx, rootShardProxyModel(rs), certs);
  if ('missing' in out) {
    const failure = /Pending$/.test(out.missing.reason) ? undefined : out.missing;
    return { condition: cond('False', out.missing.reason, `internal proxy ${name}: ${out.missing.message}`), failure };
  }
  return { condition: proxyCondition(name, out.deployment, generation) };
}

/** The proxy Deployment's availability; scaled to zero is not available (the operator needs it). */
export function proxyCondition(name: string, deployment: KubeObject | undefined, generation: number | undefined): ConditionInput {
  const replicas = (deployment?.spec as { replicas?: number } | undefined)?.replicas;
  if (deployment && replicas === 0) {
    return {
      type: PROXY_AVAILABLE,
      status: 'False',
      reason: 'ScaledToZero',
      message: `internal proxy ${name} is scaled to 0 replicas (spec.proxy.replicas): Kubeconfigs for FrontProxies cannot get their ClusterRoleBindings`,
      observedGeneration: generation,
    };
  }
  const c = deploymentAvailable(deployment, generation);
  return { ...c, type: PROXY_AVAILABLE, message: `internal proxy ${name}: ${c.message}` };
}
