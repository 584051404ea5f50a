// What `kubectl apply -k deploy/` gives the operator and the sidecar, minus their Deployment: the
// namespace, the ServiceAccounts and their least-privilege RBAC. The local runtime runs both
// processes under these identities (a bound token per ServiceAccount), so make dev and the e2e
// tests exercise exactly the RBAC users install.
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import type { KubeClient } from '../src/kube/client.js';
import { binaryPath, repoRoot } from './binaries.js';
import type { ControlPlane } from './control-plane.js';

export const INSTALL_NAMESPACE = 'kcp-operator-system';

export type InstalledServiceAccount = 'kcp-operator' | 'kcp-sync';

/** Applies deploy/base's namespace and RBAC (the CRDs come with the control plane). */
export function installRbac(cp: ControlPlane): void {
  const files = ['namespace.yaml', 'rbac/operator.yaml', 'rbac/sync.yaml'].flatMap((f) => ['-f', path.join(repoRoot, 'deploy/base', f)]);
  execFileSync(binaryPath('kubectl'), ['--kubeconfig', cp.kubeconfigPath, 'apply', '--server-side', '-n', INSTALL_NAMESPACE, ...files], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A kubeconfig with a bound token (TokenRequest API) for one of deploy/'s ServiceAccounts. */
export async function serviceAccountKubeconfig(
  cp: ControlPlane,
  admin: KubeClient,
  sa: InstalledServiceAccount = 'kcp-operator',
  expirationSeconds = 3600,
): Promise<string> {
  const tr = await admin.request<{ status: { token: string } }>({
    method: 'POST',
    path: `/api/v1/namespaces/${INSTALL_NAMESPACE}/serviceaccounts/${sa}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } },
  });
  const file = path.join(cp.dir, `${sa}.kubeconfig`);
  await writeFile(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: cp.server, 'certificate-authority-data': Buffer.from(cp.pki.caPem).toString('base64') } }],
      users: [{ name: 'sa', user: { token: tr.status.token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'sa' } }],
      'current-context': 'c',
    }),
    { mode: 0o600 },
  );
  return file;
}
