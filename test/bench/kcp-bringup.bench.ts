// Benchmark: from applying the standard topology (config/samples) to the first workspace Ready
// through the front-proxy, on real kcp v0.32.3 Pods of the pod runner, with the operator as its own
// process. The floor is kcp's own cold boot of the very same topology on the same machine: the
// objects the operator produced (Secrets, ConfigMaps, Deployments, Services) captured after a run,
// applied at once to a fresh control plane with no operator, the same pod runner starting them. The
// difference between the two is what the operator costs: issuing the PKI, rendering, and the order
// in which it lets things start.
//   npx tsx test/bench/kcp-bringup.bench.ts [runs]
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Deployments, Secrets, Services } from '../../src/kube/resources.js';
import { repoRoot } from '../../local/binaries.js';
import { LocalStack } from '../../local/stack.js';
import { KcpUser } from '../e2e/kcp-user.js';
import { FRONT_PROXY_PORT, FRONT_PROXY_SERVICE, sampleObjects } from '../e2e/topology.js';
import { resultHeader, stats } from './machine.js';

const runs = Number(process.argv[2] ?? 3);
const NS = 'kcp-bench';

interface Marks {
  /** All Deployments of the topology have their replicas ready (pod runner). */
  podsReady: number;
  /** The first `kubectl get workspaces` through the front-proxy answered. */
  firstAnswer: number;
  /** A new workspace reached phase Ready. */
  workspaceReady: number;
}

/** Polls until the user can list workspaces, then creates one and waits for Ready. */
async function drive(stack: LocalStack, t0: number, adminSecret: string): Promise<Marks> {
  const deployments = ['root-kcp', 'shard-2-shard-kcp', FRONT_PROXY_SERVICE];
  let podsReady = 0;
  const watchPods = setInterval(() => {
    if (!podsReady && deployments.every((d) => stack.runner.podsOf(d).filter((p) => p.ready).length >= 2)) podsReady = Date.now() - t0;
  }, 100);
  try {
    const forward = await stack.runner.forward(FRONT_PROXY_SERVICE, FRONT_PROXY_PORT);
    let user: KcpUser | undefined;
    for (;;) {
      user ??= await KcpUser.fromSecret(stack, adminSecret, forward.port).catch(() => undefined);
      if (user && (await user.kubectl('root', ['get', 'workspaces', '-o', 'name'])).code === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const firstAnswer = Date.now() - t0;
    const name = `bench-${Date.now()}`;
    await user.must('root', ['create', '-f', '-'], JSON.stringify({ apiVersion: 'tenancy.kcp.io/v1alpha1', kind: 'Workspace', metadata: { name } }));
    while ((await user.workspace('root', name)).status?.phase !== 'Ready') await new Promise((r) => setTimeout(r, 250));
    const workspaceReady = Date.now() - t0;
    await forward.close();
    while (!podsReady) await new Promise((r) => setTimeout(r, 100));
    return { podsReady, firstAnswer, workspaceReady };
  } finally {
    clearInterval(watchPods);
  }
}

/** The operator's output in a namespace, as plain objects a fresh cluster accepts. */
async function capture(stack: LocalStack): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const type of [Secrets, ConfigMaps, Services, Deployments]) {
    for (const o of (await stack.admin.list(type, { namespace: NS })).items) {
      if (type === Secrets && (o as { type?: string }).type === 'kubernetes.io/service-account-token') continue;
      if (type === ConfigMaps && o.metadata.name === 'kube-root-ca.crt') continue;
      const spec = { ...(o.spec as Record<string, unknown> | undefined) };
      if (type === Services) {
        delete spec.clusterIP;
        delete spec.clusterIPs;
      }
      const { name, labels, annotations } = o.metadata;
      out.push({ ...o, apiVersion: type.group ? `${type.group}/${type.version}` : type.version, kind: type.kind, metadata: { name, namespace: NS, labels, annotations }, ...(o.spec ? { spec } : {}), status: undefined } as KubeObject);
    }
  }
  return out;
}

const results: { operator: Marks[]; floor: Marks[] } = { operator: [], floor: [] };
let captured: KubeObject[] = [];
for (let i = 0; i < runs; i++) {
  const stack = await LocalStack.start({ name: `bench-op-${i}`, namespace: NS, logLevel: 'warn' });
  try {
    const t0 = Date.now();
    await stack.apply(sampleObjects());
    const m = await drive(stack, t0, 'kcp-admin-kubeconfig');
    results.operator.push(m);
    console.log(`operator run ${i + 1}: ${JSON.stringify(m)}`);
    if (i === 0) captured = await capture(stack);
  } finally {
    await stack.stop();
  }
}
for (let i = 0; i < runs; i++) {
  const stack = await LocalStack.start({ name: `bench-floor-${i}`, namespace: NS, operator: false });
  try {
    const t0 = Date.now();
    await stack.apply(captured);
    const m = await drive(stack, t0, 'kcp-admin-kubeconfig');
    results.floor.push(m);
    console.log(`floor run ${i + 1}: ${JSON.stringify(m)}`);
  } finally {
    await stack.stop();
  }
}

const fmt = (xs: number[]) => {
  const s = stats(xs);
  return `${(s.p50 / 1000).toFixed(1)} s (min ${(s.min / 1000).toFixed(1)}, max ${(s.max / 1000).toFixed(1)})`;
};
const row = (label: string, ms: Marks[]) =>
  `| ${label} | ${fmt(ms.map((m) => m.podsReady))} | ${fmt(ms.map((m) => m.firstAnswer))} | ${fmt(ms.map((m) => m.workspaceReady))} |`;
const report = [
  ...resultHeader(),
  `Standard topology (config/samples: 2 etcd, RootShard and Shard with 2 replicas each, FrontProxy with 2), ${runs} runs each, p50 (min, max) from apply:`,
  '',
  '| | all kcp Pods ready | first `get workspaces` through the front-proxy | first workspace Ready |',
  '|---|---|---|---|',
  row('with the operator (samples applied)', results.operator),
  row("floor: kcp's own boot (operator's output applied at once, no operator)", results.floor),
  '',
  `Operator overhead on the first workspace Ready (p50 difference): ${((stats(results.operator.map((m) => m.workspaceReady)).p50 - stats(results.floor.map((m) => m.workspaceReady)).p50) / 1000).toFixed(1)} s.`,
  '',
].join('\n');
appendFileSync(path.join(repoRoot, 'test/bench/results/kcp-bringup.md'), report);
console.log(report);
process.exit(0);
