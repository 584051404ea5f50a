// The RootShard's internal proxy `<rs>-proxy` against the real API server: it is rendered for every
// RootShard (owned by it, certificates from the installation's CAs), its readiness is the
// RootShard's ProxyAvailable condition, spec.proxy changes it, and a Kubeconfig for a FrontProxy
// that cannot reach kcp through it says so by name. Nothing here runs kcp or kcp-front-proxy: this
// control plane runs no kube-controller-manager, so the test reports the Deployment's replicas
// itself where availability matters, and the proxy's Service name resolves nowhere (which is what
// an unreachable proxy looks like to the operator).
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrontProxies, Kubeconfigs, RootShards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Deployments, Events, Secrets, Services } from '../../src/kube/resources.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { builtInPkiRootShard, fixture, markDeploymentAvailable } from './fixtures.js';
import { startOperator, type RunningOperator } from './operator.js';

type Cond = { type: string; status: string; reason: string; message: string };
const condition = (o: KubeObject | undefined, type: string) => ((o?.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const decode = (s: KubeObject, k: string) => Buffer.from((s.data as Record<string, string>)[k] ?? '', 'base64').toString();
const RS = 'shard-sample';
const PROXY = `${RS}-proxy`;

describe('RootShard internal proxy', () => {
  let client: KubeClient;
  let ns: string;
  let op: RunningOperator;
  const rootShard = () => client.get(RootShards, ns, RS);
  const proxyCondition = async (reason: string) =>
    eventually(`ProxyAvailable ${reason}`, async () => {
      const o = await rootShard();
      return condition(o, 'ProxyAvailable')?.reason === reason ? o : undefined;
    }, 30_000);

  beforeAll(async () => {
    client = await sharedClient('rootshard-proxy-test');
    ns = await createNamespace(client, 'rootshard-proxy');
    op = await startOperator({ namespace: ns });
    const rs = builtInPkiRootShard(ns);
    await client.create(RootShards, rs);
  });
  afterAll(async () => {
    await op?.stop();
    client?.close();
  });

  it('is rendered for a RootShard without spec.proxy: kcp-operator names, owned by the RootShard, certificates from its CAs', async () => {
    const dep = await eventually('proxy Deployment', () => client.get(Deployments, ns, PROXY), 30_000);
    expect(dep.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'RootShard', name: RS, controller: true });
    expect((dep.spec as { replicas: number }).replicas).toBe(2);
    const labels = (dep.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
    expect(labels).toMatchObject({ 'app.kubernetes.io/component': 'rootshard-proxy', 'app.kubernetes.io/instance': RS });
    // The Service is applied after the Deployment: each child is waited for, not read once.
    await eventually('proxy Service', () => client.get(Services, ns, PROXY), 30_000);
    await eventually('proxy ConfigMap', () => client.get(ConfigMaps, ns, `${PROXY}-config`), 30_000);
    for (const s of ['dynamic-kubeconfig', 'merged-client-ca']) await eventually(`proxy ${s}`, () => client.get(Secrets, ns, `${PROXY}-${s}`), 30_000);

    const cert = async (name: string) => new X509Certificate(decode(await client.get(Secrets, ns, name), 'tls.crt'));
    const ca = async (name: string) => (await cert(name)).publicKey;
    const server = await cert(`${PROXY}-server`);
    expect(server.verify(await ca(`${RS}-server-ca`))).toBe(true);
    expect(server.subjectAltName).toContain(`DNS:${PROXY}.${ns}.svc.cluster.local`);
    const kubeconfig = await cert(`${PROXY}-kubeconfig`);
    expect(kubeconfig.verify(await ca(`${RS}-client-ca`))).toBe(true);
    expect(kubeconfig.subject).toMatch(/CN=kcp-root-shard-proxy/);
    expect(kubeconfig.subject).toMatch(/O=system:masters/);
    const requestheader = await cert(`${PROXY}-requestheader`);
    expect(requestheader.verify(await ca(`${RS}-requestheader-client-ca`))).toBe(true);
    expect(requestheader.subject).toMatch(/CN=kcp-root-shard-proxy/);

    // Its Pods are not up (nothing runs them here): the RootShard says so in its own condition.
    const rs = await proxyCondition('ReplicasUnavailable');
    expect(condition(rs, 'ProxyAvailable')).toMatchObject({ status: 'False', message: expect.stringMatching(new RegExp(`internal proxy ${PROXY}: 0/2 replicas available`)) });
    expect(condition(rs, 'UnsupportedFields')?.message ?? '').not.toMatch(/spec\.proxy/);
  });

  it('turns ProxyAvailable when the proxy Deployment is available', async () => {
    await markDeploymentAvailable(client, ns, PROXY);
    const rs = await proxyCondition('ReplicasUp');
    expect(condition(rs, 'ProxyAvailable')?.status).toBe('True');
    expect((rs.status as { observedGeneration: number }).observedGeneration).toBe(rs.metadata.generation);
  });

  it('applies spec.proxy (replicas 0 is reported as not available; extra args reach the container)', async () => {
    await client.patch(RootShards, ns, RS, { spec: { proxy: { replicas: 0, extraArgs: ['--v=3'] } } }, 'merge');
    const rs = await proxyCondition('ScaledToZero');
    expect(condition(rs, 'ProxyAvailable')?.status).toBe('False');
    const dep = await client.get(Deployments, ns, PROXY);
    expect((dep.spec as { replicas: number }).replicas).toBe(0);
    const args = (dep.spec as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec.containers[0]?.args ?? [];
    expect(args.at(-1)).toBe('--v=3');
  });

  it('a Kubeconfig for a FrontProxy reaches kcp through the proxy: unreachable, its condition and Event name the proxy', async () => {
    const fp = fixture('operator.kcp.io_v1alpha1_frontproxy.yaml', ns);
    delete (fp.spec as { serviceTemplate?: unknown }).serviceTemplate; // the sample's clusterIP is for kind's range
    await client.create(FrontProxies, fp);
    await client.create(Kubeconfigs, {
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'Kubeconfig',
      metadata: { name: 'team', namespace: ns },
      spec: {
        username: 'alice',
        validity: '24h',
        secretRef: { name: 'team-kubeconfig' },
        target: { frontProxyRef: { name: fp.metadata.name } },
        targetWorkspace: 'root:team',
        authorization: { clusterRoleBindings: { clusterRoles: ['view'] } },
      },
    });
    const kc = await eventually('ProxyUnreachable', async () => {
      const o = await client.get(Kubeconfigs, ns, 'team');
      return condition(o, 'AuthorizationReady')?.reason === 'ProxyUnreachable' ? o : undefined;
    }, 60_000);
    expect(condition(kc, 'AuthorizationReady')?.message).toContain(`internal proxy ${PROXY} (https://${PROXY}.${ns}.svc.cluster.local:6443)`);
    // The kubeconfig itself is usable; the bindings are still owed.
    expect(condition(kc, 'Available')?.status).toBe('True');
    expect(condition(kc, 'Reconciling')).toMatchObject({ status: 'True', reason: 'ProxyUnreachable' });
    const events = (await client.list(Events, { namespace: ns })).items as Array<KubeObject & { reason?: string; note?: string; message?: string }>;
    expect(events.some((e) => e.reason === 'ProxyUnreachable' && (e.note ?? e.message ?? '').includes(PROXY))).toBe(true);
  });
});
