// FrontProxy controller against the real API server: a RootShard reference that resolves late,
// shards joining and leaving (service-account keys), a new path mapping rolling the Pods, a client
// CA bundle reference that is missing and then arrives. Nothing here runs kcp.
import { X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrontProxies, RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Deployments, Secrets } from '../../src/kube/resources.js';
import { splitPemCertificates } from '../../src/pki/pem.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { builtInPkiRootShard, fixture } from './fixtures.js';
import { startOperator, type RunningOperator } from './operator.js';

type Cond = { type: string; status: string; reason: string; message: string };
const condition = (o: KubeObject | undefined, type: string) => ((o?.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
type Template = { metadata: { annotations: Record<string, string> }; spec: { containers: Array<{ args: string[] }> } };
const template = (d: KubeObject) => (d.spec as { template: Template }).template;
const args = (d: KubeObject) => template(d).spec.containers[0]?.args ?? [];
const DEP = 'frontproxy-sample-front-proxy';

describe('FrontProxy', () => {
  let client: KubeClient;
  let ns: string;
  let op: RunningOperator;
  beforeAll(async () => {
    client = await sharedClient('frontproxy-test');
    ns = await createNamespace(client, 'frontproxy');
    // A deleted Shard keeps its deregistration finalizer until kcp answers or this wait ends.
    op = await startOperator({ namespace: ns, deregistrationTimeoutMs: 1500 });
  });
  afterAll(async () => {
    await op?.stop();
    client?.close();
  });

  it('reports a RootShard that does not exist yet, then converges when it appears', async () => {
    const fp = fixture('operator.kcp.io_v1alpha1_frontproxy.yaml', ns);
    delete (fp.spec as { serviceTemplate?: unknown }).serviceTemplate; // the sample's clusterIP is for kind's range
    await client.create(FrontProxies, fp);
    const o = await eventually('RootShardNotFound', async () => {
      const x = await client.get(FrontProxies, ns, 'frontproxy-sample');
      return condition(x, 'RootShard')?.reason === 'RootShardNotFound' ? x : undefined;
    });
    expect(condition(o, 'RootShard')?.message).toMatch(/RootShard .*shard-sample does not exist/);
    expect(condition(o, 'Stalled')?.status).toBe('True');
    expect((o.status as { phase: string }).phase).toBe('Failed');

    const rs = builtInPkiRootShard(ns);
    await client.create(RootShards, rs);
    const dep = await eventually('Deployment', () => client.get(Deployments, ns, DEP), 30_000);
    expect(args(dep)).toContain('--service-account-key-file=/etc/kcp/tls/shard-sample/service-account/tls.crt');
    const ok = await eventually('waiting only for its Pods', async () => {
      const x = await client.get(FrontProxies, ns, 'frontproxy-sample');
      return condition(x, 'Available')?.reason === 'ReplicasUnavailable' ? x : undefined;
    });
    expect(condition(ok, 'RootShard')).toMatchObject({ status: 'True', reason: 'Valid' });
    expect(condition(ok, 'Stalled')?.status).toBe('False');
  });

  it('trusts the service-account key of each shard that joins, and forgets one that leaves', async () => {
    const shard = fixture('operator.kcp.io_v1alpha1_shard.yaml', ns);
    await client.create(Shards, shard);
    const flag = '--service-account-key-file=/etc/kcp/tls/secondary-shard/service-account/tls.crt';
    await eventually('joined', async () => args(await client.get(Deployments, ns, DEP)).includes(flag), 30_000);
    await client.delete(Shards, ns, 'secondary-shard');
    await eventually('left', async () => !args(await client.get(Deployments, ns, DEP)).includes(flag), 30_000);
  });

  it('is not woken by a Shard\'s Secrets other than its service-account key', async () => {
    // Ten such Secrets per Shard each reconciled every FrontProxy while a topology converged.
    type Ctl = { name: string; reconciles: Map<string, number>; queue: { length: number; processingCount: number } };
    const ctrls = (op.manager as unknown as { controllers: Ctl[] }).controllers;
    const count = () => ctrls.find((x) => x.name === 'frontproxy')!.reconciles.get(`${ns}/frontproxy-sample`) ?? 0;
    const idle = () => ctrls.every((c) => c.queue.length === 0 && c.queue.processingCount === 0);
    await eventually('idle', idle, 30_000);
    const before = count();
    const labels = { 'operator.kcp.io/rootshard': 'shard-sample', 'operator.kcp.io/shard': 'some-shard' };
    const s: KubeObject = await client.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'some-shard-server', namespace: ns, labels }, data: {} } as KubeObject);
    try {
      // Handlers run as the informer stores the object: once the cache holds it, whatever it
      // mapped is queued; then the queues drain.
      await eventually('seen', () => op.ctx.secrets.get(`${ns}/some-shard-server`)?.metadata.resourceVersion === s.metadata.resourceVersion);
      await eventually('idle again', idle, 30_000);
      expect(count()).toBe(before);
    } finally {
      await client.delete(Secrets, ns, 'some-shard-server');
    }
  });

  it('rolls the Pods when the mapping file changes', async () => {
    const before = template(await client.get(Deployments, ns, DEP)).metadata.annotations['ts.operator.kcp.io/mounts-hash'];
    const extra = { path: '/services/custom', backend: 'https://custom-vw.example:6443', backend_server_ca: '/etc/kcp/tls/ca/tls.crt', proxy_client_cert: '/etc/kcp-front-proxy/requestheader-client/tls.crt', proxy_client_key: '/etc/kcp-front-proxy/requestheader-client/tls.key' };
    await client.patch(FrontProxies, ns, 'frontproxy-sample', { spec: { additionalPathMappings: [extra] } }, 'merge');
    const cm = await eventually('mapping', async () => {
      const c = await client.get(ConfigMaps, ns, 'frontproxy-sample-config');
      return (c.data as Record<string, string>)['path-mapping.yaml']?.includes('/services/custom') ? c : undefined;
    });
    expect((parse((cm.data as Record<string, string>)['path-mapping.yaml'] ?? '') as unknown[]).at(-1)).toEqual(extra);
    await eventually('rolled', async () => template(await client.get(Deployments, ns, DEP)).metadata.annotations['ts.operator.kcp.io/mounts-hash'] !== before);
  });

  it('waits for a referenced client CA bundle, then trusts it alongside the installation\'s client CA', async () => {
    await client.patch(FrontProxies, ns, 'frontproxy-sample', { spec: { clientCABundleRef: { name: 'legacy-clients' } } }, 'merge');
    const o = await eventually('SecretNotFound', async () => {
      const x = await client.get(FrontProxies, ns, 'frontproxy-sample');
      return condition(x, 'Stalled')?.reason === 'SecretNotFound' ? x : undefined;
    });
    expect(condition(o, 'Available')?.message).toMatch(/clientCABundleRef: Secret .*legacy-clients does not exist/);
    // Any CA certificate will do as the "legacy" client CA: reuse the server CA's.
    const other = (await client.get(Secrets, ns, 'shard-sample-server-ca')).data as Record<string, string>;
    await client.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'legacy-clients', namespace: ns }, data: { 'tls.crt': other['tls.crt'] ?? '' } });
    const merged = await eventually('merged client CA', async () => {
      const s = await client.get(Secrets, ns, 'frontproxy-sample-merged-client-ca');
      const pem = Buffer.from((s.data as Record<string, string>)['tls.crt'] ?? '', 'base64').toString();
      return splitPemCertificates(pem).length === 2 ? pem : undefined;
    });
    const subjects = splitPemCertificates(merged).map((der) => new X509Certificate(der).subject);
    expect(subjects).toEqual([expect.stringContaining('shard-sample-client-ca'), expect.stringContaining('shard-sample-server-ca')]);
    await eventually('not stalled', async () => condition(await client.get(FrontProxies, ns, 'frontproxy-sample'), 'Stalled')?.status === 'False');
  });

  it('names the template fields the built-in PKI does not act on', async () => {
    await client.patch(FrontProxies, ns, 'frontproxy-sample', { spec: { certificateTemplates: { server: { spec: { issuerRef: { name: 'letsencrypt' } } } } } }, 'merge');
    const o = await eventually('UnsupportedFields', async () => {
      const x = await client.get(FrontProxies, ns, 'frontproxy-sample');
      return condition(x, 'UnsupportedFields') ? x : undefined;
    });
    expect(condition(o, 'UnsupportedFields')?.message).toMatch(/spec\.certificateTemplates\.server\.spec\.issuerRef/);
  });
});
