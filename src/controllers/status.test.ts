// reportForbidden: what a controller does with a failed reconcile. The context holds only the two
// parts it uses (status writes and Events), recorded instead of sent.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../kube/errors.js';
import type { KubeObject } from '../kube/object.js';
import type { ControllerContext } from './context.js';
import { RootShards } from './context.js';
import { reportForbidden } from './status.js';

function recordingContext() {
  const statuses: Array<Record<string, unknown>> = [];
  const events: Array<{ type: string; reason: string; note: string }> = [];
  const ctx = {
    applier: { applyStatus: (_r: unknown, _o: KubeObject, status: Record<string, unknown>) => Promise.resolve(void statuses.push(status)) },
    events: { record: (_o: KubeObject, type: string, reason: string, note: string) => Promise.resolve(void events.push({ type, reason, note })) },
  } as unknown as ControllerContext;
  return { ctx, statuses, events };
}

const rs: KubeObject = {
  apiVersion: 'operator.kcp.io/v1alpha1',
  kind: 'RootShard',
  metadata: { name: 'root', namespace: 'ns', generation: 3 },
  status: {
    observedGeneration: 2,
    conditions: [{ type: 'Available', status: 'True', reason: 'ReplicasUp', message: '', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z' }],
  },
};
const denied = new ApiError(403, 'Forbidden', 'secrets is forbidden: User "system:serviceaccount:x:op" cannot create resource "secrets" in API group "" in the namespace "ns"');

describe('reportForbidden', () => {
  it('shows a 403 on the object as Stalled, reason Forbidden, naming the resource, beside its other conditions, and as a Warning Event', async () => {
    const { ctx, statuses, events } = recordingContext();
    await reportForbidden(ctx, RootShards, () => rs)({ key: 'ns/root' }, denied);
    expect(statuses).toHaveLength(1);
    const conditions = statuses[0]?.conditions as Array<{ type: string; status: string; reason: string; message: string; observedGeneration: number }>;
    expect(conditions.map((c) => c.type)).toEqual(['Available', 'Stalled']);
    expect(conditions[1]).toMatchObject({ status: 'True', reason: 'Forbidden', observedGeneration: 3 });
    expect(conditions[1]?.message).toMatch(/cannot create resource "secrets"/);
    expect(statuses[0]?.observedGeneration).toBe(2);
    expect(events).toEqual([{ type: 'Warning', reason: 'Forbidden', note: expect.stringMatching(/cannot create resource "secrets"/) as unknown as string }]);
  });

  it('leaves other errors, and objects gone or being deleted, to the log', async () => {
    const { ctx, statuses, events } = recordingContext();
    await reportForbidden(ctx, RootShards, () => rs)({ key: 'ns/root' }, new ApiError(500, 'InternalError', 'etcd timeout'));
    await reportForbidden(ctx, RootShards, () => undefined)({ key: 'ns/root' }, denied);
    await reportForbidden(ctx, RootShards, () => ({ ...rs, metadata: { ...rs.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } }))({ key: 'ns/root' }, denied);
    expect(statuses).toEqual([]);
    expect(events).toEqual([]);
  });
});
