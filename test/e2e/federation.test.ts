// One kcp installation across two clusters (docs/federation.md), on real kcp v0.32.3: a Shard on the
// edge cluster joins the hub's RootShard through the sync sidecars, serves workspaces that users
// reach through the hub's front-proxy, renews its certificates through the same path, survives its
// sidecars being killed, and leaves cleanly. See federation-topology.ts for what the harness
// stands in for (the network and DNS between the clusters).
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Secrets } from '../../src/kube/resources.js';
import { ORIGIN_CLUSTER_LABEL } from '../../sync/keys.js';
import type { LocalStack } from '../../local/stack.js';
import { eventually } from '../integration/helpers.js';
import { EDGE, EDGE_SHARD, edgeShard, HUB, JOIN, startFederation, type Federation } from './federation-topology.js';
import { KcpUser } from './kcp-user.js';
import { FRONT_PROXY_PORT, FRONT_PROXY_SERVICE, waitAvailable } from './topology.js';

type Condition = { type: string; status: string; reason: string; message: string };

async function conditionOf(stack: LocalStack, ref: string, type: string): Promise<Condition | undefined> {
  const o = JSON.parse(await stack.kubectl(['-n', stack.namespace, 'get', ref, '-o', 'json'])) as { status?: { conditions?: Condition[] } };
  return o.status?.conditions?.find((c) => c.type === type);
}

const spkiFingerprint = (pem: string) => createHash('sha256').update(createPublicKey(pem).export({ type: 'spki', format: 'der' })).digest('hex');

/** Public-key fingerprints of every PEM private key in every Secret of the cluster. */
async function privateKeysIn(stack: LocalStack): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const s of (await stack.admin.list(Secrets)).items) {
    for (const [k, v] of Object.entries((s.data as Record<string, string> | undefined) ?? {})) {
      const text = Buffer.from(v, 'base64').toString();
      for (const m of text.matchAll(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g)) {
        out.set(spkiFingerprint(createPublicKey(createPrivateKey(m[0])).export({ type: 'spki', format: 'pem' }).toString()), `${s.metadata.namespace}/${s.metadata.name}/${k}`);
      }
    }
  }
  return out;
}

const argsOf = async (stack: LocalStack, deployment: string): Promise<string> =>
  stack.kubectl(['-n', stack.namespace, 'get', 'deployment', deployment, '-o', 'jsonpath={.spec.template.spec.containers[0].args}']);

describe('a Shard on another cluster joins the installation (real kcp, two control planes)', () => {
  let fed: Federation;
  let forward: { port: number; close(): Promise<void> };
  let admin: KcpUser;

  beforeAll(async () => {
    fed = await startFederation('e2e-fed');
    const t0 = Date.now();
    await fed.edge.apply([edgeShard()]);
    await eventually('edge-1 joined', async () => (await conditionOf(fed.edge, `shard/${EDGE_SHARD}`, 'Joined'))?.status === 'True', 300_000);
    const tJoined = Date.now();
    try {
      await waitAvailable(fed.edge, [`shard/${EDGE_SHARD}`]);
    } catch (err) {
      throw new Error(`${String(err)}\n${await fed.edge.kubectl(['-n', EDGE.namespace, 'get', 'shards,deployments,pods', '-o', 'wide']).catch(() => '')}`);
    }
    console.log(`edge-1: certificates signed across clusters ${tJoined - t0} ms after apply, Available after ${Date.now() - t0} ms`);
    forward = await fed.hub.runner.forward(FRONT_PROXY_SERVICE, FRONT_PROXY_PORT);
    admin = await KcpUser.fromSecret(fed.hub, 'kcp-admin-kubeconfig', forward.port);
  });

  afterAll(async () => {
    await forward?.close();
    await fed?.stop();
  });

  it('the edge shard registers itself with the hub\'s root shard, at its own address', async () => {
    const shard = await eventually('edge-1 registered', async () => {
      const r = await admin.kubectl('root', ['get', 'shards.core.kcp.io', EDGE_SHARD, '-o', 'json']);
      return r.code === 0 ? (JSON.parse(r.stdout) as KubeObject & { spec: { baseURL: string } }) : undefined;
    }, 120_000);
    expect(shard.spec.baseURL).toBe(`https://${EDGE_SHARD}-shard-kcp.${EDGE.namespace}.svc.cluster.local:6443`);
    await eventually('the front-proxy trusts edge-1\'s tokens', async () => (await argsOf(fed.hub, FRONT_PROXY_SERVICE)).includes(`${EDGE_SHARD}/service-account/tls.crt`), 120_000);
  });

  it('a workspace placed on the edge shard through the hub\'s front-proxy becomes Ready and stores ConfigMaps', async () => {
    await admin.createWorkspace('root', 'fed-a', EDGE_SHARD);
    await eventually('workspace fed-a Ready', async () => (await admin.workspace('root', 'fed-a')).status?.phase === 'Ready', 240_000);
    await admin.must('root:fed-a', ['create', 'configmap', 'greeting', '--from-literal=hello=edge']);
    expect(await admin.must('root:fed-a', ['get', 'configmap', 'greeting', '-o', 'jsonpath={.data.hello}'])).toBe('edge');
  });

  it('a ServiceAccount token of that workspace works through the hub\'s front-proxy', async () => {
    const ws = 'root:fed-a';
    await admin.must(ws, ['create', 'serviceaccount', 'bot']);
    await admin.must(ws, ['create', 'rolebinding', 'bot-view', '--clusterrole=view', '--serviceaccount=default:bot', '-n', 'default']);
    const token = (await admin.must(ws, ['create', 'token', 'bot', '-n', 'default'])).trim();
    const bot = admin.withToken(token, 'bot');
    let last = '';
    await eventually('the bot reads ConfigMaps', async () => {
      const r = await bot.kubectl(ws, ['get', 'configmap', 'greeting', '-n', 'default', '-o', 'name']);
      last = r.stderr;
      return r.code === 0;
    }, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; last answer: ${last}`);
    });
    expect(await bot.must(ws, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])).toBe('system:serviceaccount:default:bot');
  });

  it('a team on the edge cluster gets a kubeconfig for the installation (its key made and kept there) and works through the hub\'s front-proxy', async () => {
    await fed.edge.apply([
      {
        apiVersion: 'operator.kcp.io/v1alpha1',
        kind: 'Kubeconfig',
        metadata: { name: 'team-alice' },
        spec: { username: 'alice', groups: ['team-a'], validity: '24h', secretRef: { name: 'team-alice-kubeconfig' }, target: { joinRef: { name: JOIN } } },
      },
    ]);
    await waitAvailable(fed.edge, ['kubeconfig/team-alice'], '180s');
    // Roles are granted in kcp by the hub's admin, as for any user.
    const ws = 'root:fed-a';
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'team-reader' }, rules: [{ nonResourceURLs: ['/'], verbs: ['access'] }, { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }] };
    await admin.must(ws, ['create', '-f', '-'], JSON.stringify(role));
    await admin.must(ws, ['create', 'clusterrolebinding', 'team-a-reads', '--clusterrole=team-reader', '--group=team-a']);
    const alice = await KcpUser.fromSecret(fed.edge, 'team-alice-kubeconfig', forward.port);
    await eventually('alice reads ConfigMaps on the edge shard', async () => (await alice.kubectl(ws, ['get', 'configmap', 'greeting', '-o', 'jsonpath={.data.hello}'])).stdout === 'edge', 60_000);
    expect(await alice.must(ws, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])).toBe('alice');
    const write = await alice.kubectl(ws, ['create', 'configmap', 'not-allowed', '--from-literal=a=b']);
    expect(write.stderr).toMatch(/forbidden/i);
  });

  it('no Secret anywhere on the edge cluster holds a private key of any CA of the hub\'s installation', async () => {
    const caKeys = new Set<string>();
    for (const s of (await fed.hub.admin.list(Secrets, { namespace: HUB.namespace })).items) {
      const d = (s.data as Record<string, string> | undefined) ?? {};
      if (/-ca$/.test(s.metadata.name ?? '') && d['tls.key'] && d['tls.crt']) caKeys.add(spkiFingerprint(Buffer.from(d['tls.crt'], 'base64').toString()));
    }
    expect(caKeys.size).toBe(5);
    const onEdge = await privateKeysIn(fed.edge);
    expect(onEdge.size).toBeGreaterThan(5); // the edge shard's own keys are there, so the scan sees keys
    expect([...onEdge].filter(([fp]) => caKeys.has(fp)).map(([, where]) => where)).toEqual([]);
  });

  it('a shard the hub does not accept is refused: nothing is signed and both sides say why', async () => {
    await fed.edge.apply([edgeShard('stray-1')]);
    await eventually('stray-1 refused', async () => (await conditionOf(fed.edge, 'shard/stray-1', 'Joined'))?.reason === 'NotAccepted', 120_000);
    await eventually('the hub says why', async () => (await conditionOf(fed.hub, 'rootshard/root', 'Federation'))?.message.includes(`${EDGE.cluster}/${EDGE.namespace}/stray-1: NotAccepted`), 60_000);
    expect((await fed.edge.admin.list(Secrets, { namespace: EDGE.namespace })).items.map((s) => s.metadata.name)).not.toContain('stray-1-server');
    await fed.edge.kubectl(['-n', EDGE.namespace, 'delete', 'shard', 'stray-1', '--wait=true', '--timeout=120s']);
  });

  it('short-lived certificates renew through new requests while kcp keeps serving, and killed sidecars converge without duplicates', async () => {
    const generation = async () => {
      const rs = JSON.parse(await fed.hub.kubectl(['-n', HUB.namespace, 'get', 'rootshard', 'root', '-o', 'json'])) as { status?: { federatedShards?: Array<{ name: string; generation?: number }> } };
      return rs.status?.federatedShards?.find((s) => s.name === EDGE_SHARD)?.generation ?? 0;
    };
    const g0 = await generation();
    const keys = ['server', 'service-account', 'virtual-workspaces', 'client', 'mounts-proxy', 'logical-cluster-admin', 'external-logical-cluster-admin'];
    const short = Object.fromEntries(keys.map((k) => [k, { spec: { duration: '5m', renewBefore: '3m30s' } }]));
    await fed.edge.apply([edgeShard(EDGE_SHARD, { certificateTemplates: short })]);
    // Both sidecars die mid-flow (SIGKILL) and come back.
    await Promise.all([fed.hub.sidecar?.kill('SIGKILL'), fed.edge.sidecar?.kill('SIGKILL')]);
    await new Promise((r) => setTimeout(r, 3000));
    await Promise.all([fed.hub.startSidecar(), fed.edge.startSidecar()]);

    let reads = 0;
    let failed = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        const r = await admin.kubectl('root:fed-a', ['get', 'configmap', 'greeting', '-o', 'jsonpath={.data.hello}']);
        reads++;
        if (r.code !== 0 || r.stdout !== 'edge') failed++;
        await new Promise((x) => setTimeout(x, 1000));
      }
    })();
    try {
      // The spec change asks for new certificates at once; the 5-minute ones renew 90 s later.
      await eventually('two renewals signed', async () => (await generation()) >= g0 + 2, 420_000);
      await waitAvailable(fed.edge, [`shard/${EDGE_SHARD}`], '300s');
      await eventually('kcp serves the workspace after the renewals', async () => (await admin.kubectl('root:fed-a', ['get', 'configmap', 'greeting', '-o', 'jsonpath={.data.hello}'])).stdout === 'edge', 120_000);
    } finally {
      stop = true;
      await load;
    }
    console.log(`during two renewals: ${reads} reads through the front-proxy, ${failed} failed (rollouts of a 1-replica shard)`);
    expect(reads - failed).toBeGreaterThan(0);
    const cert = Buffer.from(((await fed.edge.admin.get(Secrets, EDGE.namespace, `${EDGE_SHARD}-server`)).data as Record<string, string>)['tls.crt'] ?? '', 'base64').toString();
    // Issued for 5 minutes (notBefore is backdated by 5 minutes, as for every certificate we issue).
    expect(Date.parse(new X509Certificate(cert).validTo) - Date.now()).toBeLessThanOrEqual(5 * 60_000);

    // Exactly the replicas the flow needs, once each, on both clusters.
    const replicas = async (stack: LocalStack) =>
      (await stack.admin.list(ConfigMaps, { labelSelector: ORIGIN_CLUSTER_LABEL })).items.map((c) => `${c.metadata.namespace}/${c.metadata.name}`).sort();
    expect(await replicas(fed.hub)).toEqual([`${HUB.namespace}/${EDGE_SHARD}-join-request`, `${HUB.namespace}/team-alice-kubeconfig-request`]);
    expect(await replicas(fed.edge)).toEqual(
      [`${EDGE.namespace}/${EDGE_SHARD}-join-response`, `${EDGE.namespace}/${JOIN}`, `${EDGE.namespace}/team-alice-kubeconfig-response`].sort(),
    );
    // Pending keys exist only while a generation is being signed: gone once it is mounted.
    await eventually('no pending keys left', async () => !(await fed.edge.admin.list(Secrets, { namespace: EDGE.namespace })).items.some((s) => s.metadata.name === `${EDGE_SHARD}-join-keys`), 60_000);
  }, 900_000);

  it('deleting the Shard on the edge deregisters it from the root shard, and the hub stops trusting its key', async () => {
    await fed.edge.kubectl(['-n', EDGE.namespace, 'delete', 'shard', EDGE_SHARD, '--wait=true', '--timeout=300s']);
    await eventually('edge-1 deregistered from the root shard', async () => {
      const r = await admin.kubectl('root', ['get', 'shards.core.kcp.io', EDGE_SHARD]);
      return r.code !== 0 && /NotFound|not found/.test(r.stderr);
    }, 120_000);
    await eventually('the front-proxy no longer trusts edge-1', async () => !(await argsOf(fed.hub, FRONT_PROXY_SERVICE)).includes(`${EDGE_SHARD}/service-account`), 120_000);
    await eventually('the root shard no longer trusts edge-1', async () => !(await argsOf(fed.hub, 'root-kcp')).includes(`${EDGE_SHARD}/service-account`), 120_000);
    expect((await fed.hub.admin.list(Secrets, { namespace: HUB.namespace })).items.map((s) => s.metadata.name)).not.toContain(`${EDGE_SHARD}-service-account`);
    await eventually('a ShardLeft Event', async () => (await fed.hub.kubectl(['-n', HUB.namespace, 'get', 'events', '--field-selector', 'involvedObject.kind=RootShard', '-o', 'jsonpath={.items[*].reason}'])).includes('ShardLeft'), 60_000);
  }, 600_000);
});
