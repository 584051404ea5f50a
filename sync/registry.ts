// Destination clusters registered at run time: each labelled Secret in the sidecar's namespace
// holds a kubeconfig and names a cluster (the Secret's name; its other labels are the cluster's
// labels, for to-cluster-selector). Adding, changing or deleting such a Secret takes effect while
// the sidecar runs. Deregistration removes the replicas the sidecar made on that cluster: the
// registration carries a finalizer, so this also happens if the sidecar was down when the Secret
// was deleted, and it is bounded: a cluster that cannot be reached within the deregistration
// timeout is let go with a Warning event saying how many replicas were left behind.
import type { RestConfig } from '../src/kube/kubeconfig.js';
import { contentHash } from '../src/kube/apply.js';
import type { KubeClient } from '../src/kube/client.js';
import { Controller, type ReconcileResult } from '../src/kube/controller.js';
import { ApiError, describeError, isNotFound } from '../src/kube/errors.js';
import type { EventRecorder } from '../src/kube/events.js';
import type { Informer } from '../src/kube/informer.js';
import type { Logger } from '../src/kube/log.js';
import { splitKey, type KubeObject } from '../src/kube/object.js';
import { Secrets } from '../src/kube/resources.js';
import type { ClusterConnection } from './cluster.js';
import type { SyncEngine } from './engine.js';
import { CLUSTER_FINALIZER, CLUSTER_STATUS_ANNOTATION, KUBECONFIG_KEY, isSyncKey } from './keys.js';
import { loadClusterKubeconfig } from './kubeconfig.js';
import { statusWrites } from './metrics.js';

export type Connect = (name: string, kc: RestConfig, labels: Record<string, string>, hash: string) => Promise<ClusterConnection>;

export interface RegistryOptions {
  engine: SyncEngine;
  own: string;
  namespace: string;
  /** Registration Secrets (the sidecar's namespace, cluster label). */
  secrets: Informer;
  localClient: KubeClient;
  events: EventRecorder | undefined;
  logger: Logger;
  dryRun: boolean;
  deregisterTimeoutMs: number;
  connect: Connect;
}

/** The cluster's labels: the registration's labels that are not ours. */
export function clusterLabels(secret: KubeObject): Record<string, string> {
  return Object.fromEntries(Object.entries(secret.metadata.labels ?? {}).filter(([k]) => !isSyncKey(k)));
}

function kubeconfigText(secret: KubeObject): string | undefined {
  const b64 = (secret.data as Record<string, string> | undefined)?.[KUBECONFIG_KEY];
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
}

export class ClusterRegistry {
  readonly controller: Controller;
  private readonly log: Logger;
  /** Registrations that could not be used, and why (reported once per change). */
  private readonly invalid = new Map<string, string>();

  constructor(private readonly opts: RegistryOptions) {
    this.log = opts.logger.child({ component: 'cluster-registry' });
    this.controller = new Controller('sync-clusters', (req) => this.reconcile(req.key), { concurrency: 2, logger: opts.logger });
    this.controller.watchFor(opts.secrets);
    opts.engine.onClusterState = (c) => this.controller.queue.add(`${opts.namespace}/${c.name}`);
  }

  private async reconcile(key: string): Promise<ReconcileResult | void> {
    const { engine, own } = this.opts;
    const name = splitKey(key).name;
    const secret = this.opts.secrets.get(key);
    if (name === own) {
      if (secret) await this.reportInvalid(secret, `the name "${own}" is the local cluster's own name`);
      return;
    }
    if (!secret) {
      if (engine.clusters.has(name)) {
        this.log.warn({ cluster: name }, 'registration removed without cleanup (finalizer gone); replicas there are left as they are');
        await engine.removeCluster(name);
      }
      return;
    }
    const finalizers = secret.metadata.finalizers ?? [];
    if (secret.metadata.deletionTimestamp) return this.deregister(secret, name, finalizers);

    if (!finalizers.includes(CLUSTER_FINALIZER) && !this.opts.dryRun) {
      await this.setFinalizers(secret, [...finalizers, CLUSTER_FINALIZER]);
      return; // the update event brings us back
    }
    const text = kubeconfigText(secret);
    const hash = contentHash({ kubeconfig: text ?? null });
    const labels = clusterLabels(secret);
    let conn = engine.clusters.get(name);
    if (!conn || conn.registrationHash !== hash) {
      if (conn) {
        this.log.info({ cluster: name }, 'registration changed; reconnecting');
        await engine.removeCluster(name, false);
      }
      const kc = text === undefined ? `the Secret has no "${KUBECONFIG_KEY}" key` : loadClusterKubeconfig(text);
      if (typeof kc === 'string') {
        await this.reportInvalid(secret, kc);
        return;
      }
      this.invalid.delete(name);
      conn = await this.opts.connect(name, kc, labels, hash);
      engine.addCluster(conn);
      this.log.info({ cluster: name, server: conn.client.server.origin }, 'cluster registered');
    } else if (contentHash(conn.labels) !== contentHash(labels)) {
      conn.labels = labels;
      conn.enqueueAll(engine.sourceKeys());
    }
    await this.writeStatus(secret, {
      state: conn.state,
      since: conn.stateSince.toISOString(),
      ...(conn.lastError ? { message: conn.lastError } : {}),
    });
  }

  private async deregister(secret: KubeObject, name: string, finalizers: string[]): Promise<ReconcileResult | void> {
    const { engine } = this.opts;
    if (!finalizers.includes(CLUSTER_FINALIZER)) {
      await engine.removeCluster(name);
      return;
    }
    let conn = engine.clusters.get(name);
    if (!conn) {
      const text = kubeconfigText(secret);
      const kc = text === undefined ? 'no kubeconfig' : loadClusterKubeconfig(text);
      if (typeof kc === 'string') {
        await this.release(secret, finalizers, `cannot clean up: ${kc}`);
        return;
      }
      conn = await this.opts.connect(name, kc, clusterLabels(secret), contentHash({ kubeconfig: text ?? null }));
      engine.addCluster(conn);
    }
    if (!conn.draining) {
      this.log.info({ cluster: name }, 'cluster deregistered; removing its replicas');
      conn.draining = true;
      conn.enqueueAll(engine.sourceKeys());
    }
    if (conn.hasSynced() && conn.isReady() && conn.replicaCount() === 0) {
      await this.release(secret, finalizers, undefined);
      await engine.removeCluster(name);
      return;
    }
    const age = Date.now() - Date.parse(secret.metadata.deletionTimestamp ?? '');
    if (age >= this.opts.deregisterTimeoutMs) {
      const left = conn.hasSynced() ? `${conn.replicaCount()} replica(s)` : 'an unknown number of replicas';
      await this.release(secret, finalizers, `gave up after ${Math.round(age / 1000)} s (${conn.state}${conn.lastError ? `: ${conn.lastError}` : ''}); ${left} left on cluster ${name}`);
      await engine.removeCluster(name, false);
      return;
    }
    return { requeueAfterMs: 500 };
  }

  private async release(secret: KubeObject, finalizers: string[], warning: string | undefined): Promise<void> {
    if (this.opts.dryRun) return;
    if (warning) {
      this.log.warn({ cluster: secret.metadata.name, reason: warning }, 'deregistered without full cleanup');
      await this.opts.events?.record(secret, 'Warning', 'ReplicasLeftBehind', warning);
    }
    await this.setFinalizers(secret, finalizers.filter((f) => f !== CLUSTER_FINALIZER));
  }

  private async setFinalizers(secret: KubeObject, finalizers: string[]): Promise<void> {
    try {
      // resourceVersion makes it a compare-and-swap: another writer's finalizer is never lost.
      await this.opts.localClient.patch(
        Secrets,
        secret.metadata.namespace,
        secret.metadata.name ?? '',
        { metadata: { resourceVersion: secret.metadata.resourceVersion, finalizers } },
        'merge',
      );
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  private async reportInvalid(secret: KubeObject, reason: string): Promise<void> {
    const name = secret.metadata.name ?? '';
    if (this.invalid.get(name) !== reason) {
      this.invalid.set(name, reason);
      this.log.error({ cluster: name, reason }, 'cluster registration refused');
      await this.opts.events?.record(secret, 'Warning', 'InvalidRegistration', reason);
    }
    await this.writeStatus(secret, { state: 'Invalid', message: reason });
  }

  private async writeStatus(secret: KubeObject, status: Record<string, string>): Promise<void> {
    if (this.opts.dryRun) return;
    const text = JSON.stringify(status);
    if (secret.metadata.annotations?.[CLUSTER_STATUS_ANNOTATION] === text) return;
    try {
      await this.opts.localClient.patch(
        Secrets,
        secret.metadata.namespace,
        secret.metadata.name ?? '',
        { metadata: { uid: secret.metadata.uid, annotations: { [CLUSTER_STATUS_ANNOTATION]: text } } },
        'merge',
      );
      statusWrites.inc({ target: 'cluster' });
    } catch (err) {
      if (isNotFound(err) || (err instanceof ApiError && err.code === 409)) return;
      this.log.warn({ cluster: secret.metadata.name, err: describeError(err) }, 'cannot write cluster status');
    }
  }

  /** Dry-run: connect to every registered cluster without writing anything. */
  async connectAll(): Promise<void> {
    for (const secret of this.opts.secrets.list()) {
      const name = secret.metadata.name ?? '';
      if (name === this.opts.own || this.opts.engine.clusters.has(name)) continue;
      const text = kubeconfigText(secret);
      const kc = text === undefined ? 'no kubeconfig' : loadClusterKubeconfig(text);
      if (typeof kc === 'string') {
        this.invalid.set(name, kc);
        continue;
      }
      const conn = await this.opts.connect(name, kc, clusterLabels(secret), contentHash({ kubeconfig: text }));
      conn.draining = secret.metadata.deletionTimestamp !== undefined;
      this.opts.engine.addCluster(conn);
    }
  }

  invalidRegistrations(): ReadonlyMap<string, string> {
    return this.invalid;
  }
}
