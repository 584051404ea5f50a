// Benchmark: a Shard on another cluster joining a RootShard (docs/federation.md), on real kcp
// v0.32.3, two control planes, operators and sidecars as processes (test/e2e/federation-topology.ts).
// From applying the Shard on the edge to the shard registered at the hub's root shard, split into
// the operators' and sidecars' part (request published, replicated, signed, answered, checked and
// mounted) and kcp's (the shard Pod booting and registering itself).
//   npx tsx test/bench/federation.bench.ts [runs]
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps } from '../../src/kube/resources.js';
import { repoRoot } from '../../local/binaries.js';
import { EDGE, edgeEtcd, edgeShard, HUB, startFederation } from '../e2e/federation-topology.js';
import { KcpUser } from '../e2e/kcp-user.js';
import { FRONT_PROXY_PORT, FRONT_PROXY_SERVICE } from '../e2e/topology.js';
import { resultHeader, stats } from './machine.js';

const runs = Number(process.argv[2] ?? 3);

interface Marks {
  requestPublished: number;
  requestOnHub: number;
  signed: number;
  responseOnEdge: number;
  mounted: number;
  podReady: number;
  registered: number;
}

const exists = async (c: KubeClient, ns: string, name: string, pred: (o: KubeObject) => boolean = () => true) => {
  try {
    return pred(await c.get(ConfigMaps, ns, name));
  } catch {
    return false;
  }
};

const fed = await startFederation('bench-fed');
const results: Marks[] = [];
try {
  const forward = await fed.hub.runner.forward(FRONT_PROXY_SERVICE, FRONT_PROXY_PORT);
  const admin = await KcpUser.fromSecret(fed.hub, 'kcp-admin-kubeconfig', forward.port);
  for (let i = 1; i <= runs; i++) {
    const shard = `edge-${i}`;
    await fed.edge.apply(edgeEtcd(shard));
    await fed.edge.kubectl(['-n', EDGE.namespace, 'rollout', 'status', `deployment/etcd-${shard}`, '--timeout=120s']);
    const m: Partial<Marks> = {};
    const t0 = Date.now();
    const mark = (k: keyof Marks) => (m[k] ??= Date.now() - t0);
    await fed.edge.apply([edgeShard(shard, {}, shard)]);
    const poll = setInterval(() => {
      void (async () => {
        if (!m.requestPublished && (await exists(fed.edge.admin, EDGE.namespace, `${shard}-join-request`))) mark('requestPublished');
        if (!m.requestOnHub && (await exists(fed.hub.admin, HUB.namespace, `${shard}-join-request`))) mark('requestOnHub');
        if (!m.signed && (await exists(fed.hub.admin, HUB.namespace, `${shard}-join-response`, (o) => ((o.data as Record<string, string>)['response.json'] ?? '').includes('"signed"')))) mark('signed');
        if (!m.responseOnEdge && (await exists(fed.edge.admin, EDGE.namespace, `${shard}-join-response`))) mark('responseOnEdge');
        if (!m.podReady && fed.edge.runner.podsOf(`${shard}-shard-kcp`).some((p) => p.ready)) mark('podReady');
      })();
    }, 20);
    try {
      for (;;) {
        const s = JSON.parse(await fed.edge.kubectl(['-n', EDGE.namespace, 'get', 'shard', shard, '-o', 'json'])) as { status?: { conditions?: Array<{ type: string; status: string }> } };
        if (s.status?.conditions?.some((c) => c.type === 'Joined' && c.status === 'True')) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      mark('mounted');
      while ((await admin.kubectl('root', ['get', 'shards.core.kcp.io', shard])).code !== 0) await new Promise((r) => setTimeout(r, 250));
      mark('registered');
      while (!m.podReady) await new Promise((r) => setTimeout(r, 50));
    } finally {
      clearInterval(poll);
    }
    console.log(`run ${i}: ${JSON.stringify(m)}`);
    results.push(m as Marks);
  }
  await forward.close();
} finally {
  await fed.stop();
}

const fmt = (k: keyof Marks) => {
  const s = stats(results.map((r) => r[k]));
  return `${s.p50} ms (min ${s.min}, max ${s.max})`;
};
const report = [
  ...resultHeader(),
  `A Shard applied on the edge cluster joins the hub's RootShard (1 replica each; hub: RootShard, FrontProxy, Kubeconfig already Available). ${runs} runs, a new shard (and etcd) each, p50 (min, max) from \`kubectl apply\` of the Shard; replica observations polled every 20 ms:`,
  '',
  '| step | time from apply |',
  '|---|---|',
  `| join request published on the edge (keys generated, CSRs signed) | ${fmt('requestPublished')} |`,
  `| request replicated to the hub (edge sidecar) | ${fmt('requestOnHub')} |`,
  `| request verified and signed on the hub | ${fmt('signed')} |`,
  `| response replicated to the edge (hub sidecar) | ${fmt('responseOnEdge')} |`,
  `| **certificates checked and mounted, Deployment written (\`Joined=True\`): operators + sidecars** | ${fmt('mounted')} |`,
  `| shard Pod ready (kcp boot) | ${fmt('podReady')} |`,
  `| **shard registered at the hub's root shard (\`kubectl get shards\` through the front-proxy)** | ${fmt('registered')} |`,
  '',
  `kcp's part (registered minus mounted), p50: ${stats(results.map((r) => r.registered - r.mounted)).p50} ms.`,
  '',
].join('\n');
appendFileSync(path.join(repoRoot, 'test/bench/results/federation.md'), report);
console.log(report);
process.exit(0);
