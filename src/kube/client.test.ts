// The client against a local HTTP server standing in for a throttling kube-apiserver (the chaos
// test test/chaos/apiserver-faults.test.ts runs a real one with low max-inflight).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeClient } from './client.js';
import { ConfigMaps } from './resources.js';

let server: http.Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** Serves `answers` in turn (the last one repeats); records when each request arrived. */
async function serve(answers: Array<{ code: number; retryAfter?: string }>): Promise<{ client: KubeClient; arrivals: number[] }> {
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
  return { client: await KubeClient.fromKubeConfig(kc, { qps: 0 }), arrivals };
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
