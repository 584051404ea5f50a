// Benchmark of the sync sidecar on real control planes (a hub and an edge), the sidecar running as
// its own process (compiled, as shipped) under the documented RBAC:
//   1. replication lag, same cluster and across clusters: from the start of a source update to the
//      replica's new content arriving at a watch on the destination;
//   2. 1,000 sources × 10 namespaces: time until all 10,000 replicas exist;
//   3. the idle write rate over a minute (audit log of every cluster; must be zero), with the
//      resync period shortened so that full resyncs happen inside that minute;
//   4. the sidecar's RSS.
//   npx tsx test/bench/sync.bench.ts [lagSamples=200] [sources=1000] [namespaces=10]
// Appends a section to test/bench/results/sync.md.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeClient } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/informer.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Secrets } from '../../src/kube/resources.js';
import { ORIGIN_CLUSTER_LABEL } from '../../sync/keys.js';
import { repoRoot } from '../../local/binaries.js';
import { startControlPlane } from '../../local/control-plane.js';
import { freePort } from '../../local/ports.js';
import { machineFacts, rssOf, stats } from './machine.js';
import { acceptingNamespace, b64, localIdentity, registration, remoteIdentity, secretSource } from './sync-fixtures.js';

const lagSamples = Number(process.argv[2] ?? 200);
const SOURCES = Number(process.argv[3] ?? 1000);
const NAMESPACES = Number(process.argv[4] ?? 10);
const QPS = 1000;
const IDLE_MS = 60_000;
const SYNC_NS = 'kcp-sync';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => console.log(`[sync.bench] ${msg}`);

/** Resolves when `pred` holds for some object the informer delivers (or already holds). */
function waitFor(inf: Informer, pred: (o: KubeObject) => boolean, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const check = (o: KubeObject) => {
      if (!done && pred(o)) {
        done = true;
        clearTimeout(timer);
        resolve();
      }
    };
    const timer = setTimeout(() => !done && reject(new Error('timed out')), timeoutMs);
    inf.on({ add: check, update: (_o, n) => check(n) });
  });
}

async function measureLag(client: KubeClient, dest: Informer, srcNs: string, name: string, destNs: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 1; i <= lagSamples; i++) {
    const want = b64(String(i));
    const seen = waitFor(dest, (o) => o.metadata.namespace === destNs && o.metadata.name === name && (o.data as Record<string, string> | undefined)?.v === want);
    const t0 = performance.now();
    await client.patch(Secrets, srcNs, name, { data: { v: want } }, 'merge');
    await seen;
    out.push(performance.now() - t0);
  }
  return out;
}

const [hub, edge] = await Promise.all([startControlPlane({ name: 'bench-hub', crds: false }), startControlPlane({ name: 'bench-edge', crds: false })]);
const admin = { hub: await hub.client('bench-admin'), edge: await edge.client('bench-admin') };
let child: ReturnType<typeof spawn> | undefined;
let build: string | undefined;
try {
  const kubeconfig = await localIdentity(hub, admin.hub, SYNC_NS);
  await admin.hub.create(Secrets, registration(SYNC_NS, 'edge', await remoteIdentity(edge, admin.edge)));
  for (const c of [admin.hub, admin.edge]) {
    await acceptingNamespace(c, 'lag-src', undefined);
    await acceptingNamespace(c, 'lag-dst', ['lag-src/*', 'hub/lag-src/*']);
  }
  // The sidecar as it ships: compiled (tsconfig.build.json, as into dist/) to a scratch directory,
  // so neither tsx nor the TypeScript compiler sits in its memory.
  build = mkdtempSync(path.join(os.tmpdir(), 'kcp-sync-build-'));
  try {
    execFileSync(path.join(repoRoot, 'node_modules/.bin/tsc'), ['-p', path.join(repoRoot, 'tsconfig.build.json'), '--outDir', build], { stdio: 'inherit' });
  } catch {
    // tsc exits non-zero on type errors elsewhere in the tree but still emits; the check below decides.
  }
  const mainJs = path.join(build, 'sync/main.js');
  if (!existsSync(mainJs)) throw new Error('the build did not produce sync/main.js');
  writeFileSync(path.join(build, 'package.json'), '{"type":"module"}\n');
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(build, 'node_modules'));
  const port = await freePort();
  child = spawn(
    process.execPath,
    [
      mainJs,
      `--kubeconfig=${kubeconfig}`,
      `--namespace=${SYNC_NS}`,
      '--cluster-name=hub',
      `--health-probe-bind-address=127.0.0.1:${port}`,
      `--cluster-qps=${QPS}`,
      `--cluster-burst=${QPS}`,
      '--resync-period=20s',
      '--log-level=warn',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const pid = child.pid ?? 0;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (res?.status === 200) break;
    await sleep(100);
  }
  const replicasOn = (c: KubeClient) => new Informer(c, Secrets, { labelSelector: `${ORIGIN_CLUSTER_LABEL}=hub` });
  const hubReplicas = replicasOn(admin.hub);
  const edgeReplicas = replicasOn(admin.edge);
  hubReplicas.start();
  edgeReplicas.start();
  await Promise.all([hubReplicas.waitForSync(), edgeReplicas.waitForSync()]);

  // 1. Lag.
  await admin.hub.create(Secrets, secretSource('lag-src', 'local', { v: b64('0') }, { namespaces: ['lag-dst'] }));
  await admin.hub.create(Secrets, secretSource('lag-src', 'remote', { v: b64('0') }, { clusters: ['edge'], namespaces: ['lag-dst'] }));
  await waitFor(hubReplicas, (o) => o.metadata.name === 'local');
  await waitFor(edgeReplicas, (o) => o.metadata.name === 'remote');
  const lagLocal = await measureLag(admin.hub, hubReplicas, 'lag-src', 'local', 'lag-dst');
  const lagRemote = await measureLag(admin.hub, edgeReplicas, 'lag-src', 'remote', 'lag-dst');
  log(`lag same cluster p50 ${stats(lagLocal).p50.toFixed(1)} ms, across ${stats(lagRemote).p50.toFixed(1)} ms`);

  // 2. Scale.
  const dests = Array.from({ length: NAMESPACES }, (_, i) => `scale-${i}`);
  await acceptingNamespace(admin.hub, 'scale-src', undefined);
  for (const ns of dests) await acceptingNamespace(admin.hub, ns, ['scale-src/*']);
  const target = hubReplicas.size + SOURCES * NAMESPACES;
  const converged = new Promise<void>((resolve) => {
    const check = () => hubReplicas.size >= target && resolve();
    hubReplicas.on({ add: check });
    check();
  });
  const writes0 = (await hub.auditedWrites({ userAgent: 'kcp-sync' })).length;
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < SOURCES) {
        const i = next++;
        await admin.hub.create(Secrets, secretSource('scale-src', `s-${i}`, { v: `value-${i}` }, { namespaces: ['scale-*'] }));
      }
    }),
  );
  const created = performance.now() - t0;
  await converged;
  const convergeMs = performance.now() - t0;
  log(`${SOURCES} × ${NAMESPACES}: sources created in ${created.toFixed(0)} ms, all replicas in ${convergeMs.toFixed(0)} ms`);
  const rssConverged = rssOf(pid);

  // Let the status annotations settle, then count writes over an idle minute.
  await sleep(10_000);
  const burstWrites = (await hub.auditedWrites({ userAgent: 'kcp-sync' })).length - writes0;
  const idleSince = new Date();
  await sleep(IDLE_MS);
  const idleHub = (await hub.auditedWrites({ userAgent: 'kcp-sync', since: idleSince })).length;
  const idleEdge = (await edge.auditedWrites({ userAgent: 'kcp-sync', since: idleSince })).length;
  const rssIdle = rssOf(pid);
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const lagCount = (cluster: string) => Number(new RegExp(`kcp_sync_replication_lag_seconds_count\\{cluster="${cluster}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
  const lagSum = (cluster: string) => Number(new RegExp(`kcp_sync_replication_lag_seconds_sum\\{cluster="${cluster}"\\} ([\\d.e+-]+)`).exec(metrics)?.[1] ?? 0);
  log(`idle minute: ${idleHub} writes on the hub, ${idleEdge} on the edge; RSS ${rssIdle.rss.toFixed(0)} MiB`);
  await hubReplicas.stop();
  await edgeReplicas.stop();

  const facts = machineFacts();
  const ls = stats(lagLocal);
  const rs = stats(lagRemote);
  const f = (n: number) => n.toFixed(1);
  const section = [
    `## ${facts.date} (commit ${facts.commit})`,
    '',
    Object.entries(facts)
      .map(([k, v]) => `- ${k}: ${v}`)
      .join('\n'),
    `- sidecar: one process (\`node dist/sync/main.js\`, built with tsconfig.build.json), \`--cluster-qps=${QPS} --cluster-burst=${QPS} --resync-period=20s\`, default 8 workers per cluster; hub and edge are two control planes on this machine`,
    '',
    '### Replication lag',
    '',
    `From the start of a source update (merge patch) to the new content arriving at a watch on the destination, ${lagSamples} sequential updates each.`,
    '',
    '| path | samples | min ms | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|',
    `| same cluster (hub → hub) | ${lagLocal.length} | ${f(ls.min)} | ${f(ls.p50)} | ${f(ls.p99)} | ${f(ls.max)} |`,
    `| across clusters (hub → edge) | ${lagRemote.length} | ${f(rs.min)} | ${f(rs.p50)} | ${f(rs.p99)} | ${f(rs.max)} |`,
    '',
    `The sidecar's own histogram (trigger observed → replica write done), over the whole run: hub mean ${((lagSum('hub') / (lagCount('hub') || 1)) * 1000).toFixed(1)} ms over ${lagCount('hub')} writes; edge mean ${((lagSum('edge') / (lagCount('edge') || 1)) * 1000).toFixed(1)} ms over ${lagCount('edge')} writes.`,
    '',
    '### Scale',
    '',
    '| what | value |',
    '|---|---|',
    `| sources × accepting namespaces | ${SOURCES} × ${NAMESPACES} = ${SOURCES * NAMESPACES} replicas |`,
    `| sources created by the benchmark (16 in parallel) | ${(created / 1000).toFixed(1)} s |`,
    `| first source created → every replica exists | ${(convergeMs / 1000).toFixed(1)} s (${((SOURCES * NAMESPACES) / (convergeMs / 1000)).toFixed(0)} replicas/s) |`,
    `| sidecar writes for the burst (audit log: replicas + status annotations) | ${burstWrites} |`,
    `| writes in the idle minute after (audit log, hub + edge; three 20 s resyncs included) | ${idleHub + idleEdge} |`,
    `| sidecar RSS when converged / after the idle minute / peak | ${rssConverged.rss.toFixed(0)} / ${rssIdle.rss.toFixed(0)} / ${rssIdle.hwm.toFixed(0)} MiB |`,
    '',
  ].join('\n');
  const file = path.join(repoRoot, 'test/bench/results/sync.md');
  if (!existsSync(file)) {
    writeFileSync(
      file,
      '# Sync sidecar benchmark\n\nMeasured with `npx tsx test/bench/sync.bench.ts`; see the header of that file for what each figure means.\n\n',
    );
  }
  appendFileSync(file, `${section}\n`);
  console.log(section);
  if (idleHub + idleEdge !== 0) {
    console.error(`sync.bench: the idle write rate must be zero, was ${idleHub + idleEdge} in a minute`);
    process.exitCode = 1;
  }
} finally {
  child?.kill('SIGTERM');
  if (build) rmSync(build, { recursive: true, force: true });
  admin.hub.close();
  admin.edge.close();
  await Promise.all([hub.stop(), edge.stop()]);
}
