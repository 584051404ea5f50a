import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../src/kube/object.js';
import { ORIGIN, ORIGIN_CLUSTER_LABEL, PREFIX, REPLICA_NAMESPACE, SOURCE_LABEL } from './keys.js';
import { copiedContent, desiredReplica, ownership, parseSourceKey, replicaStateHash, slimReplica, sourceKey, sourceRelevantHash, updatedReplica } from './replica.js';

const src: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: {
    name: 'cfg',
    namespace: 'p',
    uid: 'u1',
    labels: { [SOURCE_LABEL]: 'true', app: 'x' },
    annotations: { note: 'private' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'o1' }],
  },
  data: { a: '1' },
  binaryData: { b: 'AAE=' },
};

describe('replicas', () => {
  it('copy data and binaryData (ConfigMap) or type and data (Secret), and our marks only', () => {
    const r = desiredReplica('ConfigMap', src, 'dst', 'hub');
    expect(r.data).toEqual({ a: '1' });
    expect(r.binaryData).toEqual({ b: 'AAE=' });
    expect(r.metadata.ownerReferences).toBeUndefined();
    expect(r.metadata.labels).toEqual({ [ORIGIN_CLUSTER_LABEL]: 'hub' });
    expect(Object.keys(r.metadata.annotations ?? {}).every((k) => k.startsWith(PREFIX))).toBe(true);
    expect(copiedContent('Secret', { metadata: {}, data: {} })).toEqual({ type: 'Opaque', data: undefined });
  });

  it('hash equal when only foreign metadata differs, different when content or our keys differ', () => {
    const r = desiredReplica('ConfigMap', src, 'dst', 'hub');
    const base = replicaStateHash('ConfigMap', r);
    expect(replicaStateHash('ConfigMap', { ...r, metadata: { ...r.metadata, resourceVersion: '9', labels: { ...r.metadata.labels, team: 'x' } } })).toBe(base);
    expect(replicaStateHash('ConfigMap', { ...r, data: { a: '2' } })).not.toBe(base);
    expect(replicaStateHash('ConfigMap', { ...r, metadata: { ...r.metadata, labels: { ...r.metadata.labels, [SOURCE_LABEL]: 'true' } } })).not.toBe(base);
    expect(replicaStateHash('ConfigMap', { ...r, data: {} })).toBe(replicaStateHash('ConfigMap', { ...r, data: undefined }));
  });

  it('one state hash for the replicas of a source in every namespace, still telling a replica made for another namespace apart', () => {
    const a = desiredReplica('ConfigMap', src, 'a', 'hub');
    const b = desiredReplica('ConfigMap', src, 'b', 'hub');
    expect(replicaStateHash('ConfigMap', b)).toBe(replicaStateHash('ConfigMap', a));
    // Live objects are hashed from their own fields, not the memo of desired ones.
    const live = (r: KubeObject, ns: string) => slimReplica('ConfigMap', { ...r, metadata: { ...r.metadata, namespace: ns, resourceVersion: '7' } });
    expect(replicaStateHash('ConfigMap', live(a, 'a'))).toBe(replicaStateHash('ConfigMap', a));
    // In namespace b, a copy that says it was made for a is not b's replica.
    expect(replicaStateHash('ConfigMap', live(a, 'b'))).not.toBe(replicaStateHash('ConfigMap', b));
    // Made with another cluster name, the memo is not reused.
    expect(replicaStateHash('ConfigMap', desiredReplica('ConfigMap', src, 'a', 'edge'))).not.toBe(replicaStateHash('ConfigMap', a));
    expect(a.metadata.annotations?.[REPLICA_NAMESPACE]).toBe('a');
  });

  it('cached replicas share their label maps, which cannot be changed in place', () => {
    const one = slimReplica('ConfigMap', { ...desiredReplica('ConfigMap', src, 'a', 'hub'), metadata: { ...desiredReplica('ConfigMap', src, 'a', 'hub').metadata, uid: 'r1' } });
    const two = slimReplica('ConfigMap', { ...desiredReplica('ConfigMap', src, 'b', 'hub'), metadata: { ...desiredReplica('ConfigMap', src, 'b', 'hub').metadata, uid: 'r2' } });
    expect(two.metadata.labels).toBe(one.metadata.labels);
    expect(one.data).toBeUndefined();
    expect(() => {
      (one.metadata.labels as Record<string, string>).team = 'x';
    }).toThrow(TypeError);
  });

  it('cached replicas keep everything an update needs, and their hash only where no copy or body sees it', () => {
    const secret: KubeObject = { ...src, kind: 'Secret', type: 'kubernetes.io/tls' };
    const d = desiredReplica('Secret', secret, 'a', 'hub');
    expect(Object.keys(JSON.parse(JSON.stringify(d))).sort()).toEqual(['apiVersion', 'data', 'kind', 'metadata', 'type']);
    const extra = { finalizers: ['example.com/hold'], ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'o1' }] };
    const live: KubeObject = { ...d, metadata: { ...d.metadata, uid: 'r1', resourceVersion: '5', creationTimestamp: '2026-12-03T10:00:00Z', ...extra } };
    const slim = slimReplica('Secret', live);
    expect(JSON.parse(JSON.stringify(slim))).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: 'cfg', namespace: 'a', uid: 'r1', resourceVersion: '5', labels: d.metadata.labels, annotations: d.metadata.annotations, ...extra },
    });
    expect(replicaStateHash('Secret', slim)).toBe(replicaStateHash('Secret', d));
    // A copy of the slim object, without content, is hashed from its own fields: it differs.
    expect(replicaStateHash('Secret', { ...slim })).not.toBe(replicaStateHash('Secret', d));
  });

  it('updates keep other owners’ metadata and drop stray keys of ours', () => {
    const r = desiredReplica('ConfigMap', src, 'dst', 'hub');
    const live: KubeObject = {
      ...r,
      metadata: { ...r.metadata, resourceVersion: '3', labels: { ...r.metadata.labels, team: 'x', [SOURCE_LABEL]: 'true' } },
      data: { a: 'old', extra: 'x' },
      immutable: false,
    };
    const u = updatedReplica('ConfigMap', live, r);
    expect(u.metadata.resourceVersion).toBe('3');
    expect(u.metadata.labels).toEqual({ [ORIGIN_CLUSTER_LABEL]: 'hub', team: 'x' });
    expect(u.data).toEqual({ a: '1' });
    expect(u.immutable).toBeUndefined();
  });

  it('ownership needs every mark to agree', () => {
    const r = desiredReplica('ConfigMap', src, 'dst', 'hub');
    expect(ownership(r, 'hub', 'hub')).toMatchObject({ owned: true, origin: { cluster: 'hub', namespace: 'p', name: 'cfg', uid: 'u1' } });
    expect(ownership(r, 'hub', 'other').owned).toBe(false);
    const noUid = { ...r, metadata: { ...r.metadata, annotations: { ...r.metadata.annotations, 'sync.operator.kcp.io/origin-uid': '' } } };
    expect(ownership(noUid, 'hub', 'hub').owned).toBe(false);
    const badOrigin = { ...r, metadata: { ...r.metadata, annotations: { ...r.metadata.annotations, [ORIGIN]: 'garbage' } } };
    expect(ownership(badOrigin, 'hub', 'hub').owned).toBe(false);
  });

  it('source keys round-trip and reject junk', () => {
    expect(parseSourceKey(sourceKey('Secret', 'ns', 'n'))).toEqual({ kind: 'Secret', namespace: 'ns', name: 'n' });
    expect(parseSourceKey('Pod/ns/n')).toBeUndefined();
    expect(parseSourceKey('Secret/ns')).toBeUndefined();
  });

  it('ignores our own status annotation when deciding whether a source changed', () => {
    const withStatus = { ...src, metadata: { ...src.metadata, annotations: { ...src.metadata.annotations, 'sync.operator.kcp.io/status': '{}' } } };
    expect(sourceRelevantHash(withStatus)).toBe(sourceRelevantHash(src));
    expect(sourceRelevantHash({ ...src, data: { a: '2' } })).not.toBe(sourceRelevantHash(src));
  });
});
