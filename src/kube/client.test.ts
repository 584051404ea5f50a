// The client against a local HTTP server standing in for a throttling kube-apiserver (the chaos
// test test/chaos/apiserver-faults.test.ts runs a real one with low max-inflight).
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeClient } from './client.js';
import { restClientRateLimiterDuration, restClientRequestDuration } from './metrics.js';
import { ConfigMaps } from './resources.js';

let server: http.Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** Serves `answers` in turn (the last one repeats); records when each request arrived. */
async function serve(answers: Array<{ code: number; retryAfter?: string }>, qps = 0, burst?: number): Promise<{ client: KubeClient; arrivals: number[] }> {
  const arrivals: number[] = [];
  server = http.createServer((req, res) => {
    arrivals.push(Date.now());
    const a = answers[Math.min(arrivals.length, answers.length) - 1]!;
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (a.retryAfter) headers['Retry-After'] = a.retryAfter;
    res.writeHead(a.code, headers);
    res.end(JSON.stringify(a.code === 200 ? { metadata: { name: 'x' } } : { kind: 'Status', reason: 'TooManyRequests', message: 'too many requests' }));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const kc = { source: 'test', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  return { client: await KubeClient.fromKubeConfig(kc, { qps, burst }), arrivals };
}

describe('KubeClient and 429', () => {
  it('waits the Retry-After the server asks for before it tries again, and then succeeds', async () => {
    const { client, arrivals } = await serve([{ code: 429, retryAfter: '2' }, { code: 200 }]);
    try {
      const got = await client.get(ConfigMaps, 'ns', 'x');
      expect(got.metadata.name).toBe('x');
      expect(arrivals).toHaveLength(2);
      // A lower bound only: the retry cannot come before the server said it may.
      expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(1900);
      expect(client.stats.byVerb.get).toBe(2);
    } finally {
      client.close();
    }
  });

  it('gives up after a bounded number of 429s with the ApiError and its Retry-After', async () => {
    const { client, arrivals } = await serve([{ code: 429, retryAfter: '0' }]);
    try {
      await expect(client.get(ConfigMaps, 'ns', 'x')).rejects.toMatchObject({ code: 429, retryAfterSeconds: 0 });
      expect(arrivals).toHaveLength(6);
    } finally {
      client.close();
    }
  });
});

describe('KubeClient connect deadline', () => {
  // A server that takes the TCP connection and never says a word: a TLS handshake that never ends,
  // as a connection into a partition looks to a client (which cannot tell it from a slow server).
  // Node arms a request's own timeout only after connecting, so without the deadline a list (no
  // timeout of its own) waits for as long as the connection stays open.
  it('gives up on a connection that does not complete its TLS handshake, with a retryable error', async () => {
    const sockets = new Set<Socket>();
    const silent = net.createServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const kc = { source: 'test', server: `https://127.0.0.1:${(silent.address() as AddressInfo).port}`, insecureSkipTLSVerify: true };
    const client = await KubeClient.fromKubeConfig(kc, { qps: 0, connectTimeoutMs: 300 });
    try {
      const err = await client.list(ConfigMaps, { namespace: 'ns' }).then(
        () => undefined,
        (e: unknown) => e as NodeJS.ErrnoException,
      );
      expect(err?.code).toBe('ETIMEDOUT');
      expect(err?.message).toMatch(/timed out after 300 ms/);
    } finally {
      client.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('does not cut a connected request that waits for its answer', async () => {
    // The answer comes well after the deadline; the deadline is wide enough that a loaded event
    // loop cannot fire it before the (loopback) connect is seen.
    server = http.createServer((_req, res) => setTimeout(() => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"metadata":{"name":"x"}}'), 3_000));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const kc = { source: 'test', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    const client = await KubeClient.fromKubeConfig(kc, { qps: 0, connectTimeoutMs: 2_000 });
    try {
      expect((await client.get(ConfigMaps, 'ns', 'x')).metadata.name).toBe('x');
    } finally {
      client.close();
    }
  });
});

/** A histogram's sum and count for one verb and host. */
async function histogram(h: typeof restClientRequestDuration, verb: string, host: string): Promise<{ sum: number; count: number }> {
  const { name, values } = await h.get();
  const pick = (suffix: string) => values.find((v) => v.metricName === `${name}_${suffix}` && v.labels.verb === verb && v.labels.host === host)?.value ?? 0;
  return { sum: pick('sum'), count: pick('count') };
}

describe('KubeClient request metrics', () => {
  it("times the API server's answer apart from the wait on its own token bucket", async () => {
    // 2 requests/s with a burst of 1: of three requests sent at once, the second waits 0.5 s for
    // its token and the third 1 s, reserved before anything is sent (rate-limit.ts).
    const { client, arrivals } = await serve([{ code: 200 }], 2, 1);
    const host = client.server.host;
    const [waitBefore, tookBefore] = [await histogram(restClientRateLimiterDuration, 'get', host), await histogram(restClientRequestDuration, 'get', host)];
    try {
      await Promise.all([0, 1, 2].map(() => client.get(ConfigMaps, 'ns', 'x')));
      expect(arrivals).toHaveLength(3);
      const wait = await histogram(restClientRateLimiterDuration, 'get', host);
      const took = await histogram(restClientRequestDuration, 'get', host);
      expect(wait.count - waitBefore.count).toBe(3);
      expect(took.count - tookBefore.count).toBe(3);
      // Timers never fire early: 0 + 0.5 + 1 s (less a millisecond of rounding) at the least.
      expect(wait.sum - waitBefore.sum).toBeGreaterThanOrEqual(1.49);
      // Were the wait counted in the request's time too, that sum could not be below the wait's.
      expect(took.sum - tookBefore.sum).toBeLessThan(wait.sum - waitBefore.sum);
    } finally {
      client.close();
    }
  });
});

describe('KubeClient.list', () => {
  it('pages through a list and maps each item as its page arrives, keeping only what the map returns', async () => {
    const events: string[] = [];
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const cont = url.searchParams.get('continue');
      events.push(`request limit=${url.searchParams.get('limit')} continue=${cont ?? ''}`);
      const page = cont === 'p2' ? ['c'] : ['a', 'b'];
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          metadata: { resourceVersion: cont === 'p2' ? '12' : '11', ...(cont === 'p2' ? {} : { continue: 'p2' }) },
          items: page.map((name) => ({ metadata: { name, namespace: 'ns' }, data: { big: 'x'.repeat(64) } })),
        }),
      );
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const client = await KubeClient.fromKubeConfig({ source: 'test', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    try {
      const list = await client.list(ConfigMaps, {
        namespace: 'ns',
        map: (o) => {
          // The item comes whole, with the apiVersion and kind a list leaves out.
          events.push(`map ${o.apiVersion}/${o.kind} ${o.metadata.name} ${Object.keys(o.data as object).join(',')}`);
          return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name } };
        },
      });
      expect(events).toEqual([
        'request limit=500 continue=',
        'map v1/ConfigMap a big',
        'map v1/ConfigMap b big',
        'request limit=500 continue=p2',
        'map v1/ConfigMap c big',
      ]);
      expect(list.items).toEqual(['a', 'b', 'c'].map((name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } })));
      expect(list.metadata.resourceVersion).toBe('12');
    } finally {
      client.close();
    }
  });
});
