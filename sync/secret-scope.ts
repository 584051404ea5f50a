// Where the sidecar may read Secrets, and Secret caches that follow it. RBAC cannot filter by
// label, so a cluster-wide `list secrets` would let the sidecar read every Secret in the cluster,
// marked or not. The default install therefore grants Secret reads per namespace (a RoleBinding to
// kcp-sync-source or kcp-sync-writer), and the sidecar asks the API server where it holds them
// (SelfSubjectAccessReview: list and watch) instead of being told twice. When it holds them
// cluster-wide (deploy/overlays/sync-cluster-wide, Helm sync.writeScope=cluster, or the test RBAC of
// sync/rbac.ts) it keeps one cluster-wide watch, as before.
//
// Which namespaces are asked about: its own, those marked as a source namespace (SOURCE_NAMESPACE_LABEL)
// and those that accept replicas (ACCEPT_LABEL). A marked source namespace it may not read is
// reported (a warning and an Event on the Namespace), since its Secrets silently go unreplicated
// otherwise; an unmarked one is simply not read.
//
// Losing access never deletes anything: the namespace's cache is frozen as last seen (a source that
// vanished from the cache would make its replicas look like garbage — the Argo CD #18480 failure),
// and a failed access check changes nothing. Only a deleted namespace empties its cache.
import type { KubeClient } from '../src/kube/client.js';
import { sleep } from '../src/kube/client.js';
import { describeError } from '../src/kube/errors.js';
import type { EventRecorder } from '../src/kube/events.js';
import { Informer, type EventHandlers, type InformerOptions } from '../src/kube/informer.js';
import type { Logger } from '../src/kube/log.js';
import type { KubeObject } from '../src/kube/object.js';
import { Namespaces, Secrets, type ResourceType } from '../src/kube/resources.js';
import { ACCEPT_LABEL, SOURCE_NAMESPACE_LABEL } from './keys.js';

/** What the engine and a cluster connection use of a cache: an Informer, or one per namespace. */
export type Cache = Pick<
  Informer,
  'on' | 'getByName' | 'list' | 'size' | 'byIndex' | 'addIndex' | 'hasSynced' | 'lastError' | 'start' | 'stop' | 'describe'
>;

const SelfSubjectAccessReviews: ResourceType = {
  group: 'authorization.k8s.io',
  version: 'v1',
  kind: 'SelfSubjectAccessReview',
  plural: 'selfsubjectaccessreviews',
  namespaced: false,
};

/** The verbs an informer needs. */
const READ_VERBS = ['list', 'watch'] as const;

export interface SecretScopeOptions {
  client: KubeClient;
  /** The sidecar's namespace: always asked about (cluster registrations live there). */
  namespace: string;
  logger: Logger;
  events: EventRecorder | undefined;
  /** How often access is asked again (RoleBindings come and go without a namespace event). */
  recheckMs: number;
}

export type ScopeMode = 'cluster' | 'namespaces';

export class SecretScope {
  mode: ScopeMode | undefined;
  /** Namespaces whose Secrets may be listed and watched (namespaces mode). */
  readonly readable = new Set<string>();
  /** Marked source namespaces found unreadable, so each is reported once per change. */
  private readonly reported = new Set<string>();
  private readonly caches = new Set<ScopedCache>();
  private readonly namespaces: Informer;
  private readonly log: Logger;
  private readonly stopCtl = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private again = false;
  private decided: Promise<void> | undefined;
  private initialChecked = false;

  constructor(private readonly opts: SecretScopeOptions) {
    this.log = opts.logger.child({ component: 'secret-scope' });
    // Every namespace (names and labels only matter); the reader role may list them cluster-wide.
    this.namespaces = new Informer(opts.client, Namespaces, { minBackoffMs: 250, maxBackoffMs: 5_000, logger: this.log });
    const changed = () => this.recheck();
    this.namespaces.on({
      add: changed,
      update: (o, n) => {
        if (o === n || isCandidate(o, opts.namespace) !== isCandidate(n, opts.namespace)) changed();
      },
      delete: (o) => this.namespaceGone(o.metadata.name ?? ''),
    });
  }

  /** A Secret cache over where the sidecar may read (it starts and stops with its owner). */
  cache(options: Omit<InformerOptions, 'namespace' | 'logger'>, client: KubeClient = this.opts.client): Cache {
    return new ScopedCache(this, client, options, this.log);
  }

  /** Decides the mode (retrying until the API answers) and, per namespace, starts asking. */
  start(): Promise<void> {
    this.decided ??= this.decide();
    return this.decided;
  }

  private async decide(): Promise<void> {
    for (let attempt = 0; !this.stopCtl.signal.aborted; attempt++) {
      try {
        this.mode = (await this.allowed('')) ? 'cluster' : 'namespaces';
        break;
      } catch (err) {
        this.log.warn({ err: describeError(err) }, 'cannot ask where Secrets may be read; retrying');
        await sleep(Math.min(5_000, 250 * 2 ** attempt), this.stopCtl.signal);
      }
    }
    if (this.stopCtl.signal.aborted) return;
    this.log.info({ mode: this.mode }, this.mode === 'cluster' ? 'Secrets are read cluster-wide' : 'Secrets are read only in namespaces that granted it');
    if (this.mode === 'namespaces') {
      this.namespaces.start();
      try {
        await this.namespaces.waitForSync(this.stopCtl.signal);
      } catch {
        return; // stopped before the namespaces were listed
      }
      // The first answer for every namespace before anything is reported synced: a source missing
      // from the cache at start would look deleted. A namespace whose check failed is asked again.
      for (let attempt = 0; (await this.check()) > 0 && !this.stopCtl.signal.aborted; attempt++) {
        await sleep(Math.min(5_000, 250 * 2 ** attempt), this.stopCtl.signal);
      }
      this.initialChecked = true;
      this.timer = setInterval(() => this.recheck(), this.opts.recheckMs);
      this.timer.unref();
    }
    for (const c of this.caches) c.sync();
  }

  async stop(): Promise<void> {
    this.stopCtl.abort();
    if (this.timer) clearInterval(this.timer);
    await this.namespaces.stop();
    await this.checking;
  }

  /** Whether the sidecar may list and watch Secrets in `namespace` ('' = every namespace). */
  private async allowed(namespace: string): Promise<boolean> {
    const answers = await Promise.all(
      READ_VERBS.map((verb) =>
        this.opts.client.create<KubeObject & { status?: { allowed?: boolean } }>(SelfSubjectAccessReviews, {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          metadata: {},
          spec: { resourceAttributes: { namespace, verb, resource: 'secrets', version: 'v1' } },
        } as KubeObject),
      ),
    );
    return answers.every((a) => a.status?.allowed === true);
  }

  private recheck(): void {
    if (this.mode !== 'namespaces' || this.stopCtl.signal.aborted) return;
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = this.check().then(() => undefined).finally(() => {
      this.checking = undefined;
      if (this.again) {
        this.again = false;
        this.recheck();
      }
    });
  }

  /** Asks about every candidate namespace; returns how many could not be answered. */
  private async check(): Promise<number> {
    let failed = 0;
    const candidates = this.namespaces.list().filter((ns) => isCandidate(ns, this.opts.namespace));
    const names = new Set(candidates.map((ns) => ns.metadata.name ?? ''));
    for (const ns of candidates) {
      const name = ns.metadata.name ?? '';
      let ok: boolean;
      try {
        ok = await this.allowed(name);
      } catch (err) {
        // Not an answer: keep what we had (never stop reading because the check failed).
        this.log.warn({ namespace: name, err: describeError(err) }, 'cannot check Secret access; keeping the last answer');
        failed++;
        continue;
      }
      if (this.stopCtl.signal.aborted) return failed;
      this.apply(ns, ok);
    }
    // Namespaces no longer marked or accepting: stop watching there (their caches stay as last seen).
    for (const name of [...this.readable]) if (!names.has(name)) this.revoke(name, 'no longer marked as a source or accepting namespace');
    return failed;
  }

  private apply(ns: KubeObject, ok: boolean): void {
    const name = ns.metadata.name ?? '';
    if (ok) {
      this.reported.delete(name);
      if (this.readable.has(name)) return;
      this.readable.add(name);
      this.log.info({ namespace: name }, 'may read Secrets in this namespace; watching its sources and replicas');
      for (const c of this.caches) c.sync();
      return;
    }
    if (this.readable.has(name)) this.revoke(name, 'list/watch secrets no longer allowed');
    if (ns.metadata.labels?.[SOURCE_NAMESPACE_LABEL] === 'true' && !this.reported.has(name)) {
      this.reported.add(name);
      const msg = `namespace ${name} is marked as a sync source (${SOURCE_NAMESPACE_LABEL}=true) but the sidecar may not list/watch secrets there: bind the ClusterRole kcp-sync-source (or kcp-sync-writer) to it; its Secret sources are not replicated`;
      this.log.warn({ namespace: name, resource: 'secrets' }, msg);
      void this.opts.events?.record(ns, 'Warning', 'SecretReadForbidden', msg);
    }
  }

  private revoke(name: string, why: string): void {
    if (!this.readable.delete(name)) return;
    this.log.warn({ namespace: name, reason: why }, 'stopped reading Secrets in this namespace; its sources and replicas are kept as last seen, nothing is deleted for it');
    for (const c of this.caches) c.sync();
  }

  private namespaceGone(name: string): void {
    this.readable.delete(name);
    this.reported.delete(name);
    for (const c of this.caches) c.drop(name);
  }

  /** A namespace marked as holding Secret sources that the sidecar may not read (namespaces mode). */
  unreadableSourceNamespace(namespace: string): boolean {
    if (this.mode !== 'namespaces' || this.readable.has(namespace)) return false;
    return this.namespaces.getByName(undefined, namespace)?.metadata.labels?.[SOURCE_NAMESPACE_LABEL] === 'true';
  }

  register(c: ScopedCache): void {
    this.caches.add(c);
    c.sync();
  }

  unregister(c: ScopedCache): void {
    this.caches.delete(c);
  }

  decidedYet(): boolean {
    return this.mode === 'cluster' || (this.mode === 'namespaces' && this.initialChecked);
  }
}

function isCandidate(ns: KubeObject, own: string): boolean {
  const l = ns.metadata.labels ?? {};
  return ns.metadata.name === own || l[SOURCE_NAMESPACE_LABEL] === 'true' || l[ACCEPT_LABEL] === 'true';
}

/**
 * One Secret cache over the scope: a single cluster-wide informer, or one informer per readable
 * namespace. Handlers and indexes apply to every part; a namespace whose access ends keeps its
 * (stopped) informer, so what it held is neither forgotten nor reported deleted.
 */
class ScopedCache implements Cache {
  private readonly parts = new Map<string, Informer>();
  private readonly handlers: EventHandlers<KubeObject>[] = [];
  private readonly indexers = new Map<string, (o: KubeObject) => string[]>();
  private running = false;
  private readonly stopping = new Map<string, Promise<void>>();
  /** Namespaces whose watch stopped when access ended; their objects stay as last seen. */
  private readonly frozen = new Set<string>();

  constructor(
    private readonly scope: SecretScope,
    private readonly client: KubeClient,
    private readonly options: Omit<InformerOptions, 'namespace' | 'logger'>,
    private readonly log: Logger,
  ) {}

  get lastError(): string | undefined {
    for (const [ns, p] of this.parts) if (p.lastError && (ns === '' || this.scope.readable.has(ns))) return p.lastError;
    return undefined;
  }

  get size(): number {
    let n = 0;
    for (const p of this.parts.values()) n += p.size;
    return n;
  }

  describe(): string {
    return `secrets (${this.scope.mode === 'cluster' ? 'cluster-wide' : `${this.scope.readable.size} namespaces`}) ${this.options.labelSelector ?? ''}`.trim();
  }

  on(h: EventHandlers<KubeObject>): void {
    this.handlers.push(h);
    for (const p of this.parts.values()) p.on(h);
  }

  addIndex(name: string, fn: (o: KubeObject) => string[]): void {
    this.indexers.set(name, fn);
    for (const p of this.parts.values()) p.addIndex(name, fn);
  }

  byIndex(name: string, value: string): KubeObject[] {
    return [...this.parts.values()].flatMap((p) => p.byIndex(name, value));
  }

  getByName(namespace: string | undefined, name: string): KubeObject | undefined {
    return (this.parts.get('') ?? this.parts.get(namespace ?? ''))?.getByName(namespace, name);
  }

  list(namespace?: string): KubeObject[] {
    return [...this.parts.values()].flatMap((p) => p.list(namespace));
  }

  hasSynced(): boolean {
    if (!this.scope.decidedYet()) return false;
    for (const [ns, p] of this.parts) if ((ns === '' || this.scope.readable.has(ns)) && !p.hasSynced()) return false;
    return true;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.scope.register(this);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.scope.unregister(this);
    await Promise.all([...this.parts.values()].map((p) => p.stop()));
  }

  /** Brings the parts in line with the scope: start where readable, stop (keeping the cache) where not. */
  sync(): void {
    if (!this.running || this.scope.mode === undefined) return;
    const want = this.scope.mode === 'cluster' ? new Set(['']) : this.scope.readable;
    for (const ns of want) {
      let p = this.parts.get(ns);
      if (!p) {
        p = new Informer(this.client, Secrets, { ...this.options, namespace: ns || undefined, logger: this.log });
        for (const [name, fn] of this.indexers) p.addIndex(name, fn);
        for (const h of this.handlers) p.on(h);
        this.parts.set(ns, p);
      }
      // Access back while its watch is still stopping: start it once the stop is done.
      const stopping = this.stopping.get(ns);
      if (stopping) void stopping.then(() => this.sync());
      else {
        this.frozen.delete(ns);
        p.start();
      }
    }
    for (const [ns, p] of this.parts) {
      if (want.has(ns) || this.stopping.has(ns) || this.frozen.has(ns)) continue;
      const done = p.stop().finally(() => {
        this.stopping.delete(ns);
        this.frozen.add(ns);
      });
      this.stopping.set(ns, done);
    }
  }

  /** A deleted namespace: its objects are gone for real, so handlers hear of each deletion. */
  drop(namespace: string): void {
    const p = this.parts.get(namespace);
    if (!p) return;
    this.parts.delete(namespace);
    this.frozen.delete(namespace);
    void p.stop();
    for (const o of p.list()) for (const h of this.handlers) h.delete?.(o);
  }
}
