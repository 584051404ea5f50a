// Pod networking for the pod runner: one Linux bridge, and per Pod a network namespace joined to it
// with a veth pair and an address from a private /24. Names carry the runner's id so a later run
// can find and remove what a crashed one left behind.
import { execFileSync } from 'node:child_process';

const run = (args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const tryRun = (args: string[]) => {
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

  /** `subnet` is the first three octets, e.g. "10.213.7"; the bridge takes .1. */
  constructor(
    readonly id: string,
    readonly subnet: string,
  ) {
    this.bridge = `kpr${id}`;
  }

  setUp(): void {
    tryRun(['link', 'del', this.bridge]);
    run(['link', 'add', this.bridge, 'type', 'bridge']);
    run(['addr', 'add', `${this.subnet}.1/24`, 'dev', this.bridge]);
    run(['link', 'set', this.bridge, 'up']);
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

  tearDown(): void {
    for (const ns of listNetns()) if (ns.startsWith(`kpr${this.id}-`)) tryRun(['netns', 'del', ns]);
    tryRun(['link', 'del', this.bridge]);
  }
}

export function listNetns(): string[] {
  return tryRun(['netns', 'list'])
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter(Boolean);
}

/** Removes namespaces and bridges of pod runners whose process is gone (ids are pids). */
export function reapStale(): void {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const ns of listNetns()) {
    const m = /^kpr(\d+)-\d+$/.exec(ns);
    if (m && !alive(Number(m[1]))) tryRun(['netns', 'del', ns]);
  }
  for (const line of tryRun(['-o', 'link', 'show', 'type', 'bridge']).split('\n')) {
    const m = /^\d+: kpr(\d+)[:@]/.exec(line);
    if (m && !alive(Number(m[1]))) tryRun(['link', 'del', `kpr${m[1]}`]);
  }
}
