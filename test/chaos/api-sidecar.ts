// The sync sidecar's part of the API-server-fault test (apiserver-faults.test.ts): the real
// sidecar process (sync/main.ts, as SidecarRunner starts it) on the same control plane as the
// operator, as user kcp-sync under the sidecar's RBAC (sync/rbac.ts localRbac; an ordinary user,
// so max-inflight throttles it too). Sources in `sync-src` (Secrets carrying a private key, and
// ConfigMaps) are replicated into three namespaces of the same cluster, while a driver keeps
// creating, updating and deleting sources through every fault (its writes fail while the server
// is away, and it carries on). During a compaction fault a source and a replica are deleted in
// etcd behind the sidecar's back, so only a relist after the 410 reveals them.
// Convergence is judged against the sources as the API server holds them (not a model: a write
// whose answer was lost in a restart may or may not have landed), replicas listed cluster-wide by
// the sidecar's origin label so an orphan anywhere shows; foreign objects (a same-named object
// where a replica would go, and bystanders) must stay byte-identical.
import type { KubeClient } from '../../src/kube/client.js';
import { isNotFound } from '../../src/kube/errors.js';
import type { KubeObject } from '../../src/kube/object.js';
import type { ControlPlane } from '../../local/control-plane.js';
import { ORIGIN_CLUSTER_LABEL, SOURCE_LABEL } from '../../sync/keys.js';
import { acceptingNamespace, b64, configMapSource, ConfigMaps, decoded, localIdentity, secretSource, Secrets } from '../bench/sync-fixtures.js';
import type { Text } from './leak-scan.js';
import { privateKeyPem, SidecarRunner, type SidecarProc } from './sync-harness.js';

export const SYNC_NS = 'kcp-sync';
export const SYNC_SRC = 'sync-src';
export const SYNC_DESTS = ['sync-a', 'sync-b', 'sync-c'] as const;
const TARGETS = { clusters: ['hub'], namespaces: [...SYNC_DESTS] };
const MAX_SOURCES = 24;
type Kind = 'Secret' | 'ConfigMap';
const resource = (k: Kind) => (k === 'Secret' ? Secrets : ConfigMaps);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const locKey = (kind: Kind, ns: string, name: string) => `${kind}/${ns}/${name}`;

export class SyncUnderFaults {
  private runner!: SidecarRunner;
  private proc!: SidecarProc;
  private pid: number | undefined;
  private exit: string | undefined;
  private readonly key = privateKeyPem();
  /** Source names the driver knows of (the API server's word wins; see missing()). */
  private readonly names = new Map<string, Kind>();
  private next = 0;
  private readonly untouchable = new Map<string, { kind: Kind; ns: string; name: string; json: string }>();
  /** Destinations held by a foreign object: no replica is expected there. */
  private readonly foreign = new Set<string>();
  private paused = true;
  private stopped = false;
  private inFlight: Promise<void> = Promise.resolve();
  private loop: Promise<void> | undefined;
  readonly ops = { create: 0, update: 0, delete: 0, failed: 0 };

  constructor(
    private readonly cp: ControlPlane,
    private readonly admin: KubeClient,
    private readonly random: () => number,
  ) {}

  get port(): number {
    return this.proc.port;
  }

  async start(): Promise<void> {
    const kubeconfig = await localIdentity(this.cp, this.admin, SYNC_NS);
    await acceptingNamespace(this.admin, SYNC_SRC, undefined);
    for (const ns of SYNC_DESTS) await acceptingNamespace(this.admin, ns, ['hub/sync-src/*']);
    for (let i = 0; i < 12; i++) await this.create(i % 3 === 2 ? 'ConfigMap' : 'Secret');
    // s-0 and c-2 stay sources for the whole run (the driver never deletes them), so the foreign
    // objects holding their names in sync-a keep blocking a replica the sidecar would write there.
    const objs: Array<{ kind: Kind; ns: string; name: string; blocks: boolean }> = [
      { kind: 'Secret', ns: 'sync-a', name: 's-0', blocks: true },
      { kind: 'ConfigMap', ns: 'sync-a', name: 'c-2', blocks: true },
    ];
    for (const ns of [SYNC_SRC, ...SYNC_DESTS]) for (const kind of ['Secret', 'ConfigMap'] as const) objs.push({ kind, ns, name: 'bystander', blocks: false });
    for (const o of objs) {
      const meta = { name: o.name, namespace: o.ns, labels: { owner: 'someone-else' } };
      const made = await this.admin.create(
        resource(o.kind),
        o.kind === 'Secret' ? { apiVersion: 'v1', kind: 'Secret', metadata: meta, data: { k: b64('mine') } } : { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta, data: { k: 'mine' } },
      );
      this.untouchable.set(locKey(o.kind, o.ns, o.name), { ...o, json: JSON.stringify(made) });
      if (o.blocks) this.foreign.add(locKey(o.kind, o.ns, o.name));
    }
    this.runner = new SidecarRunner(kubeconfig, SYNC_NS);
    this.proc = await this.runner.spawn();
    this.pid = this.proc.child.pid;
    this.proc.child.on('exit', (code, signal) => (this.exit = `code ${code} signal ${signal}`));
    this.loop = this.drive();
  }

  private async create(kind: Kind): Promise<void> {
    const name = `${kind === 'Secret' ? 's' : 'c'}-${this.next++}`;
    const obj = kind === 'Secret' ? secretSource(SYNC_SRC, name, { v: '0', 'tls.key': this.key }, TARGETS) : configMapSource(SYNC_SRC, name, { v: '0' }, TARGETS);
    this.names.set(name, kind);
    await this.admin.create(resource(kind), obj);
  }

  /** One change to the sources every 100–400 ms while not paused; failures (server away) are counted. */
  private async drive(): Promise<void> {
    while (!this.stopped) {
      if (!this.paused) {
        this.inFlight = this.step().catch(() => void this.ops.failed++);
        await this.inFlight;
      }
      await sleep(100 + this.random() * 300);
    }
  }

  private async step(): Promise<void> {
    const r = this.random();
    const names = [...this.names.keys()];
    const pick = names[Math.floor(this.random() * names.length)];
    if (r < 0.25 && this.names.size < MAX_SOURCES) {
      await this.create(this.random() < 0.6 ? 'Secret' : 'ConfigMap');
      this.ops.create++;
    } else if (r < 0.8 && pick) {
      const kind = this.names.get(pick)!;
      const v = String(Math.floor(this.random() * 1e6));
      await this.admin.patch(resource(kind), SYNC_SRC, pick, { data: { v: kind === 'Secret' ? b64(v) : v } }, 'merge').catch((err: unknown) => {
        if (isNotFound(err)) this.names.delete(pick);
        throw err;
      });
      this.ops.update++;
    } else if (pick && pick !== 's-0' && pick !== 'c-2') {
      const kind = this.names.get(pick)!;
      this.names.delete(pick);
      await this.admin.delete(resource(kind), SYNC_SRC, pick);
      this.ops.delete++;
    }
  }

  /**
   * Changes `n` sources at once (the driver's writes aside), so that the sidecar is writing
   * replicas when the fault that follows hits: its writes fail mid-flight and the local cluster is
   * marked Unreachable, which a quiet sidecar never sees.
   */
  async burst(n: number): Promise<void> {
    const names = [...this.names].sort(() => this.random() - 0.5).slice(0, n);
    await Promise.all(
      names.map(([name, kind]) => {
        const v = String(Math.floor(this.random() * 1e6));
        return this.admin.patch(resource(kind), SYNC_SRC, name, { data: { v: kind === 'Secret' ? b64(v) : v } }, 'merge').then(
          () => void this.ops.update++,
          () => void this.ops.failed++,
        );
      }),
    );
  }

  /** Lets the driver change sources (between faults and through them). */
  resume(): void {
    this.paused = false;
  }

  /** Stops changes and waits for the one in flight, so convergence has a fixed target. */
  async pause(): Promise<void> {
    this.paused = true;
    await this.inFlight;
  }

  /**
   * For a compaction fault: a source Secret and a replica ConfigMap to delete in etcd while the
   * server is down (chosen while it is up), so the sidecar learns of either only by relisting
   * after its watches get 410 Gone. Returns etcd keys with what each is.
   */
  async etcdVictims(): Promise<Array<{ key: string; what: string; deleted(): void }>> {
    const out: Array<{ key: string; what: string; deleted(): void }> = [];
    const listed = await this.admin.list(Secrets, { namespace: SYNC_SRC, labelSelector: `${SOURCE_LABEL}=true` });
    const secrets = listed.items.map((o) => o.metadata.name ?? '').filter((name) => name !== 's-0');
    const victim = secrets[Math.floor(this.random() * secrets.length)];
    if (victim) {
      out.push({
        key: `/registry/secrets/${SYNC_SRC}/${victim}`,
        what: `source Secret ${victim}`,
        deleted: () => this.names.delete(victim),
      });
    }
    const replicas = (await this.admin.list(ConfigMaps, { labelSelector: `${ORIGIN_CLUSTER_LABEL}=hub` })).items;
    const r = replicas[Math.floor(this.random() * replicas.length)];
    if (r) out.push({ key: `/registry/configmaps/${r.metadata.namespace}/${r.metadata.name}`, what: `replica ConfigMap ${r.metadata.namespace}/${r.metadata.name}`, deleted: () => undefined });
    return out;
  }

  /** What differs between the replicas and the sources (empty when converged). */
  async missing(): Promise<string[]> {
    const sources: Array<{ kind: Kind; name: string; v: string }> = [];
    for (const kind of ['Secret', 'ConfigMap'] as const) {
      for (const o of (await this.admin.list(resource(kind), { namespace: SYNC_SRC, labelSelector: `${SOURCE_LABEL}=true` })).items) {
        sources.push({ kind, name: o.metadata.name ?? '', v: this.value(kind, o) });
      }
    }
    const expected = new Map<string, string>();
    for (const s of sources) {
      for (const ns of SYNC_DESTS) if (!this.foreign.has(locKey(s.kind, ns, s.name))) expected.set(locKey(s.kind, ns, s.name), s.v);
    }
    const actual = new Map<string, string>();
    for (const kind of ['Secret', 'ConfigMap'] as const) {
      for (const o of (await this.admin.list(resource(kind), { labelSelector: `${ORIGIN_CLUSTER_LABEL}=hub` })).items) {
        actual.set(locKey(kind, o.metadata.namespace ?? '', o.metadata.name ?? ''), this.value(kind, o));
      }
    }
    const out: string[] = [];
    for (const [k, v] of expected) if (actual.get(k) !== v) out.push(`${k} ${actual.has(k) ? `stale (${actual.get(k)} != ${v})` : 'missing'}`);
    for (const k of actual.keys()) if (!expected.has(k)) out.push(`${k} orphan`);
    return out;
  }

  private value(kind: Kind, o: KubeObject): string {
    if (kind === 'ConfigMap') return (o.data as Record<string, string> | undefined)?.v ?? '';
    const d = decoded(o);
    return d?.['tls.key'] === this.key ? (d.v ?? '') : 'wrong key';
  }

  /** Foreign objects and bystanders that differ from how they were made (empty when untouched). */
  async touched(): Promise<string[]> {
    const out: string[] = [];
    for (const [k, u] of this.untouchable) {
      const now = JSON.stringify(await this.admin.get(resource(u.kind), u.ns, u.name));
      if (now !== u.json) out.push(k);
    }
    return out;
  }

  /** Undefined while the sidecar is the process it was at the start, never exited. */
  processChanged(): string | undefined {
    if (this.exit) return `the sidecar exited (${this.exit})`;
    if (this.proc.child.pid !== this.pid || this.proc.child.exitCode !== null) return 'the sidecar is not the same process';
    return undefined;
  }

  sourceCount(): number {
    return this.names.size;
  }

  texts(): Text[] {
    return this.runner.outputs.map((text, i) => ({ source: `sidecar log ${i}`, text }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    if (this.proc && this.proc.child.exitCode === null) {
      this.proc.child.kill('SIGTERM');
      await Promise.race([this.proc.exited, sleep(10_000)]);
    }
    await this.runner?.killAll();
  }
}
