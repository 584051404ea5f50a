// Where the sidecar reads Secrets, against a fake API server that answers lists, never-ending
// watches and SelfSubjectAccessReviews from tables (the integration and chaos tests use a real one).
import { describe, expect, it } from 'vitest';
import type { KubeClient } from '../src/kube/client.js';
import { silentLogger } from '../src/kube/log.js';
import type { KubeObject } from '../src/kube/object.js';
import type { ResourceType } from '../src/kube/resources.js';
import { ACCEPT_LABEL, SOURCE_NAMESPACE_LABEL } from './keys.js';
import { SecretScope } from './secret-scope.js';

function fakeApi(namespaces: Record<string, Record<string, string>>, secrets: Array<[string, string]>) {
  const allowed = new Map<string, boolean>();
  /** Namespaces whose next access reviews fail (a flaky API server), counted down per review. */
  const failing = new Map<string, number>();
  const listed: string[] = [];
  const client = {
    list: (r: ResourceType, o: { namespace?: string }) => {
      if (r.plural === 'secrets') listed.push(o.namespace ?? '*');
      const items: KubeObject[] =
        r.plural === 'namespaces'
          ? Object.entries(namespaces).map(([name, labels]) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels, resourceVersion: '1' } }))
          : secrets.filter(([ns]) => !o.namespace || ns === o.namespace).map(([namespace, name]) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace, name, resourceVersion: '1' } }));
      return Promise.resolve({ items, metadata: { resourceVersion: '1' } });
    },
    // A watch that delivers nothing until it is aborted.
    stream: (_p: string, _q: unknown, signal: AbortSignal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
    create: (_r: ResourceType, obj: { spec: { resourceAttributes: { namespace: string } } }) => {
      const ns = obj.spec.resourceAttributes.namespace;
      const left = failing.get(ns) ?? 0;
      if (left > 0) {
        failing.set(ns, left - 1);
        return Promise.reject(new Error('connect ECONNRESET'));
      }
      return Promise.resolve({ ...obj, status: { allowed: allowed.get(ns) ?? false } });
    },
  };
  return { client: client as unknown as KubeClient, allowed, listed, failing };
}

async function eventuallyTrue(check: () => boolean, timeoutMs = 10_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const scopeOf = (client: KubeClient) => new SecretScope({ client, namespace: 'own', logger: silentLogger, events: undefined, recheckMs: 20 });
const names = (objs: KubeObject[]) => objs.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort();

describe('SecretScope', () => {
  it('keeps one cluster-wide watch where Secrets may be read cluster-wide', async () => {
    const api = fakeApi({ a: {} }, [['a', 's'], ['b', 't']]);
    api.allowed.set('', true);
    const scope = scopeOf(api.client);
    const cache = scope.cache({});
    cache.start();
    await scope.start();
    await eventuallyTrue(() => cache.hasSynced());
    expect(scope.mode).toBe('cluster');
    expect(names(cache.list())).toEqual(['a/s', 'b/t']);
    expect(api.listed).toEqual(['*']);
    await cache.stop();
    await scope.stop();
  });

  it('lists Secrets only in marked, accepting or its own namespaces that granted it; never cluster-wide', async () => {
    const api = fakeApi(
      { own: {}, src: { [SOURCE_NAMESPACE_LABEL]: 'true' }, dst: { [ACCEPT_LABEL]: 'true' }, unbound: { [SOURCE_NAMESPACE_LABEL]: 'true' }, granted: {} },
      [['own', 'reg'], ['src', 's'], ['dst', 'r'], ['unbound', 'u'], ['granted', 'g']],
    );
    for (const ns of ['own', 'src', 'dst', 'granted']) api.allowed.set(ns, true);
    const scope = scopeOf(api.client);
    const cache = scope.cache({});
    cache.start();
    await scope.start();
    await eventuallyTrue(() => cache.hasSynced());
    expect(scope.mode).toBe('namespaces');
    // 'granted' allows it but nothing marked it; 'unbound' is marked but did not allow it.
    expect(names(cache.list())).toEqual(['dst/r', 'own/reg', 'src/s']);
    expect([...new Set(api.listed)].sort()).toEqual(['dst', 'own', 'src']);
    await cache.stop();
    await scope.stop();
  });

  it('is not synced before every namespace was answered: a failed check at start is asked again', async () => {
    const api = fakeApi({ own: {}, src: { [SOURCE_NAMESPACE_LABEL]: 'true' } }, [['src', 's']]);
    api.allowed.set('own', true);
    api.allowed.set('src', true);
    api.failing.set('src', 3);
    const scope = scopeOf(api.client);
    const cache = scope.cache({});
    cache.start();
    await scope.start();
    // Synced means complete: the source in the namespace whose check failed is there.
    await eventuallyTrue(() => cache.hasSynced(), 10_000, 1);
    expect(names(cache.list())).toEqual(['src/s']);
    await cache.stop();
    await scope.stop();
  });

  it('keeps a namespace\'s objects as last seen when access ends: nothing looks deleted', async () => {
    const api = fakeApi({ own: {}, src: { [SOURCE_NAMESPACE_LABEL]: 'true' } }, [['src', 's']]);
    api.allowed.set('own', true);
    api.allowed.set('src', true);
    const scope = scopeOf(api.client);
    const cache = scope.cache({});
    const deleted: string[] = [];
    cache.on({ delete: (o) => deleted.push(o.metadata.name ?? '') });
    cache.start();
    await scope.start();
    await eventuallyTrue(() => cache.hasSynced() && cache.size === 1);
    api.allowed.set('src', false);
    await eventuallyTrue(() => !scope.readable.has('src'));
    // Still there, and no delete was reported (a vanished source would make its replicas garbage).
    expect(names(cache.list())).toEqual(['src/s']);
    expect(cache.getByName('src', 's')).toBeDefined();
    expect(deleted).toEqual([]);
    expect(cache.hasSynced()).toBe(true);
    await cache.stop();
    await scope.stop();
  });
});
