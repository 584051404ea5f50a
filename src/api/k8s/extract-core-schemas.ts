// Refreshes core-v1.openapi.json, the subset of the Kubernetes OpenAPI v3 document that our CRDs
// embed (volumes, mounts, resources, scheduling). The subset is committed so that CRD generation
// is offline and deterministic; rerun this only when moving to a new Kubernetes minor version:
//
//   npx tsx src/api/k8s/extract-core-schemas.ts <kubernetes>/api/openapi-spec/v3/api__v1_openapi.json
//
// (the Kubernetes source is in the Go module cache after `make binaries`:
// $(go env GOMODCACHE)/k8s.io/kubernetes@<version>/api/openapi-spec/v3/api__v1_openapi.json)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { CORE_ROOTS } from './core-roots.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const REF_PREFIX = '#/components/schemas/';

function collectRefs(node: Json, into: Set<string>): void {
  if (Array.isArray(node)) {
    for (const v of node) collectRefs(v, into);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string') into.add(v.slice(REF_PREFIX.length));
    else collectRefs(v, into);
  }
}

function sortKeys(node: Json): Json {
  if (Array.isArray(node)) return node.map(sortKeys);
  if (node === null || typeof node !== 'object') return node;
  const out: { [key: string]: Json } = {};
  for (const k of Object.keys(node).sort()) out[k] = sortKeys(node[k] as Json);
  return out;
}

function main(): void {
  const source = process.argv[2];
  if (!source) {
    console.error('usage: extract-core-schemas.ts <path to api__v1_openapi.json>');
    process.exit(2);
  }
  const doc = JSON.parse(readFileSync(source, 'utf8')) as {
    info?: { version?: string };
    components: { schemas: Record<string, Json> };
  };
  const all = doc.components.schemas;
  const wanted = new Set<string>();
  const queue: string[] = [...CORE_ROOTS];
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (wanted.has(name)) continue;
    const schema = all[name];
    if (schema === undefined) throw new Error(`${name} is not in ${source}`);
    wanted.add(name);
    // ObjectMeta is replaced by a labels/annotations stub when converting, so its own references
    // (managed fields, owner references, times) are not needed.
    if (name === 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta') continue;
    const refs = new Set<string>();
    collectRefs(schema, refs);
    queue.push(...refs);
  }
  const schemas: Record<string, Json> = {};
  for (const name of [...wanted].sort()) schemas[name] = sortKeys(all[name] as Json);
  const out = {
    $comment:
      'Subset of the Kubernetes OpenAPI v3 document (api/openapi-spec/v3/api__v1_openapi.json, Apache-2.0), ' +
      'extracted by src/api/k8s/extract-core-schemas.ts. Do not edit by hand.',
    // The document itself says "unversioned"; the module cache path names the release.
    kubernetesVersion: /kubernetes@(v[0-9][^/]*)/.exec(source)?.[1] ?? doc.info?.version ?? 'unknown',
    schemas,
  };
  const target = fileURLToPath(new URL('./core-v1.openapi.json', import.meta.url));
  writeFileSync(target, JSON.stringify(out, null, 1) + '\n');
  process.stdout.write(`wrote ${Object.keys(schemas).length} schemas to ${target}\n`);
}

main();
