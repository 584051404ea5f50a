// One Pod of the pod runner: its volumes materialised as files, a network namespace, a private
// mount namespace with each volume bind-mounted at its mountPath, /etc/hosts from the runner, and
// the container's process (the binary the image stands for, from the hack/ cache).
import { mkdirSync, existsSync, writeFileSync, rmSync, rmdirSync, readdirSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { ManagedProcess } from '../process.js';
import type { Network, PodNetwork } from './network.js';

export interface ContainerSpec {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string }>;
  readinessProbe?: Probe;
}

export interface Probe {
  httpGet?: { path?: string; port: number | string; scheme?: string };
  tcpSocket?: { port: number | string };
  periodSeconds?: number;
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

/** Directories the runner created on the host to mount on; removed again when empty. */
const createdMountPoints = new Set<string>();

function ensureMountPoint(p: string): void {
  let top: string | undefined;
  for (let dir = p; !existsSync(dir); dir = path.dirname(dir)) top = dir;
  mkdirSync(p, { recursive: true });
  if (top) createdMountPoints.add(top);
}

export function removeCreatedMountPoints(): void {
  const rmEmpty = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmEmpty(path.join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      // not empty: something else lives there now; leave it
    }
  };
  for (const top of createdMountPoints) rmEmpty(top);
  createdMountPoints.clear();
}

export class Pod {
  proc: ManagedProcess | undefined;
  network: PodNetwork | undefined;
  ready = false;
  readonly dir: string;

  constructor(
    readonly name: string,
    readonly namespace: string,
    readonly labels: Record<string, string>,
    readonly spec: PodSpec,
    readonly hash: string,
    workDir: string,
  ) {
    this.dir = path.join(workDir, name);
  }

  get ip(): string | undefined {
    return this.network?.ip;
  }

  /** Files for every volume; throws if a Secret or ConfigMap it needs does not exist yet. */
  materialize(data: DataSource): void {
    rmSync(this.dir, { recursive: true, force: true });
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

  start(network: Network, binary: (c: ContainerSpec) => string, env: Record<string, string>): void {
    const c = this.spec.containers[0];
    if (!c) throw new Error(`pod ${this.name} has no container`);
    this.network = network.addPod();
    const lines = ['set -e'];
    for (const m of c.volumeMounts ?? []) {
      const src = path.join(this.dir, 'volumes', m.name, m.subPath ?? '');
      ensureMountPoint(m.mountPath);
      lines.push(`mount --bind ${JSON.stringify(src)} ${JSON.stringify(m.mountPath)}`);
    }
    const [cmd0, ...cmdRest] = c.command ?? [];
    const argv = [binary(c), ...(cmd0 ? cmdRest : []), ...(c.args ?? [])];
    lines.push(`exec ${argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`);
    const launcher = path.join(this.dir, 'launch.sh');
    writeFileSync(launcher, lines.join('\n') + '\n', { mode: 0o700 });
    const containerEnv: Record<string, string> = {};
    for (const e of c.env ?? []) {
      const v = e.value ?? (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name' ? this.name : e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace' ? this.namespace : undefined);
      if (v !== undefined) containerEnv[e.name] = v;
    }
    this.proc = ManagedProcess.start(
      this.name,
      'ip',
      ['netns', 'exec', this.network.netns, 'unshare', '--mount', '--propagation', 'private', 'bash', launcher],
      { logPath: path.join(this.dir, 'container.log'), env: { ...env, ...containerEnv } },
    );
  }

  /** /etc/hosts for this Pod: `ip netns exec` bind-mounts /etc/netns/<netns>/hosts over it. */
  writeHosts(entries: Array<[string, string[]]>): void {
    if (!this.network) return;
    const dir = path.join('/etc/netns', this.network.netns);
    mkdirSync(dir, { recursive: true });
    const lines = ['127.0.0.1 localhost', `${this.network.ip} ${this.name}`];
    for (const a of this.spec.hostAliases ?? []) lines.push(`${a.ip} ${a.hostnames.join(' ')}`);
    for (const [ip, names] of entries) lines.push(`${ip} ${names.join(' ')}`);
    writeFileSync(path.join(dir, 'hosts'), lines.join('\n') + '\n');
  }

  async probe(): Promise<boolean> {
    const c = this.spec.containers[0];
    if (!this.ip || !this.proc?.running || !c) return false;
    const p = c.readinessProbe;
    if (!p) return true;
    const port = (x: number | string) => (typeof x === 'number' ? x : (c.ports?.find((cp) => cp.name === x)?.containerPort ?? Number(x)));
    if (p.tcpSocket) {
      return new Promise((resolve) => {
        const s = net.connect({ host: this.ip, port: port(p.tcpSocket!.port), timeout: 1000 }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
        s.on('timeout', () => (s.destroy(), resolve(false)));
      });
    }
    if (p.httpGet) {
      const g = p.httpGet;
      const mod = g.scheme === 'HTTPS' ? https : http;
      return new Promise((resolve) => {
        // Like the kubelet: no certificate verification for probes.
        const req = mod.get({ host: this.ip, port: port(g.port), path: g.path ?? '/', timeout: 1000, rejectUnauthorized: false }, (res) => {
          res.resume();
          resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
        });
        req.on('error', () => resolve(false));
        req.on('timeout', () => req.destroy());
      });
    }
    return true;
  }

  async stop(network: Network): Promise<void> {
    await this.proc?.stop(5000);
    if (this.network) {
      rmSync(path.join('/etc/netns', this.network.netns), { recursive: true, force: true });
      network.removePod(this.network);
    }
    this.network = undefined;
    this.ready = false;
  }
}
