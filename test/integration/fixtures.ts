// The kcp-operator sample manifests users already have (../shared/fixtures), parsed.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments } from '../../src/kube/resources.js';
import { repoRoot } from '../../local/binaries.js';

export const FIXTURES_DIR = path.join(repoRoot, '..', 'shared', 'fixtures', 'kcp-operator-samples');

export function fixture(file: string, namespace: string): KubeObject {
  const obj = parse(readFileSync(path.join(FIXTURES_DIR, file), 'utf8')) as KubeObject;
  obj.metadata.namespace = namespace;
  return obj;
}

/** kcp-operator's sample RootShard in `namespace`, on the built-in PKI instead of cert-manager. */
export function builtInPkiRootShard(namespace: string): KubeObject {
  const rs = fixture('operator.kcp.io_v1alpha1_rootshard.yaml', namespace);
  delete (rs.spec as Record<string, unknown>).certificates;
  return rs;
}

/**
 * Stand-in for kube-controller-manager's Deployment controller and the kubelet, which this control
 * plane does not run: reports every replica of the Deployment's current generation up.
 */
export async function markDeploymentAvailable(client: KubeClient, ns: string, name: string): Promise<void> {
  const dep = await client.get(Deployments, ns, name);
  const replicas = (dep.spec as { replicas?: number }).replicas ?? 1;
  await client.patch(
    Deployments,
    ns,
    name,
    { status: { observedGeneration: dep.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas } },
    'merge',
    'status',
  );
}
