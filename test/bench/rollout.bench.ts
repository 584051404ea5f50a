// Benchmark: the cost of a release rollout (RootShard spec.release) on a real API server, operator
// as its own process. An installation of a RootShard, N Shards and a FrontProxy converges at one
// version; then the version changes and the driver waits until status.rollout is Complete again.
// Nothing here runs kcp: the driver stands in for kube-controller-manager and the kubelet, reporting
// each Deployment's new generation available as soon as it sees it, so the figures are the
// operator's own overhead per step (soakSeconds: 0). Writes are counted from the audit log by the
// operator's user agent, per resource; then an idle minute (the floor: zero writes).
//   npx tsx test/bench/rollout.bench.ts [shards] [idleSeconds]
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RolloutStatus } from '../../src/api/release.js';
import { FrontProxies, RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, Namespaces } from '../../src/kube/resources.js';
import { repoRoot } from '../../local/binaries.js';
import { startControlPlane } from '../../local/control-plane.js';
import { spawnEntry } from '../../local/entry.js';
import { freePort } from '../../local/ports.js';
import { machineFacts } from './machine.js';

const shards = Number(process.argv[2] ?? 10);
const idleSeconds = Number(process.argv[3] ?? 60);
const NS = 'bench-rollout';
const cp = await startControlPlane({ name: 'bench-rollout' });
const client = await cp.client('bench-driver');
const port = await freePort();
const operator = spawnEntry('src/main.ts', [`--kubeconfig=${cp.kubeconfigPath}`, `--health-probe-bind-address=127.0.0.1:${port}`], { env: { LOG_LEVEL: 'error' } });
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${operator.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
while (!(await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok).catch(() => false))) await new Promise((r) => setTimeout(r, 50));

// Stand-in for kube-controller-manager and the kubelet: every new generation is available at once.
let standIn = true;
const standInLoop = (async () => {
  while (standIn) {
    for (const d of (await client.list(Deployments, { namespace: NS }).catch(() => ({ items: [] as KubeObject[] }))).items) {
      const replicas = (d.spec as { replicas?: number }).replicas ?? 1;
      if ((d.status as { observedGeneration?: number } | undefined)?.observedGeneration === d.metadata.generation) continue;
      await client
        .patch(Deployments, NS, d.metadata.name ?? '', { status: { observedGeneration: d.metadata.generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas } }, 'merge', 'status')
        .catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
})();

const rollout = async () => ((await client.get(RootShards, NS, 'root')).status as { rollout?: RolloutStatus } | undefined)?.rollout;
const until = async (version: string) => {
  for (;;) {
    const r = await rollout().catch(() => undefined);
    if (r?.state === 'Complete' && r.version === version) return r;
    await new Promise((res) => setTimeout(res, 10));
  }
};
const writes = async (since: Date) => {
  const by = new Map<string, number>();
  for (const e of await cp.auditedWrites({ userAgent: 'kcp-operator/', since })) {
    const k = `${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? '/' + e.objectRef.subresource : ''}`;
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  return by;
};
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
const t0 = performance.now();
await client.create(RootShards, {
  apiVersion: 'operator.kcp.io/v1alpha1',
  kind: 'RootShard',
  metadata: { name: 'root', namespace: NS },
  spec: {
    external: { hostname: 'kcp.example.com', port: 6443 },
    cache: {},
    etcd: { endpoints: ['http://etcd:2379'] },
    replicas: 1,
    proxy: { replicas: 1 },
    release: { image: { tag: 'v0.32.3' }, rollout: { soakSeconds: 0, progressDeadlineSeconds: 600 } },
  },
} as KubeObject);
for (let i = 0; i < shards; i++) {
  await client.create(Shards, {
    apiVersion: 'operator.kcp.io/v1alpha1',
    kind: 'Shard',
    metadata: { name: `s${String(i).padStart(3, '0')}`, namespace: NS },
    spec: { rootShard: { ref: { name: 'root' } }, etcd: { endpoints: [`http://etcd-s${i}:2379`] }, replicas: 1 },
  } as KubeObject);
}
await client.create(FrontProxies, { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'FrontProxy', metadata: { name: 'fp', namespace: NS }, spec: { rootShard: { ref: { name: 'root' } }, replicas: 1 } } as KubeObject);
await until('v0.32.3');
const installMs = performance.now() - t0;
await new Promise((r) => setTimeout(r, 3000)); // let the install's last writes land

const since = new Date();
const t1 = performance.now();
await client.patch(RootShards, NS, 'root', { spec: { release: { image: { tag: 'v0.32.4' } } } }, 'merge');
const done = await until('v0.32.4');
const rolloutMs = performance.now() - t1;
await new Promise((r) => setTimeout(r, 3000));
const rolloutWrites = await writes(since);
const idleSince = new Date();
await new Promise((r) => setTimeout(r, idleSeconds * 1000));
const idle = total(await writes(idleSince));
const rssMiB = rss();
const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
const reconcileLine = (c: string) => {
  const sum = Number(new RegExp(`controller_runtime_reconcile_time_seconds_sum\\{controller="${c}"\\} (\\S+)`).exec(metrics)?.[1] ?? NaN);
  const count = Number(new RegExp(`controller_runtime_reconcile_time_seconds_count\\{controller="${c}"\\} (\\S+)`).exec(metrics)?.[1] ?? NaN);
  return `${c} ${count} reconciles, mean ${((sum / count) * 1000).toFixed(0)} ms`;
};
const reconciles = ['rootshard', 'shard', 'frontproxy'].map(reconcileLine).join('; ');
standIn = false;
await standInLoop;
operator.kill('SIGTERM');
client.close();
await cp.stop();

const components = done.total;
const deploymentPatches = rolloutWrites.get('patch deployments') ?? 0;
const facts = machineFacts();
const section = [
  `## ${facts.date} (commit ${facts.commit})`,
  '',
  Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`).join('\n'),
  '',
  `RootShard + ${shards} Shards + 1 FrontProxy (+ the internal proxy): ${components} components, one replica each, soakSeconds 0, one operator process (tsx):`,
  '',
  '| measure | value |',
  '|---|---|',
  `| new installation at the release: create → status.rollout Complete | ${installMs.toFixed(0)} ms |`,
  `| version change → Complete (${components} components, one at a time) | ${rolloutMs.toFixed(0)} ms (${(rolloutMs / components).toFixed(0)} ms per step) |`,
  `| Deployment patches for the rollout | ${deploymentPatches} (components: ${components}) |`,
  `| all operator writes for the rollout (audit log) | ${total(rolloutWrites)} |`,
  `| operator writes during ${idleSeconds} s idle after | ${idle} |`,
  `| operator RSS at the end | ${rssMiB.toFixed(0)} MiB |`,
  '',
  `Reconciles over the whole run (install, rollout, idle): ${reconciles}.`,
  '',
  `Writes for the rollout by verb and resource: ${[...rolloutWrites].sort().map(([k, v]) => `${k} ×${v}`).join(', ')}.`,
  '',
].join('\n');
appendFileSync(path.join(repoRoot, 'test/bench/results/rollout.md'), `${section}\n`);
console.log(section);
