// The harness itself: binaries report their pinned versions, several control planes run at once
// and independently, and stopping one leaves no process and no port behind.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigMaps, Namespaces } from '../../src/kube/resources.js';
import { isNotFound } from '../../src/kube/errors.js';
import { binaryPath, versions } from '../../local/binaries.js';
import { startControlPlane } from '../../local/control-plane.js';
import { isPortFree } from '../../local/ports.js';

const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('test binaries', () => {
  const v = versions();
  it('etcd reports its pinned version', () => {
    const out = execFileSync(binaryPath('etcd'), ['--version'], { encoding: 'utf8' });
    expect(out).toContain(`etcd Version: ${v.ETCD_VERSION!.replace(/^v/, '')}`);
  });
  it('kube-apiserver reports its pinned version', () => {
    expect(execFileSync(binaryPath('kube-apiserver'), ['--version'], { encoding: 'utf8' }).trim()).toBe(
      `Kubernetes ${v.KUBERNETES_VERSION}`,
    );
  });
  it('kubectl reports its pinned version', () => {
    const out = execFileSync(binaryPath('kubectl'), ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
    expect((JSON.parse(out) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion).toBe(v.KUBERNETES_VERSION);
  });
});

describe('control-plane harness', () => {
  it('runs two independent control planes at once and cleans up after itself', async () => {
    const t0 = Date.now();
    const [a, b] = await Promise.all([startControlPlane({ name: 'a', crds: false }), startControlPlane({ name: 'b', crds: false })]);
    console.log(`two control planes in parallel ready in ${Date.now() - t0} ms`);
    const pids = [a.etcd?.child.pid, a.apiserver?.child.pid, b.etcd?.child.pid, b.apiserver?.child.pid];
    const ports = [a.port, b.port, Number(new URL(a.etcdUrl).port), Number(new URL(b.etcdUrl).port)];
    try {
      expect(a.server).not.toBe(b.server);
      const [ca, cb] = [await a.client(), await b.client()];
      await ca.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'only-in-a' } });
      await expect(cb.get(Namespaces, undefined, 'only-in-a')).rejects.toSatisfy(isNotFound);
      ca.close();
      cb.close();
      // kubectl works with the generated kubeconfig.
      const who = execFileSync(binaryPath('kubectl'), ['--kubeconfig', a.kubeconfigPath, 'auth', 'whoami', '-o', 'json'], {
        encoding: 'utf8',
      });
      expect((JSON.parse(who) as { status: { userInfo: { groups: string[] } } }).status.userInfo.groups).toContain('system:masters');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(pids.every((p) => p !== undefined)).toBe(true);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    for (const port of ports) expect(await isPortFree(port)).toBe(true);
  });

  it('counts audited writes across the audit log\'s rotated files', async () => {
    // 1 MB per file instead of the default 100 MB, so a few thousand writes rotate it.
    const cp = await startControlPlane({ name: 'audit-rotation', crds: false, apiServerArgs: ['--audit-log-maxsize=1', '--audit-log-maxbackup=100'] });
    try {
      const client = await cp.client('audit-rotation-writer');
      await client.create(Namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'rot' } });
      const N = 2_500;
      for (let i = 0; i < N; i += 25) {
        await Promise.all(
          Array.from({ length: 25 }, (_, j) => client.create(ConfigMaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i + j}`, namespace: 'rot' }, data: { v: 'x'.repeat(200) } })),
        );
      }
      client.close();
      const rotated = readdirSync(path.dirname(cp.auditLogPath)).filter((f) => /^audit-.+\.log$/.test(f));
      expect(rotated.length).toBeGreaterThan(0);
      const creates = (await cp.auditedWrites({ userAgent: 'audit-rotation-writer' })).filter((e) => e.objectRef?.resource === 'configmaps');
      expect(creates).toHaveLength(N);
    } finally {
      await cp.stop();
    }
  });
});
