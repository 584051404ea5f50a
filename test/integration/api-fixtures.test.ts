// kcp-operator's sample manifests, as users have them, apply unchanged to a real API server with
// our CRDs, with kubectl's defaults (server-side apply, strict field validation), and the quirks
// listed in the fixtures' README behave as docs/api.md says.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

import { describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';

import { runKubectl, type KubectlResult } from './kubectl.js';

// Kept outside the repository (they are kcp-operator's files, byte for byte).
const FIXTURES = `${(process.env.KCP_OPERATOR_SAMPLES ?? '/work/shared/fixtures/kcp-operator-samples').replace(/\/$/, '')}/`;
if (!existsSync(FIXTURES)) {
  throw new Error(`kcp-operator samples not found at ${FIXTURES}; set KCP_OPERATOR_SAMPLES to their directory`);
}

type Result = KubectlResult;

function kubectl(args: string[], input?: string): Promise<Result> {
  return runKubectl(inject('kubeconfigPath'), args, input);
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

async function freshNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await ok(['create', 'namespace', name]);
  return name;
}

type Obj = { kind: string; metadata: { name: string }; spec?: Record<string, unknown> | null };

async function getJson(ns: string, kind: string, name: string): Promise<Obj & { spec: Record<string, unknown> }> {
  return JSON.parse(await ok(['get', '-n', ns, `${kind.toLowerCase()}.operator.kcp.io`, name, '-o', 'json'])) as Obj & {
    spec: Record<string, unknown>;
  };
}

const samples = readdirSync(FIXTURES)
  .filter((f) => f.startsWith('operator.kcp.io_') && f.endsWith('.yaml'))
  .sort();

describe('kcp-operator sample manifests', () => {
  it('are all present (7 samples)', () => {
    expect(samples).toHaveLength(7);
  });

  for (const file of samples) {
    it(`${file} applies unchanged with kubectl apply --server-side (strict validation) and keeps its fields`, async () => {
      const ns = await freshNamespace('fixture');
      const text = readFileSync(FIXTURES + file, 'utf8');
      const manifest = parse(text) as Obj;
      const r = await kubectl(['apply', '--server-side', '-n', ns, '-f', FIXTURES + file]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('serverside-applied');

      const stored = await getJson(ns, manifest.kind, manifest.metadata.name);
      // Everything the user wrote is stored as written (defaults may be added beside it).
      expect(stored.spec).toMatchObject(manifest.spec ?? {});

      // Applying the same file again changes nothing.
      const again = await ok(['apply', '--server-side', '-n', ns, '-f', FIXTURES + file]);
      expect(again).toContain('serverside-applied');
      const after = await getJson(ns, manifest.kind, manifest.metadata.name);
      expect((after as unknown as { metadata: { generation: number } }).metadata.generation).toBe(1);
    });

    it(`${file} also applies with client-side kubectl apply`, async () => {
      const ns = await freshNamespace('fixture-csa');
      const r = await kubectl(['apply', '-n', ns, '-f', FIXTURES + file]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
  }
});

describe('README quirks', () => {
  it('Shard: the stale logLevel.verbosityLevel is accepted as a deprecated alias, not pruned and not rejected', async () => {
    const ns = await freshNamespace('quirk-loglevel');
    const file = `${FIXTURES}operator.kcp.io_v1alpha1_shard.yaml`;
    // --validate=strict is kubectl's default; spelled out because this is what the test is about.
    const r = await kubectl(['apply', '--server-side', '--validate=strict', '-n', ns, '-f', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/unknown field|not declared/);
    const shard = await getJson(ns, 'Shard', 'secondary-shard');
    expect(shard.spec['logLevel']).toEqual({ verbosityLevel: 4 });
    // Defaults we document are applied beside it.
    expect(shard.spec).toMatchObject({ replicas: 2, clusterDomain: 'cluster.local' });

    // The alias must not contradict logging.level.
    const manifest = parse(readFileSync(file, 'utf8')) as Obj & { spec: Record<string, unknown> };
    manifest.spec['logging'] = { level: 2 };
    const conflict = await kubectl(['apply', '--server-side', '-n', ns, '-f', '-'], JSON.stringify(manifest));
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('spec.logLevel.verbosityLevel');
    expect(conflict.stderr).toContain('deprecated alias of logging.level');
    manifest.spec['logging'] = { level: 4 };
    await ok(['apply', '--server-side', '-n', ns, '-f', '-'], JSON.stringify(manifest));
  });

  it('CacheServer: the empty `spec:` applies and means one replica, embedded etcd, built-in PKI', async () => {
    const ns = await freshNamespace('quirk-cacheserver');
    const file = `${FIXTURES}operator.kcp.io_v1alpha1_cacheserver.yaml`;
    expect(readFileSync(file, 'utf8')).toMatch(/^spec:\s*(#.*)?$/m);
    await ok(['apply', '--server-side', '-n', ns, '-f', file]);
    const cs = await getJson(ns, 'CacheServer', 'cacheserver-sample');
    // spec defaults to {} and then to the documented defaults; no certificates means built-in PKI.
    expect(cs.spec).toEqual({ clusterDomain: 'cluster.local' });

    // The same holds for `kubectl create` and for a manifest without any spec key.
    await ok(['create', '-n', ns, '-f', '-'], JSON.stringify({
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'CacheServer',
      metadata: { name: 'no-spec' },
    }));
    expect((await getJson(ns, 'CacheServer', 'no-spec')).spec).toEqual({ clusterDomain: 'cluster.local' });
  });

  it('RootShard: the cert-manager issuerRef is accepted and stored as written, even without cert-manager', async () => {
    const ns = await freshNamespace('quirk-issuer');
    const crds = await ok(['get', 'crd', '-o', 'name']);
    expect(crds).not.toContain('issuers.cert-manager.io');
    await ok(['apply', '--server-side', '-n', ns, '-f', `${FIXTURES}operator.kcp.io_v1alpha1_rootshard.yaml`]);
    const rs = await getJson(ns, 'RootShard', 'shard-sample');
    expect(rs.spec['certificates']).toEqual({ issuerRef: { group: 'cert-manager.io', kind: 'Issuer', name: 'selfsigned' } });
    // The etcd endpoint does not exist here; admission does not care (the workload reports it later).
    expect(rs.spec['etcd']).toEqual({ endpoints: ['http://etcd.default.svc.cluster.local:2379'] });
  });

  it('the whole sample topology applies into one namespace in one request', async () => {
    const ns = await freshNamespace('fixture-all');
    const all = samples.map((f) => readFileSync(FIXTURES + f, 'utf8')).join('\n---\n');
    const out = await ok(['apply', '--server-side', '-n', ns, '-f', '-'], all);
    expect(out.trim().split('\n')).toHaveLength(samples.length);
    const listed = await ok(['get', 'kcp', '-n', ns, '-o', 'name']);
    expect(listed.trim().split('\n').sort()).toEqual(
      [
        'cacheserver.operator.kcp.io/cacheserver-sample',
        'frontproxy.operator.kcp.io/frontproxy-sample',
        'kubeconfig.operator.kcp.io/kubeconfig-kcp-admin',
        'kubeconfig.operator.kcp.io/kubeconfig-shard-root-admin',
        'kubeconfig.operator.kcp.io/kubeconfig-shard-secondary-admin',
        'rootshard.operator.kcp.io/shard-sample',
        'shard.operator.kcp.io/secondary-shard',
      ].sort(),
    );
  });
});
