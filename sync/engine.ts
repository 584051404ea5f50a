// The replication engine: sources on the local cluster, replicas on every destination cluster.
// Work is keyed per destination cluster (`Kind/namespace/name` of a source, in that cluster's own
// queue), so a slow or dead cluster only ever holds up its own keys. A key's reconcile reads the
// caches, asks plan.ts what should change, and carries it out through the guarded writer. The
// same keys come from three directions: a source changed (every cluster), a replica changed (its
// cluster; this is also how garbage is found after a restart, since replicas are watched by their
// ownership label), or a namespace's consent changed (every source on that cluster).
import { Controller, type ReconcileResult } from '../src/kube/controller.js';
import { ApiError, describeError, isAlreadyExists, isInvalid, isNotFound, isUnavailable } from '../src/kube/errors.js';
import type { EventRecorder } from '../src/kube/events.js';
import type { KubeClient } from '../src/kube/client.js';
import type { Logger } from '../src/kube/log.js';
import type { KubeObject } from '../src/kube/object.js';
import { resourceOf, type ClusterConnection } from './cluster.js';
import { ORIGIN, STATUS_ANNOTATION } from './keys.js';
import { currentStatus } from './source-cache.js';
import { conflictsCurrent, conflictsTotal, lastSuccess, replicaWrites, replicationLag, sourcesCached, statusWrites, syncErrors } from './metrics.js';
import { planCluster, syncedResult, type Action, type Plan } from './plan.js';
import { hasReplicaMarks, isTamperedReplicaOf, ownership, parseOrigin, parseSourceKey, sourceKey, sourceRelevantHash, SYNC_KINDS, type SyncKind } from './replica.js';
import { literalClusters, parseSourceRules, targetsCluster } from './rules.js';
import { NONE_WRITTEN, composeStatus, formatStatus, statusTime, writtenTimes, type ClusterContext, type ClusterOutcome } from './status.js';
import type { Cache } from './secret-scope.js';
import { ReplicaWriter } from './writer.js';

export interface EngineOptions {
  /** This cluster's name: the origin of every source. */
  own: string;
  sources: Record<SyncKind, Cache>;
  /** Client for the local cluster: status annotations on sources. */
  localClient: KubeClient;
  events: EventRecorder | undefined;
  logger: Logger;
  dryRun: boolean;
  conflictRecheckMs: number;
  writeTimeoutMs: number;
  statusDelayMs: number;
  writeConcurrency: number;
  /**
   * Whether this kind's sources in this namespace cannot be read now (a marked Secret source
   * namespace that granted no access): a source missing there is unknown, not deleted, so its
   * replicas are left alone instead of being taken for garbage.
   */
  unreadable?: (kind: SyncKind, namespace: string) => boolean;
}

type Result = ClusterOutcome['results'][number];

/** How long a source's status waits for a cluster that is connecting before saying so. */
const CONNECTING_GRACE_MS = 30_000;

export interface PlannedOperation {
  cluster: string;
  kind: SyncKind;
  namespace: string;
  name: string;
  op: 'create' | 'update' | 'recreate' | 'delete' | 'conflict' | 'unreachable' | 'invalid';
  source: string;
  message?: string;
}

export class SyncEngine {
  readonly clusters = new Map<string, ClusterConnection>();
  readonly statusController: Controller;
  private readonly outcomes = new Map<string, Map<string, ClusterOutcome>>();
  /** Sources last seen carrying our status annotation (key → uid), so it can be removed on opt-out. */
  private readonly withStatus = new Map<string, string>();
  private readonly writers = new Map<string, ReplicaWriter>();
  private readonly log: Logger;
  private stopped = false;
  /** Called when a cluster's state changes (the registry mirrors it onto the registration). */
  onClusterState: ((c: ClusterConnection) => void) | undefined;

  constructor(private readonly opts: EngineOptions) {
    this.log = opts.logger;
    this.statusController = new Controller('sync-status', (req) => this.reconcileStatus(req.key), {
      concurrency: 2,
      logger: opts.logger,
    });
    for (const kind of SYNC_KINDS) {
      const inf = opts.sources[kind];
      const changed = (o: KubeObject) => this.sourceChanged(kind, o);
      inf.on({
        add: changed,
        // Our own status write changes nothing that matters to replicas: skip it (resyncs pass).
        update: (o, n) => (o === n || sourceRelevantHash(o) !== sourceRelevantHash(n) ? changed(n) : this.noteStatus(kind, n)),
        delete: changed,
      });
    }
  }

  start(): void {
    if (!this.opts.dryRun) this.statusController.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.clusters.keys()].map((n) => this.removeCluster(n)));
    await this.statusController.stop();
  }

  sourceKeys(): string[] {
    const keys: string[] = [];
    for (const kind of SYNC_KINDS) {
      for (const o of this.opts.sources[kind].list()) keys.push(sourceKey(kind, o.metadata.namespace ?? '', o.metadata.name ?? ''));
    }
    return keys;
  }

  private noteStatus(kind: SyncKind, o: KubeObject): void {
    const key = sourceKey(kind, o.metadata.namespace ?? '', o.metadata.name ?? '');
    if (o.metadata.annotations?.[STATUS_ANNOTATION] !== undefined) this.withStatus.set(key, o.metadata.uid ?? '');
  }

  private sourceChanged(kind: SyncKind, o: KubeObject): void {
    const key = sourceKey(kind, o.metadata.namespace ?? '', o.metadata.name ?? '');
    this.noteStatus(kind, o);
    const now = Date.now();
    for (const c of this.clusters.values()) c.enqueue(key, now);
    sourcesCached.set({ kind }, this.opts.sources[kind].size);
    this.enqueueStatus(key);
  }

  private enqueueStatus(key: string): void {
    this.statusController.queue.addAfter(key, this.opts.statusDelayMs);
  }

  enqueueAllStatus(): void {
    for (const k of new Set([...this.sourceKeys(), ...this.outcomes.keys()])) this.enqueueStatus(k);
  }

  /** Adds a destination cluster and starts it; returns at once, whatever state the cluster is in. */
  addCluster(conn: ClusterConnection): void {
    if (this.stopped) {
      void conn.stop(false);
      return;
    }
    this.clusters.set(conn.name, conn);
    this.writers.set(conn.name, new ReplicaWriter(conn.client, this.opts.writeTimeoutMs));
    const own = this.opts.own;
    for (const kind of SYNC_KINDS) {
      const enqueue = (o: KubeObject) => {
        const origin = parseOrigin(o.metadata.annotations?.[ORIGIN]);
        if (origin && origin.cluster === own) conn.enqueue(sourceKey(kind, origin.namespace, origin.name));
        // An object blocking a destination: its change may clear the conflict.
        const blocked = conn.conflicts.get(`${kind}/${o.metadata.namespace}/${o.metadata.name}`);
        if (blocked) conn.enqueue(blocked);
      };
      conn.replicas[kind].on({
        add: enqueue,
        update: (o, n) => {
          enqueue(n);
          if (o !== n) enqueue(o);
        },
        delete: enqueue,
      });
    }
    // A namespace event may change any source's destinations on this cluster. Events arrive in
    // bursts (a resync replays every namespace), so the sweep over all keys runs once per burst.
    let sweep: NodeJS.Immediate | undefined;
    const all = () => {
      sweep ??= setImmediate(() => {
        sweep = undefined;
        if (this.clusters.get(conn.name) === conn) conn.enqueueAll(this.sourceKeys());
      });
    };
    conn.namespaces.on({ add: all, update: all, delete: all });
    conn.onStateChange((c) => {
      this.enqueueAllStatus();
      this.onClusterState?.(c);
    });
    conn.start((req) => this.reconcile(conn, req.key), all, !this.opts.dryRun);
    this.enqueueAllStatus();
  }

  /** Stops a cluster and forgets it; its replicas stay as they are (see the registry for cleanup). */
  async removeCluster(name: string, drain = true): Promise<void> {
    const conn = this.clusters.get(name);
    if (!conn) return;
    this.clusters.delete(name);
    this.writers.delete(name);
    await conn.stop(drain);
    for (const m of this.outcomes.values()) m.delete(name);
    conflictsCurrent.remove({ cluster: name });
    this.enqueueAllStatus();
  }

  private plan(conn: ClusterConnection, key: string): { plan: Plan; kind: SyncKind; namespace: string; name: string } | undefined {
    const parsed = parseSourceKey(key);
    if (!parsed) return undefined;
    const { kind, namespace, name } = parsed;
    const inf = conn.replicas[kind];
    const source = this.opts.sources[kind].getByName(namespace, name);
    if (!source && this.opts.unreadable?.(kind, namespace)) return undefined;
    const plan = planCluster({
      kind,
      namespace,
      name,
      own: this.opts.own,
      cluster: conn.view,
      source,
      namespaces: conn.namespaceViews(),
      objectAt: (ns) => inf.getByName(ns, name),
      replicasOf: inf.byIndex('origin', `${this.opts.own}/${namespace}/${name}`),
    });
    return { plan, kind, namespace, name };
  }

  private async reconcile(conn: ClusterConnection, key: string): Promise<ReconcileResult | void> {
    if (!conn.isReady()) {
      conn.park(key);
      return;
    }
    if (!conn.caughtUp(key)) return { requeueAfterMs: 1_000 };
    const planned = this.plan(conn, key);
    if (!planned) return;
    const { plan, kind, namespace, name } = planned;
    const source = this.opts.sources[kind].getByName(namespace, name);
    if (plan.invalid) {
      this.setOutcome(key, conn.name, { invalid: plan.invalid, results: [], written: NONE_WRITTEN });
      if (source) void this.opts.events?.record(source, 'Warning', 'InvalidSyncRules', `${plan.invalid}; existing replicas are left as they are`);
      conn.pendingSince.delete(key);
      return;
    }

    const previous = this.outcomes.get(key)?.get(conn.name);
    const results: Result[] = [...plan.results];
    const written: Array<[string, string]> = [];
    let unreachable = false;
    const errors: string[] = [];
    /** A failure every failed operation shares because the server is overloaded (429) or away. */
    let unavailable: ApiError | undefined;
    let allUnavailable = true;
    const writer = this.writers.get(conn.name);
    if (!writer) return;
    const since = conn.pendingSince.get(key) ?? Date.now();

    await pool(plan.actions, this.opts.writeConcurrency, async (action) => {
      try {
        const res = await this.execute(conn, writer, kind, action, name, key);
        if (res === 'written') {
          written.push([action.namespace, statusTime()]);
          results.push(syncedResult(action.namespace));
          replicationLag.observe({ cluster: conn.name }, (Date.now() - since) / 1000);
        } else if (res) results.push(res);
        conn.reportSuccess();
      } catch (err) {
        if (conn.reportFailure(err)) {
          unreachable = true;
          syncErrors.inc({ cluster: conn.name, reason: 'Unreachable' });
          return;
        }
        const msg = describeError(err);
        errors.push(`${action.op} ${conn.name}/${action.namespace}: ${msg}`);
        if (err instanceof ApiError && isUnavailable(err)) unavailable ??= err;
        else allUnavailable = false;
        syncErrors.inc({ cluster: conn.name, reason: err instanceof ApiError ? err.reason : 'Error' });
        if (action.op !== 'delete') results.push({ namespace: action.namespace, state: 'Error', message: `${action.op} failed: ${msg}` });
        else results.push({ namespace: action.namespace, state: 'Error', message: `could not remove the replica: ${msg}` });
      }
    });

    // Conflicts: count and report new ones, forget those that cleared.
    const conflictNow = new Set(results.filter((x) => x.state === 'Conflict').map((x) => x.namespace));
    for (const [loc, owner] of [...conn.conflicts]) {
      if (owner !== key) continue;
      const ns = loc.split('/')[1] ?? '';
      if (!conflictNow.has(ns) && !unreachable) conn.conflicts.delete(loc);
    }
    for (const x of results) {
      if (x.state !== 'Conflict') continue;
      const loc = `${kind}/${x.namespace}/${name}`;
      if (conn.conflicts.get(loc) === key) continue;
      conn.conflicts.set(loc, key);
      conflictsTotal.inc({ cluster: conn.name, kind });
      this.log.warn({ cluster: conn.name, namespace: x.namespace, kind, name }, 'conflict: destination holds an object the sidecar did not create; left intact');
      if (source) void this.opts.events?.record(source, 'Warning', 'ReplicaConflict', `${conn.name}/${x.namespace}: ${x.message ?? 'conflict'}; it was left intact`);
    }
    conflictsCurrent.set({ cluster: conn.name }, conn.conflicts.size);
    for (const x of results) {
      if (x.state !== 'Error' || !source) continue;
      const before = previous?.results.find((p) => p.namespace === x.namespace);
      if (before?.state !== 'Error') void this.opts.events?.record(source, 'Warning', 'ReplicaSyncFailed', `${conn.name}/${x.namespace}: ${x.message ?? ''}`);
    }

    if (!unreachable) this.setOutcome(key, conn.name, { results, written: writtenTimes(written) });
    if (unreachable) {
      conn.park(key);
      return;
    }
    if (errors.length > 0) {
      const summary = `${errors.length} of ${plan.actions.length} operations failed; first: ${errors[0]}`;
      // Kept recognisable as unavailability, so the queue retries at its steady pace instead of a
      // backoff that grows for as long as the server throttles (up to a minute after it stops).
      if (allUnavailable && unavailable) throw new ApiError(unavailable.code, unavailable.reason, summary, unavailable.retryAfterSeconds);
      throw new Error(summary);
    }
    conn.pendingSince.delete(key);
    lastSuccess.set({ cluster: conn.name }, Date.now() / 1000);
    if (conflictNow.size > 0) return { requeueAfterMs: this.opts.conflictRecheckMs };
  }

  /** Carries out one action; 'written' when a replica now holds the source's content. */
  private async execute(
    conn: ClusterConnection,
    writer: ReplicaWriter,
    kind: SyncKind,
    action: Action,
    name: string,
    key: string,
  ): Promise<'written' | Result | undefined> {
    const r = resourceOf(kind);
    const ns = action.namespace;
    const count = (operation: string) => replicaWrites.inc({ cluster: conn.name, kind, operation });
    const gone = (uid: string) => conn.expect(key, kind, ns, name, (o) => !o || o.metadata.uid !== uid);
    const recreate = async (uid: string, rv: string, obj: KubeObject) => {
      await this.deleteGuarded(writer, r, ns, name, uid, rv);
      count('delete');
      gone(uid);
      return this.create(conn, writer, kind, obj, key);
    };
    switch (action.op) {
      case 'create':
        return this.create(conn, writer, kind, action.object, key);
      case 'update': {
        const { uid = '', resourceVersion = '' } = action.object.metadata;
        try {
          await writer.update(r, action.object);
          count('update');
          conn.expect(key, kind, ns, name, (o) => !o || o.metadata.resourceVersion !== resourceVersion);
          return 'written';
        } catch (err) {
          if (isNotFound(err)) return this.create(conn, writer, kind, stripLive(action.object), key);
          if (!isInvalid(err)) throw err;
          // Something that cannot change in place (immutable set by hand): replace the replica.
          return recreate(uid, resourceVersion, stripLive(action.object));
        }
      }
      case 'recreate':
        return recreate(action.uid, action.resourceVersion, action.object);
      case 'delete':
        await this.deleteGuarded(writer, r, ns, action.name, action.uid, action.resourceVersion);
        count('delete');
        conn.expect(key, kind, ns, action.name, (o) => !o || o.metadata.uid !== action.uid);
        return undefined;
    }
  }

  private async deleteGuarded(writer: ReplicaWriter, r: ReturnType<typeof resourceOf>, ns: string, name: string, uid: string, rv: string): Promise<void> {
    try {
      await writer.delete(r, ns, name, uid, rv);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async create(conn: ClusterConnection, writer: ReplicaWriter, kind: SyncKind, obj: KubeObject, key: string): Promise<'written' | Result> {
    const r = resourceOf(kind);
    const loc = `${kind}/${obj.metadata.namespace}/${obj.metadata.name}`;
    if (conn.conflicts.has(loc)) {
      // A known conflict: look before writing, so a lasting conflict costs a read, not a failed write.
      const blocking = await this.foreign(conn, writer, kind, obj);
      if (blocking) return blocking;
    }
    try {
      const created = await writer.create(r, obj);
      replicaWrites.inc({ cluster: conn.name, kind, operation: 'create' });
      const uid = created.metadata.uid;
      conn.expect(key, kind, obj.metadata.namespace ?? '', obj.metadata.name ?? '', (o) => o !== undefined && (!uid || o.metadata.uid === uid));
      return 'written';
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const blocking = await this.foreign(conn, writer, kind, obj);
      if (blocking) return blocking;
      throw new Error('the replica exists but is not in the cache yet; retrying');
    }
  }

  /**
   * What holds the location, if it blocks `obj` (the replica we want there): undefined when the
   * location is free or already holds our replica of the same source.
   */
  private async foreign(conn: ClusterConnection, writer: ReplicaWriter, kind: SyncKind, obj: KubeObject): Promise<Result | undefined> {
    const namespace = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    let found: KubeObject;
    try {
      found = await writer.get(resourceOf(kind), namespace, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const w = ownership(found, conn.name, this.opts.own);
    const source = this.opts.sources[kind].getByName(parseOrigin(obj.metadata.annotations?.[ORIGIN])?.namespace ?? '', name);
    if (source && isTamperedReplicaOf(found, source, this.opts.own)) return undefined;
    if (!w.owned) {
      return { namespace, state: 'Conflict', message: `a ${kind} of the same name exists that the sidecar did not create (${w.reason})` };
    }
    const wanted = parseOrigin(obj.metadata.annotations?.[ORIGIN]);
    if (wanted && (w.origin.namespace !== wanted.namespace || w.origin.name !== wanted.name)) {
      return { namespace, state: 'Conflict', message: `the name is taken by a replica of ${w.origin.namespace}/${w.origin.name}` };
    }
    return undefined;
  }

  private setOutcome(key: string, cluster: string, outcome: ClusterOutcome): void {
    let m = this.outcomes.get(key);
    if (!m) this.outcomes.set(key, (m = new Map()));
    const prev = m.get(cluster);
    // Keep write times of destinations still Synced, so the status does not lose them.
    const kept = prev ? Object.entries(prev.written).filter(([ns]) => !Object.hasOwn(outcome.written, ns)) : [];
    m.set(cluster, kept.length > 0 ? { ...outcome, written: writtenTimes([...Object.entries(outcome.written), ...kept]) } : outcome);
    this.enqueueStatus(key);
  }

  // ---- status ----------------------------------------------------------------------------------

  private async reconcileStatus(key: string): Promise<void> {
    const parsed = parseSourceKey(key);
    if (!parsed) return;
    const { kind, namespace, name } = parsed;
    const r = resourceOf(kind);
    const source = this.opts.sources[kind].getByName(namespace, name);
    if (!source || hasReplicaMarks(source)) {
      this.outcomes.delete(key);
      const uid = this.withStatus.get(key);
      // Opted out (or gone): take our status off, so it does not describe replicas that are no more.
      // The entry is dropped only after the write, so a failed one is retried, not forgotten.
      if (uid && !source) await this.patchStatus(r, namespace, name, uid, null);
      this.withStatus.delete(key);
      return;
    }
    const rules = parseSourceRules(source.metadata.annotations);
    const clusters: ClusterContext[] = [...this.clusters.values()].map((c) => ({
      name: c.name,
      state: c.state,
      lastError: c.lastError,
      targeted: typeof rules !== 'string' && !c.draining && targetsCluster(rules, c.view, this.opts.own),
    }));
    const outcomes = this.outcomes.get(key);
    const wait = typeof rules === 'string' ? 0 : this.firstResultPending(clusters, outcomes);
    if (wait === 'outcome') return;
    if (wait > 0) {
      this.statusController.queue.addAfter(key, wait);
      return;
    }
    const unregistered = typeof rules === 'string' ? [] : literalClusters(rules).filter((n) => !this.clusters.has(n));
    const current = currentStatus(source);
    const next = formatStatus(composeStatus(outcomes ?? new Map(), clusters, unregistered, current.lastSync));
    if (current.is(next)) return;
    const uid = source.metadata.uid ?? '';
    // Noted here too, not only when the informer shows it: a source that opts out before its cache
    // sees this write must still have the annotation taken off.
    if (await this.patchStatus(r, namespace, name, uid, next)) this.withStatus.set(key, uid);
  }

  /**
   * Whether a targeted cluster's first result for a source is still on its way, so that a status
   * written now would be replaced moments later (at every start, one write per source for
   * nothing): 'outcome' when a Ready cluster has not reconciled the source yet (its reconcile
   * records an outcome and enqueues the status again), else how long to wait for a cluster that
   * is still connecting (after CONNECTING_GRACE_MS it is reported as Connecting), else 0.
   */
  private firstResultPending(clusters: readonly ClusterContext[], outcomes: ReadonlyMap<string, ClusterOutcome> | undefined): 'outcome' | number {
    let wait = 0;
    for (const c of clusters) {
      if (!c.targeted || outcomes?.has(c.name)) continue;
      if (c.state === 'Ready') return 'outcome';
      const since = this.clusters.get(c.name)?.stateSince.getTime() ?? 0;
      if (c.state === 'Connecting') wait = Math.max(wait, since + CONNECTING_GRACE_MS - Date.now());
    }
    return wait;
  }

  /** Whether the write landed; false when the object is gone or has another uid. */
  private async patchStatus(r: ReturnType<typeof resourceOf>, namespace: string, name: string, uid: string, value: string | null): Promise<boolean> {
    try {
      // The uid makes the patch a precondition: never annotate a different object of the same name.
      await this.opts.localClient.patch(r, namespace, name, { metadata: { uid, annotations: { [STATUS_ANNOTATION]: value } } }, 'merge');
      statusWrites.inc({ target: 'source' });
      return true;
    } catch (err) {
      if (isNotFound(err) || (err instanceof ApiError && err.code === 409)) return false;
      throw err;
    }
  }

  // ---- dry-run ---------------------------------------------------------------------------------

  /** What a reconcile of everything would do now; reads only (a GET to tell creations from conflicts). */
  async planAll(): Promise<PlannedOperation[]> {
    const out: PlannedOperation[] = [];
    for (const conn of this.clusters.values()) {
      if (!conn.hasSynced()) {
        out.push({ cluster: conn.name, kind: 'Secret', namespace: '', name: '', op: 'unreachable', source: '', message: conn.lastError ?? 'caches did not sync' });
        continue;
      }
      const writer = this.writers.get(conn.name);
      const keys = [...new Set([...this.sourceKeys(), ...conn.replicaOriginKeys()])].sort();
      for (const key of keys) {
        const planned = this.plan(conn, key);
        if (!planned || !writer) continue;
        const { plan, kind, namespace, name } = planned;
        const src = `${this.opts.own}/${namespace}/${name}`;
        if (plan.invalid) {
          out.push({ cluster: conn.name, kind, namespace, name, op: 'invalid', source: src, message: plan.invalid });
          continue;
        }
        for (const x of plan.results) {
          if (x.state === 'Conflict') out.push({ cluster: conn.name, kind, namespace: x.namespace, name, op: 'conflict', source: src, message: x.message ?? '' });
        }
        for (const a of plan.actions) {
          const aname = a.op === 'delete' ? a.name : name;
          if (a.op === 'create') {
            const blocking = await this.foreign(conn, writer, kind, a.object).catch((err: unknown) => ({
              namespace: a.namespace,
              state: 'Error' as const,
              message: describeError(err),
            }));
            if (blocking) {
              out.push({ cluster: conn.name, kind, namespace: a.namespace, name, op: 'conflict', source: src, message: blocking.message ?? '' });
              continue;
            }
          }
          out.push({ cluster: conn.name, kind, namespace: a.namespace, name: aname, op: a.op, source: src });
        }
      }
    }
    return out;
  }
}

/** The desired object without the live object's identity, for a fresh create. */
function stripLive(obj: KubeObject): KubeObject {
  const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
