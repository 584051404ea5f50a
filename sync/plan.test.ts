// The desired-set computation on plain objects: what a reconcile of one source on one cluster
// would do, for every combination that matters (consent, withdrawal, conflicts, self, drift).
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../src/kube/object.js';
import { ACCEPT_FROM, ACCEPT_LABEL, ORIGIN, ORIGIN_UID, SOURCE_LABEL, TO_CLUSTERS, TO_NAMESPACES } from './keys.js';
import { planCluster, syncedResult, type NamespaceView, type PlanInput } from './plan.js';
import { desiredReplica, slimReplica } from './replica.js';
import { parseAcceptance } from './rules.js';

const source = (annotations: Record<string, string>, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db', namespace: 'platform', uid: 'uid-1', labels: { [SOURCE_LABEL]: 'true' }, annotations },
  type: 'Opaque',
  data: { password: 'aHVudGVyMg==' },
  ...extra,
});

const ns = (name: string, accept: string | undefined, labels: Record<string, string> = {}): NamespaceView => {
  const annotations: Record<string, string> = accept ? { [ACCEPT_FROM]: accept } : {};
  const meta = { labels: { ...labels, ...(accept !== undefined ? { [ACCEPT_LABEL]: 'true' } : {}) }, annotations };
  return { name, labels: meta.labels, acceptance: parseAcceptance(meta), terminating: false };
};

const withRv = (o: KubeObject, rv = '7', uid = `replica-${o.metadata.namespace}`): KubeObject => ({ ...o, metadata: { ...o.metadata, resourceVersion: rv, uid } });

function input(over: Partial<PlanInput>): PlanInput {
  return {
    kind: 'Secret',
    namespace: 'platform',
    name: 'db',
    own: 'hub',
    cluster: { name: 'hub', labels: {}, draining: false },
    source: source({ [TO_NAMESPACES]: 'a,b' }),
    namespaces: [ns('a', 'platform/db'), ns('b', 'platform/*')],
    objectAt: () => undefined,
    replicasOf: [],
    ...over,
  };
}

const ops = (p: ReturnType<typeof planCluster>) => p.actions.map((a) => `${a.op}:${a.namespace}`);

describe('planCluster', () => {
  it('creates a replica where both sides consent, and only there', () => {
    const p = planCluster(
      input({
        source: source({ [TO_NAMESPACES]: 'a,b,c,d' }),
        namespaces: [ns('a', 'platform/db'), ns('b', 'platform/other'), ns('c', undefined), ns('e', 'platform/db')],
      }),
    );
    expect(ops(p)).toEqual(['create:a']);
    expect(p.results).toEqual([
      { namespace: 'b', state: 'NotAccepted', message: expect.any(String) },
      { namespace: 'c', state: 'NotAccepted', message: expect.any(String) },
      { namespace: 'd', state: 'NotAccepted', message: expect.any(String) },
    ]);
    const created = p.actions[0];
    expect(created?.op === 'create' && created.object.metadata.annotations?.[ORIGIN]).toBe('hub/platform/db');
  });

  it('never targets the source itself, even when its namespace accepts it', () => {
    const p = planCluster(input({ source: source({ [TO_NAMESPACES]: 'platform,a' }), namespaces: [ns('platform', 'platform/db'), ns('a', 'platform/db')] }));
    expect(ops(p)).toEqual(['create:a']);
    expect(p.results).toContainEqual({ namespace: 'platform', state: 'Skipped', message: expect.any(String) });
  });

  it('targets the same namespace name on another cluster', () => {
    const p = planCluster(
      input({
        cluster: { name: 'edge', labels: {}, draining: false },
        source: source({ [TO_NAMESPACES]: 'platform', [TO_CLUSTERS]: 'edge' }),
        namespaces: [ns('platform', 'hub/platform/db')],
      }),
    );
    expect(ops(p)).toEqual(['create:platform']);
  });

  it('does nothing on a cluster the source does not name', () => {
    const p = planCluster(input({ cluster: { name: 'edge', labels: {}, draining: false } }));
    expect(p.targeted).toBe(false);
    expect(p.actions).toEqual([]);
  });

  it('leaves a replica in sync alone, and updates one that drifted or whose source changed', () => {
    const src = source({ [TO_NAMESPACES]: 'a,b' });
    const a = withRv(desiredReplica('Secret', src, 'a', 'hub'));
    const b = withRv({ ...desiredReplica('Secret', src, 'b', 'hub'), data: { password: 'ZXZpbA==' } });
    const p = planCluster(input({ source: src, objectAt: (n) => (n === 'a' ? a : n === 'b' ? b : undefined), replicasOf: [a, b] }));
    expect(ops(p)).toEqual(['update:b']);
    expect(p.results).toContainEqual({ namespace: 'a', state: 'Synced' });
    const upd = p.actions[0];
    expect(upd?.op === 'update' && upd.object.metadata.resourceVersion).toBe('7');
    expect(upd?.op === 'update' && upd.object.data).toEqual({ password: 'aHVudGVyMg==' });
  });

  it('recreates a replica whose type changed or that was made immutable', () => {
    const src = source({ [TO_NAMESPACES]: 'a,b' });
    const a = withRv({ ...desiredReplica('Secret', src, 'a', 'hub'), type: 'kubernetes.io/tls' });
    const b = withRv({ ...desiredReplica('Secret', src, 'b', 'hub'), immutable: true });
    const p = planCluster(input({ source: src, objectAt: (n) => (n === 'a' ? a : b), replicasOf: [a, b] }));
    expect(ops(p)).toEqual(['recreate:a', 'recreate:b']);
  });

  it('deletes replicas whose namespace no longer consents or is no longer named', () => {
    const src = source({ [TO_NAMESPACES]: 'a' });
    const a = withRv(desiredReplica('Secret', src, 'a', 'hub'));
    const b = withRv(desiredReplica('Secret', src, 'b', 'hub'));
    const c = withRv(desiredReplica('Secret', src, 'c', 'hub'));
    const p = planCluster(input({ source: src, namespaces: [ns('a', 'platform/db')], objectAt: (n) => (n === 'a' ? a : undefined), replicasOf: [a, b, c] }));
    expect(ops(p)).toEqual(['delete:b', 'delete:c']);
    const del = p.actions[0];
    expect(del?.op === 'delete' && [del.uid, del.resourceVersion]).toEqual(['replica-b', '7']);
  });

  it('deletes every replica of a source that is gone, opted out, or being deleted', () => {
    const src = source({ [TO_NAMESPACES]: 'a' });
    const a = withRv(desiredReplica('Secret', src, 'a', 'hub'));
    const optedOut = { ...src, metadata: { ...src.metadata, labels: {} } };
    const deleting = { ...src, metadata: { ...src.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
    for (const s of [undefined, optedOut, deleting]) {
      expect(ops(planCluster(input({ source: s, objectAt: () => a, replicasOf: [a] })))).toEqual(['delete:a']);
    }
  });

  it('removes everything from a draining (deregistered) cluster', () => {
    const src = source({ [TO_NAMESPACES]: 'a' });
    const a = withRv(desiredReplica('Secret', src, 'a', 'hub'));
    expect(ops(planCluster(input({ source: src, cluster: { name: 'hub', labels: {}, draining: true }, objectAt: () => a, replicasOf: [a] })))).toEqual(['delete:a']);
  });

  it('reports a foreign object or another source’s replica as a conflict and plans nothing for it', () => {
    const src = source({ [TO_NAMESPACES]: 'a,b' });
    const foreign = withRv({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'a' }, data: {} });
    const other = withRv(desiredReplica('Secret', { ...src, metadata: { ...src.metadata, namespace: 'elsewhere', uid: 'u2' } }, 'b', 'hub'));
    const p = planCluster(input({ source: src, objectAt: (n) => (n === 'a' ? foreign : other) }));
    expect(p.actions).toEqual([]);
    expect(p.results.map((r) => `${r.namespace}:${r.state}`)).toEqual(['a:Conflict', 'b:Conflict']);
    expect(p.results[1]?.message).toMatch(/elsewhere\/db/);
  });

  it('never deletes an object that only looks like a replica: copied elsewhere, renamed, or the source itself', () => {
    const src = source({ [TO_NAMESPACES]: '' });
    const moved = withRv({ ...desiredReplica('Secret', src, 'a', 'hub'), metadata: { ...desiredReplica('Secret', src, 'a', 'hub').metadata, namespace: 'x' } });
    const renamed = withRv({ ...desiredReplica('Secret', src, 'a', 'hub'), metadata: { ...desiredReplica('Secret', src, 'a', 'hub').metadata, name: 'db-copy' } });
    const selfish = withRv({ ...desiredReplica('Secret', src, 'platform', 'hub') });
    const p = planCluster(input({ source: src, replicasOf: [moved, renamed, selfish] }));
    expect(p.actions).toEqual([]);
  });

  it('restores a replica whose origin annotation was edited (same source uid), instead of yielding it', () => {
    const src = source({ [TO_NAMESPACES]: 'a' });
    const rep = desiredReplica('Secret', src, 'a', 'hub');
    const tampered = withRv({ ...rep, metadata: { ...rep.metadata, annotations: { ...rep.metadata.annotations, [ORIGIN]: 'hub/platform/other' } } });
    expect(ops(planCluster(input({ source: src, namespaces: [ns('a', 'platform/db')], objectAt: () => tampered })))).toEqual(['update:a']);
    // With the uid changed too it is indistinguishable from a foreign object: conflict, untouched.
    const forged = withRv({ ...tampered, metadata: { ...tampered.metadata, annotations: { ...tampered.metadata.annotations, [ORIGIN_UID]: 'x' } } });
    const p = planCluster(input({ source: src, namespaces: [ns('a', 'platform/db')], objectAt: () => forged }));
    expect(p.actions).toEqual([]);
    expect(p.results[0]?.state).toBe('Conflict');
  });

  it('freezes on invalid rules: no action, the error reported', () => {
    const src = source({ [TO_NAMESPACES]: 'a/b' });
    const a = withRv(desiredReplica('Secret', src, 'a', 'hub'));
    const p = planCluster(input({ source: src, replicasOf: [a], objectAt: () => a }));
    expect(p.actions).toEqual([]);
    expect(p.invalid).toMatch(/to-namespaces/);
  });

  it('treats an object with replica marks as no source: its own replicas are not made', () => {
    const src = source({ [TO_NAMESPACES]: 'a' });
    src.metadata.annotations = { ...src.metadata.annotations, [ORIGIN]: 'hub/x/db' };
    expect(ops(planCluster(input({ source: src })))).toEqual([]);
  });

  it('skips terminating namespaces', () => {
    const p = planCluster(input({ namespaces: [{ ...ns('a', 'platform/db'), terminating: true }, ns('b', 'platform/db')] }));
    expect(ops(p)).toEqual(['create:b']);
  });

  it('plans on replicas cached without their content (slimReplica) as on full ones', () => {
    const live = (data: Record<string, string>) => slimReplica('Secret', withRv({ ...desiredReplica('Secret', source({ [TO_NAMESPACES]: 'a,b' }), 'a', 'hub'), data }));
    const same = live({ password: 'aHVudGVyMg==' });
    expect(same.data).toBeUndefined();
    expect(ops(planCluster(input({ objectAt: (n) => (n === 'a' ? same : undefined) })))).toEqual(['create:b']);
    // Data changed by hand on the replica: the hash taken before the data was dropped still tells.
    const edited = live({ password: 'c3RvbGVu' });
    const p = planCluster(input({ objectAt: (n) => (n === 'a' ? edited : undefined) }));
    expect(ops(p)).toEqual(['update:a', 'create:b']);
    const upd = p.actions[0];
    expect(upd?.op === 'update' && upd.object.data).toEqual({ password: 'aHVudGVyMg==' });
    expect(upd?.op === 'update' && upd.object.metadata.resourceVersion).toBe('7');
  });

  it('reports Synced destinations with one shared, frozen result per namespace', () => {
    const a = slimReplica('Secret', withRv(desiredReplica('Secret', source({ [TO_NAMESPACES]: 'a' }), 'a', 'hub')));
    const p1 = planCluster(input({ objectAt: (n) => (n === 'a' ? a : undefined) }));
    const p2 = planCluster(input({ objectAt: (n) => (n === 'a' ? a : undefined) }));
    const r1 = p1.results.find((r) => r.namespace === 'a');
    expect(r1).toEqual({ namespace: 'a', state: 'Synced' });
    expect(p2.results.find((r) => r.namespace === 'a')).toBe(r1);
    expect(r1).toBe(syncedResult('a'));
    expect(Object.isFrozen(r1)).toBe(true);
  });
});
