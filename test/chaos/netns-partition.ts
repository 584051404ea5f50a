// The network between the sync sidecar and one remote cluster, with a kernel network namespace
// standing in for "the other side" (issue 14 item 4: drop the traffic to one remote cluster in the
// network namespace setup). The cluster's etcd and kube-apiserver run in a namespace E of their own
// (ControlPlaneOptions.netns), reached two ways:
//  - the data path, the address the sidecar's registration names: a Pod network of the pod runner
//    (local/pods/network.ts: a bridge on this host and a veth pair into E);
//  - the observer's path, a second veth pair into E that is never cut: the test's admin client and
//    replica watches use it, so they time what the sidecar does, not their own reconnects. Standing in
//    for an observer outside the partition.
// cut() sets E's end of the data veth down. The host's bridge loses carrier but keeps its route, and a
// permanent neighbour entry keeps ARP out of it, so every packet towards E is dropped at the bridge:
// connections hang, nothing is refused or reset, no ICMP comes back; E's own packets find no route.
// heal() sets it up again: new connections work at once, held ones carry on when TCP next
// retransmits (its backoff, so possibly tens of seconds after a 60 s cut), as after a real outage.
// Checked by hand on this kernel: with the link down, net.connect to E hangs until its own timeout, and
// a connection held across the cut delivers its bytes after heal; without the neighbour entry the
// connect fails with EHOSTUNREACH after ARP gives up (~3 s), which is a refusal, not a partition.
// Only namespaces, links and neighbour entries this creates are touched; their names carry the pid
// (the pod runner's scheme), so reapStale() in a later run removes what a killed one left. The
// addresses come from 10.214.0.0/16, apart from the pod runner's 10.213.0.0/16.
import { allocateSubnet, macOf, Network, reapStale, releaseSubnet, run, tryRun, type PodNetwork } from '../../local/pods/network.js';

const RANGE = '10.214';

export class NetnsPartition {
  /** E's name, for ControlPlaneOptions.netns. */
  readonly netns: string;
  /** E's address on the data path (the one that is cut). */
  readonly dataIp: string;
  /** E's address on the observer's path (never cut). */
  readonly observerIp: string;
  private readonly network: Network;
  private readonly pod: PodNetwork;
  private readonly observerSubnet: string;
  private readonly observerLink: string;
  private readonly dataLink: string;
  private cutNow = false;
  private closed = false;
  private readonly onExit = () => this.close();

  constructor() {
    reapStale();
    this.network = Network.claim({ subnet: allocateSubnet(RANGE) }).retain();
    this.observerSubnet = allocateSubnet(RANGE);
    this.observerLink = `kpr${this.network.id}o`;
    process.once('exit', this.onExit);
    try {
      this.network.setUp();
      this.pod = this.network.addPod();
      this.netns = this.pod.netns;
      this.dataIp = this.pod.ip;
      this.dataLink = linkWithAddress(this.netns, this.dataIp);
      // A cut must drop, not fail fast: without this the host's ARP for E gives up after ~3 s and
      // every connect gets EHOSTUNREACH. The MAC is the one addPod gives E's end (macOf).
      run(['neigh', 'replace', this.dataIp, 'lladdr', macOf(this.dataIp), 'dev', this.network.bridge, 'nud', 'permanent']);
      const inner = `kpr${this.network.id}i`;
      this.observerIp = `${this.observerSubnet}.2`;
      tryRun(['link', 'del', this.observerLink]);
      run(['link', 'add', this.observerLink, 'type', 'veth', 'peer', 'name', inner]);
      run(['addr', 'add', `${this.observerSubnet}.1/24`, 'dev', this.observerLink]);
      run(['link', 'set', this.observerLink, 'up']);
      run(['link', 'set', inner, 'netns', this.netns]);
      run(['-n', this.netns, 'addr', 'add', `${this.observerIp}/24`, 'dev', inner]);
      run(['-n', this.netns, 'link', 'set', inner, 'up']);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  get partitioned(): boolean {
    return this.cutNow;
  }

  /** Drops every packet on the data path, both ways, from now on. */
  cut(): void {
    run(['-n', this.netns, 'link', 'set', this.dataLink, 'down']);
    this.cutNow = true;
  }

  heal(): void {
    run(['-n', this.netns, 'link', 'set', this.dataLink, 'up']);
    this.cutNow = false;
  }

  /** Removes E, both veth pairs and the bridge (and with them the neighbour entry); idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.off('exit', this.onExit);
    if (this.pod) this.network.removePod(this.pod); // E, and with it both pairs' inner ends
    tryRun(['link', 'del', this.observerLink]);
    this.network.release();
    releaseSubnet(this.observerSubnet);
  }
}

/** The device in `netns` that carries `ip`. */
function linkWithAddress(netns: string, ip: string): string {
  for (const line of run(['-n', netns, '-o', '-4', 'addr', 'show']).split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet (\S+)\//.exec(line);
    if (m?.[2] === ip && m[1]) return m[1];
  }
  throw new Error(`no device in ${netns} carries ${ip}`);
}
