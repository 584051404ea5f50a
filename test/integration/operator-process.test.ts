// The operator as a process: probes and metrics served, leadership taken on a Lease, JSON logs,
// and a SIGTERM that drains, releases the lease and exits 0.
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Leases } from '../../src/kube/resources.js';
import { freePort } from '../../local/ports.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { spawnEntry } from '../../local/entry.js';

describe('operator process', () => {
  let client: KubeClient;
  let ns: string;
  beforeAll(async () => {
    client = await sharedClient('operator-process-test');
    ns = await createNamespace(client, 'opproc');
  });
  afterAll(() => client?.close());

  it('serves probes and metrics, leads, and shuts down cleanly on SIGTERM', async () => {
    const port = await freePort();
    const child = spawnEntry(
      'src/main.ts',
      [`--kubeconfig=${inject('kubeconfigPath')}`, '--leader-elect', `--leader-election-namespace=${ns}`, `--health-probe-bind-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      await eventually('readyz', async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, 30_000);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('# TYPE controller_runtime_reconcile_total counter');
      expect(metrics).toContain('rest_client_requests_total');
      expect(metrics).toContain('# TYPE rest_client_request_duration_seconds histogram');
      expect(metrics).toContain('# TYPE rest_client_rate_limiter_duration_seconds histogram');
      // The families the alerts in deploy/monitoring/ read (values: monitoring.test.ts).
      for (const m of ['kcp_operator_certificate_expiry_timestamp_seconds', 'kcp_operator_certificate_renewal_timestamp_seconds', 'kcp_operator_component_available']) {
        expect(metrics).toContain(`# TYPE ${m} gauge`);
      }
      const lease = await eventually('lease held', async () => {
        const l = await client.get<KubeObject & { spec: { holderIdentity?: string } }>(Leases, ns, 'kcp-operator-ts');
        return l.spec.holderIdentity ? l : undefined;
      });
      expect(lease.spec.holderIdentity).toMatch(/_\d+$/);

      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
      expect(code).toBe(0);
      const released = await client.get<KubeObject & { spec: { holderIdentity?: string } }>(Leases, ns, 'kcp-operator-ts');
      expect(released.spec.holderIdentity ?? '').toBe('');
      // Every log line is JSON with a level and a message.
      const lines = out.split('\n').filter((l) => l.startsWith('{'));
      expect(lines.length).toBeGreaterThan(2);
      for (const l of lines) expect(JSON.parse(l)).toMatchObject({ level: expect.any(String), msg: expect.any(String) });
      expect(out).toContain('shutting down');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it.each([
    ['src/main.ts', ['--kubeconfig=/dev/null'], /^kcp-operator: cannot load kubeconfig \/dev\/null: the file is empty$/m],
    ['src/main.ts', ['--shard-deregistration-timeout=soon'], /^kcp-operator: --shard-deregistration-timeout: invalid duration "soon"$/m],
    ['src/main.ts', ['--max-concurrent-reconciles=0'], /^kcp-operator: --max-concurrent-reconciles must be a positive integer, got 0$/m],
    ['src/main.ts', ['--kube-api-qps=fast'], /^kcp-operator: --kube-api-qps must be a number, 0 or more, got fast$/m],
    ['sync/main.ts', ['--kubeconfig=/nonexistent'], /^kcp-sync: cannot load kubeconfig \/nonexistent: ENOENT/m],
  ] as const)('%s %s: one clear line and exit code 2, no stack trace', async (entry, args, message) => {
    const child = spawnEntry(entry, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err).not.toMatch(/\n\s+at /);
  });
});
