// Pod rollouts as a user of `kubectl get pods -w` would see them, from the pod runner's podsOf():
// a rollout begins when a Pod of a new pod-template hash appears (the second-to-last part of a
// Pod's name, `<deployment>-<hash>-<i>`) and is done once the Deployment runs only Pods of that
// hash, as many as it wants, all ready; a newer hash before that supersedes it. Sampled every
// 250 ms, with the windows in which a Deployment had fewer ready Pods than it wants and a timeline
// of every change for the report.
import type { PodInfo } from '../../local/pods/runner.js';
import type { LocalStack } from '../../local/stack.js';

export interface Rollout {
  deployment: string;
  from: string;
  to: string;
  /** When the first Pod of the new hash was seen. */
  at: number;
  /** When the Deployment first ran only ready Pods of the new hash (undefined: not yet, or superseded). */
  readyAt: number | undefined;
  /** A newer hash appeared before this one was done. */
  superseded: boolean;
}

export interface Window {
  deployment: string;
  from: number;
  /** undefined: still open. */
  to: number | undefined;
}

const hashOf = (p: PodInfo): string => p.name.split('-').slice(-2, -1)[0] ?? '';

export class RolloutWatch {
  readonly rollouts: Rollout[] = [];
  /** Fewer ready Pods than the Deployment wants. */
  readonly degraded: Window[] = [];
  /** Container restarts within a Pod (CrashLoopBackOff and the like), by Pod name. */
  readonly restarts = new Map<string, number>();
  /** Every change of a Deployment's Pods: [ms, deployment, `<pod>:<ready|->` ...]. */
  readonly timeline: Array<[number, string, string]> = [];
  private readonly last = new Map<string, string>();
  private readonly seen = new Map<string, Set<string>>();
  private readonly newest = new Map<string, string>();
  private readonly open = new Map<string, Window>();
  private readonly done = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stack: LocalStack,
    /** Deployment name → replicas it wants. */
    private readonly wants: Record<string, number>,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), 250);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  /** Rollouts of one Deployment (or all) that began at or after `since`. */
  rolloutsSince(since: number, deployment?: string): Rollout[] {
    return this.rollouts.filter((r) => r.at >= since && (deployment === undefined || r.deployment === deployment));
  }

  /** Every Deployment runs only ready Pods of its newest hash, as many as it wants. */
  settled(): boolean {
    return Object.keys(this.wants).every((d) => this.done.has(d));
  }

  private sample(): void {
    const now = Date.now();
    for (const [d, want] of Object.entries(this.wants)) {
      const pods = this.stack.runner.podsOf(d);
      const view = pods.map((p) => `${p.name}:${p.ready ? 'ready' : '-'}${p.restartCount ? `(restarts ${p.restartCount})` : ''}`).join(' ');
      if (this.last.get(d) !== view) {
        this.last.set(d, view);
        this.timeline.push([now, d, view || '(none)']);
      }
      for (const p of pods) if (p.restartCount > 0) this.restarts.set(p.name, p.restartCount);

      const seen = this.seen.get(d) ?? new Set<string>();
      this.seen.set(d, seen);
      for (const h of pods.map(hashOf)) {
        if (seen.has(h)) continue;
        seen.add(h);
        const prev = this.newest.get(d);
        this.newest.set(d, h);
        this.done.delete(d);
        if (prev === undefined) continue; // what ran when the watch began
        for (const r of this.rollouts) if (r.deployment === d && r.readyAt === undefined) r.superseded = true;
        this.rollouts.push({ deployment: d, from: prev, to: h, at: now, readyAt: undefined, superseded: false });
      }
      const newest = this.newest.get(d);
      const onNewest = newest !== undefined && pods.length === want && pods.every((p) => hashOf(p) === newest && p.ready);
      if (onNewest && !this.done.has(d)) {
        this.done.add(d);
        for (const r of this.rollouts) if (r.deployment === d && r.to === newest && r.readyAt === undefined) r.readyAt = now;
      }

      const ready = pods.filter((p) => p.ready).length;
      const w = this.open.get(d);
      if (ready < want && w === undefined) {
        const nw: Window = { deployment: d, from: now, to: undefined };
        this.open.set(d, nw);
        this.degraded.push(nw);
      } else if (ready >= want && w !== undefined) {
        w.to = now;
        this.open.delete(d);
      }
    }
  }
}
