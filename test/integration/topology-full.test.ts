// Every kcp-operator sample together on the real API server: RootShard (built-in PKI instead of its
// cert-manager issuerRef), Shard, FrontProxy, CacheServer and the three Kubeconfigs converge, turn
// Available, and a reconcile of the unchanged topology writes nothing. Nothing here runs kcp; where
// a Deployment's status matters the test sets it, standing in for the kube-controller-manager that
// this control plane does not run.
import { X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheServers, FrontProxies, Kubeconfigs, RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Deployments, Secrets, Services, type ResourceType } from '../../src/kube/resources.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { builtInPkiRootShard, fixture, markDeploymentAvailable } from './fixtures.js';
import { startOperator, type RunningOperator } from './operator.js';

type Cond = { type: string; status: string; reason: string; message: string };
const condition = (o: KubeObject | undefined, type: string) =>
  ((o?.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const decode = (s: KubeObject, k: string) => Buffer.from((s.data as Record<string, string>)[k] ?? '', 'base64').toString();
type PodSpec = { containers: Array<{ args: string[]; command: string[]; volumeMounts: Array<{ name: string; mountPath: string }> }>; volumes: Array<{ name: string; secret?: { secretName: string; items?: unknown[] }; configMap?: { name: string }; emptyDir?: object }> };
const podSpec = (d: KubeObject) => (d.spec as { template: { spec: PodSpec } }).template.spec;

const KUBECONFIGS = [
  ['operator.kcp.io_v1alpha1_kubeconfig.yaml', 'kubeconfig-kcp-admin', 'sample-kubeconfig', 'FrontProxy/frontproxy-sample'],
  ['operator.kcp.io_v1alpha1_kubeconfig_rootshard.yaml', 'kubeconfig-shard-root-admin', 'kubeconfig-shard-root-admin', 'RootShard/shard-sample'],
  ['operator.kcp.io_v1alpha1_kubeconfig_shard.yaml', 'kubeconfig-shard-secondary-admin', 'kubeconfig-shard-secondary-admin', 'Shard/secondary-shard'],
] as const;

describe('the full sample topology', () => {
  let client: KubeClient;
  let ns: string;
  let op: RunningOperator;
  beforeAll(async () => {
    client = await sharedClient('topology-full-test');
    ns = await createNamespace(client, 'topology-full');
    op = await startOperator({ namespace: ns, deregistrationTimeoutMs: 1500 });
    const rs = builtInPkiRootShard(ns);
    const objects: Array<[ResourceType, KubeObject]> = [
      [RootShards, rs],
      [Shards, fixture('operator.kcp.io_v1alpha1_shard.yaml', ns)],
      [FrontProxies, fixture('operator.kcp.io_v1alpha1_frontproxy.yaml', ns)],
      [CacheServers, fixture('operator.kcp.io_v1alpha1_cacheserver.yaml', ns)],
      ...KUBECONFIGS.map(([file]) => [Kubeconfigs, fixture(file, ns)] as [ResourceType, KubeObject]),
    ];
    for (const [r, o] of objects) await client.create(r, o);
  });
  afterAll(async () => {
    await op?.stop();
    client?.close();
  });

  it('reports a Service the cluster rejects as a condition, and recovers once the spec is fixed', async () => {
    // The sample pins 10.96.100.100, inside kind's service range, which the test control plane serves.
    await eventually('the sample\'s clusterIP', async () => ((await client.get(Services, ns, 'frontproxy-sample-front-proxy')).spec as { clusterIP?: string }).clusterIP === '10.96.100.100', 30_000);
    // An address outside the range cannot be allocated (and clusterIP is immutable besides).
    await client.patch(FrontProxies, ns, 'frontproxy-sample', { spec: { serviceTemplate: { spec: { clusterIP: '10.255.0.100' } } } }, 'merge');
    const fp = await eventually('ServiceInvalid', async () => {
      const o = await client.get(FrontProxies, ns, 'frontproxy-sample');
      return condition(o, 'Stalled')?.reason === 'ServiceInvalid' ? o : undefined;
    }, 30_000);
    expect(condition(fp, 'Available')?.message).toMatch(/frontproxy-sample-front-proxy.*(10\.255\.0\.100|immutable)/);
    expect((fp.status as { phase: string }).phase).toBe('Failed');
    await client.patch(FrontProxies, ns, 'frontproxy-sample', { spec: { serviceTemplate: { spec: { clusterIP: '10.96.100.100' } } } }, 'merge');
    await eventually('recovered', async () => condition(await client.get(FrontProxies, ns, 'frontproxy-sample'), 'Stalled')?.status === 'False', 30_000);
  });

  it('renders the FrontProxy: certificates, mapping ConfigMap, dynamic kubeconfig, Deployment, Service', async () => {
    // The front-proxy trusts every shard's service-account key, the Shard's once it has one.
    const dep = await eventually('front-proxy Deployment with both service-account keys', async () => {
      const d = await client.get(Deployments, ns, 'frontproxy-sample-front-proxy');
      return podSpec(d).volumes.some((v) => v.name === 'sa-secondary-shard') ? d : undefined;
    }, 30_000);
    const pod = podSpec(dep);
    const args = pod.containers[0]!.args;
    expect(pod.containers[0]!.command).toEqual(['/kcp-front-proxy']);
    expect(args).toEqual(
      expect.arrayContaining([
        '--mapping-file=/etc/kcp-front-proxy/config/path-mapping.yaml',
        '--client-ca-file=/etc/kcp-front-proxy/client-ca/tls.crt',
        '--service-account-key-file=/etc/kcp/tls/shard-sample/service-account/tls.crt',
        '--service-account-key-file=/etc/kcp/tls/secondary-shard/service-account/tls.crt',
      ]),
    );
    // Service-account keys reach the front-proxy without their private halves.
    expect(pod.volumes.find((v) => v.name === 'sa-secondary-shard')?.secret).toMatchObject({ secretName: 'secondary-shard-service-account', items: [{ key: 'tls.crt', path: 'tls.crt' }] });

    const cm = await client.get(ConfigMaps, ns, 'frontproxy-sample-config');
    const mappings = parse((cm.data as Record<string, string>)['path-mapping.yaml'] ?? '') as Array<Record<string, string>>;
    expect(mappings.map((m) => m.path)).toEqual(['/clusters/', '/services/']);
    expect(mappings[0]?.backend).toBe('https://root.shard.example.operator.kcp.io:6443');

    const svc = await eventually('front-proxy Service', () => client.get(Services, ns, 'frontproxy-sample-front-proxy'));
    expect(svc.spec).toMatchObject({ type: 'LoadBalancer', clusterIP: '10.96.100.100', ports: [expect.objectContaining({ name: 'https', port: 6443, targetPort: 6443 })] });

    const server = new X509Certificate(decode(await client.get(Secrets, ns, 'shard-sample-frontproxy-sample-server'), 'tls.crt'));
    expect(server.subjectAltName).toContain('DNS:localhost');
    expect(server.subjectAltName).toContain('IP Address:127.0.0.2');
    expect(server.subjectAltName).toContain('DNS:example.operator.kcp.io');
    const serverCA = new X509Certificate(decode(await client.get(Secrets, ns, 'shard-sample-server-ca'), 'tls.crt'));
    expect(server.verify(serverCA.publicKey)).toBe(true);
    const dyn = await client.get(Secrets, ns, 'shard-sample-frontproxy-sample-dynamic-kubeconfig');
    expect(dyn.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'FrontProxy', name: 'frontproxy-sample', controller: true });
  });

  it('renders the CacheServer with its own PKI, an embedded etcd and a kubeconfig for shards', async () => {
    const dep = await eventually('cache server Deployment', () => client.get(Deployments, ns, 'cacheserver-sample-cache-server'), 30_000);
    const pod = podSpec(dep);
    expect((dep.spec as { replicas: number }).replicas).toBe(1);
    expect(pod.containers[0]!.args).toEqual(expect.arrayContaining(['--embedded-etcd-directory=/var/etcd', '--client-ca-file=/etc/cache-server/tls/ca/root/tls.crt']));
    expect(pod.volumes.find((v) => v.name === 'etcd-scratch')?.emptyDir).toEqual({});
    const kubeconfig = parse(decode(await client.get(Secrets, ns, 'cacheserver-sample-kubeconfig'), 'kubeconfig')) as { clusters: Array<{ cluster: Record<string, string> }> };
    expect(kubeconfig.clusters[0]?.cluster).toEqual({
      server: `https://cacheserver-sample-cache-server.${ns}.svc.cluster.local:6443`,
      'certificate-authority': '/etc/cache-server/tls/ca/root/tls.crt',
    });
    const ca = new X509Certificate(decode(await client.get(Secrets, ns, 'cacheserver-sample-ca'), 'tls.crt'));
    const leaf = new X509Certificate(decode(await client.get(Secrets, ns, 'cacheserver-sample-client-certificate'), 'tls.crt'));
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.subject).toContain('O=system:masters');
  });

  it('writes the three sample Kubeconfigs with the targets\' addresses', async () => {
    for (const [, name, secret, target] of KUBECONFIGS) {
      const kc = await eventually(`${name} Ready`, async () => {
        const o = await client.get(Kubeconfigs, ns, name);
        return (o.status as { phase?: string } | undefined)?.phase === 'Ready' ? o : undefined;
      }, 30_000);
      const status = kc.status as { targetName: string; notAfter: string; renewalTime: string };
      expect(status.targetName).toBe(target);
      expect(Date.parse(status.notAfter) - Date.now()).toBeGreaterThan(8000 * 3600_000);
      expect(condition(kc, 'Available')).toMatchObject({ status: 'True', reason: 'SecretsReady' });
      expect(condition(kc, 'ReferenceValid')?.status).toBe('True');
      const s = await client.get(Secrets, ns, secret);
      expect(s.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Kubeconfig', name, uid: kc.metadata.uid, controller: true });
      const config = parse(decode(s, 'kubeconfig')) as { clusters: Array<{ name: string; cluster: { server: string } }>; 'current-context': string };
      expect(config['current-context']).toBe('default');
      const server = (n: string) => config.clusters.find((c) => c.name === n)?.cluster.server;
      const base = target.startsWith('FrontProxy')
        ? 'https://example.operator.kcp.io:6443'
        : target.startsWith('RootShard')
          ? 'https://root.shard.example.operator.kcp.io:6443'
          : `https://secondary-shard-shard-kcp.${ns}.svc.cluster.local:6443`;
      expect(server('base')).toBe(base);
      expect(server('default')).toBe(`${base}/clusters/root`);
    }
  });

  it('turns every kind Available when the Deployments are', async () => {
    for (const d of ['shard-sample-kcp', 'secondary-shard-shard-kcp', 'frontproxy-sample-front-proxy', 'cacheserver-sample-cache-server']) {
      await eventually(d, () => markDeploymentAvailable(client, ns, d).then(() => true));
    }
    for (const [r, name] of [
      [FrontProxies, 'frontproxy-sample'],
      [CacheServers, 'cacheserver-sample'],
    ] as const) {
      const o = await eventually(`${name} Available`, async () => {
        const x = await client.get(r, ns, name);
        return condition(x, 'Available')?.status === 'True' ? x : undefined;
      });
      expect((o.status as { phase: string }).phase).toBe('Running');
      expect(condition(o, 'CertificatesReady')?.status).toBe('True');
      expect(condition(o, 'Reconciling')?.status).toBe('False');
      expect(condition(o, 'Stalled')?.status).toBe('False');
      expect((o.status as { observedGeneration: number }).observedGeneration).toBe(o.metadata.generation);
    }
    expect(condition(await client.get(FrontProxies, ns, 'frontproxy-sample'), 'RootShard')).toMatchObject({ status: 'True', reason: 'Valid' });
  });

  it('makes zero writes when every controller reconciles the unchanged topology again', async () => {
    await eventually('quiet', async () => {
      const before = op.client.stats.writes;
      await new Promise((r) => setTimeout(r, 1500));
      return op.client.stats.writes === before;
    }, 30_000);
    type Ctl = { name: string; queue: { add(k: string): void; length: number; processingCount: number }; reconciles: Map<string, number> };
    const controllers = (op.manager as unknown as { controllers: Ctl[] }).controllers;
    const keys: Record<string, string[]> = {
      rootshard: ['shard-sample'],
      shard: ['secondary-shard'],
      frontproxy: ['frontproxy-sample'],
      cacheserver: ['cacheserver-sample'],
      kubeconfig: KUBECONFIGS.map(([, name]) => name),
    };
    // Controllers of kinds this topology has none of (a VirtualWorkspace) have nothing to reconcile.
    const asked = controllers.filter((c) => keys[c.name]);
    expect(asked.map((c) => c.name).sort()).toEqual(Object.keys(keys).sort());
    const total = () => asked.map((c) => [...c.reconciles.values()].reduce((a, b) => a + b, 0));
    const before = { writes: op.client.stats.writes, reconciles: total() };
    for (const c of asked) for (const k of keys[c.name] ?? []) c.queue.add(`${ns}/${k}`);
    await eventually('reconciled again', () => total().every((n, i) => n > (before.reconciles[i] ?? 0)));
    // Those reconciles have finished (not merely had some time to), so every write they made is counted.
    await eventually('reconciles done', () => controllers.every((c) => c.queue.length === 0 && c.queue.processingCount === 0));
    expect(op.client.stats.writes - before.writes).toBe(0);
  });
});
