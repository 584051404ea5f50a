// A work queue of keys with client-go's semantics: a key waiting in the queue is stored once
// (dirty set), a key being processed is never handed to a second worker, and a key added while
// processing is queued again when the worker calls done(). Failures back off per key.
import { workqueueAdds, workqueueDelayed, workqueueDepth, workqueueQueueDuration, workqueueRetries, workqueueWorkDuration } from './metrics.js';

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Multiplicative jitter: the delay is scaled by a random factor in [1, 1 + jitter). */
  jitter: number;
}

// controller-runtime: 5 ms · 2^n capped at 1000 s.
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 5, maxMs: 1_000_000, jitter: 0.2 };

export function backoffDelay(failures: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.min(opts.maxMs, Math.round(exp * (1 + opts.jitter * random())));
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly addedAt = new Map<string, number>();
  private readonly startedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private readonly idleWaiters: Array<() => void> = [];
  private shuttingDown = false;

  constructor(
    readonly name: string,
    private readonly backoff: BackoffOptions = DEFAULT_BACKOFF,
  ) {
    // Every series exists from the start, as controller-runtime's do: a queue whose workers always
    // wait for keys never sets its depth, and an absent series reads as "unknown", not "0".
    workqueueDepth.set({ name }, 0);
    workqueueDelayed.set({ name }, 0);
    workqueueAdds.inc({ name }, 0);
    workqueueRetries.inc({ name }, 0);
  }

  get length(): number {
    return this.queue.length;
  }

  get processingCount(): number {
    return this.processing.size;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    workqueueAdds.inc({ name: this.name });
    this.dirty.add(key);
    this.addedAt.set(key, Date.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.take(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
    workqueueDepth.set({ name: this.name }, this.queue.length);
  }

  private take(key: string): void {
    this.dirty.delete(key);
    this.processing.add(key);
    const added = this.addedAt.get(key);
    if (added !== undefined) workqueueQueueDuration.observe({ name: this.name }, (Date.now() - added) / 1000);
    this.addedAt.delete(key);
    this.startedAt.set(key, Date.now());
  }

  /** Adds the key after `ms`; an earlier pending add for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      workqueueDelayed.set({ name: this.name }, this.delayed.size);
      this.add(key);
    }, ms);
    timer.unref();
    this.delayed.set(key, { at, timer });
    workqueueDelayed.set({ name: this.name }, this.delayed.size);
  }

  /**
   * Requeues after this key's next backoff delay, at most `maxMs`; returns the delay. A retry held
   * at a lower cap does not count further failures: an outage of an hour must not leave the key
   * with an hour's worth of doublings once the cause of its next error is an ordinary one.
   */
  addRateLimited(key: string, maxMs = this.backoff.maxMs): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    const delay = backoffDelay(n, { ...this.backoff, maxMs: Math.min(maxMs, this.backoff.maxMs) });
    if (maxMs >= this.backoff.maxMs || delay < maxMs) this.failures.set(key, n);
    workqueueRetries.inc({ name: this.name });
    this.addAfter(key, delay);
    return delay;
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Resets the key's backoff (after a success, or a terminal error). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Waits for the next key; undefined once the queue is shut down and empty. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) {
      workqueueDepth.set({ name: this.name }, this.queue.length);
      this.take(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    const started = this.startedAt.get(key);
    if (started !== undefined) workqueueWorkDuration.observe({ name: this.name }, (Date.now() - started) / 1000);
    this.startedAt.delete(key);
    if (this.dirty.has(key)) this.push(key);
    if (this.processing.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Stops accepting keys. With drain, resolves once in-flight keys are done; queued keys that no
   * worker has taken are dropped (they will be re-listed by the next process).
   */
  async shutdown(drain = true): Promise<void> {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    workqueueDelayed.set({ name: this.name }, 0);
    this.queue.length = 0;
    this.dirty.clear();
    workqueueDepth.set({ name: this.name }, 0);
    for (const w of this.waiters.splice(0)) w(undefined);
    if (drain && this.processing.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}
