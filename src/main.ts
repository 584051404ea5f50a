#!/usr/bin/env node
// The operator: reconciles RootShard, Shard, FrontProxy, CacheServer and Kubeconfig objects.
import { parseFlags, runMain } from './cli.js';
import { registerControllers } from './controllers/index.js';
import { bootstrap } from './kube/bootstrap.js';
import { stopOnSignals } from './kube/manager.js';
import { parseGoDuration } from './resources/common/duration.js';

const flags = parseFlags('kcp-operator', 'Deploys and runs kcp topologies declared as operator.kcp.io/v1alpha1 resources.', {
  kubeconfig: { type: 'string', env: 'KUBECONFIG', description: 'Path to a kubeconfig; in-cluster config when unset' },
  namespace: { type: 'string', env: 'WATCH_NAMESPACE', description: 'Only watch this namespace (all namespaces when unset)' },
  'health-probe-bind-address': {
    type: 'string',
    default: ':8081',
    env: 'HEALTH_PROBE_BIND_ADDRESS',
    description: 'Address serving /healthz, /readyz and /metrics',
  },
  'leader-elect': { type: 'boolean', env: 'LEADER_ELECT', description: 'Elect a leader on a Lease so only one replica reconciles' },
  'leader-election-namespace': {
    type: 'string',
    env: 'POD_NAMESPACE',
    description: 'Namespace of the leader-election Lease (the Pod namespace when unset)',
  },
  'leader-election-id': { type: 'string', default: 'kcp-operator-ts', description: 'Name of the leader-election Lease' },
  'max-concurrent-reconciles': { type: 'string', default: '4', description: 'Reconciles in flight per controller (each on a different object)' },
  'shard-deregistration-timeout': {
    type: 'string',
    default: '2m',
    description: 'How long a deleted Shard waits for kcp to confirm its deregistration before the finalizer lets go',
  },
  // 100/200: 1 RootShard, 100 Shards and 1,000 Kubeconfigs need about 4,800 writes, which took
  // 106 s at the client's former 50 requests/s (test/bench/results/topology-scale.md).
  'kube-api-qps': { type: 'string', default: '100', env: 'KUBE_API_QPS', description: 'Requests per second to the API server, sustained (0: no client-side limit)' },
  'kube-api-burst': { type: 'string', default: '200', env: 'KUBE_API_BURST', description: 'Requests to the API server allowed at once above --kube-api-qps' },
  'log-level': { type: 'string', default: 'info', env: 'LOG_LEVEL', description: 'trace, debug, info, warn or error' },
});

if (flags) {
  runMain('kcp-operator', async () => {
    // Flags first: a bad value is a clear message and exit code 2, before anything connects.
    const concurrency = Number(flags['max-concurrent-reconciles']);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new Error(`--max-concurrent-reconciles must be a positive integer, got ${flags['max-concurrent-reconciles']}`);
    }
    const qps = Number(flags['kube-api-qps']);
    if (!Number.isFinite(qps) || qps < 0) throw new Error(`--kube-api-qps must be a number, 0 or more, got ${flags['kube-api-qps']}`);
    const burst = Number(flags['kube-api-burst']);
    if (!Number.isInteger(burst) || burst < 1) throw new Error(`--kube-api-burst must be a positive integer, got ${flags['kube-api-burst']}`);
    let deregistrationTimeoutMs: number;
    try {
      deregistrationTimeoutMs = parseGoDuration(flags['shard-deregistration-timeout'] ?? '2m');
    } catch (err) {
      throw new Error(`--shard-deregistration-timeout: ${err instanceof Error ? err.message : String(err)}`);
    }
    const { manager, log } = await bootstrap({
      component: 'kcp-operator',
      kubeconfig: flags.kubeconfig,
      logLevel: flags['log-level'],
      probeAddress: flags['health-probe-bind-address'],
      leaderElect: flags['leader-elect'],
      leaderElectionNamespace: flags['leader-election-namespace'],
      leaderElectionId: flags['leader-election-id'] ?? 'kcp-operator-ts',
      qps,
      burst,
    });
    stopOnSignals(() => manager.stop(), log);
    registerControllers(manager, { namespace: flags.namespace || undefined, concurrency, deregistrationTimeoutMs });
    await manager.start();
  });
}
