// Service routing of the pod runner, standing in for cluster DNS, ExternalDNS and kube-proxy: a Service name
// leads to a ready Pod it selects, and to nothing while none is ready (as an Endpoints object lists
// ready addresses only). Pods see it through their /etc/hosts; host processes through a hosts file
// they bind-mount over /etc/hosts in a private mount namespace (clusterDnsPrefix), or through a
// port-forward; tests and the e2e harness through resolve().
//
// Names lead to a Pod's own address (there is no ClusterIP), so a client must use the container
// port: the operator's Services use port = targetPort. forward() maps a Service port as kubectl does.
//
// Peering (several clusters): a Routing may have peers, the Routings of other runners (clusters).
// Their Services appear in this runner's Pods' /etc/hosts and in its clusterHostsFile under the
// namespaced forms only, `<svc>.<ns>` and `<svc>.<ns>.svc.<domain>`, plus their ExternalDNS names
// (peerEntries()); never a peer's bare `<svc>`, which would shadow a Service of this namespace. Own
// entries come first, so where names meet the own cluster wins. A change in what a runner exports
// to peers refreshes them. This stands in for cross-cluster DNS: in reality multi-cluster Services
// (`<svc>.<ns>.svc.clusterset.local`), ExternalDNS records or published load balancer names, here
// entries in a hosts file. It only names addresses; reaching them needs a shared network (network.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { KubeObject } from '../../src/kube/object.js';
import type { Pod } from './pod.js';

type ServicePort = { port: number; targetPort?: number | string };
type ServiceSpec = { selector?: Record<string, string>; ports?: ServicePort[] };

/** What forward() returns: the local port, and a close() that also ends open connections. */
export interface PortForward {
  port: number;
  close(): Promise<void>;
}

export class Routing {
  /** The hosts file clusterDnsPrefix() mounts; always current, always the same inode. */
  readonly clusterHostsFile: string;
  private readonly hostHosts: string;
  private clusterContent = '';
  private readonly forwards = new Set<PortForward>();
  private next = 0;
  private readonly peers = new Set<Routing>();
  /** What peers were last shown (peerEntries()), to refresh them only when it changes. */
  private exported = '';

  constructor(
    private readonly namespace: string,
    private readonly domain: string,
    workDir: string,
    private readonly services: () => KubeObject[],
    private readonly pods: () => Pod[],
  ) {
    this.clusterHostsFile = path.join(workDir, 'cluster-hosts');
    // A host process must keep resolving what the host's own /etc/hosts names (localhost first).
    let base = '127.0.0.1 localhost\n';
    try {
      base = readFileSync('/etc/hosts', 'utf8');
    } catch {
      // no /etc/hosts: localhost alone
    }
    this.hostHosts = base.endsWith('\n') ? base : `${base}\n`;
    this.refresh();
  }

  /** The ready Pods a Service (by name, in this runner's namespace) selects. */
  readyPods(service: string): Pod[] {
    const s = this.services().find((x) => x.metadata.name === service);
    const sel = (s?.spec as ServiceSpec | undefined)?.selector;
    if (!sel || Object.keys(sel).length === 0) return [];
    return this.pods().filter((p) => p.ready && p.running && p.ip && Object.entries(sel).every(([k, v]) => p.labels[k] === v));
  }

  readyIps(service: string): string[] {
    return this.readyPods(service).map((p) => p.ip ?? '');
  }

  /**
   * Hosts entries: each Service with a ready Pod, under `<svc>.<ns>`, `<svc>.<ns>.svc` and the FQDN,
   * and the bare `<svc>` when `short` (what a Pod in the namespace resolves through its search path).
   */
  hostsEntries(short = false): Array<[string, string[]]> {
    const ns = this.namespace;
    return this.served().map(({ ip, n, s }) => [ip, [...(short ? [n] : []), `${n}.${ns}`, `${n}.${ns}.svc`, `${n}.${ns}.svc.${this.domain}`, ...publicNames(s)]]);
  }

  /** Each Service with a ready Pod: the first ready Pod's address, the Service's name and object. */
  private served(): Array<{ ip: string; n: string; s: KubeObject }> {
    return this.services().flatMap((s) => {
      const n = s.metadata.name ?? '';
      const ip = this.readyIps(n)[0];
      return ip ? [{ ip, n, s }] : [];
    });
  }

  /**
   * What a peer cluster sees of this one: each Service with a ready Pod under `<svc>.<ns>` and
   * `<svc>.<ns>.svc.<domain>`, and its ExternalDNS names; no bare `<svc>`.
   */
  peerEntries(): Array<[string, string[]]> {
    const ns = this.namespace;
    return this.served().map(({ ip, n, s }) => [ip, [`${n}.${ns}`, `${n}.${ns}.svc.${this.domain}`, ...publicNames(s)]]);
  }

  /** The peers' entries, in the order they were peered. */
  private fromPeers(): Array<[string, string[]]> {
    return [...this.peers].flatMap((p) => p.peerEntries());
  }

  /** What a Pod of this runner resolves: own Services (with bare names), then the peers'. */
  podEntries(): Array<[string, string[]]> {
    return [...this.hostsEntries(true), ...this.fromPeers()];
  }

  /** Peers `other` with this Routing, both ways, and refreshes both. */
  addPeer(other: Routing): void {
    if (other === this) throw new Error('pod runner: a runner cannot peer with itself');
    this.peers.add(other);
    other.peers.add(this);
    this.refresh();
    other.refresh();
  }

  /** Ends a peering, both ways; the other side is refreshed (this one too unless `stopping`). */
  removePeer(other: Routing, stopping = false): void {
    this.peers.delete(other);
    other.peers.delete(this);
    other.refresh();
    if (!stopping) this.refresh();
  }

  /** Ends every peering (this runner stops); the peers drop its names. */
  removePeers(): void {
    for (const p of [...this.peers]) this.removePeer(p, true);
  }

  /** Rewrites every hosts file whose content changed, and refreshes the peers if what they see of this one changed. */
  refresh(): void {
    const fromPeers = this.fromPeers();
    const entries = [...this.hostsEntries(true), ...fromPeers];
    for (const p of this.pods()) p.writeHosts(entries);
    const line = ([ip, names]: [string, string[]]) => `${ip} ${names.join(' ')}\n`;
    const own = this.hostsEntries().map(line).join('');
    const peers = this.peers.size > 0 ? `# pod runner peers (${[...this.peers].map((p) => p.namespace).join(', ')}): their Services with a ready Pod\n${fromPeers.map(line).join('')}` : '';
    const content = `${this.hostHosts}# pod runner, namespace ${this.namespace}: Services with a ready Pod\n${own}${peers}`;
    if (content !== this.clusterContent) {
      this.clusterContent = content;
      // In place (truncate and write), never rename: bind mounts hold the inode.
      writeFileSync(this.clusterHostsFile, content);
    }
    const exported = JSON.stringify(this.peerEntries());
    if (exported === this.exported) return;
    this.exported = exported;
    for (const p of this.peers) p.refresh();
  }

  /** The Service a name means: `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc` or `<svc>.<ns>.svc.<domain>`. */
  serviceName(name: string): string | undefined {
    const [svc, ns, ...rest] = name.replace(/\.$/, '').split('.');
    if (!svc) return undefined;
    if (ns === undefined) return svc;
    if (ns !== this.namespace) return undefined;
    if (rest.length === 0) return svc;
    if (rest[0] !== 'svc') return undefined;
    return rest.length === 1 || rest.slice(1).join('.') === this.domain ? svc : undefined;
  }

  /** The address a Pod of this runner gets for `name` (own Service names, ExternalDNS names, the peers' names), if any. */
  resolve(name: string): string | undefined {
    const svc = this.serviceName(name);
    const own = svc ? this.readyIps(svc)[0] : undefined;
    if (own) return own;
    const n = name.replace(/\.$/, '').toLowerCase();
    return this.podEntries().find(([, names]) => names.some((x) => x.toLowerCase() === n))?.[0];
  }

  /** `port` as the Service maps it (port → targetPort, a named one through the Pod's ports). */
  private targetPort(svc: string, port: number, pod: Pod | undefined): number {
    const s = this.services().find((x) => x.metadata.name === svc);
    const sp = (s?.spec as ServiceSpec | undefined)?.ports?.find((p) => p.port === port);
    if (!sp || sp.targetPort === undefined) return port;
    return typeof sp.targetPort === 'number' ? sp.targetPort : (pod?.containerPort(sp.targetPort) ?? Number(sp.targetPort));
  }

  async forward(service: string, port: number, localPort = 0): Promise<PortForward> {
    const svc = this.serviceName(service);
    if (!svc) throw new Error(`pod runner: ${service} is not a Service name of namespace ${this.namespace}`);
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => undefined);
      // Chosen per connection, like kube-proxy: a Pod turning unready gets no new connections
      // (open ones stay, as conntrack keeps them).
      const ready = this.readyPods(svc);
      const pod = ready[this.next++ % Math.max(1, ready.length)];
      if (!pod?.ip) {
        client.resetAndDestroy();
        return;
      }
      const upstream = net.connect({ host: pod.ip, port: this.targetPort(svc, port, pod) });
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.resetAndDestroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(localPort, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const fwd: PortForward = {
      port: typeof address === 'object' && address ? address.port : localPort,
      close: async () => {
        this.forwards.delete(fwd);
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
    this.forwards.add(fwd);
    return fwd;
  }

  async closeForwards(): Promise<void> {
    await Promise.all([...this.forwards].map((f) => f.close()));
  }

  /**
   * The argv prefix that runs a host process "with cluster DNS": host network namespace, but a
   * private mount namespace in which /etc/hosts is clusterHostsFile.
   */
  clusterDnsPrefix(): string[] {
    return ['unshare', '--mount', '--propagation', 'private', 'bash', '-c', 'mount --bind "$1" /etc/hosts && shift && exec "$@"', 'cluster-dns', this.clusterHostsFile];
  }
}

/**
 * The public names a Service asks ExternalDNS to publish (`external-dns.alpha.kubernetes.io/hostname`,
 * comma-separated), which the runner resolves as well: it stands in for ExternalDNS and public DNS,
 * so kcp reaching its own external URL (the front-proxy's public name) works as it would in a cluster.
 */
export const EXTERNAL_DNS_HOSTNAME = 'external-dns.alpha.kubernetes.io/hostname';

function publicNames(s: KubeObject): string[] {
  const v = s.metadata.annotations?.[EXTERNAL_DNS_HOSTNAME];
  return v ? v.split(',').map((h) => h.trim().replace(/\.$/, '')).filter(Boolean) : [];
}
