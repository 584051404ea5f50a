// The standard topology of the e2e tier: the samples make dev ships (config/samples/), applied
// unchanged, on a LocalStack (control plane, pod runner, operator under deploy/'s RBAC).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/kube/object.js';
import { repoRoot } from '../../local/binaries.js';
import type { LocalStack } from '../../local/stack.js';
import { KcpUser } from './kcp-user.js';

export const SAMPLES = path.join(repoRoot, 'config/samples');

/** Every object of config/samples, in file order (etcd first, then the kcp kinds). */
export function sampleObjects(): KubeObject[] {
  const order = ['etcd.yaml', 'rootshard.yaml', 'shard.yaml', 'frontproxy.yaml', 'kubeconfig.yaml'];
  const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.yaml'));
  files.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  return files.flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(SAMPLES, f), 'utf8'))
      .map((d) => d.toJS() as KubeObject | null)
      .filter((o): o is KubeObject => o !== null),
  );
}

/** `kubectl wait --for=condition=Available` on each object, the way a user (or Flux) waits. */
export async function waitAvailable(stack: LocalStack, refs: string[], timeout = '600s'): Promise<void> {
  await stack.kubectl(['-n', stack.namespace, 'wait', '--for=condition=Available', `--timeout=${timeout}`, ...refs]);
}

export const STANDARD = ['rootshard/root', 'shard/shard-2', 'frontproxy/front-proxy', 'kubeconfig/kcp-admin'];
export const FRONT_PROXY_SERVICE = 'front-proxy-front-proxy';
export const FRONT_PROXY_PORT = 6443;

/** A generated kubeconfig straight to one shard (a Kubeconfig with shardRef), through a forward. */
export async function shardUser(stack: LocalStack, shard: string): Promise<{ user: KcpUser; forward: { close(): Promise<void> } }> {
  await stack.apply([
    {
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'Kubeconfig',
      metadata: { name: `${shard}-admin` },
      spec: { username: `${shard}-admin`, groups: ['system:kcp:admin'], validity: '24h', secretRef: { name: `${shard}-admin-kubeconfig` }, target: { shardRef: { name: shard } } },
    },
  ]);
  await waitAvailable(stack, [`kubeconfig/${shard}-admin`], '180s');
  const forward = await stack.runner.forward(`${shard}-shard-kcp`, 6443);
  return { user: await KcpUser.fromSecret(stack, `${shard}-admin-kubeconfig`, forward.port), forward };
}
