// Pod networking for the pod runner: one Linux bridge, and per Pod a network namespace joined to it
// with a veth pair and an address from a private /24. Names carry the network's id, the owning
// process's pid plus a letter for each further network in that process, so a later run can find and
// remove what a crashed one left behind, and two runners in one process (two clusters) do not meet.
//
// Several runners (clusters) may share one Network: the runner of a second cluster joins the first's
// (PodRunnerOptions.network.join), its Pods get addresses from the same /24 and the same bridge, and
// every Pod reaches every other one directly. That stands in for the network between clusters: in
// reality each cluster has its own routed Pod network and cross-cluster traffic goes through routes,
// a mesh or load balancers; here it is one flat L2 segment (no routing between bridges is needed, and
// none is available: ip_forward may be off). The Network counts its users (retain/release): the
// bridge goes, and its id and subnet are given back, when the last runner using it stops, whichever
// that is. Stale-reaping goes by the pid in the name, so it never takes a bridge of a live process.
import { execFileSync } from 'node:child_process';

/** Runs `ip` with these arguments; its output, or throws with its stderr. */
export const run = (args: string[]): string => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
/** Runs `ip`, for cleanup: a failure (already gone) is not an error. */
export const tryRun = (args: string[]): string => {
  try {
    return run(args);
  } catch {
    return '';
  }
};

export interface PodNetwork {
  netns: string;
  ip: string;
}

export class Network {
  readonly bridge: string;
  private next = 2;
  private readonly free: number[] = [];
  private users = 0;
  private up = false;
  private closed = false;

  /**
   * A network with a claimed id and subnet (given or allocated), which release() by its last user
   * gives back. `subnet` is the first three octets, e.g. "10.213.7"; the bridge takes .1.
   */
  static claim(opts: { id?: string; subnet?: string } = {}): Network {
    const id = opts.id ? claimId(opts.id) : allocateId();
    try {
      return new Network(id, opts.subnet ? claimSubnet(opts.subnet) : allocateSubnet());
    } catch (err) {
      releaseId(id);
      throw err;
    }
  }

  /** `subnet` is the first three octets, e.g. "10.213.7"; the bridge takes .1. Claims nothing (see claim()). */
  constructor(
    readonly id: string,
    readonly subnet: string,
  ) {
    this.bridge = `kpr${id}`;
  }

  /** How many runners use this network. */
  get userCount(): number {
    return this.users;
  }

  /** A runner starts using this network (before setUp); throws once the last user has released it. */
  retain(): this {
    if (this.closed) throw new Error(`pod runner: network ${this.bridge} is gone (its last runner stopped)`);
    this.users++;
    return this;
  }

  /**
   * A runner stops using this network (its Pods removed already). The last one tears it down and
   * gives back its id and subnet; true then.
   */
  release(): boolean {
    if (this.closed || --this.users > 0) return false;
    this.closed = true;
    this.tearDown();
    releaseId(this.id);
    releaseSubnet(this.subnet);
    return true;
  }

  /** Creates the bridge, once: a runner joining a network that is up already leaves it as it is. */
  setUp(): void {
    if (this.up) return;
    if (this.closed) throw new Error(`pod runner: network ${this.bridge} is gone (its last runner stopped)`);
    tryRun(['link', 'del', this.bridge]);
    run(['link', 'add', this.bridge, 'type', 'bridge']);
    run(['addr', 'add', `${this.subnet}.1/24`, 'dev', this.bridge]);
    run(['link', 'set', this.bridge, 'up']);
    this.up = true;
  }

  addPod(): PodNetwork {
    const n = this.free.shift() ?? this.next++;
    if (n > 254) throw new Error('pod runner: out of addresses');
    const netns = `kpr${this.id}-${n}`;
    const host = `kpr${this.id}h${n}`;
    const peer = `kpr${this.id}p${n}`;
    const ip = `${this.subnet}.${n}`;
    tryRun(['netns', 'del', netns]);
    run(['netns', 'add', netns]);
    run(['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
    run(['link', 'set', host, 'master', this.bridge]);
    run(['link', 'set', host, 'up']);
    run(['link', 'set', peer, 'netns', netns]);
    // The MAC follows from the address (0a:58 and the IP, as ovn-kubernetes does): an address given
    // again to a new Pod comes with the same MAC, so the neighbour caches of the host and of the other
    // Pods on the bridge (another cluster's too) stay right, instead of sending to the old Pod's MAC
    // until the entry goes stale (~30 s).
    run(['-n', netns, 'link', 'set', peer, 'address', macOf(ip)]);
    run(['-n', netns, 'link', 'set', 'lo', 'up']);
    run(['-n', netns, 'addr', 'add', `${ip}/24`, 'dev', peer]);
    run(['-n', netns, 'link', 'set', peer, 'up']);
    run(['-n', netns, 'route', 'add', 'default', 'via', `${this.subnet}.1`]);
    return { netns, ip };
  }

  removePod(p: PodNetwork): void {
    tryRun(['netns', 'del', p.netns]); // takes its end of the veth pair, and so the pair, with it
    const n = Number(p.ip.split('.').pop());
    tryRun(['link', 'del', `kpr${this.id}h${n}`]);
    this.free.push(n);
  }

  /** Removes the bridge and every namespace of this network, whoever uses it: release() calls it for the last user. */
  tearDown(): void {
    for (const ns of listNetns()) if (ns.startsWith(`kpr${this.id}-`)) tryRun(['netns', 'del', ns]);
    tryRun(['link', 'del', this.bridge]);
    this.up = false;
  }
}

/** A locally administered unicast MAC for a Pod address: 0a:58 and the four octets. */
export function macOf(ip: string): string {
  return ['0a', '58', ...ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');
}

const ID = /^(\d+)[a-z]?$/;
const taken = new Set<string>();

/** An id for a new runner of this process: the pid, then pid + a, pid + b, ... */
export function allocateId(): string {
  for (const suffix of ['', ...'abcdefghijklmnopqrstuvwxyz']) {
    const id = `${process.pid}${suffix}`;
    if (!taken.has(id)) return claimId(id);
  }
  throw new Error('pod runner: too many runners in one process');
}

/**
 * Claims `id` for a runner of this process. Its digits must be this process's pid (that is how a
 * later run tells what a dead one left); at most 8 characters, the room network device names have.
 */
export function claimId(id: string): string {
  const m = ID.exec(id);
  if (!m || Number(m[1]) !== process.pid || id.length > 8) throw new Error(`pod runner: network id ${id} must be this process's pid (${process.pid}), optionally followed by one letter`);
  if (taken.has(id)) throw new Error(`pod runner: network id ${id} is in use by another runner of this process`);
  taken.add(id);
  return id;
}

export function releaseId(id: string): void {
  taken.delete(id);
}

const claimedSubnets = new Set<string>();

/**
 * A /24 of `range` (the first two octets; the pod runner's is 10.213) that no interface on this
 * machine uses yet, starting from the pid's.
 */
export function allocateSubnet(range = '10.213'): string {
  const used = new Set(claimedSubnets);
  for (const m of tryRun(['-o', '-4', 'addr', 'show']).matchAll(/inet (\d+\.\d+\.\d+)\.\d+\//g)) if (m[1]) used.add(m[1]);
  for (let i = 0; i < 250; i++) {
    const subnet = `${range}.${(process.pid + i) % 250}`;
    if (!used.has(subnet)) return claimSubnet(subnet);
  }
  throw new Error(`pod runner: no free subnet in ${range}.0.0/16`);
}

export function claimSubnet(subnet: string): string {
  if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(subnet)) throw new Error(`pod runner: subnet ${subnet} must be the first three octets of a /24, e.g. 10.213.7`);
  claimedSubnets.add(subnet);
  return subnet;
}

export function releaseSubnet(subnet: string): void {
  claimedSubnets.delete(subnet);
}

export function listNetns(): string[] {
  return tryRun(['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes namespaces and bridges of pod runners whose process is gone (ids start with the pid). */
export function reapStale(): void {
  const alive = processAlive;
  for (const ns of listNetns()) {
    const m = /^kpr(\d+)[a-z]?-\d+$/.exec(ns);
    if (m && !alive(Number(m[1]))) tryRun(['netns', 'del', ns]);
  }
  for (const line of tryRun(['-o', 'link', 'show', 'type', 'bridge']).split('\n')) {
    const m = /^\d+: kpr((\d+)[a-z]?)[:@]/.exec(line);
    if (m && !alive(Number(m[2]))) tryRun(['link', 'del', `kpr${m[1]}`]);
  }
}
