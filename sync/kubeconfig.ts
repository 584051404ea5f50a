// A registered cluster's kubeconfig, checked before use. Whoever can create a labelled Secret in
// the sidecar's namespace chooses what the sidecar connects to; they must not also choose what it
// runs or reads: an `exec` plugin would run a command inside the sidecar, and a file reference
// (`tokenFile: /var/run/secrets/.../token`) would send the sidecar's own credentials to a server
// of their choosing. Only inline credentials are accepted. Errors never quote the input.
import { parse } from 'yaml';
import { parseKubeconfig, type RestConfig } from '../src/kube/kubeconfig.js';
import { isPlainObject } from '../src/kube/object.js';

const FORBIDDEN_USER_FIELDS = ['exec', 'auth-provider', 'tokenFile', 'client-certificate', 'client-key'];
const FORBIDDEN_CLUSTER_FIELDS = ['certificate-authority'];

export function loadClusterKubeconfig(text: string): RestConfig | string {
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
  try {
    // File references were refused above, so the base directory is never read.
    return parseKubeconfig(text, 'the kubeconfig', '/nonexistent');
  } catch (err) {
    // The loader's messages name fields, never values.
    return err instanceof Error ? err.message : 'the kubeconfig could not be loaded';
  }
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
