// The pod runner: runs the Deployments in a namespace as real processes on this machine, each Pod
// in its own network and mount namespace, Services resolvable by name (to ready Pods only) through
// /etc/hosts, readiness probes reported back as the Deployment's status, a container that exits
// restarted with the kubelet's CrashLoopBackOff, and a new Pod whenever the pod template or the
// content of a mounted Secret or ConfigMap changes. Shared by the e2e tests and `make dev`.
//
// Deployment status, as a kube-controller-manager would write it from real readiness, plus what
// only Pod objects would show (there are none):
// - Available: True once every replica is ready; its message is `<ready>/<want> ready (pod runner)`
//   followed, for each Pod whose container has restarted or exited, by
//   `; <pod>: <n> restarts, last exited with code <c> at <time>` (`was killed by <signal>`).
// - Progressing: False with reason CrashLoopBackOff while a container waits out its back-off
//   (message `<pod>: back-off <d> restarting failed container (restart <n>); last exited with code
//   <c> at <time>`), which the operator carries into its own Available message; else True.
// Each exit is also a line in the Pod's log (podsOf().logPath):
//   `--- container exited with code 1; restart 3 in 40s (<time>)`.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeClient } from '../../src/kube/client.js';
import { Controller } from '../../src/kube/controller.js';
import { Informer } from '../../src/kube/informer.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Deployments, Secrets, Services } from '../../src/kube/resources.js';
import { binaryPath, type BinaryName } from '../binaries.js';
import { describeExit, formatDuration, type Termination } from './backoff.js';
import { Network, processAlive, reapStale } from './network.js';
import { Pod, type ContainerSpec, type PodSpec } from './pod.js';
import { Routing, type PortForward } from './routing.js';

export type { PortForward } from './routing.js';
export type { RestartBackoff, Termination } from './backoff.js';

export interface PodRunnerOptions {
  namespace: string;
  clusterDomain?: string;
  /** Which cached binary runs a container; default: the command's basename, else the image's name. */
  binaryFor?: (c: ContainerSpec) => BinaryName;
  /**
   * The first restart back-off of a container that exited; default the kubelet's 10 s. It doubles
   * with each restart up to 5 min and starts over once the container has run 10 min.
   */
  crashLoopBackOffMs?: number;
  /**
   * The Pod network, for several runners in one process (one per cluster). `id` names the bridge
   * (`kpr<id>`) and namespaces: this process's pid, optionally followed by one letter; `subnet` the
   * first three octets of its /24, e.g. "10.213.7". Default: the pid (then pid + a, b, ...) and a
   * 10.213.x/24 no interface on this machine uses.
   *
   * `{ join: other }`: on `other`'s network instead (one bridge, one /24, one address pool), so Pods of
   * two clusters reach each other (network.ts); the bridge goes with the last runner on it to stop.
   */
  network?: { id?: string; subnet?: string } | { join: PodRunner };
}

/** A Pod as podsOf() reports it. */
export interface PodInfo {
  name: string;
  ip: string | undefined;
  /** The Pod's process group (the reaper that runs its container); signals to -pid reach the container. */
  pid: number | undefined;
  ready: boolean;
  /** The container's output, and a line for each exit. */
  logPath: string;
  /** `running`, or `waiting` out its restart back-off (CrashLoopBackOff). */
  state: 'running' | 'waiting';
  restartCount: number;
  /** When the current run started (ISO 8601). */
  startedAt: string | undefined;
  lastTermination: Termination | undefined;
  /** While waiting: when the container starts again (ISO 8601). */
  nextRestartAt: string | undefined;
}

type DeploymentObj = KubeObject & {
  spec: { replicas?: number; selector?: unknown; template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } };
};

const KNOWN: readonly BinaryName[] = ['etcd', 'kube-apiserver', 'kubectl', 'kcp', 'kcp-front-proxy', 'cache-server', 'virtual-workspaces'];

export function defaultBinaryFor(c: ContainerSpec): BinaryName {
  const fromCommand = c.command?.[0]?.split('/').pop();
  const fromImage = c.image?.split('@')[0]?.split(':')[0]?.split('/').pop();
  for (const candidate of [fromCommand, fromImage]) {
    if (candidate && (KNOWN as readonly string[]).includes(candidate)) return candidate as BinaryName;
  }
  throw new Error(`no binary for container ${c.name} (image ${c.image ?? '?'}, command ${c.command?.join(' ') ?? '?'})`);
}

export class PodRunner {
  private readonly network: Network;
  private readonly workDir: string;
  private readonly pods = new Map<string, Pod[]>();
  private readonly deployments: Informer<DeploymentObj>;
  private readonly services: Informer<KubeObject>;
  private readonly secrets: Informer<KubeObject>;
  private readonly configMaps: Informer<KubeObject>;
  private readonly controller: Controller;
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly lastStatus = new Map<string, string>();
  private readonly statusWrites = new Map<string, Promise<void>>();
  private readonly routing: Routing;
  private stopped = false;
  private probing = false;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: PodRunnerOptions,
  ) {
    reapStale();
    const net = opts.network;
    if (net && 'join' in net && net.join.stopped) throw new Error('pod runner: cannot join the network of a stopped runner');
    this.network = net && 'join' in net ? net.join.network.retain() : Network.claim(net).retain();
    // Named by the id, so that a later runner can remove what a killed one left.
    for (const d of readdirSync(os.tmpdir())) {
      const m = /^kcp-op-pods-(\d+)[a-z]?-/.exec(d);
      if (m && !processAlive(Number(m[1]))) rmSync(path.join(os.tmpdir(), d), { recursive: true, force: true });
    }
    this.workDir = mkdtempSync(path.join(os.tmpdir(), `kcp-op-pods-${this.network.id}-`));
    const scope = { namespace: opts.namespace };
    this.deployments = new Informer<DeploymentObj>(client, Deployments, scope);
    this.services = new Informer(client, Services, scope);
    this.secrets = new Informer(client, Secrets, scope);
    this.configMaps = new Informer(client, ConfigMaps, scope);
    this.routing = new Routing(opts.namespace, opts.clusterDomain ?? 'cluster.local', this.workDir, () => this.services.list(), () => [...this.pods.values()].flat());
    this.controller = new Controller('pod-runner', (req) => this.reconcile(req.key), { concurrency: 2 });
    this.controller.watchFor(this.deployments);
    // A mounted Secret or ConfigMap changing restarts the Pods that mount it.
    const mounting = (kind: 'secret' | 'configMap') => (o: KubeObject) =>
      this.deployments
        .list()
        .filter((d) => (d.spec.template.spec.volumes ?? []).some((v) => (kind === 'secret' ? v.secret?.secretName : v.configMap?.name) === o.metadata.name))
        .map((d) => `${d.metadata.namespace}/${d.metadata.name}`);
    this.controller.watchMapped(this.secrets, mounting('secret'));
    this.controller.watchMapped(this.configMaps, mounting('configMap'));
    const refresh = () => this.routing.refresh();
    this.services.on({ add: refresh, update: refresh, delete: refresh });
  }

  async start(): Promise<void> {
    this.network.setUp();
    const infs = [this.deployments, this.services, this.secrets, this.configMaps];
    for (const i of infs) i.start();
    await Promise.all(infs.map((i) => i.waitForSync()));
    this.controller.start();
    this.probeTimer = setInterval(() => void this.probeAll(), 500);
  }

  /** Every Pod of a Deployment: address, process, readiness, log, restarts and last exit. */
  podsOf(deployment: string): PodInfo[] {
    return (this.pods.get(`${this.opts.namespace}/${deployment}`) ?? []).map((p) => ({
      name: p.name,
      ip: p.ip,
      pid: p.proc?.child.pid,
      ready: p.ready,
      logPath: p.logPath,
      state: p.nextRestartAt ? 'waiting' : 'running',
      restartCount: p.restartCount,
      startedAt: p.startedAt?.toISOString(),
      lastTermination: p.lastTermination,
      nextRestartAt: p.nextRestartAt?.toISOString(),
    }));
  }

  /**
   * The log file of every Pod this runner has run, including Pods a rollout or a scale-down has
   * since removed (their directories stay until stop()), e.g. for a scan of everything kcp logged.
   */
  containerLogs(): string[] {
    return readdirSync(this.workDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(this.workDir, d.name, 'container.log'))
      .filter((f) => existsSync(f));
  }

  /**
   * The address of a ready Pod behind a Service: `<svc>` of this runner's namespace, or
   * `<svc>.<ns>[.svc[.<domain>]]`, an ExternalDNS name, or a peer's name (peer()). Undefined while
   * none is ready, as a Pod's /etc/hosts shows it.
   */
  resolve(service: string): string | undefined {
    return this.routing.resolve(service);
  }

  /**
   * Like `kubectl port-forward svc/<service> <localPort>:<port>`: listens on 127.0.0.1:`localPort`
   * (default: a free port) and sends each connection to a ready Pod of the Service, at the
   * Service's targetPort for `port` (or `port` itself if the Service does not list it). A
   * connection made while no Pod is ready is reset at once. Closed by runner.stop() too.
   */
  forward(service: string, port: number, localPort?: number): Promise<PortForward> {
    return this.routing.forward(service, port, localPort);
  }

  /**
   * A hosts file (the host's /etc/hosts plus `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.<domain>`
   * → a ready Pod's address) that the runner keeps current, rewriting it in place. Host processes
   * see it through clusterDnsPrefix().
   */
  clusterDnsHostsFile(): string {
    return this.routing.clusterHostsFile;
  }

  /**
   * The argv prefix that runs a host process (the operator) "with cluster DNS": in the host's
   * network namespace (127.0.0.1 and the Pod addresses over the bridge stay reachable) but in a
   * private mount namespace where /etc/hosts is clusterDnsHostsFile(). glibc and Node's
   * dns.lookup read /etc/hosts on each lookup, Go's resolver when its mtime changes, so the
   * process follows readiness changes. E.g. `spawn(p[0], [...p.slice(1), 'node', 'dist/main.js'])`.
   */
  clusterDnsPrefix(): string[] {
    return this.routing.clusterDnsPrefix();
  }

  /** `argv` run with cluster DNS: clusterDnsPrefix() followed by `argv`. */
  withClusterDns(argv: string[]): string[] {
    return [...this.clusterDnsPrefix(), ...argv];
  }

  /** This runner's hosts entries (ready Services by their namespaced names, and ExternalDNS names); not its peers'. */
  hostsEntries(): Array<[string, string[]]> {
    return this.routing.hostsEntries();
  }

  /** The bridge this runner's Pods are on (`kpr<id>`), shared with the runners that joined it or that it joined. */
  get bridge(): string {
    return this.network.bridge;
  }

  /**
   * Peers this runner with `other` (another cluster's), both ways: each one's Pods, cluster DNS hosts
   * file and resolve() also know the other's ready Services as `<svc>.<ns>` and `<svc>.<ns>.svc.<domain>`
   * (never the bare `<svc>`) and its ExternalDNS names, following readiness, until either stops
   * (routing.ts). Pods reach those addresses when the two share a network (`network: { join }`).
   */
  peer(other: PodRunner): void {
    if (this.stopped || other.stopped) throw new Error('pod runner: cannot peer a stopped runner');
    this.routing.addPeer(other.routing);
  }

  /** Ends a peering made with peer(); both sides drop the other's names. */
  unpeer(other: PodRunner): void {
    this.routing.removePeer(other.routing, this.stopped);
  }

  private data = (kind: 'Secret' | 'ConfigMap', name: string): Record<string, Buffer> | undefined => {
    const o = (kind === 'Secret' ? this.secrets : this.configMaps).getByName(this.opts.namespace, name);
    if (!o) return undefined;
    const out: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries((o.data as Record<string, string> | undefined) ?? {})) out[k] = kind === 'Secret' ? Buffer.from(v, 'base64') : Buffer.from(v);
    for (const [k, v] of Object.entries((o.binaryData as Record<string, string> | undefined) ?? {})) out[k] = Buffer.from(v, 'base64');
    return out;
  };

  /** What a Pod runs: its template and the content of everything it mounts. */
  private specHash(d: DeploymentObj): string {
    const h = createHash('sha256').update(JSON.stringify(d.spec.template));
    for (const v of d.spec.template.spec.volumes ?? []) {
      const src = v.secret ? this.data('Secret', v.secret.secretName) : v.configMap ? this.data('ConfigMap', v.configMap.name) : undefined;
      for (const k of Object.keys(src ?? {}).sort()) h.update(`${v.name}/${k}`).update(src?.[k] ?? Buffer.alloc(0));
    }
    return h.digest('hex').slice(0, 16);
  }

  private async reconcile(key: string): Promise<void | { requeueAfterMs: number }> {
    const d = this.deployments.get(key);
    const running = this.pods.get(key) ?? [];
    if (!d) {
      await Promise.all(running.map((p) => p.stop(this.network)));
      this.pods.delete(key);
      this.routing.refresh();
      return;
    }
    const want = d.spec.replicas ?? 1;
    const hash = this.specHash(d);
    const keep = running.filter((p) => p.hash === hash);
    const old = running.filter((p) => p.hash !== hash);
    // Each Pod has its own network namespace, so old and new run side by side: a rollout is rolling,
    // as the Deployment controller's defaults make it (maxSurge 25% rounded up, maxUnavailable 25%
    // rounded down: for 1 or 2 replicas, one new Pod at a time and no ready Pod given up early).
    const maxSurge = Math.max(1, Math.ceil(want * 0.25));
    const maxUnavailable = Math.floor(want * 0.25);
    const remove = async (p: Pod) => {
      // It leaves the Services before it stops, as an endpoint is removed before the kubelet kills.
      this.pods.set(key, (this.pods.get(key) ?? []).filter((x) => x !== p));
      this.routing.refresh();
      await p.stop(this.network);
    };
    this.pods.set(key, [...keep, ...old]);
    while (keep.length > want) await remove(keep.pop() as Pod);
    const labels = d.spec.template.metadata?.labels ?? {};
    const used = new Set(running.map((p) => p.name));
    for (let i = 0; keep.length < want && keep.length + old.length < want + maxSurge; i++) {
      const name = `${d.metadata.name}-${hash.slice(0, 6)}-${i}`;
      if (used.has(name)) continue;
      const pod = new Pod(name, this.opts.namespace, labels, d.spec.template.spec, hash, this.workDir, () => this.podChanged(key), this.opts.crashLoopBackOffMs ? { initialMs: this.opts.crashLoopBackOffMs } : {});
      try {
        pod.materialize(this.data);
      } catch {
        // A mounted Secret is not there yet: the kubelet would wait too; its creation wakes us.
        break;
      }
      if (this.stopped) return;
      pod.start(this.network, (c) => binaryPath((this.opts.binaryFor ?? defaultBinaryFor)(c)), { HOME: pod.dir }, this.routing.podEntries());
      keep.push(pod);
      used.add(name);
      this.pods.set(key, [...keep, ...old]);
    }
    // Old Pods go, unready ones first, as long as enough Pods stay ready.
    old.sort((a, b) => Number(a.ready) - Number(b.ready));
    while (old.length > 0) {
      const ready = [...keep, ...old].filter((p) => p.ready).length;
      const next = old[0] as Pod;
      if (next.ready && ready - 1 < want - maxUnavailable) break;
      old.shift();
      await remove(next);
    }
    this.routing.refresh();
    await this.writeStatus(key);
    // A rollout in progress: look again once new Pods had time to become ready (readiness
    // changes do not enqueue the Deployment).
    if (old.length > 0) return { requeueAfterMs: 1000 };
  }

  /** A Pod's container exited, restarted, or changed readiness. */
  private podChanged(key: string): void {
    if (this.stopped) return;
    this.routing.refresh();
    this.writeStatus(key).catch(() => undefined);
  }

  /**
   * Every 0.5 s whatever periodSeconds says, so readiness shows quickly; one round at a time (a
   * frozen Pod's probe takes its whole timeout), so each result counts once toward the thresholds.
   */
  private async probeAll(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      await Promise.all(
        [...this.pods].map(async ([key, pods]) => {
          const changed = await Promise.all(pods.map((p) => p.probe()));
          if (changed.some(Boolean)) this.podChanged(key);
        }),
      );
    } finally {
      this.probing = false;
    }
  }

  /** Writes one Deployment's status; writes of one key run one after another, each from the state then. */
  private writeStatus(key: string): Promise<void> {
    const next = (this.statusWrites.get(key) ?? Promise.resolve()).catch(() => undefined).then(() => this.writeStatusNow(key));
    this.statusWrites.set(key, next);
    return next;
  }

  private async writeStatusNow(key: string): Promise<void> {
    const d = this.deployments.get(key);
    if (!d || this.stopped) return;
    const pods = this.pods.get(key) ?? [];
    const want = d.spec.replicas ?? 1;
    const ready = pods.filter((p) => p.ready).length;
    const at = (t: Termination) => `${describeExit(t)} at ${t.finishedAt}`;
    const restarts = pods
      .filter((p) => p.lastTermination)
      .map((p) => `; ${p.name}: ${p.restartCount} restart${p.restartCount === 1 ? '' : 's'}, last ${at(p.lastTermination as Termination)}`)
      .join('');
    const waiting = pods.filter((p) => p.nextRestartAt && p.lastTermination);
    const backoff = waiting.map((p) => {
      const wait = Math.max(0, (p.nextRestartAt?.getTime() ?? 0) - new Date(p.lastTermination?.finishedAt ?? 0).getTime());
      return `${p.name}: back-off ${formatDuration(wait)} restarting failed container (restart ${p.restartCount + 1}); last ${at(p.lastTermination as Termination)}`;
    });
    const status = {
      observedGeneration: d.metadata.generation,
      replicas: pods.length,
      updatedReplicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, want - ready),
      conditions: [
        { type: 'Available', status: ready >= want ? 'True' : 'False', reason: ready >= want ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', message: `${ready}/${want} ready (pod runner)${restarts}` },
        backoff.length > 0
          ? { type: 'Progressing', status: 'False', reason: 'CrashLoopBackOff', message: backoff.join('; ') }
          : { type: 'Progressing', status: 'True', reason: ready >= want ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', message: 'pod runner' },
      ],
    };
    const text = JSON.stringify(status);
    if (this.lastStatus.get(key) === text) return;
    await this.client.patch(Deployments, d.metadata.namespace, d.metadata.name ?? '', { status }, 'merge', 'status');
    this.lastStatus.set(key, text);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.probeTimer) clearInterval(this.probeTimer);
    await this.controller.stop();
    await Promise.all([this.deployments, this.services, this.secrets, this.configMaps].map((i) => i.stop()));
    // Peers drop this cluster's names before its Pods go (as endpoints go before the kubelet kills).
    this.routing.removePeers();
    await this.routing.closeForwards();
    await Promise.all([...this.pods.values()].flat().map((p) => p.stop(this.network)));
    this.pods.clear();
    await Promise.all([...this.statusWrites.values()].map((w) => w.catch(() => undefined)));
    // The bridge stays while a runner that joined this one (or that this one joined) still runs.
    this.network.release();
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
