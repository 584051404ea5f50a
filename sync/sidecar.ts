// The sidecar assembled on the shared runtime: the Manager holds the local informers (sources and
// cluster registrations), probes and leader election; this adds the engine, the registry, and one
// ClusterConnection per destination — the local cluster first, as a destination like any other.
import os from 'node:os';
import type { RestConfig } from '../src/kube/kubeconfig.js';
import { KubeClient, type RequestStats } from '../src/kube/client.js';
import { EventRecorder } from '../src/kube/events.js';
import type { Manager } from '../src/kube/manager.js';
import { ConfigMaps, Secrets } from '../src/kube/resources.js';
import { ClusterConnection } from './cluster.js';
import { SyncEngine, type PlannedOperation } from './engine.js';
import { CLUSTER_LABEL, FIELD_MANAGER, SOURCE_LABEL } from './keys.js';
import { ClusterRegistry } from './registry.js';
import type { SyncKind } from './replica.js';
import { SecretScope, type Cache } from './secret-scope.js';
import { slimSource } from './source-cache.js';
import { isValidLabelValue } from './selector.js';

export interface SidecarOptions {
  manager: Manager;
  /** Kubeconfig of the local cluster; the local destination gets its own client (and rate limit) from it. */
  kubeConfig: RestConfig;
  /** The sidecar's own namespace: cluster registrations (and the leader-election Lease). */
  namespace: string;
  clusterName: string;
  clusterLabels?: Record<string, string>;
  dryRun?: boolean;
  /** Per destination cluster: sustained writes per second and burst (token bucket). */
  clusterQps?: number;
  clusterBurst?: number;
  /** Workers per destination cluster. */
  workers?: number;
  resyncMs?: number;
  conflictRecheckMs?: number;
  deregisterTimeoutMs?: number;
  statusDelayMs?: number;
  writeTimeoutMs?: number;
  probeMinMs?: number;
  /** The longest wait between probes of an unreachable cluster (the backoff's cap). */
  probeMaxMs?: number;
  /** How often the sidecar asks again where it may read Secrets (when granted per namespace). */
  accessRecheckMs?: number;
  userAgent?: string;
}

export const DEFAULTS = {
  clusterQps: 100,
  clusterBurst: 200,
  workers: 8,
  resyncMs: 10 * 60_000,
  conflictRecheckMs: 60_000,
  deregisterTimeoutMs: 5 * 60_000,
  statusDelayMs: 1_000,
  writeTimeoutMs: 15_000,
  probeMinMs: 500,
  // A probe is one GET /version; every 5 s costs nothing worth saving, and the cap is what a
  // cluster back after a partition may wait (a 30 s cap: 24-25 s catch-up after a 60 s cut).
  probeMaxMs: 5_000,
  accessRecheckMs: 60_000,
} as const;

export class SyncSidecar {
  readonly engine: SyncEngine;
  readonly registry: ClusterRegistry;
  readonly scope: SecretScope;
  private readonly sources: Record<SyncKind, Cache>;
  private readonly o: Required<Omit<SidecarOptions, 'clusterLabels'>> & { clusterLabels: Record<string, string> };
  private readonly clients: KubeClient[] = [];
  private started = false;
  private stopping = false;

  constructor(opts: SidecarOptions) {
    if (!isValidLabelValue(opts.clusterName) || !opts.clusterName) {
      throw new Error(`--cluster-name "${opts.clusterName}" must be a valid label value (it is written on every replica)`);
    }
    this.o = {
      dryRun: false,
      userAgent: FIELD_MANAGER,
      ...DEFAULTS,
      ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
      clusterLabels: opts.clusterLabels ?? {},
    } as typeof this.o;
    const m = opts.manager;
    const identity = `${process.env.POD_NAME || os.hostname()}_${process.pid}`;
    const events = this.o.dryRun ? undefined : new EventRecorder(m.client, FIELD_MANAGER, identity, { logger: m.log });
    // Secrets are read only where the sidecar was granted it (secret-scope.ts); ConfigMaps
    // cluster-wide. Label selectors on every informer: only opted-in sources and registrations are
    // ever listed.
    this.scope = new SecretScope({ client: m.client, namespace: opts.namespace, logger: m.log, events, recheckMs: this.o.accessRecheckMs });
    this.sources = {
      ConfigMap: m.informer(ConfigMaps, { labelSelector: `${SOURCE_LABEL}=true`, transform: slimSource }),
      Secret: this.scope.cache({ labelSelector: `${SOURCE_LABEL}=true`, transform: slimSource }),
    };
    const registrations = m.informer(Secrets, { namespace: opts.namespace, labelSelector: `${CLUSTER_LABEL}=true` });
    this.engine = new SyncEngine({
      own: opts.clusterName,
      sources: this.sources,
      localClient: m.client,
      events,
      logger: m.log,
      dryRun: this.o.dryRun,
      conflictRecheckMs: this.o.conflictRecheckMs,
      writeTimeoutMs: this.o.writeTimeoutMs,
      statusDelayMs: this.o.statusDelayMs,
      writeConcurrency: 8,
      unreadable: (kind, namespace) => kind === 'Secret' && this.scope.unreadableSourceNamespace(namespace),
    });
    this.registry = new ClusterRegistry({
      engine: this.engine,
      own: opts.clusterName,
      namespace: opts.namespace,
      secrets: registrations,
      localClient: m.client,
      events,
      logger: m.log,
      dryRun: this.o.dryRun,
      deregisterTimeoutMs: this.o.deregisterTimeoutMs,
      connect: (name, kc, labels, hash) => this.connect(name, kc, labels, false, hash),
    });
    m.health.addReadyCheck('sync-local-destination', () => {
      if (!this.started) return true; // a standby is ready: it has nothing to sync yet
      const local = this.engine.clusters.get(this.o.clusterName);
      return local?.hasSynced() ? true : 'local destination caches not synced';
    });
  }

  private async connect(name: string, kc: RestConfig, labels: Record<string, string>, local: boolean, hash?: string): Promise<ClusterConnection> {
    const client = await KubeClient.fromKubeConfig(kc, {
      userAgent: `${this.o.userAgent}/${name}`,
      qps: this.o.clusterQps,
      burst: this.o.clusterBurst,
    });
    this.clients.push(client);
    return new ClusterConnection({
      name,
      own: this.o.clusterName,
      client,
      labels,
      local,
      registrationHash: hash,
      logger: this.o.manager.log,
      workers: this.o.workers,
      resyncMs: this.o.resyncMs,
      probeMinMs: this.o.probeMinMs,
      probeMaxMs: this.o.probeMaxMs,
      // The local cluster's Secrets are read where the scope allows; a remote one's under its own RBAC.
      secretCache: local ? (o) => this.scope.cache(o, client) : undefined,
    });
  }

  /** Starts replicating; call once the Manager has started (and, with leader election, leads). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // Every source must be in the cache before any destination is planned: a source missing from
    // it would look deleted, and its replicas like garbage.
    await this.scope.start();
    this.sources.Secret.start();
    while (!this.sources.Secret.hasSynced() && !this.stopping) await new Promise((r) => setTimeout(r, 50));
    if (this.stopping) return;
    this.engine.addCluster(await this.connect(this.o.clusterName, this.o.kubeConfig, this.o.clusterLabels, true));
    this.engine.start();
    if (!this.o.dryRun) this.o.manager.add(this.registry.controller);
  }

  /** Dry-run: connects to every cluster, waits (bounded) for caches, and returns what would change. */
  async plan(timeoutMs: number): Promise<{ operations: PlannedOperation[]; invalidClusters: ReadonlyMap<string, string> }> {
    await this.start();
    await this.registry.connectAll();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && [...this.engine.clusters.values()].some((c) => !c.hasSynced())) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return { operations: await this.engine.planAll(), invalidClusters: this.registry.invalidRegistrations() };
  }

  /** Checks every source and replica again on every cluster (what the periodic resync does). */
  resyncAll(): void {
    for (const c of this.engine.clusters.values()) c.enqueueAll(this.engine.sourceKeys());
    this.engine.enqueueAllStatus();
  }

  /** Requests made by every client of the sidecar (local manager client and every destination's). */
  requestStats(): RequestStats {
    const all = [this.o.manager.client, ...this.clients];
    const out: RequestStats = { total: 0, writes: 0, byVerb: {} };
    for (const c of all) {
      out.total += c.stats.total;
      out.writes += c.stats.writes;
      for (const [v, n] of Object.entries(c.stats.byVerb)) out.byVerb[v] = (out.byVerb[v] ?? 0) + n;
    }
    return out;
  }

  /** Stops the destinations (draining in-flight work); the Manager is stopped by its owner. */
  async stop(): Promise<void> {
    this.stopping = true;
    // The registry first, so that no cluster is added while the engine stops.
    await this.registry.controller.stop();
    await this.engine.stop();
    await this.sources.Secret.stop();
    await this.scope.stop();
  }
}
