import { describe, expect, it } from 'vitest';
import { absorbManagersPatch, releaseControllerPatch, unionFields } from './adopt.js';
import type { KubeObject } from './object.js';

const ref = (apiVersion: string, kind: string, uid: string, controller = true) => ({ apiVersion, kind, name: 'fp', uid, controller });
const obj = (meta: Partial<KubeObject['metadata']>): KubeObject => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'fp-front-proxy', namespace: 'ns', ...meta } });
const kcpOperator = (r: { apiVersion: string }) => r.apiVersion.startsWith('deploy.operator.kcp.io/');

describe('releaseControllerPatch', () => {
  const desired = obj({ ownerReferences: [ref('operator.kcp.io/v1alpha1', 'FrontProxy', 'ours')] });

  it('removes another controller we may take over from, testing its uid first', () => {
    const live = obj({ ownerReferences: [ref('v1', 'ConfigMap', 'x', false), ref('deploy.operator.kcp.io/v1alpha1', 'CompiledFrontProxy', 'theirs')] });
    expect(releaseControllerPatch(desired, live, kcpOperator)).toEqual([
      { op: 'test', path: '/metadata/ownerReferences/1/uid', value: 'theirs' },
      { op: 'remove', path: '/metadata/ownerReferences/1' },
    ]);
  });

  it('leaves alone our own reference, non-controller references and controllers it may not take over from', () => {
    expect(releaseControllerPatch(desired, obj({ ownerReferences: [ref('operator.kcp.io/v1alpha1', 'FrontProxy', 'ours')] }), kcpOperator)).toBeUndefined();
    expect(releaseControllerPatch(desired, obj({ ownerReferences: [ref('deploy.operator.kcp.io/v1alpha1', 'X', 'theirs', false)] }), kcpOperator)).toBeUndefined();
    expect(releaseControllerPatch(desired, obj({ ownerReferences: [ref('example.com/v1', 'Other', 'theirs')] }), kcpOperator)).toBeUndefined();
  });
});

describe('absorbManagersPatch', () => {
  const live = obj({
    resourceVersion: '42',
    managedFields: [
      { manager: 'manager', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:template': { 'f:metadata': { 'f:labels': { 'f:rev': {} } } } } } },
      { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} }, subresource: 'status' },
      { manager: 'manager', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:x': {} } }, subresource: 'status' },
      { manager: 'ours', operation: 'Apply', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
    ],
  });

  it('hands the named managers’ fields (not their status) to our apply entry, guarded by the resourceVersion', () => {
    const patch = absorbManagersPatch(live, 'ours', (m) => m === 'manager', new Date('2026-12-02T00:00:00.123Z'));
    expect(patch?.[0]).toEqual({ op: 'test', path: '/metadata/resourceVersion', value: '42' });
    const entries = patch?.[1]?.value as Array<{ manager: string; subresource?: string; operation: string; fieldsV1: unknown }>;
    expect(entries.map((e) => [e.manager, e.subresource ?? ''])).toEqual([
      ['kube-controller-manager', 'status'],
      ['manager', 'status'],
      ['ours', ''],
    ]);
    expect(entries[2]).toMatchObject({
      operation: 'Apply',
      time: '2026-12-02T00:00:00Z',
      fieldsV1: { 'f:spec': { 'f:replicas': {}, 'f:template': { 'f:metadata': { 'f:labels': { 'f:rev': {} } } } } },
    });
  });

  it('is nothing when no named manager wrote the object', () => {
    expect(absorbManagersPatch(live, 'ours', (m) => m === 'someone-else')).toBeUndefined();
  });

  it('unions field sets', () => {
    expect(unionFields({ a: { b: {} } }, { a: { c: {} }, d: {} })).toEqual({ a: { b: {}, c: {} }, d: {} });
  });
});
