// An informer (reflector + store) written for the failure modes of @kubernetes/client-node's own:
// that one stops for good on any error but 410, never resyncs, has no synced signal, no watchdog,
// and hands out differently shaped objects from list and watch. This one:
// - restarts after any error with capped exponential backoff (and relists on 410 Gone);
// - asks for bookmarks and server-side watch timeouts, and aborts a watch that has been silent for
//   longer than the server promised (a half-open connection) — the watchdog;
// - reports synced once the first list is in the store;
// - replays the store as updates every resync period;
// - keeps raw JSON objects from list and watch alike (client.list fills apiVersion/kind);
// - is scoped by namespace, label and field selectors, and drops managedFields to bound memory
//   (and whatever else a caller's transform drops).
import type { IncomingMessage } from 'node:http';
import type { KubeClient } from './client.js';
import { sleep } from './client.js';
import { ApiError, describeError, isGone, isUnavailable, UNAVAILABLE_RETRY_MS } from './errors.js';
import { informerRelists, informerRestarts, openWatches } from './metrics.js';
import { objectKey, type KubeObject } from './object.js';
import { resourcePath, type ResourceType } from './resources.js';
import { silentLogger, type Logger } from './log.js';

export interface InformerOptions<T extends KubeObject = KubeObject> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Replay every cached object as an update this often; 0 disables. */
  resyncMs?: number;
  /** Server-side watch timeout range; each watch picks a random value in it. */
  watchTimeoutSeconds?: [number, number];
  /** Backoff after errors. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  keepManagedFields?: boolean;
  /**
   * Applied to every object before it is stored (client-go's SetTransform): a cache that needs only
   * part of each object keeps only that part. Handlers and getters see the transformed object.
   */
  transform?: (obj: T) => T;
  logger?: Logger;
}

export type AddHandler<T> = (obj: T) => void;
export type UpdateHandler<T> = (oldObj: T, newObj: T) => void;
export type DeleteHandler<T> = (obj: T) => void;

export interface EventHandlers<T> {
  add?: AddHandler<T>;
  update?: UpdateHandler<T>;
  delete?: DeleteHandler<T>;
}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly resource: ResourceType;
  private readonly store = new Map<string, T>();
  private readonly handlers: EventHandlers<T>[] = [];
  private readonly indexers = new Map<string, (obj: T) => string[]>();
  private readonly indices = new Map<string, Map<string, IndexBucket>>();
  private resourceVersion: string | undefined;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private abort: AbortController | undefined;
  private running: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private stopCtl = new AbortController();
  private readonly log: Logger;
  /** Last time anything arrived from the server (a list, a watch it accepted, a watch line). */
  lastActivity = 0;
  lastError: string | undefined;

  constructor(
    private readonly client: KubeClient,
    resource: ResourceType,
    private readonly opts: InformerOptions<T> = {},
  ) {
    this.resource = resource;
    this.log = (opts.logger ?? silentLogger).child({ informer: this.describe() });
  }

  /** What shapes the objects of its cache (undefined: they are kept as listed and watched). */
  get transform(): InformerOptions<T>['transform'] {
    return this.opts.transform;
  }

  describe(): string {
    const parts = [this.resource.group ? `${this.resource.plural}.${this.resource.group}` : this.resource.plural];
    if (this.opts.namespace) parts.push(`ns=${this.opts.namespace}`);
    if (this.opts.labelSelector) parts.push(`labels=${this.opts.labelSelector}`);
    if (this.opts.fieldSelector) parts.push(`fields=${this.opts.fieldSelector}`);
    return parts.join(' ');
  }

  on(handlers: EventHandlers<T>): void {
    this.handlers.push(handlers);
    // Late subscribers see the current store, as client-go's AddEventHandler does.
    if (handlers.add) for (const o of this.store.values()) handlers.add(o);
  }

  addIndex(name: string, fn: (obj: T) => string[]): void {
    this.indexers.set(name, fn);
    const index = new Map<string, IndexBucket>();
    this.indices.set(name, index);
    for (const [k, o] of this.store) for (const v of fn(o)) addToIndex(index, v, k);
  }

  byIndex(name: string, value: string): T[] {
    const keys = this.indices.get(name)?.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.store.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  get size(): number {
    return this.store.size;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => reject(new Error(`informer ${this.describe()} did not sync`)), {
        once: true,
      });
    });
  }

  start(): void {
    if (this.running) return;
    this.stopped = false;
    this.stopCtl = new AbortController();
    this.running = this.run();
    const resync = this.opts.resyncMs ?? 0;
    if (resync > 0) {
      this.resyncTimer = setInterval(() => this.resync(), resync);
      this.resyncTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopCtl.abort();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.abort?.abort();
    await this.running;
    this.running = undefined;
  }

  /** Ends the current watch so it is re-established; for use when a caller knows it is stale. */
  restartWatch(): void {
    this.abort?.abort();
  }

  private resync(): void {
    for (const o of this.store.values()) this.emitUpdate(o, o);
  }

  private async run(): Promise<void> {
    let failures = 0;
    let wasUnavailable = false;
    const minBackoff = this.opts.minBackoffMs ?? 500;
    const maxBackoff = this.opts.maxBackoffMs ?? 30_000;
    while (!this.stopped) {
      this.abort = new AbortController();
      const signal = this.abort.signal;
      try {
        if (this.resourceVersion === undefined) await this.relist(signal);
        // A list or a watch the server accepted is a success: errors before it (an outage, the
        // 403s of an authorizer still warming up after a restart) must not leave the next error
        // with their doubled backoff, which an informer whose watch is idle would otherwise keep
        // from one outage to the next (seen: 30 s after a restart, in the API-faults chaos test).
        const delivered = await this.watch(signal, () => {
          failures = 0;
          this.lastActivity = Date.now();
        });
        if (delivered) failures = 0;
      } catch (err) {
        if (this.stopped) break;
        if (isGone(err)) {
          // Our resourceVersion is older than what the server keeps: relist now, no backoff.
          this.log.info('watch expired (410 Gone); relisting');
          informerRestarts.inc({ resource: this.resource.plural, reason: 'gone' });
          this.resourceVersion = undefined;
          continue;
        }
        if (signal.aborted) {
          informerRestarts.inc({ resource: this.resource.plural, reason: 'watchdog' });
          continue;
        }
        this.lastError = describeError(err);
        // A server that is away (restart, outage, overload) is tried again at a steady pace, not
        // with the backoff that grows while it stays away: the watch resumes within about a second
        // of the server being back. Other errors (forbidden, bad selector) back off as before.
        const unavailable = isUnavailable(err);
        // A server that answers again starts a fresh count: the failures of its absence say nothing
        // about its first answers (the 403s of an authorizer still filling its cache after a
        // restart), which otherwise met a 2–5 s backoff in the API-faults chaos test.
        if (wasUnavailable && !unavailable) failures = 0;
        wasUnavailable = unavailable;
        const cap = unavailable ? Math.min(UNAVAILABLE_RETRY_MS, maxBackoff) : maxBackoff;
        if (minBackoff * 2 ** (failures - 1) < cap) failures++;
        const delay = Math.min(cap, minBackoff * 2 ** Math.max(0, failures - 1)) * (0.5 + Math.random());
        informerRestarts.inc({ resource: this.resource.plural, reason: 'error' });
        this.log.warn({ err: this.lastError, delayMs: Math.round(delay), failures }, 'informer error; restarting');
        await sleep(delay, this.stopCtl.signal);
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const list = await this.client.list<T>(this.resource, {
      namespace: this.opts.namespace,
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
      signal,
      map: (raw) => this.normalize(raw),
    });
    informerRelists.inc({ resource: this.resource.plural });
    this.lastActivity = Date.now();
    const seen = new Set<string>();
    for (const obj of list.items) {
      const key = objectKey(obj);
      seen.add(key);
      this.upsert(key, obj);
    }
    const gone: Array<[string, T]> = [];
    for (const [key, old] of this.store) if (!seen.has(key)) gone.push([key, old]);
    for (const [key, old] of gone) this.remove(key, old);
    this.resourceVersion = list.metadata.resourceVersion;
    if (!this.synced) {
      this.synced = true;
      this.log.debug({ objects: this.store.size }, 'synced');
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /** Runs one watch until the server closes it; true if it delivered anything. */
  private async watch(signal: AbortSignal, onOpen: () => void): Promise<boolean> {
    const [lo, hi] = this.opts.watchTimeoutSeconds ?? [300, 600];
    const timeoutSeconds = Math.round(lo + Math.random() * (hi - lo));
    const res = await this.client.stream(
      resourcePath(this.resource, this.opts.namespace),
      {
        watch: 1,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
      },
      signal,
    );
    onOpen();
    // The server closes the watch after timeoutSeconds; silence well beyond that means the
    // connection is dead without either side knowing.
    const silenceLimitMs = (timeoutSeconds + 30) * 1000;
    let delivered = false;
    openWatches.inc({ resource: this.resource.plural });
    try {
      await readLines(res, signal, silenceLimitMs, (line) => {
        this.lastActivity = Date.now();
        const ev = JSON.parse(line) as WatchEvent;
        this.handleEvent(ev);
        delivered = true;
      });
    } finally {
      openWatches.dec({ resource: this.resource.plural });
    }
    return delivered;
  }

  private handleEvent(ev: WatchEvent): void {
    if (ev.type === 'ERROR') {
      const s = ev.object;
      throw new ApiError(s.code ?? 500, s.reason ?? 'Unknown', s.message ?? 'watch error');
    }
    const rv = ev.object.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const obj = this.normalize(ev.object as T);
    const key = objectKey(obj);
    if (ev.type === 'DELETED') {
      const old = this.store.get(key);
      if (old) this.remove(key, obj);
    } else {
      this.upsert(key, obj);
    }
    if (rv) this.resourceVersion = rv;
  }

  private normalize(obj: T): T {
    if (!obj.apiVersion || !obj.kind) {
      obj = { ...obj, apiVersion: obj.apiVersion ?? apiVersion(this.resource), kind: obj.kind ?? this.resource.kind };
    }
    if (!this.opts.keepManagedFields && obj.metadata.managedFields) {
      const { managedFields: _dropped, ...metadata } = obj.metadata;
      obj = { ...obj, metadata };
    }
    return this.opts.transform ? this.opts.transform(obj) : obj;
  }

  /**
   * Takes the object a write of ours returned, before its watch event arrives (client-go's
   * mutation cache): a reconcile that runs in between then sees its own write instead of
   * repeating it. Handlers fire as they would for the watch event, which is later skipped.
   */
  observe(obj: T): void {
    if (!this.synced || !this.inScope(obj)) return;
    this.upsert(objectKey(obj), this.normalize(obj));
  }

  private inScope(obj: T): boolean {
    if (this.opts.namespace && obj.metadata.namespace !== this.opts.namespace) return false;
    if (this.opts.labelSelector || this.opts.fieldSelector) {
      // Only simple equality selectors can be checked here; others wait for the watch.
      const sel = this.opts.labelSelector ?? '';
      if (this.opts.fieldSelector || /[!(),]|\s(in|notin)\s/.test(sel)) return false;
      for (const term of sel.split(',').filter(Boolean)) {
        const [k, v] = term.split(/==?/);
        if (k === undefined || obj.metadata.labels?.[k.trim()] !== v?.trim()) return false;
      }
    }
    return true;
  }

  private upsert(key: string, obj: T): void {
    const old = this.store.get(key);
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    // Never step back: an event older than what a write of ours already put here is stale.
    if (old && isOlder(obj.metadata.resourceVersion, old.metadata.resourceVersion)) return;
    this.store.set(key, obj);
    this.reindex(key, old, obj);
    if (old) this.emitUpdate(old, obj);
    else for (const h of this.handlers) safely(this.log, () => h.add?.(obj));
  }

  private remove(key: string, obj: T): void {
    const old = this.store.get(key);
    this.store.delete(key);
    this.reindex(key, old, undefined);
    for (const h of this.handlers) safely(this.log, () => h.delete?.(obj));
  }

  private emitUpdate(old: T, obj: T): void {
    for (const h of this.handlers) safely(this.log, () => h.update?.(old, obj));
  }

  private reindex(key: string, old: T | undefined, obj: T | undefined): void {
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name);
      if (!index) continue;
      if (old) for (const v of fn(old)) removeFromIndex(index, v, key);
      if (obj) for (const v of fn(obj)) addToIndex(index, v, key);
    }
  }
}

/**
 * resourceVersions are opaque by contract, but kube-apiserver's are etcd revisions (integers);
 * compare them only when both are, and otherwise never call one older.
 */
function isOlder(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return a.length !== b.length ? a.length < b.length : a < b;
}

function apiVersion(r: ResourceType): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/**
 * The keys of the objects with one index value: an array while few (the ten replicas of a source
 * under the sidecar's origin index; an array of ten takes half of a Set's memory), a Set past
 * SMALL_BUCKET. Emptied buckets are removed, so an index holds only values some object has.
 */
type IndexBucket = string[] | Set<string>;
const SMALL_BUCKET = 32;

function addToIndex(index: Map<string, IndexBucket>, value: string, key: string): void {
  const bucket = index.get(value);
  if (bucket === undefined) index.set(value, [key]);
  else if (bucket instanceof Set) bucket.add(key);
  else if (!bucket.includes(key)) {
    if (bucket.length < SMALL_BUCKET) bucket.push(key);
    else index.set(value, new Set([...bucket, key]));
  }
}

function removeFromIndex(index: Map<string, IndexBucket>, value: string, key: string): void {
  const bucket = index.get(value);
  if (bucket === undefined) return;
  if (bucket instanceof Set) bucket.delete(key);
  else {
    const i = bucket.indexOf(key);
    if (i >= 0) bucket.splice(i, 1);
  }
  if ((bucket instanceof Set ? bucket.size : bucket.length) === 0) index.delete(value);
}

function safely(log: Logger, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    // A throwing handler must not kill the watch loop; it is a bug to fix, so log it loudly.
    log.error({ err: describeError(err) }, 'event handler threw');
  }
}

/** Reads newline-delimited JSON; rejects if nothing arrives for silenceLimitMs. */
function readLines(
  res: IncomingMessage,
  signal: AbortSignal,
  silenceLimitMs: number,
  onLine: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let settled = false;
    let watchdog: NodeJS.Timeout;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      signal.removeEventListener('abort', onAbort);
      res.destroy();
      if (err) reject(err);
      else resolve();
    };
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => finish(new Error(`watch silent for ${silenceLimitMs} ms`)), silenceLimitMs);
      watchdog.unref();
    };
    const onAbort = () => finish(new Error('watch aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    arm();
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      arm();
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        try {
          onLine(line);
        } catch (err) {
          finish(err);
          return;
        }
      }
    });
    res.on('end', () => finish());
    res.on('error', (err) => finish(err));
    res.on('aborted', () => finish(new Error('watch connection aborted')));
  });
}
