// Benchmark: a RootShard plus one Shard converging on a real API server, with the operator as its
// own process. Measures time from creating the two objects to every certificate Secret issued and
// the three Deployments (root shard, shard, the RootShard's internal proxy) applied, the operator's write requests (from the API server's audit log), and
// the operator's RSS. Then an idle minute's writes (the floor: zero).
//   npx tsx test/bench/topology.bench.ts [runs] [idleSeconds]
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Deployments, Namespaces, Secrets } from '../../src/kube/resources.js';
import { frontProxyCertificates, rootShardCertificates, shardCertificates } from '../../src/pki/hierarchy.js';
import { repoRoot } from '../../local/binaries.js';
import { startControlPlane } from '../../local/control-plane.js';
import { spawnEntry } from '../../local/entry.js';
import { freePort } from '../../local/ports.js';
import { machineFacts, stats } from './machine.js';

const runs = Number(process.argv[2] ?? 5);
const idleSeconds = Number(process.argv[3] ?? 60);
const cp = await startControlPlane({ name: 'bench-topology' });
const client = await cp.client('bench-driver');
const port = await freePort();
const operator = spawnEntry('src/main.ts', [`--kubeconfig=${cp.kubeconfigPath}`, `--health-probe-bind-address=127.0.0.1:${port}`], {
  env: { LOG_LEVEL: 'error' },
});
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${operator.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
for (;;) {
  const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok).catch(() => false);
  if (ok) break;
  await new Promise((r) => setTimeout(r, 50));
}
const writesBy = async (since: Date) => (await cp.auditedWrites({ userAgent: 'kcp-operator/', since })).length;
const breakdown = new Map<string, number>();
const countBreakdown = async (since: Date) => {
  for (const e of await cp.auditedWrites({ userAgent: 'kcp-operator/', since })) {
    const k = `${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? '/' + e.objectRef.subresource : ''}`;
    breakdown.set(k, (breakdown.get(k) ?? 0) + 1);
  }
};

const times: number[] = [];
const writes: number[] = [];
let children = 0;
for (let i = 0; i < runs; i++) {
  const ns = `bench-${i}`;
  await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const expected = [
    ...rootShardCertificates({ name: 'root', namespace: ns, externalHostname: 'kcp.example.com' }).map((p) => p.secretName),
    ...shardCertificates({ name: 's1', namespace: ns, rootShard: { name: 'root' } }).map((p) => p.secretName),
    // The internal proxy root-proxy (no FrontProxy name).
    ...frontProxyCertificates({ rootShard: { name: 'root', namespace: ns, externalHostname: 'kcp.example.com' } }).map((p) => p.secretName),
  ];
  const DEPLOYMENTS = 3;
  const since = new Date();
  const t0 = performance.now();
  await client.create(RootShards, {
    apiVersion: 'operator.kcp.io/v1alpha1',
    kind: 'RootShard',
    metadata: { name: 'root', namespace: ns },
    spec: { external: { hostname: 'kcp.example.com', port: 6443 }, cache: {}, etcd: { endpoints: ['http://etcd:2379'] } },
  } as KubeObject);
  await client.create(Shards, {
    apiVersion: 'operator.kcp.io/v1alpha1',
    kind: 'Shard',
    metadata: { name: 's1', namespace: ns },
    spec: { rootShard: { ref: { name: 'root' } }, etcd: { endpoints: ['http://etcd-s1:2379'] } },
  } as KubeObject);
  for (;;) {
    const secrets = new Set((await client.list(Secrets, { namespace: ns })).items.map((s) => s.metadata.name));
    const deps = (await client.list(Deployments, { namespace: ns })).items.length;
    if (deps >= DEPLOYMENTS && expected.every((n) => secrets.has(n))) {
      children = secrets.size + deps + DEPLOYMENTS; // one Service per Deployment
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  times.push(performance.now() - t0);
  await new Promise((r) => setTimeout(r, 1500)); // let status writes land before counting
  writes.push(await writesBy(since));
  if (i === runs - 1) await countBreakdown(since);
}
const idleSince = new Date();
await new Promise((r) => setTimeout(r, idleSeconds * 1000));
const idleWrites = await writesBy(idleSince);
const rssMiB = rss();
operator.kill('SIGTERM');
client.close();
await cp.stop();

const facts = machineFacts();
const t = stats(times);
const w = stats(writes);
const section = [
  `## ${facts.date} (commit ${facts.commit})`,
  '',
  Object.entries(facts).map(([k, v]) => `- ${k}: ${v}`).join('\n'),
  '',
  `RootShard + 1 Shard, built-in PKI (ECDSA P-256), ${runs} runs, each in a fresh namespace, one operator process:`,
  '',
  '| measure | value |',
  '|---|---|',
  `| time to converge (all certificate Secrets + the 3 Deployments), p50 / min / max | ${t.p50.toFixed(0)} / ${t.min.toFixed(0)} / ${t.max.toFixed(0)} ms |`,
  `| child objects per topology (Secrets + Deployments + Services) | ${children} |`,
  `| operator write requests per convergence (audit log; incl. status, finalizer, events), p50 / max | ${w.p50} / ${w.max} |`,
  `| operator writes during ${idleSeconds} s idle | ${idleWrites} |`,
  `| operator RSS after ${runs} topologies | ${rssMiB.toFixed(0)} MiB |`,
  '',
  `Writes of the last run by verb and resource: ${[...breakdown].sort().map(([k, v]) => `${k} ×${v}`).join(', ')}.`,
  '',
].join('\n');
appendFileSync(path.join(repoRoot, 'test/bench/results/topology.md'), `${section}\n`);
console.log(section);
