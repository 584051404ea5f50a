// What `kubectl apply -k deploy/` gives the operator and the sidecar, minus their Deployment: the
// namespace, the ServiceAccounts and their least-privilege RBAC. The local runtime runs both
// processes under these identities (a bound token per ServiceAccount), so make dev and the e2e
// tests exercise exactly the RBAC users install.
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import type { KubeClient } from '../src/kube/client.js';
import { binaryPath, repoRoot } from './binaries.js';
import type { ControlPlane } from './control-plane.js';

export const INSTALL_NAMESPACE = 'kcp-operator-system';

export type InstalledServiceAccount = 'kcp-operator' | 'kcp-sync';

/**
 * What `kubectl apply -k deploy/` installs besides the CRDs (which come with the control plane) and
 * the Deployment and Service (the processes run locally instead): the namespace, ServiceAccounts,
 * the sidecar's token Secret and every RBAC object. Rendered from deploy/ itself, so a rule or a
 * file added there is what the local processes run under, with nothing listed twice.
 */
export function installRbac(cp: ControlPlane): void {
  const rendered = execFileSync(binaryPath('kubectl'), ['kustomize', path.join(repoRoot, 'deploy')], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });
  const objects = parseAllDocuments(rendered)
    .map((d) => d.toJS() as { kind?: string } | null)
    .filter((o): o is { kind: string } => !!o?.kind && !NOT_INSTALLED.has(o.kind));
  execFileSync(binaryPath('kubectl'), ['--kubeconfig', cp.kubeconfigPath, 'apply', '--server-side', '-f', '-'], {
    input: objects.map((o) => stringify(o)).join('---\n'),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Kinds of deploy/ the local runtime does not install: see installRbac. */
const NOT_INSTALLED = new Set(['CustomResourceDefinition', 'Deployment', 'Service']);

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
