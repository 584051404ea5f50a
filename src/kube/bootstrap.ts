// Process start-up shared by the operator and the sidecar: kubeconfig, client, logger, Manager.
import os from 'node:os';
import path from 'node:path';
import { KubeClient } from './client.js';
import { loadDefaultKubeconfig, loadKubeconfigFile, type RestConfig } from './kubeconfig.js';
import { createLogger, type Logger } from './log.js';
import { Manager, type ManagerOptions } from './manager.js';

export interface BootstrapOptions {
  component: string;
  kubeconfig?: string | undefined;
  logLevel?: string | undefined;
  probeAddress?: string | undefined;
  leaderElect: boolean;
  leaderElectionNamespace?: string | undefined;
  leaderElectionId: string;
  qps?: number;
  burst?: number;
}

export function loadKubeConfig(file?: string): RestConfig {
  // The loader's messages name the file and the field already. A list (KUBECONFIG=a:b, which
  // the flag takes from the environment) is merged as kubectl merges it.
  if (file && !file.includes(path.delimiter)) return loadKubeconfigFile(file);
  try {
    return loadDefaultKubeconfig(file ? { ...process.env, KUBECONFIG: file } : process.env);
  } catch (err) {
    throw new Error(`cannot load the default kubeconfig ($KUBECONFIG, ~/.kube/config or in-cluster): ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The namespace this Pod runs in (downward API or the service-account mount), else 'default'. */
export function podNamespace(): string {
  return process.env.POD_NAMESPACE || 'default';
}

export async function bootstrap(o: BootstrapOptions): Promise<{ manager: Manager; log: Logger; client: KubeClient }> {
  const log = createLogger({ name: o.component, level: o.logLevel });
  const kc = loadKubeConfig(o.kubeconfig);
  const client = await KubeClient.fromKubeConfig(kc, { userAgent: `${o.component}/${process.env.npm_package_version ?? 'dev'}`, qps: o.qps, burst: o.burst });
  injectFaults(client, log);
  const identity = `${process.env.POD_NAME || os.hostname()}_${process.pid}`;
  const opts: ManagerOptions = {
    client,
    logger: log,
    probeAddress: o.probeAddress || undefined,
    resyncMs: 10 * 60 * 60_000,
  };
  if (o.leaderElect) {
    opts.leaderElection = {
      namespace: o.leaderElectionNamespace || podNamespace(),
      name: o.leaderElectionId,
      identity,
      releaseOnCancel: true,
    };
  }
  log.info({ server: client.server.origin, identity, leaderElect: o.leaderElect }, 'starting');
  return { manager: new Manager(opts), log, client };
}

/**
 * Fault injection for crash tests (never set in production): KCP_OPERATOR_FAULT_CRASH_AFTER_WRITES=N
 * kills the process with SIGKILL right after its Nth successful write, so tests can stop it at
 * exact points mid-reconcile.
 */
function injectFaults(client: KubeClient, log: Logger): void {
  const n = Number(process.env.KCP_OPERATOR_FAULT_CRASH_AFTER_WRITES ?? '');
  if (!Number.isInteger(n) || n <= 0) return;
  log.warn({ afterWrites: n }, 'fault injection: will crash after this many writes');
  let writes = 0;
  client.onRequest = (verb, code) => {
    if (['create', 'update', 'patch', 'delete'].includes(verb) && code >= 200 && code < 300 && ++writes >= n) {
      process.kill(process.pid, 'SIGKILL');
    }
  };
}
