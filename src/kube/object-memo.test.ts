import { describe, expect, it } from 'vitest';
import type { EventHandlers, Informer } from './informer.js';
import type { KubeObject } from './object.js';
import { ObjectMemo } from './object-memo.js';

const secret = (name: string, rv: string, value = rv): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'ns', resourceVersion: rv },
  data: { v: value },
});

/** Stands in for an Informer's event registration: the test fires its update/delete events. */
function fakeInformer() {
  const handlers: Array<EventHandlers<KubeObject>> = [];
  const informer = { on: (h: EventHandlers<KubeObject>) => handlers.push(h) } as unknown as Informer<KubeObject>;
  return {
    informer,
    update: (old: KubeObject, obj: KubeObject) => handlers.forEach((h) => h.update?.(old, obj)),
    remove: (obj: KubeObject) => handlers.forEach((h) => h.delete?.(obj)),
  };
}

describe('ObjectMemo', () => {
  it('derives once per set of objects, and again when any object is replaced', () => {
    const memo = new ObjectMemo<string>(10);
    let calls = 0;
    const derive = (...objs: Array<KubeObject | undefined>) => () => `${++calls}:${objs.map((o) => (o?.data as { v: string } | undefined)?.v ?? '-').join(',')}`;
    const a1 = secret('a', '1');
    const b1 = secret('b', '1');
    expect(memo.get([a1, b1], derive(a1, b1))).toBe('1:1,1');
    expect(memo.get([a1, b1], derive(a1, b1))).toBe('1:1,1');
    // A new object for the same name (the informer replaced it): its content is seen.
    const a2 = secret('a', '2');
    expect(memo.get([a2, b1], derive(a2, b1))).toBe('2:2,1');
    // Same name and resourceVersion but another object (e.g. fetched apart): not trusted either.
    const b1copy = secret('b', '1', 'other');
    expect(memo.get([a2, b1copy], derive(a2, b1copy))).toBe('3:2,other');
    // An absent input is part of the key.
    expect(memo.get([a2, undefined], derive(a2, undefined))).toBe('4:2,-');
    expect(memo.get([a2, undefined], derive(a2, undefined))).toBe('4:2,-');
    expect(memo.size).toBe(2);
  });

  it('keeps nothing when derive throws', () => {
    const memo = new ObjectMemo<string>(10);
    const a = secret('a', '1');
    expect(() =>
      memo.get([a], () => {
        throw new Error('bad');
      }),
    ).toThrow('bad');
    expect(memo.size).toBe(0);
    expect(memo.get([a], () => 'ok')).toBe('ok');
  });

  it('drops the entries of an object the informer replaces or deletes', () => {
    const inf = fakeInformer();
    const memo = ObjectMemo.following<string>(inf.informer, 10);
    const a1 = secret('a', '1');
    const b1 = secret('b', '1');
    const c1 = secret('c', '1');
    memo.get([a1, b1], () => 'ab');
    memo.get([a1], () => 'a');
    memo.get([c1], () => 'c');
    expect(memo.size).toBe(3);
    inf.update(b1, secret('b', '2'));
    expect(memo.size).toBe(2);
    inf.remove(a1);
    expect(memo.size).toBe(1);
    inf.remove(c1);
    expect(memo.size).toBe(0);
    // Deleted and created again under the same name: derived afresh.
    const a3 = secret('a', '3');
    expect(memo.get([a3], () => 'a3')).toBe('a3');
  });

  it('is bounded, dropping the least recently used entry first', () => {
    const memo = new ObjectMemo<number>(2);
    const [a, b, c] = [secret('a', '1'), secret('b', '1'), secret('c', '1')];
    memo.get([a], () => 1);
    memo.get([b], () => 2);
    memo.get([a], () => -1); // a is used again, so b is the coldest
    memo.get([c], () => 3);
    expect(memo.size).toBe(2);
    expect(memo.get([a], () => -1)).toBe(1);
    expect(memo.get([b], () => 22)).toBe(22);
    // c went when b came back; evicting what the bound already dropped is harmless.
    memo.evict(c);
    expect(memo.size).toBe(2);
    memo.evict(a);
    expect(memo.size).toBe(1);
  });
});
