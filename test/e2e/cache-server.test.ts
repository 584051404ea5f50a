// A standalone CacheServer on real kcp v0.32.3: config/samples' etcd per shard, RootShard `root`,
// Shard `shard-2`, FrontProxy and admin Kubeconfig, except that the cache runs in a CacheServer
// `cache` (empty spec: embedded etcd, built-in PKI) that both shards reference instead of the
// root shard's embedded cache. The operator runs as a process under deploy/'s RBAC; kcp,
// kcp-front-proxy, cache-server and etcd run as Pods of the pod runner.
//
// The harness stands in for: the kubelet and the Deployment controller (the pod runner, which
// also restarts a killed container with CrashLoopBackOff), cluster DNS (Service names in the Pods'
// and the operator's /etc/hosts, ready Pods only), and the LoadBalancer plus public DNS in front of
// the front-proxy (a port-forward to its Service, with tls-server-name set to the public host
// name). Users go through the generated admin kubeconfig and the front-proxy; the two other
// clients reach a Service through a forward with credentials the operator generated: a Kubeconfig
// with shardRef (to see which shard serves a workspace) and the cache server's client certificate
// (the one the shards present) to look into the cache itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheServers } from '../../src/controllers/context.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments } from '../../src/kube/resources.js';
import { LocalStack } from '../../local/stack.js';
import { eventually } from '../integration/helpers.js';
import {
  apiBinding,
  CACHE,
  CACHE_DEPLOYMENT,
  CACHE_TOPOLOGY,
  CacheClient,
  cacheTopology,
  widgetExport,
} from './cache-topology.js';
import { KcpUser } from './kcp-user.js';
import { FRONT_PROXY_PORT, FRONT_PROXY_SERVICE, shardUser, waitAvailable } from './topology.js';

const NS = 'kcp-e2e-cache';
const BACKOFF_MS = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Condition = { type: string; status: string; reason?: string; message?: string };
type WithConditions = KubeObject & { status?: { conditions?: Condition[]; phase?: string } };

describe('standalone CacheServer on real kcp', () => {
  let stack: LocalStack;
  let forward: { port: number; close(): Promise<void> };
  let admin: KcpUser;

  const availableOf = async (): Promise<Condition | undefined> =>
    (await stack.admin.get<WithConditions>(CacheServers, NS, CACHE)).status?.conditions?.find((c) => c.type === 'Available');

  /** The provider workspace on the root shard, a consumer on shard-2, each Ready. */
  const readyWorkspace = async (name: string, shard: string) => {
    await admin.createWorkspace('root', name, shard);
    await eventually(`workspace ${name} Ready`, async () => (await admin.workspace('root', name)).status?.phase === 'Ready', 180_000);
  };

  /** Binds `exportName` from root:<consumer> and waits for the binding to be Bound. */
  const bind = async (consumer: string, exportName: string) => {
    const ws = `root:${consumer}`;
    // Admission on shard-2 knows the export (and the right to bind it) only once it has come
    // through the cache: until then the binding is refused as forbidden.
    const t0 = Date.now();
    let refusals = 0;
    await eventually(
      `APIBinding ${exportName} accepted in ${ws}`,
      async () => {
        const r = await admin.kubectl(ws, ['create', '-f', '-'], JSON.stringify(apiBinding(exportName, 'root:provider', exportName)));
        if (r.code === 0) return true;
        refusals++;
        await sleep(1_000);
        throw new Error(r.stderr.trim());
      },
      180_000,
    );
    console.log(`APIBinding ${exportName} in ${ws} accepted after ${Date.now() - t0} ms (${refusals} refusals)`);
    return eventually(
      `APIBinding ${exportName} in ${ws} Bound`,
      async () => {
        const b = JSON.parse(await admin.must(ws, ['get', 'apibindings.apis.kcp.io', exportName, '-o', 'json'])) as WithConditions;
        return b.status?.phase === 'Bound' ? b : undefined;
      },
      180_000,
    );
  };

  /** Creates a Widget in the consumer workspace and reads it back, through the front-proxy. */
  const widgetRoundTrip = async (consumer: string, group: string, name: string, color: string) => {
    const ws = `root:${consumer}`;
    const widget = { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name, namespace: 'default' }, spec: { color } };
    // The binding's CRD reaches discovery a moment after Bound.
    await eventually(`Widget ${name} created in ${ws}`, async () => (await admin.kubectl(ws, ['create', '-f', '-'], JSON.stringify(widget))).code === 0, 60_000);
    return admin.must(ws, ['get', `widgets.${group}`, name, '-n', 'default', '-o', 'jsonpath={.spec.color}']);
  };

  beforeAll(async () => {
    const t0 = Date.now();
    stack = await LocalStack.start({ name: 'e2e-cache', namespace: NS, crashLoopBackOffMs: BACKOFF_MS });
    await stack.apply(cacheTopology());
    try {
      await waitAvailable(stack, CACHE_TOPOLOGY, '480s');
    } catch (err) {
      throw new Error(`${String(err)}\n${await stack.kubectl(['-n', NS, 'get', 'cacheservers,rootshards,shards,frontproxies,kubeconfigs,deployments', '-o', 'wide'])}`);
    }
    console.log(`standalone-cache topology Available in ${Date.now() - t0} ms`);
    forward = await stack.runner.forward(FRONT_PROXY_SERVICE, FRONT_PROXY_PORT);
    admin = await KcpUser.fromSecret(stack, 'kcp-admin-kubeconfig', forward.port);
  });

  afterAll(async () => {
    await forward?.close();
    await stack?.stop();
  });

  it('the CacheServer is Available from its ready Pod, and both shards run against it, not an embedded cache', async () => {
    expect((await availableOf())?.status).toBe('True');
    const pods = stack.runner.podsOf(CACHE_DEPLOYMENT);
    expect(pods.length).toBe(1);
    expect(pods[0]?.ready).toBe(true);
    for (const d of ['root-kcp', 'shard-2-shard-kcp']) {
      const dep = await stack.admin.get<KubeObject & { spec: { template: { spec: { containers: Array<{ args?: string[] }>; volumes?: Array<{ secret?: { secretName?: string } }> } } } }>(
        Deployments,
        NS,
        d,
      );
      const pod = dep.spec.template.spec;
      expect(pod.containers[0]?.args, d).toContain('--cache-kubeconfig=/etc/cache-server/kubeconfig/kubeconfig');
      expect(pod.volumes?.map((v) => v.secret?.secretName), d).toContain(`${CACHE}-kubeconfig`);
    }
  });

  it('an APIExport on the root shard is bound from a workspace on shard-2, through the cache server, and serves objects there', async () => {
    const t0 = Date.now();
    await readyWorkspace('provider', 'root');
    await readyWorkspace('consumer', 'shard-2');
    // Where each landed, asked of shard-2 itself: the consumer's logical cluster is served there,
    // the provider's is not. So the binding below crosses shards.
    const provider = await admin.workspace('root', 'provider');
    const consumer = await admin.workspace('root', 'consumer');
    const onShard2 = await shardUser(stack, 'shard-2');
    try {
      const served = async (cluster: string | undefined) => (await onShard2.user.kubectl(cluster ?? '?', ['get', 'logicalcluster', 'cluster', '-o', 'name'])).code === 0;
      expect(await served(consumer.spec.cluster)).toBe(true);
      expect(await served(provider.spec.cluster)).toBe(false);
    } finally {
      await onShard2.forward.close();
    }

    const group = 'widgets.e2e.kcp.io';
    await admin.must('root:provider', ['create', '-f', '-'], widgetExport('widgets', group).map((o) => JSON.stringify(o)).join('\n---\n'));
    // The root shard replicates the export into the standalone cache server: it is there, under the
    // provider's logical cluster, as the shards' own client sees it.
    const cache = await CacheClient.open(stack);
    try {
      await eventually(
        'the APIExport in the cache server',
        async () => {
          const r = await cache.raw('/shards/*/clusters/*/apis/apis.kcp.io/v1alpha2/apiexports');
          if (r.code !== 0) throw new Error(r.stderr);
          const items = (JSON.parse(r.stdout) as { items: KubeObject[] }).items;
          return items.some((e) => e.metadata.name === 'widgets' && e.metadata.annotations?.['kcp.io/cluster'] === provider.spec.cluster);
        },
        120_000,
      );
    } finally {
      await cache.close();
    }

    const binding = await bind('consumer', 'widgets');
    expect(binding.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(await widgetRoundTrip('consumer', group, 'first', 'blue')).toBe('blue');
    console.log(`cross-shard export, binding and object in ${Date.now() - t0} ms`);
  });

  it('CacheServer status is true to its Pod: Available=False while the killed cache server waits out its back-off, True once it is ready, and the cache works again', async () => {
    const [pod] = stack.runner.podsOf(CACHE_DEPLOYMENT);
    expect(pod?.ready).toBe(true);
    expect(pod?.pid).toBeTypeOf('number');
    expect((await availableOf())?.status).toBe('True');
    const restartsBefore = pod?.restartCount ?? 0;

    // Status and Pod, sampled side by side: the Pod before and after each status read.
    type Sample = { at: number; status: string | undefined; message: string; readyBefore: boolean; readyAfter: boolean; state: string | undefined };
    const samples: Sample[] = [];
    let sampling = true;
    const podNow = () => stack.runner.podsOf(CACHE_DEPLOYMENT)[0];
    const sampler = (async () => {
      while (sampling) {
        const readyBefore = podNow()?.ready ?? false;
        const c = await availableOf().catch(() => undefined);
        const now = podNow();
        samples.push({ at: Date.now(), status: c?.status, message: c?.message ?? '', readyBefore, readyAfter: now?.ready ?? false, state: now?.state });
        await sleep(250);
      }
    })();

    const killedAt = Date.now();
    process.kill(-(pod?.pid ?? 0), 'SIGKILL');
    try {
      const down = await eventually('Available=False', () => samples.find((s) => s.at > killedAt && s.status === 'False'), 180_000);
      // Observed during the back-off, with the Pod not ready, and saying why.
      expect(down.readyAfter).toBe(false);
      expect(down.message).toMatch(/0\/1 replicas available/);
      const back = await eventually('Available=True again', () => samples.find((s) => s.at > down.at && s.status === 'True'), 300_000);
      const readyAgain = samples.find((s) => s.at > down.at && s.readyBefore);
      console.log(
        `cache-server SIGKILL: Available=False observed ${down.at - killedAt} ms after the kill (${down.message}); ` +
          `Pod ready again after ${(readyAgain?.at ?? back.at) - killedAt} ms; Available=True after ${back.at - killedAt} ms`,
      );
      // Once False, never True again until the Pod was ready: no flapping through the back-off.
      for (const s of samples.filter((x) => x.at > down.at && x.status === 'True')) expect(s.readyAfter, `sample at +${s.at - killedAt} ms`).toBe(true);
      expect(samples.some((s) => s.at > down.at && s.at < back.at && s.state === 'waiting')).toBe(true);
    } finally {
      sampling = false;
      await sampler;
    }
    const [after] = stack.runner.podsOf(CACHE_DEPLOYMENT);
    expect(after?.ready).toBe(true);
    expect(after?.restartCount).toBeGreaterThan(restartsBefore);

    // The cache works again: an export created after the restart reaches shard-2 through it.
    const t0 = Date.now();
    const group = 'gadgets.e2e.kcp.io';
    await admin.must('root:provider', ['create', '-f', '-'], widgetExport('gadgets', group).map((o) => JSON.stringify(o)).join('\n---\n'));
    await bind('consumer', 'gadgets');
    expect(await widgetRoundTrip('consumer', group, 'second', 'green')).toBe('green');
    console.log(`export created after the cache-server restart bound from shard-2 in ${Date.now() - t0} ms`);
  });
});
