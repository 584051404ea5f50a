// A registered cluster's kubeconfig, checked before use. Whoever can create a labelled Secret in
// the sidecar's namespace chooses what the sidecar connects to; they must not also choose what it
// runs or reads: an `exec` plugin would run a command inside the sidecar, and a file reference
// (`tokenFile: /var/run/secrets/.../token`) would send the sidecar's own credentials to a server
// of their choosing. Only inline credentials are accepted. Errors never quote the input.
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { isPlainObject } from '../src/kube/object.js';

const FORBIDDEN_USER_FIELDS = ['exec', 'auth-provider', 'tokenFile', 'client-certificate', 'client-key'];
const FORBIDDEN_CLUSTER_FIELDS = ['certificate-authority'];

export function loadClusterKubeconfig(text: string): KubeConfig | string {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    const line = (err as { linePos?: Array<{ line: number }> }).linePos?.[0]?.line;
    return `the kubeconfig is not valid YAML${line ? ` (line ${line})` : ''}`;
  }
  if (!isPlainObject(doc)) return 'the kubeconfig is not a YAML mapping';
  for (const [i, entry] of asList(doc.users).entries()) {
    const user = isPlainObject(entry) && isPlainObject(entry.user) ? entry.user : {};
    for (const f of FORBIDDEN_USER_FIELDS) {
      if (user[f] !== undefined) return `users[${i}] uses "${f}", which the sidecar refuses: only inline credentials are accepted`;
    }
  }
  for (const [i, entry] of asList(doc.clusters).entries()) {
    const cluster = isPlainObject(entry) && isPlainObject(entry.cluster) ? entry.cluster : {};
    for (const f of FORBIDDEN_CLUSTER_FIELDS) {
      if (cluster[f] !== undefined) return `clusters[${i}] uses "${f}" (a file); use "${f}-data"`;
    }
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch {
    return 'the kubeconfig could not be loaded';
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) return 'the kubeconfig has no current context or its cluster is missing';
  try {
    const url = new URL(cluster.server);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'the cluster server is not an http(s) URL';
  } catch {
    return 'the cluster server is not a URL';
  }
  return kc;
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
