import { describe, expect, it, vi } from 'vitest';
import { workqueueAdds, workqueueDelayed, workqueueDepth, workqueueRetries } from './metrics.js';
import { WorkQueue, backoffDelay } from './queue.js';

describe('WorkQueue', () => {
  it('stores a waiting key once', async () => {
    const q = new WorkQueue('t-dedup');
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands a key being processed to a second worker, and requeues it after done', async () => {
    const q = new WorkQueue('t-processing');
    q.add('a');
    const first = await q.get();
    q.add('a'); // re-added while processing: must wait
    expect(q.length).toBe(0);
    let second: string | undefined;
    const pending = q.get().then((k) => (second = k));
    await new Promise((r) => setTimeout(r, 10));
    expect(second).toBeUndefined();
    q.done(first!);
    await pending;
    expect(second).toBe('a');
  });

  it('addAfter keeps the earliest pending time', async () => {
    // On a fake clock, so the assertion is about the schedule, not about how busy the machine is.
    vi.useFakeTimers();
    try {
      const q = new WorkQueue('t-after');
      q.addAfter('a', 1000);
      q.addAfter('a', 20); // earlier: replaces the pending add
      q.addAfter('b', 20);
      q.addAfter('b', 1000); // later: the pending add stays
      vi.advanceTimersByTime(19);
      expect(q.length).toBe(0);
      vi.advanceTimersByTime(1);
      expect(q.length).toBe(2);
      expect([await q.get(), await q.get()]).toEqual(['a', 'b']);
      q.done('a');
      q.done('b');
      vi.advanceTimersByTime(2000); // the superseded adds were dropped, not merely outrun
      expect(q.length).toBe(0);
      void q.shutdown(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts its pending delayed adds (the timers it holds) in kcp_operator_workqueue_delayed_items', async () => {
    vi.useFakeTimers();
    const delayed = async () => (await workqueueDelayed.get()).values.find((v) => v.labels.name === 't-delayed')?.value;
    try {
      const q = new WorkQueue('t-delayed');
      q.addAfter('a', 1000);
      q.addAfter('a', 20); // replaces the pending add: still one timer
      q.addAfter('b', 1000);
      expect(await delayed()).toBe(2);
      vi.advanceTimersByTime(20);
      expect(await delayed()).toBe(1);
      await q.shutdown(false);
      expect(await delayed()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('has every series from the start, 0 until something happens (a worker that always waits never sets the depth)', async () => {
    const q = new WorkQueue('t-fresh');
    const value = async (g: { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }> }) =>
      (await g.get()).values.find((v) => v.labels.name === 't-fresh')?.value;
    const next = q.get();
    q.add('a');
    expect(await next).toBe('a');
    q.done('a');
    expect(await value(workqueueDepth)).toBe(0);
    expect(await value(workqueueDelayed)).toBe(0);
    expect(await value(workqueueRetries)).toBe(0);
    expect(await value(workqueueAdds)).toBe(1);
  });

  it('backs off exponentially per key and forget resets it', () => {
    const q = new WorkQueue('t-backoff', { baseMs: 10, maxMs: 1000, jitter: 0 });
    expect([q.addRateLimited('a'), q.addRateLimited('a'), q.addRateLimited('a')]).toEqual([10, 20, 40]);
    expect(q.addRateLimited('b')).toBe(10);
    q.forget('a');
    expect(q.addRateLimited('a')).toBe(10);
    void q.shutdown(false);
  });

  it('holds a capped retry at its cap without growing the failure count past it', () => {
    const q = new WorkQueue('t-capped', { baseMs: 10, maxMs: 100_000, jitter: 0 });
    // An outage: every retry fails with the server away, capped at 50 ms however long it lasts.
    const during = Array.from({ length: 20 }, () => q.addRateLimited('a', 50));
    expect(during.slice(0, 4)).toEqual([10, 20, 40, 50]);
    expect(Math.max(...during)).toBe(50);
    // The next, ordinary error backs off from the cap, not from twenty doublings (10 · 2¹⁹ ms).
    expect(q.addRateLimited('a')).toBe(80);
    void q.shutdown(false);
  });

  it('caps the backoff and applies jitter within bounds', () => {
    const opts = { baseMs: 5, maxMs: 1_000_000, jitter: 0.2 };
    expect(backoffDelay(40, opts, () => 0.99)).toBe(1_000_000);
    const d = backoffDelay(3, opts, () => 0.5);
    expect(d).toBe(22); // 5 · 2² · 1.1
  });

  it('shutdown wakes idle workers and drains in-flight keys', async () => {
    const q = new WorkQueue('t-shutdown');
    q.add('a');
    const key = await q.get();
    const idle = q.get();
    let drained = false;
    const done = q.shutdown(true).then(() => (drained = true));
    expect(await idle).toBeUndefined();
    await new Promise((r) => setTimeout(r, 10));
    expect(drained).toBe(false);
    q.done(key!);
    await done;
    expect(drained).toBe(true);
    q.add('late');
    expect(q.length).toBe(0);
  });
});
