// Soak benchmark (issue 14, item 7): both processes as they ship (compiled JS, `node dist/...`) on
// one fresh etcd + kube-apiserver, under steady churn for SOAK_MINUTES (default 40; see MINUTES):
//   - the operator with the full sample topology (RootShard, Shard, FrontProxy, CacheServer) and
//     200 Kubeconfigs; the benchmark stands in for kube-controller-manager and the kubelet, which
//     this control plane does not run, by marking every Deployment Available (fixtures.ts);
//   - the sync sidecar with 1,000 Secret sources, each replicated into SOAK_NAMESPACES (default 2)
//     accepting namespaces of the same cluster, under the sidecar's documented RBAC;
//   - churn: SOAK_RATE (default 10) changes per second, alternating a Kubeconfig spec change (new
//     groups: a new client certificate) and a source data change. Each is timed by the benchmark
//     through its own watch: change → the Kubeconfig Secret carries the group, and change → every
//     replica carries the value.
// Every SOAK_SAMPLE_SECONDS (10) it samples both processes: RSS (/proc VmRSS), heap, handles,
// active resources by type (ref'd timers are `Timeout`), the queues' timers, open watches, and
// reconcile-time histograms (/metrics). At the end: RSS and heap slopes (least squares after
// SOAK_WARMUP_MINUTES of churn, default 5, at most a third of the run), counts first vs last, p99
// per 5-minute window, a secret-leak scan of both processes' logs and the cluster's texts, then a
// section in soak.md and SVG plots (plot.ts) in SOAK_OUT (default test/bench/results).
//   make soak   or   nice -n 10 npx tsx test/bench/soak.bench.ts   (SOAK_MINUTES=1 for a smoke run;
//   SOAK_OPERATOR_NODE / SOAK_SIDECAR_NODE: Node/V8 flags for that process)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { CacheServers, FrontProxies, Kubeconfigs, RootShards, Shards } from '../../src/controllers/context.js';
import { Informer } from '../../src/kube/informer.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, Namespaces, Secrets, type ResourceType } from '../../src/kube/resources.js';
import { ORIGIN_CLUSTER_LABEL } from '../../sync/keys.js';
import { SIDECAR_NODE_FLAGS } from '../../sync/node-flags.js';
import { repoRoot } from '../../local/binaries.js';
import { startControlPlane } from '../../local/control-plane.js';
import { freePort } from '../../local/ports.js';
import { collectClusterTexts, collectPrivateKeys, findLeaks } from '../chaos/leak-scan.js';
import { builtInPkiRootShard, fixture, markDeploymentAvailable } from '../integration/fixtures.js';
import { machineFacts } from './machine.js';
import { report, type Proc, type Sample, type SoakRun } from './soak-report.js';
import { acceptingNamespace, b64, localIdentity, secretSource } from './sync-fixtures.js';

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
// 40 minutes: V8 lets each process's old space fill with garbage to a limit above its live heap and
// then compacts it, a saw of about 10 MiB with a period of about 10 minutes under this churn. A
// 10-minute slope window holds one rising edge of it (68 MiB/h for a sidecar that was flat over 35
// minutes of the same run, soak.md 2026-12-02); 35 minutes span several.
const MINUTES = env('SOAK_MINUTES', 40);
const WARMUP_MIN = Math.min(env('SOAK_WARMUP_MINUTES', 5), MINUTES / 3);
const KUBECONFIGS = env('SOAK_KUBECONFIGS', 200);
const SOURCES = env('SOAK_SOURCES', 1000);
const DEST_NS = env('SOAK_NAMESPACES', 2);
const RATE = env('SOAK_RATE', 10);
const SAMPLE_S = env('SOAK_SAMPLE_SECONDS', 10);
const OUT = path.resolve(process.env.SOAK_OUT ?? path.join(repoRoot, 'test/bench/results'));
// Another build of both processes (e.g. `tsc -p tsconfig.build.json --outDir DIR` of a variant with
// a leak put in on purpose, to see the bounds break): used instead of building dist/.
const DIST = process.env.SOAK_DIST ? path.resolve(process.env.SOAK_DIST) : path.join(repoRoot, 'dist');
const NS = 'soak';
const SRC_NS = 'soak-src';
const SYNC_NS = 'kcp-sync';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (m: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}`);

// An overloaded API server can reset a connection under a request; the run goes on and stops
// what it started.
process.on('uncaughtException', (err) => {
  console.error(`[soak] uncaught (run continues): ${String(err)}`);
  process.exitCode = 1;
});

if (!process.env.SOAK_NO_BUILD && !process.env.SOAK_DIST) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: repoRoot, stdio: 'inherit' });
const logDir = mkdtempSync(path.join(os.tmpdir(), 'kcp-soak-'));
const cp = await startControlPlane({ name: 'soak' });
const admin = await cp.client('soak-driver');
const procs: Array<Proc & { child: ChildProcess }> = [];
const informers: Informer[] = [];

async function spawnProc(name: string, script: string, args: string[]): Promise<Proc & { child: ChildProcess }> {
  const port = await freePort();
  const logFile = path.join(logDir, `${name}.log`);
  const out = createWriteStream(logFile);
  // SOAK_<NAME>_NODE: Node/V8 flags for one process instead of the shipped ones (the sidecar's
  // SIDECAR_NODE_FLAGS), e.g. SOAK_SIDECAR_NODE=--max-semi-space-size=2; set empty for none.
  const shipped = name === 'sidecar' ? SIDECAR_NODE_FLAGS.join(' ') : '';
  const nodeFlags = (process.env[`SOAK_${name.toUpperCase()}_NODE`] ?? shipped).split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeFlags, path.join(DIST, script), ...args, `--health-probe-bind-address=127.0.0.1:${port}`, '--log-level=info'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  child.once('exit', (code, signal) => log(`${name} exited (${code ?? signal})`));
  const p = { name, pid: child.pid ?? 0, port, logFile, child };
  procs.push(p);
  return p;
}

const condition = (o: KubeObject, type: string) => ((o.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []).find((c) => c.type === type)?.status;
const kcName = (i: number) => `kc-${String(i).padStart(3, '0')}`;
const kcTarget = (i: number) => [{ rootShardRef: { name: 'shard-sample' } }, { shardRef: { name: 'secondary-shard' } }, { frontProxyRef: { name: 'frontproxy-sample' } }][i % 3];
const clientCertSubject = (s: KubeObject): string => {
  const text = Buffer.from((s.data as Record<string, string> | undefined)?.kubeconfig ?? '', 'base64').toString();
  const pem = Buffer.from((parse(text) as { users?: Array<{ user?: Record<string, string> }> } | null)?.users?.[0]?.user?.['client-certificate-data'] ?? '', 'base64').toString();
  return pem ? new X509Certificate(pem).subject : '';
};

try {
  // ---- the objects, before the processes start ---------------------------------------------
  await admin.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const topology: Array<[ResourceType, KubeObject]> = [
    [RootShards, builtInPkiRootShard(NS)],
    [Shards, fixture('operator.kcp.io_v1alpha1_shard.yaml', NS)],
    [FrontProxies, fixture('operator.kcp.io_v1alpha1_frontproxy.yaml', NS)],
    [CacheServers, fixture('operator.kcp.io_v1alpha1_cacheserver.yaml', NS)],
  ];
  for (const [r, o] of topology) await admin.create(r, o);
  for (let i = 0; i < KUBECONFIGS; i++) {
    const kc: KubeObject = {
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'Kubeconfig',
      metadata: { name: kcName(i), namespace: NS },
      spec: { username: `user-${i}`, groups: ['developers'], validity: '8766h', secretRef: { name: `${kcName(i)}-kubeconfig` }, target: kcTarget(i) },
    };
    await admin.create(Kubeconfigs, kc);
  }
  const syncKubeconfig = await localIdentity(cp, admin, SYNC_NS);
  const dests = Array.from({ length: DEST_NS }, (_, i) => `soak-dst-${i}`);
  for (const ns of dests) await acceptingNamespace(admin, ns, [`${SRC_NS}/*`, `hub/${SRC_NS}/*`]);
  await acceptingNamespace(admin, SRC_NS, undefined);
  const payload = randomBytes(768).toString('base64'); // about a CA bundle
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < SOURCES) {
        const src = secretSource(SRC_NS, `s-${next++}`, { v: 'v0' }, { namespaces: ['soak-dst-*'] });
        (src.data as Record<string, string>)['ca.crt'] = b64(payload);
        await admin.create(Secrets, src);
      }
    }),
  );
  log(`created ${topology.length} topology CRs, ${KUBECONFIGS} Kubeconfigs, ${SOURCES} sources × ${DEST_NS} namespaces`);

  // ---- the benchmark's watches: the Deployment stand-in, Kubeconfig Secrets, replicas --------
  const deployments = new Informer(admin, Deployments, { namespace: NS });
  const nsSecrets = new Informer(admin, Secrets, { namespace: NS });
  const replicas = new Informer(admin, Secrets, { labelSelector: `${ORIGIN_CLUSTER_LABEL}=hub` });
  informers.push(deployments, nsSecrets, replicas);
  const standIn = (d: KubeObject) => {
    const st = (d.status ?? {}) as { observedGeneration?: number; availableReplicas?: number };
    const want = (d.spec as { replicas?: number }).replicas ?? 1;
    if (st.observedGeneration === d.metadata.generation && st.availableReplicas === want) return;
    markDeploymentAvailable(admin, NS, d.metadata.name ?? '').catch((err: unknown) => log(`stand-in: ${String(err)}`));
  };
  deployments.on({ add: standIn, update: (_, n) => standIn(n) });

  const kcLag: Array<[number, number]> = []; // [epoch ms of the change, ms to the Secret]
  const syncLag: Array<[number, number]> = [];
  const kcPending = new Map<string, { group: string; t: number; at: number }>();
  const srcPending = new Map<string, { t: number; at: number; left: number }>();
  let superseded = 0;
  const checkKc = (s: KubeObject) => {
    const p = kcPending.get(s.metadata.name ?? '');
    if (p && clientCertSubject(s).split('\n').includes(`O=${p.group}`)) {
      kcLag.push([p.at, performance.now() - p.t]);
      kcPending.delete(s.metadata.name ?? '');
    }
  };
  nsSecrets.on({ add: checkKc, update: (_, n) => checkKc(n) });
  replicas.on({
    update: (o, n) => {
      const v = (n.data as Record<string, string> | undefined)?.v;
      if (!v || v === (o.data as Record<string, string> | undefined)?.v) return;
      const p = srcPending.get(Buffer.from(v, 'base64').toString());
      if (p && --p.left === 0) {
        syncLag.push([p.at, performance.now() - p.t]);
        srcPending.delete(Buffer.from(v, 'base64').toString());
      }
    },
  });
  for (const i of informers) i.start();
  await Promise.all(informers.map((i) => i.waitForSync()));

  // ---- the two processes, and the sampler -----------------------------------------------------
  const operator = await spawnProc('operator', 'src/main.js', [`--kubeconfig=${cp.kubeconfigPath}`]);
  const sidecar = await spawnProc('sidecar', 'sync/main.js', [`--kubeconfig=${syncKubeconfig}`, `--namespace=${SYNC_NS}`, '--cluster-name=hub']);
  const t0 = Date.now();
  const samples: Sample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const at = Date.now();
      const s: Sample = { at, procs: {} };
      for (const p of [operator, sidecar]) {
        try {
          const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
          const rssKiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
          const metrics = await fetch(`http://127.0.0.1:${p.port}/metrics`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.text());
          s.procs[p.name] = { rssMiB: rssKiB / 1024, metrics };
        } catch (err) {
          log(`sample of ${p.name} failed: ${String(err)}`);
        }
      }
      samples.push(s);
      await sleep(Math.max(0, at + SAMPLE_S * 1000 - Date.now()));
    }
  })();

  // ---- converge ----------------------------------------------------------------------------------
  const wantReplicas = SOURCES * DEST_NS;
  for (let last = '';;) {
    const avail = await Promise.all(topology.map(async ([r, o]) => condition(await admin.get(r, NS, o.metadata.name ?? ''), 'Available') === 'True'));
    const kcs = Array.from({ length: KUBECONFIGS }, (_, i) => nsSecrets.getByName(NS, `${kcName(i)}-kubeconfig`)).filter(Boolean).length;
    const state = `Available ${avail.filter(Boolean).length}/${topology.length}, Kubeconfig Secrets ${kcs}/${KUBECONFIGS}, replicas ${replicas.size}/${wantReplicas}`;
    if (state !== last) log(state);
    last = state;
    if (avail.every(Boolean) && kcs === KUBECONFIGS && replicas.size >= wantReplicas) break;
    if (Date.now() - t0 > 20 * 60_000) throw new Error(`not converged after 20 min: ${state}`);
    await sleep(2_000);
  }
  const convergedS = (Date.now() - t0) / 1000;
  log(`converged in ${convergedS.toFixed(0)} s; churn at ${RATE}/s for ${MINUTES} min`);

  // ---- churn -------------------------------------------------------------------------------------
  const tChurn = Date.now();
  const loadAtChurn = os.loadavg();
  const total = Math.round(RATE * MINUTES * 60);
  let failed = 0;
  let inFlight = 0;
  for (let n = 0; n < total; n++) {
    const wait = tChurn + (n * 1000) / RATE - Date.now();
    if (wait > 0) await sleep(wait);
    const at = Date.now();
    const t = performance.now();
    let write: Promise<unknown>;
    if (n % 2 === 0) {
      const name = kcName((n / 2) % KUBECONFIGS);
      if (kcPending.has(`${name}-kubeconfig`)) superseded++;
      const group = `churn-${n}`;
      kcPending.set(`${name}-kubeconfig`, { group, t, at });
      write = admin.patch(Kubeconfigs, NS, name, { spec: { groups: [group] } }, 'merge');
    } else {
      const value = `c-${n}`;
      srcPending.set(value, { t, at, left: DEST_NS });
      write = admin.patch(Secrets, SRC_NS, `s-${((n - 1) / 2) % SOURCES}`, { data: { v: b64(value) } }, 'merge');
    }
    inFlight++;
    write.catch(() => failed++).finally(() => inFlight--);
  }
  const tChurnEnd = Date.now();
  for (const deadline = Date.now() + 60_000; (kcPending.size || srcPending.size || inFlight) && Date.now() < deadline; ) await sleep(200);
  log(`churn done: ${total} changes, ${failed} failed writes, ${kcPending.size + srcPending.size} not reflected after 60 s`);
  sampling = false;
  await sampler;

  // ---- the leak scan: both processes' logs, the cluster's texts, against every key there ----
  const scanNs = [NS, SRC_NS, SYNC_NS, ...dests];
  const keys = await collectPrivateKeys(admin, scanNs);
  const texts = [...procs.map((p) => ({ source: `${p.name} log`, text: readFileSync(p.logFile, 'utf8') })), ...(await collectClusterTexts(admin, scanNs))];
  const leaks = findLeaks(texts, keys);
  log(`leak scan: ${texts.length} texts, ${keys.length} private keys, ${leaks.length} leaks`);
  for (const l of leaks) log(`LEAK ${l.source}: ${l.key} ${l.excerpt}`);

  // Exits during the run are failures of the soak: a process that restarted is not a soak.
  const exits = procs.filter((p) => p.child.exitCode !== null || p.child.signalCode !== null).map((p) => p.name);
  const run: SoakRun = {
    out: OUT,
    facts: machineFacts(),
    shape: { kubeconfigs: KUBECONFIGS, sources: SOURCES, namespaces: DEST_NS, rate: RATE, minutes: MINUTES, warmupMinutes: WARMUP_MIN, sampleSeconds: SAMPLE_S },
    t0,
    tChurn,
    tChurnEnd,
    convergedS,
    samples,
    kcLag,
    syncLag,
    changes: { total, failed, unreflected: kcPending.size + srcPending.size, superseded },
    leaks: { texts: texts.length, keys: keys.length, found: leaks.length },
    exits,
    load: { atChurn: loadAtChurn, atEnd: os.loadavg() },
  };
  // The raw samples first, so that a report can be made again from them (soak-report.ts).
  const raw = path.join(os.tmpdir(), `kcp-soak-${new Date(t0).toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(raw, JSON.stringify(run));
  log(`raw samples: ${raw}`);
  const broken = await report(run);
  for (const b of broken) log(`BOUND BROKEN: ${b}`);
  if (exits.length || leaks.length || broken.length) process.exitCode = 1;
} finally {
  for (const p of procs) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
    const exited = new Promise((r) => p.child.once('exit', r));
    p.child.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  }
  for (const i of informers) await i.stop();
  admin.close();
  await cp.stop();
  if (!process.env.SOAK_KEEP_LOGS) rmSync(logDir, { recursive: true, force: true });
  else log(`logs kept in ${logDir}`);
}
