// The operator is killed (SIGKILL) mid-reconcile, again and again at different points (after its
// 1st, 2nd, 3rd, 5th, 8th and 13th write), and restarted each time. It must converge to one CA
// hierarchy: a CA Secret, once written, keeps its uid and fingerprint through every crash.
import { createHash, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import { isNotFound } from '../../src/kube/errors.js';
import { Deployments, Secrets } from '../../src/kube/resources.js';
import { spawnEntry } from '../../local/entry.js';
import { fixture } from './fixtures.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { startOperator } from './operator.js';

const CAS = ['root-ca', 'root-server-ca', 'root-client-ca', 'root-requestheader-client-ca', 'root-service-account-ca'];

function runOperatorUntilCrash(ns: string, crashAfterWrites: number): Promise<number | null> {
  const child = spawnEntry('src/main.ts', [`--kubeconfig=${inject('kubeconfigPath')}`, `--namespace=${ns}`, '--health-probe-bind-address=127.0.0.1:0'], {
    env: { KCP_OPERATOR_FAULT_CRASH_AFTER_WRITES: String(crashAfterWrites), LOG_LEVEL: 'error' },
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(signal === 'SIGKILL' ? -9 : code);
    }),
  );
}

describe('crash safety', () => {
  let client: KubeClient;
  beforeAll(async () => {
    client = await sharedClient('crash-test');
  });
  afterAll(() => client?.close());

  it('never regenerates a CA across repeated SIGKILLs mid-reconcile', async () => {
    const ns = await createNamespace(client, 'crash');
    const rs = fixture('operator.kcp.io_v1alpha1_rootshard.yaml', ns);
    rs.metadata.name = 'root';
    delete (rs.spec as Record<string, unknown>).certificates;
    const shard = fixture('operator.kcp.io_v1alpha1_shard.yaml', ns);
    (shard.spec as { rootShard: { ref: { name: string } } }).rootShard.ref.name = 'root';
    await client.create(RootShards, rs);
    await client.create(Shards, shard);

    const seen = new Map<string, { uid: string; fingerprint: string }>();
    const observe = async () => {
      for (const name of CAS) {
        try {
          const s = await client.get(Secrets, ns, name);
          const pem = Buffer.from((s.data as Record<string, string>)['tls.crt'] ?? '', 'base64').toString();
          const now = { uid: s.metadata.uid ?? '', fingerprint: createHash('sha256').update(pem).digest('hex') };
          const before = seen.get(name);
          if (before) expect(now, `${name} changed after a crash`).toEqual(before);
          else seen.set(name, now);
        } catch (err) {
          if (!isNotFound(err)) throw err;
          expect(seen.has(name), `${name} disappeared`).toBe(false);
        }
      }
    };
    const crashes: number[] = [];
    for (const n of [1, 2, 3, 5, 8, 13]) {
      const code = await runOperatorUntilCrash(ns, n);
      crashes.push(code ?? 0);
      await observe();
    }
    console.log(`exit codes per run: ${crashes.join(', ')}; CAs seen after crashes: ${seen.size}/${CAS.length}`);
    expect(crashes.filter((c) => c === -9).length).toBeGreaterThanOrEqual(4);

    // A last, uninterrupted run converges on the same hierarchy.
    const op = await startOperator({ namespace: ns });
    try {
      await eventually('converged', async () => {
        await client.get(Deployments, ns, 'root-kcp');
        await client.get(Deployments, ns, 'secondary-shard-shard-kcp');
        return true;
      }, 30_000);
      await observe();
      expect(seen.size).toBe(CAS.length);
      const cert = async (n: string) => new X509Certificate(Buffer.from(((await client.get(Secrets, ns, n)).data as Record<string, string>)['tls.crt'] ?? '', 'base64').toString());
      const root = await cert('root-ca');
      for (const ca of CAS.slice(1)) expect((await cert(ca)).verify(root.publicKey), ca).toBe(true);
      expect((await cert('secondary-shard-server')).verify((await cert('root-server-ca')).publicKey)).toBe(true);
      expect((await cert('root-client')).verify((await cert('root-client-ca')).publicKey)).toBe(true);
    } finally {
      await op.stop();
    }
  });
});
