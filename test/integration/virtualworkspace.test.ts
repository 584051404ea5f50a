// VirtualWorkspace controller against the real API server: a target that does not exist yet
// (ReferenceValid False, nothing rendered), then appears (ReferenceValid True, certificates
// signed by the RootShard's CAs, Deployment and Service); Available from the Deployment; and the
// RootShard that names it in spec.kcpVirtualWorkspace, which waits for it and then renders kcp's
// three flags, while its FrontProxy sends /services/ to it. Nothing here runs kcp: no Deployment
// controller runs either, so the test writes the Deployment's status itself where it says so.
import { X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FrontProxies, RootShards, Shards, VirtualWorkspaces } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Deployments, Secrets, Services } from '../../src/kube/resources.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { runKubectl } from './kubectl.js';
import { startOperator, type RunningOperator } from './operator.js';

type Cond = { type: string; status: string; reason: string; message: string; observedGeneration?: number };
const condition = (o: KubeObject | undefined, type: string) => ((o?.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const args = (d: KubeObject) => (d.spec as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec.containers[0]?.args ?? [];
const pem = (s: KubeObject, key = 'tls.crt') => Buffer.from((s.data as Record<string, string>)[key] ?? '', 'base64').toString();

const VW = 'vw';
const DEP = `${VW}-virtual-workspace`;

describe('VirtualWorkspace', () => {
  let client: KubeClient;
  let ns: string;
  let op: RunningOperator;
  const vw = (): KubeObject => ({
    apiVersion: 'operator.kcp.io/v1alpha1',
    kind: 'VirtualWorkspace',
    metadata: { name: VW, namespace: ns },
    spec: { target: { rootShardRef: { name: 'root' } }, external: { hostname: 'kcp.example.com', port: 6443 } },
  });
  const rootShard = (): KubeObject => ({
    apiVersion: 'operator.kcp.io/v1alpha1',
    kind: 'RootShard',
    metadata: { name: 'root', namespace: ns },
    spec: {
      external: { hostname: 'kcp.example.com', port: 6443 },
      cache: { embedded: { enabled: true } },
      etcd: { endpoints: ['http://etcd:2379'] },
      kcpVirtualWorkspace: { name: VW },
    },
  });
  beforeAll(async () => {
    client = await sharedClient('virtualworkspace-test');
    ns = await createNamespace(client, 'vw');
    op = await startOperator({ namespace: ns });
  });
  afterAll(async () => {
    await op?.stop();
    client?.close();
  });

  it('a RootShard naming a VirtualWorkspace that does not exist says so and is not rendered', async () => {
    await client.create(RootShards, rootShard());
    const rs = await eventually('VirtualWorkspaceNotFound', async () => {
      const x = await client.get(RootShards, ns, 'root');
      return condition(x, 'Available')?.reason === 'VirtualWorkspaceNotFound' ? x : undefined;
    }, 60_000);
    expect(condition(rs, 'Available')?.message).toContain('spec.kcpVirtualWorkspace');
    expect(condition(rs, 'UnsupportedFields')).toBeUndefined();
    await expect(client.get(Deployments, ns, 'root-kcp')).rejects.toThrow();
  });

  it('reports a target that does not exist (ReferenceValid False), then converges when it appears', async () => {
    await client.create(VirtualWorkspaces, { ...vw(), spec: { ...(vw().spec as object), target: { rootShardRef: { name: 'later' } } } });
    const o = await eventually('ReferenceNotFound', async () => {
      const x = await client.get(VirtualWorkspaces, ns, VW);
      return condition(x, 'ReferenceValid')?.status === 'False' ? x : undefined;
    });
    expect(condition(o, 'ReferenceValid')).toMatchObject({ reason: 'ReferenceNotFound', observedGeneration: o.metadata.generation });
    expect(condition(o, 'ReferenceValid')?.message).toMatch(/spec\.target\.rootShardRef: RootShard .*later does not exist/);
    expect(condition(o, 'Available')?.status).toBe('False');
    await expect(client.get(Deployments, ns, DEP)).rejects.toThrow();

    // The target appears: point at the RootShard that already exists.
    await client.patch(VirtualWorkspaces, ns, VW, { spec: { target: { rootShardRef: { name: 'root' } } } }, 'merge');
    const ok = await eventually('ReferenceValid', async () => {
      const x = await client.get(VirtualWorkspaces, ns, VW);
      const c = condition(x, 'ReferenceValid');
      return c?.status === 'True' && c.observedGeneration === x.metadata.generation ? x : undefined;
    }, 60_000);
    expect(condition(ok, 'ReferenceValid')?.reason).toBe('ReferenceValid');

    const dep = await eventually('Deployment', () => client.get(Deployments, ns, DEP).catch(() => undefined), 60_000);
    expect(dep.metadata.labels?.['app.kubernetes.io/component']).toBe('virtual-workspace');
    expect(args(dep)).toContain('--kubeconfig=/etc/kcp/logical-cluster-admin-kubeconfig/kubeconfig');
    await client.get(Services, ns, DEP);
    // Certificates from the RootShard's CAs, checked with a real verifier.
    const server = await client.get(Secrets, ns, `${VW}-server`);
    const serverCA = new X509Certificate(pem(await client.get(Secrets, ns, 'root-server-ca')));
    expect(new X509Certificate(pem(server)).verify(serverCA.publicKey)).toBe(true);
    expect(new X509Certificate(pem(server)).subjectAltName).toContain(`DNS:${DEP}.${ns}.svc.cluster.local`);
    const client_ = new X509Certificate(pem(await client.get(Secrets, ns, `${VW}-client`)));
    const clientCA = new X509Certificate(pem(await client.get(Secrets, ns, 'root-client-ca')));
    expect(client_.verify(clientCA.publicKey)).toBe(true);
    expect(client_.subject).toContain(`CN=${VW}-virtual-workspace`);
    expect(client_.subject).toContain('O=system:masters');
  });

  it('is Available once its Deployment is', async () => {
    const before = await eventually('not yet available', async () => {
      const x = await client.get(VirtualWorkspaces, ns, VW);
      return condition(x, 'Available')?.reason === 'ReplicasUnavailable' ? x : undefined;
    });
    expect((before.status as { phase: string }).phase).toBe('Provisioning');
    // Standing in for the Deployment controller, which this API server runs without.
    const dep = await client.get(Deployments, ns, DEP);
    await client.patch(Deployments, ns, DEP, { status: { observedGeneration: dep.metadata.generation, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 } }, 'merge', 'status');
    const ok = await eventually('Available', async () => {
      const x = await client.get(VirtualWorkspaces, ns, VW);
      return condition(x, 'Available')?.status === 'True' ? x : undefined;
    });
    expect(condition(ok, 'Available')?.reason).toBe('ReplicasUp');
    expect((ok.status as { phase: string; observedGeneration: number })).toMatchObject({ phase: 'Running', observedGeneration: ok.metadata.generation });
  });

  it('the RootShard renders once the VirtualWorkspace exists, with kcp\'s flags for an external virtual workspace', async () => {
    const dep = await eventually('root shard Deployment', () => client.get(Deployments, ns, 'root-kcp').catch(() => undefined), 60_000);
    expect(args(dep)).toEqual(
      expect.arrayContaining([
        '--run-virtual-workspaces=false',
        '--shard-virtual-workspace-url=https://kcp.example.com:6443',
        '--shard-virtual-workspace-ca-file=/etc/kcp/tls/ca/server/tls.crt',
      ]),
    );
  });

  it('a FrontProxy of that RootShard sends /services/ to the VirtualWorkspace', async () => {
    await client.create(FrontProxies, { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'FrontProxy', metadata: { name: 'fp', namespace: ns }, spec: { rootShard: { ref: { name: 'root' } } } });
    const cm = await eventually('mapping', () => client.get(ConfigMaps, ns, 'fp-config').catch(() => undefined), 60_000);
    const mapping = parse((cm.data as Record<string, string>)['path-mapping.yaml'] ?? '') as Array<{ path: string; backend: string }>;
    expect(mapping.find((e) => e.path === '/services/')?.backend).toBe(`https://${DEP}.${ns}.svc.cluster.local:6443`);
  });

  it('accepts kcp-operator\'s custom-server sample under strict validation (its fields, as written there)', async () => {
    // The VirtualWorkspace of kcp-operator v0.9.0's config/samples/operator.kcp.io_v1alpha1_virtualworkspace_custom.yaml.
    const sample = {
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'VirtualWorkspace',
      metadata: { name: 'access', labels: { 'app.kubernetes.io/name': 'kcp-operator', 'app.kubernetes.io/managed-by': 'kustomize' } },
      spec: {
        target: { rootShardRef: { name: 'shard-sample' } },
        external: { hostname: 'example.operator.kcp.io', port: 6443 },
        image: { repository: 'ghcr.io/kcp-dev/contrib-access-virtual-workspace', tag: 'latest' },
        command: ['/access-vw'],
        replicas: 1,
        kubeconfigSecretRef: { name: 'access-vw-server-kubeconfig' },
        initContainers: [
          {
            name: 'init',
            kubeconfigSecretRef: { name: 'access-vw-bootstrap-kubeconfig' },
            command: ['/access-vw-init'],
            args: ['--kubeconfig=/etc/kcp/init-kubeconfig/kubeconfig', '--workspace-prefix=root:access', '--controllers-workspace=controllers'],
          },
        ],
        extraArgs: ['--apiexport-endpointslice=access.contrib.kcp.io', '--endpoint-base=https://example.operator.kcp.io:6443/clusters/'],
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
        deploymentTemplate: { spec: { template: { spec: { hostAliases: [{ ip: '10.96.100.100', hostnames: ['example.operator.kcp.io'] }] } } } },
      },
    };
    const r = await runKubectl(inject('kubeconfigPath'), ['apply', '--server-side', '--validate=strict', '--field-manager=vw-sample', '-n', ns, '-f', '-'], JSON.stringify(sample));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('serves a Shard: borrows that Shard\'s kubeconfig once the Shard has rendered it', async () => {
    await client.create(VirtualWorkspaces, { ...vw(), metadata: { name: 'vw-s1', namespace: ns }, spec: { ...(vw().spec as object), target: { shardRef: { name: 's1' } } } });
    await eventually('ReferenceNotFound', async () => condition(await client.get(VirtualWorkspaces, ns, 'vw-s1'), 'ReferenceValid')?.reason === 'ReferenceNotFound');
    await client.create(Shards, {
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'Shard',
      metadata: { name: 's1', namespace: ns },
      spec: { rootShard: { ref: { name: 'root' } }, etcd: { endpoints: ['http://etcd-s1:2379'] } },
    });
    const dep = await eventually('Deployment', () => client.get(Deployments, ns, 'vw-s1-virtual-workspace').catch(() => undefined), 60_000);
    const volumes = (dep.spec as { template: { spec: { volumes: Array<{ name: string; secret?: { secretName: string } }> } } }).template.spec.volumes;
    expect(volumes.find((v) => v.name === 'logical-cluster-admin-kubeconfig')?.secret?.secretName).toBe('s1-logical-cluster-admin-kubeconfig');
    expect(volumes.find((v) => v.name === 'ca-bundle')?.secret?.secretName).toBe('s1-merged-ca-bundle');
    const o = await client.get(VirtualWorkspaces, ns, 'vw-s1');
    expect(condition(o, 'ReferenceValid')).toMatchObject({ status: 'True', message: 'Shard/s1' });
  });
});
