// The shard builders on the fixtures' specs: explicit asserts on what matters to kcp.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { RootShardSpec } from '../../api/rootshard.js';
import type { ShardSpec } from '../../api/shard.js';
import type { KubeObject } from '../../kube/object.js';
import { capabilities, DEFAULT_KCP_VERSION, parseKcpVersion } from '../kcp-version.js';
import { MOUNTS_HASH_ANNOTATION, mergeResources, mountsHash } from '../common/workload.js';
import { shardArgs, shardDeployment, shardMounts, shardService } from './deployment.js';
import type { ShardModel } from './model.js';
import { shardSecrets } from './secrets.js';

const fixtures = path.resolve(import.meta.dirname, '../../../../shared/fixtures/kcp-operator-samples');
const load = (f: string) => parse(readFileSync(path.join(fixtures, f), 'utf8')) as KubeObject;
const rootObj = load('operator.kcp.io_v1alpha1_rootshard.yaml');
const shardObj = load('operator.kcp.io_v1alpha1_shard.yaml');
const rootSpec = rootObj.spec as RootShardSpec;

const rootModel: ShardModel = {
  kind: 'RootShard',
  owner: { ...rootObj, metadata: { ...rootObj.metadata, namespace: 'kcp', uid: 'u1' } },
  name: 'shard-sample',
  namespace: 'kcp',
  spec: rootSpec,
  root: { name: 'shard-sample', spec: rootSpec },
  serviceAccountPeers: ['secondary-shard'],
};
const shardModel: ShardModel = {
  kind: 'Shard',
  owner: { ...shardObj, metadata: { ...shardObj.metadata, namespace: 'kcp', uid: 'u2' } },
  name: 'secondary-shard',
  namespace: 'kcp',
  spec: shardObj.spec as ShardSpec,
  root: { name: 'shard-sample', spec: rootSpec },
  serviceAccountPeers: ['shard-sample'],
};

type Pod = { containers: Array<{ args: string[]; image: string; command: string[]; volumeMounts: Array<{ name: string; mountPath: string }> }>; volumes: Array<{ name: string; secret?: { secretName: string; items?: unknown[] } }>; hostAliases?: unknown[] };
const pod = (d: KubeObject) => (d.spec as { template: { spec: Pod } }).template.spec;

describe('root shard rendering (fixture)', () => {
  const args = shardArgs(rootModel);
  it('passes the flags kcp needs, with the fixture\'s URLs', () => {
    expect(args).toEqual(
      expect.arrayContaining([
        '--shard-base-url=https://root.shard.example.operator.kcp.io:6443',
        '--shard-external-url=https://example.operator.kcp.io:6443',
        '--client-ca-file=/etc/kcp/tls/ca/client/tls.crt',
        '--tls-cert-file=/etc/kcp/tls/server/tls.crt',
        '--etcd-servers=http://etcd.default.svc.cluster.local:2379',
        '--root-directory=',
        '--service-account-key-file=/etc/kcp/tls/secondary-shard/service-account/tls.crt',
      ]),
    );
    // The root shard serves the cache in-process: no --cache-kubeconfig, no --shard-name.
    expect(args.some((a) => a.startsWith('--cache-kubeconfig'))).toBe(false);
    expect(args.some((a) => a.startsWith('--shard-name'))).toBe(false);
  });

  it('renders the Deployment with the default image, templates and restricted security', () => {
    const d = shardDeployment(rootModel, 'h1');
    expect(d.metadata.name).toBe('shard-sample-kcp');
    const p = pod(d);
    expect(p.containers[0]?.image).toBe(`ghcr.io/kcp-dev/kcp:${DEFAULT_KCP_VERSION}`);
    expect(p.containers[0]?.command).toEqual(['/kcp', 'start']);
    expect(p.hostAliases).toEqual([{ ip: '10.96.100.100', hostnames: ['example.operator.kcp.io'] }]);
    expect((d.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations[MOUNTS_HASH_ANNOTATION]).toBe('h1');
    expect(d.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'RootShard', name: 'shard-sample', controller: true });
    // Every CA volume projects tls.crt only.
    for (const v of p.volumes.filter((v) => v.name.startsWith('ca-') && v.name !== 'ca-client' && v.name !== 'ca-bundle')) {
      expect(v.secret?.items, v.name).toEqual([{ key: 'tls.crt', path: 'tls.crt' }]);
    }
    // Every mount has a volume.
    const names = new Set(p.volumes.map((v) => v.name));
    for (const m of p.containers[0]?.volumeMounts ?? []) expect(names.has(m.name), m.name).toBe(true);
  });

  it('renders the Service from serviceTemplate', () => {
    const s = shardService(rootModel);
    expect((s.spec as { type: string }).type).toBe('LoadBalancer');
    // kcp v0.32 serves virtual workspaces on the secure port; nothing listens on 6444, so nothing exposes it.
    expect((s.spec as { ports: Array<{ name: string; port: number }> }).ports.map((p) => `${p.name}:${p.port}`)).toEqual(['https:6443']);
    const pod = (shardDeployment(rootModel, 'h').spec as { template: { spec: { containers: Array<{ ports?: Array<{ containerPort: number }> }> } } }).template.spec;
    expect(pod.containers[0]?.ports?.map((x) => x.containerPort)).toEqual([6443]);
  });
});

describe('shard rendering (fixture)', () => {
  it('points the shard at the root shard and its cache, with the legacy log level', () => {
    const args = shardArgs(shardModel);
    expect(args).toEqual(
      expect.arrayContaining([
        '--shard-name=secondary-shard',
        '--root-shard-kubeconfig-file=/etc/kcp/client-kubeconfig/kubeconfig',
        '--cache-kubeconfig=/etc/kcp/client-kubeconfig/kubeconfig',
        '--shard-base-url=https://secondary-shard-shard-kcp.kcp.svc.cluster.local:6443',
        '--mount-proxy-client-cert-file=/etc/kcp/tls/mounts-proxy/tls.crt',
        '-v=4',
      ]),
    );
    expect(args.some((a) => a.startsWith('--external-hostname'))).toBe(false);
  });

  it('uses a CacheServer when one is referenced', () => {
    const args = shardArgs({ ...shardModel, cacheServer: 'cache' });
    expect(args).toContain('--cache-kubeconfig=/etc/cache-server/kubeconfig/kubeconfig');
    expect(shardMounts({ ...shardModel, cacheServer: 'cache' }).map((m) => m.secretName)).toEqual(
      expect.arrayContaining(['cache-kubeconfig', 'cache-ca', 'cache-client-certificate']),
    );
  });

  it('writes a root-shard kubeconfig whose context is shard-base (hard-coded in kcp)', () => {
    const secrets = shardSecrets(shardModel, { rootCA: '', serverCA: '', clientCA: '', extraClientCAs: [] });
    const kc = secrets.find((s) => s.metadata.name === 'secondary-shard-client-kubeconfig');
    const text = Buffer.from((kc?.data as Record<string, string>).kubeconfig ?? '', 'base64').toString();
    const parsed = parse(text) as { 'current-context': string; clusters: Array<{ cluster: { server: string } }> };
    expect(parsed['current-context']).toBe('shard-base');
    expect(parsed.clusters[0]?.cluster.server).toBe('https://root.shard.example.operator.kcp.io:6443');
  });

  it('passes extraArgs last and etcd TLS flags when a client Secret is given', () => {
    const spec = { ...(shardObj.spec as ShardSpec), extraArgs: ['--x=y'], etcd: { endpoints: ['https://e:2379'], prefix: '/s2', tlsConfig: { secretRef: { name: 'etcd-client' } } } };
    const args = shardArgs({ ...shardModel, spec });
    expect(args.at(-1)).toBe('--x=y');
    expect(args).toEqual(expect.arrayContaining(['--etcd-prefix=/s2', '--etcd-certfile=/etc/etcd/tls/tls.crt', '--etcd-cafile=/etc/etcd/tls/ca.crt']));
  });
});

describe('helpers', () => {
  it('merges resources key by key', () => {
    expect(mergeResources({ requests: { cpu: '1', memory: '1Gi' } }, { requests: { memory: '4Gi' } })).toEqual({ requests: { cpu: '1', memory: '4Gi' } });
  });
  it('hashes mounted content, not names order', () => {
    const d = (n: string) => ({ a: n });
    expect(mountsHash(['x', 'y'], d)).toBe(mountsHash(['y', 'x'], d));
    expect(mountsHash(['x'], () => ({ a: '1' }))).not.toBe(mountsHash(['x'], () => ({ a: '2' })));
  });
  it('keeps the version table in line with hack/versions.env', () => {
    const env = readFileSync(path.resolve(import.meta.dirname, '../../../hack/versions.env'), 'utf8');
    expect(env).toContain(`KCP_VERSION=${DEFAULT_KCP_VERSION}`);
    expect(parseKcpVersion('v0.32.3')).toEqual({ major: 0, minor: 32, patch: 3 });
    expect(capabilities('v0.32.3').mountProxy).toBe(true);
    expect(capabilities('v0.32.2').mountProxy).toBe(false);
    expect(capabilities('v0.31.6').mountProxy).toBe(true);
    expect(capabilities('v0.30.3')).toMatchObject({ mountProxy: false, externalHostnameFlag: true });
    expect(capabilities('main').mountProxy).toBe(true);
  });
});

describe('external.privatePort', () => {
  const kubeconfigOf = (m: ShardModel) =>
    Buffer.from(
      (shardSecrets(m, { rootCA: 'R', serverCA: 'S', clientCA: 'C', extraClientCAs: [] }).find((x) => x.metadata.name === 'secondary-shard-external-logical-cluster-admin-kubeconfig')?.data as Record<string, string>).kubeconfig ?? '',
      'base64',
    ).toString();
  const withExternal = (external: Partial<RootShardSpec['external']>): ShardModel => ({ ...shardModel, root: { ...shardModel.root, spec: { ...rootSpec, external: { ...rootSpec.external, ...external } } } });

  it('is used only with privateHostname, as kcp-operator does', () => {
    expect(kubeconfigOf(withExternal({ privatePort: 7443 }))).toContain(`server: https://${rootSpec.external.hostname}:${rootSpec.external.port}`);
    expect(kubeconfigOf(withExternal({ privateHostname: 'kcp.internal', privatePort: 7443 }))).toContain('server: https://kcp.internal:7443');
    expect(kubeconfigOf(withExternal({ privateHostname: 'kcp.internal' }))).toContain(`server: https://kcp.internal:${rootSpec.external.port}`);
  });
});

describe('--requestheader-allowed-names', () => {
  it('lists the front-proxy and the root shard proxy, not the mounts proxy (only the front-proxy takes that one)', () => {
    for (const m of [rootModel, shardModel]) {
      expect(shardArgs(m).filter((a) => a.startsWith('--requestheader-allowed-names='))).toEqual(['--requestheader-allowed-names=kcp-front-proxy,kcp-root-shard-proxy']);
    }
  });
});
