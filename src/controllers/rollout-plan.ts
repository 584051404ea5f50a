// The gradual rollout of a RootShard's spec.release as one pure step: from what every component
// runs and how healthy it is, and from the previous status (the only memory: which component was
// told to update when), decide who may update now and what status to show. Order: the root shard,
// then Shards (maxParallel at a time), then front-proxies (the same); each waits until everything
// before it is Updated (Available, then soakSeconds without a restart). A failed gate stops
// everything after it until a person pauses and resumes, or changes the release (a rollback rolls
// in the same order). Without a previous status, what the Deployments record is the truth, so a
// lost status never skips a step.
import type {
  RolloutComponentKind,
  RolloutComponentStatus,
  RolloutState,
  RolloutStatus,
} from '../api/release.js';

export interface ComponentObservation {
  kind: RolloutComponentKind;
  name: string;
  /** 0: root shard, 1: Shards, 2: front-proxies. */
  phase: 0 | 1 | 2;
  /** Why it is left alone (it sets its own image); undefined: it follows the release. */
  pinned?: string;
  /** The version it runs when pinned (its own image tag). */
  pinnedVersion?: string;
  /** The revision and version of the release for its kind. */
  target: string;
  targetVersion: string;
  /** Whether its Deployment exists, and the release revision/version it records (undefined: none). */
  exists: boolean;
  live?: string;
  liveVersion?: string;
  /** Its Deployment rolled out (observed, every replica updated and available) at the live revision. */
  healthy: boolean;
  /** Why not, for people. */
  healthMessage: string;
  /** Container restarts of its current Pods. */
  restarts: number;
}

export interface RolloutSettings {
  paused: boolean;
  maxParallel: number;
  soakMs: number;
  deadlineMs: number;
}

export interface RolloutEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface RolloutPlan {
  status: RolloutStatus;
  /** `Kind/name` → the revision it is told to run. Components absent here render what their Deployment records. */
  granted: Map<string, string>;
  events: RolloutEvent[];
  /** When the plan must be looked at again without any watch event (a soak or a deadline ends). */
  requeueAfterMs?: number;
}

/** The reason on a component created at the target (not rolled). */
const NEW = 'Created';

export const componentKey = (c: { kind: string; name: string }): string => `${c.kind}/${c.name}`;

export function planRollout(
  observed: readonly ComponentObservation[],
  previous: RolloutStatus | undefined,
  settings: RolloutSettings,
  now: Date,
): RolloutPlan {
  const t = now.getTime();
  const iso = now.toISOString();
  const prev = new Map((previous?.components ?? []).map((c) => [componentKey(c), c]));
  const resumed = previous?.state === 'Paused' && !settings.paused;
  const events: RolloutEvent[] = [];
  const waits: number[] = [];
  const widthOf = (phase: number) => (phase === 0 ? 1 : settings.maxParallel);
  const order = [...observed].sort((a, b) => a.phase - b.phase || a.name.localeCompare(b.name) || a.kind.localeCompare(b.kind));

  const comps: Array<RolloutComponentStatus & { phase: number; obs: ComponentObservation }> = order.map((o) => {
    const base = { kind: o.kind, name: o.name, phase: o.phase, obs: o };
    if (o.pinned) return { ...base, state: 'Pinned' as const, version: o.pinnedVersion, message: o.pinned };
    const p = prev.get(componentKey(o));
    // What it was told to run: the status says, else its Deployment, else (a new component) the target.
    const granted = p?.revision ?? (o.exists ? o.live : o.target);
    if (granted !== o.target) return { ...base, state: 'Pending' as const, version: o.liveVersion, revision: granted };
    return { ...base, ...judge(o, p?.revision === o.target ? p : undefined, !p && !o.exists) };
  });

  /** Where a component told to run the target stands; `p` is its previous entry for the same target. */
  function judge(o: ComponentObservation, p: RolloutComponentStatus | undefined, created: boolean): Omit<RolloutComponentStatus, 'kind' | 'name'> {
    const at = { revision: o.target, version: o.targetVersion };
    const since = (s: string | undefined) => (s && !Number.isNaN(Date.parse(s)) ? s : iso);
    // A component created at the target is not part of a rollout: no deadline, no soak.
    const isNew = created || p?.reason === NEW;
    if (p?.state === 'Failed') {
      // Pausing clears a failed gate; resuming then judges it afresh.
      if (!settings.paused) return { ...at, state: 'Failed', since: p.since, reason: p.reason, message: p.message };
      p = { kind: p.kind, name: p.name, state: 'Updating', since: iso };
    }
    // Passed its gate: what becomes of it later is its own Available condition (and alert), not
    // this rollout's; it is not judged again for the same target.
    if (p?.state === 'Updated') return { ...at, state: 'Updated' };
    // Restarts count from the first time it was healthy at the target, through readiness blips.
    const baseline = p?.restarts;
    if (baseline !== undefined && o.restarts > baseline && !settings.paused) {
      const message = `${o.restarts - baseline} container restart(s) before it completed its ${Math.round(settings.soakMs / 1000)}s soak`;
      return { ...at, state: 'Failed', since: iso, reason: 'RestartedDuringSoak', message };
    }
    const keep = baseline !== undefined ? { restarts: baseline } : {};
    if (!o.healthy || o.live !== o.target) {
      if (isNew) return { ...at, state: 'Updating', since: since(p?.since), reason: NEW, message: o.healthMessage };
      // The deadline runs from the grant; again from a resume or from losing availability mid-soak.
      const start = !p || resumed || p.state === 'Soaking' ? iso : since(p.since);
      if (!settings.paused && t - Date.parse(start) >= settings.deadlineMs) {
        const message = `not Available within ${Math.round(settings.deadlineMs / 1000)}s: ${o.healthMessage}`;
        return { ...at, state: 'Failed', since: iso, reason: 'ProgressDeadlineExceeded', message };
      }
      if (!settings.paused) waits.push(Date.parse(start) + settings.deadlineMs - t);
      return { ...at, state: 'Updating', since: start, ...keep, message: o.healthMessage };
    }
    // Available at the target. Already judged, never moved (it ran the target all along), found so
    // without a status, or new: nothing to soak.
    if (isNew || !p || p.state === 'Pending' || settings.soakMs <= 0) return { ...at, state: 'Updated' };
    const soakStart = p.state === 'Soaking' ? since(p.since) : iso;
    const left = Date.parse(soakStart) + settings.soakMs - t;
    if (left <= 0) return { ...at, state: 'Updated' };
    waits.push(left);
    return { ...at, state: 'Soaking', since: soakStart, restarts: baseline ?? o.restarts };
  }

  for (const c of comps) {
    const p = prev.get(componentKey(c));
    if (c.state === 'Failed' && p?.state !== 'Failed') {
      events.push({ type: 'Warning', reason: 'RolloutStalled', message: `${componentKey(c)} failed its gate (${c.reason}): ${c.message}; nothing further is updated` });
    }
  }

  const failed = comps.filter((c) => c.state === 'Failed');
  if (!settings.paused && failed.length === 0) {
    for (const phase of [0, 1, 2]) {
      const members = comps.filter((c) => c.phase === phase && c.state !== 'Pinned');
      if (members.every((c) => c.state === 'Updated')) continue;
      let room = widthOf(phase) - members.filter((c) => c.state === 'Updating' || c.state === 'Soaking').length;
      for (const c of members) {
        if (c.state !== 'Pending' || room <= 0) continue;
        room--;
        Object.assign(c, { state: 'Updating', revision: c.obs.target, version: c.obs.targetVersion, since: iso, message: 'told to update' });
        events.push({ type: 'Normal', reason: 'RolloutStep', message: `updating ${componentKey(c)} to ${c.obs.targetVersion} (revision ${c.obs.target})` });
        waits.push(settings.deadlineMs);
      }
      break;
    }
  }
  // What moves next: the first waiting components of the earliest phase that has any.
  const pending = comps.filter((c) => c.state === 'Pending');
  const nextPhase = pending[0]?.phase;
  const next = pending.filter((c) => c.phase === nextPhase).slice(0, nextPhase === undefined ? 0 : widthOf(nextPhase)).map(componentKey);

  const total = comps.length;
  const updated = comps.filter((c) => c.state === 'Updated' || c.state === 'Pinned').length;
  const state: RolloutState = failed.length ? 'Stalled' : updated === total ? 'Complete' : settings.paused ? 'Paused' : 'Progressing';
  const shardTarget = observed.find((o) => o.phase === 0 || o.phase === 1) ?? observed[0];
  const version = shardTarget?.targetVersion ?? '';
  const inFlight = comps.filter((c) => c.state === 'Updating' || c.state === 'Soaking').map(componentKey);
  const summary =
    state === 'Complete'
      ? `Complete ${version}`
      : state === 'Stalled'
        ? `Stalled ${updated}/${total} ${version}: ${failed.map(componentKey).join(', ')} failed`
        : `${state} ${updated}/${total} ${version}${inFlight.length ? `: ${inFlight.join(', ')}` : next.length ? `: next ${next[0]}` : ''}`;
  if (previous && previous.revision !== (shardTarget?.target ?? '') && state !== 'Complete') {
    events.push({ type: 'Normal', reason: 'RolloutStarted', message: `rolling out ${version} (revision ${shardTarget?.target ?? ''})` });
  }
  if (state === 'Complete' && previous && previous.state !== 'Complete') {
    events.push({ type: 'Normal', reason: 'RolloutComplete', message: `every component runs ${version}` });
  }
  const status: RolloutStatus = {
    state,
    version,
    revision: shardTarget?.target ?? '',
    updated,
    total,
    ...(next.length ? { next } : {}),
    summary,
    components: comps.map(({ phase: _phase, obs: _obs, ...c }) => c),
  };
  const granted = new Map(comps.filter((c) => c.revision !== undefined && c.state !== 'Pinned').map((c) => [componentKey(c), c.revision ?? '']));
  const positive = waits.filter((w) => w > 0);
  return { status, granted, events, ...(positive.length ? { requeueAfterMs: Math.min(...positive) + 100 } : {}) };
}
