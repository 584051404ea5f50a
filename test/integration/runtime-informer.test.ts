// The informer survives a kube-apiserver restart and a watch expiry (410 Gone → relist), without
// restarting the process. This test runs its own control plane, because it restarts the server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import { informerRelists } from '../../src/kube/metrics.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Namespaces } from '../../src/kube/resources.js';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.js';
import { eventually } from './helpers.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('informer resilience', () => {
  let cp: ControlPlane;
  let client: KubeClient;
  const ns = 'informer-resilience';

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'informer', crds: false });
    client = await cp.client('informer-test');
    await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  });
  afterAll(async () => {
    client?.close();
    await cp?.stop();
  });

  const cm = (name: string, v: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns },
    data: { v },
  });

  it('keeps delivering across an API server restart and relists after 410 Gone', async () => {
    const relists = async () =>
      (await informerRelists.get()).values.find((v) => v.labels.resource === 'configmaps')?.value ?? 0;
    const relistsBefore = await relists();
    const events: string[] = [];
    const inf = new Informer(client, ConfigMaps, { namespace: ns, minBackoffMs: 100, maxBackoffMs: 1000 });
    inf.on({
      add: (o) => events.push(`add ${o.metadata.name}`),
      update: (_o, n) => events.push(`update ${n.metadata.name} ${String((n.data as Record<string, string>).v)}`),
      delete: (o) => events.push(`delete ${o.metadata.name}`),
    });
    inf.start();
    try {
      await inf.waitForSync();
      await client.create(ConfigMaps, cm('a', '1'));
      await client.create(ConfigMaps, cm('doomed', '1'));
      await eventually('adds', () => events.includes('add a') && events.includes('add doomed'));

      // 1. A plain restart: the watch breaks and must come back by itself.
      await cp.restartApiServer();
      await client.patch(ConfigMaps, ns, 'a', { data: { v: '2' } }, 'merge');
      await eventually('update after restart', () => events.includes('update a 2'));

      // 2. Expiry: while the server is down, delete an object behind its back (in etcd) and
      // compact etcd past the informer's resourceVersion. The informer's next watch gets 410
      // Gone; only a relist can reveal the deletion.
      await cp.stopApiServer();
      const key = b64(`/registry/configmaps/${ns}/doomed`);
      const del = (await cp.etcdRequest('/v3/kv/deleterange', { key })) as { deleted?: string };
      expect(del.deleted).toBe('1');
      let rev = '0';
      for (let i = 0; i < 5; i++) {
        const put = (await cp.etcdRequest('/v3/kv/put', { key: b64(`/unrelated/${i}`), value: b64('x') })) as {
          header: { revision: string };
        };
        rev = put.header.revision;
      }
      await cp.etcdRequest('/v3/kv/compaction', { revision: rev, physical: true });
      await cp.startApiServer();

      await eventually('delete seen through relist', () => events.includes('delete doomed'), 30_000);
      await client.create(ConfigMaps, cm('after', '1'));
      await eventually('add after expiry', () => events.includes('add after'));
      expect(inf.get(`${ns}/doomed`)).toBeUndefined();
      // The initial list plus at least one relist after the 410.
      expect((await relists()) - relistsBefore).toBeGreaterThanOrEqual(2);
      expect(inf.get(`${ns}/a`)).toBeDefined();
      // Same shape from list and watch: both carry apiVersion/kind and string timestamps.
      for (const o of inf.list()) {
        expect(o.apiVersion).toBe('v1');
        expect(o.kind).toBe('ConfigMap');
        expect(typeof o.metadata.creationTimestamp).toBe('string');
      }
    } finally {
      await inf.stop();
    }
  });
});
