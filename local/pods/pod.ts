// One Pod of the pod runner: its volumes materialised as files, a network namespace, and its
// container's process (the binary the image stands for, from the hack/ cache) in a private mount
// and UTS namespace: hostname = Pod name, /etc/hosts from the runner, each volume mounted at its
// mountPath (mounts.ts). A container that exits is started again after a back-off (backoff.ts),
// in the same network namespace and with the same emptyDirs, as the kubelet does.
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ManagedProcess } from '../process.js';
import { Backoff, describeExit, formatDuration, type RestartBackoff, type Termination } from './backoff.js';
import { planMounts, q, type MountRequest } from './mounts.js';
import type { Network, PodNetwork } from './network.js';
import { probeOnce, Readiness, type Probe } from './probe.js';

export type { Probe } from './probe.js';

export interface ContainerSpec {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
  readinessProbe?: Probe;
}

export interface VolumeSpec {
  name: string;
  secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
  configMap?: { name: string; items?: Array<{ key: string; path: string }> };
  emptyDir?: Record<string, unknown>;
}

export interface PodSpec {
  containers: ContainerSpec[];
  volumes?: VolumeSpec[];
  hostAliases?: Array<{ ip: string; hostnames: string[] }>;
}

export type DataSource = (kind: 'Secret' | 'ConfigMap', name: string) => Record<string, Buffer> | undefined;

export class Pod {
  proc: ManagedProcess | undefined;
  network: PodNetwork | undefined;
  readonly dir: string;
  readonly logPath: string;
  /** Restarts of the container so far (the kubelet's restartCount). */
  restartCount = 0;
  lastTermination: Termination | undefined;
  /** When the current run started. */
  startedAt: Date | undefined;
  /** Set while the container waits out its back-off (CrashLoopBackOff). */
  nextRestartAt: Date | undefined;
  private readonly readiness: Readiness;
  private readonly backoff: Backoff;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private launch: (() => ManagedProcess) | undefined;
  private hostsContent = '';

  constructor(
    readonly name: string,
    readonly namespace: string,
    readonly labels: Record<string, string>,
    readonly spec: PodSpec,
    readonly hash: string,
    workDir: string,
    /** Called whenever readiness or the container's state changes. */
    private readonly onChange: () => void,
    backoff?: RestartBackoff,
  ) {
    this.dir = path.join(workDir, name);
    this.logPath = path.join(this.dir, 'container.log');
    this.readiness = new Readiness(spec.containers[0]?.readinessProbe);
    this.backoff = new Backoff(backoff);
  }

  get ip(): string | undefined {
    return this.network?.ip;
  }

  get ready(): boolean {
    return this.readiness.ready;
  }

  get running(): boolean {
    return !!this.proc?.running;
  }

  /** Files for every volume; throws if a Secret or ConfigMap it needs does not exist yet. */
  materialize(data: DataSource): void {
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    for (const v of this.spec.volumes ?? []) {
      const dir = path.join(this.dir, 'volumes', v.name);
      mkdirSync(dir, { recursive: true });
      const src = v.secret ? data('Secret', v.secret.secretName) : v.configMap ? data('ConfigMap', v.configMap.name) : {};
      if (!src) throw new Error(`${v.secret ? 'Secret' : 'ConfigMap'} ${v.secret?.secretName ?? v.configMap?.name} does not exist yet`);
      const items = v.secret?.items ?? v.configMap?.items ?? Object.keys(src).map((k) => ({ key: k, path: k }));
      for (const it of items) {
        const content = src[it.key];
        if (content === undefined) continue;
        mkdirSync(path.dirname(path.join(dir, it.path)), { recursive: true });
        writeFileSync(path.join(dir, it.path), content, { mode: 0o600 });
      }
    }
  }

  /** Starts the Pod with `hosts` (Service names) in its /etc/hosts from the first instant. */
  start(network: Network, binary: (c: ContainerSpec) => string, env: Record<string, string>, hosts: Array<[string, string[]]>): void {
    const c = this.spec.containers[0];
    if (!c) throw new Error(`pod ${this.name} has no container`);
    const mounts: MountRequest[] = (c.volumeMounts ?? []).map((m) => {
      const v = this.spec.volumes?.find((x) => x.name === m.name);
      if (!v) throw new Error(`pod ${this.name}: volumeMount ${m.name} names no volume`);
      const source = path.join(this.dir, 'volumes', m.name, m.subPath ?? '');
      // The kubelet creates a subPath that does not exist yet, as a directory.
      if (m.subPath && !existsSync(source)) mkdirSync(source, { recursive: true, mode: 0o755 });
      return { source, target: m.mountPath, podOwned: !!v.emptyDir, readOnly: !!m.readOnly || !v.emptyDir };
    });
    const hostsFile = path.join(this.dir, 'hosts');
    const lines = [
      'set -e',
      `echo -n ${q(this.name.slice(0, 63))} > /proc/sys/kernel/hostname`,
      // The runner keeps this file current (in place, so the bind mount follows).
      `mount --bind ${q(hostsFile)} /etc/hosts`,
      ...planMounts(mounts, path.join(this.dir, 'mnt')),
    ];
    const [cmd0, ...cmdRest] = c.command ?? [];
    const argv = [binary(c), ...(cmd0 ? cmdRest : []), ...(c.args ?? [])];
    lines.push(`exec ${argv.map(q).join(' ')}`);
    const launcher = path.join(this.dir, 'launch.sh');
    writeFileSync(launcher, lines.join('\n') + '\n', { mode: 0o700 });
    const containerEnv: Record<string, string> = {};
    for (const e of c.env ?? []) {
      const v = e.value ?? (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name' ? this.name : e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace' ? this.namespace : undefined);
      if (v !== undefined) containerEnv[e.name] = v;
    }
    this.network = network.addPod();
    this.writeHosts(hosts);
    const netns = this.network.netns;
    this.launch = () =>
      ManagedProcess.start(this.name, 'ip', ['netns', 'exec', netns, 'unshare', '--mount', '--uts', '--propagation', 'private', 'bash', launcher], {
        logPath: this.logPath,
        env: { ...env, ...containerEnv },
      });
    this.run();
  }

  private run(): void {
    if (!this.launch || this.stopping) return;
    const proc = this.launch();
    const startedAt = new Date();
    this.proc = proc;
    this.startedAt = startedAt;
    this.nextRestartAt = undefined;
    proc.child.once('exit', (code, signal) => this.exited(proc, startedAt, code, signal));
  }

  private exited(proc: ManagedProcess, startedAt: Date, code: number | null, signal: NodeJS.Signals | null): void {
    // A Pod being stopped, or a run already replaced, is not restarted.
    if (this.stopping || proc !== this.proc) return;
    const finishedAt = new Date();
    this.readiness.reset();
    this.lastTermination = { exitCode: code, ...(signal ? { signal } : {}), startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString() };
    const delay = this.backoff.next(finishedAt.getTime() - startedAt.getTime());
    this.nextRestartAt = new Date(finishedAt.getTime() + delay);
    appendFileSync(this.logPath, `--- container ${describeExit(this.lastTermination)}; restart ${this.restartCount + 1} in ${formatDuration(delay)} (${finishedAt.toISOString()})\n`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restartCount++;
      this.run();
      this.onChange();
    }, delay);
    this.onChange();
  }

  /** /etc/hosts for this Pod; written in place so that the running container's bind mount sees it. */
  writeHosts(entries: Array<[string, string[]]>): void {
    const lines = ['127.0.0.1 localhost'];
    if (this.ip) lines.push(`${this.ip} ${this.name}`);
    for (const a of this.spec.hostAliases ?? []) lines.push(`${a.ip} ${a.hostnames.join(' ')}`);
    for (const [ip, names] of entries) lines.push(`${ip} ${names.join(' ')}`);
    const content = lines.join('\n') + '\n';
    if (content === this.hostsContent) return;
    this.hostsContent = content;
    writeFileSync(path.join(this.dir, 'hosts'), content);
  }

  /** Probes once if due; true if readiness changed. */
  async probe(): Promise<boolean> {
    const c = this.spec.containers[0];
    const proc = this.proc;
    const ip = this.ip;
    if (!proc?.running || !ip || !c || !this.startedAt) return this.readiness.ready ? (this.readiness.reset(), true) : false;
    if (!this.readiness.due(this.startedAt.getTime())) return false;
    const port = (x: number | string) => this.containerPort(x) ?? Number(x);
    const ok = c.readinessProbe ? await probeOnce(c.readinessProbe, ip, port) : true;
    // The run may have ended while the probe was out: its answer is stale then.
    if (proc !== this.proc || !proc.running) return false;
    return this.readiness.record(ok);
  }

  /** The container's named or numbered port. */
  containerPort(x: number | string): number | undefined {
    if (typeof x === 'number') return x;
    return this.spec.containers[0]?.ports?.find((cp) => cp.name === x)?.containerPort;
  }

  async stop(network: Network): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.nextRestartAt = undefined;
    await this.proc?.stop(5000);
    if (this.network) network.removePod(this.network);
    this.network = undefined;
    this.readiness.reset();
  }
}
