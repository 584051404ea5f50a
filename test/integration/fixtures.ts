// The kcp-operator sample manifests users already have (../shared/fixtures), parsed.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { KubeObject } from '../../src/kube/object.js';
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
