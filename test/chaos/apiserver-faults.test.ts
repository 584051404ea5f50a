// Issue 14, item 3: API server faults while a topology converges. The operator runs as a real
// process (src/main.ts under tsx) against its own control plane (real etcd + kube-apiserver), and
// the test breaks the API server under it, round after round:
//   restart     kube-apiserver stopped and started again (watches break; state survives);
//   compaction  while the server is down, a Secret is deleted behind its back in etcd and etcd is
//               compacted past the operator's resourceVersions: its watches get 410 Gone, and only a
//               relist reveals the deletion;
//   throttle    the server restarted with priority-and-fairness off and tiny max-inflight limits,
//               a parallel client loading it: requests get 429 with Retry-After;
//   outage      the server away for 30 s.
// Before each fault the test changes the topology (a new Kubeconfig, a new Shard replica count);
// after it, everything must converge (Deployments, Secrets, Kubeconfig Secrets, conditions), the
// changes must have landed, and the operator must be the same process (same pid, never exited).
// The sync sidecar runs beside it on the same control plane (api-sidecar.ts): sources replicated
// into three namespaces, changed steadily through every fault; after each fault its replicas must
// match the sources, nothing foreign touched, and it too must be the same process.
// Recovery = from the API being back (readyz) to converged, for each process (both are measured
// at once, with the source changes paused); recorded, never asserted as a time.
// No kube-controller-manager or kubelet runs here: the convergence check stands in for them by
// marking each Deployment's current generation available.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadKubeconfigFile } from '../../src/kube/kubeconfig.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SHARD_REPLICAS } from '../../src/api/shard-common.js';
import { FrontProxies, Kubeconfigs, RootShards, Shards } from '../../src/controllers/context.js';
import { KubeClient } from '../../src/kube/client.js';
import { isNotFound } from '../../src/kube/errors.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Deployments, Namespaces, Secrets, type ResourceType } from '../../src/kube/resources.js';
import { repoRoot } from '../../local/binaries.js';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.js';
import { builtInPkiRootShard, fixture, markDeploymentAvailable } from '../integration/fixtures.js';
import { eventually } from '../integration/helpers.js';
import { SYNC_DESTS, SYNC_NS, SYNC_SRC, SyncUnderFaults } from './api-sidecar.js';
import { collectClusterTexts, collectPrivateKeys, findLeaks } from './leak-scan.js';
import { seededRandom } from './seed.js';

type Cond = { type: string; status: string; reason?: string };
const conditions = (o: KubeObject): Cond[] => (o.status as { conditions?: Cond[] } | undefined)?.conditions ?? [];
const statusOf = (o: KubeObject, type: string) => conditions(o).find((c) => c.type === type)?.status;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);

type Fault = 'restart' | 'compaction' | 'throttle' | 'outage';
const GOAL_MS = 5000;
const OUTAGE_MS = 30_000;
/** Sources changed at once right before the server goes away, so the sidecar is mid-write. */
const BURST = 12;
// Every API server flag that makes it answer 429: APF off (it would queue instead), and limits
// so low that a handful of parallel requests exceed them. system:masters is exempt from these
// limits, which is why the operator and the load run as ordinary users.
const THROTTLE_ARGS = ['--enable-priority-and-fairness=false', '--max-requests-inflight=2', '--max-mutating-requests-inflight=1'];
const FRONT_PROXY_DEPLOYMENT = 'frontproxy-sample-front-proxy';
const ROOT_DEPLOYMENT = 'shard-sample-kcp';
const SHARD_DEPLOYMENT = 'secondary-shard-shard-kcp';

interface Round {
  fault: Fault;
  faultMs: number;
  recoveryMs: number;
  syncRecoveryMs: number;
  throttled429?: { load: number; operator: number; sidecar: number };
  etcdDeleted?: string[];
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

describe('API server faults during convergence', () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let operator: ChildProcess;
  let operatorPid: number | undefined;
  let operatorExit: string | undefined;
  const operatorOut: string[] = [];
  const ns = 'api-faults';
  const kubeconfigs: string[] = [];
  let shardReplicas = DEFAULT_SHARD_REPLICAS;
  const rounds: Round[] = [];
  const random = seededRandom(SEED);
  let sync: SyncUnderFaults;

  const kubeconfig = (name: string): KubeObject => {
    const kc = fixture('operator.kcp.io_v1alpha1_kubeconfig_rootshard.yaml', ns);
    kc.metadata = { name, namespace: ns };
    Object.assign(kc.spec as Record<string, unknown>, { username: name, secretRef: { name: `${name}-kubeconfig` } });
    return kc;
  };

  /** Something to converge: a new Kubeconfig and a new replica count for the Shard. */
  async function change(tag: string): Promise<void> {
    const name = `kc-${tag}`;
    await admin.create(Kubeconfigs, kubeconfig(name));
    kubeconfigs.push(name);
    shardReplicas = 1 + ((shardReplicas + Math.floor(random() * 2)) % 3);
    await admin.patch(Shards, ns, 'secondary-shard', { spec: { replicas: shardReplicas } }, 'merge');
  }

  /** What is not converged yet (empty when everything is); acts as the Deployment controller. */
  async function missing(): Promise<string[]> {
    const out: string[] = [];
    for (const d of [ROOT_DEPLOYMENT, SHARD_DEPLOYMENT, FRONT_PROXY_DEPLOYMENT]) {
      const dep = await admin.get(Deployments, ns, d).catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
      if (!dep) {
        out.push(`Deployment ${d}`);
        continue;
      }
      const st = dep.status as { observedGeneration?: number; availableReplicas?: number } | undefined;
      const want = (dep.spec as { replicas?: number }).replicas ?? 1;
      if (st?.observedGeneration !== dep.metadata.generation || st?.availableReplicas !== want) await markDeploymentAvailable(admin, ns, d);
      if (d === SHARD_DEPLOYMENT && want !== shardReplicas) out.push(`Deployment ${d} replicas ${want} != ${shardReplicas}`);
    }
    for (const [r, name] of [
      [RootShards, 'shard-sample'],
      [Shards, 'secondary-shard'],
      [FrontProxies, 'frontproxy-sample'],
    ] as Array<[ResourceType, string]>) {
      const o = await admin.get(r, ns, name);
      const observed = (o.status as { observedGeneration?: number } | undefined)?.observedGeneration;
      if (observed !== o.metadata.generation) out.push(`${r.kind} ${name} observedGeneration ${observed} != ${o.metadata.generation}`);
      for (const c of ['CertificatesReady', 'Available']) if (statusOf(o, c) !== 'True') out.push(`${r.kind} ${name} ${c}=${statusOf(o, c)}`);
    }
    const secrets = new Set((await admin.list(Secrets, { namespace: ns })).items.map((s) => s.metadata.name));
    for (const s of ['shard-sample-ca', 'shard-sample-server', 'secondary-shard-server', 'shard-sample-frontproxy-sample-server']) {
      if (!secrets.has(s)) out.push(`Secret ${s}`);
    }
    const kcs = new Map((await admin.list(Kubeconfigs, { namespace: ns })).items.map((k) => [k.metadata.name, k]));
    for (const name of kubeconfigs) {
      const kc = kcs.get(name);
      if (!secrets.has(`${name}-kubeconfig`)) out.push(`Secret ${name}-kubeconfig`);
      if (!kc || statusOf(kc, 'Available') !== 'True' || (kc.status as { phase?: string } | undefined)?.phase !== 'Ready') out.push(`Kubeconfig ${name} not Ready`);
    }
    return out;
  }

  async function converged(what: string, timeoutMs = 120_000, left: () => Promise<string[]> = missing): Promise<void> {
    let last: string[] = [];
    try {
      await eventually(
        what,
        async () => {
          last = await left();
          return last.length === 0;
        },
        timeoutMs,
      );
    } catch (err) {
      throw new Error(`${String(err)}; still missing: ${last.join('; ')}`);
    }
  }

  function assertSameProcess(): void {
    expect(operatorExit, 'the operator exited').toBeUndefined();
    expect(operator.pid).toBe(operatorPid);
    expect(operator.exitCode).toBeNull();
    expect(sync.processChanged()).toBeUndefined();
  }

  async function operator429s(): Promise<number> {
    const line = operatorOut.join('').split('\n').find((l) => l.includes('serving /healthz'));
    return count429s(line ? (JSON.parse(line) as { port: number }).port : undefined);
  }

  async function count429s(port: number | undefined): Promise<number> {
    if (!port) return NaN;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('rest_client_requests_total{') && l.includes('code="429"'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  }

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'api-faults' });
    admin = await cp.client('api-faults-test');
    await admin.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    // Ordinary users (not system:masters, which max-inflight never throttles) with every right.
    for (const user of ['chaos-operator', 'chaos-load']) {
      await admin.request({
        method: 'POST',
        path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
        body: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: user },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
        },
      });
    }
    const kubeconfigPath = await cp.kubeconfigFor('chaos-operator');
    operator = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/main.ts'), `--kubeconfig=${kubeconfigPath}`, `--namespace=${ns}`, '--health-probe-bind-address=127.0.0.1:0'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    operatorPid = operator.pid;
    operator.stdout?.on('data', (c: Buffer) => operatorOut.push(c.toString()));
    operator.stderr?.on('data', (c: Buffer) => operatorOut.push(c.toString()));
    operator.on('exit', (code, signal) => (operatorExit = `code ${code} signal ${signal}`));

    await admin.create(RootShards, builtInPkiRootShard(ns));
    await admin.create(Shards, fixture('operator.kcp.io_v1alpha1_shard.yaml', ns));
    await admin.create(FrontProxies, fixture('operator.kcp.io_v1alpha1_frontproxy.yaml', ns));
    for (let i = 0; i < 3; i++) {
      await admin.create(Kubeconfigs, kubeconfig(`kc-initial-${i}`));
      kubeconfigs.push(`kc-initial-${i}`);
    }
    sync = new SyncUnderFaults(cp, admin, seededRandom(SEED + 1));
    await sync.start();
  });

  afterAll(async () => {
    // Kept for a look after a failure (the run's keys die with the control plane).
    const logFile = path.join(os.tmpdir(), `api-faults-operator-${SEED}.log`);
    await writeFile(logFile, operatorOut.join('')).catch(() => undefined);
    const syncLog = path.join(os.tmpdir(), `api-faults-sidecar-${SEED}.log`);
    await writeFile(syncLog, (sync ? sync.texts() : []).map((t) => t.text).join('')).catch(() => undefined);
    console.log(`[api-faults] operator log: ${logFile}, sidecar log: ${syncLog}`);
    if (sync) await sync.stop();
    if (operator && operator.exitCode === null) {
      operator.kill('SIGTERM');
      await Promise.race([new Promise((r) => operator.once('exit', r)), sleep(10_000)]);
      if (operator.exitCode === null) operator.kill('SIGKILL');
    }
    admin?.close();
    await cp?.stop();
  });

  /** Parallel load as an ordinary user until stopped; counts the 429s it gets. */
  async function startLoad(workers: number): Promise<{ stop(): Promise<number>; count(): number }> {
    const loadKc = loadKubeconfigFile(await cp.kubeconfigFor('chaos-load'));
    const load = await KubeClient.fromKubeConfig(loadKc, { userAgent: 'chaos-load', qps: 0 });
    let n429 = 0;
    load.onRequest = (_verb, code) => {
      if (code === 429) n429++;
    };
    let stopped = false;
    const loop = async (w: number) => {
      for (let i = 0; !stopped; i++) {
        const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `load-${w}`, namespace: 'default' }, data: { i: String(i) } };
        await load.apply(ConfigMaps, cm, 'chaos-load').catch(() => undefined);
        await load.list(ConfigMaps, { namespace: 'default' }).catch(() => undefined);
      }
    };
    const running = Array.from({ length: workers }, (_, w) => loop(w));
    return {
      count: () => n429,
      stop: async () => {
        stopped = true;
        await Promise.all(running);
        load.close();
        return n429;
      },
    };
  }

  async function runFault(fault: Fault, tag: string): Promise<Round> {
    sync.resume();
    await change(tag);
    const started = Date.now();
    let back: number;
    let throttled429: Round['throttled429'];
    let etcdDeleted: string[] | undefined;
    switch (fault) {
      case 'restart':
        await sync.burst(BURST);
        await cp.restartApiServer();
        back = Date.now();
        break;
      case 'outage':
        await sync.burst(BURST);
        await cp.stopApiServer();
        await sleep(OUTAGE_MS);
        await cp.startApiServer();
        back = Date.now();
        break;
      case 'compaction': {
        // Wait for the operator to have written the new Kubeconfig's Secret, then take the server
        // away, delete that Secret in etcd and compact: the operator's next watch is 410 Gone.
        const victim = `${kubeconfigs[kubeconfigs.length - 1]}-kubeconfig`;
        await eventually(`${victim} written`, () => admin.get(Secrets, ns, victim).then(() => true), 60_000);
        // The sidecar's: a source and a replica, deleted in etcd too.
        const syncVictims = await sync.etcdVictims();
        await sync.burst(BURST);
        await cp.stopApiServer();
        const del = (await cp.etcdRequest('/v3/kv/deleterange', { key: b64(`/registry/secrets/${ns}/${victim}`) })) as { deleted?: string };
        expect(del.deleted, `${victim} deleted in etcd`).toBe('1');
        etcdDeleted = [];
        for (const v of syncVictims) {
          const d = (await cp.etcdRequest('/v3/kv/deleterange', { key: b64(v.key) })) as { deleted?: string };
          if (d.deleted !== '1') continue; // the driver deleted it a moment before
          v.deleted();
          etcdDeleted.push(v.what);
        }
        let rev = '0';
        for (let i = 0; i < 5; i++) {
          const put = (await cp.etcdRequest('/v3/kv/put', { key: b64(`/chaos/${tag}/${i}`), value: b64('x') })) as { header: { revision: string } };
          rev = put.header.revision;
        }
        await cp.etcdRequest('/v3/kv/compaction', { revision: rev, physical: true });
        await cp.startApiServer();
        back = Date.now();
        break;
      }
      case 'throttle': {
        cp.apiServerArgs = THROTTLE_ARGS;
        await cp.restartApiServer();
        const load = await startLoad(24);
        const before = await operator429s();
        const syncBefore = await count429s(sync.port);
        try {
          await eventually('the load gets 429s', () => load.count() > 0, 60_000);
          // The change lands while the server is throttling everyone but system:masters (the
          // test's own client, and so the sidecar's driver, are among those).
          await change(`${tag}-throttled`);
          back = Date.now();
          await converged(`converged under throttling (${tag})`);
          await sync.pause();
          await converged(`sidecar converged under throttling (${tag})`, 120_000, () => sync.missing());
          sync.resume();
        } finally {
          const n = await load.stop();
          throttled429 = { load: n, operator: (await operator429s()) - before, sidecar: (await count429s(sync.port)) - syncBefore };
          cp.apiServerArgs = [];
          await cp.restartApiServer();
        }
        // Recovery after throttling is measured from the unthrottled server being back.
        back = Date.now();
        break;
      }
    }
    // Both processes measured at once, from the same instant, against a fixed target: the
    // sidecar's sources stop changing while it catches up.
    await sync.pause();
    const timed = async (what: string, left?: () => Promise<string[]>) => {
      await converged(what, 120_000, left);
      return Date.now() - back;
    };
    const [op, sy] = await Promise.allSettled([
      timed(`operator converged after ${fault} (${tag})`),
      timed(`sidecar converged after ${fault} (${tag})`, () => sync.missing()),
    ]);
    const failed = [op, sy].flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    if (failed.length > 0) throw new Error(failed.join('\n'));
    const ms = (r: PromiseSettledResult<number>) => (r.status === 'fulfilled' ? r.value : NaN);
    const round: Round = { fault, faultMs: back - started, recoveryMs: ms(op), syncRecoveryMs: ms(sy), throttled429, etcdDeleted };
    assertSameProcess();
    console.log(
      `[api-faults] ${tag} ${fault}: back at ${new Date(back).toISOString()} (for the logs), fault ${round.faultMs} ms, recovery operator ${round.recoveryMs} ms sidecar ${round.syncRecoveryMs} ms${throttled429 ? `, 429s load ${throttled429.load} operator ${throttled429.operator} sidecar ${throttled429.sidecar}` : ''}${etcdDeleted ? `, deleted in etcd: ${etcdDeleted.join(', ')}` : ''}`,
    );
    return round;
  }

  it('operator and sidecar converge after restarts, 410 Gone, 429 throttling and a 30 s outage, each in one process, losing nothing', async () => {
    console.log(`[api-faults] seed ${SEED} (CHAOS_SEED overrides)`);
    await converged('initial convergence', 90_000);
    await converged('sidecar initial convergence', 90_000, () => sync.missing());
    assertSameProcess();

    const faults: Fault[] = ['restart', 'restart', 'restart', 'compaction', 'compaction', 'throttle'];
    for (let i = faults.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [faults[i], faults[j]] = [faults[j]!, faults[i]!];
    }
    faults.push('outage');
    for (const [i, f] of faults.entries()) rounds.push(await runFault(f, `r${i}`));

    // Nothing lost: every Kubeconfig made around a fault has its Secret, the Shard its replicas;
    // every source its replicas, and nothing foreign touched by the sidecar.
    expect(await missing()).toEqual([]);
    await sync.pause();
    expect(await sync.missing()).toEqual([]);
    expect(await sync.touched(), 'foreign objects the sidecar changed').toEqual([]);
    console.log(`[api-faults] sidecar: source ops ${JSON.stringify(sync.ops)}, ${sync.sourceCount()} sources`);
    const throttle = rounds.find((r) => r.fault === 'throttle');
    expect(throttle?.throttled429?.load, 'the throttled server answered 429').toBeGreaterThan(0);

    // Leak scan: the operator's whole output, Events and statuses, against every key of the run.
    const keys = await collectPrivateKeys(admin, [ns, 'default', SYNC_SRC]);
    const texts = [
      { source: 'operator log', text: operatorOut.join('') },
      ...sync.texts(),
      ...(await collectClusterTexts(admin, [ns, 'default', SYNC_NS, SYNC_SRC, ...SYNC_DESTS])),
    ];
    const leaks = findLeaks(texts, keys);
    console.log(`[api-faults] leak scan: ${texts.length} texts, ${keys.length} private keys, ${leaks.length} leaks`);
    expect(leaks).toEqual([]);
    expect(keys.length).toBeGreaterThan(5);

    const rec = rounds.map((r) => r.recoveryMs);
    const syncRec = rounds.map((r) => r.syncRecoveryMs);
    const byFault = (pick: (r: Round) => number) =>
      Object.fromEntries(
        [...new Set(rounds.map((r) => r.fault))].map((f) => {
          const xs = rounds.filter((r) => r.fault === f).map(pick);
          return [f, { n: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99), max: Math.max(...xs) }];
        }),
      );
    const summary = {
      seed: SEED,
      rounds,
      recoveryP50Ms: percentile(rec, 50),
      recoveryP99Ms: percentile(rec, 99),
      withinGoal: rounds.filter((r) => r.recoveryMs <= GOAL_MS).length,
      syncRecoveryP50Ms: percentile(syncRec, 50),
      syncRecoveryP99Ms: percentile(syncRec, 99),
      syncWithinGoal: rounds.filter((r) => r.syncRecoveryMs <= GOAL_MS).length,
      byFault: { operator: byFault((r) => r.recoveryMs), sidecar: byFault((r) => r.syncRecoveryMs) },
      syncOps: sync.ops,
      leaks: leaks.length,
      textsScanned: texts.length,
      keysScanned: keys.length,
    };
    console.log(`[api-faults] summary ${JSON.stringify(summary)}`);
    if (process.env.CHAOS_RESULTS_DIR) {
      await mkdir(process.env.CHAOS_RESULTS_DIR, { recursive: true });
      await writeFile(path.join(process.env.CHAOS_RESULTS_DIR, `api-faults-${SEED}.json`), JSON.stringify(summary, null, 2));
    }
    assertSameProcess();
  });
});
