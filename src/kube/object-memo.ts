// Values derived from cached objects (a parsed CA bundle, a loaded issuer key), kept for as long as
// the objects they came from stay in the cache. An informer replaces its object on every change, so
// an entry is valid only while every input is the very object it was computed from; the informer's
// update and delete events drop the entries of the object that went, so nothing describes content
// that is gone, and a size bound caps the rest (least recently used first).
import type { Informer } from './informer.js';
import { objectKey, type KubeObject } from './object.js';

interface Entry<V> {
  inputs: ReadonlyArray<KubeObject | undefined>;
  value: V;
}

export class ObjectMemo<V> {
  private readonly entries = new Map<string, Entry<V>>();
  /** objectKey → the entry keys whose inputs include it, to evict without a scan. */
  private readonly byObject = new Map<string, Set<string>>();

  constructor(readonly maxEntries: number) {
    if (!(maxEntries >= 1)) throw new Error('ObjectMemo needs room for at least one entry');
  }

  /** Drops the entries of obj when the informer replaces or deletes it. */
  static following<V>(informer: Informer<KubeObject>, maxEntries: number): ObjectMemo<V> {
    const memo = new ObjectMemo<V>(maxEntries);
    informer.on({ update: (old) => memo.evict(old), delete: (obj) => memo.evict(obj) });
    return memo;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * derive(), computed at most once for these very objects. An absent input (undefined) is part of
   * the key too. derive() may throw; nothing is kept then.
   */
  get(inputs: ReadonlyArray<KubeObject | undefined>, derive: () => V): V {
    const key = inputs.map((o) => (o ? objectKey(o) : '')).join('\u0000');
    const hit = this.entries.get(key);
    if (hit && hit.inputs.every((o, i) => o === inputs[i])) {
      // Most recently used goes last, so the bound drops the coldest first.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    const value = derive();
    this.remove(key);
    this.entries.set(key, { inputs: [...inputs], value });
    for (const o of inputs) {
      if (!o) continue;
      const k = objectKey(o);
      let keys = this.byObject.get(k);
      if (!keys) this.byObject.set(k, (keys = new Set()));
      keys.add(key);
    }
    while (this.entries.size > this.maxEntries) this.remove(this.entries.keys().next().value as string);
    return value;
  }

  /** Forgets every entry computed from an object with obj's namespace/name. */
  evict(obj: KubeObject): void {
    const keys = this.byObject.get(objectKey(obj));
    if (keys) for (const key of [...keys]) this.remove(key);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    for (const o of entry.inputs) {
      if (!o) continue;
      const k = objectKey(o);
      const keys = this.byObject.get(k);
      keys?.delete(key);
      if (keys?.size === 0) this.byObject.delete(k);
    }
  }
}
