// The cache server builders on the kcp-operator sample (an empty spec) and on external etcd, and
// the contract with the shards: the kubeconfig's file paths are where shards mount the files.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { CacheServerSpec } from '../../api/cacheserver.js';
import type { RootShardSpec } from '../../api/rootshard.js';
import type { KubeObject } from '../../kube/object.js';
import { cacheServerCertificates } from '../../pki/hierarchy.js';
import { shardMounts } from '../shard/deployment.js';
import type { ShardModel } from '../shard/model.js';
import { cacheServerNames, cacheServerReplicas, type CacheServerModel } from './model.js';
import { cacheServerArgs, cacheServerDeployment, cacheServerKubeconfigSecret, cacheServerMounts, cacheServerService, publishedCASecret } from './render.js';

const fixtures = path.resolve(import.meta.dirname, '../../../../shared/fixtures/kcp-operator-samples');
const load = (f: string) => parse(readFileSync(path.join(fixtures, f), 'utf8')) as KubeObject;
const csObj = load('operator.kcp.io_v1alpha1_cacheserver.yaml');
const rootObj = load('operator.kcp.io_v1alpha1_rootshard.yaml');

const model = (spec: CacheServerSpec = (csObj.spec as CacheServerSpec | null) ?? {}): CacheServerModel => ({
  owner: { ...csObj, metadata: { ...csObj.metadata, namespace: 'kcp', uid: 'u1' } },
  name: 'cacheserver-sample',
  namespace: 'kcp',
  spec,
});
const external: CacheServerSpec = { etcd: { endpoints: ['https://etcd-0:2379', 'https://etcd-1:2379'], prefix: '/cache', tlsConfig: { secretRef: { name: 'cache-etcd-client-tls' } } } };

type Pod = { containers: Array<{ name: string; command: string[]; args: string[]; resources: unknown; volumeMounts: Array<{ name: string; mountPath: string; readOnly: boolean }> }>; volumes: Array<{ name: string; emptyDir?: object; secret?: { secretName: string; items?: unknown[] } }> };
const pod = (d: KubeObject) => (d.spec as { template: { spec: Pod } }).template.spec;

describe('cache server rendering', () => {
  it('runs the empty sample as one replica with an embedded etcd on an emptyDir', () => {
    const m = model();
    expect(m.spec).toEqual({});
    const d = cacheServerDeployment(m, 'h');
    expect(d.metadata.name).toBe('cacheserver-sample-cache-server');
    expect((d.spec as { replicas: number }).replicas).toBe(1);
    const p = pod(d);
    expect(p.containers[0]).toMatchObject({ name: 'cache-server', command: ['/cache-server'] });
    expect(p.containers[0]?.args).toEqual([
      '--tls-cert-file=/etc/cache-server/tls/server/tls.crt',
      '--tls-private-key-file=/etc/cache-server/tls/server/tls.key',
      '--root-directory=',
      '--secure-port=6443',
      '--client-ca-file=/etc/cache-server/tls/ca/root/tls.crt',
      '--embedded-etcd-directory=/var/etcd',
    ]);
    expect(p.volumes.find((v) => v.name === 'etcd-scratch')).toEqual({ name: 'etcd-scratch', emptyDir: {} });
    expect(p.containers[0]?.volumeMounts.find((v) => v.name === 'etcd-scratch')).toEqual({ name: 'etcd-scratch', mountPath: '/var/etcd', readOnly: false });
    // The client CA volume carries the certificate only.
    expect(p.volumes.find((v) => v.name === 'client-ca')?.secret).toEqual({ secretName: 'cacheserver-sample-ca', items: [{ key: 'tls.crt', path: 'tls.crt' }] });
    expect(p.containers[0]?.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } });
  });

  it('uses an external etcd with TLS and defaults to two replicas there', () => {
    const m = model(external);
    expect(cacheServerReplicas(external)).toBe(2);
    expect(cacheServerReplicas({ ...external, replicas: 3 })).toBe(3);
    const args = cacheServerArgs(m);
    expect(args).toEqual(
      expect.arrayContaining([
        '--etcd-servers=https://etcd-0:2379,https://etcd-1:2379',
        '--etcd-prefix=/cache',
        '--etcd-cafile=/etc/cache-server/etcd/ca.crt',
        '--etcd-certfile=/etc/cache-server/etcd/tls.crt',
        '--etcd-keyfile=/etc/cache-server/etcd/tls.key',
      ]),
    );
    expect(args.some((a) => a.startsWith('--embedded-etcd'))).toBe(false);
    expect(cacheServerMounts(m).map((x) => x.volume)).toEqual(['serving-cert', 'client-ca', 'etcd-cert']);
  });

  it('passes --client-ca-file only to cache servers that accept it', () => {
    expect(cacheServerArgs(model({ image: { tag: 'v0.28.3' } })).some((a) => a.startsWith('--client-ca-file'))).toBe(false);
    expect(cacheServerArgs(model({ image: { tag: 'v0.29.2' } })).some((a) => a.startsWith('--client-ca-file'))).toBe(true);
  });

  it('lists a pull Secret named twice once (server-side apply refuses duplicate names)', () => {
    const d = cacheServerDeployment(model({ image: { imagePullSecrets: [{ name: 'reg' }, { name: 'other' }, { name: 'reg' }] } } as CacheServerSpec), 'h');
    expect((d.spec as { template: { spec: { imagePullSecrets: unknown } } }).template.spec.imagePullSecrets).toEqual([{ name: 'reg' }, { name: 'other' }]);
  });

  it('renders a ClusterIP Service on 6443', () => {
    expect(cacheServerService(model()).spec).toMatchObject({ type: 'ClusterIP', ports: [{ name: 'https', port: 6443, targetPort: 6443 }] });
  });

  it('writes a kubeconfig whose files are exactly where shards mount them', () => {
    const s = cacheServerKubeconfigSecret(model());
    expect(s.metadata.name).toBe('cacheserver-sample-kubeconfig');
    const kc = parse(Buffer.from((s.data as Record<string, string>).kubeconfig ?? '', 'base64').toString()) as {
      clusters: Array<{ name: string; cluster: Record<string, string> }>;
      users: Array<{ name: string; user: Record<string, string> }>;
      contexts: Array<{ name: string; context: Record<string, string> }>;
      'current-context': string;
    };
    expect(kc['current-context']).toBe('cache');
    expect(kc.contexts).toEqual([{ name: 'cache', context: { cluster: 'cache', user: 'cache' } }]);
    expect(kc.clusters[0]?.cluster.server).toBe('https://cacheserver-sample-cache-server.kcp.svc.cluster.local:6443');
    const files = [kc.clusters[0]?.cluster['certificate-authority'], kc.users[0]?.user['client-certificate'], kc.users[0]?.user['client-key']];
    // A shard using this cache mounts the three Secrets; every file the kubeconfig names must be in one of them.
    const shard: ShardModel = {
      kind: 'RootShard',
      owner: rootObj,
      name: 'shard-sample',
      namespace: 'kcp',
      spec: rootObj.spec as RootShardSpec,
      root: { name: 'shard-sample', spec: rootObj.spec as RootShardSpec },
      cacheServer: 'cacheserver-sample',
      serviceAccountPeers: [],
    };
    const n = cacheServerNames('cacheserver-sample');
    const mounts = shardMounts(shard).filter((x) => x.secretName?.startsWith('cacheserver-sample-'));
    const provided: Record<string, string[]> = { [n.ca]: ['tls.crt'], [n.client]: ['tls.crt', 'tls.key'], [n.kubeconfig]: ['kubeconfig'] };
    const mountedFiles = mounts.flatMap((x) => (x.items ?? provided[x.secretName ?? ''] ?? []).map((k) => `${x.path}/${k}`));
    for (const f of files) expect(mountedFiles).toContain(f);
    expect(mountedFiles).toContain('/etc/cache-server/kubeconfig/kubeconfig');
    // And the Secrets holding them are the ones the cache server's PKI plan issues.
    const plan = cacheServerCertificates({ name: 'cacheserver-sample', namespace: 'kcp' }).map((p) => p.secretName);
    expect(plan).toEqual([n.ca, n.server, n.client]);
  });

  it('publishes a user CA\'s certificate (never its key) under the name shards mount', () => {
    const n = cacheServerNames('cacheserver-sample', 'my-ca');
    expect(n.caSource).toBe('my-ca');
    const s = publishedCASecret(model(), '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    expect(s.metadata.name).toBe('cacheserver-sample-ca');
    expect(Object.keys(s.data as object)).toEqual(['tls.crt']);
    expect(s.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'CacheServer', uid: 'u1', controller: true });
  });
});
