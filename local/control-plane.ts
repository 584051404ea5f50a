// A real control plane for tests: etcd and kube-apiserver (built by hack/build-binaries.sh) on
// free loopback ports, TLS with a client-certificate admin in system:masters, RBAC, an audit log
// of every write, and the CRDs from crds/. Several can run at once (one per "cluster").
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { loadKubeconfigFile, type RestConfig } from '../src/kube/kubeconfig.js';
import { parseAllDocuments, stringify } from 'yaml';
import { KubeClient } from '../src/kube/client.js';
import type { KubeObject } from '../src/kube/object.js';
import { CustomResourceDefinitions } from '../src/kube/resources.js';
import { binaryPath, repoRoot } from './binaries.js';
import { createControlPlanePki, issueClientCert, type ClientCert, type ControlPlanePki } from './pki.js';
import { freePort } from './ports.js';
import { ManagedProcess } from './process.js';

export interface ControlPlaneOptions {
  name?: string;
  /** Install the CRDs from crds/ (default true). */
  crds?: boolean;
  /** Keep the state directory after stop (for debugging). */
  keepDir?: boolean;
  /** Extra kube-apiserver flags (e.g. low --max-requests-inflight for throttling tests). */
  apiServerArgs?: string[];
  /**
   * Run etcd and kube-apiserver inside this network namespace (`ip netns exec`): a cluster behind a
   * network the test controls. `address` is the namespace's address this process reaches them at
   * (etcd listens there, kubeconfigs point there); kube-apiserver listens on every address of the
   * namespace, and its serving certificate also carries `extraIps` (the namespace's other addresses).
   */
  netns?: { name: string; address: string; extraIps?: string[] };
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

export interface AuditEvent {
  verb: string;
  user: { username: string; groups?: string[] };
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  stage: string;
  requestReceivedTimestamp: string;
}

export class ControlPlane {
  etcd: ManagedProcess | undefined;
  apiserver: ManagedProcess | undefined;
  readonly auditLogPath: string;
  readonly kubeconfigPath: string;
  /** Extra kube-apiserver flags; a test may change them before restartApiServer. */
  apiServerArgs: string[] = [];
  /** Where this process reaches etcd and kube-apiserver. */
  host = '127.0.0.1';
  private netns: string | undefined;

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly pki: ControlPlanePki,
    readonly etcdUrl: string,
    private readonly etcdPeerUrl: string,
    readonly port: number,
    private readonly keepDir: boolean,
  ) {
    this.auditLogPath = path.join(dir, 'audit.log');
    this.kubeconfigPath = path.join(dir, 'admin.kubeconfig');
  }

  get server(): string {
    return `https://${this.host}:${this.port}`;
  }

  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const name = opts.name ?? 'test';
    const dir = await mkdtemp(path.join(os.tmpdir(), `kcp-op-cp-${name}-`));
    const host = opts.netns?.address ?? '127.0.0.1';
    const pki = await createControlPlanePki(dir, opts.netns ? [host, ...(opts.netns.extraIps ?? [])] : []);
    for (let attempt = 0; ; attempt++) {
      const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
      const cp = new ControlPlane(
        name,
        dir,
        pki,
        `http://${host}:${etcdPort}`,
        `http://${host}:${peerPort}`,
        apiPort,
        opts.keepDir ?? false,
      );
      cp.apiServerArgs = [...(opts.apiServerArgs ?? [])];
      cp.host = host;
      cp.netns = opts.netns?.name;
      try {
        await cp.startEtcd();
        await cp.startApiServer();
        await cp.writeKubeconfig(cp.kubeconfigPath, 'admin', pki.admin);
        if (opts.crds ?? true) await cp.installCrds();
        return cp;
      } catch (err) {
        await cp.stopProcesses();
        // A port taken between probing and binding shows up as an early exit; try new ports.
        if (attempt < 2 && /exited/.test(String(err))) continue;
        if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }

  private async startEtcd(): Promise<void> {
    await mkdir(path.join(this.dir, 'etcd'), { recursive: true });
    this.etcd = this.startProcess(
      'etcd',
      [
        '--name=default',
        `--data-dir=${path.join(this.dir, 'etcd')}`,
        `--listen-client-urls=${this.etcdUrl}`,
        `--advertise-client-urls=${this.etcdUrl}`,
        `--listen-peer-urls=${this.etcdPeerUrl}`,
        `--initial-advertise-peer-urls=${this.etcdPeerUrl}`,
        `--initial-cluster=default=${this.etcdPeerUrl}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
        '--quota-backend-bytes=4294967296',
      ],
      { logPath: path.join(this.dir, 'etcd.log') },
    );
    await waitFor(`etcd (${this.name})`, this.etcd, 20_000, async () => {
      const res = await fetch(`${this.etcdUrl}/health`).catch(() => undefined);
      return res?.ok === true;
    });
  }

  async startApiServer(): Promise<void> {
    const f = this.pki.files;
    await writeFile(path.join(this.dir, 'audit-policy.yaml'), AUDIT_POLICY);
    this.apiserver = this.startProcess(
      'kube-apiserver',
      [
        `--etcd-servers=${this.etcdUrl}`,
        `--etcd-prefix=/registry`,
        `--cert-dir=${path.join(this.dir, 'apiserver-certs')}`,
        `--tls-cert-file=${f.servingCert}`,
        `--tls-private-key-file=${f.servingKey}`,
        `--client-ca-file=${f.clientCa}`,
        `--secure-port=${this.port}`,
        `--bind-address=${this.netns ? '0.0.0.0' : '127.0.0.1'}`,
        `--advertise-address=${this.host}`,
        // kind's and kubeadm's default range: the kcp-operator samples pin a clusterIP in it.
        '--service-cluster-ip-range=10.96.0.0/12',
        `--service-account-issuer=${this.server}`,
        `--service-account-key-file=${f.saPublic}`,
        `--service-account-signing-key-file=${f.saPrivate}`,
        '--authorization-mode=RBAC',
        '--disable-admission-plugins=ServiceAccount',
        '--allow-privileged=true',
        `--audit-policy-file=${path.join(this.dir, 'audit-policy.yaml')}`,
        `--audit-log-path=${this.auditLogPath}`,
        '--audit-log-format=json',
        '--audit-log-mode=blocking',
        '--profiling=false',
        '--endpoint-reconciler-type=none',
        '--v=1',
        ...this.apiServerArgs,
      ],
      { logPath: path.join(this.dir, 'kube-apiserver.log') },
    );
    const agent = new https.Agent({
      ca: this.pki.caPem,
      cert: this.pki.admin.certPem,
      key: this.pki.admin.keyPem,
      keepAlive: false,
    });
    await waitFor(`kube-apiserver (${this.name})`, this.apiserver, 60_000, () => httpsOk(`${this.server}/readyz`, agent));
    agent.destroy();
  }

  private startProcess(name: 'etcd' | 'kube-apiserver', args: string[], opts: { logPath: string }): ManagedProcess {
    if (!this.netns) return ManagedProcess.start(name, binaryPath(name), args, opts);
    // `ip netns exec` execs the binary in place: the pid the reaper and stop() signal is the binary's.
    return ManagedProcess.start(name, 'ip', ['netns', 'exec', this.netns, binaryPath(name), ...args], opts);
  }

  /** Stops and starts kube-apiserver on the same port and data: watches break, state survives. */
  async restartApiServer(betweenMs = 0): Promise<void> {
    await this.apiserver?.stop();
    if (betweenMs > 0) await new Promise((r) => setTimeout(r, betweenMs));
    await this.startApiServer();
  }

  async stopApiServer(): Promise<void> {
    await this.apiserver?.stop();
  }

  async writeKubeconfig(file: string, user: string, cert: ClientCert): Promise<void> {
    await writeFile(file, kubeconfigYaml(this.server, this.pki.caPem, user, cert), { mode: 0o600 });
  }

  /** A kubeconfig file for another user (client certificate from this control plane's client CA). */
  async kubeconfigFor(user: string, groups: string[] = []): Promise<string> {
    const cert = await issueClientCert(this.pki, user, groups);
    const file = path.join(this.dir, `${user.replace(/[^a-zA-Z0-9_.-]/g, '_')}.kubeconfig`);
    await this.writeKubeconfig(file, user, cert);
    return file;
  }

  kubeConfig(): RestConfig {
    const kc = loadKubeconfigFile(this.kubeconfigPath);
    return kc;
  }

  client(userAgent = 'test-env'): Promise<KubeClient> {
    return KubeClient.fromKubeConfig(this.kubeConfig(), { userAgent, qps: 0 });
  }

  async installCrds(crdDir = path.join(repoRoot, 'crds')): Promise<void> {
    const files = (await readdir(crdDir).catch(() => [] as string[])).filter((f) => /\.ya?ml$/.test(f)).sort();
    if (files.length === 0) return;
    const client = await this.client('test-env-crds');
    try {
      const names: string[] = [];
      for (const f of files) {
        for (const doc of parseAllDocuments(await readFile(path.join(crdDir, f), 'utf8'))) {
          const obj = doc.toJS() as KubeObject | null;
          if (!obj || obj.kind !== 'CustomResourceDefinition') continue;
          await client.apply(CustomResourceDefinitions, obj, 'test-env');
          names.push(obj.metadata.name ?? '');
        }
      }
      const deadline = Date.now() + 30_000;
      for (const name of names) {
        for (;;) {
          const crd = await client.get(CustomResourceDefinitions, undefined, name);
          const conds = ((crd.status as { conditions?: Array<{ type: string; status: string }> } | undefined)
            ?.conditions ?? []) as Array<{ type: string; status: string }>;
          if (conds.some((c) => c.type === 'Established' && c.status === 'True')) break;
          if (Date.now() > deadline) throw new Error(`CRD ${name} did not become Established`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    } finally {
      client.close();
    }
  }

  /** Write requests recorded in the audit log, optionally only those with this user agent. */
  async auditedWrites(filter: { userAgent?: string; since?: Date } = {}): Promise<AuditEvent[]> {
    // The API server rotates its audit log at 100 MB (lumberjack's default when --audit-log-maxsize
    // is 0), keeping backups named audit-<timestamp>.log beside it: a 100,000-write benchmark
    // spans several files, and counting only the current one undercounts.
    const base = path.basename(this.auditLogPath, '.log');
    const backups = (await readdir(path.dirname(this.auditLogPath)).catch(() => [] as string[]))
      .filter((f) => f.startsWith(`${base}-`) && f.endsWith('.log'))
      .sort()
      .map((f) => path.join(path.dirname(this.auditLogPath), f));
    const out: AuditEvent[] = [];
    for (const file of [...backups, this.auditLogPath]) {
      const text = await readFile(file, 'utf8').catch(() => '');
      this.parseAudit(text, filter, out);
    }
    return out;
  }

  private parseAudit(text: string, filter: { userAgent?: string; since?: Date }, out: AuditEvent[]): void {
    for (const line of text.split('\n')) {
      if (!line) continue;
      const ev = JSON.parse(line) as AuditEvent;
      if (ev.stage !== 'ResponseComplete') continue;
      // An access or token review is a question, not a write: nothing is stored (the sync
      // sidecar asks where it may read Secrets with SelfSubjectAccessReviews).
      if (ev.objectRef?.apiGroup === 'authorization.k8s.io' || ev.objectRef?.apiGroup === 'authentication.k8s.io') continue;
      if (filter.userAgent && !ev.userAgent?.startsWith(filter.userAgent)) continue;
      if (filter.since && new Date(ev.requestReceivedTimestamp) < filter.since) continue;
      out.push(ev);
    }
  }

  /** etcd's own JSON gateway: lets tests change or compact storage behind the API server's back. */
  async etcdRequest(pathname: string, body: unknown): Promise<unknown> {
    const res = await fetch(`${this.etcdUrl}${pathname}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`etcd ${pathname}: ${res.status} ${await res.text()}`);
    return res.json();
  }

  private async stopProcesses(): Promise<void> {
    await this.apiserver?.stop();
    await this.etcd?.stop();
  }

  async stop(): Promise<void> {
    await this.stopProcesses();
    if (!this.keepDir) await rm(this.dir, { recursive: true, force: true });
  }
}

export function startControlPlane(opts?: ControlPlaneOptions): Promise<ControlPlane> {
  return ControlPlane.start(opts);
}

export function kubeconfigYaml(server: string, caPem: string, user: string, cert: ClientCert): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
      users: [{ name: user, user: { 'client-certificate-data': b64(cert.certPem), 'client-key-data': b64(cert.keyPem) } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user } }],
      'current-context': 'test',
    },
    { lineWidth: 0 },
  );
}

async function httpsOk(url: string, agent: https.Agent): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(url, { agent, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

async function waitFor(what: string, proc: ManagedProcess, timeoutMs: number, ready: () => Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.running) {
      const log = await readFile(proc.logPath, 'utf8').catch(() => '');
      throw new Error(`${what} exited (code ${proc.exitCode}); last log lines:\n${log.split('\n').slice(-15).join('\n')}`);
    }
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms (log: ${proc.logPath})`);
}
