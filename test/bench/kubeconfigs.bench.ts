// Benchmark: 1 RootShard, 1 FrontProxy and N Kubeconfigs (default 200) converging on a real API
// server, with the operator in-process. Measures the time from the first create to every
// Kubeconfig Ready (its certificate issued and its kubeconfig Secret written), the operator's write
// requests (its own client's count, and per resource from the audit log), reconciles per
// controller, RSS, and writes during an idle period (the floor: zero).
//   npx tsx test/bench/kubeconfigs.bench.ts [kubeconfigs] [idleSeconds] [concurrency]
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { registerControllers } from '../../src/controllers/index.js';
import { FrontProxies, Kubeconfigs, RootShards } from '../../src/controllers/context.js';
import { KubeClient } from '../../src/kube/client.js';
import type { Controller } from '../../src/kube/controller.js';
import { createLogger } from '../../src/kube/log.js';
import { Manager } from '../../src/kube/manager.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Namespaces } from '../../src/kube/resources.js';
import { repoRoot } from '../../local/binaries.js';
import { startControlPlane } from '../../local/control-plane.js';
import { machineFacts, stats } from './machine.js';

const count = Number(process.argv[2] ?? 200);
const idleSeconds = Number(process.argv[3] ?? 30);
const concurrency = Number(process.argv[4] ?? 4);
const ns = 'bench-kubeconfigs';
const warmNs = 'bench-warmup';
const userAgent = 'kcp-operator-bench';

const cp = await startControlPlane({ name: 'bench-kubeconfigs' });
const driver = await cp.client('bench-driver');
for (const n of [warmNs, ns]) await driver.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } });

const rssSamples: number[] = [];
const sampler = setInterval(() => rssSamples.push(process.memoryUsage().rss / 2 ** 20), 100);
const rssBefore = process.memoryUsage().rss / 2 ** 20;
const opClient = await KubeClient.fromKubeConfig(cp.kubeConfig(), { userAgent, qps: 0 });
const manager = new Manager({ client: opClient, logger: createLogger({ name: 'bench', level: 'error' }) });
registerControllers(manager, { namespace: undefined, concurrency });
const tStart = performance.now();
await manager.start();
const startupMs = performance.now() - tStart;
const controllers = (manager as unknown as { controllers: Controller[] }).controllers;
const reconciles = () => Object.fromEntries(controllers.map((c) => [c.name, [...c.reconciles.values()].reduce((a, b) => a + b, 0)]));

const topology = async (namespace: string) => {
  await driver.create(RootShards, {
    apiVersion: 'operator.kcp.io/v1alpha1',
    kind: 'RootShard',
    metadata: { name: 'root', namespace },
    spec: { external: { hostname: 'kcp.example.com', port: 443 }, cache: {}, etcd: { endpoints: ['http://etcd:2379'] } },
  } as KubeObject);
  await driver.create(FrontProxies, {
    apiVersion: 'operator.kcp.io/v1alpha1',
    kind: 'FrontProxy',
    metadata: { name: 'fp', namespace },
    spec: { rootShard: { ref: { name: 'root' } } },
  } as KubeObject);
};
const kubeconfig = (namespace: string, name: string, viaRoot: boolean) =>
  driver.create(Kubeconfigs, {
    apiVersion: 'operator.kcp.io/v1alpha1',
    kind: 'Kubeconfig',
    metadata: { name, namespace },
    spec: {
      username: `user-${name}`,
      groups: ['developers'],
      validity: '8766h',
      secretRef: { name: `${name}-kubeconfig` },
      target: viaRoot ? { rootShardRef: { name: 'root' } } : { frontProxyRef: { name: 'fp' } },
    },
  } as KubeObject);
const readyIn = async (namespace: string) =>
  (await driver.list(Kubeconfigs, { namespace })).items.filter((k) => (k.status as { phase?: string } | undefined)?.phase === 'Ready').length;

// Warm-up: the API server's first server-side apply of each CRD schema costs about 2 s (it builds
// the type converter), and so does the operator's first pass through cold code. One small
// topology in another namespace pays for both; it is reported, not mixed into the figures.
const w0 = performance.now();
await topology(warmNs);
await kubeconfig(warmNs, 'warm', false);
while ((await readyIn(warmNs)) < 1) await new Promise((r) => setTimeout(r, 25));
const warmupMs = performance.now() - w0;
let quiet = opClient.stats.writes;
for (;;) {
  await new Promise((r) => setTimeout(r, 1000));
  if (opClient.stats.writes === quiet) break;
  quiet = opClient.stats.writes;
}

const since = new Date();
const writes0 = opClient.stats.writes;
const reconciles0 = reconciles();
const t0 = performance.now();
await topology(ns);
// Watch progress from the first create on, so the first Ready is seen when it happens.
let firstReadyMs: number | undefined;
let allReadyMs: number | undefined;
const poll = (async () => {
  while (allReadyMs === undefined) {
    const ready = await readyIn(ns);
    const now = performance.now() - t0;
    if (ready > 0) firstReadyMs ??= now;
    if (ready === count) allReadyMs = now;
    else await new Promise((r) => setTimeout(r, 25));
  }
})();
const names = Array.from({ length: count }, (_, i) => `kc-${String(i).padStart(4, '0')}`);
for (let i = 0; i < names.length; i += 20) {
  // Most through the front-proxy, some straight at the root shard.
  await Promise.all(names.slice(i, i + 20).map((name, j) => kubeconfig(ns, name, (i + j) % 4 === 0)));
}
const createdMs = performance.now() - t0;
await poll;
const convergeMs = allReadyMs ?? 0;
const writesAtReady = opClient.stats.writes - writes0;
// Let trailing status writes of the other kinds land, then wait until the operator is quiet.
let last = opClient.stats.writes;
for (;;) {
  await new Promise((r) => setTimeout(r, 2000));
  if (opClient.stats.writes === last) break;
  last = opClient.stats.writes;
}
const settledMs = performance.now() - t0 - 2000;
const writesTotal = opClient.stats.writes - writes0;
const byResource = new Map<string, number>();
for (const e of await cp.auditedWrites({ userAgent, since })) {
  const k = `${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? '/' + e.objectRef.subresource : ''}`;
  byResource.set(k, (byResource.get(k) ?? 0) + 1);
}
const kcWrites = [...byResource].filter(([k]) => /secrets|kubeconfigs/.test(k)).reduce((a, [, v]) => a + v, 0);
const reconcilesAtRest = Object.fromEntries(Object.entries(reconciles()).map(([k, v]) => [k, v - (reconciles0[k] ?? 0)]));
const idle0 = opClient.stats.writes;
await new Promise((r) => setTimeout(r, idleSeconds * 1000));
const idleWrites = opClient.stats.writes - idle0;
clearInterval(sampler);
const rss = stats(rssSamples);
const rssEnd = process.memoryUsage().rss / 2 ** 20;
await manager.stop();
driver.close();
await cp.stop();

const facts = machineFacts();
const perObject = (n: number) => (n / (count + 2)).toFixed(2);
const section = [
  `## ${facts.date} (commit ${facts.commit})`,
  '',
  Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`).join('\n'),
  '',
  `1 RootShard, 1 FrontProxy and ${count} Kubeconfigs (3 in 4 through the FrontProxy), built-in PKI (ECDSA P-256),`,
  `created at once (20 creates in flight) after a warm-up topology; operator in-process with its own client,`,
  `${concurrency} workers per controller. Figures below are for the measured topology only.`,
  '',
  '| measure | value |',
  '|---|---|',
  `| operator start (informers synced) | ${startupMs.toFixed(0)} ms |`,
  `| warm-up: first topology (RootShard, FrontProxy, 1 Kubeconfig) on the fresh API server, to Ready | ${warmupMs.toFixed(0)} ms |`,
  `| creating the ${count + 2} objects (driver) | ${createdMs.toFixed(0)} ms |`,
  `| first Kubeconfig Ready | ${firstReadyMs?.toFixed(0)} ms |`,
  `| every Kubeconfig Ready (certificate issued, Secret written, status) | ${convergeMs.toFixed(0)} ms (${(convergeMs - createdMs).toFixed(0)} ms after the last create) |`,
  `| operator quiet (every trailing status write landed) | ${settledMs.toFixed(0)} ms |`,
  `| operator write requests until every Kubeconfig was Ready | ${writesAtReady} |`,
  `| operator write requests in total (stats.writes) | ${writesTotal}, ${perObject(writesTotal)} per CR |`,
  `| of which Secrets and Kubeconfig status | ${kcWrites}, ${(kcWrites / count).toFixed(2)} per Kubeconfig |`,
  `| reconciles until quiet | ${Object.entries(reconcilesAtRest).map(([k, v]) => `${k} ${v}`).join(', ')} |`,
  `| operator writes during ${idleSeconds} s idle | ${idleWrites} |`,
  `| process RSS (operator + driver, in-process): before start / p50 / max / end | ${rssBefore.toFixed(0)} / ${rss.p50.toFixed(0)} / ${rss.max.toFixed(0)} / ${rssEnd.toFixed(0)} MiB |`,
  '',
  `Writes by verb and resource (audit log): ${[...byResource].sort().map(([k, v]) => `${k} ×${v}`).join(', ')}.`,
  '',
].join('\n');
appendFileSync(path.join(repoRoot, 'test/bench/results/kubeconfigs.md'), `${section}\n`);
console.log(section);
