// A client for kcp itself (not the cluster the operator runs in), authenticated with the
// operator's own certificate `<rs>-kcp-operator` (CN system:kcp-operator, group system:kcp:admin)
// and trusting the installation's root CA.
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../kube/client.js';
import { secretData, type ControllerContext } from './context.js';

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
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'kcp', server, caData: Buffer.from(cred['ca.crt'] ?? '').toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'operator', certData: Buffer.from(cred['tls.crt']).toString('base64'), keyData: Buffer.from(cred['tls.key']).toString('base64') }],
    contexts: [{ name: 'kcp', cluster: 'kcp', user: 'operator' }],
    currentContext: 'kcp',
  });
  return { client: await KubeClient.fromKubeConfig(kc, { userAgent, qps: 0 }) };
}
