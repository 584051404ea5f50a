// Where things are mounted in a kcp-front-proxy Pod (kcp-operator's layout, so additionalPathMappings
// and extraArgs written for it keep working).
export const FP = {
  dynamicKubeconfig: '/etc/kcp-front-proxy/kubeconfig',
  kubeconfigClient: '/etc/kcp-front-proxy/kubeconfig-client-cert',
  server: '/etc/kcp-front-proxy/tls',
  requestHeaderClient: '/etc/kcp-front-proxy/requestheader-client',
  clientCA: '/etc/kcp-front-proxy/client-ca',
  config: '/etc/kcp-front-proxy/config',
  /** The installation's root CA (tls.crt only): verifies every shard's serving certificate. */
  rootCA: '/etc/kcp/tls/ca',
  requestHeaderCA: '/etc/kcp/tls/ca/requestheader-client',
  caBundle: '/etc/kcp/tls/ca/ca-bundle',
} as const;

export const MAPPING_FILE = 'path-mapping.yaml';
