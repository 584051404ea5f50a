// The controller loop: keys from informers into a work queue, N workers reconciling distinct keys,
// results mapped to requeue semantics exactly as controller-runtime does.
import { randomUUID } from 'node:crypto';
import { describeError, isUnavailable, TerminalError, UNAVAILABLE_RETRY_MS } from './errors.js';
import type { Informer } from './informer.js';
import type { Logger } from './log.js';
import { silentLogger } from './log.js';
import {
  activeWorkers,
  maxConcurrentReconciles,
  reconcileErrors,
  reconcileTime,
  reconcileTotal,
  terminalReconcileErrors,
} from './metrics.js';
import { objectKey, splitKey, type KubeObject } from './object.js';
import { WorkQueue, DEFAULT_BACKOFF, type BackoffOptions } from './queue.js';

export interface ReconcileRequest {
  key: string;
  namespace: string | undefined;
  name: string;
  log: Logger;
  reconcileID: string;
}

export interface ReconcileResult {
  /** Reconcile again after this many milliseconds (renewals, polling something external). */
  requeueAfterMs?: number;
}

export type Reconciler = (req: ReconcileRequest) => Promise<ReconcileResult | void>;

export interface ControllerOptions {
  concurrency?: number;
  backoff?: BackoffOptions;
  logger?: Logger;
  /**
   * Told of every failed reconcile before its retry (never of a success): lets a controller say on
   * the object what went wrong when the error is one a person must fix, such as a missing RBAC right.
   * Errors it throws are logged and otherwise ignored.
   */
  onError?: (req: ReconcileRequest, err: unknown) => Promise<void>;
}

export type UpdatePredicate<T> = (oldObj: T, newObj: T) => boolean;

/** Skips status-only and metadata-only updates (controller-runtime's GenerationChangedPredicate). */
export const generationChanged: UpdatePredicate<KubeObject> = (o, n) =>
  o.metadata.generation === undefined || o.metadata.generation !== n.metadata.generation;

export class Controller {
  readonly queue: WorkQueue;
  private readonly concurrency: number;
  private readonly log: Logger;
  private readonly onError: ControllerOptions['onError'];
  private workers: Promise<void>[] = [];
  private active = 0;
  /** Counts reconciles per key; tests and benchmarks read it. */
  readonly reconciles = new Map<string, number>();

  constructor(
    readonly name: string,
    private readonly reconciler: Reconciler,
    opts: ControllerOptions = {},
  ) {
    this.queue = new WorkQueue(name, opts.backoff ?? DEFAULT_BACKOFF);
    this.concurrency = opts.concurrency ?? 4;
    this.log = (opts.logger ?? silentLogger).child({ controller: name });
    this.onError = opts.onError;
  }

  /** The primary kind: every event enqueues the object's own key. */
  watchFor<T extends KubeObject>(informer: Informer<T>, predicate?: UpdatePredicate<T>): this {
    informer.on({
      add: (o) => this.queue.add(objectKey(o)),
      update: (o, n) => {
        // Resyncs (same object) always pass: they are how periodic reconciliation happens.
        if (o === n || !predicate || predicate(o, n)) this.queue.add(objectKey(n));
      },
      delete: (o) => this.queue.add(objectKey(o)),
    });
    return this;
  }

  /** Owned objects: enqueue the owner named by the controller ownerReference of the given kind. */
  watchOwned<T extends KubeObject>(informer: Informer<T>, owner: { apiVersion: string; kind: string }): this {
    const group = owner.apiVersion.split('/').slice(0, -1).join('/');
    return this.watchMapped(informer, (o) =>
      (o.metadata.ownerReferences ?? [])
        .filter((ref) => ref.controller && ref.kind === owner.kind && ref.apiVersion.split('/').slice(0, -1).join('/') === group)
        .map((ref) => (o.metadata.namespace ? `${o.metadata.namespace}/${ref.name}` : ref.name)),
    );
  }

  /** Arbitrary mappings (references): each event enqueues the keys `map` returns, for the old and new object. */
  watchMapped<T extends KubeObject>(informer: Informer<T>, map: (obj: T) => string[]): this {
    const enqueue = (o: T) => {
      for (const k of map(o)) this.queue.add(k);
    };
    informer.on({
      add: enqueue,
      update: (o, n) => {
        enqueue(n);
        if (o !== n) enqueue(o);
      },
      delete: enqueue,
    });
    return this;
  }

  start(): void {
    maxConcurrentReconciles.set({ controller: this.name }, this.concurrency);
    for (let i = 0; i < this.concurrency; i++) this.workers.push(this.work());
  }

  /** Stops taking keys and waits for in-flight reconciles to finish. */
  async stop(): Promise<void> {
    await this.queue.shutdown(true);
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.reconcileOne(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async reconcileOne(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const reconcileID = randomUUID();
    const log = this.log.child({ namespace, name, reconcileID });
    this.reconciles.set(key, (this.reconciles.get(key) ?? 0) + 1);
    this.active++;
    activeWorkers.set({ controller: this.name }, this.active);
    const end = reconcileTime.startTimer({ controller: this.name });
    try {
      const result = await this.reconciler({ key, namespace, name, log, reconcileID });
      if (result?.requeueAfterMs && result.requeueAfterMs > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, result.requeueAfterMs);
        reconcileTotal.inc({ controller: this.name, result: 'requeue_after' });
      } else {
        this.queue.forget(key);
        reconcileTotal.inc({ controller: this.name, result: 'success' });
      }
    } catch (err) {
      reconcileTotal.inc({ controller: this.name, result: 'error' });
      reconcileErrors.inc({ controller: this.name });
      if (err instanceof TerminalError) {
        terminalReconcileErrors.inc({ controller: this.name });
        this.queue.forget(key);
        log.error({ err: describeError(err) }, 'reconcile failed terminally; not retrying');
      } else {
        // An API server that is away fails every reconcile; retry at a steady pace while it is,
        // so the work resumes within a second of it being back, not after the grown backoff.
        const delay = this.queue.addRateLimited(key, isUnavailable(err) ? UNAVAILABLE_RETRY_MS : undefined);
        log.warn({ err: describeError(err), retryInMs: delay }, 'reconcile failed; retrying with backoff');
      }
      if (this.onError) {
        await this.onError({ key, namespace, name, log, reconcileID }, err).catch((e: unknown) => log.warn({ err: describeError(e) }, 'cannot report the failed reconcile'));
      }
    } finally {
      end();
      this.active--;
      activeWorkers.set({ controller: this.name }, this.active);
    }
  }
}
