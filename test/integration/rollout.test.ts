// RootShard spec.release on the real API server: the operator's controllers (RootShard, Shard,
// FrontProxy) move the installation to a new release root shard first, then one Shard at a time,
// then the front-proxies; a pinned Shard is left alone; a Shard that never turns Available stops
// the rollout with a condition and an Event naming it; pause and resume clear the gate. Nothing
// here runs kcp: a loop stands in for kube-controller-manager and the kubelet, reporting each
// Deployment's current generation available (except the ones the test breaks), and records the
// order in which the Deployments were re-rendered. Container restarts (Pods) are covered by the
// planner's unit tests and the e2e test on real kcp.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../../src/api/release.js';
import { FrontProxies, RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, Events } from '../../src/kube/resources.js';
import { RELEASE_ANNOTATION } from '../../src/resources/release.js';
import { builtInPkiRootShard, markDeploymentAvailable } from './fixtures.js';
import { createNamespace, eventually, quiet, sharedClient } from './helpers.js';
import { startOperator, type RunningOperator } from './operator.js';

const RS = 'root';
const image = (d: KubeObject) => (d.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]?.image ?? '';
const tagOf = (d: KubeObject) => image(d).split(':').pop() ?? '';
type Cond = { type: string; status: string; reason: string; message: string };

describe('gradual release rollout (RootShard spec.release)', () => {
  let client: KubeClient;
  let ns: string;
  let op: RunningOperator;
  let standIn: NodeJS.Timeout | undefined;
  const broken = new Set<string>();
  /** `deployment@tag`, in the order the stand-in first saw each Deployment render each tag. */
  const renders: string[] = [];

  const rollout = async () => ((await client.get(RootShards, ns, RS)).status as { rollout?: RolloutStatus } | undefined)?.rollout;
  const condition = async (type: string) =>
    ((await client.get(RootShards, ns, RS)).status as { conditions?: Cond[] } | undefined)?.conditions?.find((c) => c.type === type);
  const waitState = (state: RolloutStatus['state'], version: string, timeoutMs = 60_000) =>
    eventually(`rollout ${state} at ${version}`, async () => {
      const r = await rollout();
      return r?.state === state && r.version === version ? r : undefined;
    }, timeoutMs);
  const setRelease = (release: Record<string, unknown>) => client.patch(RootShards, ns, RS, { spec: { release } }, 'merge');
  const tags = async () =>
    Object.fromEntries((await client.list(Deployments, { namespace: ns })).items.map((d) => [d.metadata.name ?? '', tagOf(d)]));

  beforeAll(async () => {
    client = await sharedClient('rollout-test');
    ns = await createNamespace(client, 'rollout');
    op = await startOperator({ namespace: ns });
    const rs = builtInPkiRootShard(ns);
    rs.metadata.name = RS;
    Object.assign(rs.spec as Record<string, unknown>, {
      proxy: { replicas: 1 },
      release: { image: { tag: 'v0.32.3' }, rollout: { soakSeconds: 1, progressDeadlineSeconds: 10 } },
    });
    await client.create(RootShards, rs);
    const shard = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'Shard',
      metadata: { name, namespace: ns },
      spec: { rootShard: { ref: { name: RS } }, etcd: { endpoints: [`http://etcd-${name}:2379`] }, replicas: 1, ...extra },
    });
    for (const s of [shard('a'), shard('b'), shard('pinned', { image: { tag: 'v0.31.0' } })]) await client.create(Shards, s);
    await client.create(FrontProxies, {
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'FrontProxy',
      metadata: { name: 'fp', namespace: ns },
      spec: { rootShard: { ref: { name: RS } }, replicas: 1 },
    });
    let busy = false;
    standIn = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        for (const d of (await client.list(Deployments, { namespace: ns })).items) {
          const name = d.metadata.name ?? '';
          const seen = `${name}@${tagOf(d)}`;
          if (!renders.includes(seen)) renders.push(seen);
          const st = d.status as { observedGeneration?: number } | undefined;
          if (!broken.has(name) && st?.observedGeneration !== d.metadata.generation) await markDeploymentAvailable(client, ns, name);
        }
      })()
        .catch(() => undefined)
        .finally(() => (busy = false));
    }, 100);
  });
  afterAll(async () => {
    if (standIn) clearInterval(standIn);
    await op?.stop();
    client?.close();
  });

  it('a new installation starts at the release: Complete, every following Deployment records it, the pinned Shard is reported', async () => {
    const r = await waitState('Complete', 'v0.32.3', 120_000);
    expect(r.components.map((c) => `${c.kind}/${c.name}`)).toEqual(['RootShard/root', 'Shard/a', 'Shard/b', 'Shard/pinned', 'FrontProxy/fp', 'RootShardProxy/root-proxy']);
    expect(r.components.find((c) => c.name === 'pinned')).toMatchObject({ state: 'Pinned', version: 'v0.31.0' });
    expect(r.summary).toBe('Complete v0.32.3');
    const deps = (await client.list(Deployments, { namespace: ns })).items;
    const annotated = deps.filter((d) => d.metadata.annotations?.[RELEASE_ANNOTATION]).map((d) => d.metadata.name).sort();
    expect(annotated).toEqual(['a-shard-kcp', 'b-shard-kcp', 'fp-front-proxy', 'root-kcp', 'root-proxy']);
    expect(await tags()).toMatchObject({ 'pinned-shard-kcp': 'v0.31.0', 'root-kcp': 'v0.32.3' });
    expect(await condition('RolloutComplete')).toMatchObject({ status: 'True', reason: 'Complete' });
    // At rest, the rollout writes nothing: the RootShard and every Deployment keep their resourceVersion.
    await quiet('the installation at rest', async () => [(await client.get(RootShards, ns, RS)).metadata.resourceVersion, ...(await client.list(Deployments, { namespace: ns })).items.map((d) => d.metadata.resourceVersion)], 3000);
  });

  it('a new version goes to the root shard, then a, then b, then the front-proxies; the pinned Shard is not touched', async () => {
    const from = renders.length;
    await setRelease({ image: { tag: 'v0.32.4' } });
    await waitState('Complete', 'v0.32.4');
    const moved = renders.slice(from).filter((x) => x.endsWith('@v0.32.4'));
    expect(moved.slice(0, 3)).toEqual(['root-kcp@v0.32.4', 'a-shard-kcp@v0.32.4', 'b-shard-kcp@v0.32.4']);
    expect(moved.slice(3).sort()).toEqual(['fp-front-proxy@v0.32.4', 'root-proxy@v0.32.4']);
    expect((await tags())['pinned-shard-kcp']).toBe('v0.31.0');
  });

  it('a Shard that never turns Available stops the rollout, named in the condition and an Event; the front-proxies keep their version', async () => {
    broken.add('b-shard-kcp');
    await setRelease({ image: { tag: 'v0.32.5' } });
    const stalled = await waitState('Stalled', 'v0.32.5');
    expect(stalled.components.find((c) => c.name === 'b')).toMatchObject({ state: 'Failed', reason: 'ProgressDeadlineExceeded' });
    expect(stalled.summary).toContain('Shard/b failed');
    expect(await condition('RolloutComplete')).toMatchObject({ status: 'False', reason: 'GateFailed', message: expect.stringContaining('Shard/b') });
    expect(await tags()).toMatchObject({ 'root-kcp': 'v0.32.5', 'a-shard-kcp': 'v0.32.5', 'b-shard-kcp': 'v0.32.5', 'fp-front-proxy': 'v0.32.4', 'root-proxy': 'v0.32.4' });
    const events = (await client.list(Events, { namespace: ns })).items;
    expect(events.some((e) => (e as { reason?: string }).reason === 'RolloutStalled' && /Shard\/b/.test((e as { note?: string }).note ?? ''))).toBe(true);
  });

  it('pausing clears the failed gate; once b is fixed and resumed, the rollout completes', async () => {
    await setRelease({ image: { tag: 'v0.32.5' }, rollout: { soakSeconds: 1, progressDeadlineSeconds: 10, paused: true } });
    const paused = await waitState('Paused', 'v0.32.5');
    expect(paused.components.find((c) => c.name === 'b')?.state).toBe('Updating');
    broken.delete('b-shard-kcp');
    await eventually('b Updated while paused', async () => (await rollout())?.components.find((c) => c.name === 'b')?.state === 'Updated', 30_000);
    expect((await tags())['fp-front-proxy']).toBe('v0.32.4');
    await setRelease({ image: { tag: 'v0.32.5' }, rollout: { soakSeconds: 1, progressDeadlineSeconds: 10, paused: false } });
    await waitState('Complete', 'v0.32.5');
    expect(await tags()).toMatchObject({ 'fp-front-proxy': 'v0.32.5', 'root-proxy': 'v0.32.5', 'pinned-shard-kcp': 'v0.31.0' });
  });
});
