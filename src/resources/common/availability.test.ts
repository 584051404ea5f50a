// High availability on every component (issue 13, items 3): the PodDisruptionBudget derived from each
// rendered Deployment, and topology spread constraints from deploymentTemplate reaching each Pod spec.
// The components are rendered by their real builders from kcp-operator's samples.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { CacheServerSpec } from '../../api/cacheserver.js';
import type { PodDisruptionBudgetSpec } from '../../api/disruption.js';
import type { FrontProxySpec } from '../../api/frontproxy.js';
import type { RootShardSpec } from '../../api/rootshard.js';
import type { ShardSpec } from '../../api/shard.js';
import type { DeploymentTemplate } from '../../api/templates.js';
import type { KubeObject } from '../../kube/object.js';
import { cacheServerDeployment } from '../cacheserver/render.js';
import { frontProxyDeployment } from '../frontproxy/deployment.js';
import { shardDeployment } from '../shard/deployment.js';
import { podDisruptionBudget } from './pdb.js';

const fixtures = path.resolve(import.meta.dirname, '../../../../shared/fixtures/kcp-operator-samples');
const load = (f: string) => parse(readFileSync(path.join(fixtures, f), 'utf8')) as KubeObject;
const owned = (o: KubeObject, uid: string): KubeObject => ({ ...o, metadata: { ...o.metadata, namespace: 'kcp', uid } });
const rootObj = owned(load('operator.kcp.io_v1alpha1_rootshard.yaml'), 'uid-root');
const shardObj = owned(load('operator.kcp.io_v1alpha1_shard.yaml'), 'uid-shard');
const fpObj = owned(load('operator.kcp.io_v1alpha1_frontproxy.yaml'), 'uid-fp');
const csObj = owned(load('operator.kcp.io_v1alpha1_cacheserver.yaml'), 'uid-cs');
const rootSpec = rootObj.spec as RootShardSpec;
const externalEtcd = { endpoints: ['https://etcd-0:2379'] };

/** What every component's spec has in common here: replicas and the Deployment template. */
type Overrides = { replicas?: number; deploymentTemplate?: DeploymentTemplate };

/** Each component's Deployment, rendered by its own builder with `o` on top of its sample spec. */
const components: Record<string, (o: Overrides) => KubeObject> = {
  RootShard: (o) =>
    shardDeployment(
      { kind: 'RootShard', owner: rootObj, name: 'shard-sample', namespace: 'kcp', spec: { ...rootSpec, ...o }, root: { name: 'shard-sample', spec: rootSpec }, serviceAccountPeers: [] },
      'h',
    ),
  Shard: (o) =>
    shardDeployment(
      { kind: 'Shard', owner: shardObj, name: 'secondary-shard', namespace: 'kcp', spec: { ...(shardObj.spec as ShardSpec), ...o }, root: { name: 'shard-sample', spec: rootSpec }, serviceAccountPeers: [] },
      'h',
    ),
  FrontProxy: (o) =>
    frontProxyDeployment(
      { owner: fpObj, name: 'frontproxy-sample', namespace: 'kcp', spec: { ...(fpObj.spec as FrontProxySpec), ...o }, root: { name: 'shard-sample', spec: rootSpec }, serviceAccountPeers: [] },
      'h',
    ),
  // More than one cache server Pod needs an external etcd (admission and the builder enforce it).
  CacheServer: (o) => cacheServerDeployment({ owner: csObj, name: 'cacheserver-sample', namespace: 'kcp', spec: { ...(csObj.spec as CacheServerSpec | null), etcd: externalEtcd, ...o } }, 'h'),
};

type Deployment = KubeObject & { spec: { replicas?: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> } } };
type Budget = KubeObject & { spec: { minAvailable?: number | string; maxUnavailable?: number | string; selector: { matchLabels: Record<string, string> } } };
const pdbOf = (d: KubeObject, policy?: PodDisruptionBudgetSpec) => podDisruptionBudget(d, policy) as Budget | undefined;

describe('PodDisruptionBudget', () => {
  it.each(Object.keys(components))('%s: above one replica, one Pod at a time, over exactly the Deployment\'s Pods, owned by the CR', (kind) => {
    const d = components[kind]!({ replicas: 3 }) as Deployment;
    const pdb = pdbOf(d);
    expect(pdb).toBeDefined();
    expect(pdb?.apiVersion).toBe('policy/v1');
    expect(pdb?.metadata).toMatchObject({ name: d.metadata.name, namespace: 'kcp' });
    expect(pdb?.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'kcp-operator' });
    expect(pdb?.metadata.ownerReferences).toEqual([expect.objectContaining({ kind, uid: `uid-${{ RootShard: 'root', Shard: 'shard', FrontProxy: 'fp', CacheServer: 'cs' }[kind]}`, controller: true })]);
    expect(pdb?.spec).toEqual({ maxUnavailable: 1, selector: d.spec.selector });
    // The selector picks the Deployment's Pods.
    expect(d.spec.template.metadata.labels).toMatchObject(pdb?.spec.selector.matchLabels ?? { none: 'x' });
  });

  it.each(Object.keys(components))('%s: none at one replica, at zero, or when disabled', (kind) => {
    expect(pdbOf(components[kind]!({ replicas: 1 }))).toBeUndefined();
    expect(pdbOf(components[kind]!({ replicas: 0 }))).toBeUndefined();
    expect(pdbOf(components[kind]!({ replicas: 2 }), { enabled: false })).toBeUndefined();
    expect(pdbOf(components[kind]!({ replicas: 2 }), { enabled: true })).toBeDefined();
  });

  it('defaults as the schema does: shards and front-proxy run 2 replicas, the cache server 1 with embedded etcd', () => {
    // The sample specs as the API server stores them (replicas defaulted to 2 where the schema says so).
    expect(pdbOf(components.FrontProxy!({ replicas: 2 }))).toBeDefined();
    const embedded = cacheServerDeployment({ owner: csObj, name: 'cacheserver-sample', namespace: 'kcp', spec: {} }, 'h');
    expect(pdbOf(embedded)).toBeUndefined();
    const external = cacheServerDeployment({ owner: csObj, name: 'cacheserver-sample', namespace: 'kcp', spec: { etcd: externalEtcd } }, 'h');
    expect(pdbOf(external)?.spec.maxUnavailable).toBe(1);
  });

  it('takes minAvailable or maxUnavailable as given, numbers or percentages', () => {
    const d = components.Shard!({ replicas: 4 });
    expect(pdbOf(d, { minAvailable: 3 })?.spec).toEqual({ minAvailable: 3, selector: expect.any(Object) });
    expect(pdbOf(d, { minAvailable: '50%' })?.spec.minAvailable).toBe('50%');
    expect(pdbOf(d, { maxUnavailable: '25%' })?.spec).toEqual({ maxUnavailable: '25%', selector: expect.any(Object) });
  });

  it('keeps a budget when replicas are left to someone else (an HPA): the default never blocks a drain', () => {
    const d = components.FrontProxy!({ replicas: 2 }) as Deployment;
    delete d.spec.replicas;
    expect(pdbOf(d)?.spec.maxUnavailable).toBe(1);
  });
});

describe('topology spread through deploymentTemplate', () => {
  const spread = [
    { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { 'app.kubernetes.io/instance': 'x' } }, matchLabelKeys: ['pod-template-hash'] },
    { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { 'app.kubernetes.io/instance': 'x' } } },
  ];
  it.each(Object.keys(components))('%s: topologySpreadConstraints reach the Pod spec unchanged', (kind) => {
    const d = components[kind]!({ replicas: 3, deploymentTemplate: { spec: { template: { spec: { topologySpreadConstraints: spread } } } } }) as Deployment;
    expect(d.spec.template.spec.topologySpreadConstraints).toEqual(spread);
    // Without the template there are none: the constraints come from the user, not from us.
    expect((components[kind]!({ replicas: 3 }) as Deployment).spec.template.spec.topologySpreadConstraints).toBeUndefined();
  });
});
