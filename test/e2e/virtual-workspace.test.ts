// An external VirtualWorkspace on real kcp v0.32.3: config/samples' etcd for the root shard, the
// RootShard `root` with spec.kcpVirtualWorkspace naming VirtualWorkspace `vw` (kcp's own
// /virtual-workspaces server), the FrontProxy and the admin Kubeconfig; one replica each. The
// VirtualWorkspace's external address is its own Service (as in kcp-operator's e2e): kcp itself
// dials that URL with the shard's system:masters certificate (workspace initialization), which a
// front-proxy would strip. Users reach the same /services/ paths through the front-proxy, whose
// /services/ mapping goes to the VirtualWorkspace's Service.
// The operator runs as a process under deploy/'s RBAC; kcp, kcp-front-proxy, virtual-workspaces
// and etcd run as Pods of the pod runner.
//
// The harness stands in for: the kubelet and the Deployment controller (the pod runner), cluster
// DNS (Service names in the Pods' /etc/hosts),
// the LoadBalancer plus public DNS in front of the front-proxy (a port-forward with tls-server-name),
// and the ServiceAccount token a kubelet mounts: kcp's virtual-workspaces server builds its
// delegated-authentication client from the in-cluster config, which the pod runner does not
// provide, so the VirtualWorkspace passes --authentication-kubeconfig (extraArgs) instead. Users
// go through the generated admin kubeconfig and the front-proxy only.
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/object.js';
import { ConfigMaps, Deployments } from '../../src/kube/resources.js';
import { VirtualWorkspaces } from '../../src/controllers/context.js';
import { LocalStack } from '../../local/stack.js';
import { eventually } from '../integration/helpers.js';
import { apiBinding, widgetExport } from './cache-topology.js';
import { KcpUser } from './kcp-user.js';
import { FRONT_PROXY_PORT, FRONT_PROXY_SERVICE, sampleObjects, waitAvailable } from './topology.js';

const NS = 'kcp-e2e-vw';
const VW = 'vw';
const VW_DEPLOYMENT = `${VW}-virtual-workspace`;
const GROUP = 'widgets.vw.example.io';
const EXPORT = 'widgets';
const VW_HOST = `${VW_DEPLOYMENT}.${NS}.svc.cluster.local`;
const TOPOLOGY = ['rootshard/root', `virtualworkspace/${VW}`, 'frontproxy/front-proxy', 'kubeconfig/kcp-admin'];

/** The samples for the root shard alone, one replica each, the root shard's virtual workspaces in `vw`. */
function topology(): KubeObject[] {
  const samples = sampleObjects();
  const one = (kind: string): KubeObject & { spec: Record<string, unknown> } => {
    const o = samples.find((x) => x.kind === kind);
    if (!o) throw new Error(`config/samples has no ${kind}`);
    return structuredClone(o) as KubeObject & { spec: Record<string, unknown> };
  };
  const etcd = samples.filter((o) => (o.kind === 'Deployment' || o.kind === 'Service') && o.metadata.name === 'etcd-root');
  const rootShard = one('RootShard');
  rootShard.spec.replicas = 1;
  rootShard.spec.kcpVirtualWorkspace = { name: VW };
  const frontProxy = one('FrontProxy');
  frontProxy.spec.replicas = 1;
  const vw: KubeObject = {
    apiVersion: 'operator.kcp.io/v1alpha1',
    kind: 'VirtualWorkspace',
    metadata: { name: VW },
    spec: {
      target: { rootShardRef: { name: 'root' } },
      // Its own Service: kcp reaches it directly (see the header).
      external: { hostname: VW_HOST, port: 6443 },
      replicas: 1,
      // Stands in for the in-cluster ServiceAccount config (see the header).
      extraArgs: ['--authentication-kubeconfig=/etc/kcp/logical-cluster-admin-kubeconfig/kubeconfig'],
    },
  };
  return [...etcd, vw, rootShard, frontProxy, one('Kubeconfig')];
}

describe('external VirtualWorkspace on real kcp', () => {
  let stack: LocalStack;
  let forward: { port: number; close(): Promise<void> };
  let admin: KcpUser;
  let widgetsPath = '';

  beforeAll(async () => {
    const t0 = Date.now();
    stack = await LocalStack.start({ name: 'e2e-vw', namespace: NS, crashLoopBackOffMs: 2_000 });
    await stack.apply(topology());
    try {
      await waitAvailable(stack, TOPOLOGY);
    } catch (err) {
      const pods = stack.runner.podsOf(VW_DEPLOYMENT).map((p) => `${p.name}: ready=${p.ready} restarts=${p.restartCount} log=${p.logPath}`);
      throw new Error(`${String(err)}\n${await stack.kubectl(['-n', NS, 'get', 'rootshards,virtualworkspaces,frontproxies,kubeconfigs,deployments', '-o', 'wide'])}\n${pods.join('\n')}`);
    }
    console.log(`external-VW topology Available in ${Date.now() - t0} ms`);
    forward = await stack.runner.forward(FRONT_PROXY_SERVICE, FRONT_PROXY_PORT);
    admin = await KcpUser.fromSecret(stack, 'kcp-admin-kubeconfig', forward.port);
  });

  afterAll(async () => {
    await forward?.close();
    await stack?.stop();
  });

  it('the root shard runs no virtual workspaces itself; the front-proxy sends /services/ to the VirtualWorkspace', async () => {
    const dep = await stack.admin.get(Deployments, NS, 'root-kcp');
    const args = (dep.spec as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec.containers[0]?.args ?? [];
    expect(args).toEqual(
      expect.arrayContaining([
        '--run-virtual-workspaces=false',
        `--shard-virtual-workspace-url=https://${VW_HOST}:6443`,
        '--shard-virtual-workspace-ca-file=/etc/kcp/tls/ca/server/tls.crt',
      ]),
    );
    const cm = await stack.admin.get(ConfigMaps, NS, 'front-proxy-config');
    const mapping = parse((cm.data as Record<string, string>)['path-mapping.yaml'] ?? '') as Array<{ path: string; backend: string }>;
    expect(mapping.find((e) => e.path === '/services/')?.backend).toBe(`https://${VW_HOST}:6443`);
    expect(stack.runner.podsOf(VW_DEPLOYMENT).every((p) => p.ready)).toBe(true);
  });

  it('an APIExport\'s endpoint slice URL, published by kcp, answers through the front-proxy from the VirtualWorkspace', async () => {
    for (const o of widgetExport(EXPORT, GROUP)) await admin.must('root', ['apply', '-f', '-'], JSON.stringify(o));
    // kcp publishes a shard's URL in the slice only once the export is bound there.
    await eventually(
      'APIBinding accepted',
      async () => (await admin.kubectl('root', ['apply', '-f', '-'], JSON.stringify(apiBinding(EXPORT, 'root', EXPORT)))).code === 0,
      120_000,
    );
    await eventually(
      'APIBinding Bound',
      async () => (await admin.kubectl('root', ['get', 'apibindings.apis.kcp.io', EXPORT, '-o', 'jsonpath={.status.phase}'])).stdout === 'Bound',
      120_000,
    );
    const widget = { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'blue', namespace: 'default' }, spec: { color: 'blue' } };
    await eventually('Widget created', async () => (await admin.kubectl('root', ['apply', '-f', '-'], JSON.stringify(widget))).code === 0, 120_000);

    const url = await eventually(
      'endpoint slice URL',
      async () => {
        const r = await admin.kubectl('root', ['get', 'apiexportendpointslices.apis.kcp.io', EXPORT, '-o', 'jsonpath={.status.endpoints[*].url}']);
        return r.code === 0 && r.stdout.trim() ? r.stdout.trim() : undefined;
      },
      120_000,
    );
    // kcp built it from the shard's --shard-virtual-workspace-url: the VirtualWorkspace's external address.
    expect(url).toBe(`https://${VW_HOST}:6443/services/apiexport/root/${EXPORT}`);
    // The same path, asked of the front-proxy.
    widgetsPath = `${new URL(url).pathname}/clusters/*/apis/${GROUP}/v1/widgets`;
    let last = '';
    const list = await eventually(
      'widgets through the virtual workspace',
      async () => {
        const r = await admin.raw(widgetsPath);
        last = r.stderr;
        return r.code === 0 ? (JSON.parse(r.stdout) as { kind: string; items: Array<{ metadata: { name: string } }> }) : undefined;
      },
      120_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last answer: ${last}`);
    });
    expect(list.kind).toBe('WidgetList');
    expect(list.items.map((i) => i.metadata.name)).toContain('blue');
  });

  it('a workspace created through the front-proxy is initialized (kcp reaches the initializing workspaces in the VirtualWorkspace)', async () => {
    await admin.createWorkspace('root', 'vw-team');
    await eventually('workspace Ready', async () => (await admin.workspace('root', 'vw-team')).status?.phase === 'Ready', 180_000);
  });

  it('without the VirtualWorkspace\'s Pod the same URL has no answer: nothing else serves it', async () => {
    expect(widgetsPath).not.toBe('');
    await stack.admin.patch(VirtualWorkspaces, NS, VW, { spec: { replicas: 0 } }, 'merge');
    await eventually('no VirtualWorkspace Pod', () => stack.runner.podsOf(VW_DEPLOYMENT).length === 0, 120_000);
    const r = await eventually(
      'the URL fails',
      async () => {
        const x = await admin.raw(widgetsPath);
        return x.code !== 0 ? x : undefined;
      },
      60_000,
    );
    expect(r.stderr).not.toBe('');
  });
});
