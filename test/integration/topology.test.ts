// RootShard and Shard controllers against the real API server: the fixtures converge, children
// are restored and updated, a second reconcile writes nothing, and bad input gets a condition.
// Nothing here runs kcp; where a Deployment's status matters the test sets it, standing in for the
// kube-controller-manager that this control plane does not run.
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, Secrets, Services, Events } from '../../src/kube/resources.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { builtInPkiRootShard, fixture, markDeploymentAvailable } from './fixtures.js';
import { startOperator, type RunningOperator } from './operator.js';

type Cond = { type: string; status: string; reason: string; message: string };
const condition = (o: KubeObject | undefined, type: string) =>
  ((o?.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const decode = (s: KubeObject, k: string) => Buffer.from(((s.data as Record<string, string>)[k] ?? ''), 'base64').toString();

const CA_SECRETS = (rs: string) => [`${rs}-ca`, `${rs}-server-ca`, `${rs}-client-ca`, `${rs}-requestheader-client-ca`, `${rs}-service-account-ca`];

describe('RootShard and Shard', () => {
  let client: KubeClient;
  beforeAll(async () => {
    client = await sharedClient('topology-test');
  });
  afterAll(() => client?.close());

  it('reports a clear condition for the fixture RootShard that asks for cert-manager, which is not installed', async () => {
    const ns = await createNamespace(client, 'fixture-cm');
    const op = await startOperator({ namespace: ns });
    try {
      await client.create(RootShards, fixture('operator.kcp.io_v1alpha1_rootshard.yaml', ns));
      const rs = await eventually('CertManagerNotInstalled', async () => {
        const o = await client.get(RootShards, ns, 'shard-sample');
        return condition(o, 'CertificatesReady')?.reason === 'CertManagerNotInstalled' ? o : undefined;
      });
      expect(condition(rs, 'CertificatesReady')?.message).toMatch(/cert-manager is not installed/);
      expect(condition(rs, 'Stalled')?.status).toBe('True');
      expect((rs.status as { phase: string }).phase).toBe('Failed');
      await expect(client.get(Secrets, ns, 'shard-sample-ca')).rejects.toThrow();
    } finally {
      await op.stop();
    }
  });

  describe('built-in PKI', () => {
    let ns: string;
    let op: RunningOperator;
    beforeAll(async () => {
      ns = await createNamespace(client, 'topology');
      op = await startOperator({ namespace: ns, deregistrationTimeoutMs: 1500 });
      const rs = builtInPkiRootShard(ns);
      await client.create(RootShards, rs);
      await client.create(Shards, fixture('operator.kcp.io_v1alpha1_shard.yaml', ns));
    });
    afterAll(async () => op?.stop());

    it('converges: CA hierarchy, leaves, kubeconfigs, Deployments and Services', async () => {
      await eventually('deployments', async () => {
        await client.get(Deployments, ns, 'shard-sample-kcp');
        await client.get(Deployments, ns, 'secondary-shard-shard-kcp');
        return true;
      });
      const secrets = (await client.list(Secrets, { namespace: ns })).items;
      const byName = new Map(secrets.map((s) => [s.metadata.name, s]));
      for (const name of [
        ...CA_SECRETS('shard-sample'),
        'shard-sample-server',
        'shard-sample-client',
        'shard-sample-kcp-operator',
        'shard-sample-logical-cluster-admin-kubeconfig',
        'shard-sample-merged-client-ca',
        'secondary-shard-server',
        'secondary-shard-client',
        'secondary-shard-client-kubeconfig',
        'secondary-shard-service-account',
      ]) {
        expect(byName.has(name), name).toBe(true);
      }
      // The shard's server certificate chains to the root CA through the server CA.
      const root = new X509Certificate(decode(byName.get('shard-sample-ca')!, 'tls.crt'));
      const serverCA = new X509Certificate(decode(byName.get('shard-sample-server-ca')!, 'tls.crt'));
      const server = new X509Certificate(decode(byName.get('secondary-shard-server')!, 'tls.crt'));
      expect(serverCA.verify(root.publicKey)).toBe(true);
      expect(server.verify(serverCA.publicKey)).toBe(true);
      expect(server.subjectAltName).toContain('DNS:secondary-shard-shard-kcp.' + ns + '.svc.cluster.local');
      // CA Secrets are not owned (they must outlive the RootShard); leaves are.
      expect(byName.get('shard-sample-ca')?.metadata.ownerReferences).toBeUndefined();
      expect(byName.get('shard-sample-server')?.metadata.ownerReferences?.[0]?.kind).toBe('RootShard');

      const dep = await client.get(Deployments, ns, 'secondary-shard-shard-kcp');
      const c = (dep.spec as { template: { spec: { containers: Array<{ args: string[] }>; volumes: Array<{ name: string; secret?: { secretName: string; items?: unknown[] } }>; hostAliases?: unknown[] } } }).template.spec;
      const args = c.containers[0]!.args;
      expect(args).toContain('--shard-name=secondary-shard');
      expect(args).toContain('--root-shard-kubeconfig-file=/etc/kcp/client-kubeconfig/kubeconfig');
      expect(args).toContain('--etcd-servers=http://etcd-shard.default.svc.cluster.local:2379');
      expect(args).toContain('--shard-external-url=https://example.operator.kcp.io:6443');
      expect(args).toContain('-v=4'); // the fixture's legacy logLevel.verbosityLevel
      // serviceAccount auth: the shard trusts the root shard's service-account key.
      expect(args).toContain('--service-account-key-file=/etc/kcp/tls/shard-sample/service-account/tls.crt');
      expect(c.hostAliases).toEqual([{ ip: '10.96.100.100', hostnames: ['example.operator.kcp.io'] }]);
      // CA volumes carry only the certificate, never the CA's private key.
      const caVol = c.volumes.find((v) => v.name === 'ca-root');
      expect(caVol?.secret).toMatchObject({ secretName: 'shard-sample-ca', items: [{ key: 'tls.crt', path: 'tls.crt' }] });

      // auth.serviceAccount.enabled: the root shard trusts the joined shard's service-account key.
      const rootArgs = async () =>
        ((await client.get(Deployments, ns, 'shard-sample-kcp')).spec as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec.containers[0]!.args;
      await eventually('root trusts the shard key', async () => (await rootArgs()).includes('--service-account-key-file=/etc/kcp/tls/secondary-shard/service-account/tls.crt'));

      const svc = await client.get(Services, ns, 'shard-sample-kcp');
      expect((svc.spec as { type: string }).type).toBe('LoadBalancer');

      const rs = await eventually('root status lists the shard', async () => {
        const o = await client.get(RootShards, ns, 'shard-sample');
        return (o.status as { shards?: Array<{ name: string }> } | undefined)?.shards?.some((s) => s.name === 'secondary-shard') ? o : undefined;
      });
      expect(condition(rs, 'CertificatesReady')?.status).toBe('True');
      expect(condition(rs, 'Available')).toMatchObject({ status: 'False', reason: 'ReplicasUnavailable' });
      expect(condition(rs, 'Reconciling')?.status).toBe('True');
      expect((rs.status as { observedGeneration: number }).observedGeneration).toBe(rs.metadata.generation);
    });

    it('turns Available when the Deployment is available', async () => {
      await markDeploymentAvailable(client, ns, 'shard-sample-kcp');
      const rs = await eventually('Available', async () => {
        const o = await client.get(RootShards, ns, 'shard-sample');
        return condition(o, 'Available')?.status === 'True' ? o : undefined;
      });
      expect((rs.status as { phase: string }).phase).toBe('Running');
      expect(condition(rs, 'Reconciling')?.status).toBe('False');
    });

    it('makes zero writes when it reconciles an unchanged topology again', async () => {
      const quiet = async () => {
        const before = op.client.stats.writes;
        await new Promise((r) => setTimeout(r, 1500));
        return op.client.stats.writes === before;
      };
      await eventually('quiet', quiet, 30_000);
      const controllers = ['rootshard', 'shard'];
      const counts = () => controllers.map((c) => [...(op.manager as unknown as { controllers: Array<{ name: string; reconciles: Map<string, number> }> }).controllers.find((x) => x.name === c)!.reconciles.values()].reduce((a, b) => a + b, 0));
      const before = { writes: op.client.stats.writes, reconciles: counts() };
      const ctrls = (op.manager as unknown as { controllers: Array<{ queue: { add(k: string): void; length: number; processingCount: number } }> }).controllers;
      ctrls[0]!.queue.add(`${ns}/shard-sample`);
      ctrls[1]!.queue.add(`${ns}/secondary-shard`);
      await eventually('reconciled again', () => counts().every((n, i) => n > (before.reconciles[i] ?? 0)));
      // Those reconciles have finished (not merely had some time to), so every write they made is counted.
      await eventually('reconciles done', () => ctrls.every((c) => c.queue.length === 0 && c.queue.processingCount === 0));
      expect(op.client.stats.writes - before.writes).toBe(0);
    });

    it('does not reconcile the RootShard for a Shard update without a spec change, nor the Shards for such a RootShard update', async () => {
      // Labels stand in for the common case, status writes: either is an update of the same
      // generation. With 100 Shards, reacting to them cost n² reconciles while a topology converged.
      type Ctl = { name: string; reconciles: Map<string, number>; queue: { length: number; processingCount: number } };
      const ctrls = (op.manager as unknown as { controllers: Ctl[] }).controllers;
      const count = (c: string, key: string) => ctrls.find((x) => x.name === c)!.reconciles.get(key) ?? 0;
      const idle = () => ctrls.every((c) => c.queue.length === 0 && c.queue.processingCount === 0);
      const root = `${ns}/shard-sample`;
      const shard = `${ns}/secondary-shard`;
      await eventually('idle', idle, 30_000);
      const before = { root: count('rootshard', root), shard: count('shard', shard) };
      const s = await client.patch(Shards, ns, 'secondary-shard', { metadata: { labels: { 'test.example.com/poke': '1' } } }, 'merge');
      const r = await client.patch(RootShards, ns, 'shard-sample', { metadata: { labels: { 'test.example.com/poke': '1' } } }, 'merge');
      // Event handlers run as the informer stores the object, so once the operator's caches hold
      // both updates every key they mapped is queued; then the queues drain.
      await eventually('seen', () =>
        op.ctx.shards.get(shard)?.metadata.resourceVersion === s.metadata.resourceVersion && op.ctx.rootShards.get(root)?.metadata.resourceVersion === r.metadata.resourceVersion,
      );
      await eventually('idle again', idle, 30_000);
      expect({ root: count('rootshard', root), shard: count('shard', shard) }).toEqual(before);
    });

    it('restores a deleted child and reissues a deleted leaf, keeping the CAs', async () => {
      const caBefore = await Promise.all(CA_SECRETS('shard-sample').map((n) => client.get(Secrets, ns, n)));
      await client.delete(Services, ns, 'shard-sample-kcp');
      await client.delete(Secrets, ns, 'secondary-shard-client');
      await client.delete(Deployments, ns, 'secondary-shard-shard-kcp');
      await eventually('restored', async () => {
        await client.get(Services, ns, 'shard-sample-kcp');
        await client.get(Secrets, ns, 'secondary-shard-client');
        await client.get(Deployments, ns, 'secondary-shard-shard-kcp');
        return true;
      });
      const caAfter = await Promise.all(CA_SECRETS('shard-sample').map((n) => client.get(Secrets, ns, n)));
      expect(caAfter.map((s) => s.metadata.uid)).toEqual(caBefore.map((s) => s.metadata.uid));
      expect(caAfter.map((s) => s.metadata.resourceVersion)).toEqual(caBefore.map((s) => s.metadata.resourceVersion));
    });

    it('updates children when the spec changes, and rolls Pods when a mounted certificate is reissued', async () => {
      const dep0 = await client.get(Deployments, ns, 'secondary-shard-shard-kcp');
      const hash0 = (dep0.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations['ts.operator.kcp.io/mounts-hash'];
      await client.patch(Shards, ns, 'secondary-shard', { spec: { extraArgs: ['--feature-gates=Example=true'], certificateTemplates: { server: { spec: { dnsNames: ['shard2.example.com'] } } } } }, 'merge');
      const dep = await eventually('deployment updated', async () => {
        const d = await client.get(Deployments, ns, 'secondary-shard-shard-kcp');
        const args = (d.spec as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec.containers[0]!.args;
        return args.includes('--feature-gates=Example=true') ? d : undefined;
      });
      const server = new X509Certificate(decode(await client.get(Secrets, ns, 'secondary-shard-server'), 'tls.crt'));
      expect(server.subjectAltName).toContain('DNS:shard2.example.com');
      await eventually('pods roll', async () => {
        const d = await client.get(Deployments, ns, 'secondary-shard-shard-kcp');
        const h = (d.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations['ts.operator.kcp.io/mounts-hash'];
        return h !== hash0;
      });
      expect(dep.metadata.generation).toBeGreaterThan(dep0.metadata.generation ?? 0);
    });

    it('gives a bad reference the documented condition', async () => {
      const bad = fixture('operator.kcp.io_v1alpha1_shard.yaml', ns);
      bad.metadata.name = 'orphan';
      (bad.spec as { rootShard: { ref: { name: string } } }).rootShard.ref.name = 'no-such-root';
      await client.create(Shards, bad);
      const o = await eventually('RootShardNotFound', async () => {
        const s = await client.get(Shards, ns, 'orphan');
        return condition(s, 'RootShard')?.reason === 'RootShardNotFound' ? s : undefined;
      });
      expect(condition(o, 'RootShard')?.message).toMatch(/RootShard .*no-such-root does not exist/);
      expect(condition(o, 'Stalled')?.status).toBe('True');
      expect((o.status as { phase: string }).phase).toBe('Failed');
    });

    it('deletes a Shard within the bounded wait when kcp cannot be reached, and says so', async () => {
      await client.delete(Shards, ns, 'secondary-shard');
      await eventually('gone', async () => {
        try {
          await client.get(Shards, ns, 'secondary-shard');
          return false;
        } catch {
          return true;
        }
      }, 20_000);
      const events = (await client.list(Events, { namespace: ns })).items;
      expect(events.some((e) => (e as { reason?: string }).reason === 'DeregistrationSkipped')).toBe(true);
      // The shard left: the root shard no longer trusts its service-account key.
      await eventually('root drops the shard key', async () => {
        const d = await client.get(Deployments, ns, 'shard-sample-kcp');
        const args = (d.spec as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec.containers[0]!.args;
        return !args.some((a) => a.includes('/secondary-shard/service-account/'));
      }, 20_000);
    });
  });
});
