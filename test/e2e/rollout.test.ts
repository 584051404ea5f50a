// A release rolled out across a real kcp installation (RootShard spec.release): root shard, Shards
// a and b, a FrontProxy and the internal proxy, as Pods of the pod runner, each shard on its own
// etcd. kcp v0.32.3 is the only kcp built here, and the pod runner picks the binary by the image's
// name, not its tag: so the tags v0.32.4 and v0.32.5 stand in for new kcp versions (each changes
// the Pod template and rolls the Pods, which is what a version change does to a rollout). The test
// watches the Deployments as a person would, recording the order in which they were re-rendered
// and whether the previous shard was Available at the new version by then.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/release.js';
import type { KubeObject } from '../../src/kube/object.js';
import { RootShards } from '../../src/controllers/context.js';
import { Deployments, Events } from '../../src/kube/resources.js';
import { LocalStack } from '../../local/stack.js';
import { sampleObjects } from './topology.js';

const NS = 'e2e-rollout';
const tagOf = (d: KubeObject) => ((d.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]?.image ?? '').split(':').pop() ?? '';
const availableAt = (d: KubeObject) => {
  const st = (d.status ?? {}) as { observedGeneration?: number; availableReplicas?: number; updatedReplicas?: number };
  const want = (d.spec as { replicas?: number }).replicas ?? 1;
  return st.observedGeneration === d.metadata.generation && (st.availableReplicas ?? 0) >= want && (st.updatedReplicas ?? 0) >= want;
};

/** The sample's etcd Deployment and Service, renamed for one shard. */
function etcd(name: string): KubeObject[] {
  const [dep, svc] = sampleObjects().filter((o) => o.metadata.name === 'etcd-root');
  return [dep, svc].map((o) => JSON.parse(JSON.stringify(o).replaceAll('etcd-root', `etcd-${name}`)) as KubeObject);
}

describe('gradual release rollout on real kcp', () => {
  let stack: LocalStack;
  let watcher: NodeJS.Timeout | undefined;
  /** `deployment@tag` each time a Deployment was seen rendering a new tag, in order, with what was Available then. */
  const renders: Array<{ at: string; availableBefore: string[] }> = [];
  const lastTag = new Map<string, string>();

  const rootShard = async () => stack.admin.get(RootShards, NS, 'root');
  const rollout = async () => ((await rootShard()).status as { rollout?: RolloutStatus } | undefined)?.rollout;
  const waitRollout = async (state: RolloutStatus['state'], version: string, timeoutS = 600) => {
    const deadline = Date.now() + timeoutS * 1000;
    for (;;) {
      const r = await rollout().catch(() => undefined);
      if (r?.state === state && r.version === version) return r;
      if (Date.now() > deadline) {
        throw new Error(`rollout not ${state} at ${version} within ${timeoutS}s: ${JSON.stringify(r)}\n${await stack.kubectl(['-n', NS, 'get', 'rootshards,shards,frontproxies,deployments', '-o', 'wide'])}`);
      }
      await new Promise((res) => setTimeout(res, 500));
    }
  };
  const setRelease = (tag: string, rollout: Record<string, unknown>) =>
    stack.kubectl(['-n', NS, 'patch', 'rootshard', 'root', '--type=merge', '-p', JSON.stringify({ spec: { release: { image: { tag }, rollout } } })]);
  const tags = async () => Object.fromEntries((await stack.admin.list(Deployments, { namespace: NS })).items.map((d) => [d.metadata.name ?? '', tagOf(d)]));
  const movedTo = (tag: string, from: number) => renders.slice(from).filter((r) => r.at.endsWith(`@${tag}`));
  const KCP = ['root-kcp', 'a-shard-kcp', 'b-shard-kcp'];

  beforeAll(async () => {
    const t0 = Date.now();
    stack = await LocalStack.start({ name: 'e2e-rollout', namespace: NS, crashLoopBackOffMs: 2_000 });
    const frontProxy = sampleObjects().find((o) => o.kind === 'FrontProxy') as KubeObject;
    const shard = (name: string): KubeObject => ({
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'Shard',
      metadata: { name },
      spec: { rootShard: { ref: { name: 'root' } }, etcd: { endpoints: [`http://etcd-${name}:2379`] }, replicas: 1 },
    });
    await stack.apply([
      ...etcd('root'),
      ...etcd('a'),
      ...etcd('b'),
      {
        apiVersion: 'operator.kcp.io/v1alpha1',
        kind: 'RootShard',
        metadata: { name: 'root' },
        spec: {
          external: { hostname: 'kcp.dev.local', port: 6443 },
          cache: {},
          etcd: { endpoints: ['http://etcd-root:2379'] },
          replicas: 1,
          proxy: { replicas: 1 },
          release: { image: { tag: 'v0.32.3' }, rollout: { soakSeconds: 5, progressDeadlineSeconds: 300 } },
        },
      },
      shard('a'),
      shard('b'),
      { ...frontProxy, spec: { ...(frontProxy.spec as object), replicas: 1 } },
    ]);
    await waitRollout('Complete', 'v0.32.3');
    console.log(`rollout topology Complete at v0.32.3 in ${Date.now() - t0} ms`);
    let busy = false;
    watcher = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        const deps = (await stack.admin.list(Deployments, { namespace: NS })).items.filter((d) => d.metadata.annotations?.['operator.kcp.io/release']);
        const available = deps.filter(availableAt).map((d) => `${d.metadata.name ?? ''}@${tagOf(d)}`);
        for (const d of deps) {
          const name = d.metadata.name ?? '';
          if (lastTag.get(name) === tagOf(d)) continue;
          lastTag.set(name, tagOf(d));
          const at = `${name}@${tagOf(d)}`;
          renders.push({ at, availableBefore: available.filter((a) => a !== at) });
        }
      })()
        .catch(() => undefined)
        .finally(() => (busy = false));
    }, 250);
  });
  afterAll(async () => {
    if (watcher) clearInterval(watcher);
    await stack?.stop();
  });

  it('paused: a new version is accepted and shown, and nothing is touched', async () => {
    await setRelease('v0.32.4', { soakSeconds: 5, progressDeadlineSeconds: 300, paused: true });
    const r = await waitRollout('Paused', 'v0.32.4', 60);
    expect(r.components.every((c) => c.state === 'Pending')).toBe(true);
    expect(r.summary).toMatch(/^Paused 0\/5 v0\.32\.4: next RootShard\/root$/);
    expect(Object.values(await tags()).filter((t) => t === 'v0.32.4')).toEqual([]);
  });

  it('resumed: the root shard, then a, then b, each Available at the new version before the next moves, then the front-proxies', async () => {
    const from = renders.length;
    await setRelease('v0.32.4', { soakSeconds: 5, progressDeadlineSeconds: 300, paused: false });
    await waitRollout('Complete', 'v0.32.4');
    const moved = movedTo('v0.32.4', from);
    expect(moved.slice(0, 3).map((r) => r.at)).toEqual(KCP.map((d) => `${d}@v0.32.4`));
    expect(moved.slice(3).map((r) => r.at).sort()).toEqual(['front-proxy-front-proxy@v0.32.4', 'root-proxy@v0.32.4']);
    // One at a time: each moved only once everything before it ran the new version, Available.
    moved.forEach((r, i) => {
      for (const earlier of moved.slice(0, Math.min(i, 3))) expect(r.availableBefore, r.at).toContain(earlier.at);
    });
    const events = (await stack.admin.list(Events, { namespace: NS })).items.map((e) => `${String(e['reason'])}: ${String(e['note'])}`);
    expect(events.filter((e) => e.startsWith('RolloutStep')).length).toBeGreaterThanOrEqual(5);
    expect(events.some((e) => e.startsWith('RolloutComplete'))).toBe(true);
    expect(await stack.kubectl(['-n', NS, 'get', 'rootshard', 'root'])).toMatch(/Complete v0\.32\.4/);
  });

  it('a shard whose etcd is gone fails its gate: the rollout stops there, names it, and touches nothing further', async () => {
    await stack.kubectl(['-n', NS, 'scale', 'deployment/etcd-a', '--replicas=0']);
    // kcp's /readyz checks etcd: the shard turns unavailable on its own first.
    await stack.kubectl(['-n', NS, 'wait', '--for=condition=Available=False', '--timeout=180s', 'shard/a']);
    const from = renders.length;
    await setRelease('v0.32.5', { soakSeconds: 5, progressDeadlineSeconds: 90 });
    const r = await waitRollout('Stalled', 'v0.32.5');
    expect(r.components.find((c) => c.name === 'a')).toMatchObject({ state: 'Failed', reason: 'ProgressDeadlineExceeded', message: expect.stringContaining('a-shard-kcp') });
    expect(movedTo('v0.32.5', from).map((x) => x.at)).toEqual(['root-kcp@v0.32.5', 'a-shard-kcp@v0.32.5']);
    expect(await tags()).toMatchObject({ 'b-shard-kcp': 'v0.32.4', 'front-proxy-front-proxy': 'v0.32.4', 'root-proxy': 'v0.32.4' });
    const cond = ((await rootShard()).status as { conditions: Array<{ type: string; status: string; reason: string; message: string }> }).conditions.find((c) => c.type === 'RolloutComplete');
    expect(cond).toMatchObject({ status: 'False', reason: 'GateFailed', message: expect.stringContaining('Shard/a') });
    const events = (await stack.admin.list(Events, { namespace: NS })).items;
    expect(events.some((e) => e['reason'] === 'RolloutStalled' && String(e['note']).includes('Shard/a'))).toBe(true);
  });

  it('setting the previous version back (etcd restored) rolls back in the same order; b never moved and is not restarted', async () => {
    await stack.kubectl(['-n', NS, 'scale', 'deployment/etcd-a', '--replicas=1']);
    const bBefore = (await stack.admin.get(Deployments, NS, 'b-shard-kcp')).metadata.generation;
    const from = renders.length;
    await setRelease('v0.32.4', { soakSeconds: 5, progressDeadlineSeconds: 300 });
    await waitRollout('Complete', 'v0.32.4');
    expect(movedTo('v0.32.4', from).map((x) => x.at)).toEqual(['root-kcp@v0.32.4', 'a-shard-kcp@v0.32.4']);
    expect((await stack.admin.get(Deployments, NS, 'b-shard-kcp')).metadata.generation).toBe(bBefore);
  });
});
