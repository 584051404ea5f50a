// Issue 14, item 1: the operator, as a real process (compiled JS), is killed with SIGKILL 50 times
// at random points while the full topology (RootShard, 2 Shards, FrontProxy, CacheServer, 20
// Kubeconfigs) converges, and restarted each time. The kill points are drawn (seeded PRNG, seed
// printed, CHAOS_SEED overrides) from [W, T]: W and T are when one uninterrupted operator made its
// first write and when it had converged the same topology, in a reference namespace in this run.
// After each trial's last restart it must reach the reference's state, with no CA regenerated, no orphaned object, no write on one
// more restart, no reconcile at rest, and no private key in any log, Event or status.
//
// Stand-ins: the control plane runs no kube-controller-manager and no kubelet, so a loop here marks
// each Deployment's current generation available (markDeploymentAvailable), as topology-full does.
// No kcp runs: the operator only renders and applies, which is what a kill can break.
//
// So that every kill has work to interrupt, the kills are spread over 25 fresh namespaces, two
// kills each; the test prints how many kills left work behind and fails if none did.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { CacheServers, FrontProxies, Kubeconfigs, RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Deployments, PodDisruptionBudgets, Secrets, ServiceAccounts, Services, type ResourceType } from '../../src/kube/resources.js';
import { repoRoot } from '../../local/binaries.js';
import { freePort } from '../../local/ports.js';
import type { AuditEvent } from '../../local/control-plane.js';
import { createNamespace, eventually, sharedClient } from '../integration/helpers.js';
import { builtInPkiRootShard, fixture, markDeploymentAvailable } from '../integration/fixtures.js';
import { collectClusterTexts, collectPrivateKeys, findLeaks, type Text } from './leak-scan.js';
import { seededRandom } from './seed.js';

const KILLS = Number(process.env.CHAOS_KILLS ?? 50);
const KILLS_PER_TRIAL = 2;
const TRIALS = Math.ceil(KILLS / KILLS_PER_TRIAL);
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const KUBECONFIGS = 20;
const REST_WINDOW_MS = 20_000;
// The compiled operator: starting it under tsx costs seconds per start, fifty-two times.
const DIST = path.join(repoRoot, '.cache', 'chaos-operator-dist');
const OPERATOR_UA = 'kcp-operator/';


type Cond = { type: string; status: string; reason: string };
const conditions = (o: KubeObject): Cond[] => (o.status as { conditions?: Cond[] } | undefined)?.conditions ?? [];
const CR_KINDS: ResourceType[] = [RootShards, Shards, FrontProxies, CacheServers, Kubeconfigs];
// Everything the operator renders into a namespace.
const CHILD_KINDS: ResourceType[] = [Secrets, ConfigMaps, Services, ServiceAccounts, Deployments, PodDisruptionBudgets];

function topology(ns: string): Array<[ResourceType, KubeObject]> {
  const fp = fixture('operator.kcp.io_v1alpha1_frontproxy.yaml', ns);
  // The sample pins one clusterIP; two namespaces on one cluster cannot both have it.
  delete (fp.spec as { serviceTemplate: { spec: Record<string, unknown> } }).serviceTemplate.spec.clusterIP;
  const third = fixture('operator.kcp.io_v1alpha1_shard.yaml', ns);
  third.metadata.name = 'third-shard';
  const targets = [{ frontProxyRef: { name: 'frontproxy-sample' } }, { rootShardRef: { name: 'shard-sample' } }, { shardRef: { name: 'secondary-shard' } }, { shardRef: { name: 'third-shard' } }];
  const kubeconfigs = Array.from({ length: KUBECONFIGS }, (_, i) => {
    const kc = fixture('operator.kcp.io_v1alpha1_kubeconfig.yaml', ns);
    kc.metadata.name = `kc-${i}`;
    Object.assign(kc.spec as object, { secretRef: { name: `kc-${i}-kubeconfig` }, target: targets[i % targets.length] });
    return [Kubeconfigs, kc] as [ResourceType, KubeObject];
  });
  return [
    [RootShards, builtInPkiRootShard(ns)],
    [Shards, fixture('operator.kcp.io_v1alpha1_shard.yaml', ns)],
    [Shards, third],
    [FrontProxies, fp],
    [CacheServers, fixture('operator.kcp.io_v1alpha1_cacheserver.yaml', ns)],
    ...kubeconfigs,
  ];
}

interface OperatorRun {
  child: ChildProcess;
  port: number;
  startedAt: number;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startOperatorProcess(ns: string, logs: Text[]): Promise<OperatorRun> {
  return freePort().then((port) => {
    const child = spawn(
      process.execPath,
      [path.join(DIST, 'src', 'main.js'), `--kubeconfig=${inject('kubeconfigPath')}`, `--namespace=${ns}`, `--health-probe-bind-address=127.0.0.1:${port}`],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
    );
    const log: Text = { source: `operator run ${logs.length} (${ns})`, text: '' };
    logs.push(log);
    child.stdout?.on('data', (d: Buffer) => (log.text += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log.text += d.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    return { child, port, startedAt: Date.now(), exit };
  });
}

async function metric(run: OperatorRun, name: string): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${run.port}/metrics`).catch(() => undefined);
  if (!res?.ok) return undefined;
  let sum = 0;
  for (const line of (await res.text()).split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
const reconciles = (run: OperatorRun) => metric(run, 'controller_runtime_reconcile_total');

/** Every CR Available=True for its current generation. */
async function converged(client: KubeClient, ns: string): Promise<boolean> {
  for (const r of CR_KINDS) {
    for (const o of (await client.list(r, { namespace: ns })).items) {
      const available = conditions(o).find((c) => c.type === 'Available');
      if (available?.status !== 'True') return false;
      if ((o.status as { observedGeneration?: number } | undefined)?.observedGeneration !== o.metadata.generation) return false;
    }
  }
  return true;
}

/** The kube-controller-manager and kubelet stand-in: every Deployment's current generation is up. */
function deploymentStandIn(client: KubeClient, ns: string): { stop(): Promise<void>; writes: () => number } {
  let stopped = false;
  let writes = 0;
  const loop = (async () => {
    while (!stopped) {
      try {
        for (const d of (await client.list(Deployments, { namespace: ns })).items) {
          const st = d.status as { observedGeneration?: number; availableReplicas?: number } | undefined;
          const replicas = (d.spec as { replicas?: number }).replicas ?? 1;
          if (st?.observedGeneration !== d.metadata.generation || st?.availableReplicas !== replicas) {
            await markDeploymentAvailable(client, ns, d.metadata.name ?? '');
            writes++;
          }
        }
      } catch {
        // A Deployment replaced between list and patch: the next round sees it.
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return { stop: () => ((stopped = true), loop), writes: () => writes };
}

/**
 * What "the same final state" means across two namespaces: kinds and names, labels, owner
 * references (kind/name/controller), Secret types and key sets, ConfigMap data, Service and
 * Deployment specs, and each CR's conditions (type/status/reason) and phase. The namespace name
 * and hash-like values (checksums, fingerprints) are replaced by placeholders; cluster IPs and node ports dropped.
 */
async function normalizedState(client: KubeClient, ns: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const r of [...CR_KINDS, ...CHILD_KINDS]) {
    for (const o of (await client.list<KubeObject & { data?: Record<string, string>; type?: string }>(r, { namespace: ns })).items) {
      const view: Record<string, unknown> = {
        labels: o.metadata.labels ?? {},
        annotations: o.metadata.annotations ?? {},
        owners: (o.metadata.ownerReferences ?? []).map((ref) => `${ref.kind}/${ref.name}${ref.controller ? ' (controller)' : ''}`).sort(),
      };
      if (CR_KINDS.includes(r)) {
        view.conditions = conditions(o).map((c) => `${c.type}=${c.status} ${c.reason}`).sort();
        view.phase = (o.status as { phase?: string } | undefined)?.phase;
      } else if (r === Secrets) {
        view.type = o.type;
        view.keys = Object.keys(o.data ?? {}).sort();
      } else if (r === ConfigMaps) {
        view.data = o.data;
      } else if (r === Services) {
        // Addresses and node ports are the API server's allocations, different in each namespace.
        const { clusterIP: _ip, clusterIPs: _ips, healthCheckNodePort: _hc, ports, ...spec } = o.spec as Record<string, unknown> & { ports?: Array<Record<string, unknown>> };
        view.spec = { ...spec, ports: (ports ?? []).map(({ nodePort: _np, ...p }) => p) };
      } else {
        view.spec = o.spec;
      }
      out[`${r.kind}/${o.metadata.name}`] = view;
    }
  }
  const text = JSON.stringify(out)
    .replaceAll(ns, '<namespace>')
    .replace(/\b[0-9a-f]{16,}\b/g, '<hash>');
  return JSON.parse(text) as Record<string, unknown>;
}

/** CA Secrets by name: uid and the SHA-256 of the certificate. */
async function caFingerprints(client: KubeClient, ns: string): Promise<Map<string, { uid: string; fingerprint: string }>> {
  const out = new Map<string, { uid: string; fingerprint: string }>();
  for (const s of (await client.list<KubeObject & { data?: Record<string, string> }>(Secrets, { namespace: ns })).items) {
    const pem = Buffer.from(s.data?.['tls.crt'] ?? '', 'base64').toString();
    if (!pem.includes('BEGIN CERTIFICATE')) continue;
    let isCA = false;
    try {
      isCA = new X509Certificate(pem).ca;
    } catch {
      continue;
    }
    if (isCA) out.set(s.metadata.name ?? '', { uid: s.metadata.uid ?? '', fingerprint: createHash('sha256').update(pem).digest('hex') });
  }
  return out;
}

async function auditedOperatorWrites(ns: string, since: number): Promise<AuditEvent[]> {
  const text = await readFile(inject('auditLogPath'), 'utf8').catch(() => '');
  const out: AuditEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const ev = JSON.parse(line) as AuditEvent;
    if (ev.stage !== 'ResponseComplete' || !ev.userAgent?.startsWith(OPERATOR_UA) || ev.objectRef?.namespace !== ns) continue;
    if (!['create', 'update', 'patch', 'delete', 'deletecollection'].includes(ev.verb)) continue;
    if (Date.parse(ev.requestReceivedTimestamp) < since) continue;
    out.push(ev);
  }
  return out;
}

async function stop(run: OperatorRun | undefined): Promise<void> {
  if (run && run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill('SIGKILL');
    await run.exit;
  }
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

describe('random kill -9 of the operator during convergence', () => {
  let client: KubeClient;
  const logs: Text[] = [];
  const namespaces: string[] = [];
  let current: OperatorRun | undefined;
  const standIns: Array<ReturnType<typeof deploymentStandIn>> = [];

  beforeAll(() => {
    execFileSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', DIST], { cwd: repoRoot, stdio: 'inherit' });
  });
  beforeAll(async () => {
    client = await sharedClient('operator-kill-test');
  });
  afterAll(async () => {
    await stop(current);
    for (const s of standIns) await s.stop();
    client?.close();
  });

  it(`${KILLS} SIGKILLs mid-convergence, ${KILLS_PER_TRIAL} in each of ${TRIALS} fresh topologies: each converges to the uninterrupted run's state, and holds`, async () => {
    console.log(`operator-kill: CHAOS_SEED=${SEED} kills=${KILLS} trials=${TRIALS}`);
    const random = seededRandom(SEED);

    // 1. Reference: one uninterrupted run; its convergence time is the window kills are drawn from.
    const refNs = await createNamespace(client, 'opkill-ref');
    namespaces.push(refNs);
    const refStandIn = deploymentStandIn(client, refNs);
    standIns.push(refStandIn);
    for (const [r, o] of topology(refNs)) await client.create(r, o);
    current = await startOperatorProcess(refNs, logs);
    await eventually('reference converged', () => converged(client, refNs), 120_000);
    const windowMs = Date.now() - current.startedAt;
    // Kills are drawn from the part of that window in which the operator writes: before its first
    // write it is still starting (caches syncing), and a kill there interrupts nothing.
    const refWrites = await auditedOperatorWrites(refNs, current.startedAt);
    const firstWriteMs = Math.max(0, Math.min(windowMs, ...refWrites.map((w) => Date.parse(w.requestReceivedTimestamp) - current!.startedAt)));
    await settle(current);
    const reference = await normalizedState(client, refNs);
    const refCAs = await caFingerprints(client, refNs);
    await stop(current);
    await refStandIn.stop();
    console.log(`operator-kill: reference converged in ${windowMs} ms, first write at ${firstWriteMs} ms; ${Object.keys(reference).length} objects, ${refCAs.size} CAs`);

    // 2. Chaos. A kill must land while there is work left, so each trial starts from a fresh
    // namespace holding the whole topology: the operator is killed KILLS_PER_TRIAL times at points
    // drawn from the reference's writing window after its start, then one last run converges it and the trial is
    // compared with the reference. (Killing one namespace 50 times would converge it within the
    // first few runs and leave the later kills nothing to interrupt.)
    const chaosStart = Date.now();
    const regenerations: string[] = [];
    const orphans: string[] = [];
    const kills: Array<{ trial: number; afterStartMs: number; alive: boolean; startedAt: number; ns: string }> = [];
    const convergenceMs: number[] = [];
    let owned = 0;
    let tracked = 0;
    let lastNs = '';
    for (let trial = 0; trial < TRIALS; trial++) {
      const ns = await createNamespace(client, `opkill-${trial}`);
      namespaces.push(ns);
      lastNs = ns;
      const standIn = deploymentStandIn(client, ns);
      standIns.push(standIn);
      for (const [r, o] of topology(ns)) await client.create(r, o);
      const firstSeen = new Map<string, { uid: string; fingerprint: string }>();
      const watchCAs = async () => {
        for (const [name, now] of await caFingerprints(client, ns)) {
          const before = firstSeen.get(name);
          if (!before) firstSeen.set(name, now);
          else if (before.uid !== now.uid || before.fingerprint !== now.fingerprint) regenerations.push(`${ns}/${name}`);
        }
        for (const name of firstSeen.keys()) if (!(await client.get(Secrets, ns, name).catch(() => undefined))) regenerations.push(`${ns}/${name} (deleted)`);
      };
      for (let k = 0; k < KILLS_PER_TRIAL; k++) {
        current = await startOperatorProcess(ns, logs);
        const delay = Math.floor(firstWriteMs + random() * (windowMs - firstWriteMs));
        await new Promise((r) => setTimeout(r, delay));
        const alive = current.child.exitCode === null && current.child.signalCode === null;
        current.child.kill('SIGKILL');
        kills.push({ trial, afterStartMs: delay, alive, startedAt: current.startedAt, ns });
        await current.exit;
        await watchCAs();
      }
      // The last run of the trial: converge, then compare. Soft checks from here on, so a run
      // reports every property that broke, not only the first.
      current = await startOperatorProcess(ns, logs);
      // Converged means the reference's state, conditions included: a condition that follows a
      // Deployment (ProxyAvailable) may trail Available by a reconcile, so wait for all of it.
      let state: Record<string, unknown> | undefined;
      const same = await eventually(
        `trial ${trial} reached the reference's state after its last restart`,
        async () => (await converged(client, ns)) && JSON.stringify((state = await normalizedState(client, ns))) === JSON.stringify(reference),
        60_000,
      ).catch(() => false);
      if (same) convergenceMs.push(Date.now() - current.startedAt);
      await watchCAs();
      tracked += firstSeen.size;
      expect.soft([...firstSeen.keys()].sort(), `trial ${trial}: CA Secrets`).toEqual([...refCAs.keys()].sort());
      expect.soft(state ?? (await normalizedState(client, ns)), `trial ${trial}: state`).toEqual(reference);

      // No orphans: everything the operator made has a live owner. CA Secrets are the exception
      // by design (they carry no ownerReference so that deleting an owner never loses a CA).
      const live = new Set<string>();
      for (const r of CR_KINDS) for (const o of (await client.list(r, { namespace: ns })).items) live.add(o.metadata.uid ?? '');
      for (const r of CHILD_KINDS) {
        for (const o of (await client.list(r, { namespace: ns })).items) {
          const byOperator = (o.metadata.managedFields ?? []).some((m) => m.manager?.startsWith('kcp-operator')) || o.metadata.labels?.['app.kubernetes.io/managed-by'] === 'kcp-operator';
          if (!byOperator || (r === Secrets && firstSeen.has(o.metadata.name ?? ''))) continue;
          owned++;
          if (!(o.metadata.ownerReferences ?? []).some((ref) => live.has(ref.uid))) orphans.push(`${ns}/${r.kind}/${o.metadata.name}`);
        }
      }
      if (trial < TRIALS - 1) await stop(current);
      await standIn.stop();
    }
    const chaosEnd = Date.now();
    // A process that died on its own before its kill crashed: that is a bug, not a kill.
    expect(kills.filter((k) => !k.alive), 'operator processes that exited before being killed').toEqual([]);
    expect.soft(regenerations, 'CA Secrets regenerated or deleted').toEqual([]);
    expect.soft(orphans, 'objects without a live owner').toEqual([]);

    // Did the kills land mid-convergence? A kill left work behind when the next run of the same
    // trial wrote something. How many did depends on the machine's load (a slow start-up moves the
    // writes later), so that count is a figure; a run where none did would test nothing.
    const chaosWrites = (await Promise.all([...new Set(kills.map((k) => k.ns))].map((n) => auditedOperatorWrites(n, chaosStart)))).flat();
    const writesOf = (ns: string, from: number, to: number) => chaosWrites.filter((w) => w.objectRef?.namespace === ns && Date.parse(w.requestReceivedTimestamp) >= from && Date.parse(w.requestReceivedTimestamp) < to).length;
    const writesPerRun = kills.map((k, i) => writesOf(k.ns, k.startedAt, kills[i + 1]?.ns === k.ns ? kills[i + 1]!.startedAt : chaosEnd));
    const leftWork = kills.filter((k, i) => writesOf(k.ns, kills[i + 1]?.ns === k.ns ? kills[i + 1]!.startedAt : k.startedAt + k.afterStartMs, chaosEnd) > 0).length;
    expect.soft(leftWork, 'kills after which the topology still needed writes').toBeGreaterThan(0);

    // 3. One more restart of the last converged topology writes nothing, and at rest nothing reconciles.
    await settle(current!);
    await stop(current);
    const restartedAt = Date.now();
    current = await startOperatorProcess(lastNs, logs);
    const crs = (await Promise.all(CR_KINDS.map((r) => client.list(r, { namespace: lastNs })))).reduce((n, l) => n + l.items.length, 0);
    await eventually('every CR reconciled after the restart', async () => ((await reconciles(current!)) ?? 0) >= crs, 60_000);
    await settle(current);
    const atRest0 = (await reconciles(current)) ?? NaN;
    await new Promise((r) => setTimeout(r, REST_WINDOW_MS));
    const atRest1 = (await reconciles(current)) ?? NaN;
    const perMinute = ((atRest1 - atRest0) * 60_000) / REST_WINDOW_MS;
    const writes = await auditedOperatorWrites(lastNs, restartedAt);
    expect.soft(writes.map((w) => `${w.verb} ${w.objectRef?.resource}/${w.objectRef?.name}${w.objectRef?.subresource ? `/${w.objectRef.subresource}` : ''}`), 'writes after a restart of the converged operator').toEqual([]);
    expect.soft(perMinute, 'reconciles per minute at rest').toBe(0);

    // 4. Leak scan: every operator log of every run, and the Events and statuses of every namespace.
    await stop(current);
    const keys = await collectPrivateKeys(client, namespaces);
    const texts = [...logs, ...(await collectClusterTexts(client, namespaces))];
    const leaks = findLeaks(texts, keys);

    const delays = kills.map((k) => k.afterStartMs);
    console.log(
      [
        `operator-kill: seed ${SEED}, ${kills.length} kills in ${TRIALS} trials, ${chaosEnd - chaosStart} ms, kill window ${firstWriteMs}–${windowMs} ms (the reference's first write to its convergence)`,
        `  kill delay after spawn (ms): min ${Math.min(...delays)} p25 ${quantile(delays, 0.25)} p50 ${quantile(delays, 0.5)} p75 ${quantile(delays, 0.75)} max ${Math.max(...delays)}`,
        `  operator writes per killed run: ${writesPerRun.join(' ')} (runs that wrote: ${writesPerRun.filter((n) => n > 0).length}/${kills.length}); kills that left work: ${leftWork}/${kills.length}`,
        `  convergence of each trial's last run (ms): p50 ${quantile(convergenceMs, 0.5)} p99 ${quantile(convergenceMs, 0.99)} max ${Math.max(...convergenceMs)}`,
        `  CAs tracked: ${tracked}, regenerations: ${regenerations.length}; operator-made objects checked for owners: ${owned}, orphans: ${orphans.length}`,
        `  writes after restart of the converged operator: ${writes.length}; reconciles at rest: ${atRest1 - atRest0} in ${REST_WINDOW_MS} ms (${perMinute}/min)`,
        `  leak scan: ${texts.length} texts (${logs.length} operator logs, ${logs.reduce((n, l) => n + l.text.length, 0)} chars), ${keys.length} private keys, ${leaks.length} leaks`,
      ].join('\n'),
    );
    expect.soft(leaks).toEqual([]);
  });
});

/**
 * Waits (30 s at most) until the operator's reconcile counter stops moving for 2 s: the tail of a
 * convergence. It never fails: an operator that never rests is what the at-rest assertion catches.
 */
async function settle(run: OperatorRun): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const before = await reconciles(run);
    await new Promise((r) => setTimeout(r, 2000));
    if (before !== undefined && before === (await reconciles(run))) return true;
  }
  return false;
}
