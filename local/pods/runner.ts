// The pod runner: runs the Deployments in a namespace as real processes on this machine, each Pod
// in its own network and mount namespace, Services resolvable by name through /etc/hosts, readiness
// probes reported back as the Deployment's status, and a restart whenever the pod template or the
// content of a mounted Secret or ConfigMap changes. Shared by the e2e tests and `make dev`.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeClient } from '../../src/kube/client.js';
import { Controller } from '../../src/kube/controller.js';
import { Informer } from '../../src/kube/informer.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Deployments, Secrets, Services } from '../../src/kube/resources.js';
import { binaryPath, type BinaryName } from '../binaries.js';
import { Network, reapStale } from './network.js';
import { Pod, removeCreatedMountPoints, type ContainerSpec, type PodSpec } from './pod.js';

export interface PodRunnerOptions {
  namespace: string;
  clusterDomain?: string;
  /** Which cached binary runs a container; default: the command's basename, else the image's name. */
  binaryFor?: (c: ContainerSpec) => BinaryName;
}

type DeploymentObj = KubeObject & {
  spec: { replicas?: number; selector?: unknown; template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } };
};

const KNOWN: readonly BinaryName[] = ['etcd', 'kube-apiserver', 'kubectl', 'kcp', 'kcp-front-proxy', 'cache-server'];

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

  constructor(
    private readonly client: KubeClient,
    private readonly opts: PodRunnerOptions,
  ) {
    reapStale();
    const id = String(process.pid);
    this.network = new Network(id, `10.213.${process.pid % 250}`);
    this.workDir = mkdtempSync(path.join(os.tmpdir(), 'kcp-op-pods-'));
    const scope = { namespace: opts.namespace };
    this.deployments = new Informer<DeploymentObj>(client, Deployments, scope);
    this.services = new Informer(client, Services, scope);
    this.secrets = new Informer(client, Secrets, scope);
    this.configMaps = new Informer(client, ConfigMaps, scope);
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
    this.services.on({ add: () => this.writeHosts(), update: () => this.writeHosts(), delete: () => this.writeHosts() });
  }

  async start(): Promise<void> {
    this.network.setUp();
    const infs = [this.deployments, this.services, this.secrets, this.configMaps];
    for (const i of infs) i.start();
    await Promise.all(infs.map((i) => i.waitForSync()));
    this.controller.start();
    this.probeTimer = setInterval(() => void this.probeAll(), 500);
  }

  /** Every Pod of a Deployment, for tests: name, address, process id, readiness. */
  podsOf(deployment: string): Array<{ name: string; ip: string | undefined; pid: number | undefined; ready: boolean }> {
    return (this.pods.get(`${this.opts.namespace}/${deployment}`) ?? []).map((p) => ({ name: p.name, ip: p.ip, pid: p.proc?.child.pid, ready: p.ready }));
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
      this.writeHosts();
      return;
    }
    const want = d.spec.replicas ?? 1;
    const hash = this.specHash(d);
    const keep = running.filter((p) => p.hash === hash);
    const stale = running.filter((p) => p.hash !== hash);
    // A rollout: the old Pods go first (the processes would fight over the same ports otherwise).
    await Promise.all(stale.map((p) => p.stop(this.network)));
    while (keep.length > want) await keep.pop()?.stop(this.network);
    const labels = d.spec.template.metadata?.labels ?? {};
    for (let i = keep.length; i < want; i++) {
      const pod = new Pod(`${d.metadata.name}-${hash.slice(0, 6)}-${i}`, this.opts.namespace, labels, d.spec.template.spec, hash, this.workDir);
      try {
        pod.materialize(this.data);
      } catch {
        // A mounted Secret is not there yet: the kubelet would wait too; its creation wakes us.
        break;
      }
      pod.start(this.network, (c) => binaryPath((this.opts.binaryFor ?? defaultBinaryFor)(c)), { HOME: pod.dir });
      keep.push(pod);
    }
    this.pods.set(key, keep);
    this.writeHosts();
    await this.writeStatus(d);
  }

  /** Service names → the address of a ready Pod they select (any Pod before one is ready). */
  private writeHosts(): void {
    const domain = this.opts.clusterDomain ?? 'cluster.local';
    const all = [...this.pods.values()].flat();
    const entries: Array<[string, string[]]> = [];
    for (const s of this.services.list()) {
      const sel = (s.spec as { selector?: Record<string, string> } | undefined)?.selector;
      if (!sel || Object.keys(sel).length === 0) continue;
      const matches = all.filter((p) => p.ip && Object.entries(sel).every(([k, v]) => p.labels[k] === v));
      const pick = matches.find((p) => p.ready) ?? matches[0];
      if (!pick?.ip) continue;
      const n = s.metadata.name ?? '';
      const ns = s.metadata.namespace ?? '';
      entries.push([pick.ip, [n, `${n}.${ns}`, `${n}.${ns}.svc`, `${n}.${ns}.svc.${domain}`]]);
    }
    for (const p of all) p.writeHosts(entries);
  }

  private async probeAll(): Promise<void> {
    for (const [key, pods] of this.pods) {
      let changed = false;
      for (const p of pods) {
        const ready = await p.probe();
        if (ready !== p.ready) {
          p.ready = ready;
          changed = true;
        }
      }
      if (changed) {
        this.writeHosts();
        const d = this.deployments.get(key);
        if (d) await this.writeStatus(d).catch(() => undefined);
      }
    }
  }

  /** The Deployment status a kube-controller-manager would write, from real readiness. */
  private async writeStatus(d: DeploymentObj): Promise<void> {
    const key = `${d.metadata.namespace}/${d.metadata.name}`;
    const pods = this.pods.get(key) ?? [];
    const want = d.spec.replicas ?? 1;
    const ready = pods.filter((p) => p.ready).length;
    const status = {
      observedGeneration: d.metadata.generation,
      replicas: pods.length,
      updatedReplicas: pods.length,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, want - ready),
      conditions: [
        { type: 'Available', status: ready >= want ? 'True' : 'False', reason: ready >= want ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', message: `${ready}/${want} ready (pod runner)` },
      ],
    };
    const text = JSON.stringify(status);
    if (this.lastStatus.get(key) === text) return;
    await this.client.patch(Deployments, d.metadata.namespace, d.metadata.name ?? '', { status }, 'merge', 'status');
    this.lastStatus.set(key, text);
  }

  async stop(): Promise<void> {
    if (this.probeTimer) clearInterval(this.probeTimer);
    await this.controller.stop();
    await Promise.all([this.deployments, this.services, this.secrets, this.configMaps].map((i) => i.stop()));
    await Promise.all([...this.pods.values()].flat().map((p) => p.stop(this.network)));
    this.pods.clear();
    this.network.tearDown();
    removeCreatedMountPoints();
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
