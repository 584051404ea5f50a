// A whole local installation in one object: a control plane (etcd + kube-apiserver), deploy/'s
// namespace and RBAC, the pod runner for one namespace, and the operator and the sync sidecar as
// processes under their own ServiceAccounts, the way a user runs them. `make dev` and the e2e
// tests both stand on it.
//
// What stands in for a cluster here: the pod runner is the kubelet and the Deployment controller;
// the operator runs on the host network (it reaches the API server on loopback and Pods over the
// runner's bridge) with the runner's Service names in its /etc/hosts, which stands in for cluster
// DNS; `forward()` is `kubectl port-forward svc/...`.
//
// Two clusters (multi-cluster federation): a second stack started with `peerOf: first` has its own
// control plane and runner, but its Pods join the first's bridge and the two runners are peered, so
// Pods and operators of each resolve the other's Services by FQDN and ExternalDNS names and reach them.
// That stands in for the network between clusters (one flat L2 segment instead of routed cluster
// networks) and for cross-cluster DNS (multi-cluster Services, ExternalDNS or published load
// balancer names); see local/pods/network.ts and routing.ts. Either stack may stop first.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RestConfig } from '../src/kube/kubeconfig.js';
import { stringify } from 'yaml';
import type { KubeClient } from '../src/kube/client.js';
import type { KubeObject } from '../src/kube/object.js';
import { Namespaces } from '../src/kube/resources.js';
import { binaryPath } from './binaries.js';
import { entryArgv, type Entry } from './entry.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { INSTALL_NAMESPACE, installRbac, serviceAccountKubeconfig } from './install.js';
import { PodRunner } from './pods/runner.js';
import { freePort } from './ports.js';
import { ManagedProcess } from './process.js';

export interface LocalStackOptions {
  /** Names the control plane's directory and the processes' log files. */
  name: string;
  /** The namespace whose Deployments the pod runner runs (the kcp installation's namespace). */
  namespace: string;
  /** An already running control plane; by default one is started (and stopped with the stack). */
  controlPlane?: ControlPlane;
  /** Start the operator (default true; false for a stack that only runs Pods, e.g. a benchmark's floor). */
  operator?: boolean;
  /** Start the sync sidecar too (default false). */
  sidecar?: boolean;
  /** Extra sidecar flags, e.g. `--cluster-name=hub` for a cluster that takes part in federation. */
  sidecarArgs?: string[];
  /** Extra operator flags. */
  operatorArgs?: string[];
  /** Operator and sidecar log level (default info). */
  logLevel?: string;
  /** Pod runner: first restart back-off (default the kubelet's 10 s). */
  crashLoopBackOffMs?: number;
  /**
   * Another stack (another cluster, in another namespace) whose Pod network this one's runner joins
   * and with which it peers (PodRunner `network: { join }` and peer()). Stops in either order.
   */
  peerOf?: LocalStack;
}

export class LocalStack {
  operator: ManagedProcess | undefined;
  sidecar: ManagedProcess | undefined;
  operatorProbePort = 0;
  sidecarProbePort = 0;
  readonly logDir: string;

  private constructor(
    readonly opts: LocalStackOptions,
    readonly cp: ControlPlane,
    private readonly ownsControlPlane: boolean,
    readonly admin: KubeClient,
    readonly runner: PodRunner,
  ) {
    this.logDir = path.join(cp.dir, 'logs');
    mkdirSync(this.logDir, { recursive: true });
  }

  get namespace(): string {
    return this.opts.namespace;
  }

  static async start(opts: LocalStackOptions): Promise<LocalStack> {
    const cp = opts.controlPlane ?? (await startControlPlane({ name: opts.name }));
    try {
      const admin = await cp.client(`local-stack-${opts.name}`);
      await admin.apply(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: opts.namespace } }, 'local-stack');
      installRbac(cp);
      const runner = new PodRunner(admin, {
        namespace: opts.namespace,
        ...(opts.crashLoopBackOffMs ? { crashLoopBackOffMs: opts.crashLoopBackOffMs } : {}),
        ...(opts.peerOf ? { network: { join: opts.peerOf.runner } } : {}),
      });
      let stack: LocalStack | undefined;
      try {
        await runner.start();
        if (opts.peerOf) runner.peer(opts.peerOf.runner);
        stack = new LocalStack(opts, cp, !opts.controlPlane, admin, runner);
        if (opts.operator ?? true) await stack.startOperator();
        if (opts.sidecar) await stack.startSidecar();
        return stack;
      } catch (err) {
        // Nothing of a failed start outlives it: the runner could hold a bridge and a peering another stack uses.
        await Promise.all([stack?.operator?.stop(10_000), stack?.sidecar?.stop(10_000)]);
        await runner.stop();
        admin.close();
        throw err;
      }
    } catch (err) {
      if (!opts.controlPlane) await cp.stop();
      throw err;
    }
  }

  /** The operator as a process under ServiceAccount kcp-operator, with cluster DNS. */
  async startOperator(): Promise<ManagedProcess> {
    if (this.operator?.running) throw new Error('the operator is already running');
    const kubeconfig = await serviceAccountKubeconfig(this.cp, this.admin, 'kcp-operator', 24 * 3600);
    this.operatorProbePort = await freePort();
    this.operator = this.spawnEntry('operator', 'src/main.ts', [
      `--kubeconfig=${kubeconfig}`,
      `--health-probe-bind-address=127.0.0.1:${this.operatorProbePort}`,
      '--leader-elect',
      `--leader-election-namespace=${INSTALL_NAMESPACE}`,
      ...(this.opts.operatorArgs ?? []),
    ]);
    return this.operator;
  }

  /** The sync sidecar as a process under ServiceAccount kcp-sync. */
  async startSidecar(): Promise<ManagedProcess> {
    if (this.sidecar?.running) throw new Error('the sidecar is already running');
    const kubeconfig = await serviceAccountKubeconfig(this.cp, this.admin, 'kcp-sync', 24 * 3600);
    this.sidecarProbePort = await freePort();
    this.sidecar = this.spawnEntry('sync', 'sync/main.ts', [
      `--kubeconfig=${kubeconfig}`,
      `--namespace=${INSTALL_NAMESPACE}`,
      `--health-probe-bind-address=127.0.0.1:${this.sidecarProbePort}`,
      ...(this.opts.sidecarArgs ?? []),
    ]);
    return this.sidecar;
  }

  private spawnEntry(name: string, entry: Entry, args: string[]): ManagedProcess {
    const argv = [...entryArgv(entry), ...args];
    const [cmd, ...rest] = this.runner.withClusterDns(argv);
    return ManagedProcess.start(name, cmd ?? '', rest, {
      logPath: path.join(this.logDir, `${name}.log`),
      env: { POD_NAMESPACE: INSTALL_NAMESPACE, LOG_LEVEL: this.opts.logLevel ?? 'info' },
    });
  }

  /** `kubectl apply --server-side` into the stack's namespace, as the admin: objects or files. */
  apply(what: KubeObject[] | { files: string[] }, fieldManager = 'local-stack'): Promise<string> {
    const args = ['apply', '--server-side', `--field-manager=${fieldManager}`, '-n', this.namespace];
    if ('files' in what) return this.kubectl([...args, ...what.files.flatMap((f) => ['-f', f])]);
    return this.kubectl([...args, '-f', '-'], what.map((o) => stringify(o)).join('---\n'));
  }

  /**
   * kubectl as the admin of this control plane; its stdout, or an error with its stderr. Never
   * synchronous: the pod runner and the forwards live in this process and must keep running.
   */
  kubectl(args: string[], stdin?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(binaryPath('kubectl'), ['--kubeconfig', this.cp.kubeconfigPath, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`kubectl ${args.join(' ')}: exit ${code}: ${stderr.trim()}`))));
      child.stdin.end(stdin ?? '');
    });
  }

  async logOf(name: 'operator' | 'sync'): Promise<string> {
    return readFile(path.join(this.logDir, `${name}.log`), 'utf8').catch(() => '');
  }

  kubeConfig(): RestConfig {
    return this.cp.kubeConfig();
  }

  async stop(): Promise<void> {
    await Promise.all([this.operator?.stop(10_000), this.sidecar?.stop(10_000)]);
    await this.runner.stop();
    this.admin.close();
    if (this.ownsControlPlane) await this.cp.stop();
  }
}
