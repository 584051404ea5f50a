// The kubelet's restart policy Always, for the pod runner: a container that exits is started again
// after a back-off that starts at 10 s, doubles with each restart up to 5 min, and starts over once
// the container has run 10 min (CrashLoopBackOff).

export interface RestartBackoff {
  /** The wait before the first restart; default 10 s. Tests shorten it. */
  initialMs?: number;
  /** The longest wait; default 5 min. */
  maxMs?: number;
  /** A container that ran at least this long before it exited starts over at initialMs; default 10 min. */
  resetAfterMs?: number;
}

export const KUBELET_BACKOFF: Required<RestartBackoff> = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

export class Backoff {
  private readonly o: Required<RestartBackoff>;
  private current = 0;

  constructor(opts: RestartBackoff = {}) {
    this.o = { ...KUBELET_BACKOFF, ...opts };
  }

  /** The wait before the next restart of a container that ran `ranMs` before it exited. */
  next(ranMs: number): number {
    if (ranMs >= this.o.resetAfterMs) this.current = 0;
    this.current = this.current === 0 ? this.o.initialMs : Math.min(this.current * 2, this.o.maxMs);
    return this.current;
  }
}

/** How a container run ended, as a Pod's `lastState.terminated`. */
export interface Termination {
  /** The process's exit code; a container killed by signal N shows 128+N, as with a container runtime. */
  exitCode: number | null;
  /** Set only when the runner's own child died of a signal (no exit code to report). */
  signal?: string;
  startedAt: string;
  finishedAt: string;
}

export function describeExit(t: Pick<Termination, 'exitCode' | 'signal'>): string {
  return t.signal ? `was killed by ${t.signal}` : `exited with code ${t.exitCode ?? '?'}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 100) / 10;
  return s < 120 ? `${s}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}
