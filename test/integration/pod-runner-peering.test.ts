// Two clusters whose Pods reach each other by name, as multi-cluster federation needs: two control
// planes (A, the hub, and B, the edge), a pod runner for a namespace of each, B's runner on A's
// network (`network: { join }`) and the two peered (peer()). Real etcd Pods on both sides serve
// /health. From inside a Pod of each cluster, the other's Services resolve by FQDN and answer; a
// peer's bare short name never resolves; A's ExternalDNS hostname resolves in B; host processes
// with either runner's cluster DNS resolve both; B follows A's readiness and A's Pods going away;
// stopping the runners (or LocalStacks with `peerOf`) in either order leaves no bridge or netns.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, Namespaces, Services } from '../../src/kube/resources.js';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.js';
import { listNetns, macOf } from '../../local/pods/network.js';
import { EXTERNAL_DNS_HOSTNAME } from '../../local/pods/routing.js';
import { PodRunner } from '../../local/pods/runner.js';
import { LocalStack } from '../../local/stack.js';
import { containerPid, etcdDeployment } from './pod-fixtures.js';
import { eventually } from './helpers.js';

const run = promisify(execFile);
const PUBLIC = 'kcp.peering.dev.local';

const deployment = (ns: string, name: string): KubeObject => etcdDeployment(ns, name, { dataRoot: '/var/lib/kpr-peering', probe: { httpGet: { path: '/health', port: 2379 } } });

const service = (ns: string, name: string, app: string, publicName?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns, ...(publicName ? { annotations: { [EXTERNAL_DNS_HOSTNAME]: publicName } } : {}) },
  spec: { selector: { app }, ports: [{ port: 2379, targetPort: 2379 }] },
});


type Seen = Record<string, { ip: string; health?: number | string }>;
/** For each name: what dns.lookup (glibc: /etc/hosts, then DNS) gives, and if an address, GET http://<name>:2379/health. */
const LOOKUP = `
  const dns = require('node:dns'), http = require('node:http');
  const lookup = (n) => new Promise((r) => dns.lookup(n, { family: 4 }, (e, a) => r(e ? e.code : a)));
  const get = (n) => new Promise((r) => http.get({ host: n, port: 2379, path: '/health', timeout: 5000, agent: false }, (res) => (res.resume(), r(res.statusCode))).on('error', (e) => r(e.code || e.message)).on('timeout', function () { this.destroy(new Error('timeout')); }));
  (async () => {
    const out = {};
    for (const n of process.argv.slice(1)) { const ip = await lookup(n); out[n] = { ip, ...(/^\\d/.test(ip) ? { health: await get(n) } : {}) }; }
    console.log(JSON.stringify(out));
  })();`;
// A Pod's netns has no route to the host's nameserver: fail fast on names /etc/hosts lacks.
const env = { ...process.env, RES_OPTIONS: 'timeout:1 attempts:1' };

/** Runs LOOKUP for `names` inside the container of `runner`'s Deployment (its network and mount namespaces). */
async function fromPod(runner: PodRunner, deployment: string, names: string[]): Promise<Seen> {
  const pid = containerPid(runner.podsOf(deployment)[0]?.pid, 'etcd');
  if (!pid) throw new Error(`no container for ${deployment}`);
  const { stdout } = await run('nsenter', ['-t', String(pid), '-n', '-m', '--', process.execPath, '-e', LOOKUP, ...names], { env, timeout: 60_000 });
  return JSON.parse(stdout) as Seen;
}

/** Runs LOOKUP for `names` as a host process with `runner`'s cluster DNS, as the operators run. */
async function fromHost(runner: PodRunner, names: string[]): Promise<Seen> {
  const [cmd, ...args] = runner.withClusterDns([process.execPath, '-e', LOOKUP, ...names]);
  const { stdout } = await run(cmd ?? '', args, { env, timeout: 60_000 });
  return JSON.parse(stdout) as Seen;
}

const podHosts = (runner: PodRunner, deployment: string) => readFileSync(`/proc/${containerPid(runner.podsOf(deployment)[0]?.pid, 'etcd') ?? 0}/root/etc/hosts`, 'utf8');

function health(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: ip, port: 2379, path: '/health', timeout: 5000, agent: false }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject);
  });
}

/** This process's bridges and network namespaces (kpr<pid>[a-z]...): what other test processes make is theirs. */
const mine = new RegExp(`^kpr${process.pid}[a-z]?(?!\\d)`);
const bridges = () =>
  execFileSync('ip', ['-o', 'link', 'show', 'type', 'bridge'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? '')
    .filter((b) => mine.test(b));
const namespaces = () => listNetns().filter((n) => mine.test(n));

const ready = (runner: PodRunner, ...deployments: string[]) => deployments.every((d) => runner.podsOf(d)[0]?.ready);
/** eventually(), and on a timeout the state and last log lines of the runners' Pods. */
const waitFor = <T>(what: string, runners: Array<[PodRunner, string]>, check: () => T | undefined | false | Promise<T | undefined | false>, ms: number): Promise<T> =>
  eventually(what, check, ms).catch((err: Error) => {
    const pods = runners.flatMap(([r, d]) => r.podsOf(d)).map((p) => `${JSON.stringify(p)}\n${existsSync(p.logPath) ? readFileSync(p.logPath, 'utf8').split('\n').slice(-10).join('\n') : ''}`);
    throw new Error(`${err.message}\n${pods.join('\n') || 'no pods'}`);
  });

describe('pod runner: two clusters peered on one network', () => {
  let cpA: ControlPlane;
  let cpB: ControlPlane;
  let adminA: KubeClient;
  let adminB: KubeClient;
  let a: PodRunner;
  let b: PodRunner;
  const nsA = `kcp-hub-${process.pid}`;
  const nsB = `kcp-edge-${process.pid}`;
  const root = `root-kcp.${nsA}.svc.cluster.local`;
  const shard = `shard-b-shard-kcp.${nsB}.svc.cluster.local`;
  const all = () => [...a.podsOf('root-kcp'), ...b.podsOf('shard-b-shard-kcp')];

  beforeAll(async () => {
    [cpA, cpB] = await Promise.all([startControlPlane({ name: 'peering-a', crds: false }), startControlPlane({ name: 'peering-b', crds: false })]);
    [adminA, adminB] = await Promise.all([cpA.client('pod-runner-peering-a'), cpB.client('pod-runner-peering-b')]);
    for (const [admin, ns] of [[adminA, nsA], [adminB, nsB]] as const) await admin.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await adminA.create(Services, service(nsA, 'root-kcp', 'root-kcp'));
    await adminA.create(Services, service(nsA, 'front-proxy', 'root-kcp', PUBLIC));
    await adminA.create(Services, service(nsA, 'common', 'root-kcp'));
    await adminA.create(Deployments, deployment(nsA, 'root-kcp'));
    await adminB.create(Services, service(nsB, 'shard-b-shard-kcp', 'shard-b-shard-kcp'));
    await adminB.create(Services, service(nsB, 'common', 'shard-b-shard-kcp'));
    await adminB.create(Deployments, deployment(nsB, 'shard-b-shard-kcp'));
    a = new PodRunner(adminA, { namespace: nsA, crashLoopBackOffMs: 500 });
    b = new PodRunner(adminB, { namespace: nsB, crashLoopBackOffMs: 500, network: { join: a } });
    await Promise.all([a.start(), b.start()]);
    a.peer(b);
    await waitFor('both etcd Pods ready', [[a, 'root-kcp'], [b, 'shard-b-shard-kcp']], () => ready(a, 'root-kcp') && ready(b, 'shard-b-shard-kcp'), 90_000);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    adminA?.close();
    adminB?.close();
    await Promise.all([cpA?.stop(), cpB?.stop()]);
  });

  it("one bridge, one /24: each cluster's Pods resolve the other's Services by FQDN and reach them, never by a bare short name", async () => {
    expect(b.bridge).toBe(a.bridge);
    const [ipA, ipB] = [a.podsOf('root-kcp')[0]?.ip ?? '', b.podsOf('shard-b-shard-kcp')[0]?.ip ?? ''];
    expect(ipA.split('.').slice(0, 3)).toEqual(ipB.split('.').slice(0, 3));
    expect(ipA).not.toBe(ipB);

    // From B's shard Pod: A's root Service and A's public name; `common` is B's own, `common.<nsA>` A's.
    const seenB = await fromPod(b, 'shard-b-shard-kcp', [root, `root-kcp.${nsA}`, PUBLIC, 'root-kcp', 'front-proxy', 'common', `common.${nsA}`, `root-kcp.${nsA}.svc`]);
    expect(seenB[root]).toEqual({ ip: ipA, health: 200 });
    expect(seenB[`root-kcp.${nsA}`]).toEqual({ ip: ipA, health: 200 });
    expect(seenB[PUBLIC]).toEqual({ ip: ipA, health: 200 });
    expect(seenB.common).toEqual({ ip: ipB, health: 200 });
    expect(seenB[`common.${nsA}`]).toEqual({ ip: ipA, health: 200 });
    for (const bare of ['root-kcp', 'front-proxy']) expect(seenB[bare]?.ip).not.toMatch(/^\d/);
    // B's Pod learnt A's Pod's MAC straight over the bridge: the one its address fixes (a new Pod
    // given the address again has it too, so no neighbour cache goes stale).
    const arp = readFileSync(`/proc/${containerPid(b.podsOf('shard-b-shard-kcp')[0]?.pid, 'etcd') ?? 0}/net/arp`, 'utf8');
    expect(arp).toMatch(new RegExp(`^${ipA.replaceAll('.', '\\.')}\\s.*\\s${macOf(ipA)}\\s`, 'm'));
    // The brief's forms only: no `<svc>.<ns>.svc` from a peer.
    expect(seenB[`root-kcp.${nsA}.svc`]?.ip).not.toMatch(/^\d/);

    // From A's root Pod: B's shard Service; the bare `shard-b-shard-kcp` is nothing in A.
    const seenA = await fromPod(a, 'root-kcp', [shard, 'shard-b-shard-kcp', 'common']);
    expect(seenA[shard]).toEqual({ ip: ipB, health: 200 });
    expect(seenA['shard-b-shard-kcp']?.ip).not.toMatch(/^\d/);
    expect(seenA.common).toEqual({ ip: ipA, health: 200 });

    // resolve() answers as the runner's Pods do.
    expect(b.resolve(root)).toBe(ipA);
    expect(b.resolve(PUBLIC)).toBe(ipA);
    expect(b.resolve('root-kcp')).toBeUndefined();
    expect(b.resolve('common')).toBe(ipB);
    expect(a.resolve(shard)).toBe(ipB);
    expect(a.resolve(PUBLIC)).toBe(ipA);
  });

  it('host processes with either cluster DNS (the operators) resolve and reach both clusters', async () => {
    const [ipA, ipB] = [a.podsOf('root-kcp')[0]?.ip ?? '', b.podsOf('shard-b-shard-kcp')[0]?.ip ?? ''];
    for (const r of [a, b]) {
      const seen = await fromHost(r, [root, shard, PUBLIC, 'localhost']);
      expect(seen[root]).toEqual({ ip: ipA, health: 200 });
      expect(seen[shard]).toEqual({ ip: ipB, health: 200 });
      expect(seen[PUBLIC]).toEqual({ ip: ipA, health: 200 });
      expect(seen.localhost?.ip).toBe('127.0.0.1');
    }
    const hostsB = readFileSync(b.clusterDnsHostsFile(), 'utf8');
    expect(hostsB).toContain(`${ipA} root-kcp.${nsA} ${root}\n`);
    expect(hostsB).not.toMatch(/(^|\s)root-kcp(\s|$)/m);
  });

  it("B follows A: A's Pod turning unready or going away leaves B's view, and comes back", async () => {
    const inB = () => [podHosts(b, 'shard-b-shard-kcp'), readFileSync(b.clusterDnsHostsFile(), 'utf8')];
    const reaper = a.podsOf('root-kcp')[0]?.pid ?? 0;
    process.kill(-reaper, 'SIGSTOP');
    try {
      await waitFor('A unready', [[a, 'root-kcp']], () => !a.podsOf('root-kcp')[0]?.ready, 60_000);
      await eventually("A's names gone from B", () => inB().every((h) => !h.includes(root) && !h.includes(PUBLIC)) && b.resolve(root) === undefined, 30_000);
    } finally {
      process.kill(-reaper, 'SIGCONT');
    }
    await waitFor('A ready again', [[a, 'root-kcp']], () => ready(a, 'root-kcp'), 60_000);
    await eventually("A's names back in B", () => inB().every((h) => h.includes(root)) && b.resolve(root) === a.podsOf('root-kcp')[0]?.ip, 30_000);

    // Scaled to 0 the Pod goes; a new one (another address, maybe) takes its place in B's view.
    await adminA.patch(Deployments, nsA, 'root-kcp', { spec: { replicas: 0 } }, 'merge');
    await eventually("A's Pod gone, and from B", () => a.podsOf('root-kcp').length === 0 && inB().every((h) => !h.includes(root)) && b.resolve(PUBLIC) === undefined, 60_000);
    expect((await fromPod(b, 'shard-b-shard-kcp', [root]))[root]?.ip).not.toMatch(/^\d/);
    await adminA.patch(Deployments, nsA, 'root-kcp', { spec: { replicas: 1 } }, 'merge');
    await waitFor('a new A Pod ready', [[a, 'root-kcp']], () => ready(a, 'root-kcp'), 90_000);
    const ipA = a.podsOf('root-kcp')[0]?.ip ?? '';
    await eventually("the new Pod in B's view", async () => (await fromPod(b, 'shard-b-shard-kcp', [root]))[root]?.health === 200 && b.resolve(root) === ipA, 60_000);
  });

  it('stopping A first: the bridge stays for B, B drops A, then B leaves nothing behind', async () => {
    const bridge = a.bridge;
    const ipB = b.podsOf('shard-b-shard-kcp')[0]?.ip ?? '';
    expect(bridges()).toContain(bridge);
    expect(namespaces()).toHaveLength(all().length);
    await a.stop();
    expect(bridges()).toContain(bridge);
    expect(namespaces()).toHaveLength(1);
    expect(await health(ipB)).toBe(200);
    expect(b.resolve(root)).toBeUndefined();
    expect(podHosts(b, 'shard-b-shard-kcp')).not.toContain(nsA);
    expect(readFileSync(b.clusterDnsHostsFile(), 'utf8')).not.toContain(nsA);
    expect(() => new PodRunner(adminA, { namespace: nsA, network: { join: a } })).toThrow(/stopped runner/);

    // A new runner now (stale-reaping, a fresh id and subnet) leaves the bridge B uses alone.
    const c = new PodRunner(adminA, { namespace: nsA });
    await c.start();
    expect(c.bridge).not.toBe(bridge);
    await c.stop();
    expect(bridges()).toEqual([bridge]);
    expect(await health(ipB)).toBe(200);

    await b.stop();
    expect(bridges()).toEqual([]);
    expect(namespaces()).toEqual([]);
  });

  it('LocalStack peerOf, stopping B first: A keeps its bridge and drops B; then nothing is left', async () => {
    const hub = await LocalStack.start({ name: 'peering-hub', namespace: `kcp-hub-2-${process.pid}`, controlPlane: cpA, operator: false, crashLoopBackOffMs: 500 });
    let edge: LocalStack | undefined;
    try {
      edge = await LocalStack.start({ name: 'peering-edge', namespace: `kcp-edge-2-${process.pid}`, controlPlane: cpB, operator: false, crashLoopBackOffMs: 500, peerOf: hub });
      expect(edge.runner.bridge).toBe(hub.runner.bridge);
      await hub.admin.create(Services, service(hub.namespace, 'root-kcp', 'root-kcp', PUBLIC));
      await hub.admin.create(Deployments, deployment(hub.namespace, 'root-kcp'));
      await edge.admin.create(Services, service(edge.namespace, 'shard', 'shard'));
      await edge.admin.create(Deployments, deployment(edge.namespace, 'shard'));
      const [h, e] = [hub.runner, edge.runner];
      await waitFor('both Pods ready', [[h, 'root-kcp'], [e, 'shard']], () => ready(h, 'root-kcp') && ready(e, 'shard'), 90_000);
      const edgeShard = `shard.${edge.namespace}.svc.cluster.local`;
      const hubRoot = `root-kcp.${hub.namespace}.svc.cluster.local`;
      expect((await fromPod(h, 'root-kcp', [edgeShard]))[edgeShard]).toEqual({ ip: e.podsOf('shard')[0]?.ip, health: 200 });
      expect((await fromPod(e, 'shard', [hubRoot, PUBLIC]))[PUBLIC]).toEqual({ ip: h.podsOf('root-kcp')[0]?.ip, health: 200 });

      await edge.stop();
      edge = undefined;
      expect(bridges()).toEqual([h.bridge]);
      expect(namespaces()).toHaveLength(1);
      expect(h.resolve(edgeShard)).toBeUndefined();
      expect(podHosts(h, 'root-kcp')).not.toContain(edgeShard);
      expect(await health(h.podsOf('root-kcp')[0]?.ip ?? '')).toBe(200);
    } finally {
      await edge?.stop();
      await hub.stop();
    }
    expect(bridges()).toEqual([]);
    expect(namespaces()).toEqual([]);
  });
});
