// The pod runner behaves like a kubelet where kcp can tell, on real binaries:
// - nested mounts (kcp's front-proxy: a volume at /etc/kcp/tls/ca and another one inside it), a
//   subPath file, and an emptyDir inside an emptyDir, without a stray directory on the host or in
//   a Secret's volume;
// - a container that exits is restarted with CrashLoopBackOff, its restarts and last exit reported
//   in podsOf(), the Deployment status and the Pod's log; the first real-kcp case, a server that
//   exits because etcd is not resolvable yet, comes back once etcd is ready; stopping restarts nothing.
import https from 'node:https';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Deployments, Secrets, Services } from '../../src/kube/resources.js';
import { generateKeyPair } from '../../src/pki/keys.js';
import { selfSigned, signCertificate } from '../../src/pki/x509.js';
import { Backoff } from '../../local/pods/backoff.js';
import { PodRunner, type PodInfo } from '../../local/pods/runner.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
type Container = Record<string, unknown>;

const deployment = (ns: string, name: string, container: Container, volumes: Array<Record<string, unknown>> = [], replicas = 1): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, ...container }], volumes } } },
});

/** The container's own process: the child of the Pod's reaper (the reaper also forks `sleep`). */
function containerPid(reaper: number | undefined, comm: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      if (m && Number(m[2]) === reaper && m[1] === comm) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Processes whose command line mentions `s` (a Pod's directory). */
function processesMentioning(s: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(s);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const exitLines = (log: string) => [...log.matchAll(/^--- container exited with code (\d+); restart (\d+) in (\S+) \((\S+)\)$/gm)].map((m) => ({ code: Number(m[1]), restart: Number(m[2]), delay: m[3] ?? '', at: Date.parse(m[4] ?? '') }));

describe('pod runner as a kubelet', () => {
  let admin: KubeClient;
  let runner: PodRunner;
  let ns: string;

  /** eventually(), and on a timeout the state and last log lines of the Deployment's Pods. */
  const waitFor = <T>(what: string, deployment: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms: number): Promise<T> =>
    eventually(what, check, ms).catch((err: Error) => {
      const pods = runner.podsOf(deployment).map((p) => `${JSON.stringify(p)}\n${existsSync(p.logPath) ? readFileSync(p.logPath, 'utf8').split('\n').slice(-10).join('\n') : ''}`);
      throw new Error(`${err.message}\n${pods.join('\n') || 'no pods'}`);
    });

  beforeAll(async () => {
    admin = await sharedClient('pod-runner-kubelet');
    ns = await createNamespace(admin, 'kpr-kubelet');
    runner = new PodRunner(admin, { namespace: ns, crashLoopBackOffMs: 500 });
    await runner.start();
  });
  afterAll(async () => {
    await runner?.stop();
    admin?.close();
  });

  it('back-off: 10 s doubling to 5 min, from the start again after 10 min of running', () => {
    const b = new Backoff();
    expect([1, 1, 1, 1, 1, 1, 1, 1].map(() => b.next(1000))).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
    expect(b.next(600_000)).toBe(10_000);
    expect(b.next(599_000)).toBe(20_000);
  });

  it('mounts a volume inside another one, a subPath file and an emptyDir in an emptyDir, creating mount points only inside the Pod', async () => {
    const caKey = await generateKeyPair({ algorithm: 'ECDSA' });
    const ca = await signCertificate({ subject: { commonName: 'nested-ca' }, publicKey: caKey.publicKey, isCA: true }, selfSigned(caKey.privateKey));
    const issuer = { certificatePem: ca, privateKey: caKey.privateKey };
    const serverKey = await generateKeyPair({ algorithm: 'ECDSA' });
    const server = await signCertificate({ subject: { commonName: 'etcd' }, publicKey: serverKey.publicKey, dnsNames: ['etcd-nested'], extKeyUsages: ['serverAuth'] }, issuer);
    const clientKey = await generateKeyPair({ algorithm: 'ECDSA' });
    const client = await signCertificate({ subject: { commonName: 'test' }, publicKey: clientKey.publicKey, extKeyUsages: ['clientAuth'] }, issuer);
    await admin.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'serving', namespace: ns }, data: { 'tls.crt': b64(server), 'tls.key': b64(serverKey.privateKeyPem) } });
    await admin.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'client-ca', namespace: ns }, data: { 'ca.crt': b64(ca) } });
    const config = [
      'name: nested',
      'data-dir: /var/lib/kpr-nested/data',
      'wal-dir: /var/lib/kpr-nested/wal/member',
      'listen-client-urls: https://0.0.0.0:2379',
      'advertise-client-urls: https://127.0.0.1:2379',
      'listen-peer-urls: http://127.0.0.1:2380',
      'initial-advertise-peer-urls: http://127.0.0.1:2380',
      'initial-cluster: nested=http://127.0.0.1:2380',
      'unsafe-no-fsync: true',
      'client-transport-security:',
      '  cert-file: /etc/kpr-nested/tls/ca/tls.crt',
      '  key-file: /etc/kpr-nested/tls/ca/tls.key',
      '  client-cert-auth: true',
      '  trusted-ca-file: /etc/kpr-nested/tls/ca/requestheader-client/ca.crt',
    ].join('\n');
    await admin.create(ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'etcd-config', namespace: ns }, data: { 'etcd.yaml': config } });
    // Deepest first on purpose: the runner mounts in order of depth.
    const mounts = [
      { name: 'client-ca', mountPath: '/etc/kpr-nested/tls/ca/requestheader-client' },
      { name: 'config', mountPath: '/etc/kpr-nested/tls/ca/etcd.yaml', subPath: 'etcd.yaml' },
      { name: 'wal', mountPath: '/var/lib/kpr-nested/wal' },
      { name: 'serving', mountPath: '/etc/kpr-nested/tls/ca' },
      { name: 'data', mountPath: '/var/lib/kpr-nested' },
    ];
    const volumes = [
      { name: 'serving', secret: { secretName: 'serving' } },
      { name: 'client-ca', secret: { secretName: 'client-ca' } },
      { name: 'config', configMap: { name: 'etcd-config' } },
      { name: 'data', emptyDir: {} },
      { name: 'wal', emptyDir: {} },
    ];
    await admin.create(Deployments, deployment(ns, 'nested', { image: 'etcd', command: ['etcd'], args: ['--config-file=/etc/kpr-nested/tls/ca/etcd.yaml'], readinessProbe: { tcpSocket: { port: 2379 }, periodSeconds: 1 }, volumeMounts: mounts }, volumes));

    const pod = await waitFor('nested etcd ready', 'nested', () => runner.podsOf('nested').find((p) => p.ready), 90_000);
    // etcd serves with the outer volume's certificate and trusts the nested volume's CA.
    const health = await new Promise<string>((resolve, reject) => {
      const req = https.get({ host: pod.ip, port: 2379, path: '/health', ca, cert: client, key: clientKey.privateKeyPem, servername: 'etcd-nested', timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
    });
    expect(JSON.parse(health)).toMatchObject({ health: 'true' });

    // What the container sees...
    const pid = containerPid(pod.pid, 'etcd');
    expect(pid).toBeDefined();
    const root = `/proc/${pid}/root`;
    expect(readdirSync(`${root}/etc/kpr-nested/tls/ca`).sort()).toEqual(['etcd.yaml', 'requestheader-client', 'tls.crt', 'tls.key']);
    expect(readFileSync(`${root}/etc/kpr-nested/tls/ca/etcd.yaml`, 'utf8')).toBe(config);
    expect(readFileSync(`${root}/etc/passwd`, 'utf8')).toBe(readFileSync('/etc/passwd', 'utf8')); // the rest of /etc is still the host's
    expect(readFileSync(`${root}/etc/hosts`, 'utf8')).toContain(`${pod.ip} ${pod.name}`);
    expect(() => writeFileSync(`${root}/etc/kpr-nested/tls/ca/tls.crt`, 'x')).toThrow(/EROFS|read-only/); // Secret volumes are read-only
    // ...and what the host keeps: no mount point in a real host path or in a Secret's volume.
    expect(existsSync('/etc/kpr-nested')).toBe(false);
    expect(existsSync('/var/lib/kpr-nested')).toBe(false);
    const volumesDir = path.join(path.dirname(pod.logPath), 'volumes');
    expect(readdirSync(path.join(volumesDir, 'serving')).sort()).toEqual(['tls.crt', 'tls.key']);
    expect(readdirSync(path.join(volumesDir, 'client-ca'))).toEqual(['ca.crt']);
    // The WAL went to the inner emptyDir, whose mount point is a directory of the outer one (the Pod's own).
    expect(readdirSync(path.join(volumesDir, 'wal'))).toEqual(['member']);
    expect(readdirSync(path.join(volumesDir, 'data', 'wal'))).toEqual([]);
  });

  it('restarts a container that exits, with a doubling back-off, and reports restarts and the last exit', async () => {
    // A kube-apiserver whose etcd is not resolvable yet exits (the first real-kcp case); it runs
    // meanwhile, in the background of the crash loop below.
    const sa = await generateKeyPair({ algorithm: 'RSA', size: 2048 });
    await admin.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sa', namespace: ns }, data: { 'sa.pub': b64(sa.publicKeyPem), 'sa.key': b64(sa.privateKeyPem) } });
    await admin.create(Services, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'etcd', namespace: ns }, spec: { selector: { app: 'etcd' }, ports: [{ port: 2379 }] } });
    const etcdArgs = ['--listen-client-urls=http://0.0.0.0:2379', `--advertise-client-urls=http://etcd.${ns}.svc.cluster.local:2379`, '--listen-peer-urls=http://127.0.0.1:2380', '--initial-advertise-peer-urls=http://127.0.0.1:2380', '--initial-cluster=default=http://127.0.0.1:2380', '--data-dir=/var/lib/kpr-etcd/data', '--unsafe-no-fsync=true'];
    await admin.create(Deployments, deployment(ns, 'etcd', { image: 'etcd', command: ['etcd'], args: etcdArgs, readinessProbe: { httpGet: { path: '/health', port: 2379 }, periodSeconds: 1 }, volumeMounts: [{ name: 'data', mountPath: '/var/lib/kpr-etcd' }] }, [{ name: 'data', emptyDir: {} }], 0));
    await admin.create(
      Deployments,
      deployment(
        ns,
        'apiserver',
        {
          image: 'kube-apiserver',
          command: ['kube-apiserver'],
          args: [`--etcd-servers=http://etcd.${ns}.svc.cluster.local:2379`, '--secure-port=6443', '--service-account-issuer=https://apiserver', '--service-account-key-file=/etc/kpr-apiserver/sa.pub', '--service-account-signing-key-file=/etc/kpr-apiserver/sa.key', '--service-cluster-ip-range=10.96.0.0/12', '--cert-dir=/var/run/kpr-apiserver', '--authorization-mode=RBAC'],
          readinessProbe: { httpGet: { path: '/readyz', port: 6443, scheme: 'HTTPS' }, periodSeconds: 1 },
          volumeMounts: [{ name: 'sa', mountPath: '/etc/kpr-apiserver' }, { name: 'scratch', mountPath: '/var/run/kpr-apiserver' }],
        },
        [{ name: 'sa', secret: { secretName: 'sa' } }, { name: 'scratch', emptyDir: {} }],
      ),
    );

    // A container that fails at once: etcd with a flag it does not know (exit code 2).
    await admin.create(Deployments, deployment(ns, 'crasher', { image: 'etcd', command: ['etcd'], args: ['--no-such-flag'] }));
    const crashed = await waitFor('three restarts', 'crasher', () => runner.podsOf('crasher').find((p) => p.restartCount >= 3 && p.lastTermination), 90_000);
    expect(crashed.lastTermination).toMatchObject({ exitCode: 2 });
    const exits = exitLines(readFileSync(crashed.logPath, 'utf8'));
    expect(exits.slice(0, 3).map((e) => [e.code, e.restart, e.delay])).toEqual([
      [2, 1, '500ms'],
      [2, 2, '1s'],
      [2, 3, '2s'],
    ]);
    // Lower bounds only: each exit comes at least the announced back-off after the one before.
    for (const [i, min] of [500, 1000].entries()) expect((exits[i + 1]?.at ?? 0) - (exits[i]?.at ?? 0)).toBeGreaterThanOrEqual(min);
    // The Deployment's status says so: a back-off under way, and the restarts with the last exit.
    const status = await eventually('CrashLoopBackOff in the status', async () => {
      const d = await admin.get(Deployments, ns, 'crasher');
      const conds = (d.status as { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> } | undefined)?.conditions ?? [];
      const progressing = conds.find((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'CrashLoopBackOff');
      const available = conds.find((c) => c.type === 'Available' && c.status === 'False');
      return progressing && available ? { progressing, available } : undefined;
    }, 60_000);
    expect(status.progressing.message).toMatch(new RegExp(`^${crashed.name}: back-off \\S+ restarting failed container \\(restart \\d+\\); last exited with code 2 at \\S+$`));
    expect(status.available.message).toMatch(new RegExp(`^0/1 ready \\(pod runner\\); ${crashed.name}: \\d+ restarts, last exited with code 2 at \\S+$`));

    // Fixed by a new template: a new Pod (restart count 0), and the old one is not restarted any more.
    const old = runner.podsOf('crasher')[0] as PodInfo;
    const fixedSpec = { containers: [{ name: 'crasher', image: 'etcd', command: ['etcd'], args: etcdArgs, volumeMounts: [{ name: 'data', mountPath: '/var/lib/kpr-etcd' }] }], volumes: [{ name: 'data', emptyDir: {} }] };
    await admin.patch(Deployments, ns, 'crasher', { spec: { template: { spec: fixedSpec } } }, 'merge');
    const fixed = await waitFor('fixed crasher ready', 'crasher', () => runner.podsOf('crasher').find((p) => p.name !== old.name && p.ready), 60_000);
    expect(fixed).toMatchObject({ restartCount: 0, lastTermination: undefined, state: 'running' });
    const oldLog = readFileSync(old.logPath, 'utf8');
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(old.nextRestartAt ?? '') - Date.now()) + 2000));
    expect(readFileSync(old.logPath, 'utf8')).toBe(oldLog);
    expect(processesMentioning(path.dirname(old.logPath))).toEqual([]);

    // The real case: kube-apiserver exited (etcd was not resolvable) and comes back once etcd is ready.
    const dead = await waitFor('kube-apiserver exited', 'apiserver', () => runner.podsOf('apiserver').find((p) => p.lastTermination), 120_000);
    expect(dead.lastTermination?.exitCode).not.toBe(0);
    expect(readFileSync(dead.logPath, 'utf8')).toMatch(/^--- container exited with code \d+; restart 1 in /m);
    await admin.patch(Deployments, ns, 'etcd', { spec: { replicas: 1 } }, 'merge');
    const back = await waitFor('kube-apiserver ready after a restart', 'apiserver', () => runner.podsOf('apiserver').find((p) => p.ready), 180_000);
    expect(back.restartCount).toBeGreaterThanOrEqual(1);
    expect(back.name).toBe(dead.name); // the same Pod: its container was restarted
    const available = await eventually('apiserver Available', async () => {
      const d = await admin.get(Deployments, ns, 'apiserver');
      return (d.status as { conditions?: Array<{ type: string; status: string; message?: string }> } | undefined)?.conditions?.find((c) => c.type === 'Available' && c.status === 'True');
    }, 60_000);
    expect(available.message).toMatch(/^1\/1 ready \(pod runner\); apiserver-\S+: \d+ restarts?, last exited with code \d+ at /);
  });

  it('stopping the runner restarts nothing', async () => {
    const crasherLogs = runner.podsOf('crasher').map((p) => p.logPath);
    await admin.patch(Deployments, ns, 'crasher', { spec: { template: { spec: { containers: [{ name: 'crasher', image: 'etcd', command: ['etcd'], args: ['--no-such-flag'] }] } } } }, 'merge');
    const crashing = await waitFor('crashing again', 'crasher', () => runner.podsOf('crasher').find((p) => !crasherLogs.includes(p.logPath) && p.state === 'waiting'), 60_000);
    const workDir = path.dirname(path.dirname(crashing.logPath));
    const log = readFileSync(crashing.logPath, 'utf8');
    await runner.stop();
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(crashing.nextRestartAt ?? '') - Date.now()) + 2000));
    expect(processesMentioning(workDir)).toEqual([]);
    expect(existsSync(workDir)).toBe(false);
    expect(log).toMatch(/^--- container exited with code 2; restart 1 in 500ms/m);
  });
});
