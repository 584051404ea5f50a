import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { parse, parseDocument, visit } from 'yaml';

import { buildCrds, renderCrdFiles } from './crds.js';
import { API_GROUP, API_VERSION, KINDS, crdName } from './names.js';

const CRDS_DIR = fileURLToPath(new URL('../../crds/', import.meta.url));

describe('crds/', () => {
  it('is what src/api generates (run `make crds` after changing src/api)', () => {
    const expected = renderCrdFiles();
    const onDisk = readdirSync(CRDS_DIR).filter((f) => f.startsWith(`${API_GROUP}_`) && f.endsWith('.yaml'));
    expect(onDisk.sort()).toEqual([...expected.keys()].sort());
    for (const [file, content] of expected) {
      const actual = readFileSync(`${CRDS_DIR}${file}`, 'utf8');
      // toBe would print two 3000-line strings; a boolean with the file name is easier to act on.
      expect(actual === content, `crds/${file} is stale: run \`make crds\``).toBe(true);
    }
  });

  it('renders the same bytes every time', () => {
    const a = renderCrdFiles();
    const b = renderCrdFiles();
    expect([...a.entries()]).toEqual([...b.entries()]);
  });

  it('round-trips through YAML without anchors or aliases', () => {
    for (const [file, content] of renderCrdFiles()) {
      let aliases = 0;
      visit(parseDocument(content), { Alias: () => void aliases++ });
      expect(aliases, file).toBe(0);
      const parsed: unknown = parse(content);
      const built = buildCrds().find((c) => `${API_GROUP}_${c.spec.names.plural}.yaml` === file);
      expect(JSON.parse(JSON.stringify(parsed))).toEqual(JSON.parse(JSON.stringify(built)));
    }
  });
});

describe('CRD metadata', () => {
  const crds = buildCrds();

  it('has one namespaced CRD per kind, named <plural>.<group>, with a status subresource', () => {
    expect(crds.map((c) => c.spec.names.kind).sort()).toEqual(Object.keys(KINDS).sort());
    for (const crd of crds) {
      const names = KINDS[crd.spec.names.kind as keyof typeof KINDS];
      expect(crd.metadata.name).toBe(crdName(names));
      expect(crd.spec.group).toBe(API_GROUP);
      expect(crd.spec.scope).toBe('Namespaced');
      expect(crd.spec.names).toMatchObject({
        plural: names.plural,
        singular: names.singular,
        listKind: names.listKind,
      });
      expect(crd.spec.versions).toHaveLength(1);
      const version = crd.spec.versions[0];
      expect(version?.name).toBe(API_VERSION);
      expect(version?.subresources).toEqual({ status: {} });
    }
  });

  it("keeps kcp-operator's printer columns and adds Phase, Available and Age", () => {
    const columns = (kind: string): string[] =>
      crds.find((c) => c.spec.names.kind === kind)?.spec.versions[0]?.additionalPrinterColumns.map((c) => c.name) ?? [];
    expect(columns('RootShard')).toEqual(expect.arrayContaining(['Hostname', 'Phase', 'Available', 'Age']));
    expect(columns('Shard')).toEqual(expect.arrayContaining(['RootShard', 'Phase', 'Available', 'Age']));
    expect(columns('FrontProxy')).toEqual(
      expect.arrayContaining(['RootShard', 'ExternalHostname', 'Phase', 'Available', 'Age']),
    );
    expect(columns('Kubeconfig')).toEqual(expect.arrayContaining(['Target', 'Phase', 'Available', 'Age']));
    expect(columns('CacheServer')).toEqual(expect.arrayContaining(['Phase', 'Available', 'Age']));
  });

  it('gives every status observedGeneration, phase and a map-keyed conditions list', () => {
    for (const crd of crds) {
      const status = crd.spec.versions[0]?.schema.openAPIV3Schema.properties?.['status'];
      expect(status?.properties?.['observedGeneration']).toMatchObject({ type: 'integer', format: 'int64' });
      expect(status?.properties?.['phase']?.enum?.length).toBeGreaterThan(0);
      expect(status?.properties?.['conditions']).toMatchObject({
        type: 'array',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      });
    }
  });
});
