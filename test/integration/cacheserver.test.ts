// CacheServer controller against the real API server: a CacheServer added later re-renders the root
// shard and the shards that inherit its reference; a user-provided CA (caSecretRef, which panics
// kcp-operator); external etcd; cert-manager without cert-manager. Nothing here runs kcp; where a
// Deployment's status matters the test sets it, standing in for kube-controller-manager.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheServers, RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, Secrets } from '../../src/kube/resources.js';
import { cacheServerCertificates } from '../../src/pki/hierarchy.js';
import { issueAll } from '../../src/pki/issue.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { builtInPkiRootShard, fixture } from './fixtures.js';
import { startOperator, type RunningOperator } from './operator.js';

type Cond = { type: string; status: string; reason: string; message: string };
const condition = (o: KubeObject | undefined, type: string) => ((o?.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const decode = (s: KubeObject, k: string) => Buffer.from((s.data as Record<string, string>)[k] ?? '', 'base64').toString();
type Pod = { metadata: { annotations: Record<string, string> }; spec: { containers: Array<{ args: string[] }>; volumes: Array<{ name: string; secret?: { secretName: string } }> } };
const template = (d: KubeObject) => (d.spec as { template: Pod }).template;
const args = (d: KubeObject) => template(d).spec.containers[0]?.args ?? [];
const hash = (d: KubeObject) => template(d).metadata.annotations['ts.operator.kcp.io/mounts-hash'];
const cacheServer = (ns: string, name: string, spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'operator.kcp.io/v1alpha1',
  kind: 'CacheServer',
  metadata: { name, namespace: ns },
  spec,
});

describe('CacheServer', () => {
  let client: KubeClient;
  beforeAll(async () => {
    client = await sharedClient('cacheserver-test');
  });
  afterAll(() => client?.close());

  describe('added later to a running topology', () => {
    let ns: string;
    let op: RunningOperator;
    beforeAll(async () => {
      ns = await createNamespace(client, 'cache-later');
      op = await startOperator({ namespace: ns });
      const rs = builtInPkiRootShard(ns);
      await client.create(RootShards, rs);
      await client.create(Shards, fixture('operator.kcp.io_v1alpha1_shard.yaml', ns));
    });
    afterAll(async () => op?.stop());

    it('re-renders the root shard and the shard (which inherits the reference)', async () => {
      const [root0, shard0] = await eventually('shard Deployments', async () => [
        await client.get(Deployments, ns, 'shard-sample-kcp'),
        await client.get(Deployments, ns, 'secondary-shard-shard-kcp'),
      ], 30_000);
      // Embedded cache: the root shard serves it, the shard uses the root shard.
      expect(args(root0!).some((a) => a.startsWith('--cache-kubeconfig'))).toBe(false);
      expect(args(shard0!)).toContain('--cache-kubeconfig=/etc/kcp/client-kubeconfig/kubeconfig');

      // The reference first, the CacheServer after it: both shards say what is missing.
      await client.patch(RootShards, ns, 'shard-sample', { spec: { cache: { ref: { name: 'cache' } } } }, 'merge');
      for (const [r, name] of [[RootShards, 'shard-sample'], [Shards, 'secondary-shard']] as const) {
        const o = await eventually(`${name} CacheServerNotFound`, async () => {
          const x = await client.get(r, ns, name);
          return condition(x, 'CacheServer')?.reason === 'CacheServerNotFound' ? x : undefined;
        });
        expect(condition(o, 'CacheServer')?.message).toMatch(/CacheServer .*\/cache does not exist/);
      }
      await client.create(CacheServers, cacheServer(ns, 'cache'));
      await eventually('cache kubeconfig', () => client.get(Secrets, ns, 'cache-kubeconfig'), 30_000);

      for (const [r, name, dep] of [[RootShards, 'shard-sample', 'shard-sample-kcp'], [Shards, 'secondary-shard', 'secondary-shard-shard-kcp']] as const) {
        await eventually(`${name}: CacheServer condition gone`, async () => !condition(await client.get(r, ns, name), 'CacheServer'));
        const d = await client.get(Deployments, ns, dep);
        expect(args(d)).toContain('--cache-kubeconfig=/etc/cache-server/kubeconfig/kubeconfig');
        const mounted = template(d).spec.volumes.map((v) => v.secret?.secretName);
        expect(mounted).toEqual(expect.arrayContaining(['cache-kubeconfig', 'cache-ca', 'cache-client-certificate']));
      }
      // The Pods roll once the cache's Secrets exist (the mounts hash covers them).
      const initial = { root: hash(root0!), shard: hash(shard0!) };
      await eventually('pods roll', async () => {
        const r = hash(await client.get(Deployments, ns, 'shard-sample-kcp'));
        const s = hash(await client.get(Deployments, ns, 'secondary-shard-shard-kcp'));
        return r !== initial.root && s !== initial.shard;
      });
      // Shards trust the cache server's certificate through <cs>-ca, and the cache trusts their client certificate.
      const ca = new X509Certificate(decode(await client.get(Secrets, ns, 'cache-ca'), 'tls.crt'));
      const server = new X509Certificate(decode(await client.get(Secrets, ns, 'cache-server'), 'tls.crt'));
      expect(server.verify(ca.publicKey)).toBe(true);
      expect(server.subjectAltName).toContain(`DNS:cache-cache-server.${ns}.svc.cluster.local`);
    });

    it('rolls the shards when the cache client certificate they mount is reissued', async () => {
      const before = {
        root: hash(await client.get(Deployments, ns, 'shard-sample-kcp')),
        shard: hash(await client.get(Deployments, ns, 'secondary-shard-shard-kcp')),
      };
      const old = await client.get(Secrets, ns, 'cache-client-certificate');
      // The CacheServer controller reissues the leaf; nothing about the CacheServer object changes.
      await client.delete(Secrets, ns, 'cache-client-certificate');
      await eventually('reissued', async () => (await client.get(Secrets, ns, 'cache-client-certificate')).metadata.uid !== old.metadata.uid, 30_000);
      await eventually('both roll', async () => {
        const r = hash(await client.get(Deployments, ns, 'shard-sample-kcp'));
        const s = hash(await client.get(Deployments, ns, 'secondary-shard-shard-kcp'));
        return r !== before.root && s !== before.shard;
      }, 30_000);
    });

    it('reports Available from its Deployment, with a status kcp-operator does not have', async () => {
      const dep = await client.get(Deployments, ns, 'cache-cache-server');
      // Stand-in for kube-controller-manager: the single replica is up.
      await client.patch(Deployments, ns, 'cache-cache-server', { status: { observedGeneration: dep.metadata.generation, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 } }, 'merge', 'status');
      const cs = await eventually('Available', async () => {
        const o = await client.get(CacheServers, ns, 'cache');
        return condition(o, 'Available')?.status === 'True' ? o : undefined;
      });
      expect(cs.status).toMatchObject({ phase: 'Running', observedGeneration: cs.metadata.generation });
      expect(condition(cs, 'CertificatesReady')).toMatchObject({ status: 'True', message: '3 certificates valid' });
    });
  });

  describe('PKI and storage options', () => {
    let ns: string;
    let op: RunningOperator;
    beforeAll(async () => {
      ns = await createNamespace(client, 'cache-options');
      op = await startOperator({ namespace: ns });
    });
    afterAll(async () => op?.stop());

    it('uses a CA of the user\'s (caSecretRef), never writes to it, and publishes its certificate as <cs>-ca', async () => {
      const own = (await issueAll(cacheServerCertificates({ name: 'elsewhere', namespace: ns }))).get('elsewhere-ca')!;
      await client.create(Secrets, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'my-cache-ca', namespace: ns },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': Buffer.from(own['tls.crt']).toString('base64'), 'tls.key': Buffer.from(own['tls.key']).toString('base64') },
      });
      const byo0 = await client.get(Secrets, ns, 'my-cache-ca');
      await client.create(CacheServers, cacheServer(ns, 'byo', { certificates: { caSecretRef: { name: 'my-cache-ca' } } }));
      const published = await eventually('published CA', () => client.get(Secrets, ns, 'byo-ca'), 30_000);
      expect(Object.keys(published.data as object)).toEqual(['tls.crt']);
      expect(decode(published, 'tls.crt')).toBe(own['tls.crt']);
      const ca = new X509Certificate(own['tls.crt']);
      for (const leaf of ['byo-server', 'byo-client-certificate']) {
        const cert = new X509Certificate(decode(await client.get(Secrets, ns, leaf), 'tls.crt'));
        expect(cert.verify(ca.publicKey), leaf).toBe(true);
      }
      await eventually('Deployment', () => client.get(Deployments, ns, 'byo-cache-server'));
      const cs = await eventually('status', async () => {
        const o = await client.get(CacheServers, ns, 'byo');
        return condition(o, 'CertificatesReady')?.status === 'True' ? o : undefined;
      });
      expect(condition(cs, 'Stalled')?.status).toBe('False');
      expect((await client.get(Secrets, ns, 'my-cache-ca')).metadata.resourceVersion).toBe(byo0.metadata.resourceVersion);
    });

    it('runs against an external etcd once its client Secret exists', async () => {
      await client.create(CacheServers, cacheServer(ns, 'ext', { etcd: { endpoints: ['https://etcd.example:2379'], tlsConfig: { secretRef: { name: 'cache-etcd-client' } } } }));
      const cs = await eventually('SecretNotFound', async () => {
        const o = await client.get(CacheServers, ns, 'ext');
        return condition(o, 'Stalled')?.reason === 'SecretNotFound' ? o : undefined;
      }, 30_000);
      expect(condition(cs, 'Available')?.message).toMatch(/etcd\.tlsConfig\.secretRef: Secret .*cache-etcd-client does not exist/);
      await client.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cache-etcd-client', namespace: ns }, data: { 'tls.crt': '', 'tls.key': '', 'ca.crt': '' } });
      const dep = await eventually('Deployment', () => client.get(Deployments, ns, 'ext-cache-server'));
      expect((dep.spec as { replicas: number }).replicas).toBe(2);
      expect(args(dep)).toEqual(expect.arrayContaining(['--etcd-servers=https://etcd.example:2379', '--etcd-certfile=/etc/cache-server/etcd/tls.crt']));
      expect(args(dep).some((a) => a.startsWith('--embedded-etcd'))).toBe(false);
    });

    it('says so when its issuerRef needs cert-manager, which is not installed', async () => {
      await client.create(CacheServers, cacheServer(ns, 'cm', { certificates: { issuerRef: { name: 'selfsigned', kind: 'ClusterIssuer' } } }));
      const cs = await eventually('CertManagerNotInstalled', async () => {
        const o = await client.get(CacheServers, ns, 'cm');
        return condition(o, 'CertificatesReady')?.reason === 'CertManagerNotInstalled' ? o : undefined;
      }, 30_000);
      expect(condition(cs, 'CertificatesReady')?.message).toMatch(/cert-manager is not installed/);
      expect((cs.status as { phase: string }).phase).toBe('Failed');
    });
  });
});
