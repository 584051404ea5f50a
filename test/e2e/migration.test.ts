// Migration from kcp-operator on real kcp v0.32.3: the Secrets, ConfigMaps, Services and
// Deployments kcp-operator v0.9.0 (with cert-manager v1.20.2) left in a namespace (captured from a
// real run, ../shared/fixtures/migration/) boot as they are, a workspace is created through the
// captured front-proxy with the captured admin kubeconfig, and only then this operator starts on
// the same CRs. The workspace must still be served afterwards, and a new one can be created.
//
// The harness stands in for: kcp-operator and cert-manager (not running: only what they left is
// applied, under kcp-operator's field manager `manager`; cert-manager's own objects are left out,
// the integration test covers them), the kubelet and the Deployment controller (the pod runner),
// cluster DNS, and the LoadBalancer plus public DNS in front of the front-proxy (a port-forward,
// tls-server-name kcp.example.test).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/object.js';
import { LocalStack } from '../../local/stack.js';
import { eventually } from '../integration/helpers.js';
import { KcpUser } from './kcp-user.js';
import { sampleObjects, waitAvailable } from './topology.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.resolve(here, '../../../shared/fixtures/migration/kcp-operator-v0.9.0-standard-topology.yaml');
// The captured namespace: the certificates' SANs and the shards' --shard-base-url name it.
const NS = 'bench-0';
const CRS = ['RootShard', 'Shard', 'FrontProxy', 'Kubeconfig'];
const LEFT = ['Secret', 'ConfigMap', 'Service', 'Deployment'];
const KCP = ['root-kcp', 'second-shard-kcp', 'fp-front-proxy', 'root-proxy'];

const fixture = parseAllDocuments(readFileSync(FIXTURE, 'utf8'))
  .map((d) => d.toJS() as KubeObject | null)
  .filter((o): o is KubeObject => o !== null);

/** The samples' single-member etcds, renamed to the fixture's plain-http `etcd` and `etcd-shard`. */
function etcds(): KubeObject[] {
  const text = JSON.stringify(sampleObjects().filter((o) => /^etcd-/.test(o.metadata.name ?? '')));
  return JSON.parse(text.replaceAll('etcd-shard-2', 'etcd-shard').replaceAll('etcd-root', 'etcd')) as KubeObject[];
}

describe('migration from kcp-operator on real kcp', () => {
  let stack: LocalStack;
  let forward: { port: number; close(): Promise<void> };
  let admin: KcpUser;
  const uids = new Map<string, string>();

  beforeAll(async () => {
    stack = await LocalStack.start({ name: 'e2e-migration', namespace: NS, crashLoopBackOffMs: 2_000, operator: false });
    await stack.apply(etcds());
    // The CRs first (inert: no operator runs), for the uids that the capture dropped from ownerReferences.
    const strip = (o: KubeObject): KubeObject => {
      const { status: _status, ...rest } = o as KubeObject & { status?: unknown };
      return { ...rest, metadata: { ...o.metadata, namespace: NS } };
    };
    await stack.apply(fixture.filter((o) => CRS.includes(o.kind ?? '')).map(strip), 'manager');
    for (const o of fixture.filter((x) => CRS.includes(x.kind ?? ''))) {
      const live = JSON.parse(await stack.kubectl(['-n', NS, 'get', `${o.kind}/${o.metadata.name}`, '-o', 'json'])) as KubeObject;
      uids.set(`${o.kind}/${o.metadata.name}`, live.metadata.uid ?? '');
    }
    const left = fixture
      .filter((o) => LEFT.includes(o.kind ?? ''))
      .map(strip)
      .map((o) => ({
        ...o,
        metadata: {
          ...o.metadata,
          // kcp-operator's internal Compiled* objects do not exist here: any uid will do (no garbage collector acts on it).
          ownerReferences: o.metadata.ownerReferences?.map((r) => ({ ...r, uid: uids.get(`${r.kind}/${r.name}`) ?? '00000000-0000-4000-8000-000000000000' })),
        },
      }));
    await stack.apply(left, 'manager');
    // Public DNS for kcp.example.test (the RootShard's external hostname, which kcp itself reaches
    // too): the pod runner resolves the ExternalDNS annotation. A user's own annotation (another
    // field manager than kcp-operator's), so it survives the takeover as it would in a cluster.
    await stack.kubectl(['-n', NS, 'annotate', 'service', 'fp-front-proxy', 'external-dns.alpha.kubernetes.io/hostname=kcp.example.test']);
    for (const d of KCP) {
      await eventually(`${d} ready (kcp-operator's rendering)`, () => {
        const pods = stack.runner.podsOf(d);
        return pods.length > 0 && pods.every((p) => p.ready);
      }, 240_000);
    }
    forward = await stack.runner.forward('fp-front-proxy', 6443);
    admin = await KcpUser.fromSecret(stack, 'admin-kubeconfig', forward.port);
  }, 400_000);

  afterAll(async () => {
    await forward?.close();
    await stack?.stop();
  });

  it('keeps serving workspaces created before the switch, and creates new ones after it', async () => {
    await eventually('workspace before the switch', async () => {
      const r = await admin.kubectl('root', ['get', 'workspace', 'before', '-o', 'name']);
      if (r.code !== 0) {
        const c = await admin.kubectl('root', ['create', '-f', '-'], JSON.stringify({ apiVersion: 'tenancy.kcp.io/v1alpha1', kind: 'Workspace', metadata: { name: 'before' }, spec: {} }));
        // Surfaces in the timeout message if kcp never accepts it.
        if (c.code !== 0) throw new Error(`${r.stderr.trim()} / ${c.stderr.trim()}`);
      }
      return (await admin.workspace('root', 'before')).status?.phase === 'Ready';
    }, 120_000);
    await admin.must('root:before', ['create', 'configmap', 'marker', '--from-literal=written=before']);

    const beforeSwitch = new Set(['root-kcp', 'second-shard-kcp', 'fp-front-proxy'].flatMap((d) => stack.runner.podsOf(d).map((p) => p.name)));
    await stack.startOperator();
    await waitAvailable(stack, ['rootshard/root', 'shard/second', 'frontproxy/fp', 'kubeconfig/admin'], '300s');
    // The Deployments the operator rendered have rolled out: every Pod is new (a new pod-template hash) and ready.
    for (const d of ['root-kcp', 'second-shard-kcp', 'fp-front-proxy']) {
      await eventually(`${d} rolled to the operator's rendering`, () => {
        const pods = stack.runner.podsOf(d);
        return pods.length > 0 && pods.every((p) => p.ready && !beforeSwitch.has(p.name));
      }, 240_000);
    }

    // The same admin kubeconfig (its client certificate was adopted, not reissued).
    const user = await KcpUser.fromSecret(stack, 'admin-kubeconfig', forward.port, 'admin-after');
    const marker = await eventually('the workspace from before', async () => {
      const r = await user.kubectl('root:before', ['get', 'configmap', 'marker', '-o', 'jsonpath={.data.written}']);
      return r.code === 0 ? r.stdout : undefined;
    }, 120_000);
    expect(marker).toBe('before');
    await user.createWorkspace('root', 'after');
    await eventually('a new workspace', async () => (await user.workspace('root', 'after')).status?.phase === 'Ready', 120_000);
  }, 600_000);
});
