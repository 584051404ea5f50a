// A Kubeconfig's ClusterRoleBindings inside kcp, end to end over HTTP. kcp cannot be built here,
// so its /clusters/<workspace> routing is played by a small TLS proxy in this file: it serves a
// certificate from the RootShard's server CA, demands a client certificate from its client CA
// (the operator's own identity), records the workspace, strips the prefix and forwards to the real
// API server. Every workspace therefore lands in the same real RBAC API; what the test checks is
// the protocol: where bindings go, what they say, that nothing is written at rest, and clean-up.
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kubeconfigs, RootShards } from '../../src/controllers/context.js';
import type { KubeClient, Verb } from '../../src/kube/client.js';
import { ApiError, isNotFound } from '../../src/kube/errors.js';
import type { KubeObject } from '../../src/kube/object.js';
import { Events, Secrets } from '../../src/kube/resources.js';
import type { TlsSecretData } from '../../src/pki/bundle.js';
import { rootShardCertificates } from '../../src/pki/hierarchy.js';
import { issuePlanned } from '../../src/pki/issue.js';
import { ClusterRoleBindings } from '../../src/resources/kubeconfig/rbac.js';
import { createNamespace, eventually, sharedClient } from './helpers.js';
import { builtInPkiRootShard } from './fixtures.js';
import { startOperator, type RunningOperator } from './operator.js';

type Cond = { type: string; status: string; reason: string; message: string };
/** How long a deleted Kubeconfig waits for kcp before its finalizer gives up (long here: never needed). */
const DEREGISTRATION_TIMEOUT_MS = 60_000;
const condition = (o: KubeObject | undefined, type: string) => ((o?.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
const tls = (s: KubeObject): TlsSecretData => {
  const d = s.data as Record<string, string>;
  const dec = (k: string) => Buffer.from(d[k] ?? '', 'base64').toString();
  return { 'tls.crt': dec('tls.crt'), 'tls.key': dec('tls.key'), 'ca.crt': dec('ca.crt') };
};

interface Seen {
  method: string;
  workspace: string;
  path: string;
  user: string;
}

/** The stand-in for kcp's front door (see the header). */
async function startKcpStandIn(backend: KubeClient, serving: TlsSecretData, clientCA: string) {
  const seen: Seen[] = [];
  const server = https.createServer({ cert: serving['tls.crt'], key: serving['tls.key'], ca: clientCA, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://kcp');
      const m = /^\/clusters\/([^/]+)(\/.*)$/.exec(url.pathname);
      const user = (req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '';
      if (!m) {
        res.writeHead(404).end();
        return;
      }
      const [, workspace = '', path = ''] = m;
      seen.push({ method: req.method ?? '', workspace, path, user: String(user) });
      const body = Buffer.concat(chunks).toString();
      backend
        .request({
          method: req.method as 'GET' | 'PATCH' | 'DELETE',
          path,
          query: Object.fromEntries(url.searchParams),
          body: body || undefined,
          contentType: req.headers['content-type'],
          verb: ({ GET: 'get', PATCH: 'patch', DELETE: 'delete' } as Record<string, Verb>)[req.method ?? ''] ?? 'get',
        })
        .then(
          (out) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out)),
          (err: unknown) => {
            const code = err instanceof ApiError ? err.code : 502;
            res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason: err instanceof ApiError ? err.reason : 'BadGateway', message: String(err) }));
          },
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('Kubeconfig ClusterRoleBindings in kcp (kcp routing played by a proxy, real RBAC API behind it)', () => {
  let client: KubeClient;
  let ns: string;
  let op: RunningOperator;
  let kcp: Awaited<ReturnType<typeof startKcpStandIn>>;
  let uid: string;
  const bindings = async () =>
    (await client.list<KubeObject>(ClusterRoleBindings, { labelSelector: `operator.kcp.io/kubeconfig=${uid}` })).items as Array<KubeObject & { roleRef: { name: string }; subjects: Array<{ kind: string; name: string }> }>;
  const writesTo = (workspace?: string) => kcp.seen.filter((s) => s.method !== 'GET' && (!workspace || s.workspace === workspace));

  beforeAll(async () => {
    client = await sharedClient('kubeconfig-rbac-test');
    ns = await createNamespace(client, 'kubeconfig-rbac');
    op = await startOperator({ namespace: ns, deregistrationTimeoutMs: DEREGISTRATION_TIMEOUT_MS });
    // The RootShard's CAs first (its base URL is the stand-in's, which needs them to exist).
    const rs = builtInPkiRootShard(ns);
    (rs.spec as Record<string, unknown>).shardBaseURL = 'https://127.0.0.1:1';
    await client.create(RootShards, rs);
    const serverCA = tls(await eventually('server CA', () => client.get(Secrets, ns, 'shard-sample-server-ca'), 30_000));
    const clientCA = tls(await eventually('client CA', () => client.get(Secrets, ns, 'shard-sample-client-ca'), 30_000));
    const plan = rootShardCertificates({ name: 'shard-sample', namespace: ns, externalHostname: 'kcp.test', templates: { server: { ipAddresses: ['127.0.0.1'] } } }).find((p) => p.templateKey === 'server')!;
    const serving = (await issuePlanned(plan, { issuerSecret: serverCA })).secretData;
    kcp = await startKcpStandIn(client, serving, clientCA['tls.crt'] + clientCA['ca.crt']);
    await client.patch(RootShards, ns, 'shard-sample', { spec: { shardBaseURL: `https://127.0.0.1:${kcp.port}` } }, 'merge');
  });
  afterAll(async () => {
    await op?.stop();
    await kcp?.close();
    client?.close();
  });

  it('creates the bindings in the target workspace as the operator, and then writes nothing at rest', async () => {
    await client.create(Kubeconfigs, {
      apiVersion: 'operator.kcp.io/v1alpha1',
      kind: 'Kubeconfig',
      metadata: { name: 'team', namespace: ns },
      spec: {
        username: 'alice',
        validity: '24h',
        secretRef: { name: 'team-kubeconfig' },
        target: { rootShardRef: { name: 'shard-sample' } },
        targetWorkspace: 'root:team',
        authorization: { clusterRoleBindings: { clusterRoles: ['view', 'edit'] } },
      },
    });
    const kc = await eventually('Provisioned', async () => {
      const o = await client.get(Kubeconfigs, ns, 'team');
      return condition(o, 'AuthorizationReady')?.reason === 'Provisioned' ? o : undefined;
    }, 30_000);
    uid = kc.metadata.uid ?? '';
    expect(kc.status).toMatchObject({ phase: 'Ready', authorization: { provisionedCluster: 'root:team' } });
    expect(condition(kc, 'Reconciling')?.status).toBe('False');
    const crbs = await bindings();
    expect(crbs.map((b) => b.metadata.name).sort()).toEqual([`${uid}:edit`, `${uid}:view`]);
    for (const b of crbs) expect(b.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'kubeconfig:team' }]);
    // Everything went to the target workspace, authenticated as the operator.
    expect(new Set(kcp.seen.map((s) => s.workspace))).toEqual(new Set(['root:team']));
    expect(new Set(kcp.seen.map((s) => s.user))).toEqual(new Set(['system:kcp-operator']));
    // The group the bindings name is in the kubeconfig's certificate.
    const certPem = tls(await client.get(Secrets, ns, 'kubeconfig-cert-team'))['tls.crt'];
    expect(new X509Certificate(certPem).subject).toContain('O=kubeconfig:team');

    // A reconcile of the unchanged Kubeconfig: reads kcp, writes nothing there or here.
    await eventually('quiet', async () => {
      const w = op.client.stats.writes;
      await new Promise((r) => setTimeout(r, 1000));
      return op.client.stats.writes === w;
    });
    const before = { kcp: writesTo().length, cluster: op.client.stats.writes, reads: kcp.seen.length };
    const ctl = (op.manager as unknown as { controllers: Array<{ name: string; queue: { add(k: string): void; length: number; processingCount: number } }> }).controllers.find((c) => c.name === 'kubeconfig')!;
    ctl.queue.add(`${ns}/team`);
    await eventually('read again', () => kcp.seen.length > before.reads);
    // That reconcile has finished (not merely had time to), so any write it made is counted.
    await eventually('reconcile done', () => ctl.queue.length === 0 && ctl.queue.processingCount === 0);
    expect(writesTo().length).toBe(before.kcp);
    expect(op.client.stats.writes).toBe(before.cluster);
  });

  it('removes a binding that is no longer asked for', async () => {
    await client.patch(Kubeconfigs, ns, 'team', { spec: { authorization: { clusterRoleBindings: { clusterRoles: ['view'] } } } }, 'merge');
    await eventually('edit removed', async () => (await bindings()).map((b) => b.metadata.name).join() === `${uid}:view`);
  });

  it('moves the bindings when the target workspace changes: the old workspace is cleaned first', async () => {
    const mark = kcp.seen.length;
    await client.patch(Kubeconfigs, ns, 'team', { spec: { targetWorkspace: 'root:other' } }, 'merge');
    const kc = await eventually('moved', async () => {
      const o = await client.get(Kubeconfigs, ns, 'team');
      return (o.status as { authorization?: { provisionedCluster: string } }).authorization?.provisionedCluster === 'root:other' && condition(o, 'AuthorizationReady')?.reason === 'Provisioned' ? o : undefined;
    });
    const after = kcp.seen.slice(mark).filter((s) => s.method !== 'GET');
    const firstNew = after.findIndex((s) => s.workspace === 'root:other');
    expect(after.slice(0, firstNew).every((s) => s.method === 'DELETE' && s.workspace === 'root:team')).toBe(true);
    expect(after.slice(0, firstNew)).toHaveLength(1);
    expect(condition(kc, 'AuthorizationReady')?.message).toMatch(/view in workspace root:other/);
    expect((await bindings()).map((b) => b.metadata.name)).toEqual([`${uid}:view`]);
  });

  it('removes the bindings on delete and lets the Kubeconfig go at once', async () => {
    const t0 = Date.now();
    await client.delete(Kubeconfigs, ns, 'team');
    await eventually('deleted', async () => {
      try {
        await client.get(Kubeconfigs, ns, 'team');
        return false;
      } catch (err) {
        return isNotFound(err);
      }
    }, DEREGISTRATION_TIMEOUT_MS - 10_000);
    // Gone before the bounded wait could have run out: the finalizer let go because the cleanup
    // succeeded, not because it gave up waiting (which also leaves no UnprovisioningSkipped below).
    expect(Date.now() - t0).toBeLessThan(DEREGISTRATION_TIMEOUT_MS);
    expect(await bindings()).toEqual([]);
    expect(writesTo('root:other').at(-1)?.method).toBe('DELETE');
    const events = (await client.list(Events, { namespace: ns })).items as Array<KubeObject & { reason?: string }>;
    expect(events.some((e) => e.reason === 'Unprovisioned')).toBe(true);
    expect(events.some((e) => e.reason === 'UnprovisioningSkipped')).toBe(false);
  });
});
