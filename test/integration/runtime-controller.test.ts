// Work-queue semantics end to end: informer events → keys → reconciles, on a real API server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { Controller } from '../../src/kube/controller.js';
import { Informer } from '../../src/kube/informer.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps } from '../../src/kube/resources.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';

describe('controller loop', () => {
  let client: KubeClient;
  beforeAll(async () => {
    client = await sharedClient('controller-test');
  });
  afterAll(() => client?.close());

  it('coalesces 1,000 rapid updates and never reconciles one key twice at once', async () => {
    const RECONCILE_MS = 50;
    const ns = await createNamespace(client, 'burst');
    const inf = new Informer(client, ConfigMaps, { namespace: ns });
    let inFlight = 0;
    let maxInFlight = 0;
    let lastSeen = -1;
    const ctrl = new Controller(
      'burst',
      async (req) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          await new Promise((r) => setTimeout(r, RECONCILE_MS));
          const o = inf.get(req.key);
          lastSeen = Number((o?.data as Record<string, string> | undefined)?.n ?? -1);
        } finally {
          inFlight--;
        }
      },
      { concurrency: 4 },
    ).watchFor(inf);
    inf.start();
    await inf.waitForSync();
    ctrl.start();
    try {
      await client.create(ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hot', namespace: ns }, data: { n: '0' } });
      const updates = 1000;
      const started = Date.now();
      let next = 1;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next <= updates) {
            const n = next++;
            await client.patch(ConfigMaps, ns, 'hot', { data: { n: String(n) } }, 'merge');
          }
        }),
      );
      // Parallel writers finish out of order; the final value is whichever landed last.
      const final = Number(((await client.get(ConfigMaps, ns, 'hot')).data as Record<string, string>).n);
      await eventually('last update reconciled', () => lastSeen === final);
      const elapsed = Date.now() - started;
      const reconciles = ctrl.reconciles.get(`${ns}/hot`) ?? 0;
      console.log(`1,000 updates in ${elapsed} ms → ${reconciles} reconciles`);
      expect(reconciles).toBeGreaterThan(0);
      // One reconcile at a time for the key, each taking RECONCILE_MS, so dedup must hold the count
      // near elapsed / RECONCILE_MS however many updates arrived meanwhile.
      expect(reconciles).toBeLessThanOrEqual(Math.ceil(elapsed / RECONCILE_MS) + 2);
      expect(reconciles).toBeLessThan(updates / 5);
      expect(maxInFlight).toBe(1);
    } finally {
      await ctrl.stop();
      await inf.stop();
    }
  });

  it('backs a failing key off exponentially while other keys proceed', async () => {
    const ns = await createNamespace(client, 'backoff');
    const inf = new Informer(client, ConfigMaps, { namespace: ns });
    const failures: number[] = [];
    const okDone = new Map<string, number>();
    const ctrl = new Controller(
      'backoff',
      async (req) => {
        if (req.name === 'broken') {
          failures.push(Date.now());
          throw new Error('always fails');
        }
        okDone.set(req.name, Date.now());
      },
      { concurrency: 2, backoff: { baseMs: 40, maxMs: 10_000, jitter: 0 } },
    ).watchFor(inf);
    inf.start();
    await inf.waitForSync();
    ctrl.start();
    const mk = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
    try {
      await client.create(ConfigMaps, mk('broken'));
      await eventually('six failures', () => failures.length >= 6, 15_000);
      // Other keys are reconciled promptly while "broken" keeps backing off.
      const created: Record<string, number> = {};
      for (const name of ['ok-1', 'ok-2', 'ok-3']) {
        created[name] = Date.now();
        await client.create(ConfigMaps, mk(name));
      }
      await eventually('ok keys reconciled', () => okDone.size === 3);
      for (const [name, t] of okDone) expect(t - (created[name] ?? 0)).toBeLessThan(2000);

      const gaps = failures.slice(1).map((t, i) => t - (failures[i] ?? 0));
      console.log(`backoff gaps (ms): ${gaps.join(', ')}`);
      // Scheduled 40, 80, 160, 320, 640 ms (no jitter). Timers never fire early, so each gap is at
      // least its scheduled delay however loaded the machine is; and the growth is exponential.
      gaps.forEach((g, i) => expect(g, `gap ${i}`).toBeGreaterThanOrEqual(40 * 2 ** i - 5));
      expect(gaps[gaps.length - 1]!).toBeGreaterThan(4 * gaps[0]!);
    } finally {
      await ctrl.stop();
      await inf.stop();
    }
  });
});
