// One Prometheus registry per process, with controller-runtime's and client-go's metric names so
// that existing dashboards and alerts work unchanged.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const registers = [registry];

export const reconcileTotal = new Counter({
  name: 'controller_runtime_reconcile_total',
  help: 'Total number of reconciliations per controller',
  labelNames: ['controller', 'result'] as const,
  registers,
});
export const reconcileErrors = new Counter({
  name: 'controller_runtime_reconcile_errors_total',
  help: 'Total number of reconciliation errors per controller',
  labelNames: ['controller'] as const,
  registers,
});
export const terminalReconcileErrors = new Counter({
  name: 'controller_runtime_terminal_reconcile_errors_total',
  help: 'Total number of terminal reconciliation errors per controller',
  labelNames: ['controller'] as const,
  registers,
});
export const reconcileTime = new Histogram({
  name: 'controller_runtime_reconcile_time_seconds',
  help: 'Length of time per reconciliation per controller',
  labelNames: ['controller'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers,
});
export const activeWorkers = new Gauge({
  name: 'controller_runtime_active_workers',
  help: 'Number of currently used workers per controller',
  labelNames: ['controller'] as const,
  registers,
});
export const maxConcurrentReconciles = new Gauge({
  name: 'controller_runtime_max_concurrent_reconciles',
  help: 'Maximum number of concurrent reconciles per controller',
  labelNames: ['controller'] as const,
  registers,
});

export const workqueueDepth = new Gauge({
  name: 'workqueue_depth',
  help: 'Current depth of workqueue',
  labelNames: ['name'] as const,
  registers,
});
export const workqueueAdds = new Counter({
  name: 'workqueue_adds_total',
  help: 'Total number of adds handled by workqueue',
  labelNames: ['name'] as const,
  registers,
});
export const workqueueRetries = new Counter({
  name: 'workqueue_retries_total',
  help: 'Total number of retries handled by workqueue',
  labelNames: ['name'] as const,
  registers,
});
export const workqueueQueueDuration = new Histogram({
  name: 'workqueue_queue_duration_seconds',
  help: 'How long in seconds an item stays in workqueue before being requested',
  labelNames: ['name'] as const,
  buckets: [0.001, 0.01, 0.1, 1, 10, 100, 1000],
  registers,
});
export const workqueueWorkDuration = new Histogram({
  name: 'workqueue_work_duration_seconds',
  help: 'How long in seconds processing an item from workqueue takes',
  labelNames: ['name'] as const,
  buckets: [0.001, 0.01, 0.1, 1, 10, 100, 1000],
  registers,
});

// Keys waiting on a timer for their delayed add (requeue-after, backoff): the timers a queue
// holds. They are unref'd, so nodejs_active_resources{type="Timeout"} does not count them.
export const workqueueDelayed = new Gauge({
  name: 'kcp_operator_workqueue_delayed_items',
  help: 'Keys of a workqueue waiting on a timer for a delayed add',
  labelNames: ['name'] as const,
  registers,
});

export const restClientRequests = new Counter({
  name: 'rest_client_requests_total',
  help: 'Number of HTTP requests, partitioned by verb and status code',
  labelNames: ['method', 'code'] as const,
  registers,
});

// client-go's names, so its dashboards read them; finer buckets at the low end, where a request to
// a local API server lives. Together they split a write's time into the wait this process imposed
// on itself (the token bucket) and the API server's answer.
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];
export const restClientRequestDuration = new Histogram({
  name: 'rest_client_request_duration_seconds',
  help: 'Request latency in seconds, from sending the request to the whole response (a watch: to its headers), by verb and host',
  labelNames: ['verb', 'host'] as const,
  buckets: REQUEST_BUCKETS,
  registers,
});
export const restClientRateLimiterDuration = new Histogram({
  name: 'rest_client_rate_limiter_duration_seconds',
  help: "Time a request waited for the client's own rate limiter (--qps/--burst) before it was sent, by verb and host",
  labelNames: ['verb', 'host'] as const,
  buckets: REQUEST_BUCKETS,
  registers,
});

export const informerRestarts = new Counter({
  name: 'kcp_operator_informer_restarts_total',
  help: 'Informer watch restarts after an error, by resource and reason',
  labelNames: ['resource', 'reason'] as const,
  registers,
});
export const informerRelists = new Counter({
  name: 'kcp_operator_informer_relists_total',
  help: 'Full relists per informer (initial sync, 410 Gone, watchdog)',
  labelNames: ['resource'] as const,
  registers,
});
// Watches an informer holds open right now: a leak (a watch never closed) or a lost one shows as
// drift from the number of informers, which the soak benchmark samples.
export const openWatches = new Gauge({
  name: 'kcp_operator_informer_open_watches',
  help: 'Watch connections currently open, by resource',
  labelNames: ['resource'] as const,
  registers,
});
export const leaderStatus = new Gauge({
  name: 'leader_election_master_status',
  help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
  labelNames: ['name'] as const,
  registers,
});

// Operator state alerts need (deploy/monitoring/prometheusrule.yaml). Label values are bounded by
// the objects that exist: series are removed when their Secret leaves a plan or its owner is deleted.
export const certificateExpiry = new Gauge({
  name: 'kcp_operator_certificate_expiry_timestamp_seconds',
  help: 'notAfter of each certificate Secret the operator manages, as Unix time; ca="true" for CAs',
  labelNames: ['namespace', 'secret', 'ca'] as const,
  registers,
});
export const certificateRenewal = new Gauge({
  name: 'kcp_operator_certificate_renewal_timestamp_seconds',
  help: 'When each certificate Secret is due for renewal (for a CA, which is never renewed automatically: when it must be rotated), as Unix time',
  labelNames: ['namespace', 'secret', 'ca'] as const,
  registers,
});
export const componentAvailable = new Gauge({
  name: 'kcp_operator_component_available',
  help: "1 while the object's Available condition is True, 0 otherwise, per operator.kcp.io object",
  labelNames: ['namespace', 'kind', 'name'] as const,
  registers,
});
