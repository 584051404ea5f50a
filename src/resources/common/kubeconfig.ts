// Kubeconfig files as kcp expects them: either pointing at certificate files mounted in the Pod
// (kcp-operator's internal kubeconfigs) or self-contained with the PEM data embedded (the
// Kubeconfig kind's Secret for people).
import { stringify } from 'yaml';

export interface KubeconfigCluster {
  name: string;
  server: string;
  caFile?: string;
  caData?: string;
}

export interface KubeconfigUser {
  name: string;
  certFile?: string;
  keyFile?: string;
  certData?: string;
  keyData?: string;
}

export interface KubeconfigContext {
  name: string;
  cluster: string;
  user: string;
}

export interface KubeconfigSpec {
  clusters: KubeconfigCluster[];
  users: KubeconfigUser[];
  contexts: KubeconfigContext[];
  currentContext: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export function kubeconfigYaml(spec: KubeconfigSpec): string {
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: spec.clusters.map((c) => ({
        name: c.name,
        cluster: {
          server: c.server,
          ...(c.caFile ? { 'certificate-authority': c.caFile } : {}),
          ...(c.caData ? { 'certificate-authority-data': b64(c.caData) } : {}),
        },
      })),
      users: spec.users.map((u) => ({
        name: u.name,
        user: {
          ...(u.certFile ? { 'client-certificate': u.certFile } : {}),
          ...(u.keyFile ? { 'client-key': u.keyFile } : {}),
          ...(u.certData ? { 'client-certificate-data': b64(u.certData) } : {}),
          ...(u.keyData ? { 'client-key-data': b64(u.keyData) } : {}),
        },
      })),
      contexts: spec.contexts.map((c) => ({ name: c.name, context: { cluster: c.cluster, user: c.user } })),
      'current-context': spec.currentContext,
    },
    { lineWidth: 0 },
  );
}

/** One cluster, one user, one context: the shape of every internal kubeconfig. */
export function singleKubeconfig(cluster: KubeconfigCluster, user: KubeconfigUser, context: string): string {
  return kubeconfigYaml({
    clusters: [cluster],
    users: [user],
    contexts: [{ name: context, cluster: cluster.name, user: user.name }],
    currentContext: context,
  });
}
