// The standard topology on real kcp v0.32.3: config/samples (etcd per shard, RootShard `root`,
// Shard `shard-2`, FrontProxy, an admin Kubeconfig) with the built-in PKI, the operator as a
// process under deploy/'s RBAC, and kcp, kcp-front-proxy and etcd as Pods of the pod runner.
//
// The harness stands in for: the kubelet and the Deployment controller (the pod runner), cluster
// DNS (Service names in the Pods' and the operator's /etc/hosts, ready Pods only), and the
// LoadBalancer plus public DNS in front of the front-proxy (a port-forward to its Service, with
// tls-server-name set to the public host name). Everything a user does goes through the
// generated kubeconfig Secret and the front-proxy; nothing talks to a shard directly. The
// RootShard's internal proxy `root-proxy` is the operator's way into kcp (Kubeconfig RBAC); the
// test reaches it with the operator's own certificate through a forward to its Service.
import { createHash } from 'node:crypto';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/object.js';
import { Secrets } from '../../src/kube/resources.js';
import { LABEL_KUBECONFIG } from '../../src/pki/hierarchy.js';
import { LocalStack } from '../../local/stack.js';
import { INSTALL_NAMESPACE } from '../../local/install.js';
import { collectClusterTexts, collectPrivateKeys, findLeaks, type PrivateKey } from '../chaos/leak-scan.js';
import { eventually } from '../integration/helpers.js';
import { faultTargets, killAndRecover, processLogs, type FaultResult } from './kcp-faults.js';
import { KcpUser } from './kcp-user.js';
import { FRONT_PROXY_PORT, FRONT_PROXY_SERVICE, sampleObjects, shardUser, STANDARD, waitAvailable } from './topology.js';

const NS = 'kcp-e2e';
const PROXY = 'root-proxy';
const OPERATOR_USER = `system:serviceaccount:${INSTALL_NAMESPACE}:kcp-operator`;

type Cond = { type: string; status: string; reason: string; message: string };


/** A Kubeconfig for `user` through the front-proxy, bound to the role `configmap-reader` in `ws`. */
const readerKubeconfig = (user: string, ws: string): KubeObject => ({
  apiVersion: 'operator.kcp.io/v1alpha1',
  kind: 'Kubeconfig',
  metadata: { name: user },
  spec: {
    username: user,
    validity: '24h',
    secretRef: { name: `${user}-kubeconfig` },
    target: { frontProxyRef: { name: 'front-proxy' } },
    targetWorkspace: ws,
    authorization: { clusterRoleBindings: { clusterRoles: ['configmap-reader'] } },
  },
});

describe('standard topology on real kcp', () => {
  let stack: LocalStack;
  let forward: { port: number; close(): Promise<void> };
  let admin: KcpUser;
  /** Every private key the run generated, gathered before the Shard's deletion takes some away. */
  const keys: PrivateKey[] = [];

  /** GET through a forward to the internal proxy with the operator's own certificate (as the operator connects). */
  const operatorGet = async (port: number, path: string): Promise<{ code: number; body: string }> => {
    const secret = await stack.admin.get(Secrets, NS, 'root-kcp-operator');
    const pem = (k: string) => Buffer.from((secret.data as Record<string, string>)[k] ?? '', 'base64').toString();
    return new Promise((resolve, reject) => {
      const req = https.get(
        // servername: the Service's cluster DNS name, which the proxy's certificate carries.
        { host: '127.0.0.1', port, path, servername: `${PROXY}.${NS}.svc.cluster.local`, cert: pem('tls.crt'), key: pem('tls.key'), ca: pem('ca.crt'), timeout: 20_000 },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
    });
  };
  const rootShardCondition = async (type: string) =>
    (JSON.parse(await stack.kubectl(['-n', NS, 'get', 'rootshard', 'root', '-o', 'json'])) as { status?: { conditions?: Cond[] } }).status?.conditions?.find((c) => c.type === type);

  beforeAll(async () => {
    const t0 = Date.now();
    stack = await LocalStack.start({ name: 'e2e-standard', namespace: NS, crashLoopBackOffMs: 2_000 });
    await stack.apply(sampleObjects());
    try {
      await waitAvailable(stack, STANDARD);
    } catch (err) {
      throw new Error(`${String(err)}\n${await stack.kubectl(['-n', NS, 'get', 'rootshards,shards,frontproxies,kubeconfigs,deployments', '-o', 'wide'])}`);
    }
    console.log(`standard topology Available in ${Date.now() - t0} ms`);
    // The internal proxy is the RootShard's own condition (kcp-operator's Available covers the root shard alone).
    await stack.kubectl(['-n', NS, 'wait', '--for=condition=ProxyAvailable', '--timeout=300s', 'rootshard/root']);
    forward = await stack.runner.forward(FRONT_PROXY_SERVICE, FRONT_PROXY_PORT);
    admin = await KcpUser.fromSecret(stack, 'kcp-admin-kubeconfig', forward.port);
  });

  afterAll(async () => {
    await forward?.close();
    await stack?.stop();
  });

  it('every kind is Available from the real readiness of its Pods', async () => {
    for (const ref of STANDARD) {
      const o = JSON.parse(await stack.kubectl(['-n', NS, 'get', ref, '-o', 'json'])) as KubeObject & {
        status: { conditions: Array<{ type: string; status: string }> };
      };
      expect(o.status.conditions.find((c) => c.type === 'Available')?.status, ref).toBe('True');
    }
    for (const d of ['root-kcp', 'shard-2-shard-kcp', FRONT_PROXY_SERVICE, PROXY]) {
      const pods = stack.runner.podsOf(d);
      expect(pods.length, d).toBeGreaterThan(0);
      expect(pods.every((p) => p.ready), d).toBe(true);
    }
  });

  it('a user lists and creates workspaces through the front-proxy, on the shard asked for, and writes ConfigMaps in each', async () => {
    const list = await admin.must('root', ['get', 'workspaces', '-o', 'name']);
    expect(list).not.toContain('e2e-a');
    await admin.createWorkspace('root', 'e2e-a', 'root');
    await admin.createWorkspace('root', 'e2e-b', 'shard-2');
    for (const ws of ['e2e-a', 'e2e-b']) {
      await eventually(`workspace ${ws} Ready`, async () => (await admin.workspace('root', ws)).status?.phase === 'Ready', 180_000);
    }
    // Where each landed, asked of shard-2 itself with a generated kubeconfig for that shard: its
    // logical cluster is served there, and the other one's is not.
    const onShard2 = await shardUser(stack, 'shard-2');
    const served = async (ws: string) => (await onShard2.user.kubectl((await admin.workspace('root', ws)).spec.cluster ?? '?', ['get', 'logicalcluster', 'cluster', '-o', 'name'])).code === 0;
    expect(await served('e2e-b')).toBe(true);
    expect(await served('e2e-a')).toBe(false);
    await onShard2.forward.close();
    for (const ws of ['e2e-a', 'e2e-b']) {
      await admin.must(`root:${ws}`, ['create', 'configmap', 'greeting', `--from-literal=hello=${ws}`]);
      expect(await admin.must(`root:${ws}`, ['get', 'configmap', 'greeting', '-o', 'jsonpath={.data.hello}'])).toBe(ws);
    }
  });

  it('a ServiceAccount token of a workspace on the second shard works through the front-proxy', async () => {
    const ws = 'root:e2e-b';
    await admin.must(ws, ['create', 'serviceaccount', 'bot']);
    await admin.must(ws, ['create', 'rolebinding', 'bot-view', '--clusterrole=view', '--serviceaccount=default:bot', '-n', 'default']);
    const token = (await admin.must(ws, ['create', 'token', 'bot', '-n', 'default'])).trim();
    const bot = admin.withToken(token, 'bot');
    // Authenticated by key alone at the front-proxy, authorized by the shard.
    let last = '';
    await eventually(
      'the bot reads ConfigMaps',
      async () => {
        const r = await bot.kubectl(ws, ['get', 'configmap', 'greeting', '-n', 'default', '-o', 'name']);
        last = r.stderr;
        return r.code === 0;
      },
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last answer: ${last}`);
    });
    const who = await bot.must(ws, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    expect(who).toBe('system:serviceaccount:default:bot');
  });

  it('a Kubeconfig with authorization: its user may do what the bound roles allow in the target workspace and nothing else; deleting it removes the bindings', async () => {
    const ws = 'root:e2e-a';
    // kcp lets a user into a workspace only with the `access` verb on `/` there; beyond that, reading
    // ConfigMaps and nothing else.
    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'configmap-reader' },
      rules: [
        { nonResourceURLs: ['/'], verbs: ['access'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] },
      ],
    };
    await admin.must(ws, ['create', '-f', '-'], JSON.stringify(role));
    await stack.apply([readerKubeconfig('alice', ws)]);
    await waitAvailable(stack, ['kubeconfig/alice'], '180s');
    const alice = await KcpUser.fromSecret(stack, 'alice-kubeconfig', forward.port);
    // The operator binds the group every certificate of this Kubeconfig carries, in bindings it
    // labels with the Kubeconfig's UID (as kcp-operator does).
    const uid = (await stack.kubectl(['-n', NS, 'get', 'kubeconfig', 'alice', '-o', 'jsonpath={.metadata.uid}'])).trim();
    const aliceBindings = async () => (await admin.must(ws, ['get', 'clusterrolebindings', '-l', `${LABEL_KUBECONFIG}=${uid}`, '-o', 'name'])).trim().split('\n').filter(Boolean);
    await eventually('the operator bound alice in the target workspace', async () => (await aliceBindings()).length > 0, 120_000);
    // RBAC in kcp is eventually consistent (the shard's authorizer caches bindings): a short wait.
    await eventually('alice reads ConfigMaps', async () => (await alice.kubectl(ws, ['get', 'configmap', 'greeting', '-o', 'jsonpath={.data.hello}'])).stdout === 'e2e-a', 60_000);
    const write = await alice.kubectl(ws, ['create', 'configmap', 'not-allowed', '--from-literal=a=b']);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/forbidden/i);
    const elsewhere = await alice.kubectl('root:e2e-b', ['get', 'configmap', 'greeting']);
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toMatch(/forbidden/i);
    await stack.kubectl(['-n', NS, 'delete', 'kubeconfig', 'alice', '--wait=true', '--timeout=180s']);
    expect(await aliceBindings()).toEqual([]);
  });

  it('the internal proxy serves: with the operator\'s certificate it lists workspaces and reaches a workspace on the second shard', async () => {
    const proxy = await stack.runner.forward(PROXY, 6443);
    try {
      const ws = await operatorGet(proxy.port, '/clusters/root/apis/tenancy.kcp.io/v1alpha1/workspaces');
      expect(ws.code, ws.body).toBe(200);
      const names = (JSON.parse(ws.body) as { items: KubeObject[] }).items.map((w) => w.metadata.name);
      expect(names).toEqual(expect.arrayContaining(['e2e-a', 'e2e-b']));
      // root:e2e-b lives on shard-2: the proxy routes there, not only to the root shard.
      const cm = await operatorGet(proxy.port, '/clusters/root:e2e-b/api/v1/namespaces/default/configmaps/greeting');
      expect(cm.code, cm.body).toBe(200);
      expect((JSON.parse(cm.body) as { data: Record<string, string> }).data.hello).toBe('e2e-b');
    } finally {
      await proxy.close();
    }
  });

  it('Kubeconfig RBAC goes through the internal proxy: with the proxy scaled away no bindings and a condition naming it; once back, provisioned', async () => {
    const ws = 'root:e2e-a';
    await stack.kubectl(['-n', NS, 'patch', 'rootshard', 'root', '--type=merge', '-p', JSON.stringify({ spec: { proxy: { replicas: 0 } } })]);
    await eventually('ProxyAvailable ScaledToZero', async () => (await rootShardCondition('ProxyAvailable'))?.reason === 'ScaledToZero', 60_000);
    await eventually('proxy Pods gone', () => stack.runner.podsOf(PROXY).length === 0, 120_000);
    await stack.apply([readerKubeconfig('bob', ws)]);
    const authorization = async () => {
      const o = JSON.parse(await stack.kubectl(['-n', NS, 'get', 'kubeconfig', 'bob', '-o', 'json'])) as KubeObject & { status?: { conditions?: Cond[] } };
      return { uid: o.metadata.uid ?? '', cond: o.status?.conditions?.find((c) => c.type === 'AuthorizationReady') };
    };
    const down = await eventually('ProxyUnreachable', async () => ((await authorization()).cond?.reason === 'ProxyUnreachable' ? authorization() : undefined), 120_000);
    expect(down.cond?.message).toContain(`internal proxy ${PROXY} (https://${PROXY}.${NS}.svc.cluster.local:6443)`);
    // kcp itself is up (the public front-proxy answers); the bindings are missing because the operator's way in is.
    const bobBindings = async () => (await admin.must(ws, ['get', 'clusterrolebindings', '-l', `${LABEL_KUBECONFIG}=${down.uid}`, '-o', 'name'])).trim().split('\n').filter(Boolean);
    expect(await bobBindings()).toEqual([]);

    // Back to the sample's proxy: the Kubeconfig is provisioned as soon as it serves.
    await stack.kubectl(['-n', NS, 'patch', 'rootshard', 'root', '--type=merge', '-p', JSON.stringify({ spec: { proxy: null } })]);
    await stack.kubectl(['-n', NS, 'wait', '--for=condition=ProxyAvailable', '--timeout=300s', 'rootshard/root']);
    await eventually('bob Provisioned', async () => (await authorization()).cond?.reason === 'Provisioned', 180_000);
    expect(await bobBindings()).toHaveLength(1);
    await stack.kubectl(['-n', NS, 'delete', 'kubeconfig', 'bob', '--wait=true', '--timeout=180s']);
    expect(await bobBindings()).toEqual([]);
  });

  it('operator SIGKILL and restart: zero writes on the converged topology, kcp serves throughout, no CA changes', async () => {
    const fingerprints = async () => {
      const out: Record<string, string> = {};
      const secrets = await stack.admin.list(Secrets, { namespace: NS });
      for (const s of secrets.items.filter((x) => /-ca$/.test(x.metadata.name ?? ''))) {
        out[s.metadata.name ?? ''] = createHash('sha256').update((s.data as Record<string, string>)['tls.crt'] ?? '').digest('hex');
      }
      return out;
    };
    const before = await fingerprints();
    expect(Object.keys(before).length).toBeGreaterThanOrEqual(4);
    // Load while the operator is gone and back: a user listing workspaces every 200 ms.
    let requests = 0;
    let failures = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        const r = await admin.kubectl('root', ['get', 'workspaces', '-o', 'name']);
        requests++;
        if (r.code !== 0) failures++;
        await new Promise((res) => setTimeout(res, 200));
      }
    })();
    await stack.operator?.kill('SIGKILL');
    const restartedAt = new Date();
    await stack.startOperator();
    // Converged again: the new leader has reconciled everything (status observed, /readyz ok).
    await eventually('the restarted operator is ready', async () => (await fetch(`http://127.0.0.1:${stack.operatorProbePort}/readyz`).catch(() => undefined))?.ok === true, 120_000);
    // Give it a full lease period plus a resync's worth of idle time to do anything it would do.
    await new Promise((r) => setTimeout(r, 30_000));
    stop = true;
    await load;
    const writes = (await stack.cp.auditedWrites({ since: restartedAt })).filter(
      (e) => e.user.username === OPERATOR_USER && e.objectRef?.resource !== 'leases' && e.objectRef?.resource !== 'events',
    );
    expect(writes.map((w) => `${w.verb} ${w.objectRef?.resource}/${w.objectRef?.name}`)).toEqual([]);
    expect(await fingerprints()).toEqual(before);
    expect(requests).toBeGreaterThan(0);
    console.log(`operator restart: ${requests} requests through the front-proxy, ${failures} failed`);
    expect(failures).toBe(0);
  });

  it('kcp Pod faults: killing the root shard, the second shard and the front-proxy is reported within seconds and recovers, with no rewrite of certificates or Deployments', async () => {
    const faultStart = new Date();
    const results: FaultResult[] = [];
    const targets = faultTargets({
      root: async () => (await admin.kubectl('root', ['get', 'workspaces', '-o', 'name'])).stdout.includes('e2e-a'),
      // root:e2e-b lives on shard-2: served only once shard-2 is.
      shard2: async () => (await admin.kubectl('root:e2e-b', ['get', 'configmap', 'greeting', '-o', 'jsonpath={.data.hello}'])).stdout === 'e2e-b',
      frontProxy: async () => (await admin.kubectl('root', ['get', 'workspaces', '-o', 'name'])).code === 0,
    });
    for (const t of targets) {
      results.push(await killAndRecover(stack, t));
      // The next fault starts from a whole topology (a root shard restart can take the others' readiness with it).
      await waitAvailable(stack, STANDARD, '300s');
    }
    // Whatever the operator would do about a dead Pod it has done by now (its resync included).
    await new Promise((r) => setTimeout(r, 15_000));
    const byOperator = (await stack.cp.auditedWrites({ since: faultStart })).filter((e) => e.user.username === OPERATOR_USER);
    const rewrites = byOperator.filter((e) => e.objectRef?.subresource !== 'status' && e.objectRef?.resource !== 'leases' && e.objectRef?.resource !== 'events');
    const statusWrites = byOperator.filter((e) => e.objectRef?.subresource === 'status');
    console.log(`kcp faults: ${JSON.stringify(results)}`);
    console.log(`kcp faults: operator writes in the fault window: ${rewrites.length} to objects, ${statusWrites.length} status patches`);
    for (const r of results) {
      expect(r.reason, r.target).toBe('ReplicasUnavailable');
      expect(r.message, r.target).toMatch(/^\d+\/\d+ replicas available/);
      expect(r.downMessage, `${r.target}: reported with no replica available`).toMatch(new RegExp(`^0/${r.pods} replicas available`));
      expect(r.metricDetectedMs, `${r.target}: kcp_operator_component_available went to 0`).toBeDefined();
      expect(r.restarts, r.target).toBeGreaterThanOrEqual(r.pods);
    }
    // The operator saw each fault (it wrote the status), under deploy/'s ServiceAccount...
    for (const t of targets) expect(statusWrites.some((e) => e.objectRef?.resource === t.resource.plural && e.objectRef.name === t.name), t.name).toBe(true);
    // ...and rewrote nothing: no Secret (certificate), Deployment or anything else because a Pod died.
    expect(rewrites.map((w) => `${w.verb} ${w.objectRef?.resource}/${w.objectRef?.name}`)).toEqual([]);
    keys.push(...(await collectPrivateKeys(stack.admin, [NS, INSTALL_NAMESPACE])));
  });

  // Last: it takes the second shard away.
  it('deleting the Shard deregisters it from the root shard, and new workspaces no longer land on it', async () => {
    await eventually('shard-2 registered', async () => (await admin.kubectl('root', ['get', 'shards.core.kcp.io', 'shard-2'])).code === 0, 60_000);
    await stack.kubectl(['-n', NS, 'delete', 'shard', 'shard-2', '--wait=true', '--timeout=180s']);
    const gone = await admin.kubectl('root', ['get', 'shards.core.kcp.io', 'shard-2']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/NotFound|not found/);
    await admin.createWorkspace('root', 'e2e-c', 'shard-2');
    // Nothing can take it: it stays unscheduled (kcp keeps it in Scheduling), while an
    // unconstrained one still becomes Ready.
    await admin.createWorkspace('root', 'e2e-d');
    await eventually('workspace e2e-d Ready', async () => (await admin.workspace('root', 'e2e-d')).status?.phase === 'Ready', 180_000);
    const c = await admin.workspace('root', 'e2e-c');
    expect(c.status?.phase).not.toBe('Ready');
    expect(c.spec.URL ?? '').not.toContain('shard-2');
  });
  // After everything above (operator restarts, Pod kills, a Shard deleted): nothing any of it logged
  // or wrote into status or Events holds private key material (issue 14, item 8).
  it('leak scan: no private key material in the operator\'s or kcp\'s logs, Events or statuses', async () => {
    keys.push(...(await collectPrivateKeys(stack.admin, [NS, INSTALL_NAMESPACE])));
    const texts = [...(await processLogs(stack)), ...(await collectClusterTexts(stack.admin, [NS, INSTALL_NAMESPACE]))];
    const unique = new Set(keys.map((k) => k.pem)).size;
    const leaks = findLeaks(texts, keys);
    console.log(`leak scan: ${texts.length} texts (${texts.filter((t) => t.source.startsWith('container log')).length} kcp/etcd container logs), ${unique} private keys, ${leaks.length} leaks`);
    expect(unique).toBeGreaterThanOrEqual(10);
    expect(texts.filter((t) => t.source.startsWith('container log')).length).toBeGreaterThanOrEqual(5);
    expect(leaks).toEqual([]);
  });
});
