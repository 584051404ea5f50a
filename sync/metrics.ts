// The sidecar's own Prometheus metrics, on the process-wide registry next to the runtime's
// (workqueue, reconcile and REST client metrics come from there). Every per-destination metric
// carries the destination cluster's name.
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../src/kube/metrics.js';

const registers = [registry];

export const replicationLag = new Histogram({
  name: 'kcp_sync_replication_lag_seconds',
  help: 'Time from observing a change (source, replica or destination namespace) to the replica write that carried it, per destination cluster',
  labelNames: ['cluster'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers,
});

export const replicaWrites = new Counter({
  name: 'kcp_sync_writes_total',
  help: 'Replica writes per destination cluster, kind and operation (create, update, delete)',
  labelNames: ['cluster', 'kind', 'operation'] as const,
  registers,
});

export const conflictsTotal = new Counter({
  name: 'kcp_sync_conflicts_total',
  help: 'Conflicts found per destination cluster: a same-named object the sidecar did not create, left intact',
  labelNames: ['cluster', 'kind'] as const,
  registers,
});

export const conflictsCurrent = new Gauge({
  name: 'kcp_sync_conflicts',
  help: 'Destinations currently blocked by a conflicting object, per cluster',
  labelNames: ['cluster'] as const,
  registers,
});

export const syncErrors = new Counter({
  name: 'kcp_sync_errors_total',
  help: 'Failed replica operations per destination cluster and reason',
  labelNames: ['cluster', 'reason'] as const,
  registers,
});

export const clusterReady = new Gauge({
  name: 'kcp_sync_cluster_ready',
  help: '1 when the destination cluster is connected, its caches synced and its last request succeeded',
  labelNames: ['cluster'] as const,
  registers,
});

export const replicasCached = new Gauge({
  name: 'kcp_sync_replicas',
  help: 'Replicas made by this sidecar, as seen in the destination cluster cache',
  labelNames: ['cluster', 'kind'] as const,
  registers,
});

export const sourcesCached = new Gauge({
  name: 'kcp_sync_sources',
  help: 'Opted-in sources on the local cluster',
  labelNames: ['kind'] as const,
  registers,
});

export const lastSuccess = new Gauge({
  name: 'kcp_sync_last_success_timestamp_seconds',
  help: 'Unix time of the last reconcile that left a destination cluster fully converged for its source',
  labelNames: ['cluster'] as const,
  registers,
});

export const statusWrites = new Counter({
  name: 'kcp_sync_status_writes_total',
  help: 'Status annotation writes (sources and cluster registrations); only changes are written',
  labelNames: ['target'] as const,
  registers,
});
