// Benchmark (issue 16, parts 1, 2, 4, 5): a large topology — 1 RootShard, N Shards, M FrontProxies
// and K Kubeconfigs — on a fresh etcd + kube-apiserver, with the operator as compiled JS in its
// own process (`node dist/src/main.js`, as shipped). Measures, in order:
//   1. create everything at once → "done": the expected Deployments exist, every Secret they mount
//      exists, and every Kubeconfig's Secret exists; the operator's writes (audit log, by user
//      agent) against the floor (one write per child object plus one status write per CR);
//   2. an idle window: writes (floor 0), reconciles per minute (/metrics), RSS and heap at the end;
//   3. a restart with everything present: time to ready, to the first reconcile and until the
//      queues drained ("no writes needed"), and the writes it made;
//   4. churn: a share of the Kubeconfigs per minute get new groups; change → Secret reflecting it
//      (the client certificate's O), p50/p99, and writes per change.
// The first operator process can run under --cpu-prof and dump a heap snapshot at the end of
// its idle window (--profile=DIR); summarise them with test/bench/profile-summary.ts.
//   npx tsx test/bench/topology-scale.bench.ts [--shards=100] [--front-proxies=3] [--kubeconfigs=1000]
//     [--idle=300] [--churn-minutes=3] [--churn-percent=10] [--key=ECDSA-256|RSA-2048|RSA-4096|Ed25519]
//     [--profile=DIR] [--no-restart] [--no-build] [--entry=PATH/dist/src/main.js] [--label=TEXT] [--keep-audit=FILE] [--dry-run]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { appendFileSync, copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { load } from 'js-yaml';
import { FrontProxies, Kubeconfigs, RootShards, Shards } from '../../src/controllers/context.js';
import { Informer } from '../../src/kube/informer.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, Namespaces, Secrets } from '../../src/kube/resources.js';
import { CERTIFICATE_TEMPLATE_KEYS } from '../../src/api/certificates.js';
import { repoRoot } from '../../local/binaries.js';
import { startControlPlane } from '../../local/control-plane.js';
import { freePort } from '../../local/ports.js';
import { cpuSecondsOf, machineFacts, rssOf, stats } from './machine.js';

const { values: o } = parseArgs({
  options: {
    shards: { type: 'string', default: '100' },
    'front-proxies': { type: 'string', default: '3' },
    kubeconfigs: { type: 'string', default: '1000' },
    idle: { type: 'string', default: '300' },
    'churn-minutes': { type: 'string', default: '3' },
    'churn-percent': { type: 'string', default: '10' },
    key: { type: 'string', default: 'ECDSA-256' },
    profile: { type: 'string' },
    'no-restart': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    // A compiled operator elsewhere (e.g. the build before a fix, for a before/after pair).
    entry: { type: 'string' },
    label: { type: 'string', default: '' },
    // Copy the API server's audit log here before the control plane goes (to study the writes).
    'keep-audit': { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    // Give up waiting for "done" after this many seconds (and record that).
    timeout: { type: 'string', default: '900' },
  },
});
const SHARDS = Number(o.shards);
const FPS = Number(o['front-proxies']);
const KCS = Number(o.kubeconfigs);
const IDLE_S = Number(o.idle);
const CHURN_MIN = Number(o['churn-minutes']);
const CHURN_PCT = Number(o['churn-percent']);
const [keyAlg, keySize] = (o.key ?? 'ECDSA-256').split('-') as ['RSA' | 'ECDSA' | 'Ed25519', string | undefined];
const ns = 'scale';
const UA = 'kcp-operator/';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const entry = o.entry ? path.resolve(o.entry) : path.join(repoRoot, 'dist/src/main.js');
if (!o['no-build'] && !o.entry) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'inherit' });
const cp = await startControlPlane({ name: 'bench-topology-scale' });
const driver = await cp.client('bench-driver');
await driver.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });

// ---- the operator process and what it tells -------------------------------------------------
interface Operator {
  proc: ChildProcess;
  port: number;
  exited: Promise<void>;
}
async function startOperator(profileDir?: string): Promise<Operator> {
  const port = await freePort();
  const nodeFlags = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${profileDir}`] : [];
  const proc = spawn(
    process.execPath,
    [...nodeFlags, entry, `--kubeconfig=${cp.kubeconfigPath}`, `--health-probe-bind-address=127.0.0.1:${port}`],
    { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'error' } },
  );
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return { proc, port, exited };
}
const ready = async (op: Operator) => {
  for (;;) {
    if (await fetch(`http://127.0.0.1:${op.port}/readyz`).then((r) => r.ok).catch(() => false)) return;
    await sleep(50);
  }
};
async function metrics(op: Operator): Promise<Map<string, number>> {
  const text = await fetch(`http://127.0.0.1:${op.port}/metrics`).then((r) => r.text()).catch(() => '');
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const hit = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (hit) m.set(hit[1]!, Number(hit[2]));
  }
  return m;
}
const sum = (m: Map<string, number>, prefix: string) => [...m].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
const rssMiB = (op: Operator) => rssOf(op.proc.pid!).rss;
const cpuSeconds = (op: Operator) => cpuSecondsOf(op.proc.pid!);
const stop = async (op: Operator) => {
  op.proc.kill('SIGTERM');
  await op.exited;
};

// ---- writes (audit log) -----------------------------------------------------------------------
const kindOf = (e: { verb: string; objectRef?: { resource?: string; subresource?: string } }) =>
  `${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? '/' + e.objectRef.subresource : ''}`;
async function writes(since: Date, until?: Date) {
  const evs = (await cp.auditedWrites({ userAgent: UA, since })).filter((e) => !until || new Date(e.requestReceivedTimestamp) < until);
  const byKind = new Map<string, number>();
  for (const e of evs) byKind.set(kindOf(e), (byKind.get(kindOf(e)) ?? 0) + 1);
  return { events: evs, total: evs.length, byKind };
}
async function quiet(since: Date, windowMs = 5000, maxMs = 120_000): Promise<number> {
  const t0 = performance.now();
  let last = -1;
  for (;;) {
    const n = (await writes(since)).total;
    if (n === last || performance.now() - t0 > maxMs) return n;
    last = n;
    await sleep(windowMs);
  }
}
const fmtKinds = (m: Map<string, number>) => [...m].sort().map(([k, v]) => `${k} ×${v}`).join(', ');

// ---- the topology -----------------------------------------------------------------------------
const privateKey = { algorithm: keyAlg, ...(keySize ? { size: Number(keySize) } : {}) };
// Every certificate and CA of every CR gets the key type; the default (ECDSA P-256) needs none.
// Except service-account keys with Ed25519: Kubernetes cannot sign tokens with it, so the
// operator refuses that (those stay ECDSA P-256).
const templates =
  o.key === 'ECDSA-256'
    ? undefined
    : Object.fromEntries(CERTIFICATE_TEMPLATE_KEYS.filter((k) => keyAlg !== 'Ed25519' || k !== 'service-account').map((k) => [k, { spec: { privateKey } }]));
const shardName = (i: number) => `s${String(i).padStart(3, '0')}`;
const fpName = (i: number) => `fp${i}`;
const kcName = (i: number) => `kc-${String(i).padStart(4, '0')}`;
const kcTarget = (i: number) =>
  i % 4 === 0 ? { rootShardRef: { name: 'root' } } : i % 4 === 1 && SHARDS > 0 ? { shardRef: { name: shardName(i % SHARDS) } } : FPS > 0 ? { frontProxyRef: { name: fpName(i % FPS) } } : { rootShardRef: { name: 'root' } };
const objects: Array<[typeof RootShards, KubeObject]> = [
  [
    RootShards,
    {
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'RootShard',
      metadata: { name: 'root', namespace: ns },
      spec: {
        external: { hostname: 'kcp.example.com', port: 6443 },
        cache: {},
        etcd: { endpoints: ['http://etcd:2379'] },
        ...(templates ? { certificateTemplates: templates, proxy: { certificateTemplates: templates } } : {}),
      },
    } as KubeObject,
  ],
  ...Array.from({ length: SHARDS }, (_, i): [typeof Shards, KubeObject] => [
    Shards,
    {
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'Shard',
      metadata: { name: shardName(i), namespace: ns },
      spec: { rootShard: { ref: { name: 'root' } }, etcd: { endpoints: [`http://etcd-${i}:2379`] }, ...(templates ? { certificateTemplates: templates } : {}) },
    } as KubeObject,
  ]),
  ...Array.from({ length: FPS }, (_, i): [typeof FrontProxies, KubeObject] => [
    FrontProxies,
    {
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'FrontProxy',
      metadata: { name: fpName(i), namespace: ns },
      spec: { rootShard: { ref: { name: 'root' } }, ...(templates ? { certificateTemplates: templates } : {}) },
    } as KubeObject,
  ]),
  ...Array.from({ length: KCS }, (_, i): [typeof Kubeconfigs, KubeObject] => [
    Kubeconfigs,
    {
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'Kubeconfig',
      metadata: { name: kcName(i), namespace: ns },
      spec: {
        username: `user-${i}`,
        groups: ['developers'],
        validity: '8766h',
        secretRef: { name: `${kcName(i)}-kubeconfig` },
        target: kcTarget(i),
        ...(templates ? { certificateTemplate: { spec: { privateKey } } } : {}),
      },
    } as KubeObject,
  ]),
];
const CRS = objects.length;
// Root shard, its internal proxy, every Shard and every FrontProxy run as one Deployment each.
const EXPECTED_DEPLOYMENTS = 2 + SHARDS + FPS;

// The driver's own caches: done is judged from them, not by listing a thousand Secrets in a loop.
const secrets = new Informer<KubeObject>(driver, Secrets, { namespace: ns });
const deployments = new Informer<KubeObject>(driver, Deployments, { namespace: ns });
secrets.start();
deployments.start();
await Promise.all([secrets.waitForSync(), deployments.waitForSync()]);
const mountedSecrets = (d: KubeObject): string[] => {
  const vols = ((d as { spec?: { template?: { spec?: { volumes?: Array<Record<string, unknown>> } } } }).spec?.template?.spec?.volumes ?? []);
  const out: string[] = [];
  for (const v of vols) {
    const s = v.secret as { secretName?: string; optional?: boolean } | undefined;
    if (s?.secretName && !s.optional) out.push(s.secretName);
    const p = v.projected as { sources?: Array<{ secret?: { name?: string; optional?: boolean } }> } | undefined;
    for (const src of p?.sources ?? []) if (src.secret?.name && !src.secret.optional) out.push(src.secret.name);
  }
  return out;
};
function isDone(): boolean {
  const deps = deployments.list(ns);
  if (deps.length < EXPECTED_DEPLOYMENTS) return false;
  for (const d of deps) for (const s of mountedSecrets(d)) if (!secrets.getByName(ns, s)) return false;
  for (let i = 0; i < KCS; i++) if (!secrets.getByName(ns, `${kcName(i)}-kubeconfig`)) return false;
  return true;
}

const facts = machineFacts();
const rows: Array<[string, string]> = [];
const row = (k: string, v: string) => {
  rows.push([k, v]);
  console.log(`${k}: ${v}`);
};

// ---- 1. create → done ------------------------------------------------------------------------
if (o.profile) mkdirSync(o.profile, { recursive: true });
const op1 = await startOperator(o.profile);
const tStart = performance.now();
await ready(op1);
row('operator start to ready (informers synced, empty cluster)', `${(performance.now() - tStart).toFixed(0)} ms`);
const since = new Date();
const t0 = performance.now();
let doneMs: number | undefined;
let cpuAtDone: number | undefined;
const TIMEOUT_MS = Number(o.timeout) * 1000;
const watcher = (async () => {
  while (doneMs === undefined && performance.now() - t0 < TIMEOUT_MS) {
    if (isDone()) {
      doneMs = performance.now() - t0;
      cpuAtDone = cpuSeconds(op1);
    }
    else await sleep(100);
  }
})();
for (let i = 0; i < objects.length; i += 20) await Promise.all(objects.slice(i, i + 20).map(([r, obj]) => driver.create(r, obj)));
const createdMs = performance.now() - t0;
await watcher;
row(`created ${CRS} CRs (driver, 20 in flight)`, `${createdMs.toFixed(0)} ms`);
row('create → done (Deployments, their Secrets, every Kubeconfig Secret)', doneMs === undefined ? `not done within ${o.timeout} s` : `${doneMs.toFixed(0)} ms`);
row('operator CPU, user + system (/proc): start → done', cpuAtDone === undefined ? '—' : `${cpuAtDone.toFixed(1)} s`);
const atDone = (await writes(since)).total;
await quiet(since);
const w1 = await writes(since);
const lastWriteMs = Math.max(...w1.events.map((e) => Date.parse(e.requestReceivedTimestamp))) - since.getTime();
// The floor: one write per child object the operator made (each distinct object it wrote, apart
// from Events), plus one status write per CR.
const touched = new Set(w1.events.filter((e) => e.objectRef?.resource !== 'events' && !e.objectRef?.subresource).map((e) => `${e.objectRef?.resource ?? '?'}/${e.objectRef?.name ?? '?'}`));
const eventsW = w1.byKind.get('create events') ?? 0;
const floor = touched.size + CRS;
row('last operator write (audit log), after the first create', `${lastWriteMs.toFixed(0)} ms`);
row('operator writes at done / at quiet', `${atDone} / ${w1.total}`);
row('floor: distinct child objects written + one status per CR', `${touched.size} + ${CRS} = ${floor}`);
row('writes over the floor (excl. Events) ', `${w1.total - eventsW - floor} (Events: ${eventsW}); ${((w1.total - eventsW) / floor).toFixed(3)} × floor`);
row('writes by verb and resource', fmtKinds(w1.byKind));

// ---- 2. idle ------------------------------------------------------------------------------------
const idleSince = new Date();
const m0 = await metrics(op1);
const tIdle = performance.now();
await sleep(IDLE_S * 1000);
const m1 = await metrics(op1);
const idleMin = (performance.now() - tIdle) / 60_000;
const idle = await writes(idleSince);
row(`operator writes in ${IDLE_S} s idle`, `${idle.total}${idle.total ? ` (${fmtKinds(idle.byKind)})` : ''}`);
const rec = (m: Map<string, number>) => sum(m, 'controller_runtime_reconcile_total');
row('reconciles per minute at rest (controller_runtime_reconcile_total)', IDLE_S > 0 ? ((rec(m1) - rec(m0)) / idleMin).toFixed(1) : '—');
const perController = new Map<string, number>();
for (const [k, v] of m1) {
  const c = /^controller_runtime_reconcile_total\{.*controller="([^"]+)"/.exec(k)?.[1];
  if (c) perController.set(c, (perController.get(c) ?? 0) + v);
}
row('reconciles from start to end of idle, by controller', `${rec(m1)}: ${[...perController].filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ')}`);
row('operator CPU, user + system (/proc): start → end of idle', `${cpuSeconds(op1).toFixed(1)} s`);
row('RSS at end (/proc VmRSS)', `${rssMiB(op1).toFixed(0)} MiB`);
row('heap used / total at end (nodejs_heap_size_used_bytes / _total_bytes)', `${((m1.get('nodejs_heap_size_used_bytes') ?? 0) / 2 ** 20).toFixed(0)} / ${((m1.get('nodejs_heap_size_total_bytes') ?? 0) / 2 ** 20).toFixed(0)} MiB`);
if (o.profile) {
  // Writing the snapshot blocks the process; wait until the file stops growing before SIGTERM.
  const dir = o.profile;
  const snapshotSize = () => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')).reduce((a, f) => a + statSync(path.join(dir, f)).size, 0);
  const before = snapshotSize();
  op1.proc.kill('SIGUSR2');
  for (let last = -1, t = performance.now(); performance.now() - t < 180_000; ) {
    await sleep(2000);
    const n = snapshotSize();
    if (n > before && n === last) break;
    last = n;
  }
}

// The key type actually issued (read back from one shard's server certificate and one kubeconfig).
const keyOf = (pem: string) => {
  const k = new X509Certificate(pem).publicKey;
  const d = k.asymmetricKeyDetails;
  return `${k.asymmetricKeyType}${d?.modulusLength ? `-${d.modulusLength}` : d?.namedCurve ? `-${d.namedCurve}` : ''}`;
};
const b64 = (s: KubeObject, k: string) => Buffer.from(((s as { data?: Record<string, string> }).data ?? {})[k] ?? '', 'base64').toString();
const kcCert = (s: KubeObject) => {
  const doc = load(b64(s, 'kubeconfig')) as { users?: Array<{ user?: Record<string, string> }> };
  return Buffer.from(doc.users?.[0]?.user?.['client-certificate-data'] ?? '', 'base64').toString();
};
const anyServer = secrets.list(ns).find((s) => /server/.test(s.metadata.name ?? '') && b64(s, 'tls.crt'));
row('key types issued (a server certificate / a kubeconfig client certificate)', `${anyServer ? keyOf(b64(anyServer, 'tls.crt')) : '?'} / ${KCS ? keyOf(kcCert(secrets.getByName(ns, `${kcName(0)}-kubeconfig`)!)) : '—'}`);
await stop(op1);

// ---- 3. restart with everything present -----------------------------------------------------
let op = op1;
if (!o['no-restart']) {
  const rSince = new Date();
  const tr = performance.now();
  op = await startOperator();
  await ready(op);
  const readyMs = performance.now() - tr;
  let firstMs: number | undefined;
  let drainedMs: number | undefined;
  for (;;) {
    const m = await metrics(op);
    const n = rec(m);
    if (n > 0) firstMs ??= performance.now() - tr;
    // Drained: every CR reconciled at least once and nothing left in any queue or in flight.
    if (n >= CRS && sum(m, 'workqueue_depth') === 0 && sum(m, 'controller_runtime_active_workers') === 0) {
      drainedMs = performance.now() - tr;
      break;
    }
    if (performance.now() - tr > 300_000) break;
    await sleep(100);
  }
  await quiet(rSince);
  const rw = await writes(rSince);
  row('restart: start to ready', `${readyMs.toFixed(0)} ms`);
  row('restart: start to first reconcile', `${firstMs?.toFixed(0) ?? '—'} ms`);
  row('restart: start to queues drained (every CR reconciled, no writes needed)', `${drainedMs?.toFixed(0) ?? '> 300000'} ms`);
  row('restart: operator writes', `${rw.total}${rw.total ? ` (${fmtKinds(rw.byKind)})` : ''}`);
}

// ---- 4. churn ------------------------------------------------------------------------------------
if (CHURN_MIN > 0 && KCS > 0 && !o['no-restart']) {
  const perMin = Math.max(1, Math.round((KCS * CHURN_PCT) / 100));
  const gap = 60_000 / perMin;
  const pending = new Map<string, { group: string; t: number }>();
  const lat: number[] = [];
  const check = (s: KubeObject) => {
    const p = pending.get(s.metadata.name ?? '');
    if (!p) return;
    const pem = kcCert(s);
    if (pem && new X509Certificate(pem).subject.split('\n').includes(`O=${p.group}`)) {
      lat.push(performance.now() - p.t);
      pending.delete(s.metadata.name ?? '');
    }
  };
  secrets.on({ add: check, update: (_, n) => check(n) });
  const cSince = new Date();
  const total = perMin * CHURN_MIN;
  for (let n = 0; n < total; n++) {
    const i = (n * 7919) % KCS; // spread over the Kubeconfigs, each at most once per round
    const group = `churn-${n}`;
    pending.set(`${kcName(i)}-kubeconfig`, { group, t: performance.now() });
    await driver.patch(Kubeconfigs, ns, kcName(i), { spec: { groups: [group] } }, 'merge');
    await sleep(gap);
  }
  const deadline = performance.now() + 60_000;
  while (pending.size && performance.now() < deadline) await sleep(100);
  await quiet(cSince);
  const cw = await writes(cSince);
  const l = stats(lat);
  row(`churn: ${perMin} Kubeconfig changes per minute (groups) for ${CHURN_MIN} min`, `${total} changes, ${pending.size} not reflected within 60 s`);
  row('churn: change → Secret reflects it, p50 / p99 / max', `${l.p50.toFixed(0)} / ${l.p99.toFixed(0)} / ${l.max.toFixed(0)} ms`);
  row('churn: operator writes per change', `${(cw.total / total).toFixed(2)} (${fmtKinds(cw.byKind)})`);
  row('churn: RSS at end', `${rssMiB(op).toFixed(0)} MiB`);
}
if (op !== op1) await stop(op);
await secrets.stop();
await deployments.stop();
driver.close();
if (o['keep-audit']) copyFileSync(cp.auditLogPath, o['keep-audit']);
await cp.stop();

const section = [
  `## ${facts.date} (commit ${facts.commit})${o.label ? ` — ${o.label}` : ''}`,
  '',
  Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`).join('\n'),
  '',
  `1 RootShard, ${SHARDS} Shards, ${FPS} FrontProxies, ${KCS} Kubeconfigs (${CRS} CRs), keys ${o.key}, operator \`node ${path.relative(repoRoot, entry)}\`` +
    `${o.profile ? ' under --cpu-prof' : ''}, default flags of that build (4 workers per controller; client 50 QPS / burst 100 before 16260fe, 100 / 200 from 16260fe on).`,
  '',
  '| measure | value |',
  '|---|---|',
  ...rows.map(([k, v]) => `| ${k} | ${v} |`),
  '',
].join('\n');
if (!o['dry-run']) appendFileSync(path.join(repoRoot, 'test/bench/results/topology-scale.md'), `${section}\n`);
console.log(section);
