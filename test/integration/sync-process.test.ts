// The sidecar as a process (sync/main.ts under tsx), on its own real API server and under the RBAC
// from docs/sync.md: --help, probes and metrics, leader election with a standby that takes over,
// a SIGKILL in the middle of a burst followed by changes while nothing runs (a new instance must
// leave no orphan), one status write per source when its replicas take a while, and --dry-run
// printing a plan while writing nothing.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Leases, Namespaces, Secrets } from '../../src/kube/resources.js';
import { ACCEPT_LABEL, ORIGIN_CLUSTER_LABEL, SOURCE_LABEL, STATUS_ANNOTATION } from '../../sync/keys.js';
import { Informer } from '../../src/kube/informer.js';
import { startControlPlane, type ControlPlane } from '../../local/control-plane.js';
import { freePort } from '../../local/ports.js';
import { acceptingNamespace, b64, decoded, getOrUndefined, localIdentity, secretSource } from '../bench/sync-fixtures.js';
import { eventually } from './helpers.js';
import { spawnEntry } from '../../local/entry.js';

const SYNC_NS = 'kcp-sync';

interface Proc {
  child: ChildProcess;
  port: number;
  out: () => string;
  exited: Promise<number | null>;
}

const procs: ChildProcess[] = [];

async function spawnSidecar(kubeconfig: string, extra: string[] = []): Promise<Proc> {
  const port = await freePort();
  const child = spawnEntry(
    'sync/main.ts',
    [`--kubeconfig=${kubeconfig}`, `--namespace=${SYNC_NS}`, '--cluster-name=hub', `--health-probe-bind-address=127.0.0.1:${port}`, ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  procs.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, port, out: () => out, exited };
}

const get = async (p: Proc, route: string) => fetch(`http://127.0.0.1:${p.port}${route}`).catch(() => undefined);

describe('sync sidecar process', () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let kubeconfig: string;

  beforeAll(async () => {
    cp = await startControlPlane({ name: 'sync-process', crds: false });
    admin = await cp.client('sync-test-admin');
    kubeconfig = await localIdentity(cp, admin, SYNC_NS);
  });
  afterAll(async () => {
    for (const c of procs) if (c.exitCode === null) c.kill('SIGKILL');
    admin?.close();
    await cp?.stop();
  });

  it('prints its flags with --help', async () => {
    const p = await spawnSidecar(kubeconfig, ['--help']);
    expect(await p.exited).toBe(0);
    for (const flag of ['--kubeconfig', '--namespace', '--cluster-name', '--dry-run', '--health-probe-bind-address', '--leader-elect', '--log-level']) {
      expect(p.out()).toContain(flag);
    }
    expect(p.out()).toContain('(default ":8082")');
  });

  it('serves probes and metrics; a standby stays idle and takes over when the leader stops', async () => {
    await acceptingNamespace(admin, 'le-src', undefined);
    await acceptingNamespace(admin, 'le-dst', ['le-src/*']);
    const a = await spawnSidecar(kubeconfig, ['--leader-elect']);
    await eventually('a ready', async () => (await get(a, '/readyz'))?.status === 200, 30_000);
    const leaseHolder = async () => (await admin.get<KubeObject & { spec: { holderIdentity?: string } }>(Leases, SYNC_NS, 'kcp-sync')).spec.holderIdentity ?? '';
    const first = await eventually('a leads', async () => (await leaseHolder()) || undefined, 30_000);
    expect(first).toMatch(new RegExp(`_${a.child.pid}$`));
    const b = await spawnSidecar(kubeconfig, ['--leader-elect']);
    await eventually('b ready (as a standby)', async () => (await get(b, '/readyz'))?.status === 200, 30_000);

    await admin.create(Secrets, secretSource('le-src', 'one', { k: 'v' }, { namespaces: ['le-dst'] }));
    await eventually('replica by the leader', () => getOrUndefined(admin, Secrets, 'le-dst', 'one'));
    expect((await get(a, '/healthz'))?.status).toBe(200);
    const metricsA = await (await get(a, '/metrics'))!.text();
    expect(metricsA).toMatch(/kcp_sync_writes_total\{cluster="hub",kind="Secret",operation="create"\} 1/);
    expect(metricsA).toContain('kcp_sync_replication_lag_seconds_bucket');
    expect(metricsA).toContain('kcp_sync_cluster_ready{cluster="hub"} 1');
    expect(metricsA).toContain('leader_election_master_status{name="kcp-sync"} 1');
    const metricsB = await (await get(b, '/metrics'))!.text();
    expect(metricsB).not.toMatch(/kcp_sync_writes_total\{/);
    expect(metricsB).not.toContain('leader_election_master_status{name="kcp-sync"} 1');

    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(a.out()).toContain('shutting down');
    await eventually('b leads', async () => (await leaseHolder()).endsWith(`_${b.child.pid}`), 20_000);
    await admin.create(Secrets, secretSource('le-src', 'two', { k: 'v' }, { namespaces: ['le-dst'] }));
    await eventually('replica by the new leader', () => getOrUndefined(admin, Secrets, 'le-dst', 'two'), 20_000);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
    for (const l of (a.out() + b.out()).split('\n').filter((x) => x.startsWith('{'))) expect(JSON.parse(l)).toHaveProperty('msg');
  });

  it('leaves no orphan after a SIGKILL mid-burst and changes made while nothing ran', async () => {
    const N = 150;
    const dests = ['crash-a', 'crash-b', 'crash-c'];
    await acceptingNamespace(admin, 'crash-src', undefined);
    for (const ns of dests) await acceptingNamespace(admin, ns, ['crash-src/*']);
    // Slow writes (token bucket) so that the kill lands in the middle of the burst.
    const a = await spawnSidecar(kubeconfig, ['--leader-elect', '--cluster-qps=40', '--cluster-burst=5']);
    await eventually('a ready', async () => (await get(a, '/readyz'))?.status === 200, 30_000);
    await Promise.all(
      Array.from({ length: N }, (_, i) => admin.create(Secrets, secretSource('crash-src', `s-${i}`, { v: '1' }, { namespaces: dests }))),
    );
    const replicas = async () => {
      let n = 0;
      for (const ns of dests) n += (await admin.list(Secrets, { namespace: ns, labelSelector: `${ORIGIN_CLUSTER_LABEL}=hub` })).items.length;
      return n;
    };
    await eventually('burst under way', async () => (await replicas()) >= 60, 30_000);
    a.child.kill('SIGKILL');
    await a.exited;
    const atKill = await replicas();
    console.log(`killed with ${atKill} of ${N * dests.length} replicas written`);
    expect(atKill).toBeLessThan(N * dests.length);

    // While nothing runs: delete sources, opt some out, change others, and withdraw a namespace's consent.
    for (let i = 0; i < 30; i++) await admin.delete(Secrets, 'crash-src', `s-${i}`);
    for (let i = 30; i < 45; i++) await admin.patch(Secrets, 'crash-src', `s-${i}`, { metadata: { labels: { [SOURCE_LABEL]: null } } }, 'merge');
    for (let i = 45; i < 75; i++) await admin.patch(Secrets, 'crash-src', `s-${i}`, { data: { v: b64('2') } }, 'merge');
    await admin.patch(Namespaces, undefined, 'crash-c', { metadata: { labels: { [ACCEPT_LABEL]: null } } }, 'merge');

    const b = await spawnSidecar(kubeconfig, ['--leader-elect']);
    const t0 = Date.now();
    const expected = new Map<string, string>();
    for (let i = 45; i < N; i++) for (const ns of ['crash-a', 'crash-b']) expected.set(`${ns}/s-${i}`, i < 75 ? '2' : '1');
    const actual = async () => {
      const m = new Map<string, string>();
      for (const ns of dests) {
        for (const o of (await admin.list(Secrets, { namespace: ns, labelSelector: `${ORIGIN_CLUSTER_LABEL}=hub` })).items) {
          m.set(`${ns}/${o.metadata.name}`, decoded(o)?.v ?? '');
        }
      }
      return m;
    };
    await eventually(
      'exactly the expected replicas, with the expected data',
      async () => {
        const m = await actual();
        return m.size === expected.size && [...expected].every(([k, v]) => m.get(k) === v);
      },
      90_000,
    );
    console.log(`new instance converged ${Date.now() - t0} ms after start (includes waiting out the dead leader's lease)`);
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  });

  it("writes each source's status once, when every destination has its result", async () => {
    for (const c of procs) if (c.exitCode === null) c.kill('SIGKILL');
    const N = 20;
    const dests = ['once-a', 'once-b', 'once-c'];
    await acceptingNamespace(admin, 'once-src', undefined);
    for (const ns of dests) await acceptingNamespace(admin, ns, ['once-src/*']);
    for (let i = 0; i < N; i++) await admin.create(Secrets, secretSource('once-src', `s-${i}`, { v: '1' }, { namespaces: dests }));
    // Every status value each source carries while the sidecar works through its replicas. The
    // token bucket makes the replicas take seconds, longer than the status delay (1 s): a status
    // composed before a source's reconcile would say "no destinations" and be rewritten after.
    const seen = new Map<string, string[]>();
    const watch = new Informer(admin, Secrets, { namespace: 'once-src' });
    watch.on({
      update: (o, n) => {
        const v = n.metadata.annotations?.[STATUS_ANNOTATION];
        if (v !== undefined && v !== o.metadata.annotations?.[STATUS_ANNOTATION]) seen.set(n.metadata.name ?? '', [...(seen.get(n.metadata.name ?? '') ?? []), v]);
      },
    });
    watch.start();
    await watch.waitForSync();
    const since = new Date();
    const p = await spawnSidecar(kubeconfig, ['--cluster-qps=15', '--cluster-burst=1']);
    try {
      await eventually(
        'every source says 3 Synced',
        () => [...Array(N).keys()].every((i) => (JSON.parse(seen.get(`s-${i}`)?.at(-1) ?? '{}') as { summary?: string }).summary === '3 Synced'),
        60_000,
      );
      await new Promise((r) => setTimeout(r, 2_000)); // a late second write would land here
      for (let i = 0; i < N; i++) expect(seen.get(`s-${i}`)?.map((v) => (JSON.parse(v) as { summary: string }).summary)).toEqual(['3 Synced']);
      const patches = (await cp.auditedWrites({ userAgent: 'kcp-sync', since })).filter((e) => e.verb === 'patch' && e.objectRef?.resource === 'secrets' && e.objectRef.namespace === 'once-src');
      expect(patches).toHaveLength(N);

      // A new instance finds every status already right, lastSync times included (its source cache
      // keeps a digest of the status and the times, not the text): it composes each and writes none.
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      const before = new Map([...seen].map(([k, v]) => [k, v.at(-1)]));
      const restartedAt = new Date();
      const q = await spawnSidecar(kubeconfig);
      const metric = async (line: string) => {
        const text = (await (await get(q, '/metrics'))?.text()) ?? '';
        return Number(text.split('\n').find((l) => l.startsWith(line))?.split(' ').at(-1) ?? NaN);
      };
      await eventually(
        'the new instance composed every status and has nothing left to do',
        async () =>
          (await metric('controller_runtime_reconcile_total{controller="sync-status",result="success"}')) >= N &&
          (await metric('kcp_operator_workqueue_delayed_items{name="sync-status"}')) === 0 &&
          (await metric('workqueue_adds_total{name="sync-status"}')) === (await metric('workqueue_work_duration_seconds_count{name="sync-status"}')),
        60_000,
      );
      try {
        expect(new Map([...seen].map(([k, v]) => [k, v.at(-1)]))).toEqual(before);
        const rewrites = (await cp.auditedWrites({ userAgent: 'kcp-sync', since: restartedAt })).filter((e) => e.objectRef?.namespace === 'once-src');
        expect(rewrites).toEqual([]);
      } finally {
        q.child.kill('SIGTERM');
        await q.exited;
      }
    } finally {
      await watch.stop();
      if (p.child.exitCode === null) p.child.kill('SIGTERM');
      await p.exited;
    }
  });

  it('prints the plan with --dry-run and writes nothing', async () => {
    // No other sidecar may run meanwhile, or it would carry the plan out before it is printed.
    for (const c of procs) if (c.exitCode === null) c.kill('SIGKILL');
    await acceptingNamespace(admin, 'plan-src', undefined);
    await acceptingNamespace(admin, 'plan-a', ['plan-src/*']);
    await acceptingNamespace(admin, 'plan-b', ['plan-src/*']);
    await admin.create(Secrets, secretSource('plan-src', 'new', { v: '1' }, { namespaces: ['plan-a'] }));
    await admin.create(Secrets, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'taken', namespace: 'plan-a' }, data: { x: b64('y') } });
    await admin.create(Secrets, secretSource('plan-src', 'taken', { v: '1' }, { namespaces: ['plan-a'] }));
    // A replica left over from a source that no longer exists.
    await admin.create(Secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'orphan',
        namespace: 'plan-b',
        labels: { [ORIGIN_CLUSTER_LABEL]: 'hub' },
        annotations: {
          'sync.operator.kcp.io/origin': 'hub/plan-src/orphan',
          'sync.operator.kcp.io/origin-uid': 'gone',
          'sync.operator.kcp.io/replica-namespace': 'plan-b',
        },
      },
    });
    const since = new Date();
    const p = await spawnSidecar(kubeconfig, ['--dry-run']);
    expect(await p.exited).toBe(0);
    const stdout = p.out().split('\n').filter((l) => !l.startsWith('{')).join('\n');
    expect(stdout).toMatch(/^create\s+Secret hub\/plan-a\/new from hub\/plan-src\/new$/m);
    expect(stdout).toMatch(/^delete\s+Secret hub\/plan-b\/orphan from hub\/plan-src\/orphan$/m);
    expect(stdout).toMatch(/^conflict\s+Secret hub\/plan-a\/taken from hub\/plan-src\/taken \(.*did not create.*\)$/m);
    expect(stdout).toMatch(/nothing was written/);
    expect(await cp.auditedWrites({ userAgent: 'kcp-sync', since })).toEqual([]);
    expect(await getOrUndefined(admin, Secrets, 'plan-a', 'new')).toBeUndefined();
    expect(await getOrUndefined(admin, Secrets, 'plan-b', 'orphan')).toBeDefined();
  });
});
