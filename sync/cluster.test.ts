// A destination cluster's prober against a fake API server that can be taken away and brought
// back (lists, watches that stay open, /version). The real server is in the chaos tier
// (test/chaos/apiserver-faults.test.ts); here the backoff is made long enough that only the
// informers hearing from the server can explain a quick return.
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeClient } from '../src/kube/client.js';
import { silentLogger } from '../src/kube/log.js';
import { ClusterConnection } from './cluster.js';

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });

function fakeServer() {
  let up = true;
  const watches = new Set<PassThrough>();
  const calls = { version: 0, list: 0 };
  const client = {
    list: () => {
      calls.list++;
      return up ? Promise.resolve({ items: [], metadata: { resourceVersion: '1' } }) : Promise.reject(refused());
    },
    // An accepted watch stays open and silent until the server goes away.
    stream: () => {
      if (!up) return Promise.reject(refused());
      const res = new PassThrough();
      watches.add(res);
      res.once('close', () => watches.delete(res));
      return Promise.resolve(res);
    },
    request: () => {
      calls.version++;
      return up ? Promise.resolve({}) : Promise.reject(refused());
    },
    close: () => undefined,
  };
  return {
    client: client as unknown as KubeClient,
    calls,
    down() {
      up = false;
      for (const w of watches) w.destroy(refused());
    },
    back() {
      up = true;
    },
  };
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ClusterConnection prober', () => {
  let conn: ClusterConnection | undefined;
  afterEach(async () => {
    await conn?.stop(false);
    conn = undefined;
  });

  const connect = (client: KubeClient, probeMinMs: number, probeMaxMs: number) => {
    conn = new ClusterConnection({ name: 'edge', own: 'hub', client, labels: {}, local: false, logger: silentLogger, workers: 1, resyncMs: 0, probeMinMs, probeMaxMs });
    conn.start(() => Promise.resolve(), () => undefined);
    return conn;
  };

  it('declares a cluster back as soon as its informers hear from it, not after the backoff grown while it was away', async () => {
    const api = fakeServer();
    const c = connect(api.client, 60_000, 600_000);
    await until(() => c.isReady(), 10_000);
    api.down();
    expect(c.reportFailure(refused())).toBe(true);
    expect(c.state).toBe('Unreachable');
    await new Promise((r) => setTimeout(r, 300));
    api.back();
    // The first probe is a minute away; the informers retry about once a second. Without the
    // wake-up this waited out the minute (seen failing).
    await until(() => c.isReady(), 20_000);
    expect(api.calls.version).toBe(1);
  }, 30_000);

  it('keeps the backoff for a cluster that stays away: its failing informers do not wake the prober', async () => {
    const api = fakeServer();
    const c = connect(api.client, 100, 60_000);
    await until(() => c.isReady(), 10_000);
    api.down();
    c.reportFailure(refused());
    await new Promise((r) => setTimeout(r, 2_500));
    // 100, 200, 400, 800 ms (±20 %): at most 5 probes in 2.5 s, while the informers failed throughout.
    expect(api.calls.version).toBeGreaterThan(0);
    expect(api.calls.version).toBeLessThanOrEqual(5);
    expect(c.state).toBe('Unreachable');
  });
});
