// Scale benchmark of the sync sidecar (issue 16, part 3): many sources, many destinations, on real
// control planes on this machine, the sidecar as it ships (compiled JS, shipped defaults unless a
// flag below overrides one). Sources and accepting namespaces exist before the sidecar starts, so
// the figures are the sidecar's own work, not the benchmark's creation rate:
//   - converge: sidecar spawned → every replica exists, and → every source's status says all Synced;
//   - writes for that (audit log, by verb and resource) against the floor (one per replica plus one
//     status write per source);
//   - a probe client (probe.ts, its own process) doing sequential GETs against the hub's API server
//     before and during the burst (its p50/p99 tell what the sidecar's request rate costs others);
//   - churn: `churnRate` source updates per second for `churnSeconds`, each timed from the start of
//     the update to its new content being on the first replica and on all of them (a watch);
//   - the churn's replica updates as the sidecar's own client timed them (its /metrics): the API
//     server's answer, and the wait on the sidecar's token bucket before sending;
//   - writes during churn, then writes over `idleSeconds` with nothing changing (must be 0);
//   - RSS when converged, after churn, every 10 s through the idle window, after idle, and the peak (VmHWM).
// Options (key=value):
//   sources=1000 namespaces=10 clusters=0 (remote control planes; with clusters>0 the sources go to
//   the remote clusters only, `namespaces` per cluster) payload=1024 (bytes of random data per source,
//   about a CA bundle) qps= burst= (default: the shipped defaults) churnRate=10 churnSeconds=20
//   idleSeconds=120 profile=<dir> (CPU profile and a heap snapshot into dir) src=<dir> (build the
//   sidecar from another source tree, e.g. an older commit's, for before/after) dist=<dir> (an
//   existing build of it, e.g. from `tsc -p tsconfig.build.json --outDir dir`: skips the build) label=<text>
//   node=<flags> (Node/V8 flags for the sidecar process instead of the shipped SIDECAR_NODE_FLAGS,
//   e.g. node=--max-semi-space-size=2; `node=` alone: none)
//   out=test/bench/results/sync-scale.md (appends a section; out= with no value appends nothing)
//   restart=1 (after the idle window, stop the sidecar and start it again with everything in place:
//   time until it has nothing left to do, its writes meanwhile (floor 0), its RSS peak then, which is
//   what a memory limit must allow on every rollout; not with profile=)
// Run it under the shared lock: flock /work/.heavy.lock npx tsx test/bench/sync-scale.bench.ts ...
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeClient } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Secrets } from '../../src/kube/resources.js';
import { ORIGIN_CLUSTER_LABEL, SOURCE_LABEL, STATUS_ANNOTATION } from '../../sync/keys.js';
import { SIDECAR_NODE_FLAGS } from '../../sync/node-flags.js';
import { repoRoot } from '../../local/binaries.js';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.js';
import { freePort } from '../../local/ports.js';
import { cpuSecondsOf, machineFacts, rssOf, stats } from './machine.js';
import { countOf, histogramOf, quantile, since, type Cumulative } from './prom-histogram.js';
import { acceptingNamespace, b64, localIdentity, registration, remoteIdentity, secretSource } from './sync-fixtures.js';

const arg = Object.fromEntries(process.argv.slice(2).map((a) => [a.split('=')[0], a.slice(a.indexOf('=') + 1)])) as Record<string, string | undefined>;
const num = (k: string, d: number) => (arg[k] !== undefined && arg[k] !== '' ? Number(arg[k]) : d);
const SOURCES = num('sources', 1000);
const NAMESPACES = num('namespaces', 10);
const CLUSTERS = num('clusters', 0);
const PAYLOAD = num('payload', 1024);
const CHURN_RATE = num('churnRate', 10);
const CHURN_SECONDS = num('churnSeconds', 20);
const IDLE_SECONDS = num('idleSeconds', 120);
const QPS = arg.qps;
const BURST = arg.burst;
const PROFILE = arg.profile ? path.resolve(arg.profile) : undefined;
const SRC = path.resolve(arg.src ?? repoRoot);
const DIST = arg.dist ? path.resolve(arg.dist) : undefined;
const LABEL = arg.label ?? '';
const RESTART = arg.restart === '1';
const OUT = arg.out === undefined ? path.join(repoRoot, 'test/bench/results/sync-scale.md') : arg.out ? path.resolve(arg.out) : undefined;
const SYNC_NS = 'kcp-sync';
const SRC_NS = 'scale-src';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => console.log(`[sync-scale] ${msg}`);
const f1 = (n: number) => n.toFixed(1);

/** kube-apiserver processes on the machine: other work sharing the 2 cores shows here. */
function otherApiServers(): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('kube-apiserver')) n++;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

/** The sidecar compiled as it ships (tsconfig.build.json) from `src` into a scratch directory. */
function build(src: string): string {
  const out = mkdtempSync(path.join(os.tmpdir(), 'kcp-sync-scale-'));
  try {
    execFileSync(path.join(repoRoot, 'node_modules/.bin/tsc'), ['-p', path.join(src, 'tsconfig.build.json'), '--outDir', out], { stdio: 'inherit' });
  } catch {
    // tsc exits non-zero on type errors elsewhere in the tree but still emits; the check below decides.
  }
  if (!existsSync(path.join(out, 'sync/main.js'))) throw new Error(`the build of ${src} did not produce sync/main.js`);
  writeFileSync(path.join(out, 'package.json'), '{"type":"module"}\n');
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(out, 'node_modules'));
  return out;
}

/** The probe client (probe.ts) as its own process: its samples as [epoch ms, duration ms]. */
function probe(kubeconfig: string): { stop: () => Promise<Array<[number, number]>> } {
  const p = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/bench/probe.ts'), kubeconfig], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => p.once('exit', r));
  return {
    stop: async () => {
      p.kill('SIGTERM');
      await exited;
      return out
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ').map(Number) as [number, number]);
    },
  };
}

const decode = (o: KubeObject): string | undefined => {
  const v = (o.data as Record<string, string> | undefined)?.v;
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString();
};

// An overloaded API server can reset a connection under a request in a way that surfaces as an
// uncaught 'error' event; it must not kill the benchmark before it stops the sidecar it started.
process.on('uncaughtException', (err) => {
  console.error(`[sync-scale] uncaught (run continues): ${String(err)}`);
  process.exitCode = 1;
});

const hub = await startControlPlane({ name: 'scale-hub', crds: false });
const edges: ControlPlane[] = [];
for (let i = 0; i < CLUSTERS; i++) edges.push(await startControlPlane({ name: `scale-edge-${i}`, crds: false }));
const admin = await hub.client('bench-admin');
const edgeAdmins = await Promise.all(edges.map((e) => e.client('bench-admin')));
let child: ReturnType<typeof spawn> | undefined;
let buildDir: string | undefined;
const watchers: Informer[] = [];
try {
  const kubeconfig = await localIdentity(hub, admin, SYNC_NS);
  for (const [i, e] of edges.entries()) {
    await admin.create(Secrets, registration(SYNC_NS, `edge-${i}`, await remoteIdentity(e, edgeAdmins[i] as KubeClient)));
  }
  await admin.create(ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'probe', namespace: 'default' }, data: { a: 'b' } });

  // Destinations: namespaces accepting every source of scale-src (on the hub, or on each edge).
  const dests = Array.from({ length: NAMESPACES }, (_, i) => `scale-${i}`);
  const destClients = CLUSTERS > 0 ? edgeAdmins : [admin];
  for (const c of destClients) for (const ns of dests) await acceptingNamespace(c, ns, [`${SRC_NS}/*`, `hub/${SRC_NS}/*`]);
  await acceptingNamespace(admin, SRC_NS, undefined);
  const targets = CLUSTERS > 0 ? { clusters: ['edge-*'], namespaces: ['scale-*'] } : { namespaces: ['scale-*'] };
  const payload = randomBytes(Math.ceil((PAYLOAD * 3) / 4)).toString('base64').slice(0, PAYLOAD);
  const tCreate = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < SOURCES) {
        const i = next++;
        const src = secretSource(SRC_NS, `s-${i}`, { v: '0' }, targets);
        (src.data as Record<string, string>)['ca.crt'] = payload;
        await admin.create(Secrets, src);
      }
    }),
  );
  log(`${SOURCES} sources created in ${((performance.now() - tCreate) / 1000).toFixed(1)} s`);

  // What the benchmark watches: replicas on every destination cluster, sources' status on the hub.
  const perSource = NAMESPACES * Math.max(1, CLUSTERS);
  const target = SOURCES * perSource;
  const replicaWatchers = destClients.map((c) => new Informer(c, Secrets, { labelSelector: `${ORIGIN_CLUSTER_LABEL}=hub` }));
  const sourceWatcher = new Informer(admin, Secrets, { namespace: SRC_NS, labelSelector: `${SOURCE_LABEL}=true` });
  watchers.push(...replicaWatchers, sourceWatcher);
  for (const w of watchers) w.start();
  await Promise.all(watchers.map((w) => w.waitForSync()));
  const replicaCount = () => replicaWatchers.reduce((n, w) => n + w.size, 0);
  const wantSummary = `${perSource} Synced`;
  const isDone = (o: KubeObject) => {
    const s = o.metadata.annotations?.[STATUS_ANNOTATION];
    return s !== undefined && (JSON.parse(s) as { summary?: string }).summary === wantSummary;
  };
  let statusDone = 0;
  sourceWatcher.on({
    update: (o, n) => {
      if (o.metadata.annotations?.[STATUS_ANNOTATION] === n.metadata.annotations?.[STATUS_ANNOTATION]) return;
      statusDone += (isDone(n) ? 1 : 0) - (isDone(o) ? 1 : 0);
    },
  });

  // Churn bookkeeping: value → when its update started and which replicas still lack it.
  const pending = new Map<string, { t0: number; left: number; first?: number; echo?: number }>();
  const firstLag: number[] = [];
  const allLag: number[] = [];
  // The floor no replicator can go under: the update itself seen back through a watch on the
  // source (the benchmark's PATCH plus one watch delivery). A replica needs one more watch
  // delivery (to the sidecar), its write, and a watch delivery back; the difference per update is
  // what the sidecar adds.
  const echoLag: number[] = [];
  const addedFirst: number[] = [];
  const addedAll: number[] = [];
  sourceWatcher.on({
    update: (o, n) => {
      const v = decode(n);
      if (!v || v === decode(o)) return;
      const p = pending.get(v);
      if (!p || p.echo !== undefined) return;
      p.echo = performance.now() - p.t0;
      echoLag.push(p.echo);
    },
  });
  for (const w of replicaWatchers) {
    w.on({
      update: (o, n) => {
        const v = decode(n);
        if (!v || v === decode(o)) return;
        const p = pending.get(v);
        if (!p) return;
        const now = performance.now();
        if (p.first === undefined) {
          p.first = now - p.t0;
          firstLag.push(p.first);
          if (p.echo !== undefined) addedFirst.push(p.first - p.echo);
        }
        if (--p.left === 0) {
          allLag.push(now - p.t0);
          if (p.echo !== undefined) addedAll.push(now - p.t0 - p.echo);
          pending.delete(v);
        }
      },
    });
  }

  if (!DIST) buildDir = build(SRC);
  const dist = DIST ?? (buildDir as string);
  const port = await freePort();
  const flags = [`--kubeconfig=${kubeconfig}`, `--namespace=${SYNC_NS}`, '--cluster-name=hub', `--health-probe-bind-address=127.0.0.1:${port}`, '--log-level=warn'];
  if (QPS) flags.push(`--cluster-qps=${QPS}`);
  if (BURST) flags.push(`--cluster-burst=${BURST}`);
  // node= passes V8/Node flags to the sidecar (space-separated), e.g. node=--max-semi-space-size=2,
  // instead of the ones it ships with (SIDECAR_NODE_FLAGS); `node=` alone runs it with none.
  const nodeFlags: string[] = arg.node !== undefined ? arg.node.split(' ').filter(Boolean) : [...SIDECAR_NODE_FLAGS];
  if (PROFILE) {
    mkdirSync(PROFILE, { recursive: true });
    nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${PROFILE}`, '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${PROFILE}`);
  }

  // The probe's baseline: the API server with nothing else going on.
  const pr = probe(hub.kubeconfigPath);
  await sleep(5_000); // tsx start-up, then a few seconds of baseline
  const tSpawn = performance.now();
  const epochSpawn = Date.now();
  const spawnSidecar = () => spawn(process.execPath, [...nodeFlags, path.join(dist, 'sync/main.js'), ...flags], { cwd: PROFILE ?? repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
  child = spawnSidecar();
  const pid = child.pid ?? 0;
  const auditSince = new Date();
  let tReplicas = 0;
  let tStatus = 0;
  const deadline = Date.now() + 30 * 60_000;
  while (!tReplicas || !tStatus) {
    if (Date.now() > deadline) throw new Error(`not converged: ${replicaCount()}/${target} replicas, ${statusDone}/${SOURCES} statuses`);
    if (!tReplicas && replicaCount() >= target) tReplicas = performance.now() - tSpawn;
    if (!tStatus && statusDone >= SOURCES) tStatus = performance.now() - tSpawn;
    await sleep(20);
  }
  const probeSamples = await pr.stop();
  const rssConverged = rssOf(pid);
  const cpuConverged = cpuSecondsOf(pid);
  log(`converged: replicas ${(tReplicas / 1000).toFixed(1)} s, statuses ${(tStatus / 1000).toFixed(1)} s, RSS ${rssConverged.rss.toFixed(0)} MiB`);
  const probeBase = probeSamples.filter(([t]) => t < epochSpawn).map(([, d]) => d);
  const probeBurst = probeSamples.filter(([t]) => t >= epochSpawn && t <= epochSpawn + tReplicas).map(([, d]) => d);

  const allCps = [hub, ...edges];
  const writesBy = async (since: Date, until?: Date) => {
    const by: Record<string, number> = {};
    let total = 0;
    for (const cp of allCps) {
      for (const ev of await cp.auditedWrites({ userAgent: 'kcp-sync', since })) {
        if (until && new Date(ev.requestReceivedTimestamp) >= until) continue;
        const k = `${ev.verb} ${ev.objectRef?.resource ?? '?'}${ev.objectRef?.subresource ? `/${ev.objectRef.subresource}` : ''}`;
        by[k] = (by[k] ?? 0) + 1;
        total++;
      }
    }
    return { total, by };
  };
  await sleep(3_000); // the last status writes and events land
  const tChurn = new Date();
  const metricsAtChurn = await scrape(port);
  const burstWrites = await writesBy(auditSince, tChurn);

  // Steady churn: random sources updated at a fixed rate, each lag timed through the watch.
  const updates: Array<Promise<unknown>> = [];
  const nUpdates = Math.round(CHURN_RATE * CHURN_SECONDS);
  for (let i = 0; i < nUpdates; i++) {
    const at = tChurn.getTime() + (i * 1000) / CHURN_RATE;
    const wait = at - Date.now();
    if (wait > 0) await sleep(wait);
    const value = `churn-${i}`;
    const name = `s-${Math.floor(Math.random() * SOURCES)}`;
    pending.set(value, { t0: performance.now(), left: perSource });
    updates.push(admin.patch(Secrets, SRC_NS, name, { data: { v: b64(value) } }, 'merge'));
  }
  await Promise.all(updates);
  const churnDeadline = Date.now() + 60_000;
  while (pending.size > 0 && Date.now() < churnDeadline) await sleep(50);
  await sleep(3_000);
  const tIdle = new Date();
  const metricsAfterChurn = await scrape(port);
  const churnWrites = await writesBy(tChurn, tIdle);
  const rssChurn = rssOf(pid);
  log(`churn: ${allLag.length}/${nUpdates} updates complete, all-replica lag p50 ${stats(allLag).p50.toFixed(1)} ms p99 ${stats(allLag).p99.toFixed(1)} ms`);

  // RSS through the idle window: V8's memory reducer gives back heap some tens of seconds after
  // the last full GC once allocation has calmed down (seen 50–80 s after the churn at 1,000 × 10:
  // 125 → 85 MiB), so the figure at rest differs from the one right after the burst; hence an
  // idle window of two minutes by default.
  const idleRss: number[] = [];
  for (let t = 0; t < IDLE_SECONDS; t += 10) {
    await sleep(Math.min(10, IDLE_SECONDS - t) * 1000);
    idleRss.push(rssOf(pid).rss);
  }
  const idleWrites = await writesBy(tIdle);
  const rssIdle = rssOf(pid);
  const cpuEnd = cpuSecondsOf(pid);
  log(`idle ${IDLE_SECONDS} s: ${idleWrites.total} writes; RSS ${rssIdle.rss.toFixed(0)} MiB, peak ${rssIdle.hwm.toFixed(0)} MiB`);
  const memory = await memoryBreakdown(pid, port);
  log(`memory after idle: ${memory}`);

  if (PROFILE) {
    // The heap snapshot last: writing it blocks the process and costs memory of its own.
    const before = new Set(readdirSync(PROFILE));
    child.kill('SIGUSR2');
    let file: string | undefined;
    let lastSize = -1;
    for (let i = 0; i < 600; i++) {
      await sleep(1_000);
      file ??= readdirSync(PROFILE).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
      if (!file) continue;
      const size = statSync(path.join(PROFILE, file)).size;
      const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (size === lastSize && res?.ok) break;
      lastSize = size;
    }
    log(`heap snapshot: ${file ?? 'none'}`);
  }

  // Restart with everything present: a rollout, an eviction. The new process lists every source and
  // replica; "nothing left to do" is every sync queue drained (adds = completions, nothing waiting
  // or delayed) after the status controller has taken each source once.
  let restart: { settled: number; writes: Awaited<ReturnType<typeof writesBy>>; rss: number; hwm: number; cpu: number } | undefined;
  if (RESTART && !PROFILE) {
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    const restartedAt = new Date();
    const t0 = performance.now();
    child = spawnSidecar();
    const rpid = child.pid ?? 0;
    const settled = async (): Promise<boolean> => {
      const text = await scrape(port);
      // A gauge a queue has never set is absent: 0.
      const value = (line: string) => Number(text.split('\n').find((l) => l.startsWith(`${line} `))?.split(' ').at(-1) ?? 0);
      if (!(value('controller_runtime_reconcile_total{controller="sync-status",result="success"}') >= SOURCES)) return false;
      // Every sync queue: the status controller's and one per destination cluster.
      const queues = [...text.matchAll(/^workqueue_adds_total\{name="(sync-[^"]+)"\}/gm)].map((m) => m[1] as string);
      return queues.length >= 2 && queues.every(
        (q) =>
          value(`workqueue_depth{name="${q}"}`) === 0 &&
          value(`kcp_operator_workqueue_delayed_items{name="${q}"}`) === 0 &&
          value(`workqueue_adds_total{name="${q}"}`) === value(`workqueue_work_duration_seconds_count{name="${q}"}`),
      );
    };
    const restartDeadline = Date.now() + 10 * 60_000;
    while (!(await settled())) {
      if (Date.now() > restartDeadline) throw new Error('the restarted sidecar did not settle within 10 min');
      await sleep(100);
    }
    const tSettled = performance.now() - t0;
    await sleep(10_000); // anything it would still write lands in the audit log
    const r = rssOf(rpid);
    restart = { settled: tSettled, writes: await writesBy(restartedAt), rss: r.rss, hwm: r.hwm, cpu: cpuSecondsOf(rpid) };
    log(`restart: nothing left to do after ${f1(tSettled / 1000)} s, ${restart.writes.total} writes, RSS ${r.rss.toFixed(0)} MiB, peak ${r.hwm.toFixed(0)} MiB`);
  }

  const s = (xs: number[]) => stats(xs);
  const floor = target + SOURCES;
  const fmtBy = (by: Record<string, number>) =>
    Object.entries(by)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || 'none';
  const facts = machineFacts();
  const shape = CLUSTERS > 0 ? `${SOURCES} sources × ${CLUSTERS} remote clusters × ${NAMESPACES} namespaces` : `${SOURCES} sources × ${NAMESPACES} namespaces (one cluster)`;
  const pb = s(probeBase);
  // The replica updates of the churn as the sidecar's own client timed them (kube/client.ts): the
  // API server's answer, and the wait on the sidecar's token bucket before sending. Bucket
  // estimates, as histogram_quantile() gives them.
  const churnHistogram = (name: string): Cumulative => since(histogramOf(metricsAfterChurn, name, { verb: 'update' }), histogramOf(metricsAtChurn, name, { verb: 'update' }));
  const putTimes = churnHistogram('rest_client_request_duration_seconds');
  const putWaits = churnHistogram('rest_client_rate_limiter_duration_seconds');
  const ms = (q: number, h: Cumulative) => f1(quantile(q, h) * 1000);
  const pu = s(probeBurst);
  const fl = s(firstLag);
  const al = s(allLag);
  const row = {
    label: LABEL,
    shape,
    qps: QPS ?? 'default',
    converge: f1(tReplicas / 1000),
    status: f1(tStatus / 1000),
    writes: burstWrites.total,
    floor,
    probe: `${f1(pb.p50)}/${f1(pb.p99)} → ${f1(pu.p50)}/${f1(pu.p99)}`,
    lag: `${f1(fl.p50)}/${f1(fl.p99)}, ${f1(al.p50)}/${f1(al.p99)}`,
    added: `${f1(s(addedFirst).p50)}/${f1(s(addedFirst).p99)}, ${f1(s(addedAll).p50)}/${f1(s(addedAll).p99)}`,
    put: `${ms(0.5, putTimes)}/${ms(0.99, putTimes)}`,
    churnWrites: churnWrites.total,
    idle: idleWrites.total,
    rss: `${rssConverged.rss.toFixed(0)}/${rssChurn.rss.toFixed(0)}/${rssIdle.rss.toFixed(0)}/${rssIdle.hwm.toFixed(0)}`,
    restart: restart ? `${f1(restart.settled / 1000)} s, ${restart.writes.total} writes, peak ${restart.hwm.toFixed(0)} MiB` : undefined,
  };
  console.log(`RESULT ${JSON.stringify(row)}`);
  const section = [
    `## ${facts.date} (commit ${facts.commit})${LABEL ? ` — ${LABEL}` : ''}`,
    '',
    ...Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`),
    `- sidecar: \`node sync/main.js\` compiled from ${DIST ? `\`${DIST}\`` : SRC === repoRoot ? 'this tree' : `\`${SRC}\``}, ${QPS || BURST ? `\`--cluster-qps=${QPS ?? 'default'} --cluster-burst=${BURST ?? 'default'}\`` : 'shipped defaults'}${PROFILE ? ', with --cpu-prof' : ''}`,
    `- node flags: ${nodeFlags.length > 0 ? nodeFlags.map((f) => `\`${f}\``).join(' ') : 'none'}${arg.node === undefined ? ' (shipped)' : ''}`,
    `- shape: ${shape}; ${PAYLOAD}-byte payload per source; sources exist before the sidecar starts`,
    `- machine load at the end (1/5/15 min): ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')}; kube-apiservers running on the machine: ${otherApiServers()} (this run: ${1 + CLUSTERS})`,
    '',
    '| what | value |',
    '|---|---|',
    `| replicas | ${target} |`,
    `| sidecar start → every replica exists | ${f1(tReplicas / 1000)} s |`,
    `| sidecar start → every source's status all Synced | ${f1(tStatus / 1000)} s |`,
    `| sidecar writes to converge (floor: replicas + one status per source = ${floor}) | ${burstWrites.total} (${fmtBy(burstWrites.by)}) |`,
    `| probe GET p50 / p99 before → during the burst | ${f1(pb.p50)} / ${f1(pb.p99)} ms → ${f1(pu.p50)} / ${f1(pu.p99)} ms (${probeBurst.length} GETs) |`,
    `| churn: ${CHURN_RATE} updates/s for ${CHURN_SECONDS} s; lag to first replica p50 / p99 | ${f1(fl.p50)} / ${f1(fl.p99)} ms |`,
    `| churn: lag to all ${perSource} replicas p50 / p99 / max | ${f1(al.p50)} / ${f1(al.p99)} / ${f1(al.max)} ms (${allLag.length} of ${nUpdates} complete) |`,
    `| churn: the update seen back on its source (the floor) p50 / p99 | ${f1(s(echoLag).p50)} / ${f1(s(echoLag).p99)} ms |`,
    `| churn: what the sidecar adds to it, first replica / all replicas, p50 / p99 | ${f1(s(addedFirst).p50)} / ${f1(s(addedFirst).p99)} ms, ${f1(s(addedAll).p50)} / ${f1(s(addedAll).p99)} ms |`,
    `| churn: the sidecar's replica updates as its client timed them: the API server's answer p50 / p99; the wait on its own token bucket p50 / p99 | ${ms(0.5, putTimes)} / ${ms(0.99, putTimes)} ms; ${ms(0.5, putWaits)} / ${ms(0.99, putWaits)} ms (${countOf(putTimes)} updates; bucket estimates from its /metrics) |`,
    `| writes during churn (floor ≤ ${nUpdates * perSource + nUpdates}) | ${churnWrites.total} (${fmtBy(churnWrites.by)}) |`,
    `| writes in ${IDLE_SECONDS} s idle | ${idleWrites.total} |`,
    `| sidecar CPU, user + system (/proc): spawn → converged / → end of idle | ${cpuConverged.toFixed(1)} / ${cpuEnd.toFixed(1)} s |`,
    `| RSS converged / after churn / after idle / peak | ${rssConverged.rss.toFixed(0)} / ${rssChurn.rss.toFixed(0)} / ${rssIdle.rss.toFixed(0)} / ${rssIdle.hwm.toFixed(0)} MiB |`,
    `| RSS through the idle window, every 10 s | ${idleRss.map((r) => r.toFixed(0)).join(', ')} MiB |`,
    `| memory after idle | ${memory} |`,
    ...(restart
      ? [
          `| restart with everything present: start → nothing left to do | ${f1(restart.settled / 1000)} s |`,
          `| restart: writes (floor 0) | ${restart.writes.total} (${fmtBy(restart.writes.by)}) |`,
          `| restart: RSS 10 s after settling / peak; CPU | ${restart.rss.toFixed(0)} / ${restart.hwm.toFixed(0)} MiB; ${restart.cpu.toFixed(1)} s |`,
        ]
      : []),
    '',
  ].join('\n');
  console.log(section);
  if (OUT) {
    if (!existsSync(OUT)) writeFileSync(OUT, '# Sync sidecar at scale\n\nMeasured with `npx tsx test/bench/sync-scale.bench.ts`; see its header for what each figure means.\n\n');
    appendFileSync(OUT, `${section}\n`);
  }
} finally {
  for (const w of watchers) await w.stop();
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  admin.close();
  for (const c of edgeAdmins) c.close();
  await Promise.all([hub.stop(), ...edges.map((e) => e.stop())]);
}

/** The sidecar's /metrics text ('' if it does not answer). */
async function scrape(port: number): Promise<string> {
  return fetch(`http://127.0.0.1:${port}/metrics`).then(
    (r) => r.text(),
    () => '',
  );
}

/**
 * Where the RSS is after idle: anonymous vs file-backed pages (/proc: the node binary's code is
 * file-backed), and V8's heap spaces (committed / used) and external memory as the sidecar's own
 * /metrics reports them (prom-client's default metrics).
 */
async function memoryBreakdown(pid: number, port: number): Promise<string> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
  const text = await scrape(port);
  const metric = (name: string, space?: string) => {
    const re = new RegExp(`^${name}${space ? `\\{space="${space}"\\}` : ''} (\\S+)$`, 'm');
    return Number(re.exec(text)?.[1] ?? NaN) / 1024 / 1024;
  };
  const spaces = ['new', 'old', 'code', 'large_object', 'new_large_object']
    .map((sp) => `${sp} ${metric('nodejs_heap_space_size_total_bytes', sp).toFixed(0)}/${metric('nodejs_heap_space_size_used_bytes', sp).toFixed(0)}`)
    .join(', ');
  return (
    `anon ${kb('RssAnon').toFixed(0)} + file ${kb('RssFile').toFixed(0)} MiB; V8 heap committed/used ${metric('nodejs_heap_size_total_bytes').toFixed(0)}/${metric('nodejs_heap_size_used_bytes').toFixed(0)} MiB ` +
    `(${spaces}); external ${metric('nodejs_external_memory_bytes').toFixed(0)} MiB`
  );
}
