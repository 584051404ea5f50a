import { describe, expect, it } from 'vitest';
import type { RolloutStatus } from '../api/release.js';
import { componentKey, planRollout, type ComponentObservation, type RolloutPlan, type RolloutSettings } from './rollout-plan.js';

// A small world in place of the controllers and the cluster: every component renders what the plan
// grants it (live := granted) at once, and is healthy unless the test says otherwise.
class World {
  comps: ComponentObservation[];
  status: RolloutStatus | undefined;
  now = Date.parse('2026-12-01T00:00:00Z');
  unhealthy = new Set<string>();
  last!: RolloutPlan;
  /** The order in which components were first told to run each revision. */
  moves: string[] = [];

  constructor(
    public settings: RolloutSettings,
    shards = ['a', 'b'],
    frontProxies = ['fp'],
    at = 'r1',
  ) {
    const c = (kind: ComponentObservation['kind'], name: string, phase: 0 | 1 | 2): ComponentObservation => ({
      kind, name, phase, target: at, targetVersion: at, exists: true, live: at, liveVersion: at, healthy: true, healthMessage: 'ok', restarts: 0,
    });
    this.comps = [c('RootShard', 'root', 0), ...shards.map((s) => c('Shard', s, 1)), ...frontProxies.map((f) => c('FrontProxy', f, 2)), c('RootShardProxy', 'root-proxy', 2)];
  }

  get(key: string): ComponentObservation {
    const c = this.comps.find((x) => componentKey(x) === key);
    if (!c) throw new Error(key);
    return c;
  }

  target(rev: string): void {
    for (const c of this.comps) Object.assign(c, { target: rev, targetVersion: rev });
  }

  step(advanceMs = 0): RolloutPlan {
    this.now += advanceMs;
    for (const c of this.comps) c.healthy = !this.unhealthy.has(componentKey(c));
    this.last = planRollout(this.comps, this.status, this.settings, new Date(this.now));
    this.status = this.last.status;
    for (const [key, rev] of this.last.granted) {
      const c = this.get(key);
      if (c.live !== rev) {
        this.moves.push(`${key}@${rev}`);
        Object.assign(c, { live: rev, liveVersion: rev });
      }
    }
    return this.last;
  }

  /** One component's gate with every component healthy: seen Available (its soak begins), then the soak passes. */
  pass(): RolloutPlan {
    this.step(1_000);
    return this.step(this.settings.soakMs);
  }

  /** Steps a soak (or deadline) at a time until nothing moves any more. */
  settle(stepMs: number, max = 50): RolloutPlan {
    let prev = '';
    for (let i = 0; i < max; i++) {
      const p = this.step(stepMs);
      const cur = JSON.stringify(p.status);
      if (cur === prev) return p;
      prev = cur;
    }
    return this.last;
  }

  state(key: string): string | undefined {
    return this.status?.components.find((c) => componentKey(c) === key)?.state;
  }
}

const SETTINGS: RolloutSettings = { paused: false, maxParallel: 1, soakMs: 60_000, deadlineMs: 600_000 };

describe('planRollout', () => {
  it('at rest: Complete, nothing granted anew, no Events, no requeue, and the same status twice (zero writes)', () => {
    const w = new World(SETTINGS);
    const a = w.step();
    expect(a.status.state).toBe('Complete');
    expect(a.status.summary).toBe('Complete r1');
    expect(a.events).toEqual([]);
    expect(a.requeueAfterMs).toBeUndefined();
    const b = w.step(3_600_000);
    expect(b.status).toEqual(a.status);
    expect(b.events).toEqual([]);
    expect(w.moves).toEqual([]);
  });

  it('rolls the root shard first, then Shards one at a time, then the front-proxies, each after its soak', () => {
    const w = new World(SETTINGS);
    w.step();
    w.target('r2');
    const first = w.step();
    expect(w.moves).toEqual(['RootShard/root@r2']);
    expect(first.status.state).toBe('Progressing');
    expect(first.status.next).toEqual(['Shard/a']);
    expect(first.events.map((e) => e.reason)).toEqual(['RolloutStep', 'RolloutStarted']);
    expect(w.state('Shard/a')).toBe('Pending');
    // Healthy at once, but soaking: nothing else moves before the soak ends.
    w.step(1000);
    expect(w.state('RootShard/root')).toBe('Soaking');
    expect(w.moves).toHaveLength(1);
    w.step(59_000);
    expect(w.moves).toHaveLength(1);
    w.step(1_000);
    expect(w.moves).toEqual(['RootShard/root@r2', 'Shard/a@r2']);
    const done = w.settle(61_000);
    expect(w.moves).toEqual(['RootShard/root@r2', 'Shard/a@r2', 'Shard/b@r2', 'FrontProxy/fp@r2', 'RootShardProxy/root-proxy@r2']);
    expect(done.status.state).toBe('Complete');
    expect(done.events.map((e) => e.reason)).toEqual([]);
  });

  it('moves maxParallel Shards at once, and the front-proxies only once all Shards passed', () => {
    const w = new World({ ...SETTINGS, maxParallel: 2 }, ['a', 'b', 'c']);
    w.step();
    w.target('r2');
    w.step();
    w.pass(); // root soaked: a and b together
    expect(w.moves).toEqual(['RootShard/root@r2', 'Shard/a@r2', 'Shard/b@r2']);
    w.unhealthy.add('Shard/b');
    w.pass(); // a passed, b still unavailable: c takes a's place, the front-proxies wait
    expect(w.moves).toEqual(['RootShard/root@r2', 'Shard/a@r2', 'Shard/b@r2', 'Shard/c@r2']);
    w.unhealthy.delete('Shard/b');
    w.settle(61_000);
    expect(w.moves.slice(4)).toEqual(['FrontProxy/fp@r2', 'RootShardProxy/root-proxy@r2']);
  });

  it('a shard that misses its deadline stops the rollout: nothing further is touched, a Warning names it', () => {
    const w = new World(SETTINGS);
    w.step();
    w.target('r2');
    w.unhealthy.add('Shard/b');
    w.step();
    w.pass();
    w.pass(); // a Updated, b told to move
    expect(w.moves).toEqual(['RootShard/root@r2', 'Shard/a@r2', 'Shard/b@r2']);
    const stalled = w.step(600_000);
    expect(stalled.status.state).toBe('Stalled');
    expect(w.state('Shard/b')).toBe('Failed');
    const b = stalled.status.components.find((c) => c.name === 'b');
    expect(b?.reason).toBe('ProgressDeadlineExceeded');
    expect(stalled.status.summary).toContain('Shard/b failed');
    expect(stalled.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'RolloutStalled', message: expect.stringContaining('Shard/b') })]);
    // Even once b recovers, a failed gate holds until a person acts.
    w.unhealthy.delete('Shard/b');
    w.settle(61_000);
    expect(w.state('Shard/b')).toBe('Failed');
    expect(w.moves).toEqual(['RootShard/root@r2', 'Shard/a@r2', 'Shard/b@r2']);
    expect(w.get('FrontProxy/fp').live).toBe('r1');
  });

  it('a component that passed its gate stays Updated when it later turns unavailable or restarts', () => {
    const w = new World(SETTINGS);
    w.step();
    w.target('r2');
    w.step();
    w.pass(); // root Updated, a told to move
    w.unhealthy.add('RootShard/root');
    w.get('RootShard/root').restarts = 3;
    w.step(1_000);
    w.step(600_000);
    expect(w.state('RootShard/root')).toBe('Updated');
    expect(w.status?.state).not.toBe('Stalled');
  });

  it('a container restart before the soak ends fails the gate', () => {
    const w = new World(SETTINGS);
    w.step();
    w.target('r2');
    w.step();
    w.step(1_000);
    expect(w.state('RootShard/root')).toBe('Soaking');
    w.get('RootShard/root').restarts = 1;
    const p = w.step(1_000);
    expect(w.state('RootShard/root')).toBe('Failed');
    expect(p.status.components[0]?.reason).toBe('RestartedDuringSoak');
    w.settle(61_000);
    expect(w.moves).toEqual(['RootShard/root@r2']);
  });

  it('a readiness blip during the soak starts the soak again; restarts still count from the first soak', () => {
    const w = new World(SETTINGS);
    w.step();
    w.target('r2');
    w.step();
    w.step(1_000);
    w.unhealthy.add('RootShard/root');
    w.step(30_000);
    expect(w.state('RootShard/root')).toBe('Updating');
    w.unhealthy.delete('RootShard/root');
    w.step(1_000);
    expect(w.state('RootShard/root')).toBe('Soaking');
    w.get('RootShard/root').restarts = 2;
    w.step(1_000);
    expect(w.state('RootShard/root')).toBe('Failed');
  });

  it('paused: nothing new is told to move; pausing clears a failed gate and resuming judges it afresh', () => {
    const w = new World(SETTINGS);
    w.step();
    w.settings = { ...SETTINGS, paused: true };
    w.target('r2');
    const paused = w.settle(61_000);
    expect(paused.status.state).toBe('Paused');
    expect(w.moves).toEqual([]);
    w.settings = SETTINGS;
    w.unhealthy.add('RootShard/root');
    w.step();
    w.step(600_000);
    expect(w.state('RootShard/root')).toBe('Failed');
    // Pause (to fix the cause), fix it, resume: the rollout goes on.
    w.settings = { ...SETTINGS, paused: true };
    w.step(1_000);
    expect(w.state('RootShard/root')).toBe('Updating');
    w.unhealthy.delete('RootShard/root');
    w.settle(61_000);
    expect(w.state('RootShard/root')).toBe('Updated');
    expect(w.moves).toEqual(['RootShard/root@r2']);
    w.settings = SETTINGS;
    expect(w.settle(61_000).status.state).toBe('Complete');
    expect(w.moves).toEqual(['RootShard/root@r2', 'Shard/a@r2', 'Shard/b@r2', 'FrontProxy/fp@r2', 'RootShardProxy/root-proxy@r2']);
  });

  it('resuming gives a component told to move before the pause a full deadline again', () => {
    const w = new World(SETTINGS);
    w.step();
    w.target('r2');
    w.unhealthy.add('RootShard/root');
    w.step();
    w.settings = { ...SETTINGS, paused: true };
    w.step(599_000);
    w.step(3_600_000);
    expect(w.state('RootShard/root')).toBe('Updating');
    w.settings = SETTINGS;
    w.step(1_000);
    expect(w.state('RootShard/root')).toBe('Updating');
    w.step(599_000);
    expect(w.state('RootShard/root')).toBe('Updating');
    w.step(1_000);
    expect(w.state('RootShard/root')).toBe('Failed');
  });

  it('a rollback mid-rollout moves back in the same order; components that never moved are not soaked again', () => {
    const w = new World(SETTINGS);
    w.step();
    w.target('r2');
    w.step();
    w.pass();
    w.pass(); // root and a at r2, b told to move
    expect(w.moves).toEqual(['RootShard/root@r2', 'Shard/a@r2', 'Shard/b@r2']);
    w.target('r1');
    const back = w.step(1_000);
    expect(w.moves.slice(3)).toEqual(['RootShard/root@r1']);
    expect(w.state('FrontProxy/fp')).toBe('Updated');
    expect(back.status.next).toEqual(['Shard/a']);
    w.settle(61_000);
    expect(w.moves.slice(3)).toEqual(['RootShard/root@r1', 'Shard/a@r1', 'Shard/b@r1']);
    expect(w.status?.state).toBe('Complete');
  });

  it('a component that sets its own image is Pinned, reported, skipped and counted as done', () => {
    const w = new World(SETTINGS);
    Object.assign(w.get('Shard/a'), { pinned: 'sets its own image (v0.31.0)', pinnedVersion: 'v0.31.0' });
    w.step();
    w.target('r2');
    w.step();
    const done = w.settle(61_000);
    expect(w.moves).toEqual(['RootShard/root@r2', 'Shard/b@r2', 'FrontProxy/fp@r2', 'RootShardProxy/root-proxy@r2']);
    expect(done.status.components.find((c) => c.name === 'a')).toMatchObject({ state: 'Pinned', version: 'v0.31.0', message: expect.stringContaining('own image') });
    expect(done.status).toMatchObject({ state: 'Complete', updated: 5, total: 5 });
  });

  it('a component created during a rollout starts at the target, without deadline or soak', () => {
    const w = new World(SETTINGS);
    w.step();
    w.comps.push({ kind: 'Shard', name: 'c', phase: 1, target: 'r1', targetVersion: 'r1', exists: false, healthy: false, healthMessage: 'no Deployment', restarts: 0 });
    w.unhealthy.add('Shard/c');
    const p = w.step(1_000);
    expect(p.granted.get('Shard/c')).toBe('r1');
    w.step(3_600_000);
    expect(w.state('Shard/c')).toBe('Updating');
    expect(w.status?.state).toBe('Progressing');
    w.unhealthy.delete('Shard/c');
    w.get('Shard/c').exists = true;
    expect(w.step(1_000).status.state).toBe('Complete');
  });

  it('without a status (lost, or restored from a backup) the Deployments\' records decide: no step is skipped', () => {
    const w = new World(SETTINGS);
    w.step();
    w.target('r2');
    w.step();
    w.pass(); // root Updated, a told to move
    w.status = undefined;
    Object.assign(w.get('Shard/a'), { live: 'r1' }); // a's controller had not re-rendered yet
    const p = w.step(1_000);
    expect(w.state('RootShard/root')).toBe('Updated');
    expect(w.moves.slice(2)).toEqual(['Shard/a@r2']);
    expect(p.status.components.filter((c) => c.state === 'Pending').map((c) => c.name)).toEqual(['b', 'fp', 'root-proxy']);
  });
});
