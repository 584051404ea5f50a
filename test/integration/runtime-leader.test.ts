// Leader election on a real Lease: one leader at a time, takeover within the lease duration.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { LeaderElector } from '../../src/kube/leader.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Leases } from '../../src/kube/resources.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';

describe('leader election', () => {
  let client: KubeClient;
  let ns: string;
  beforeAll(async () => {
    client = await sharedClient('leader-test');
    ns = await createNamespace(client, 'leader');
  });
  afterAll(() => client?.close());

  const timings = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 250 };

  it('has one leader, and a standby takes over within the lease duration when the leader stops', async () => {
    const a = new LeaderElector(client, { namespace: ns, name: 'op', identity: 'a', ...timings });
    const b = new LeaderElector(client, { namespace: ns, name: 'op', identity: 'b', ...timings });
    const stopA = new AbortController();
    const stopB = new AbortController();
    let both = 0;
    const sampler = setInterval(() => {
      if (a.isLeader() && b.isLeader()) both++;
    }, 10);
    try {
      expect(await a.acquire(stopA.signal, () => {})).toBe(true);
      let bLeads = false;
      const bTakeover = b.acquire(stopB.signal, () => {}).then((v) => (bLeads = v));
      await new Promise((r) => setTimeout(r, 2 * timings.leaseDurationMs));
      expect(bLeads).toBe(false);
      expect(a.isLeader()).toBe(true);

      // The leader dies without releasing (a crash): b must wait out the lease, then lead.
      const stoppedAt = Date.now();
      stopA.abort();
      await bTakeover;
      const takeover = Date.now() - stoppedAt;
      console.log(`takeover after ${takeover} ms (lease ${timings.leaseDurationMs} ms)`);
      expect(bLeads).toBe(true);
      // Within the lease duration (measured from the last renewal, which precedes the stop) plus
      // retry periods and slack for a loaded machine.
      expect(takeover).toBeLessThanOrEqual(timings.leaseDurationMs + 2 * timings.retryPeriodMs + 1500);
      const lease = await client.get<KubeObject & { spec: { holderIdentity: string; leaseTransitions: number; renewTime: string } }>(Leases, ns, 'op');
      expect(lease.spec.holderIdentity).toBe('b');
      expect(lease.spec.leaseTransitions).toBe(1);
      expect(lease.spec.renewTime).toMatch(/\.\d{6}Z$/);
      expect(both).toBe(0);
    } finally {
      clearInterval(sampler);
      stopA.abort();
      stopB.abort();
    }
  });

  it('hands over at once when the leader releases on a clean stop', async () => {
    const a = new LeaderElector(client, { namespace: ns, name: 'op2', identity: 'a', releaseOnCancel: true, ...timings });
    const b = new LeaderElector(client, { namespace: ns, name: 'op2', identity: 'b', ...timings });
    const stopA = new AbortController();
    const stopB = new AbortController();
    try {
      await a.acquire(stopA.signal, () => {});
      const bTakeover = b.acquire(stopB.signal, () => {});
      await new Promise((r) => setTimeout(r, 500));
      const releasedAt = Date.now();
      stopA.abort();
      await a.release();
      await bTakeover;
      expect(Date.now() - releasedAt).toBeLessThan(timings.leaseDurationMs);
      await eventually('b leads', () => b.isLeader());
      expect(a.isLeader()).toBe(false);
    } finally {
      stopA.abort();
      stopB.abort();
    }
  });

  it('steps down when another holder takes the lease', async () => {
    const a = new LeaderElector(client, { namespace: ns, name: 'op3', identity: 'a', ...timings });
    const stopA = new AbortController();
    let lost = false;
    try {
      await a.acquire(stopA.signal, () => (lost = true));
      const lease = await client.get<KubeObject & { spec: Record<string, unknown> }>(Leases, ns, 'op3');
      await client.update(Leases, { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder' } });
      await eventually('a steps down', () => lost, 10_000);
      expect(a.isLeader()).toBe(false);
    } finally {
      stopA.abort();
    }
  });
});
