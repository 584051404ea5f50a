// A generated kubeconfig, pointed at a local port-forward instead of the public address: every
// server becomes https://127.0.0.1:<port> (same path), and `tls-server-name` keeps the public host
// name, so the server certificate is still checked against the name the operator issued it for
// and the installation's CA. What a user does with `kubectl port-forward` when DNS has no entry.
import { parse, stringify } from 'yaml';

export interface KubeconfigFile {
  clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data'?: string; 'tls-server-name'?: string } }>;
  users: Array<{ name: string; user: Record<string, string> }>;
  contexts: Array<{ name: string; context: { cluster: string; user: string } }>;
  'current-context': string;
}

export function forwardedKubeconfig(text: string, localPort: number): KubeconfigFile {
  const config = parse(text) as KubeconfigFile;
  for (const c of config.clusters) {
    const url = new URL(c.cluster.server);
    c.cluster['tls-server-name'] = url.hostname;
    c.cluster.server = `https://127.0.0.1:${localPort}${url.pathname === '/' ? '' : url.pathname}`;
  }
  return config;
}

export function kubeconfigText(config: KubeconfigFile): string {
  return stringify(config, { lineWidth: 0 });
}
