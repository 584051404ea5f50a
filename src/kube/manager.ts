// Wires one process together: shared informers, controllers, probes and metrics, leader election
// and graceful shutdown. Both the operator and the sync sidecar run on a Manager.
import type { KubeClient } from './client.js';
import type { Controller } from './controller.js';
import { HealthServer } from './health.js';
import { Informer, type InformerOptions } from './informer.js';
import { LeaderElector, type LeaderElectionOptions } from './leader.js';
import type { Logger } from './log.js';
import type { KubeObject } from './object.js';
import type { ResourceType } from './resources.js';

export interface ManagerOptions {
  client: KubeClient;
  logger: Logger;
  /** host:port for /healthz, /readyz and /metrics; undefined serves nothing. */
  probeAddress?: string;
  leaderElection?: Omit<LeaderElectionOptions, 'logger'>;
  /** Called when leadership is lost; the default exits the process, as controller-runtime does. */
  onLeadershipLost?: () => void;
  cacheSyncTimeoutMs?: number;
  resyncMs?: number;
}

export class Manager {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly health = new HealthServer();
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly controllers: Controller[] = [];
  private elector: LeaderElector | undefined;
  private readonly stopCtl = new AbortController();
  private controllersStarted = false;
  private readonly stopHooks: Array<() => Promise<void>> = [];
  probePort: number | undefined;

  constructor(private readonly opts: ManagerOptions) {
    this.client = opts.client;
    this.log = opts.logger;
    this.health.addHealthCheck('ping', () => true);
    this.health.addReadyCheck('informers-synced', () => {
      const pending = [...this.informers.values()].filter((i) => !i.hasSynced()).map((i) => i.describe());
      return pending.length === 0 ? true : `not synced: ${pending.join(', ')}`;
    });
  }

  /**
   * A shared informer: asking twice for the same resource and scope returns the same one. Its
   * cache holds objects as its transform shaped them, so asking again with another transform is a
   * programming error, thrown at wiring time rather than found as missing fields later.
   */
  informer<T extends KubeObject = KubeObject>(r: ResourceType, opts: Omit<InformerOptions, 'logger'> = {}): Informer<T> {
    const key = [r.group, r.version, r.plural, opts.namespace ?? '', opts.labelSelector ?? '', opts.fieldSelector ?? ''].join('|');
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer<KubeObject>(this.client, r, { resyncMs: this.opts.resyncMs, ...opts, logger: this.log });
      this.informers.set(key, inf);
    } else if (inf.transform !== opts.transform) {
      throw new Error(`the informer for ${inf.describe()} is already shared with another transform`);
    }
    return inf as unknown as Informer<T>;
  }

  /** Something else to stop with the informers (an informer started later, outside readiness). */
  onStop(hook: () => Promise<void>): void {
    this.stopHooks.push(hook);
  }

  add(controller: Controller): void {
    this.controllers.push(controller);
    if (this.controllersStarted) controller.start();
  }

  isLeader(): boolean {
    return this.elector ? this.elector.isLeader() : true;
  }

  /** Starts everything; resolves once this instance runs its controllers (or is stopped). */
  async start(): Promise<void> {
    if (this.opts.probeAddress) {
      this.probePort = await this.health.listen(this.opts.probeAddress);
      this.log.info({ port: this.probePort }, 'serving /healthz, /readyz and /metrics');
    }
    // Caches fill while a standby waits for the lease, so a takeover starts with warm caches.
    for (const inf of this.informers.values()) inf.start();
    const timeout = AbortSignal.timeout(this.opts.cacheSyncTimeoutMs ?? 120_000);
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync(AbortSignal.any([timeout, this.stopCtl.signal]))));
    this.log.info({ informers: this.informers.size }, 'caches synced');
    if (this.opts.leaderElection) {
      this.elector = new LeaderElector(this.client, { ...this.opts.leaderElection, logger: this.log });
      const onLost = this.opts.onLeadershipLost ?? (() => process.exit(1));
      if (!(await this.elector.acquire(this.stopCtl.signal, onLost))) return;
    }
    if (this.stopCtl.signal.aborted) return;
    this.controllersStarted = true;
    for (const c of this.controllers) c.start();
    this.log.info({ controllers: this.controllers.map((c) => c.name) }, 'controllers started');
  }

  /** Graceful stop: drain in-flight reconciles, release the lease, stop watches and probes. */
  async stop(): Promise<void> {
    this.stopCtl.abort();
    await Promise.all(this.controllers.map((c) => c.stop()));
    await this.elector?.release();
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
    await Promise.all(this.stopHooks.map((h) => h()));
    await this.health.close();
    this.client.close();
  }
}

/** SIGTERM/SIGINT: stop gracefully, then exit; a second signal exits at once. */
export function stopOnSignals(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal; exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
