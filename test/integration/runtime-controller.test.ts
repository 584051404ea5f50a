// Work-queue semantics end to end: informer events → keys → reconciles, on a real API server.
// Nothing here depends on how fast the machine is: the assertions are about order, about what was
// observed in the same run (events, reconciles, scheduled delays), or about eventual states.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { Controller } from '../../src/kube/controller.js';
import { Informer } from '../../src/kube/informer.js';
import { objectKey, type KubeObject } from '../../src/kube/object.js';
import { ConfigMaps } from '../../src/kube/resources.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';

const valueOf = (o: KubeObject | undefined): number => Number((o?.data as Record<string, string> | undefined)?.n ?? -1);

/** Patches `name` with n = 1…updates from 16 concurrent writers; returns the value that landed last. */
async function burst(client: KubeClient, ns: string, name: string, updates: number): Promise<{ final: number; finalRV: string }> {
  let next = 1;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next <= updates) {
        const n = next++;
        await client.patch(ConfigMaps, ns, name, { data: { n: String(n) } }, 'merge');
      }
    }),
  );
  // Parallel writers finish out of order; the final value is whichever landed last.
  const live = await client.get(ConfigMaps, ns, name);
  return { final: valueOf(live), finalRV: live.metadata.resourceVersion ?? '' };
}

describe('controller loop', () => {
  let client: KubeClient;
  beforeAll(async () => {
    client = await sharedClient('controller-test');
  });
  afterAll(() => client?.close());

  it('coalesces 1,000 rapid updates and never reconciles one key twice at once', async () => {
    const RECONCILE_MS = 50;
    const ns = await createNamespace(client, 'burst');
    const key = `${ns}/hot`;
    const inf = new Informer(client, ConfigMaps, { namespace: ns });

    // Every reconcile, with the events for the key that arrived while it ran. Informer handlers
    // run synchronously, one after the other, for each event: the event counted here and the
    // controller's enqueue of it happen with no reconcile starting or ending in between.
    type Run = { eventsDuring: number; seen: number };
    const runs: Run[] = [];
    let current: Run | undefined;
    let events = 0;
    let idleEvents = 0; // arrived while no reconcile of the key was running
    const count = (o: KubeObject) => {
      if (objectKey(o) !== key) return;
      events++;
      if (current) current.eventsDuring++;
      else idleEvents++;
    };
    inf.on({ add: count, update: (_o, n) => count(n), delete: count });

    const inFlight = new Map<string, number>();
    let maxInFlight = 0;
    const ctrl = new Controller(
      'burst',
      async (req) => {
        const n = (inFlight.get(req.key) ?? 0) + 1;
        inFlight.set(req.key, n);
        maxInFlight = Math.max(maxInFlight, n);
        const run: Run = { eventsDuring: 0, seen: -1 };
        if (req.key === key) current = run;
        try {
          await new Promise((r) => setTimeout(r, RECONCILE_MS));
          run.seen = valueOf(inf.get(req.key));
        } finally {
          if (req.key === key) {
            current = undefined;
            runs.push(run);
          }
          inFlight.set(req.key, (inFlight.get(req.key) ?? 1) - 1);
        }
      },
      { concurrency: 4 },
    ).watchFor(inf);
    inf.start();
    await inf.waitForSync();
    ctrl.start();
    try {
      await client.create(ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hot', namespace: ns }, data: { n: '0' } });
      const started = Date.now();
      const { final, finalRV } = await burst(client, ns, 'hot', 1000);
      // Done: the informer holds the last write (so every event has been enqueued) and the queue
      // has nothing left, in it or in flight.
      await eventually('every update delivered and reconciled', () =>
        inf.get(key)?.metadata.resourceVersion === finalRV && ctrl.queue.length === 0 && ctrl.queue.processingCount === 0,
      );
      const reconciles = ctrl.reconciles.get(key) ?? 0;
      const busy = runs.filter((r) => r.eventsDuring > 0).length;
      console.log(
        `1,000 updates in ${Date.now() - started} ms: ${events} events → ${reconciles} reconciles ` +
          `(${busy} with events arriving meanwhile, ${idleEvents} events while none ran)`,
      );

      // Never two reconciles of one key at once, however many workers are free.
      expect(maxInFlight).toBe(1);
      expect(runs).toHaveLength(reconciles);
      // The last reconcile saw the last state.
      expect(runs.at(-1)?.seen).toBe(final);
      // Coalescing, counted rather than timed: a reconcile starts only for events that came after
      // the previous one was taken, and all the events that arrive while one runs (however many)
      // earn exactly one more. So beyond the first, reconciles are bounded by the runs that had
      // events arrive meanwhile plus the events that arrived while none ran. A queue without
      // dedup would instead work off one reconcile per event long after the burst has ended.
      expect(reconciles).toBeGreaterThan(0);
      expect(reconciles).toBeLessThanOrEqual(1 + busy + idleEvents);
    } finally {
      await ctrl.stop();
      await inf.stop();
    }
  });

  it('folds every update that arrives during a reconcile into exactly one more', async () => {
    const ns = await createNamespace(client, 'fold');
    const key = `${ns}/held`;
    const inf = new Informer(client, ConfigMaps, { namespace: ns });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: number[] = [];
    let held = false;
    const ctrl = new Controller(
      'fold',
      async (req) => {
        if (!held) {
          held = true; // hold the first reconcile until the test releases it
          await gate;
        }
        seen.push(valueOf(inf.get(req.key)));
      },
      { concurrency: 4 },
    ).watchFor(inf);
    inf.start();
    await inf.waitForSync();
    ctrl.start();
    try {
      await client.create(ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: ns }, data: { n: '0' } });
      await eventually('first reconcile under way', () => ctrl.queue.processingCount === 1);
      const { final, finalRV } = await burst(client, ns, 'held', 1000);
      // All 1,000 updates have reached the informer, and so the queue, while the first reconcile
      // was held: an order the test enforces, so the count below is exact on any machine.
      await eventually('every update delivered', () => inf.get(key)?.metadata.resourceVersion === finalRV);
      expect(ctrl.reconciles.get(key)).toBe(1);
      release();
      await eventually('idle', () => seen.length >= 2 && ctrl.queue.length === 0 && ctrl.queue.processingCount === 0);
      expect(ctrl.reconciles.get(key)).toBe(2);
      expect(seen).toEqual([final, final]);
    } finally {
      release();
      await ctrl.stop();
      await inf.stop();
    }
  });

  it('backs a failing key off exponentially', async () => {
    const ns = await createNamespace(client, 'backoff');
    const inf = new Informer(client, ConfigMaps, { namespace: ns });
    const failures: number[] = [];
    const ctrl = new Controller(
      'backoff',
      async () => {
        failures.push(Date.now());
        throw new Error('always fails');
      },
      { concurrency: 2, backoff: { baseMs: 40, maxMs: 10_000, jitter: 0 } },
    ).watchFor(inf);
    // The delays the controller asks the queue for, as they are scheduled.
    const delays: number[] = [];
    const addRateLimited = ctrl.queue.addRateLimited.bind(ctrl.queue);
    ctrl.queue.addRateLimited = (k: string) => {
      const d = addRateLimited(k);
      delays.push(d);
      return d;
    };
    inf.start();
    await inf.waitForSync();
    ctrl.start();
    try {
      await client.create(ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'broken', namespace: ns } });
      await eventually('six failures', () => failures.length >= 6, 30_000);
      const gaps = failures.slice(1).map((t, i) => t - (failures[i] ?? 0));
      console.log(`backoff delays (ms): ${delays.join(', ')}; gaps between failures (ms): ${gaps.join(', ')}`);
      // Exactly 40, 80, 160, 320, 640, … (no jitter): one requeue per failure, doubling.
      expect(delays.length).toBeGreaterThanOrEqual(gaps.length);
      delays.forEach((d, i) => expect(d, `delay ${i}`).toBe(Math.min(10_000, 40 * 2 ** i)));
      // And each retry waited its delay: timers never fire early, however loaded the machine is
      // (a few ms of slack for the rounding of Node's timer clock).
      gaps.forEach((g, i) => expect(g, `gap ${i}`).toBeGreaterThanOrEqual((delays[i] ?? 0) - 5));
    } finally {
      await ctrl.stop();
      await inf.stop();
    }
  });

  it('serves other keys while one waits out its backoff, even with a single worker', async () => {
    const BACKOFF_MS = 60_000;
    const ns = await createNamespace(client, 'backoff-others');
    const inf = new Informer(client, ConfigMaps, { namespace: ns });
    const failures: number[] = [];
    const okDone = new Map<string, number>(); // name → failures of "broken" when it was reconciled
    const ctrl = new Controller(
      'backoff-others',
      async (req) => {
        if (req.name === 'broken') {
          failures.push(Date.now());
          throw new Error('always fails');
        }
        okDone.set(req.name, failures.length);
      },
      { concurrency: 1, backoff: { baseMs: BACKOFF_MS, maxMs: BACKOFF_MS, jitter: 0 } },
    ).watchFor(inf);
    inf.start();
    await inf.waitForSync();
    ctrl.start();
    const mk = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
    try {
      await client.create(ConfigMaps, mk('broken'));
      await eventually('first failure', () => failures.length === 1);
      for (const name of ['ok-1', 'ok-2', 'ok-3']) await client.create(ConfigMaps, mk(name));
      // "broken" is not retried for a minute. A queue that let the waiting key block its only
      // worker, or the keys behind it, would serve the others only after that; the deadline is
      // generous for a loaded machine and still well short of the backoff.
      await eventually('ok keys reconciled', () => okDone.size === 3, BACKOFF_MS - 15_000);
      expect(Object.fromEntries(okDone)).toEqual({ 'ok-1': 1, 'ok-2': 1, 'ok-3': 1 });
      expect(failures).toHaveLength(1);
    } finally {
      await ctrl.stop();
      await inf.stop();
    }
  });
});
