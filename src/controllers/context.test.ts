import { describe, expect, it } from 'vitest';
import type { EventHandlers, Informer } from '../kube/informer.js';
import type { KubeObject } from '../kube/object.js';
import { secretMemo } from './context.js';

const secret = (name: string, rv: string, crt: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'kcp', resourceVersion: rv },
  data: { 'tls.crt': Buffer.from(crt).toString('base64') },
});

/** Stands in for the shared Secrets informer: a store the test changes, and its event handlers. */
function fakeSecrets() {
  const store = new Map<string, KubeObject>();
  const handlers: Array<EventHandlers<KubeObject>> = [];
  const informer = {
    on: (h: EventHandlers<KubeObject>) => handlers.push(h),
    getByName: (_ns: string, name: string) => store.get(name),
  } as unknown as Informer<KubeObject>;
  return {
    ctx: { secrets: informer },
    put(obj: KubeObject) {
      const old = store.get(obj.metadata.name ?? '');
      store.set(obj.metadata.name ?? '', obj);
      if (old) handlers.forEach((h) => h.update?.(old, obj));
    },
    remove(name: string) {
      const old = store.get(name);
      store.delete(name);
      if (old) handlers.forEach((h) => h.delete?.(old));
    },
  };
}

describe('secretMemo', () => {
  it('is one memo per informer and purpose; a rotated CA Secret is derived afresh and a deleted one leaves nothing', () => {
    const s = fakeSecrets();
    expect(secretMemo(s.ctx, 'a', 8)).toBe(secretMemo(s.ctx, 'a', 8));
    expect(secretMemo(s.ctx, 'a', 8)).not.toBe(secretMemo(s.ctx, 'b', 8));
    expect(secretMemo(s.ctx, 'a', 8)).not.toBe(secretMemo(fakeSecrets().ctx, 'a', 8));

    const memo = secretMemo<string>(s.ctx, 'ca', 8);
    let derived = 0;
    // What a controller does: derive from the cached object as it is now.
    const read = () => {
      const obj = s.ctx.secrets.getByName('kcp', 'root-server-ca');
      return memo.get([obj], () => {
        derived++;
        return Buffer.from(String((obj?.data as Record<string, string>)['tls.crt']), 'base64').toString();
      });
    };
    s.put(secret('root-server-ca', '1', 'CA one'));
    expect([read(), read()]).toEqual(['CA one', 'CA one']);
    expect(derived).toBe(1);
    s.put(secret('root-server-ca', '2', 'CA two'));
    expect(memo.size).toBe(0);
    expect(read()).toBe('CA two');
    s.remove('root-server-ca');
    expect(memo.size).toBe(0);
  });
});
