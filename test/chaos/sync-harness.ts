// Shared by the sidecar's chaos tests (sync-kill, sync-partition): a seeded random source, the
// sidecar as a real process (sync/main.ts under tsx, so SIGKILL is a real kill -9) with its output
// kept for the leak scan, a hub and two edges with the documented RBAC, and PEM keys to sync.
import type { ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import type { KubeClient } from '../../src/kube/client.js';
import { spawnEntry } from '../../local/entry.js';
import { freePort } from '../../local/ports.js';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../../local/control-plane.js';
import { acceptingNamespace, localIdentity, registration, remoteIdentity } from '../bench/sync-fixtures.js';
import { Secrets } from '../../src/kube/resources.js';

export { chaosSeed, seededRandom } from './seed.js';

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

/** A fresh private key, so that a leak of synced Secret data would be visible to the scan. */
export const privateKeyPem = (): string => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

export interface SidecarProc {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
}

/** Starts sidecar processes and keeps every byte they print, across restarts. */
export class SidecarRunner {
  readonly outputs: string[] = [];
  private readonly running = new Set<ChildProcess>();

  constructor(
    private readonly kubeconfig: string,
    private readonly namespace: string,
    private readonly extra: string[] = [],
  ) {}

  async spawn(): Promise<SidecarProc> {
    const port = await freePort();
    const child = spawnEntry(
      'sync/main.ts',
      [`--kubeconfig=${this.kubeconfig}`, `--namespace=${this.namespace}`, '--cluster-name=hub', `--health-probe-bind-address=127.0.0.1:${port}`, ...this.extra],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const i = this.outputs.push('') - 1;
    child.stdout?.on('data', (d: Buffer) => (this.outputs[i] += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.outputs[i] += d.toString()));
    this.running.add(child);
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        this.running.delete(child);
        resolve(code);
      }),
    );
    return { child, port, exited };
  }

  async get(p: SidecarProc, route: string): Promise<Response | undefined> {
    return fetch(`http://127.0.0.1:${p.port}${route}`).catch(() => undefined);
  }

  async killAll(): Promise<void> {
    const waits = [...this.running].map((c) => new Promise((r) => c.once('exit', r)));
    for (const c of this.running) c.kill('SIGKILL');
    await Promise.all(waits);
  }
}

export interface HubAndEdges {
  hub: ControlPlane;
  edge1: ControlPlane;
  edge2: ControlPlane;
  admin: { hub: KubeClient; edge1: KubeClient; edge2: KubeClient };
  /** The sidecar's local kubeconfig (user kcp-sync under the local RBAC of docs/sync.md). */
  localKubeconfig: string;
  stop(): Promise<void>;
}

/**
 * Three real control planes: the hub (sidecar, sources) and two edges. CRDs are installed so the
 * leak scan can read every kind it knows on each of them. `edge1` adds options for edge-1's (e.g. a
 * network namespace to run in).
 */
export async function hubAndEdges(prefix: string, syncNs: string, opts: { edge1?: ControlPlaneOptions } = {}): Promise<HubAndEdges> {
  const [hub, edge1, edge2] = await Promise.all([
    startControlPlane({ name: `${prefix}-hub` }),
    startControlPlane({ ...opts.edge1, name: `${prefix}-edge1` }),
    startControlPlane({ name: `${prefix}-edge2` }),
  ]);
  const admin = { hub: await hub.client('chaos-admin'), edge1: await edge1.client('chaos-admin'), edge2: await edge2.client('chaos-admin') };
  const localKubeconfig = await localIdentity(hub, admin.hub, syncNs);
  return {
    hub,
    edge1,
    edge2,
    admin,
    localKubeconfig,
    async stop() {
      for (const c of Object.values(admin)) c.close();
      await Promise.all([hub.stop(), edge1.stop(), edge2.stop()]);
    },
  };
}

/** Registers an edge under the remote RBAC; `server` replaces the API server address (another path to it). */
export async function registerEdge(env: HubAndEdges, syncNs: string, name: string, edge: ControlPlane, admin: KubeClient, server?: string): Promise<void> {
  let kc = await remoteIdentity(edge, admin);
  if (server) kc = kc.replace(edge.server, server);
  await env.admin.hub.create(Secrets, registration(syncNs, name, kc));
}

/** `src` on the hub, and destination namespaces on every cluster accepting the hub's `src`. */
export async function namespaces(env: HubAndEdges, dests: readonly string[]): Promise<void> {
  await acceptingNamespace(env.admin.hub, 'src', undefined);
  for (const c of Object.values(env.admin)) for (const ns of dests) await acceptingNamespace(c, ns, ['hub/src/*', 'src/*']);
}
