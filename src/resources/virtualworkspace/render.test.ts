// The VirtualWorkspace builders, and what a shard and a front-proxy render for one: explicit
// asserts on kcp-operator v0.9.0's names, labels, arguments and mount paths, and on what a shard
// with spec.kcpVirtualWorkspace passes to kcp.
import { describe, expect, it } from 'vitest';
import type { FrontProxySpec } from '../../api/frontproxy.js';
import type { RootShardSpec } from '../../api/rootshard.js';
import type { VirtualWorkspaceSpec } from '../../api/virtualworkspace.js';
import type { KubeObject } from '../../kube/object.js';
import { MOUNTS_HASH_ANNOTATION } from '../common/workload.js';
import { pathMappings } from '../frontproxy/config.js';
import { shardArgs } from '../shard/deployment.js';
import type { ShardModel } from '../shard/model.js';
import { virtualWorkspaceExternalURL, virtualWorkspaceNames, virtualWorkspaceServiceURL, type VirtualWorkspaceModel } from './model.js';
import { mergedClientCASecret, virtualWorkspaceArgs, virtualWorkspaceDeployment, virtualWorkspaceService } from './render.js';

const rootSpec: RootShardSpec = {
  external: { hostname: 'kcp.example.com', port: 6443 },
  cache: { embedded: { enabled: true } },
  etcd: { endpoints: ['http://etcd:2379'] },
};
const owner: KubeObject = { apiVersion: 'operator.kcp.io/v1alpha1', kind: 'VirtualWorkspace', metadata: { name: 'vw', namespace: 'kcp', uid: 'u1' } };

const model = (spec: Partial<VirtualWorkspaceSpec> = {}, over: Partial<VirtualWorkspaceModel> = {}): VirtualWorkspaceModel => ({
  owner,
  name: 'vw',
  namespace: 'kcp',
  spec: { target: { rootShardRef: { name: 'root' } }, external: { hostname: 'kcp.example.com', port: 6443 }, ...spec },
  root: { name: 'root', spec: rootSpec },
  target: { kind: 'RootShard', name: 'root' },
  ...over,
});

type Container = {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  volumeMounts: Array<{ name: string; mountPath: string }>;
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  startupProbe?: unknown;
};
type Pod = {
  containers: Container[];
  initContainers?: Container[];
  volumes: Array<{ name: string; secret?: { secretName: string; items?: unknown[] }; emptyDir?: unknown }>;
};
const pod = (d: KubeObject) => (d.spec as { template: { spec: Pod } }).template.spec;
const mountsOf = (c: Container | undefined) => Object.fromEntries((c?.volumeMounts ?? []).map((v) => [v.mountPath, v.name]));

describe('VirtualWorkspace rendering', () => {
  it('names the Deployment, Service, certificates and merged client CA as kcp-operator does', () => {
    const m = model();
    expect(virtualWorkspaceNames(m)).toMatchObject({
      deployment: 'vw-virtual-workspace',
      server: 'vw-server',
      client: 'vw-client',
      mergedClientCA: 'vw-merged-client-ca',
      targetKubeconfig: 'root-logical-cluster-admin-kubeconfig',
    });
    const d = virtualWorkspaceDeployment(m, 'h');
    const s = virtualWorkspaceService(m);
    for (const o of [d, s]) {
      expect(o.metadata.name).toBe('vw-virtual-workspace');
      expect(o.metadata.labels).toMatchObject({ 'app.kubernetes.io/component': 'virtual-workspace', 'app.kubernetes.io/instance': 'vw', 'app.kubernetes.io/managed-by': 'kcp-operator' });
      expect(o.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'VirtualWorkspace', name: 'vw', controller: true });
    }
    expect((s.spec as { ports: unknown[] }).ports).toEqual([{ name: 'https', port: 6443, targetPort: 6443, protocol: 'TCP', appProtocol: 'https' }]);
    expect(mergedClientCASecret(m, 'CA', []).metadata).toMatchObject({
      name: 'vw-merged-client-ca',
      labels: { 'operator.kcp.io/rootshard': 'root', 'operator.kcp.io/virtual-workspace': 'vw' },
    });
  });

  it('runs /virtual-workspaces in container kcp with kcp-operator\'s arguments, without probes', () => {
    const d = virtualWorkspaceDeployment(model({ logging: { level: 4 }, extraArgs: ['--foo=bar'] }), 'h');
    const c = pod(d).containers[0];
    expect(c?.name).toBe('kcp');
    expect(c?.image).toMatch(/^ghcr\.io\/kcp-dev\/kcp:v/);
    expect(c?.command).toEqual(['/virtual-workspaces']);
    expect(c?.args).toEqual([
      '--client-ca-file=/etc/kcp/tls/ca/client/tls.crt',
      '--tls-private-key-file=/etc/kcp/tls/server/tls.key',
      '--tls-cert-file=/etc/kcp/tls/server/tls.crt',
      '--bind-address=0.0.0.0',
      '--secure-port=6443',
      '--requestheader-client-ca-file=/etc/kcp/tls/ca/requestheader-client/tls.crt',
      '--requestheader-allowed-names=kcp-front-proxy,kcp-root-shard-proxy',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      '--kubeconfig=/etc/kcp/logical-cluster-admin-kubeconfig/kubeconfig',
      '--shard-external-url=https://127.0.0.1:6443',
      '-v=4',
      '--foo=bar',
    ]);
    expect(c?.readinessProbe ?? c?.livenessProbe ?? c?.startupProbe).toBeUndefined();
    expect((d.spec as { replicas: number }).replicas).toBe(2);
    expect((d.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations[MOUNTS_HASH_ANNOTATION]).toBe('h');
  });

  it('mounts the RootShard CAs (certificates only), its serving certificate, and its own client certificate where the borrowed kubeconfig expects the admin\'s', () => {
    const p = pod(virtualWorkspaceDeployment(model(), 'h'));
    expect(mountsOf(p.containers[0])).toEqual({
      '/etc/kcp/tls/ca/root': 'kcp-ca',
      '/etc/kcp/tls/ca/server': 'server-ca',
      '/etc/kcp/tls/ca/requestheader-client': 'requestheader-client-ca',
      '/etc/kcp/tls/ca/client': 'client-ca',
      '/etc/kcp/tls/server': 'server-cert',
      '/etc/kcp/logical-cluster-admin-kubeconfig': 'logical-cluster-admin-kubeconfig',
      '/etc/kcp/tls/logical-cluster-admin': 'client-cert',
      '/etc/kcp/tls/ca/ca-bundle': 'ca-bundle',
    });
    const vol = Object.fromEntries(p.volumes.map((v) => [v.name, v.secret]));
    expect(vol['client-cert']?.secretName).toBe('vw-client');
    expect(vol['logical-cluster-admin-kubeconfig']?.secretName).toBe('root-logical-cluster-admin-kubeconfig');
    expect(vol['ca-bundle']?.secretName).toBe('root-merged-ca-bundle');
    // CA private keys never enter the Pod.
    for (const ca of ['kcp-ca', 'server-ca', 'requestheader-client-ca', 'client-ca']) expect(vol[ca]?.items).toEqual([{ key: 'tls.crt', path: 'tls.crt' }]);
    expect(vol['kcp-ca']?.secretName).toBe('root-ca');
    expect(vol['client-ca']?.secretName).toBe('root-client-ca');
  });

  it('trusts the merged client CA when a clientCABundleRef is set', () => {
    const p = pod(virtualWorkspaceDeployment(model({ clientCABundleRef: { name: 'extra' } }), 'h'));
    const v = p.volumes.find((x) => x.name === 'client-ca');
    expect(v?.secret).toEqual({ secretName: 'vw-merged-client-ca' });
  });

  it('borrows a Shard target\'s kubeconfig and passes the effective cache server', () => {
    const m = model({ target: { shardRef: { name: 's1' } } }, { target: { kind: 'Shard', name: 's1' }, cacheServer: 'cache' });
    const p = pod(virtualWorkspaceDeployment(m, 'h'));
    expect(virtualWorkspaceArgs(m)).toContain('--cache-kubeconfig=/etc/cache-server/kubeconfig/kubeconfig');
    expect(mountsOf(p.containers[0])).toMatchObject({
      '/etc/cache-server/kubeconfig': 'cache-server-kubeconfig',
      '/etc/cache-server/tls/ca/root': 'cache-server-ca',
      '/etc/cache-server/tls/client-certificate': 'cache-server-client-cert',
    });
    expect(p.volumes.find((v) => v.name === 'logical-cluster-admin-kubeconfig')?.secret?.secretName).toBe('s1-logical-cluster-admin-kubeconfig');
    expect(virtualWorkspaceArgs(model())).not.toContain('--cache-kubeconfig=/etc/cache-server/kubeconfig/kubeconfig');
  });

  it('passes a custom server (spec.command) only the flags every aggregated API server takes; the cache stays mounted', () => {
    const m = model({ command: ['/access-vw'] }, { cacheServer: 'cache' });
    const a = virtualWorkspaceArgs(m);
    expect(a.filter((x) => x.startsWith('--shard-external-url') || x.startsWith('--cache-kubeconfig'))).toEqual([]);
    expect(a).toContain('--kubeconfig=/etc/kcp/logical-cluster-admin-kubeconfig/kubeconfig');
    expect(mountsOf(pod(virtualWorkspaceDeployment(m, 'h')).containers[0])['/etc/cache-server/kubeconfig']).toBe('cache-server-kubeconfig');
  });

  it('with kubeconfigSecretRef: the server uses that kubeconfig and holds no admin credential', () => {
    const p = pod(virtualWorkspaceDeployment(model({ kubeconfigSecretRef: { name: 'mine' } }), 'h'));
    const mounts = mountsOf(p.containers[0]);
    expect(mounts['/etc/kcp/server-kubeconfig']).toBe('server-kubeconfig');
    expect(mounts['/etc/kcp/tls/logical-cluster-admin']).toBeUndefined();
    expect(mounts['/etc/kcp/logical-cluster-admin-kubeconfig']).toBeUndefined();
    expect(p.containers[0]?.args).toContain('--kubeconfig=/etc/kcp/server-kubeconfig/kubeconfig');
    expect(p.volumes.some((v) => v.name === 'client-cert')).toBe(false);
  });

  it('gives init containers the shared mounts, their own kubeconfig, their own mounts; volumes are named once (first wins)', () => {
    const p = pod(
      virtualWorkspaceDeployment(
        model({
          command: ['/access-vw'],
          kubeconfigSecretRef: { name: 'server-kc' },
          extraVolumes: [{ name: 'state', emptyDir: {} }],
          extraVolumeMounts: [{ name: 'state', mountPath: '/var/lib/state' }],
          initContainers: [
            { name: 'init', command: ['/access-vw-init'], kubeconfigSecretRef: { name: 'init-kc' }, volumes: [{ name: 'state', secret: { secretName: 'ignored' } }], volumeMounts: [{ name: 'state', mountPath: '/w' }] },
            { name: 'plain', image: { repository: 'example.com/tool', tag: 'v1', imagePullSecrets: [{ name: 'reg' }] } },
          ],
        }),
        'h',
      ),
    );
    expect(p.containers[0]?.command).toEqual(['/access-vw']);
    const [init, plain] = p.initContainers ?? [];
    expect(init?.image).toBe(p.containers[0]?.image);
    expect(init?.command).toEqual(['/access-vw-init']);
    expect(mountsOf(init)).toMatchObject({ '/etc/kcp/tls/server': 'server-cert', '/etc/kcp/init-kubeconfig': 'init-init-kubeconfig', '/w': 'state' });
    expect(mountsOf(init)['/var/lib/state']).toBeUndefined();
    expect(mountsOf(init)['/etc/kcp/tls/logical-cluster-admin']).toBeUndefined();
    // Without a kubeconfig of its own an init container falls back to the admin credential.
    expect(mountsOf(plain)['/etc/kcp/tls/logical-cluster-admin']).toBe('client-cert');
    expect(plain?.image).toBe('example.com/tool:v1');
    expect(mountsOf(p.containers[0])['/var/lib/state']).toBe('state');
    expect(p.volumes.filter((v) => v.name === 'state')).toEqual([{ name: 'state', emptyDir: {} }]);
    expect(new Set(p.volumes.map((v) => v.name)).size).toBe(p.volumes.length);
    expect((p as { imagePullSecrets?: unknown }).imagePullSecrets).toEqual([{ name: 'reg' }]);
  });

  it('publishes https://<external.hostname>:<external.port>, and is reached in-cluster through its Service', () => {
    expect(virtualWorkspaceExternalURL({ external: { hostname: 'kcp.example.com', port: 443 } })).toBe('https://kcp.example.com:443');
    expect(virtualWorkspaceServiceURL('vw', 'kcp', undefined)).toBe('https://vw-virtual-workspace.kcp.svc.cluster.local:6443');
  });
});

describe('a shard with spec.kcpVirtualWorkspace', () => {
  const shard = (virtualWorkspaceURL?: string): ShardModel => ({
    kind: 'RootShard',
    owner: { ...owner, kind: 'RootShard', metadata: { name: 'root', namespace: 'kcp', uid: 'u2' } },
    name: 'root',
    namespace: 'kcp',
    spec: { ...rootSpec, kcpVirtualWorkspace: { name: 'vw' } },
    root: { name: 'root', spec: rootSpec },
    serviceAccountPeers: [],
    ...(virtualWorkspaceURL ? { virtualWorkspaceURL } : {}),
  });

  it('runs no virtual workspaces itself and tells kcp where they are, verified with the server CA', () => {
    expect(shardArgs(shard('https://kcp.example.com:6443'))).toEqual(
      expect.arrayContaining([
        '--run-virtual-workspaces=false',
        '--shard-virtual-workspace-url=https://kcp.example.com:6443',
        '--shard-virtual-workspace-ca-file=/etc/kcp/tls/ca/server/tls.crt',
      ]),
    );
  });

  it('renders none of the three flags without a resolved VirtualWorkspace', () => {
    expect(shardArgs(shard()).filter((a) => /virtual-workspace/.test(a))).toEqual([]);
  });
});

describe('the front-proxy of a RootShard with an external VirtualWorkspace', () => {
  const fp = (virtualWorkspaceURL?: string) => ({
    owner,
    name: 'fp',
    namespace: 'kcp',
    spec: { rootShard: { ref: { name: 'root' } } } as FrontProxySpec,
    root: { name: 'root', spec: rootSpec },
    serviceAccountPeers: [],
    ...(virtualWorkspaceURL ? { virtualWorkspaceURL } : {}),
  });

  it('sends /services/ to the VirtualWorkspace\'s Service (with the requestheader identity), /clusters/ still to the root shard', () => {
    const url = virtualWorkspaceServiceURL('vw', 'kcp', undefined);
    const byPath = Object.fromEntries(pathMappings(fp(url)).map((e) => [e.path, e]));
    expect(byPath['/services/']).toEqual({
      path: '/services/',
      backend: url,
      backend_server_ca: '/etc/kcp/tls/ca/tls.crt',
      proxy_client_cert: '/etc/kcp-front-proxy/requestheader-client/tls.crt',
      proxy_client_key: '/etc/kcp-front-proxy/requestheader-client/tls.key',
    });
    expect(byPath['/clusters/']?.backend).toBe('https://root-kcp.kcp.svc.cluster.local:6443');
  });

  it('sends /services/ to the root shard without one', () => {
    const byPath = Object.fromEntries(pathMappings(fp()).map((e) => [e.path, e]));
    expect(byPath['/services/']?.backend).toBe('https://root-kcp.kcp.svc.cluster.local:6443');
  });
});
