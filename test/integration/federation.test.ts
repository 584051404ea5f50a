// Shard federation without kcp: two real control planes stand in for the hub (A: RootShard,
// FrontProxy) and an edge cluster (B: a Shard with rootShard.joinRef), each with its own operator
// and sync sidecar, registered with each other under the sidecar's remote RBAC. No Pods run
// (there is no kubelet here), so nothing becomes Available; what is checked is every object the
// protocol writes, on both sides, and every refusal path. A third cluster name, `lab`, has no
// sidecar: join requests "from lab" are written straight into A's request namespace, standing in
// for a compromised or careless sidecar, so A's checks are tested on documents no real sidecar
// would restore.
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { loadKubeconfigFile, type RestConfig } from '../../src/kube/kubeconfig.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, Events } from '../../src/kube/resources.js';
import { Kubeconfigs, RootShards, Shards } from '../../src/controllers/context.js';
import { generateKeyPair } from '../../src/pki/keys.js';
import { createCsr } from '../../src/pki/csr.js';
import { parseJoinInfo, parseJoinResponse, REQUEST_KEY, type JoinRequest } from '../../src/federation/protocol.js';
import { buildJoinRequest, requestPlans } from '../../src/federation/shard-side.js';
import { ORIGIN, ORIGIN_CLUSTER_LABEL, ORIGIN_UID, REPLICA_NAMESPACE } from '../../sync/keys.js';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.js';
import { acceptingNamespace, ConfigMaps, decoded, getOrUndefined, localIdentity, registration, remoteIdentity, Secrets, startSidecar, type RunningSidecar } from '../bench/sync-fixtures.js';
import { eventually, quiet } from './helpers.js';
import { startOperator, type RunningOperator } from './operator.js';

const HUB_NS = 'kcp-hub';
const EDGE_NS = 'kcp-edge';
const SYNC_NS = 'kcp-sync';
const WAIT = 60_000;

const rootShard = (accept: Array<{ cluster: string; namespace: string; shard: string }>): KubeObject => ({
  apiVersion: 'operator.kcp.io/v1alpha1',
  kind: 'RootShard',
  metadata: { name: 'root', namespace: HUB_NS },
  spec: {
    external: { hostname: 'kcp.hub.example', port: 6443 },
    cache: { embedded: { enabled: true } },
    etcd: { endpoints: ['http://etcd-root:2379'] },
    auth: { serviceAccount: { enabled: true } },
    federation: { accept, maxCertificateDuration: '720h' },
  },
});

const edgeShard = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'operator.kcp.io/v1alpha1',
  kind: 'Shard',
  metadata: { name, namespace: EDGE_NS },
  spec: { rootShard: { joinRef: { name: 'root-federation' } }, etcd: { endpoints: ['http://etcd-edge:2379'] }, auth: { serviceAccount: { enabled: true } }, ...extra },
});

const kubeConfigOf = (cp: ControlPlane): RestConfig => {
  const kc = loadKubeconfigFile(cp.kubeconfigPath);
  return kc;
};

const publicKeyFingerprintOfPem = (pem: string): string =>
  createHash('sha256').update(createPublicKey(pem).export({ type: 'spki', format: 'der' })).digest('hex');

/** Every PEM private key in every Secret of `namespace`, as public-key fingerprints. */
async function privateKeyFingerprints(client: KubeClient, namespace: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const list = await client.list(Secrets, { namespace: namespace });
  for (const s of list.items) {
    for (const [k, v] of Object.entries(decoded(s) ?? {})) {
      for (const m of v.matchAll(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g)) {
        out.set(publicKeyFingerprintOfPem(createPublicKey(createPrivateKey(m[0])).export({ type: 'spki', format: 'pem' }).toString()), `${s.metadata.name}/${k}`);
      }
    }
  }
  return out;
}

/** `actual` holds every field of `expected` (what toMatchObject checks), as a value to wait for. */
const matches = (actual: object | undefined, expected: Record<string, unknown>) => !!actual && Object.entries(expected).every(([k, v]) => (actual as Record<string, unknown>)[k] === v);

async function condition(client: KubeClient, r: typeof Shards, ns: string, name: string, type: string) {
  const o = await getOrUndefined(client, r, ns, name);
  return ((o?.status as { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } | undefined)?.conditions ?? []).find((c) => c.type === type);
}

describe('shard federation across two clusters (operators and sidecars, no kcp)', () => {
  let hub: ControlPlane;
  let edge: ControlPlane;
  let a: KubeClient;
  let b: KubeClient;
  let opA: RunningOperator;
  let opB: RunningOperator;
  let scA: RunningSidecar | undefined;
  let scB: RunningSidecar;
  let hubSidecarKubeconfig: string;

  const startHubSidecar = async () => (scA = await startSidecar(hubSidecarKubeconfig, { namespace: SYNC_NS, clusterName: 'hub' }));

  beforeAll(async () => {
    [hub, edge] = await Promise.all([startControlPlane({ name: 'fed-hub' }), startControlPlane({ name: 'fed-edge' })]);
    a = await hub.client('fed-test');
    b = await edge.client('fed-test');
    // Consent of the namespaces, for the sidecars: A takes join requests from the edge's namespace;
    // B takes the join info and the responses from A's.
    await acceptingNamespace(a, HUB_NS, ['edge/kcp-edge/*-join-request', 'edge/kcp-edge/*-kubeconfig-request']);
    await acceptingNamespace(b, EDGE_NS, ['hub/kcp-hub/root-federation', 'hub/kcp-hub/*-join-response', 'hub/kcp-hub/*-kubeconfig-response']);
    hubSidecarKubeconfig = await localIdentity(hub, a, SYNC_NS);
    const edgeSidecarKubeconfig = await localIdentity(edge, b, SYNC_NS);
    await a.create(Secrets, registration(SYNC_NS, 'edge', await remoteIdentity(edge, b, 'kcp-sync-hub')));
    await b.create(Secrets, registration(SYNC_NS, 'hub', await remoteIdentity(hub, a, 'kcp-sync-edge')));
    opA = await startOperator({ namespace: HUB_NS, deregistrationTimeoutMs: 3000 }, kubeConfigOf(hub));
    opB = await startOperator({ namespace: EDGE_NS, deregistrationTimeoutMs: 20_000 }, kubeConfigOf(edge));
    await startHubSidecar();
    scB = await startSidecar(edgeSidecarKubeconfig, { namespace: SYNC_NS, clusterName: 'edge' });
    await a.create(RootShards, rootShard([
      { cluster: 'edge', namespace: EDGE_NS, shard: 'edge-*' },
      { cluster: 'lab', namespace: '*', shard: 'lab-*' },
    ]));
    await a.create({ ...RootShards, kind: 'FrontProxy', plural: 'frontproxies' }, {
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'FrontProxy',
      metadata: { name: 'front-proxy', namespace: HUB_NS },
      spec: { rootShard: { ref: { name: 'root' } }, auth: { serviceAccount: { enabled: true } } },
    });
  }, 120_000);

  afterAll(async () => {
    await scA?.stop();
    await scB?.stop();
    await opA?.stop();
    await opB?.stop();
    a?.close();
    b?.close();
    await Promise.all([hub?.stop(), edge?.stop()]);
  });

  const federated = async (shard: string) => {
    const rs = await a.get(RootShards, HUB_NS, 'root');
    return ((rs.status as { federatedShards?: Array<{ name: string; state: string; reason?: string; generation?: number }> } | undefined)?.federatedShards ?? []).find((s) => s.name === shard);
  };
  const argsOf = async (client: KubeClient, ns: string, deployment: string): Promise<string[]> => {
    const d = await getOrUndefined(client, Deployments, ns, deployment);
    const c = (d?.spec as { template: { spec: { containers: Array<{ args?: string[]; command?: string[] }> } } } | undefined)?.template.spec.containers[0];
    return [...(c?.command ?? []), ...(c?.args ?? [])];
  };

  it('joins: B keeps its keys, A signs exactly the shard identities, both sides render, and no CA key reaches B', async () => {
    await b.create(Shards, edgeShard('edge-1'));
    await eventually('edge-1 joined on B', async () => (await condition(b, Shards, EDGE_NS, 'edge-1', 'Joined'))?.status === 'True', WAIT);
    await eventually(`status of edge-1 on A`, async () => matches(await federated('edge-1'), { state: 'Joined', generation: 1 }), WAIT);

    // B renders the shard against A's URLs, with its certificates mounted.
    const args = await eventually('edge-1 Deployment on B', async () => {
      const x = await argsOf(b, EDGE_NS, 'edge-1-shard-kcp');
      return x.length > 0 ? x : undefined;
    });
    expect(args.join(' ')).toContain('--shard-name=edge-1');
    const kubeconfig = decoded(await b.get(Secrets, EDGE_NS, 'edge-1-client-kubeconfig'))?.kubeconfig ?? '';
    expect(kubeconfig).toContain('https://root-kcp.kcp-hub.svc.cluster.local:6443');

    // A trusts edge-1's service-account key (public half only) in the root shard and the front-proxy.
    const sa = await a.get(Secrets, HUB_NS, 'edge-1-service-account');
    expect(Object.keys(decoded(sa) ?? {})).toEqual(['tls.crt']);
    await eventually('root shard trusts edge-1', async () => (await argsOf(a, HUB_NS, 'root-kcp')).some((x) => x.includes('edge-1/service-account')), WAIT);
    await eventually('front-proxy trusts edge-1', async () => (await argsOf(a, HUB_NS, 'front-proxy-front-proxy')).some((x) => x.includes('edge-1/service-account')), WAIT);

    // The server certificate on B chains to A's server CA, for B's key.
    const server = decoded(await b.get(Secrets, EDGE_NS, 'edge-1-server')) ?? {};
    const serverCA = new X509Certificate(decoded(await a.get(Secrets, HUB_NS, 'root-server-ca'))?.['tls.crt'] ?? '');
    const cert = new X509Certificate(server['tls.crt'] ?? '');
    expect(cert.verify(serverCA.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(server['tls.key'] ?? ''))).toBe(true);
    expect(cert.subjectAltName).toContain('DNS:edge-1-shard-kcp.kcp-edge.svc.cluster.local');

    // No Secret on B holds the private key of any CA of A's installation (compared by public key).
    const caKeys = new Set<string>();
    for (const s of (await a.list(Secrets, { namespace: HUB_NS })).items) {
      const d = decoded(s) ?? {};
      if (s.metadata.name?.endsWith('-ca') && d['tls.crt'] && d['tls.key']) caKeys.add(publicKeyFingerprintOfPem(d['tls.crt']));
    }
    expect(caKeys.size).toBe(5);
    // The scan finds a CA key when there is one (a canary, removed again), so its silence below means something.
    const rootCA = decoded(await a.get(Secrets, HUB_NS, 'root-ca')) ?? {};
    await b.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'canary', namespace: EDGE_NS }, data: { leaked: Buffer.from(rootCA['tls.key'] ?? '').toString('base64') } });
    expect([...(await privateKeyFingerprints(b, EDGE_NS)).keys()].filter((fp) => caKeys.has(fp))).toHaveLength(1);
    await b.delete(Secrets, EDGE_NS, 'canary');
    const onB = await privateKeyFingerprints(b, EDGE_NS);
    expect(onB.size).toBeGreaterThan(0);
    expect([...onB.keys()].filter((fp) => caKeys.has(fp))).toEqual([]);
    // And the published documents carry no private key at all, on either side.
    for (const [client, ns] of [[a, HUB_NS], [b, EDGE_NS]] as const) {
      for (const cm of (await client.list(ConfigMaps, { namespace: ns })).items) expect(JSON.stringify(cm.data ?? {})).not.toContain('PRIVATE KEY');
    }
    // B's private keys are B's: none of them is in any object on A.
    const onA = await privateKeyFingerprints(a, HUB_NS);
    expect([...onB.keys()].filter((fp) => onA.has(fp))).toEqual([]);
  }, 120_000);

  it('writes nothing more once joined (no request or response rewritten at rest)', async () => {
    const versions = async () => [
      (await a.get(ConfigMaps, HUB_NS, 'edge-1-join-response')).metadata.resourceVersion,
      (await b.get(ConfigMaps, EDGE_NS, 'edge-1-join-request')).metadata.resourceVersion,
      (await a.get(Secrets, HUB_NS, 'edge-1-service-account')).metadata.resourceVersion,
      (await b.get(Secrets, EDGE_NS, 'edge-1-server')).metadata.resourceVersion,
      (await b.get(Deployments, EDGE_NS, 'edge-1-shard-kcp')).metadata.resourceVersion,
    ];
    const settled = await quiet('federation objects', versions, 2000);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await versions()).toEqual(settled);
  }, 90_000);

  it('refuses a shard A does not accept: nothing is signed, both sides say why', async () => {
    await b.create(Shards, edgeShard('stray-1'));
    const joined = await eventually('stray-1 refused on B', async () => {
      const c = await condition(b, Shards, EDGE_NS, 'stray-1', 'Joined');
      return c?.reason === 'NotAccepted' ? c : undefined;
    }, WAIT);
    expect(joined.message).toContain('no spec.federation.accept rule matches');
    await eventually(`status of stray-1 on A`, async () => matches(await federated('stray-1'), { state: 'Refused', reason: 'NotAccepted' }), WAIT);
    expect(await getOrUndefined(b, Secrets, EDGE_NS, 'stray-1-server')).toBeUndefined();
    expect(await getOrUndefined(a, Secrets, HUB_NS, 'stray-1-service-account')).toBeUndefined();
    const response = parseJoinResponse((await a.get(ConfigMaps, HUB_NS, 'stray-1-join-response')).data as Record<string, string>);
    expect(response.signed).toBeUndefined();
    await eventually('a ShardJoinRefused Event for stray-1', async () => (await a.list(Events, { namespace: HUB_NS })).items.some((e) => (e as { reason?: string }).reason === 'ShardJoinRefused' && JSON.stringify(e).includes('stray-1')), WAIT);
    await b.delete(Shards, EDGE_NS, 'stray-1');
  }, 90_000);

  // --- requests written straight into A's request namespace (cluster `lab`, no sidecar) --------------

  const joinInfo = async () => parseJoinInfo((await a.get(ConfigMaps, HUB_NS, 'root-federation')).data as Record<string, string>);
  const labRequest = async (shard: string, generation: number, keys?: Record<string, string>, tweak?: (r: JoinRequest) => void, originName = `${shard}-join-request`) => {
    const info = await joinInfo();
    const target = { name: shard, namespace: 'lab-ns' };
    const plans = requestPlans(target, info, {});
    const own = keys ?? Object.fromEntries(await Promise.all(plans.map(async (p) => [p.templateKey, (await generateKeyPair(p.key)).privateKeyPem] as const)));
    const request = buildJoinRequest(target, info, plans, generation, own);
    tweak?.(request);
    const body: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: originName,
        namespace: HUB_NS,
        labels: { [ORIGIN_CLUSTER_LABEL]: 'lab' },
        annotations: { [ORIGIN]: `lab/lab-ns/${originName}`, [ORIGIN_UID]: `uid-${originName}`, [REPLICA_NAMESPACE]: HUB_NS },
      },
      data: { [REQUEST_KEY]: JSON.stringify(request) },
    };
    const existing = await getOrUndefined(a, ConfigMaps, HUB_NS, originName);
    if (existing) await a.update(ConfigMaps, { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata.resourceVersion } });
    else await a.create(ConfigMaps, body);
    return own;
  };
  const refusedWith = async (shard: string, reason: string) =>
    eventually(`${shard} refused with ${reason}`, async () => ((await federated(shard))?.reason === reason ? federated(shard) : undefined), WAIT);

  it('signs a valid request from an accepted cluster, then refuses a replay of an older generation and a reused key', async () => {
    const keys1 = await labRequest('lab-4', 1);
    await eventually('lab-4 generation 1 signed', async () => (await federated('lab-4'))?.generation === 1, WAIT);
    await labRequest('lab-4', 2);
    await eventually('lab-4 generation 2 signed', async () => (await federated('lab-4'))?.generation === 2, WAIT);
    const signedBefore = (await a.get(ConfigMaps, HUB_NS, 'lab-4-join-response')).metadata.resourceVersion;

    await labRequest('lab-4', 1, keys1);
    await refusedWith('lab-4', 'StaleRequest');
    await labRequest('lab-4', 3, keys1);
    await refusedWith('lab-4', 'KeyReused');
    const resp = parseJoinResponse((await a.get(ConfigMaps, HUB_NS, 'lab-4-join-response')).data as Record<string, string>);
    expect(resp.signed?.generation).toBe(2); // the refusals signed nothing new
    expect(resp.refused?.reason).toBe('KeyReused');
    expect(signedBefore).toBeDefined();
  }, 120_000);

  it('refuses a foreign identity: system:masters on a server certificate', async () => {
    // A valid request, except that the server CSR also asks for system:masters.
    const info = await joinInfo();
    const plans = requestPlans({ name: 'lab-6', namespace: 'lab-ns' }, info, {});
    const key = await generateKeyPair(plans[0]?.key);
    await labRequest('lab-6', 1, undefined, (r) => {
      const p = plans.find((x) => x.templateKey === 'server');
      const server = r.certificates.find((c) => c.templateKey === 'server');
      if (!p || !server) throw new Error('no server certificate planned');
      server.csr = createCsr({ subject: { ...p.subject, organizations: ['system:masters'] }, dnsNames: p.dnsNames, ipAddresses: p.ipAddresses, keyUsages: p.keyUsages, extKeyUsages: p.extKeyUsages }, key);
    });
    const refused = await refusedWith('lab-6', 'IdentityMismatch');
    expect(JSON.stringify(refused)).toContain('server certificate');
    expect(await getOrUndefined(a, Secrets, HUB_NS, 'lab-6-service-account')).toBeUndefined();
    const resp = parseJoinResponse((await a.get(ConfigMaps, HUB_NS, 'lab-6-join-response')).data as Record<string, string>);
    expect(resp.signed).toBeUndefined();
  }, 90_000);

  it('refuses another shard\'s name and a tampered document', async () => {
    // The client certificate of lab-9 asks for the identity of shard edge-1 (CN shard-edge-1).
    const info = await joinInfo();
    const plans = requestPlans({ name: 'edge-1', namespace: EDGE_NS }, info, {});
    const key = await generateKeyPair(plans[0]?.key);
    await labRequest('lab-9', 1, undefined, (r) => {
      const p = plans.find((x) => x.templateKey === 'client');
      const client = r.certificates.find((c) => c.templateKey === 'client');
      if (!p || !client) throw new Error('no client certificate planned');
      client.csr = createCsr({ subject: p.subject, keyUsages: p.keyUsages, extKeyUsages: p.extKeyUsages }, key);
    });
    expect(JSON.stringify(await refusedWith('lab-9', 'IdentityMismatch'))).toContain('common name');

    // A name a Shard of A's own installation already has.
    await a.create(Shards, { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'Shard', metadata: { name: 'lab-10', namespace: HUB_NS }, spec: { rootShard: { ref: { name: 'root' } }, etcd: { endpoints: ['http://etcd-lab-10:2379'] } } });
    await eventually('lab-10 is a local Shard on A', () => getOrUndefined(a, Secrets, HUB_NS, 'lab-10-server'), WAIT);
    const localServer = (await a.get(Secrets, HUB_NS, 'lab-10-server')).metadata.resourceVersion;
    await labRequest('lab-10', 1);
    await eventually('ShardNameTaken', async () => (await condition(a, RootShards, HUB_NS, 'root', 'Federation'))?.message.includes('lab/lab-ns/lab-10: ShardNameTaken'), WAIT);
    expect(await getOrUndefined(a, ConfigMaps, HUB_NS, 'lab-10-join-response')).toBeUndefined();
    expect((await a.get(Secrets, HUB_NS, 'lab-10-server')).metadata.resourceVersion).toBe(localServer);

    // The document names shard lab-8 while the sidecar says it came from lab-7-join-request.
    await labRequest('lab-8', 1, undefined, undefined, 'lab-7-join-request');
    await refusedWith('lab-8', 'RequestTampered');
    expect(parseJoinResponse((await a.get(ConfigMaps, HUB_NS, 'lab-8-join-response')).data as Record<string, string>).signed).toBeUndefined();
  }, 120_000);

  it('refuses a tampered response on B and mounts nothing from it; restarting A\'s sidecar restores and converges', async () => {
    // A's sidecar stops: B's next request is signed on A, but the answer does not travel.
    await scA?.stop();
    scA = undefined;
    const oldServer = await b.get(Secrets, EDGE_NS, 'edge-1-server');
    await b.delete(Secrets, EDGE_NS, 'edge-1-server'); // forces a new generation on B
    await eventually('B published generation 2', async () => {
      const r = await b.get(ConfigMaps, EDGE_NS, 'edge-1-join-request');
      return JSON.parse((r.data as Record<string, string>)[REQUEST_KEY] ?? '{}').generation === 2;
    }, WAIT);
    // Someone with write access on B forges the response replica for generation 2 from old certificates.
    const replica = await b.get(ConfigMaps, EDGE_NS, 'edge-1-join-response');
    const doc = parseJoinResponse(replica.data as Record<string, string>);
    const forged = { ...doc, signed: { ...(doc.signed ?? { certificates: {}, notAfter: '' }), generation: 2 } };
    await b.update(ConfigMaps, { ...replica, data: { 'response.json': JSON.stringify(forged) } });
    const c = await eventually('B refuses the forged response', async () => {
      const x = await condition(b, Shards, EDGE_NS, 'edge-1', 'Joined');
      return x?.reason === 'ResponseInvalid' ? x : undefined;
    }, WAIT);
    expect(c.message).toContain('not for the key this cluster holds');
    expect(await getOrUndefined(b, Secrets, EDGE_NS, 'edge-1-server')).toBeUndefined();

    await startHubSidecar();
    await eventually('edge-1 joined again', async () => (await condition(b, Shards, EDGE_NS, 'edge-1', 'Joined'))?.status === 'True', WAIT);
    const newServer = decoded(await b.get(Secrets, EDGE_NS, 'edge-1-server')) ?? {};
    expect(newServer['tls.crt']).not.toEqual(decoded(oldServer)?.['tls.crt']);
    await eventually(`status of edge-1 on A`, async () => matches(await federated('edge-1'), { state: 'Joined', generation: 2 }), WAIT);
  }, 120_000);


  it('a partition from the hub is reported on the edge Shard, and the flow converges when it heals', async () => {
    const before = decoded(await b.get(Secrets, EDGE_NS, 'edge-1-server'))?.['tls.crt'];
    await hub.stopApiServer();
    try {
      await b.delete(Secrets, EDGE_NS, 'edge-1-server'); // the edge needs a new certificate now
      const c = await eventually('edge-1 reports the hub unreachable', async () => {
        const x = await condition(b, Shards, EDGE_NS, 'edge-1', 'Joined');
        return x?.reason === 'ClusterUnreachable' ? x : undefined;
      }, WAIT);
      expect(c.message).toContain('has not reached cluster hub');
    } finally {
      await hub.startApiServer();
    }
    await eventually('edge-1 joined again after the partition', async () => (await condition(b, Shards, EDGE_NS, 'edge-1', 'Joined'))?.status === 'True', 90_000);
    expect(decoded(await b.get(Secrets, EDGE_NS, 'edge-1-server'))?.['tls.crt']).not.toEqual(before);
  }, 180_000);

  it('renews short-lived certificates through new requests, without a person', async () => {
    const short = Object.fromEntries(['server', 'service-account', 'virtual-workspaces', 'client', 'mounts-proxy', 'logical-cluster-admin', 'external-logical-cluster-admin'].map((k) => [k, { spec: { duration: '40s', renewBefore: '25s' } }]));
    await b.create(Shards, edgeShard('edge-2', { certificateTemplates: short }));
    // Joined on B: signed on A and the answer back on B, checked and written (A's status alone is half-way).
    await eventually('edge-2 joined', async () => (await condition(b, Shards, EDGE_NS, 'edge-2', 'Joined'))?.status === 'True', WAIT);
    const first = decoded(await b.get(Secrets, EDGE_NS, 'edge-2-server'))?.['tls.crt'];
    const renewed = await eventually('edge-2 renewed', async () => {
      const f = await federated('edge-2');
      return (f?.generation ?? 0) >= 2 ? f : undefined;
    }, 90_000);
    expect(renewed.state).toBe('Joined');
    await eventually('B mounted the renewed certificate', async () => decoded(await b.get(Secrets, EDGE_NS, 'edge-2-server'))?.['tls.crt'] !== first, WAIT);
  }, 150_000);

  it('a remote team\'s Kubeconfig: its key stays on B, A signs exactly the accepted identity, and refuses system:masters', async () => {
    await a.patch(RootShards, HUB_NS, 'root', { spec: { federation: { acceptKubeconfigs: [{ cluster: 'edge', namespace: EDGE_NS, name: 'team-*', usernames: ['alice', 'bob'], groups: ['team-*'] }] } } }, 'merge');
    const kubeconfig = (name: string, username: string, groups: string[]): KubeObject => ({
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'Kubeconfig',
      metadata: { name, namespace: EDGE_NS },
      spec: { username, groups, validity: '24h', secretRef: { name: `${name}-kubeconfig` }, target: { joinRef: { name: 'root-federation' } } },
    });
    await b.create(Kubeconfigs, kubeconfig('team-alice', 'alice', ['team-a']));
    await eventually('team-alice Available', async () => (await condition(b, Kubeconfigs, EDGE_NS, 'team-alice', 'Available'))?.status === 'True', WAIT);
    const file = parse(decoded(await b.get(Secrets, EDGE_NS, 'team-alice-kubeconfig'))?.kubeconfig ?? '') as {
      clusters: Array<{ cluster: { server: string } }>;
      users: Array<{ user: { 'client-certificate-data': string; 'client-key-data': string } }>;
    };
    expect(file.clusters[0]?.cluster.server).toMatch(/^https:\/\/kcp\.hub\.example:6443(\/|$)/);
    const user = file.users[0]?.user;
    const cert = new X509Certificate(Buffer.from(user?.['client-certificate-data'] ?? '', 'base64'));
    expect(cert.subject).toContain('CN=alice');
    expect(cert.subject).toContain('O=kubeconfig:team-alice');
    expect(cert.subject).toContain('O=team-a');
    const clientCA = new X509Certificate(decoded(await a.get(Secrets, HUB_NS, 'root-client-ca'))?.['tls.crt'] ?? '');
    expect(cert.verify(clientCA.publicKey)).toBe(true);
    const key = createPrivateKey(Buffer.from(user?.['client-key-data'] ?? '', 'base64').toString());
    expect(cert.checkPrivateKey(key)).toBe(true);
    // The key never left B.
    const fp = publicKeyFingerprintOfPem(createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString());
    expect((await privateKeyFingerprints(a, HUB_NS)).has(fp)).toBe(false);
    expect((await b.get(Kubeconfigs, EDGE_NS, 'team-alice')).status).toMatchObject({ phase: 'Ready' });

    // A group the rule does not admit (system:masters is never admitted by a bare glob): nothing is signed.
    await b.create(Kubeconfigs, kubeconfig('team-bob', 'bob', ['system:masters']));
    const refused = await eventually('team-bob refused', async () => {
      const c = await condition(b, Kubeconfigs, EDGE_NS, 'team-bob', 'Joined');
      return c?.reason === 'NotAccepted' ? c : undefined;
    }, WAIT);
    expect(refused.message).toContain('system:masters');
    expect(await getOrUndefined(b, Secrets, EDGE_NS, 'team-bob-kubeconfig')).toBeUndefined();
    expect(parseJoinResponse((await a.get(ConfigMaps, HUB_NS, 'team-bob-kubeconfig-response')).data as Record<string, string>).signed).toBeUndefined();

    // Deleting a Kubeconfig withdraws its request (owned by it: the garbage collector deletes it; this
    // control plane runs no kube-controller-manager, so the test does what the collector would); A
    // drops its answer.
    const request = await b.get(ConfigMaps, EDGE_NS, 'team-alice-kubeconfig-request');
    const owner = await b.get(Kubeconfigs, EDGE_NS, 'team-alice');
    expect(request.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Kubeconfig', uid: owner.metadata.uid });
    await b.delete(Kubeconfigs, EDGE_NS, 'team-alice');
    await b.delete(ConfigMaps, EDGE_NS, 'team-alice-kubeconfig-request');
    await eventually('A dropped team-alice\'s response', async () => !(await getOrUndefined(a, ConfigMaps, HUB_NS, 'team-alice-kubeconfig-response')), WAIT);
  }, 120_000);

  it('deleting the Shard on B withdraws it: A lets it go (bounded without kcp) and stops trusting its key', async () => {
    await b.delete(Shards, EDGE_NS, 'edge-2');
    await eventually('A dropped edge-2\'s key', async () => !(await getOrUndefined(a, Secrets, HUB_NS, 'edge-2-service-account')), WAIT);
    await eventually('edge-2 gone on B', async () => !(await getOrUndefined(b, Shards, EDGE_NS, 'edge-2')), WAIT);
    await eventually('front-proxy no longer trusts edge-2', async () => !(await argsOf(a, HUB_NS, 'front-proxy-front-proxy')).some((x) => x.includes('edge-2/service-account')), WAIT);
    expect(await getOrUndefined(a, ConfigMaps, HUB_NS, 'edge-2-join-response')).toBeUndefined();
  }, 120_000);

  it('withdrawing consent on B (its namespace no longer accepts the hub\'s documents): the replicas go and the Shard says so; consent again restores', async () => {
    await acceptingNamespace(b, EDGE_NS, ['hub/kcp-hub/*-kubeconfig-response']);
    const c = await eventually('edge-1 reports the join info gone', async () => {
      const x = await condition(b, Shards, EDGE_NS, 'edge-1', 'RootShard');
      return x?.reason === 'JoinInfoNotFound' ? x : undefined;
    }, WAIT);
    expect(c.message).toContain('root-federation');
    expect(await getOrUndefined(b, ConfigMaps, EDGE_NS, 'edge-1-join-response')).toBeUndefined();
    // The certificates it has stay; nothing was deleted but the replicas.
    expect(await getOrUndefined(b, Secrets, EDGE_NS, 'edge-1-server')).toBeDefined();
    await acceptingNamespace(b, EDGE_NS, ['hub/kcp-hub/root-federation', 'hub/kcp-hub/*-join-response', 'hub/kcp-hub/*-kubeconfig-response']);
    await eventually('edge-1 joined again', async () => (await condition(b, Shards, EDGE_NS, 'edge-1', 'Joined'))?.status === 'True', WAIT);
  }, 120_000);

  it('withdrawing consent on A stops the flow, and both sides say so', async () => {
    await a.patch(RootShards, HUB_NS, 'root', { spec: { federation: { accept: [{ cluster: 'lab', namespace: '*', shard: 'lab-*' }] } } }, 'merge');
    await eventually('edge-1 no longer accepted on B', async () => (await condition(b, Shards, EDGE_NS, 'edge-1', 'Joined'))?.reason === 'NotAccepted', WAIT);
    // The join info is no longer sent to the edge cluster, and the last answer carries no certificate.
    expect((await condition(b, Shards, EDGE_NS, 'edge-1', 'RootShard'))?.reason).toBe('JoinInfoNotFound');
    await eventually('A dropped edge-1\'s key', async () => !(await getOrUndefined(a, Secrets, HUB_NS, 'edge-1-service-account')), WAIT);
    await eventually(`status of edge-1 on A`, async () => matches(await federated('edge-1'), { state: 'Refused', reason: 'NotAccepted' }), WAIT);
    expect(parseJoinResponse((await b.get(ConfigMaps, EDGE_NS, 'edge-1-join-response')).data as Record<string, string>).signed).toBeUndefined();
    await eventually('root shard no longer trusts edge-1', async () => !(await argsOf(a, HUB_NS, 'root-kcp')).some((x) => x.includes('edge-1/service-account')), WAIT);
  }, 90_000);
});

describe('shard federation inside one cluster, across namespaces (one operator, one sidecar)', () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let op: RunningOperator;
  let sc: RunningSidecar;

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'fed-local' });
    admin = await cp.client('fed-local-test');
    await acceptingNamespace(admin, 'platform', ['local/team-a/*-join-request']);
    await acceptingNamespace(admin, 'team-a', ['local/platform/root-federation', 'local/platform/*-join-response']);
    await acceptingNamespace(admin, 'team-b', ['local/platform/root-federation', 'local/platform/*-join-response']);
    const kubeconfig = await localIdentity(cp, admin, SYNC_NS);
    op = await startOperator({ namespace: undefined, deregistrationTimeoutMs: 3000 }, kubeConfigOf(cp));
    sc = await startSidecar(kubeconfig, { namespace: SYNC_NS, clusterName: 'local' });
    await admin.create(RootShards, { ...rootShard([{ cluster: 'local', namespace: 'team-a', shard: '*' }]), metadata: { name: 'root', namespace: 'platform' } });
  }, 120_000);

  afterAll(async () => {
    await sc?.stop();
    await op?.stop();
    admin?.close();
    await cp?.stop();
  });

  it('a Shard in team-a joins the RootShard in platform; team-b is not accepted and gets nothing', async () => {
    await admin.create(Shards, { ...edgeShard('team-a-shard'), metadata: { name: 'team-a-shard', namespace: 'team-a' } });
    await eventually('team-a-shard joined', async () => (await condition(admin, Shards, 'team-a', 'team-a-shard', 'Joined'))?.status === 'True', WAIT);
    expect(await getOrUndefined(admin, Secrets, 'platform', 'team-a-shard-service-account')).toBeDefined();
    // team-b accepts the join info, but the RootShard does not send it there.
    await admin.create(Shards, { ...edgeShard('team-b-shard'), metadata: { name: 'team-b-shard', namespace: 'team-b' } });
    await eventually('team-b-shard has no join info', async () => (await condition(admin, Shards, 'team-b', 'team-b-shard', 'RootShard'))?.reason === 'JoinInfoNotFound', WAIT);
    expect(await getOrUndefined(admin, ConfigMaps, 'team-b', 'root-federation')).toBeUndefined();
    expect(await getOrUndefined(admin, Secrets, 'team-b', 'team-b-shard-server')).toBeUndefined();
  }, 90_000);
});
