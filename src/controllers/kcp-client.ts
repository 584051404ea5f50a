// A client for kcp itself (not the cluster the operator runs in), authenticated with the
// operator's own certificate `<rs>-kcp-operator` (CN system:kcp-operator, group system:kcp:admin)
// and trusting the installation's root CA, and where it connects for a Kubeconfig's target.
import { KubeClient } from '../kube/client.js';
import type { RestConfig } from '../kube/kubeconfig.js';
import { targetBaseURL, type KubeconfigTarget } from '../resources/kubeconfig/render.js';
import { rootShardProxyName, rootShardProxyURL } from '../resources/rootshard-proxy/model.js';
import { secretData, type ControllerContext } from './context.js';

export interface KcpEndpoint {
  url: string;
  /** Set when the connection goes through the RootShard's internal proxy: its Service's name. */
  proxy?: string;
}

/**
 * Where the operator reaches kcp for a Kubeconfig's target, as kcp-operator does: a shard target
 * directly at that shard; a FrontProxy target through the RootShard's internal proxy `<rs>-proxy`
 * (which routes every workspace to its shard), never through the FrontProxy itself, which may
 * drop the operator's groups (spec.auth.dropGroups) or sit behind a public load balancer.
 */
export function kcpEndpoint(t: KubeconfigTarget, namespace: string): KcpEndpoint {
  if (t.kind !== 'FrontProxy') return { url: targetBaseURL(t, namespace) };
  const rs = { name: t.rootShardName, namespace, spec: t.rootShard };
  return { url: rootShardProxyURL(rs), proxy: rootShardProxyName(rs) };
}

export type KcpClientResult = { client: KubeClient } | { missing: string };

export async function operatorKcpClient(
  ctx: ControllerContext,
  namespace: string,
  rootShard: string,
  server: string,
  userAgent: string,
): Promise<KcpClientResult> {
  const secret = `${rootShard}-kcp-operator`;
  const cred = secretData(ctx.secrets.getByName(namespace, secret));
  if (!cred?.['tls.crt'] || !cred['tls.key']) return { missing: `Secret ${namespace}/${secret} is missing` };
  const config: RestConfig = {
    source: `Secret ${namespace}/${secret}`,
    server,
    ...(cred['ca.crt'] ? { caData: Buffer.from(cred['ca.crt']) } : {}),
    certData: Buffer.from(cred['tls.crt']),
    keyData: Buffer.from(cred['tls.key']),
  };
  return { client: await KubeClient.fromKubeConfig(config, { userAgent, qps: 0 }) };
}
