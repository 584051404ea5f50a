#!/usr/bin/env node
// The sync sidecar: replicates opted-in ConfigMaps and Secrets into namespaces (here and on
// registered clusters) that accept them. See docs/sync.md.
import { pino } from 'pino';
import { parseFlags, runMain } from '../src/cli.js';
import { bootstrap, loadKubeConfig, podNamespace } from '../src/kube/bootstrap.js';
import { KubeClient } from '../src/kube/client.js';
import { createLogger } from '../src/kube/log.js';
import { Manager, stopOnSignals } from '../src/kube/manager.js';
import { parseDuration, parseLabels } from './duration.js';
import { FIELD_MANAGER } from './keys.js';
import { formatPlan } from './planprint.js';
import { DEFAULTS, SyncSidecar, type SidecarOptions } from './sidecar.js';

const flags = parseFlags('kcp-sync', 'Replicates ConfigMaps and Secrets across namespaces and clusters, with consent on both sides.', {
  kubeconfig: { type: 'string', env: 'KUBECONFIG', description: 'Path to a kubeconfig for the local cluster; in-cluster config when unset' },
  namespace: {
    type: 'string',
    env: 'POD_NAMESPACE',
    description: "The sidecar's own namespace: cluster registration Secrets and the leader-election Lease (the Pod namespace when unset)",
  },
  'cluster-name': { type: 'string', default: 'local', env: 'SYNC_CLUSTER_NAME', description: 'Name of the local cluster, written on every replica as its origin' },
  'cluster-labels': { type: 'string', description: 'Labels of the local cluster for to-cluster-selector, as k=v,k2=v2' },
  'dry-run': { type: 'boolean', description: 'Print what would be created, updated and deleted, write nothing, and exit' },
  'dry-run-timeout': { type: 'string', default: '30s', description: 'How long a dry-run waits for destination caches' },
  'health-probe-bind-address': {
    type: 'string',
    default: ':8082',
    env: 'HEALTH_PROBE_BIND_ADDRESS',
    description: 'Address serving /healthz, /readyz and /metrics',
  },
  'leader-elect': { type: 'boolean', env: 'LEADER_ELECT', description: 'Elect a leader on a Lease in --namespace so only one sidecar is active' },
  'leader-election-id': { type: 'string', default: 'kcp-sync', description: 'Name of the leader-election Lease' },
  'log-level': { type: 'string', default: 'info', env: 'LOG_LEVEL', description: 'trace, debug, info, warn or error' },
  'cluster-qps': { type: 'string', default: String(DEFAULTS.clusterQps), description: 'Sustained requests per second to each cluster (per destination; the local status writes have their own)' },
  'cluster-burst': { type: 'string', default: String(DEFAULTS.clusterBurst), description: 'Request burst to each cluster (as --cluster-qps)' },
  workers: { type: 'string', default: String(DEFAULTS.workers), description: 'Concurrent reconciles per destination cluster' },
  'resync-period': { type: 'string', default: '10m', description: 'How often every replica is checked again (checks that find nothing write nothing)' },
  'conflict-recheck': { type: 'string', default: '1m', description: 'How often a destination blocked by a foreign object is looked at again (a read)' },
  'access-recheck': {
    type: 'string',
    default: '1m',
    description: 'How often the sidecar asks again in which namespaces it may read Secrets (when they are granted per namespace)',
  },
  'unreachable-probe-max': {
    type: 'string',
    default: '5s',
    description: 'The longest wait between probes of an unreachable cluster (they back off from 0.5 s up to this)',
  },
  'deregister-timeout': {
    type: 'string',
    default: '5m',
    description: 'How long a deregistered cluster is given to have its replicas removed before it is let go',
  },
});

if (flags) {
  runMain('kcp-sync', async () => {
    const namespace = flags.namespace || podNamespace();
    const dryRun = flags['dry-run'];
    // A cap under the first backoff step would probe a dead cluster in a tight loop.
    const atLeast = (name: string, ms: number, min: number): number => {
      if (ms < min) throw new Error(`--${name} must be at least ${min} ms, got ${ms} ms`);
      return ms;
    };
    const num = (name: string, v: string | undefined): number => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
      return n;
    };
    const settings: Omit<SidecarOptions, 'manager' | 'kubeConfig'> = {
      namespace,
      clusterName: flags['cluster-name'] ?? 'local',
      clusterLabels: parseLabels(flags['cluster-labels']),
      dryRun,
      clusterQps: num('cluster-qps', flags['cluster-qps']),
      clusterBurst: num('cluster-burst', flags['cluster-burst']),
      workers: Math.max(1, num('workers', flags.workers)),
      resyncMs: parseDuration(flags['resync-period'] ?? '10m'),
      conflictRecheckMs: parseDuration(flags['conflict-recheck'] ?? '1m'),
      deregisterTimeoutMs: parseDuration(flags['deregister-timeout'] ?? '5m'),
      accessRecheckMs: parseDuration(flags['access-recheck'] ?? '1m'),
      probeMaxMs: atLeast('unreachable-probe-max', parseDuration(flags['unreachable-probe-max'] ?? '5s'), DEFAULTS.probeMinMs),
    };

    if (dryRun) {
      // The plan goes to stdout; logs go to stderr so the plan stays readable and parseable.
      const log = createLogger({ name: 'kcp-sync', level: flags['log-level'], destination: pino.destination(2) });
      const kubeConfig = loadKubeConfig(flags.kubeconfig);
      const client = await KubeClient.fromKubeConfig(kubeConfig, { userAgent: `${FIELD_MANAGER}/dry-run` });
      const manager = new Manager({ client, logger: log });
      const sidecar = new SyncSidecar({ ...settings, manager, kubeConfig });
      await manager.start();
      const plan = await sidecar.plan(parseDuration(flags['dry-run-timeout'] ?? '30s'));
      process.stdout.write(formatPlan(plan.operations, plan.invalidClusters));
      await sidecar.stop();
      await manager.stop();
      process.exit(0);
    } else {
      const { manager, log } = await bootstrap({
        component: 'kcp-sync',
        kubeconfig: flags.kubeconfig,
        logLevel: flags['log-level'],
        probeAddress: flags['health-probe-bind-address'],
        leaderElect: flags['leader-elect'],
        leaderElectionNamespace: namespace,
        leaderElectionId: flags['leader-election-id'] ?? 'kcp-sync',
        // The local client writes every source's status: at the runtime's default (50 qps) the
        // statuses of 10,000 sources alone took over 200 s.
        qps: settings.clusterQps,
        burst: settings.clusterBurst,
      });
      const sidecar = new SyncSidecar({ ...settings, manager, kubeConfig: loadKubeConfig(flags.kubeconfig) });
      let stopping = false;
      stopOnSignals(async () => {
        stopping = true;
        await sidecar.stop();
        await manager.stop();
      }, log);
      await manager.start();
      if (!stopping) {
        await sidecar.start();
        log.info({ cluster: settings.clusterName, namespace }, 'sync sidecar started');
      }
    }
  });
}
