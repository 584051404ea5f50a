// Rolling a RootShard's spec.release out: what the RootShard controller observes of every component
// (Deployments, their Pods' restarts) for rollout-plan.ts, the status, condition, Events and metrics
// it makes of the plan, and the one question every component's controller asks before rendering:
// which release do I run now?
import { Gauge } from 'prom-client';
import type { ImageSpec } from '../api/common.js';
import type { FrontProxySpec } from '../api/frontproxy.js';
import {
  DEFAULT_ROLLOUT_MAX_PARALLEL,
  DEFAULT_ROLLOUT_PROGRESS_DEADLINE_SECONDS,
  DEFAULT_ROLLOUT_SOAK_SECONDS,
  type ComponentRolloutState,
  type RolloutComponentKind,
  type RolloutStatus,
} from '../api/release.js';
import type { RootShardSpec } from '../api/rootshard.js';
import type { ShardSpec } from '../api/shard.js';
import type { ConditionInput } from '../kube/conditions.js';
import { registry } from '../kube/metrics.js';
import type { KubeObject } from '../kube/object.js';
import { deploymentName } from '../resources/shard/model.js';
import { frontProxyNames } from '../resources/frontproxy/model.js';
import { rootShardProxyName } from '../resources/rootshard-proxy/model.js';
import { appliedRelease, familyOf, recordedRelease, versionOf, type AppliedRelease } from '../resources/release.js';
import type { ControllerContext } from './context.js';
import { deploymentAvailable } from './status.js';
import { frontProxyInformer, podInformer, specOrDeletionChanged, watchMappedWhen } from './watches.js';
import type { Controller } from '../kube/controller.js';
import { objectKey } from '../kube/object.js';
import { componentKey, planRollout, type ComponentObservation, type RolloutPlan } from './rollout-plan.js';

const registers = [registry];
const stalledGauge = new Gauge({
  name: 'kcp_operator_rollout_stalled',
  help: '1 while a RootShard\'s release rollout is stopped on a component that failed its gate',
  labelNames: ['namespace', 'rootshard'] as const,
  registers,
});
const pausedGauge = new Gauge({
  name: 'kcp_operator_rollout_paused',
  help: '1 while a RootShard\'s release rollout is paused (spec.release.rollout.paused)',
  labelNames: ['namespace', 'rootshard'] as const,
  registers,
});
const componentsGauge = new Gauge({
  name: 'kcp_operator_rollout_components',
  help: 'Components of a RootShard\'s installation per rollout state (Updated, Soaking, Updating, Pending, Failed, Pinned)',
  labelNames: ['namespace', 'rootshard', 'state'] as const,
  registers,
});
const STATES: readonly ComponentRolloutState[] = ['Updated', 'Soaking', 'Updating', 'Pending', 'Failed', 'Pinned'];

export const ROLLOUT_CONDITION = 'RolloutComplete';

const pins = (image: ImageSpec | undefined): boolean => !!(image?.repository || image?.tag);

/** Whether a component sets its own image, and so does not follow the release. */
function ownImage(kind: RolloutComponentKind, spec: unknown): ImageSpec | undefined {
  if (kind === 'RootShardProxy') return (spec as RootShardSpec).proxy?.image;
  return (spec as { image?: ImageSpec }).image;
}

/**
 * The release a component renders with now: none without spec.release or when it pins its own
 * image; the target once the rollout has told it to move (or when it has no Deployment yet, being
 * new); else what its Deployment records, so nothing changes before its turn.
 */
export function releaseFor(
  root: KubeObject,
  kind: RolloutComponentKind,
  name: string,
  ownSpec: unknown,
  live: KubeObject | undefined,
  granted?: ReadonlyMap<string, string>,
): AppliedRelease | undefined {
  const release = (root.spec as RootShardSpec).release;
  if (!release || pins(ownImage(kind, ownSpec))) return undefined;
  const target = appliedRelease(familyOf(kind), release);
  const told = granted
    ? granted.get(componentKey({ kind, name }))
    : (root.status as { rollout?: RolloutStatus } | undefined)?.rollout?.components.find((c) => c.kind === kind && c.name === name)?.revision;
  if (told === target.revision || !live) return target;
  return recordedRelease(live);
}

/** Deployments and owners of every component of a RootShard's installation (local Shards and FrontProxies). */
function components(ctx: ControllerContext, rs: KubeObject): Array<{ kind: RolloutComponentKind; name: string; phase: 0 | 1 | 2; spec: unknown; deployment: string }> {
  const ns = rs.metadata.namespace;
  const rsName = rs.metadata.name ?? '';
  const spec = rs.spec as RootShardSpec;
  const proxy = rootShardProxyName({ name: rsName, spec });
  const refersHere = (o: KubeObject) => (o.spec as ShardSpec | FrontProxySpec | undefined)?.rootShard?.ref?.name === rsName && !o.metadata.deletionTimestamp;
  return [
    { kind: 'RootShard' as const, name: rsName, phase: 0 as const, spec, deployment: deploymentName('RootShard', rsName) },
    ...ctx.shards
      .list(ns)
      .filter(refersHere)
      .map((s) => ({ kind: 'Shard' as const, name: s.metadata.name ?? '', phase: 1 as const, spec: s.spec, deployment: deploymentName('Shard', s.metadata.name ?? '') })),
    ...frontProxyInformer(ctx)
      .list(ns)
      .filter(refersHere)
      .map((f) => ({ kind: 'FrontProxy' as const, name: f.metadata.name ?? '', phase: 2 as const, spec: f.spec, deployment: frontProxyNames({ name: f.metadata.name ?? '', root: { name: rsName, spec } }).deployment })),
    { kind: 'RootShardProxy' as const, name: proxy, phase: 2 as const, spec, deployment: proxy },
  ];
}

function restartsOf(ctx: ControllerContext, dep: KubeObject): number {
  const match = (dep.spec as { selector?: { matchLabels?: Record<string, string> } } | undefined)?.selector?.matchLabels ?? {};
  if (Object.keys(match).length === 0) return 0;
  return podInformer(ctx)
    .list(dep.metadata.namespace)
    .filter((p) => Object.entries(match).every(([k, v]) => p.metadata.labels?.[k] === v))
    .reduce((sum, p) => sum + restartCount(p), 0);
}

function observe(ctx: ControllerContext, rs: KubeObject): ComponentObservation[] {
  const release = (rs.spec as RootShardSpec).release ?? {};
  const ns = rs.metadata.namespace;
  return components(ctx, rs).map((c) => {
    const dep = ctx.deployments.getByName(ns, c.deployment);
    const own = ownImage(c.kind, c.spec);
    const target = appliedRelease(familyOf(c.kind), release);
    const live = recordedRelease(dep);
    const available = deploymentAvailable(dep, undefined);
    return {
      kind: c.kind,
      name: c.name,
      phase: c.phase,
      ...(pins(own) ? { pinned: `sets its own image (${versionOf(own)}); not part of the rollout`, pinnedVersion: versionOf(own) } : {}),
      target: target.revision,
      targetVersion: versionOf(target.image),
      exists: !!dep,
      ...(live ? { live: live.revision, liveVersion: versionOf(live.image) } : dep ? { liveVersion: versionOf(own) } : {}),
      healthy: available.status === 'True',
      healthMessage: `${c.deployment}: ${available.message ?? ''}`,
      restarts: dep ? restartsOf(ctx, dep) : 0,
    };
  });
}

export interface RolloutOutcome {
  plan?: RolloutPlan;
  conditions: ConditionInput[];
}

/** One rollout step for a RootShard; records its Events and metrics. Without spec.release: nothing. */
export function stepRollout(ctx: ControllerContext, rs: KubeObject, now = new Date()): RolloutOutcome {
  const ns = rs.metadata.namespace ?? '';
  const name = rs.metadata.name ?? '';
  const release = (rs.spec as RootShardSpec).release;
  if (!release) {
    forgetRollout(ns, name);
    return { conditions: [] };
  }
  const r = release.rollout ?? {};
  const plan = planRollout(
    observe(ctx, rs),
    (rs.status as { rollout?: RolloutStatus } | undefined)?.rollout,
    {
      paused: !!r.paused,
      maxParallel: r.maxParallel ?? DEFAULT_ROLLOUT_MAX_PARALLEL,
      soakMs: (r.soakSeconds ?? DEFAULT_ROLLOUT_SOAK_SECONDS) * 1000,
      deadlineMs: (r.progressDeadlineSeconds ?? DEFAULT_ROLLOUT_PROGRESS_DEADLINE_SECONDS) * 1000,
    },
    now,
  );
  for (const e of plan.events) void ctx.events.record(rs, e.type, e.reason, e.message);
  const st = plan.status;
  stalledGauge.set({ namespace: ns, rootshard: name }, st.state === 'Stalled' ? 1 : 0);
  pausedGauge.set({ namespace: ns, rootshard: name }, release.rollout?.paused ? 1 : 0);
  for (const s of STATES) componentsGauge.set({ namespace: ns, rootshard: name, state: s }, st.components.filter((c) => c.state === s).length);
  const failed = st.components.filter((c) => c.state === 'Failed');
  const condition: ConditionInput =
    st.state === 'Complete'
      ? { type: ROLLOUT_CONDITION, status: 'True', reason: 'Complete', message: `every component runs ${st.version} or pins its own image` }
      : st.state === 'Stalled'
        ? { type: ROLLOUT_CONDITION, status: 'False', reason: 'GateFailed', message: failed.map((c) => `${componentKey(c)}: ${c.reason}: ${c.message}`).join('; ') }
        : { type: ROLLOUT_CONDITION, status: 'False', reason: st.state, message: st.summary };
  return { plan, conditions: [{ ...condition, observedGeneration: rs.metadata.generation }] };
}

export function forgetRollout(namespace: string, rootshard: string): void {
  stalledGauge.remove({ namespace, rootshard });
  pausedGauge.remove({ namespace, rootshard });
  for (const state of STATES) componentsGauge.remove({ namespace, rootshard, state });
}

/**
 * What moves a rollout on, for RootShards with spec.release: their Shards' and FrontProxies'
 * Deployments changing (availability), FrontProxies coming and going, and Pods restarting.
 */
export function watchRolloutComponents(c: Controller, ctx: ControllerContext): void {
  const releasing = (ns: string | undefined, name?: string) =>
    ctx.rootShards
      .list(ns)
      .filter((rs) => (rs.spec as RootShardSpec).release && (name === undefined || rs.metadata.name === name))
      .map(objectKey);
  const rootOf = (o: KubeObject | undefined) => (o?.spec as ShardSpec | FrontProxySpec | undefined)?.rootShard?.ref?.name;
  const frontProxies = frontProxyInformer(ctx);
  c.watchMapped(ctx.deployments, (d) => {
    const owner = d.metadata.ownerReferences?.find((r) => r.controller);
    if (owner?.kind === 'Shard') return releasing(d.metadata.namespace, rootOf(ctx.shards.getByName(d.metadata.namespace, owner.name)) ?? '');
    if (owner?.kind === 'FrontProxy') return releasing(d.metadata.namespace, rootOf(frontProxies.getByName(d.metadata.namespace, owner.name)) ?? '');
    return [];
  });
  watchMappedWhen(c, frontProxies, specOrDeletionChanged, (f) => releasing(f.metadata.namespace, rootOf(f) ?? ''));
  // Only restarts matter; readiness reaches us through the Deployment's status.
  watchMappedWhen(c, podInformer(ctx), (o, n) => restartCount(o) !== restartCount(n), (p) => releasing(p.metadata.namespace));
}

const restartCount = (p: KubeObject): number =>
  ((p.status as { containerStatuses?: Array<{ restartCount?: number }> } | undefined)?.containerStatuses ?? []).reduce((s, c) => s + (c.restartCount ?? 0), 0);

/** `Kind/name → revision` a RootShard's rollout status has told its components to run. */
export function grantsOf(rs: KubeObject | undefined): string {
  const comps = (rs?.status as { rollout?: RolloutStatus } | undefined)?.rollout?.components ?? [];
  return comps.map((c) => `${componentKey(c)}=${c.revision ?? ''}`).join(',');
}
