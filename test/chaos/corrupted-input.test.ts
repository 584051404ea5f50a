// Corrupted Secrets the operator reads back (issue 14, item 6). The operator runs as its own
// process (src/main.ts under tsx) against the shared kube-apiserver; four RootShards, each with a
// Shard, converge on the built-in PKI; then one CA Secret of each is corrupted in place, as a
// botched manual edit or restore would:
//   r1: an intermediate CA (r1-server-ca) whose certificate is truncated,
//   r2: an intermediate CA (r2-client-ca) whose key is garbage,
//   r3: an intermediate CA (r3-requestheader-client-ca) with a valid key that is not its certificate's,
//   r4: an intermediate CA's Secret (r4-server-ca) replaced by an expired, otherwise sound, CA.
// Each RootShard must report CertificatesReady=False with a reason and a message naming that
// Secret; its Shard, whose certificates that CA signs, must say so too (naming the Secret) rather
// than fail its reconcile; nothing is replaced silently: the corrupt Secret keeps its uid,
// resourceVersion and data, no CA Secret is created or replaced, and the reconcile counter goes flat.
// Not covered, because the operator reads no kubeconfig back: the Secrets holding kubeconfigs
// (Kubeconfig's, the CacheServer's, a VirtualWorkspace's kubeconfigSecretRef) are written or
// mounted, never parsed by it; their content reaches kcp only.
import { createHash } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { RootShards, Shards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Secrets } from '../../src/kube/resources.js';
import { cacheServerCertificates, type PlannedCertificate } from '../../src/pki/hierarchy.js';
import { issuePlanned } from '../../src/pki/issue.js';
import { spawnEntry } from '../../local/entry.js';
import { freePort } from '../../local/ports.js';
import { builtInPkiRootShard, fixture } from '../integration/fixtures.js';
import { createNamespace, eventually, quiet, sharedClient } from '../integration/helpers.js';
import { collectClusterTexts, collectPrivateKeys, findLeaks } from './leak-scan.js';

type Secret = KubeObject & { data: Record<string, string> };
type Cond = { type: string; status: string; reason?: string; message?: string; observedGeneration?: number };
type WithConditions = KubeObject & { status?: { conditions?: Cond[] } };

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

interface Case {
  root: string;
  secret: string;
  /** The CertificatesReady reason on the RootShard. */
  reason: string;
  /** The reason on its Shard, whose leaves the corrupt CA signs. */
  shardReason: string;
  corrupt(s: Secret, other: Secret): Promise<Record<string, string>> | Record<string, string>;
}

const CASES: Case[] = [
  { root: 'r1', secret: 'r1-server-ca', reason: 'CAInvalid', shardReason: 'IssuerInvalid', corrupt: (s) => ({ ...s.data, 'tls.crt': b64(unb64(s.data['tls.crt']).slice(0, 300)) }) },
  { root: 'r2', secret: 'r2-client-ca', reason: 'CAInvalid', shardReason: 'IssuerInvalid', corrupt: (s) => ({ ...s.data, 'tls.key': b64('-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n') }) },
  // The key of another CA of the same kind: well-formed, just not this certificate's.
  { root: 'r3', secret: 'r3-requestheader-client-ca', reason: 'CAKeyMismatch', shardReason: 'IssuerKeyMismatch', corrupt: (s, other) => ({ ...s.data, 'tls.key': other.data['tls.key'] ?? '' }) },
  {
    root: 'r4',
    secret: 'r4-server-ca',
    reason: 'CAExpired',
    shardReason: 'IssuerExpired',
    corrupt: async (s) => {
      const plan = { ...(cacheServerCertificates({ name: 'expired', namespace: 'x' })[0] as PlannedCertificate), durationMs: 3600_000 };
      const old = await issuePlanned(plan, { now: new Date(Date.now() - 48 * 3600_000) });
      return { ...s.data, 'tls.crt': b64(old.secretData['tls.crt']), 'tls.key': b64(old.secretData['tls.key']), 'ca.crt': b64(old.secretData['ca.crt']) };
    },
  },
];

const condition = (o: WithConditions, type: string) => o.status?.conditions?.find((c) => c.type === type);
const fingerprint = (s: Secret) => createHash('sha256').update(JSON.stringify(s.data)).digest('hex').slice(0, 16);

describe('corrupted Secrets', () => {
  let client: KubeClient;
  let child: ChildProcess | undefined;
  let logs = '';
  beforeAll(async () => {
    client = await sharedClient('chaos-corrupted');
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    client?.close();
  });

  it('a corrupt CA gives a condition naming its Secret, and nothing is replaced', async () => {
    const t0 = Date.now();
    const ns = await createNamespace(client, 'corrupt');
    const port = await freePort();
    child = spawnEntry('src/main.ts', [`--kubeconfig=${inject('kubeconfigPath')}`, `--namespace=${ns}`, `--health-probe-bind-address=127.0.0.1:${port}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { LOG_LEVEL: 'info' },
    });
    child.stdout?.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (logs += d.toString()));
    let exits = 0;
    child.once('exit', () => exits++);

    for (const c of CASES) {
      const rs = builtInPkiRootShard(ns);
      rs.metadata.name = c.root;
      await client.create(RootShards, rs);
      const shard = fixture('operator.kcp.io_v1alpha1_shard.yaml', ns);
      shard.metadata.name = `${c.root}-shard`;
      (shard.spec as { rootShard: { ref: { name: string } } }).rootShard.ref.name = c.root;
      await client.create(Shards, shard);
    }
    const ready = async (r: typeof RootShards, name: string) => condition(await client.get<WithConditions>(r, ns, name), 'CertificatesReady')?.status === 'True';
    for (const c of CASES) {
      await eventually(`${c.root} and its shard certificates ready`, async () => (await ready(RootShards, c.root)) && (await ready(Shards, `${c.root}-shard`)), 120_000);
    }
    const converged = Date.now() - t0;

    const caSecrets = async () =>
      new Map(
        (await client.list<Secret>(Secrets, { namespace: ns })).items
          .filter((s) => s.metadata.name?.endsWith('-ca') && !s.metadata.ownerReferences?.length)
          .map((s) => [s.metadata.name ?? '', s.metadata.uid ?? '']),
      );
    const casBefore = await caSecrets();
    const corrupted = new Map<string, { uid: string; resourceVersion: string; data: string }>();
    for (const c of CASES) {
      const s = await client.get<Secret>(Secrets, ns, c.secret);
      const other = await client.get<Secret>(Secrets, ns, c.secret.replace(/^r\d/, c.root === 'r1' ? 'r2' : 'r1'));
      s.data = await c.corrupt(s, other);
      const written = await client.update(Secrets, s);
      corrupted.set(c.secret, { uid: written.metadata.uid ?? '', resourceVersion: written.metadata.resourceVersion ?? '', data: fingerprint(written) });
    }

    const results: string[] = [];
    for (const c of CASES) {
      const rsCond = await eventually(
        `${c.root} reports ${c.reason}`,
        async () => {
          const cond = condition(await client.get<WithConditions>(RootShards, ns, c.root), 'CertificatesReady');
          return cond?.status === 'False' && cond.reason === c.reason ? cond : undefined;
        },
        60_000,
      );
      expect(rsCond.message, `${c.root}'s condition names the Secret`).toContain(c.secret);
      const shardCond = await eventually(
        `${c.root}-shard reports ${c.shardReason}`,
        async () => {
          const cond = condition(await client.get<WithConditions>(Shards, ns, `${c.root}-shard`), 'CertificatesReady');
          return cond?.status === 'False' && cond.reason === c.shardReason ? cond : undefined;
        },
        60_000,
      );
      expect(shardCond.message, `${c.root}-shard's condition names the Secret`).toContain(c.secret);
      results.push(`${c.secret}: RootShard ${rsCond.reason}, Shard ${shardCond.reason}`);
    }

    // Settled: the reconcile counter stands still (a hot loop would never let it), then nothing was replaced.
    const reconciles = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return [...text.matchAll(/^controller_runtime_reconcile_total\{([^}]*)\} (\d+)/gm)].reduce((a, m) => a + Number(m[2]), 0);
    };
    const flat = await quiet('reconcile_total', reconciles, 10_000, 60_000);
    for (const [name, before] of corrupted) {
      const now = await client.get<Secret>(Secrets, ns, name);
      expect({ uid: now.metadata.uid, resourceVersion: now.metadata.resourceVersion, data: fingerprint(now) }, `${name} left as it was`).toEqual(before);
    }
    expect(await caSecrets(), 'no CA Secret created, deleted or replaced').toEqual(casBefore);
    expect(exits, 'the operator process crashed').toBe(0);

    const keys = await collectPrivateKeys(client, [ns]);
    const texts = [{ source: 'operator log', text: logs }, ...(await collectClusterTexts(client, [ns]))];
    const leaks = findLeaks(texts, keys);
    console.log(
      `corrupted-input: converged in ${converged} ms; ${results.join('; ')}; reconciles flat at ${flat}; ` +
        `${casBefore.size} CA Secrets unchanged; leak scan ${texts.length} texts against ${keys.length} keys, ${leaks.length} leaks; wall ${Date.now() - t0} ms`,
    );
    expect(keys.length).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });
});
