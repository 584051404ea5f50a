// The open-watch gauge follows the informer's watch connection: up while a watch is open, down
// when it ends, however it ends. The client is a stand-in that serves an empty list and a watch
// stream the test controls; nothing here talks to an API server.
import { PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { KubeClient } from './client.js';
import { Informer } from './informer.js';
import { openWatches, registry } from './metrics.js';
import { ConfigMaps } from './resources.js';

const open = async (): Promise<number> => (await openWatches.get()).values.find((v) => v.labels.resource === 'configmaps')?.value ?? 0;

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('kcp_operator_informer_open_watches', () => {
  it('counts a watch while it is open, and not after it closed or the informer stopped', async () => {
    const streams: PassThrough[] = [];
    const client = {
      list: () => Promise.resolve({ items: [], metadata: { resourceVersion: '1' } }),
      stream: () => {
        const s = new PassThrough();
        streams.push(s);
        return Promise.resolve(s as unknown as IncomingMessage);
      },
    } as unknown as KubeClient;
    const inf = new Informer(client, ConfigMaps, { minBackoffMs: 1, maxBackoffMs: 1 });
    expect(await open()).toBe(0);
    inf.start();
    await until('the first watch', async () => streams.length === 1 && (await open()) === 1);

    // The server ends the watch: the gauge drops, and the informer's next watch raises it again.
    streams[0]?.end();
    await until('the second watch', async () => streams.length === 2 && (await open()) === 1);

    await inf.stop();
    expect(await open()).toBe(0);
    expect(await registry.metrics()).toContain('kcp_operator_informer_open_watches{resource="configmaps"} 0');
  });
});
