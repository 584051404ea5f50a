// Kubeconfig controller against the real API server: renewal shortly before expiry, owned Secrets
// that go with the Kubeconfig, a reference that does not resolve, spec.serverURL followed by the
// Secret, replaced CAs used at once, and ClusterRoleBindings in a kcp
// that cannot be reached (condition, backoff, zero writes while retrying, a finalizer that lets go
// within the bounded wait). Nothing here runs kcp. This control plane runs no kube-controller-manager,
// so where garbage collection matters the test plays the garbage collector and says so.
import { X509Certificate } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kubeconfigs, RootShards } from '../../src/controllers/context.js';
import type { KubeClient } from '../../src/kube/client.js';
import { isNotFound } from '../../src/kube/errors.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Events, Secrets } from '../../src/kube/resources.js';
import { splitPemCertificates } from '../../src/pki/pem.js';
import { DEFAULT_BACKDATE_MS } from '../../src/pki/x509.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { builtInPkiRootShard } from './fixtures.js';
import { startOperator, type RunningOperator } from './operator.js';

type Cond = { type: string; status: string; reason: string; message: string; lastTransitionTime: string };
type Status = { phase?: string; targetName?: string; notAfter?: string; renewalTime?: string; authorization?: { provisionedCluster: string }; conditions?: Cond[] };
const status = (o: KubeObject) => (o.status ?? {}) as Status;
const condition = (o: KubeObject | undefined, type: string) => (o ? status(o).conditions ?? [] : []).find((c) => c.type === type);
const kubeconfigCert = (s: KubeObject) => {
  const kc = new KubeConfig();
  kc.loadFromString(Buffer.from((s.data as Record<string, string>).kubeconfig ?? '', 'base64').toString());
  return new X509Certificate(Buffer.from(kc.getCurrentUser()?.certData ?? '', 'base64'));
};
const gone = async (client: KubeClient, r: Parameters<KubeClient['get']>[0], ns: string, name: string) => {
  try {
    await client.get(r, ns, name);
    return false;
  } catch (err) {
    return isNotFound(err);
  }
};

function kubeconfig(ns: string, name: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'operator.kcp.io/v1alpha1',
    kind: 'Kubeconfig',
    metadata: { name, namespace: ns },
    spec: { username: `user-${name}`, groups: ['team'], validity: '8766h', secretRef: { name: `${name}-kubeconfig` }, target: { rootShardRef: { name: 'shard-sample' } }, ...spec },
  };
}

describe('Kubeconfig', () => {
  let client: KubeClient;
  let ns: string;
  let op: RunningOperator;
  const reconciles = (key: string) =>
    (op.manager as unknown as { controllers: Array<{ name: string; reconciles: Map<string, number> }> }).controllers.find((c) => c.name === 'kubeconfig')?.reconciles.get(key) ?? 0;

  beforeAll(async () => {
    client = await sharedClient('kubeconfig-test');
    ns = await createNamespace(client, 'kubeconfig');
    op = await startOperator({ namespace: ns, deregistrationTimeoutMs: 4000 });
    const rs = builtInPkiRootShard(ns);
    await client.create(RootShards, rs);
    await eventually('client CA', () => client.get(Secrets, ns, 'shard-sample-client-ca'), 30_000);
  });
  afterAll(async () => {
    await op?.stop();
    client?.close();
  });

  it('renews the client certificate shortly before it expires, and reports when', async () => {
    // validity 30s: renewBefore defaults to a third of the validity, so renewal is due 10 s before expiry.
    await client.create(Kubeconfigs, kubeconfig(ns, 'short', { validity: '30s' }));
    const first = await eventually('Ready', async () => {
      const o = await client.get(Kubeconfigs, ns, 'short');
      return status(o).phase === 'Ready' ? o : undefined;
    }, 30_000);
    const { notAfter, renewalTime } = status(first);
    expect(Date.parse(notAfter ?? '') - Date.parse(renewalTime ?? '')).toBe(10_000);
    const cert1 = kubeconfigCert(await client.get(Secrets, ns, 'short-kubeconfig'));
    expect(new Date(cert1.validTo).toISOString().replace('.000', '')).toBe(notAfter);

    const renewed = await eventually('renewed', async () => {
      const cert = kubeconfigCert(await client.get(Secrets, ns, 'short-kubeconfig'));
      return cert.serialNumber !== cert1.serialNumber ? { cert } : undefined;
    }, 60_000);
    // Renewed after the renewal time and before the old certificate expired. When is read off the
    // new certificate (notBefore is the moment of issue, backdated, to the second), not off when
    // this test got round to noticing, which a loaded machine can delay at will.
    const issuedAt = Date.parse(renewed.cert.validFrom) + DEFAULT_BACKDATE_MS;
    expect(issuedAt).toBeGreaterThanOrEqual(Date.parse(renewalTime ?? '') - 1000);
    expect(issuedAt).toBeLessThan(Date.parse(cert1.validTo));
    expect(Date.parse(renewed.cert.validTo)).toBeGreaterThan(Date.parse(cert1.validTo));
    // The certificate Secret and the kubeconfig agree, and the status follows.
    const certSecret = await client.get(Secrets, ns, 'kubeconfig-cert-short');
    expect(new X509Certificate(Buffer.from((certSecret.data as Record<string, string>)['tls.crt'] ?? '', 'base64').toString()).serialNumber).toBe(renewed.cert.serialNumber);
    await eventually('status notAfter advanced', async () => Date.parse(status(await client.get(Kubeconfigs, ns, 'short')).notAfter ?? '') > Date.parse(notAfter ?? ''));
    const events = (await client.list(Events, { namespace: ns })).items as Array<KubeObject & { reason?: string; regarding?: { name?: string } }>;
    expect(events.some((e) => e.reason === 'CertificateRenewed' && e.regarding?.name === 'short')).toBe(true);
    await client.delete(Kubeconfigs, ns, 'short');
  });

  it('owns its Secrets, so deleting the Kubeconfig removes them, and does not bring them back', async () => {
    await client.create(Kubeconfigs, kubeconfig(ns, 'temp', {}));
    const kc = await eventually('Ready', async () => {
      const o = await client.get(Kubeconfigs, ns, 'temp');
      return status(o).phase === 'Ready' ? o : undefined;
    }, 30_000);
    const uid = kc.metadata.uid;
    for (const name of ['temp-kubeconfig', 'kubeconfig-cert-temp']) {
      const s = await client.get(Secrets, ns, name);
      expect(s.metadata.ownerReferences).toEqual([
        { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'Kubeconfig', name: 'temp', uid, controller: true, blockOwnerDeletion: true },
      ]);
    }
    await client.delete(Kubeconfigs, ns, 'temp');
    await eventually('Kubeconfig gone', () => gone(client, Kubeconfigs, ns, 'temp'));
    // Stand-in for kube-controller-manager's garbage collector: delete what the gone owner owned.
    for (const s of (await client.list(Secrets, { namespace: ns })).items) {
      if (s.metadata.ownerReferences?.some((r) => r.uid === uid)) await client.delete(Secrets, ns, s.metadata.name ?? '');
    }
    await new Promise((r) => setTimeout(r, 1500));
    expect(await gone(client, Secrets, ns, 'temp-kubeconfig')).toBe(true);
    expect(await gone(client, Secrets, ns, 'kubeconfig-cert-temp')).toBe(true);
  });

  it('never takes over a Secret another object owns', async () => {
    await client.create(Kubeconfigs, kubeconfig(ns, 'first', { secretRef: { name: 'shared-kubeconfig' } }));
    await eventually('first Ready', async () => status(await client.get(Kubeconfigs, ns, 'first')).phase === 'Ready', 30_000);
    const before = await client.get(Secrets, ns, 'shared-kubeconfig');
    await client.create(Kubeconfigs, kubeconfig(ns, 'second', { secretRef: { name: 'shared-kubeconfig' } }));
    const o = await eventually('SecretConflict', async () => {
      const x = await client.get(Kubeconfigs, ns, 'second');
      return condition(x, 'Stalled')?.reason === 'SecretConflict' ? x : undefined;
    });
    expect(condition(o, 'Available')?.message).toMatch(/belongs to Kubeconfig first; choose another spec\.secretRef\.name/);
    expect((await client.get(Secrets, ns, 'shared-kubeconfig')).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    await client.delete(Kubeconfigs, ns, 'second');
    await client.delete(Kubeconfigs, ns, 'first');
  });

  it('reports a target that does not exist, and recovers when the reference is fixed', async () => {
    await client.create(Kubeconfigs, kubeconfig(ns, 'orphan', { target: { shardRef: { name: 'no-such-shard' } } }));
    const o = await eventually('ReferenceNotFound', async () => {
      const x = await client.get(Kubeconfigs, ns, 'orphan');
      return condition(x, 'ReferenceValid')?.reason === 'ReferenceNotFound' ? x : undefined;
    });
    expect(condition(o, 'ReferenceValid')?.message).toMatch(/Shard .*no-such-shard does not exist/);
    expect(status(o)).toMatchObject({ phase: 'Failed', targetName: 'Shard/no-such-shard' });
    expect(condition(o, 'Stalled')?.status).toBe('True');
    await client.patch(Kubeconfigs, ns, 'orphan', { spec: { target: { shardRef: null, rootShardRef: { name: 'shard-sample' } } } }, 'merge');
    const fixed = await eventually('Ready', async () => {
      const x = await client.get(Kubeconfigs, ns, 'orphan');
      return status(x).phase === 'Ready' ? x : undefined;
    });
    expect(status(fixed).targetName).toBe('RootShard/shard-sample');
    expect(condition(fixed, 'Stalled')?.status).toBe('False');
  });

  it('follows spec.serverURL (an Ingress or load balancer in front), and goes back to the target\'s address without it', async () => {
    const servers = (s: KubeObject) => {
      const kc = new KubeConfig();
      kc.loadFromString(Buffer.from((s.data as Record<string, string>).kubeconfig ?? '', 'base64').toString());
      return { base: kc.getCluster('base')?.server, default: kc.getCluster('default')?.server, ca: kc.getCluster('base')?.caData, user: kc.getCurrentUser()?.certData };
    };
    await client.create(Kubeconfigs, kubeconfig(ns, 'ingress', {}));
    const first = await eventually('Secret', async () => {
      const s = await client.get(Secrets, ns, 'ingress-kubeconfig');
      return servers(s).base ? servers(s) : undefined;
    }, 30_000);
    expect(first.base).toBe('https://root.shard.example.operator.kcp.io:6443');
    await client.patch(Kubeconfigs, ns, 'ingress', { spec: { serverURL: 'https://kcp.example.com' } }, 'merge');
    const moved = await eventually('server moved', async () => {
      const x = servers(await client.get(Secrets, ns, 'ingress-kubeconfig'));
      return x.base === 'https://kcp.example.com' ? x : undefined;
    });
    expect(moved.default).toBe('https://kcp.example.com/clusters/root');
    // Only the address changed: the same CA and the same client certificate.
    expect(moved.ca).toBe(first.ca);
    expect(moved.user).toBe(first.user);
    await client.patch(Kubeconfigs, ns, 'ingress', { spec: { serverURL: null } }, 'merge');
    await eventually('server back', async () => servers(await client.get(Secrets, ns, 'ingress-kubeconfig')).base === first.base);
    await client.delete(Kubeconfigs, ns, 'ingress');
  });

  describe('authorization while kcp cannot be reached', () => {
    it('writes the kubeconfig, says why the bindings are missing, and retries with backoff without writing', async () => {
      await client.create(Kubeconfigs, kubeconfig(ns, 'admin', { targetWorkspace: 'root:team', authorization: { clusterRoleBindings: { clusterRoles: ['cluster-admin'] } } }));
      const o = await eventually('KcpUnreachable', async () => {
        const x = await client.get(Kubeconfigs, ns, 'admin');
        return condition(x, 'AuthorizationReady')?.reason === 'KcpUnreachable' ? x : undefined;
      }, 30_000);
      expect(condition(o, 'AuthorizationReady')?.message).toMatch(/cannot reach kcp at https:\/\/root\.shard\.example\.operator\.kcp\.io:6443/);
      // The Secret is usable; the bindings are still owed, which kstatus sees as in progress.
      expect(condition(o, 'Available')?.status).toBe('True');
      expect(condition(o, 'Reconciling')).toMatchObject({ status: 'True', reason: 'KcpUnreachable' });
      expect(status(o).phase).toBe('Ready');
      // Recorded before anything could be created, so the finalizer knows where to clean up.
      expect(status(o).authorization).toEqual({ provisionedCluster: 'root:team' });
      expect(o.metadata.finalizers).toContain('operator.kcp.io/cleanup-rbac');
      const events = (await client.list(Events, { namespace: ns })).items as Array<KubeObject & { reason?: string }>;
      expect(events.filter((e) => e.reason === 'KcpUnreachable')).toHaveLength(1);

      // Retries come from requeueAfter (nothing else changes), and write nothing.
      const key = `${ns}/admin`;
      await eventually('quiet', async () => {
        const before = op.client.stats.writes;
        await new Promise((r) => setTimeout(r, 1000));
        return op.client.stats.writes === before;
      });
      const writes = op.client.stats.writes;
      const n0 = reconciles(key);
      // Retries come every max(5 s, how long it has been failing), so the wait for two more grows
      // with how long the steps above took: at most about 3× that, plus 15 s. The deadline is
      // derived from that figure as measured here, with room to spare.
      const failingSince = Date.parse(condition(o, 'AuthorizationReady')?.lastTransitionTime ?? '');
      expect(failingSince).not.toBeNaN();
      await eventually('retried twice', () => reconciles(key) >= n0 + 2, 4 * Math.max(5_000, Date.now() - failingSince) + 20_000);
      expect(op.client.stats.writes - writes).toBe(0);
      expect((await client.list(Events, { namespace: ns })).items.filter((e) => (e as { reason?: string }).reason === 'KcpUnreachable')).toHaveLength(1);
    }, 300_000);

    it('lets go of the finalizer within the bounded wait on delete, with a Warning', async () => {
      const t0 = Date.now();
      await client.delete(Kubeconfigs, ns, 'admin');
      await eventually('deleted', () => gone(client, Kubeconfigs, ns, 'admin'), 30_000);
      // The bounded wait is 4 s from the deletionTimestamp, which has whole seconds: at least 3 s.
      expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
      const events = (await client.list(Events, { namespace: ns })).items as Array<KubeObject & { reason?: string; note?: string }>;
      const warning = events.find((e) => e.reason === 'UnprovisioningSkipped');
      expect(warning?.note).toMatch(/ClusterRoleBindings in root:team/);
    });
  });

  it('uses a CA a person replaced at once: the new client CA signs the certificate again, the new server CA goes into the kubeconfig', async () => {
    // The operator keeps what it derives from CA Secrets (the merged CA bundle, the loaded issuer)
    // while they stay as they are; here a person rotates both intermediate CAs by deleting them,
    // and the RootShard controller issues new ones under the same root.
    const caOf = async (name: string) => new X509Certificate(Buffer.from(String(((await client.get(Secrets, ns, name)).data as Record<string, string>)['tls.crt']), 'base64'));
    const read = async () => {
      const s = await client.get(Secrets, ns, 'rotated-kubeconfig');
      const kc = new KubeConfig();
      kc.loadFromString(Buffer.from((s.data as Record<string, string>).kubeconfig ?? '', 'base64').toString());
      const trusted = splitPemCertificates(Buffer.from(kc.getClusters()[0]?.caData ?? '', 'base64').toString()).map((d) => new X509Certificate(d).fingerprint256);
      return { trusted, cert: kubeconfigCert(s) };
    };
    const signedBy = (cert: X509Certificate, ca: X509Certificate) => cert.checkIssued(ca) && cert.verify(ca.publicKey);
    await client.create(Kubeconfigs, kubeconfig(ns, 'rotated', {}));
    await eventually('Ready', async () => status(await client.get(Kubeconfigs, ns, 'rotated')).phase === 'Ready', 30_000);
    const [client1, server1] = [await caOf('shard-sample-client-ca'), await caOf('shard-sample-server-ca')];
    const first = await read();
    expect(signedBy(first.cert, client1)).toBe(true);
    expect(first.trusted).toContain(server1.fingerprint256);

    await client.delete(Secrets, ns, 'shard-sample-client-ca');
    await client.delete(Secrets, ns, 'shard-sample-server-ca');
    const [client2, server2] = await eventually('new CAs', async () => {
      try {
        const cas = [await caOf('shard-sample-client-ca'), await caOf('shard-sample-server-ca')] as const;
        return cas[0].fingerprint256 !== client1.fingerprint256 && cas[1].fingerprint256 !== server1.fingerprint256 ? cas : undefined;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    }, 30_000);
    const after = await eventually('kubeconfig follows the new CAs', async () => {
      const now = await read();
      return signedBy(now.cert, client2) && now.trusted.includes(server2.fingerprint256) ? now : undefined;
    }, 60_000);
    expect(after.trusted).not.toContain(server1.fingerprint256);
  });
});
