// One destination cluster: its own client (and so its own token bucket), informers, work queue,
// backoff and state. Nothing here ever waits on another cluster, and nothing outside waits on this
// one: informers sync in the background, and when a request fails for want of a connection the
// cluster is marked Unreachable, its keys are parked, and a prober with backoff decides when to
// resume — a dead cluster costs one probe per backoff period, not one failing request per key.
import { sleep, type KubeClient } from '../src/kube/client.js';
import { Controller, type Reconciler } from '../src/kube/controller.js';
import { ApiError, describeError } from '../src/kube/errors.js';
import { Informer, type InformerOptions } from '../src/kube/informer.js';
import type { Logger } from '../src/kube/log.js';
import type { KubeObject } from '../src/kube/object.js';
import { ConfigMaps, Namespaces, Secrets, type ResourceType } from '../src/kube/resources.js';
import { ACCEPT_LABEL, ORIGIN, ORIGIN_CLUSTER_LABEL } from './keys.js';
import { clusterReady, replicasCached } from './metrics.js';
import type { ClusterView, NamespaceView } from './plan.js';
import { parseOrigin, slimReplica, sourceKey, SYNC_KINDS, type SyncKind } from './replica.js';
import { parseAcceptance } from './rules.js';
import type { Cache } from './secret-scope.js';

export type ClusterState = 'Connecting' | 'Ready' | 'Unreachable';

interface Expectation {
  kind: SyncKind;
  namespace: string;
  name: string;
  seen: (o: KubeObject | undefined) => boolean;
  at: number;
}

const EXPECTATION_TTL_MS = 10_000;

export const resourceOf = (kind: SyncKind): ResourceType => (kind === 'Secret' ? Secrets : ConfigMaps);

export interface ClusterConnectionOptions {
  name: string;
  /** Name of the cluster this sidecar runs on (the origin-cluster label value it selects). */
  own: string;
  client: KubeClient;
  labels: Record<string, string>;
  local: boolean;
  /** Hash of the registration it came from; a changed registration means a new connection. */
  registrationHash?: string;
  logger: Logger;
  workers: number;
  resyncMs: number;
  probeMinMs: number;
  probeMaxMs: number;
  /** Makes the replica Secret cache when Secret reads are scoped (the local cluster); a plain informer otherwise. */
  secretCache?: (opts: InformerOptions) => Cache;
}

export class ClusterConnection {
  readonly name: string;
  readonly client: KubeClient;
  readonly local: boolean;
  readonly registrationHash: string | undefined;
  labels: Record<string, string>;
  draining = false;
  readonly namespaces: Informer;
  readonly replicas: Record<SyncKind, Cache>;
  controller: Controller | undefined;
  state: ClusterState = 'Connecting';
  lastError: string | undefined;
  stateSince = new Date();
  /** Destinations (`Kind/namespace/name`) known to hold a foreign object, and the source blocked. */
  readonly conflicts = new Map<string, string>();
  /** First unprocessed trigger per key, for the replication-lag metric. */
  readonly pendingSince = new Map<string, number>();
  private readonly parked = new Set<string>();
  /** Writes made for a key that the cache has not shown yet (client-go's "expectations"). */
  private readonly expectations = new Map<string, Expectation[]>();
  private nsViews: NamespaceView[] | undefined;
  private readonly stopCtl = new AbortController();
  private probing = false;
  private readonly log: Logger;
  private runController = true;
  private stateListeners: Array<(c: ClusterConnection) => void> = [];

  constructor(private readonly opts: ClusterConnectionOptions) {
    this.name = opts.name;
    this.client = opts.client;
    this.local = opts.local;
    this.labels = opts.labels;
    this.registrationHash = opts.registrationHash;
    this.log = opts.logger.child({ cluster: opts.name });
    const common = { resyncMs: opts.resyncMs, minBackoffMs: 250, maxBackoffMs: 5_000, logger: this.log };
    this.namespaces = new Informer(opts.client, Namespaces, { ...common, labelSelector: `${ACCEPT_LABEL}=true` });
    this.namespaces.on({ add: () => (this.nsViews = undefined), update: () => (this.nsViews = undefined), delete: () => (this.nsViews = undefined) });
    const replicaSelector = `${ORIGIN_CLUSTER_LABEL}=${opts.own}`;
    // Replicas are cached without their content (its hash is all planning reads): 100,000
    // replicas of 1 KiB sources took 160 MiB of heap with their data, 71 MiB without.
    const secretOpts: InformerOptions = { ...common, labelSelector: replicaSelector, transform: (o) => slimReplica('Secret', o) };
    this.replicas = {
      ConfigMap: new Informer(opts.client, ConfigMaps, { ...common, labelSelector: replicaSelector, transform: (o) => slimReplica('ConfigMap', o) }),
      Secret: opts.secretCache ? opts.secretCache(secretOpts) : new Informer(opts.client, Secrets, secretOpts),
    };
    for (const kind of SYNC_KINDS) {
      const inf = this.replicas[kind];
      inf.addIndex('origin', (o) => {
        const a = o.metadata.annotations?.[ORIGIN];
        return a ? [a] : [];
      });
      const count = () => replicasCached.set({ cluster: this.name, kind }, inf.size);
      // Expectations are met by events as they pass, not only by the cache state a reconcile sees
      // later (a replica created and at once deleted by hand must not wait out the expiry).
      inf.on({
        add: (o) => {
          count();
          this.observe(kind, o, o);
        },
        update: (_o, n) => this.observe(kind, n, n),
        delete: (o) => {
          count();
          this.observe(kind, o, undefined);
        },
      });
    }
  }

  get view(): ClusterView {
    return { name: this.name, labels: this.labels, draining: this.draining };
  }

  hasSynced(): boolean {
    return this.namespaces.hasSynced() && SYNC_KINDS.every((k) => this.replicas[k].hasSynced());
  }

  /** Ready to reconcile: caches synced and no connection failure outstanding. */
  isReady(): boolean {
    return this.state === 'Ready';
  }

  onStateChange(fn: (c: ClusterConnection) => void): void {
    this.stateListeners.push(fn);
  }

  /** Starts informers and, once they have synced, the controller; returns at once. */
  start(reconciler: Reconciler, onSynced: () => void, runController = true): void {
    this.runController = runController;
    this.controller = new Controller(`sync-${this.name}`, reconciler, {
      concurrency: this.opts.workers,
      backoff: { baseMs: 100, maxMs: 60_000, jitter: 0.2 },
      logger: this.log,
    });
    this.namespaces.start();
    for (const k of SYNC_KINDS) this.replicas[k].start();
    clusterReady.set({ cluster: this.name }, 0);
    void this.awaitSync(onSynced);
  }

  private async awaitSync(onSynced: () => void): Promise<void> {
    const infs = [this.namespaces, ...SYNC_KINDS.map((k) => this.replicas[k])];
    let reported = '';
    while (!this.stopCtl.signal.aborted && !this.hasSynced()) {
      // Surface why a cluster is still connecting (the informers retry on their own).
      const err = infs.map((i) => i.lastError).find((e) => e !== undefined);
      if (err && err !== reported) {
        reported = err;
        this.lastError = err;
        this.notify();
      }
      await sleep(100, this.stopCtl.signal);
    }
    if (this.stopCtl.signal.aborted) return;
    this.setState('Ready', undefined);
    if (this.runController) this.controller?.start();
    onSynced();
  }

  /** Viewed namespaces that accept something, parsed once per change. */
  namespaceViews(): NamespaceView[] {
    if (!this.nsViews) {
      this.nsViews = this.namespaces.list().map((ns) => ({
        name: ns.metadata.name ?? '',
        labels: ns.metadata.labels ?? {},
        acceptance: parseAcceptance(ns.metadata),
        terminating: ns.metadata.deletionTimestamp !== undefined || (ns.status as { phase?: string } | undefined)?.phase === 'Terminating',
      }));
    }
    return this.nsViews;
  }

  enqueue(key: string, observedAt = Date.now()): void {
    if (!this.pendingSince.has(key)) this.pendingSince.set(key, observedAt);
    this.controller?.queue.add(key);
  }

  /** Every key this cluster could have work for: the given source keys and every replica's origin. */
  enqueueAll(sourceKeys: Iterable<string>): void {
    const now = Date.now();
    for (const k of sourceKeys) this.enqueue(k, now);
    for (const k of this.replicaOriginKeys()) this.enqueue(k, now);
  }

  replicaOriginKeys(): string[] {
    const out = new Set<string>();
    for (const kind of SYNC_KINDS) {
      for (const o of this.replicas[kind].list()) {
        const origin = parseOrigin(o.metadata.annotations?.[ORIGIN]);
        if (origin && origin.cluster === this.opts.own) out.add(sourceKey(kind, origin.namespace, origin.name));
      }
    }
    return [...out];
  }

  replicaCount(): number {
    return SYNC_KINDS.reduce((n, k) => n + this.replicas[k].size, 0);
  }

  /**
   * Records that the cache must show `seen` at a location before `key` is planned again: planning
   * on a cache that lags behind our own write would repeat it (a create that fails with
   * AlreadyExists, a delete that finds nothing). The replica's watch event re-enqueues the key.
   */
  expect(key: string, kind: SyncKind, namespace: string, name: string, seen: (o: KubeObject | undefined) => boolean): void {
    const list = this.expectations.get(key) ?? [];
    list.push({ kind, namespace, name, seen, at: Date.now() });
    this.expectations.set(key, list);
  }

  private observe(kind: SyncKind, at: KubeObject, now: KubeObject | undefined): void {
    const origin = parseOrigin(at.metadata.annotations?.[ORIGIN]);
    if (!origin) return;
    const key = sourceKey(kind, origin.namespace, origin.name);
    const list = this.expectations.get(key);
    if (!list) return;
    const left = list.filter((e) => !(e.kind === kind && e.namespace === at.metadata.namespace && e.name === at.metadata.name && e.seen(now)));
    if (left.length === 0) this.expectations.delete(key);
    else this.expectations.set(key, left);
  }

  /** Whether the cache reflects every write made for `key` (expectations expire after a while). */
  caughtUp(key: string): boolean {
    const list = this.expectations.get(key);
    if (!list) return true;
    const now = Date.now();
    const left = list.filter((e) => now - e.at < EXPECTATION_TTL_MS && !e.seen(this.replicas[e.kind].getByName(e.namespace, e.name)));
    if (left.length === 0) this.expectations.delete(key);
    else this.expectations.set(key, left);
    return left.length === 0;
  }

  /** A key that found the cluster unreachable waits here until the prober sees it back. */
  park(key: string): void {
    this.parked.add(key);
  }

  reportSuccess(): void {
    if (this.state === 'Unreachable') return; // only the prober declares a cluster back
    if (this.lastError !== undefined && this.state === 'Ready') {
      this.lastError = undefined;
      this.notify();
    }
  }

  /** Records a failed request; a connection failure marks the cluster Unreachable and starts probing. */
  reportFailure(err: unknown): boolean {
    if (!isConnectionError(err)) return false;
    if (this.state !== 'Unreachable') {
      this.log.warn({ err: describeError(err) }, 'destination cluster unreachable; probing with backoff');
      this.setState('Unreachable', describeError(err));
    }
    void this.probe();
    return true;
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      for (let attempt = 0, last = Date.now(); !this.stopCtl.signal.aborted; attempt++) {
        const delay = Math.min(this.opts.probeMaxMs, this.opts.probeMinMs * 2 ** attempt) * (0.8 + Math.random() * 0.4);
        await this.untilHeardFrom(last, delay);
        if (this.stopCtl.signal.aborted) return;
        last = Date.now();
        try {
          await this.client.request({ method: 'GET', path: '/version', verb: 'get', timeoutMs: 5_000, signal: this.stopCtl.signal });
        } catch (err) {
          const msg = describeError(err);
          if (msg !== this.lastError) {
            this.lastError = msg;
            this.notify();
          }
          continue;
        }
        this.log.info('destination cluster reachable again');
        this.setState(this.hasSynced() ? 'Ready' : 'Connecting', undefined);
        const keys = [...this.parked];
        this.parked.clear();
        for (const k of keys) {
          this.controller?.queue.forget(k);
          this.enqueue(k);
        }
        return;
      }
    } finally {
      this.probing = false;
    }
  }

  /**
   * Waits `ms`, or less if one of this cluster's informers hears from its server after `since` (a
   * list, or a watch the server accepted). The informers retry about once a second while a server
   * is away, so a server back after an outage is probed at once instead of after a backoff that
   * grew all through the outage (seen: the local cluster Unreachable for 16–30 s after a 30 s
   * API server outage). A dead cluster's informers hear nothing, so it keeps the backoff.
   */
  private async untilHeardFrom(since: number, ms: number): Promise<void> {
    const informers = [this.namespaces, ...SYNC_KINDS.map((k) => this.replicas[k])].filter((i): i is Informer => i instanceof Informer);
    const deadline = Date.now() + ms;
    while (!this.stopCtl.signal.aborted && Date.now() < deadline) {
      if (informers.some((i) => i.lastActivity > since)) return;
      await sleep(Math.min(200, deadline - Date.now()), this.stopCtl.signal);
    }
  }

  private setState(state: ClusterState, error: string | undefined): void {
    const changed = state !== this.state || error !== this.lastError;
    if (state !== this.state) this.stateSince = new Date();
    this.state = state;
    this.lastError = error;
    clusterReady.set({ cluster: this.name }, state === 'Ready' ? 1 : 0);
    if (changed) this.notify();
  }

  private notify(): void {
    for (const fn of this.stateListeners) fn(this);
  }

  /** Stops everything; `drain` waits for in-flight reconciles (bounded by their request timeouts). */
  async stop(drain = true): Promise<void> {
    this.stopCtl.abort();
    if (drain) await this.controller?.stop();
    else void this.controller?.stop();
    await Promise.all([this.namespaces.stop(), ...SYNC_KINDS.map((k) => this.replicas[k].stop())]);
    this.client.close();
    clusterReady.remove({ cluster: this.name });
    for (const k of SYNC_KINDS) replicasCached.remove({ cluster: this.name, kind: k });
  }
}

/** Failures of the connection rather than of the request: refused, reset, timed out, 502–504. */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof ApiError) return err.code === 502 || err.code === 503 || err.code === 504;
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && /^(E[A-Z]+|ERR_SSL|ERR_TLS|UND_ERR|ERR_SOCKET)/.test(code)) return true;
  return /timed out|socket hang up|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH/.test(err.message);
}

