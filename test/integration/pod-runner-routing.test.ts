// Service routing of the pod runner on real etcd Pods: a Service name resolves to ready Pods only
// and follows readiness (a Pod frozen with SIGSTOP fails its probe, drops out of every hosts file,
// and comes back after SIGCONT); forward() is `kubectl port-forward svc/...`; a host process run
// with cluster DNS resolves Service names to ready Pods and still reaches 127.0.0.1.
import { execFileSync, spawn } from 'node:child_process';
import dns from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, Services } from '../../src/kube/resources.js';
import { freePort } from '../../local/ports.js';
import { PodRunner, type PodInfo } from '../../local/pods/runner.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { containerPid, etcdDeployment } from './pod-fixtures.js';

/** An etcd Pod with its data in an emptyDir; `probePort` 9999 is never answered. */
const etcd = (ns: string, name: string, probe: Record<string, unknown> | undefined): KubeObject => etcdDeployment(ns, name, { dataRoot: '/var/lib/kpr-routing', ...(probe ? { probe } : {}) });

const service = (ns: string, name: string, port: number, targetPort: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns },
  spec: { selector: { app: name }, ports: [{ port, targetPort }] },
});


function get(port: number, host = '127.0.0.1', reqPath = '/health'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A new connection each time (no keep-alive): the Pod is chosen per connection.
    const req = http.get({ host, port, path: reqPath, timeout: 10_000, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('pod runner: Service routing', () => {
  let admin: KubeClient;
  let runner: PodRunner;
  let ns: string;
  let frozen: number | undefined;

  const pod = (deployment: string): PodInfo => {
    const p = runner.podsOf(deployment)[0];
    if (!p) throw new Error(`no pod for ${deployment}`);
    return p;
  };
  /** /etc/hosts as each running Pod's container sees it. */
  const hostsFiles = () =>
    ['etcd', 'never', 'observer'].map((d) => {
      const pid = containerPid(pod(d).pid, 'etcd');
      return readFileSync(pid ? `/proc/${pid}/root/etc/hosts` : path.join(path.dirname(pod(d).logPath), 'hosts'), 'utf8');
    });
  const freeze = () => {
    frozen = pod('etcd').pid;
    process.kill(-(frozen ?? 0), 'SIGSTOP');
  };
  const thaw = () => {
    if (frozen) process.kill(-frozen, 'SIGCONT');
    frozen = undefined;
  };

  beforeAll(async () => {
    admin = await sharedClient('pod-runner-routing');
    ns = await createNamespace(admin, 'kpr-routing');
    await admin.create(Services, service(ns, 'etcd', 12379, 2379));
    await admin.create(Services, service(ns, 'never', 2379, 2379));
    await admin.create(Deployments, etcd(ns, 'etcd', { httpGet: { path: '/health', port: 2379 } }));
    await admin.create(Deployments, etcd(ns, 'never', { tcpSocket: { port: 9999 } }));
    await admin.create(Deployments, etcd(ns, 'observer', undefined));
    runner = new PodRunner(admin, { namespace: ns, crashLoopBackOffMs: 500 });
    await runner.start();
    await eventually('etcd ready, the others running', () => runner.podsOf('etcd')[0]?.ready && runner.podsOf('observer')[0]?.ready && containerPid(runner.podsOf('never')[0]?.pid, 'etcd'), 90_000);
  });
  afterEach(thaw);
  afterAll(async () => {
    thaw();
    await runner?.stop();
    admin?.close();
  });

  it('resolves a Service to ready Pods only, and follows readiness changes', async () => {
    const ip = pod('etcd').ip ?? '';
    const fqdn = `etcd.${ns}.svc.cluster.local`;
    const line = `${ip} etcd etcd.${ns} etcd.${ns}.svc ${fqdn}\n`;
    expect(runner.resolve('etcd')).toBe(ip);
    expect(runner.resolve(fqdn)).toBe(ip);
    expect(runner.resolve(`etcd.${ns}`)).toBe(ip);
    expect(runner.resolve('etcd.elsewhere.svc.cluster.local')).toBeUndefined();
    for (const h of hostsFiles()) expect(h).toContain(line);
    expect(readFileSync(runner.clusterDnsHostsFile(), 'utf8')).toContain(`${ip} etcd.${ns} etcd.${ns}.svc ${fqdn}\n`);
    // A Pod that never passes its probe is running, with an address, and no Service leads to it.
    const never = pod('never');
    expect(never).toMatchObject({ ready: false, state: 'running' });
    expect(never.ip).toMatch(/^10\./);
    expect(runner.resolve('never')).toBeUndefined();
    for (const h of [...hostsFiles(), readFileSync(runner.clusterDnsHostsFile(), 'utf8')]) expect(h).not.toMatch(/(^|\s)never(\.|\s|$)/m);

    // Frozen, etcd fails its probe: its name goes from every hosts file.
    freeze();
    await eventually('etcd unready', () => !pod('etcd').ready, 60_000);
    await eventually('etcd gone from every hosts file', () => [...hostsFiles(), readFileSync(runner.clusterDnsHostsFile(), 'utf8')].every((h) => !h.includes(fqdn)), 10_000);
    expect(runner.resolve('etcd')).toBeUndefined();
    thaw();
    await eventually('etcd ready again', () => pod('etcd').ready, 60_000);
    await eventually('etcd back in every hosts file', () => hostsFiles().every((h) => h.includes(line)), 10_000);
    expect(runner.resolve(fqdn)).toBe(ip);
  });

  it('forward(): port-forward to a ready Pod of a Service; connections fail cleanly while none is ready', async () => {
    // 12379 is the Service's port; it forwards to the targetPort, 2379.
    const fwd = await runner.forward('etcd', 12379);
    expect(JSON.parse((await get(fwd.port)).body)).toMatchObject({ health: 'true' });
    const wanted = await freePort();
    const byName = await runner.forward(`etcd.${ns}.svc.cluster.local`, 2379, wanted);
    expect(byName.port).toBe(wanted);
    expect((await get(wanted)).status).toBe(200);
    await expect(runner.forward('etcd.elsewhere.svc.cluster.local', 2379)).rejects.toThrow(/not a Service name/);

    const never = await runner.forward('never', 2379);
    await expect(get(never.port)).rejects.toThrow(/ECONNRESET|socket hang up/);

    freeze();
    await eventually('etcd unready', () => !pod('etcd').ready, 60_000);
    await expect(get(fwd.port)).rejects.toThrow(/ECONNRESET|socket hang up/);
    thaw();
    await eventually('forward works again', async () => (await get(fwd.port)).status === 200, 60_000);

    await fwd.close();
    await expect(get(fwd.port)).rejects.toThrow(/ECONNREFUSED/);
    await Promise.all([byName.close(), never.close()]);
  });

  it('runs a host process with cluster DNS: Service names resolve to ready Pods, 127.0.0.1 stays reachable', async () => {
    const fqdn = `etcd.${ns}.svc.cluster.local`;
    const hostHosts = readFileSync('/etc/hosts', 'utf8');
    const local = http.createServer((_req, res) => res.end('host'));
    await new Promise<void>((r) => local.listen(0, '127.0.0.1', () => r()));
    const localPort = (local.address() as { port: number }).port;
    // Node's dns.lookup reads /etc/hosts on every call, as the operator will.
    const script = `
      const dns = require('node:dns'), http = require('node:http');
      const [name, port] = process.argv.slice(1);
      const lookup = (n) => new Promise((r) => dns.lookup(n, { family: 4 }, (e, a) => r(e ? e.code : a)));
      const get = (u) => new Promise((r) => http.get(u, { timeout: 3000 }, (res) => (res.resume(), r(res.statusCode))).on('error', (e) => r(e.code)).on('timeout', function () { this.destroy(); }));
      (async function tick() {
        const ip = await lookup(name);
        console.log(JSON.stringify({ ip, localhost: await lookup('localhost'), etcd: await get('http://' + name + ':2379/health'), local: await get('http://127.0.0.1:' + port + '/') }));
        setTimeout(tick, 200);
      })();`;
    const argv = runner.withClusterDns([process.execPath, '-e', script, fqdn, String(localPort)]);
    expect(argv.slice(0, runner.clusterDnsPrefix().length)).toEqual(runner.clusterDnsPrefix());
    const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const seen = (pred: (r: { ip: string; localhost: string; etcd: number | string; local: number | string }) => boolean) => () => {
      const lines = out.trim().split('\n').filter(Boolean);
      const last = lines[lines.length - 1];
      if (child.exitCode !== null) throw new Error(`the host process exited: ${err}`);
      return last !== undefined && pred(JSON.parse(last));
    };
    try {
      const ip = pod('etcd').ip;
      await eventually('the host process resolves and reaches etcd', seen((r) => r.ip === ip && r.etcd === 200 && r.local === 200 && r.localhost === '127.0.0.1'), 30_000);
      // Only inside its own mount namespace: the host's /etc/hosts is untouched, and this process cannot resolve the name.
      expect(readFileSync('/etc/hosts', 'utf8')).toBe(hostHosts);
      await expect(dns.lookup(fqdn, { family: 4 })).rejects.toThrow();

      freeze();
      await eventually('etcd unready', () => !pod('etcd').ready, 60_000);
      await eventually('the name is gone for the host process', seen((r) => !/^\d/.test(r.ip) && r.local === 200), 30_000);
      thaw();
      await eventually('the name is back for the host process', seen((r) => r.ip === ip && r.etcd === 200), 60_000);
    } finally {
      child.kill('SIGTERM');
      local.close();
    }
  });

  it('a second runner in the same process gets its own bridge and subnet', async () => {
    const other = new PodRunner(admin, { namespace: await createNamespace(admin, 'kpr-routing-2') });
    await other.start();
    const bridges = () => execFileSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).split('\n').filter((l) => / kpr\d+[a-z]? /.test(l));
    try {
      const mine = bridges().filter((l) => l.includes(` kpr${process.pid}`));
      expect(mine.map((l) => l.split(/\s+/)[1]).sort()).toEqual([`kpr${process.pid}`, `kpr${process.pid}a`]);
      const subnets = mine.map((l) => /inet (\d+\.\d+\.\d+)\./.exec(l)?.[1]);
      expect(new Set(subnets).size).toBe(2);
      expect(() => new PodRunner(admin, { namespace: 'x', network: { id: `${process.pid}a` } })).toThrow(/in use/);
    } finally {
      await other.stop();
    }
    expect(bridges().filter((l) => l.includes(` kpr${process.pid}`)).map((l) => l.split(/\s+/)[1])).toEqual([`kpr${process.pid}`]);
  });
});
