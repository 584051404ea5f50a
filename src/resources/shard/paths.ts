// Where things are mounted in a kcp shard Pod (kcp-operator's layout, so extraArgs and
// extraVolumeMounts written for it keep working).
export const P = {
  caRoot: '/etc/kcp/tls/ca/root',
  caServer: '/etc/kcp/tls/ca/server',
  caServiceAccount: '/etc/kcp/tls/ca/service-account',
  caRequestHeader: '/etc/kcp/tls/ca/requestheader-client',
  caClient: '/etc/kcp/tls/ca/client',
  caBundle: '/etc/kcp/tls/ca/ca-bundle',
  server: '/etc/kcp/tls/server',
  serviceAccount: '/etc/kcp/tls/service-account',
  client: '/etc/kcp/tls/client',
  mountsProxy: '/etc/kcp/tls/mounts-proxy',
  logicalClusterAdmin: '/etc/kcp/tls/logical-cluster-admin',
  externalLogicalClusterAdmin: '/etc/kcp/tls/external-logical-cluster-admin',
  logicalClusterAdminKubeconfig: '/etc/kcp/logical-cluster-admin-kubeconfig',
  externalLogicalClusterAdminKubeconfig: '/etc/kcp/external-logical-cluster-admin-kubeconfig',
  clientKubeconfig: '/etc/kcp/client-kubeconfig',
  etcd: '/etc/etcd/tls',
  cacheKubeconfig: '/etc/cache-server/kubeconfig',
  cacheCA: '/etc/cache-server/tls/ca/root',
  cacheClient: '/etc/cache-server/tls/client-certificate',
  auditPolicy: '/etc/kcp/audit/policy',
  auditWebhook: '/etc/kcp/audit/webhook',
  authorizationWebhook: '/etc/kcp/authorization/webhook',
  authenticationWebhook: '/etc/kcp/authentication/webhook',
  tokenAuth: '/etc/kcp/authentication/token',
  oidcCA: '/etc/kcp/tls/oidc',
  peerServiceAccount: (peer: string) => peerServiceAccountPath(peer),
} as const;

const TLS = '/etc/kcp/tls/';
/**
 * Directories under /etc/kcp/tls that built-in mounts use (derived from P, so a new mount is covered),
 * and `peers`: a shard named like one of them (`ca`, `server`, `client`, …) would otherwise mount its
 * key inside another volume, or on top of one. The front-proxy's only one there, `ca`, is among them.
 */
const RESERVED = new Set([
  'peers',
  ...(Object.values(P) as unknown[])
    .filter((v): v is string => typeof v === 'string' && v.startsWith(TLS))
    .map((v) => v.slice(TLS.length).split('/')[0] ?? ''),
]);

/** kcp-operator's `/etc/kcp/tls/<peer>/service-account`, except for reserved names: `/etc/kcp/tls/peers/<peer>/service-account`. */
export function peerServiceAccountPath(peer: string): string {
  return RESERVED.has(peer) ? `${TLS}peers/${peer}/service-account` : `${TLS}${peer}/service-account`;
}

export const crt = (dir: string) => `${dir}/tls.crt`;
export const key = (dir: string) => `${dir}/tls.key`;
