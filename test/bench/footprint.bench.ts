// Benchmark: the memory of the two processes, side by side for several builds on one control plane.
// Each build (a directory holding a compiled dist/) runs in turn, interleaved over the runs so
// machine load falls on all of them alike:
//   - the operator, at ready on an empty namespace, then after converging a RootShard, a Shard, a
//     FrontProxy and N Kubeconfigs (done = every Kubeconfig's Secret exists) and 10 s at rest;
//   - the sync sidecar at ready, then 10 s later.
// RSS from /proc (VmRSS), heap from the process's own /metrics (nodejs_heap_size_used_bytes).
//   npx tsx test/bench/footprint.bench.ts --build=before:/path/a --build=after:/path/b [--runs=3] [--kubeconfigs=50]
//   [--node-options="--max-old-space-size=128"] (extra node flags for every process)
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FrontProxies, Kubeconfigs, RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Namespaces, Secrets } from '../../src/kube/resources.js';
import { repoRoot } from '../../local/binaries.js';
import { startControlPlane } from '../../local/control-plane.js';
import { freePort } from '../../local/ports.js';
import { machineFacts, resultHeader, rssOf, stats } from './machine.js';
import { SIDECAR_NODE_FLAGS } from '../../sync/node-flags.js';

const { values } = parseArgs({
  options: {
    build: { type: 'string', multiple: true },
    runs: { type: 'string', default: '3' },
    kubeconfigs: { type: 'string', default: '50' },
    'node-options': { type: 'string', default: '' },
  },
});
const builds = (values.build ?? [`current:${repoRoot}`]).map((b) => {
  const [label, dir] = b.includes(':') ? [b.slice(0, b.indexOf(':')), b.slice(b.indexOf(':') + 1)] : [b, b];
  return { label, dir: path.resolve(dir) };
});
const RUNS = Number(values.runs);
const KCS = Number(values.kubeconfigs);
const nodeOptions = values['node-options'] ? values['node-options'].split(' ').filter(Boolean) : [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cp = await startControlPlane({ name: 'bench-footprint' });
const client = await cp.client('bench-driver');

interface Proc {
  child: ChildProcess;
  port: number;
}

async function start(dir: string, entry: 'dist/src/main.js' | 'dist/sync/main.js', args: string[]): Promise<Proc> {
  const port = await freePort();
  // The sidecar with the flags it ships with, unless --node-options replaces them.
  const flags = values['node-options'] !== undefined || entry !== 'dist/sync/main.js' ? nodeOptions : SIDECAR_NODE_FLAGS;
  const child = spawn(process.execPath, [...flags, path.join(dir, entry), `--kubeconfig=${cp.kubeconfigPath}`, `--health-probe-bind-address=127.0.0.1:${port}`, ...args], {
    cwd: dir,
    stdio: 'ignore',
    env: { ...process.env, LOG_LEVEL: 'error' },
  });
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${entry} of ${dir} exited with ${child.exitCode}`);
    if (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok).catch(() => false)) break;
    if (i > 1200) throw new Error(`${entry} of ${dir} never became ready`);
    await sleep(50);
  }
  return { child, port };
}

async function heapMiB(p: Proc): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${p.port}/metrics`).then((r) => r.text());
  return Number(/^nodejs_heap_size_used_bytes\s+(\S+)/m.exec(text)?.[1] ?? NaN) / 2 ** 20;
}

async function sample(p: Proc): Promise<{ rss: number; heap: number }> {
  return { rss: rssOf(p.child.pid!).rss, heap: await heapMiB(p) };
}

async function stop(p: Proc): Promise<void> {
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  await exited;
}

function topology(ns: string): Array<[typeof RootShards, KubeObject]> {
  const cr = (kind: string, name: string, spec: Record<string, unknown>) => ({ apiVersion: 'operator.kcp.io/v1alpha1', kind, metadata: { name, namespace: ns }, spec }) as KubeObject;
  return [
    [RootShards, cr('RootShard', 'root', { external: { hostname: 'kcp.example.com', port: 6443 }, cache: {}, etcd: { endpoints: ['http://etcd:2379'] } })],
    [Shards, cr('Shard', 's1', { rootShard: { ref: { name: 'root' } }, etcd: { endpoints: ['http://etcd-s1:2379'] } })],
    [FrontProxies, cr('FrontProxy', 'fp', { rootShard: { ref: { name: 'root' } } })],
    ...Array.from({ length: KCS }, (_, i): [typeof Kubeconfigs, KubeObject] => [
      Kubeconfigs,
      cr('Kubeconfig', `kc-${i}`, { username: `user-${i}`, groups: ['developers'], validity: '8766h', secretRef: { name: `kc-${i}-kubeconfig` }, target: { frontProxyRef: { name: 'fp' } } }),
    ]),
  ];
}

type Row = Record<'opReadyRss' | 'opReadyHeap' | 'opDoneRss' | 'opDoneHeap' | 'doneMs' | 'syncReadyRss' | 'syncRss' | 'syncHeap', number>;
const rows = new Map<string, Row[]>(builds.map((b) => [b.label, []]));

for (let run = 0; run < RUNS; run++) {
  for (const b of builds) {
    const ns = `fp-${run}-${b.label}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
    await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const op = await start(b.dir, 'dist/src/main.js', [`--namespace=${ns}`]);
    await sleep(5_000);
    const ready = await sample(op);
    const t0 = performance.now();
    for (const [r, o] of topology(ns)) await client.create(r, o);
    for (;;) {
      const have = new Set((await client.list(Secrets, { namespace: ns })).items.map((s) => s.metadata.name));
      if (Array.from({ length: KCS }, (_, i) => `kc-${i}-kubeconfig`).every((n) => have.has(n))) break;
      await sleep(100);
    }
    const doneMs = performance.now() - t0;
    await sleep(10_000);
    const done = await sample(op);
    await stop(op);
    const sync = await start(b.dir, 'dist/sync/main.js', [`--namespace=${ns}`]);
    const syncReady = rssOf(sync.child.pid!).rss;
    await sleep(10_000);
    const s = await sample(sync);
    await stop(sync);
    const row: Row = { opReadyRss: ready.rss, opReadyHeap: ready.heap, opDoneRss: done.rss, opDoneHeap: done.heap, doneMs, syncReadyRss: syncReady, syncRss: s.rss, syncHeap: s.heap };
    rows.get(b.label)!.push(row);
    console.log(`[footprint] run ${run + 1}/${RUNS} ${b.label}: ${JSON.stringify(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Math.round(v)])))}`);
  }
}
client.close();
await cp.stop();

const range = (label: string, k: keyof Row) => {
  const s = stats(rows.get(label)!.map((r) => r[k]));
  return `${s.min.toFixed(0)}–${s.max.toFixed(0)}`;
};
const facts = machineFacts();
const measures: Array<[string, keyof Row]> = [
  ['operator RSS at ready, empty namespace (MiB)', 'opReadyRss'],
  ['operator heap used at ready (MiB)', 'opReadyHeap'],
  [`operator: create → ${KCS} Kubeconfig Secrets (ms)`, 'doneMs'],
  [`operator RSS after RootShard + Shard + FrontProxy + ${KCS} Kubeconfigs, 10 s at rest (MiB)`, 'opDoneRss'],
  ['operator heap used then (MiB)', 'opDoneHeap'],
  ['sidecar RSS at ready (MiB)', 'syncReadyRss'],
  ['sidecar RSS 10 s later (MiB)', 'syncRss'],
  ['sidecar heap used then (MiB)', 'syncHeap'],
];
const section = [
  ...resultHeader(facts),
  `${RUNS} runs per build, interleaved, one control plane; min–max.${nodeOptions.length ? ` Node flags: \`${nodeOptions.join(' ')}\`.` : ''} Builds: ${builds.map((b) => `${b.label} (\`${b.dir}\`)`).join(', ')}.`,
  '',
  `| measure | ${builds.map((b) => b.label).join(' | ')} |`,
  `|---|${builds.map(() => '---').join('|')}|`,
  ...measures.map(([name, k]) => `| ${name} | ${builds.map((b) => range(b.label, k)).join(' | ')} |`),
  '',
].join('\n');
appendFileSync(path.join(repoRoot, 'test/bench/results/footprint.md'), `${section}\n`);
console.log(section);
