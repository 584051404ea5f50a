// The generated CRDs as a user meets them: installed with kubectl on a fresh cluster, documented in
// `kubectl explain`, listed with useful columns, and waitable with `kubectl wait`.
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { KINDS, crdName } from '../../src/api/names.js';
import { repoRoot } from '../../local/binaries.js';
import { startControlPlane } from '../../local/control-plane.js';
import { runKubectl } from './kubectl.js';

const kubectlWith = runKubectl;

async function ok(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const r = await kubectlWith(kubeconfig, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const CRDS_DIR = path.join(repoRoot, 'crds');

describe('installing crds/ on a fresh cluster', () => {
  let cp: Awaited<ReturnType<typeof startControlPlane>> | undefined;

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'api-crds', crds: false });
  });
  afterAll(async () => {
    await cp?.stop();
  });

  it('kubectl apply --server-side -f crds/ installs every CRD and each becomes Established', async () => {
    const kubeconfig = (cp as NonNullable<typeof cp>).kubeconfigPath;
    const before = await ok(kubeconfig, ['get', 'crd', '-o', 'name']);
    expect(before.trim()).toBe('');

    const files = readdirSync(CRDS_DIR).filter((f) => f.endsWith('.yaml'));
    expect(files).toHaveLength(Object.keys(KINDS).length);
    const applied = await kubectlWith(kubeconfig, ['apply', '--server-side', '-f', CRDS_DIR]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);

    for (const names of Object.values(KINDS)) {
      const crd = `crd/${crdName(names)}`;
      // kubectl wait errors out ("accessor error") instead of waiting while a brand-new CRD has no
      // status.conditions yet; only that case is retried.
      let established = await kubectlWith(kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', crd]);
      for (let i = 0; /accessor error/.test(established.stderr) && i < 50; i++) {
        await new Promise((r) => setTimeout(r, 100));
        established = await kubectlWith(kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', crd]);
      }
      expect(established.stderr).toBe('');
      expect(established.stdout).toContain('condition met');
      await ok(kubeconfig, ['wait', '--for=condition=NamesAccepted', '--timeout=10s', crd]);
    }

    // The kinds are listed through the `kcp` category once discovery has caught up (it trails
    // the Established condition by a moment).
    let listed = await kubectlWith(kubeconfig, ['get', 'kcp', '--all-namespaces']);
    for (let i = 0; listed.code !== 0 && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 100));
      listed = await kubectlWith(kubeconfig, ['get', 'kcp', '--all-namespaces']);
    }
    expect(listed.code, listed.stderr).toBe(0);

    // Applying the same files again changes nothing.
    const generations = await ok(kubeconfig, ['get', 'crd', '-o', 'jsonpath={.items[*].metadata.generation}']);
    await ok(kubeconfig, ['apply', '--server-side', '-f', CRDS_DIR]);
    expect(await ok(kubeconfig, ['get', 'crd', '-o', 'jsonpath={.items[*].metadata.generation}'])).toBe(generations);
  });
});

describe('kubectl explain', () => {
  const explain = (field: string): Promise<string> => ok(inject('kubeconfigPath'), ['explain', field]);

  it('documents nested fields with our descriptions', async () => {
    const etcd = await explain('rootshards.spec.etcd');
    expect(etcd).toContain('The etcd cluster this root shard stores its data in.');
    expect(etcd).toMatch(/endpoints\s+<\[\]string> -required-/);
    expect(etcd).toContain('tlsConfig');

    const target = await explain('kubeconfigs.spec.target');
    expect(target).toContain('Set exactly one of');

    const certificates = await explain('cacheservers.spec.certificates');
    expect(certificates).toContain('built-in PKI');

    // Extensions say so, deprecated fields say what to use instead.
    expect(await explain('kubeconfigs.status.notAfter')).toContain('(kcp-operator-ts extension)');
    expect(await explain('shards.spec.logLevel')).toContain('Deprecated: use `logging`');
  });

  it('documents the embedded Kubernetes types too', async () => {
    const volumes = await explain('frontproxies.spec.extraVolumes.configMap');
    expect(volumes).toMatch(/configMap represents a configMap that should populate this volume/i);
  });
});

describe('printer columns and status', () => {
  it('shows Hostname, Phase, Available and Rollout, and kubectl wait --for=condition=Available works', async () => {
    const kubeconfig = inject('kubeconfigPath');
    const ns = `api-columns-${randomBytes(3).toString('hex')}`;
    await ok(kubeconfig, ['create', 'namespace', ns]);
    await ok(
      kubeconfig,
      ['apply', '--server-side', '-n', ns, '-f', '-'],
      JSON.stringify({
        apiVersion: 'operator.kcp.io/v1alpha1',
        kind: 'RootShard',
        metadata: { name: 'root' },
        spec: {
          etcd: { endpoints: ['https://etcd:2379'] },
          external: { hostname: 'kcp.example.com', port: 6443 },
          cache: {},
        },
      }),
    );

    // No operator runs in this test: the status an operator would write is written by hand.
    await ok(kubeconfig, [
      'patch', '-n', ns, 'rootshard.operator.kcp.io', 'root', '--subresource=status', '--type=merge', '-p',
      JSON.stringify({
        status: {
          observedGeneration: 1,
          phase: 'Running',
          conditions: [
            {
              type: 'Available',
              status: 'True',
              observedGeneration: 1,
              lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
              reason: 'ReplicasUp',
              message: 'Deployment is fully up and running.',
            },
          ],
        },
      }),
    ]);

    const table = await ok(kubeconfig, ['get', '-n', ns, 'rootshards']);
    const [header, row] = table.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'HOSTNAME', 'PHASE', 'AVAILABLE', 'ROLLOUT', 'AGE']);
    expect(row?.split(/\s+/).slice(0, 4)).toEqual(['root', 'kcp.example.com', 'Running', 'True']);

    const waited = await kubectlWith(kubeconfig, [
      'wait', '-n', ns, '--for=condition=Available', '--timeout=10s', 'rootshard.operator.kcp.io/root',
    ]);
    expect(waited.stdout).toContain('condition met');

    // A spec change bumps the generation; observedGeneration then shows the status is stale.
    await ok(kubeconfig, ['patch', '-n', ns, 'rootshard.operator.kcp.io', 'root', '--type=merge', '-p', '{"spec":{"replicas":3}}']);
    const gens = await ok(kubeconfig, [
      'get', '-n', ns, 'rootshard.operator.kcp.io', 'root', '-o', 'jsonpath={.metadata.generation} {.status.observedGeneration}',
    ]);
    expect(gens).toBe('2 1');
  });
});
