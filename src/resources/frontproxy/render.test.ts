// The front-proxy builders on the kcp-operator samples: explicit asserts on what kcp-front-proxy
// reads (flags, mounts, the mapping file) and on where we deliberately differ from kcp-operator.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { FrontProxySpec } from '../../api/frontproxy.js';
import type { RootShardSpec } from '../../api/rootshard.js';
import type { KubeObject } from '../../kube/object.js';
import { frontProxyCertificates } from '../../pki/hierarchy.js';
import { MOUNTS_HASH_ANNOTATION } from '../common/workload.js';
import { pathMappingConfigMap, pathMappings } from './config.js';
import { frontProxyArgs, frontProxyDeployment, frontProxyMounts, frontProxyService } from './deployment.js';
import { frontProxyNames, frontProxyURL, type FrontProxyModel } from './model.js';
import { frontProxySecrets } from './secrets.js';

const fixtures = path.resolve(import.meta.dirname, '../../../../shared/fixtures/kcp-operator-samples');
const load = (f: string) => parse(readFileSync(path.join(fixtures, f), 'utf8')) as KubeObject;
const fpObj = load('operator.kcp.io_v1alpha1_frontproxy.yaml');
const rootSpec = load('operator.kcp.io_v1alpha1_rootshard.yaml').spec as RootShardSpec;
const fpSpec = fpObj.spec as FrontProxySpec;

const model = (spec: Partial<FrontProxySpec> = {}, root: Partial<RootShardSpec> = {}): FrontProxyModel => ({
  owner: { ...fpObj, metadata: { ...fpObj.metadata, namespace: 'kcp', uid: 'u1' } },
  name: 'frontproxy-sample',
  namespace: 'kcp',
  spec: { ...fpSpec, ...spec },
  root: { name: 'shard-sample', spec: { ...rootSpec, ...root } },
  serviceAccountPeers: ['shard-sample', 'secondary-shard'],
});

type Pod = {
  containers: Array<{ name: string; args: string[]; command: string[]; volumeMounts: Array<{ name: string; mountPath: string; readOnly: boolean }>; resources?: unknown }>;
  volumes: Array<{ name: string; secret?: { secretName: string; items?: unknown[] }; configMap?: { name: string } }>;
};
const pod = (d: KubeObject) => (d.spec as { template: { spec: Pod } }).template.spec;

describe('front-proxy rendering (fixture)', () => {
  const m = model();

  it('passes the flags kcp-front-proxy needs', () => {
    const args = frontProxyArgs(m);
    expect(args.slice(0, 7)).toEqual([
      '--secure-port=6443',
      '--root-kubeconfig=/etc/kcp-front-proxy/kubeconfig/kubeconfig',
      '--shards-kubeconfig=/etc/kcp-front-proxy/kubeconfig/kubeconfig',
      '--tls-cert-file=/etc/kcp-front-proxy/tls/tls.crt',
      '--tls-private-key-file=/etc/kcp-front-proxy/tls/tls.key',
      '--mapping-file=/etc/kcp-front-proxy/config/path-mapping.yaml',
      '--client-ca-file=/etc/kcp-front-proxy/client-ca/tls.crt',
    ]);
    // The default kcp (v0.32.3) has mounts proxies: they re-enter through requestheader auth.
    expect(args).toEqual(
      expect.arrayContaining([
        '--requestheader-client-ca-file=/etc/kcp/tls/ca/requestheader-client/tls.crt',
        '--requestheader-allowed-names=kcp-front-proxy,kcp-mounts-proxy',
        '--requestheader-username-headers=X-Remote-User',
      ]),
    );
    // auth.serviceAccount.enabled: every shard's key, each its own flag.
    expect(args.filter((a) => a.startsWith('--service-account-key-file='))).toEqual([
      '--service-account-key-file=/etc/kcp/tls/shard-sample/service-account/tls.crt',
      '--service-account-key-file=/etc/kcp/tls/secondary-shard/service-account/tls.crt',
    ]);
    // Tokens are verified by key alone: the front-proxy has no etcd to look them up in.
    expect(args.filter((a) => a.startsWith('--service-account-lookup'))).toEqual(['--service-account-lookup=false']);
  });

  it('leaves service-account lookup alone when service accounts are off', () => {
    const args = frontProxyArgs({ ...model(), serviceAccountPeers: [] });
    expect(args.some((a) => a.startsWith('--service-account'))).toBe(false);
  });

  it('leaves out the requestheader flags for a kcp without mounts proxies', () => {
    const old = model({ image: { tag: 'v0.30.3' } });
    expect(frontProxyArgs(old).some((a) => a.startsWith('--requestheader'))).toBe(false);
    expect(frontProxyMounts(old).some((x) => x.volume === 'ca-requestheader-client')).toBe(false);
  });

  it('renders drop and pass-on groups as plain lists (kcp-operator quotes them)', () => {
    const args = frontProxyArgs(model({ auth: { serviceAccount: { enabled: true }, dropGroups: ['system:masters', 'team-a'], passOnGroups: ['system:authenticated'] } }));
    expect(args).toContain('--authentication-drop-groups=system:masters,team-a');
    expect(args).toContain('--authentication-pass-on-groups=system:authenticated');
    expect(args.join(' ')).not.toContain('"');
  });

  it('renders OIDC, token file and webhook authentication with their mounts', () => {
    const m2 = model({
      auth: {
        serviceAccount: { enabled: true },
        oidc: { issuerURL: 'https://idp.example.com', clientID: 'kcp', groupsClaim: 'groups', usernamePrefix: 'oidc:', caFileRef: { name: 'idp-ca', key: 'ca.pem' } },
        tokenAuthFile: { secretName: 'tokens' },
        webhook: { configSecretName: 'authn-webhook', version: 'v1' },
      },
      extraArgs: ['--v=9'],
    });
    const args = frontProxyArgs(m2);
    expect(args).toEqual(
      expect.arrayContaining([
        '--oidc-issuer-url=https://idp.example.com',
        '--oidc-client-id=kcp',
        '--oidc-groups-claim=groups',
        '--oidc-username-prefix=oidc:',
        '--oidc-ca-file=/etc/kcp/tls/oidc/ca.pem',
        '--token-auth-file=/etc/kcp/authentication/token/token.csv',
        '--authentication-token-webhook-version=v1',
        '--authentication-token-webhook-config-file=/etc/kcp/authentication/webhook/kubeconfig',
      ]),
    );
    expect(args.at(-1)).toBe('--v=9');
    const mounts = frontProxyMounts(m2).map((x) => `${x.secretName}@${x.path}`);
    expect(mounts).toEqual(expect.arrayContaining(['idp-ca@/etc/kcp/tls/oidc', 'tokens@/etc/kcp/authentication/token', 'authn-webhook@/etc/kcp/authentication/webhook']));
  });

  it('renders the Deployment: image, command, mounts (CA keys never mounted), probes, templates', () => {
    const d = frontProxyDeployment(m, 'h1');
    expect(d.metadata.name).toBe('frontproxy-sample-front-proxy');
    expect(d.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'FrontProxy', name: 'frontproxy-sample', controller: true });
    expect((d.spec as { replicas?: number }).replicas).toBeUndefined(); // the API server defaults it to 2
    expect((d.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations[MOUNTS_HASH_ANNOTATION]).toBe('h1');
    const p = pod(d);
    expect(p.containers[0]?.name).toBe('kcp-front-proxy');
    expect(p.containers[0]?.command).toEqual(['/kcp-front-proxy']);
    const byPath = Object.fromEntries(p.containers[0]!.volumeMounts.map((v) => [v.mountPath, v.name]));
    expect(byPath).toMatchObject({
      '/etc/kcp-front-proxy/kubeconfig': 'dynamic-kubeconfig',
      '/etc/kcp-front-proxy/kubeconfig-client-cert': 'kubeconfig-client-cert',
      '/etc/kcp-front-proxy/tls': 'tls',
      '/etc/kcp-front-proxy/requestheader-client': 'requestheader-client',
      '/etc/kcp-front-proxy/client-ca': 'client-ca',
      '/etc/kcp-front-proxy/config': 'config',
      '/etc/kcp/tls/ca': 'ca-root',
    });
    const vol = (n: string) => p.volumes.find((v) => v.name === n);
    expect(vol('ca-root')?.secret).toEqual({ secretName: 'shard-sample-ca', items: [{ key: 'tls.crt', path: 'tls.crt' }] });
    expect(vol('ca-requestheader-client')?.secret).toEqual({ secretName: 'shard-sample-requestheader-client-ca', items: [{ key: 'tls.crt', path: 'tls.crt' }] });
    expect(vol('sa-secondary-shard')?.secret).toEqual({ secretName: 'secondary-shard-service-account', items: [{ key: 'tls.crt', path: 'tls.crt' }] });
    expect(vol('config')?.configMap).toEqual({ name: 'frontproxy-sample-config' });
    expect(p.containers[0]?.volumeMounts.every((v) => v.readOnly)).toBe(true);
    expect(p.containers[0]?.resources).toBeUndefined(); // kcp-operator sets none for the front-proxy
    const names = new Set(p.volumes.map((v) => v.name));
    for (const vm of p.containers[0]!.volumeMounts) expect(names.has(vm.name), vm.name).toBe(true);
  });

  it('renders the Service from serviceTemplate on the external port', () => {
    const s = frontProxyService(m);
    expect(s.spec).toMatchObject({ type: 'LoadBalancer', clusterIP: '10.96.100.100', ports: [{ name: 'https', port: 6443, targetPort: 6443, appProtocol: 'https' }] });
    const custom = frontProxyService(model({ external: { hostname: 'api.example.com', port: 443 } }));
    expect((custom.spec as { ports: Array<{ port: number; targetPort: number }> }).ports[0]).toMatchObject({ port: 443, targetPort: 6443 });
  });

  it('names Secrets as the certificate plan does', () => {
    const n = frontProxyNames(m);
    const plan = frontProxyCertificates({ name: m.name, rootShard: { name: 'shard-sample', namespace: 'kcp', externalHostname: 'example.operator.kcp.io' } });
    expect(plan.map((p) => p.secretName)).toEqual([n.server, n.kubeconfigClient, n.requestHeaderClient]);
    const mounted = new Set(frontProxyMounts(m).map((x) => x.secretName));
    for (const p of plan) expect(mounted.has(p.secretName), p.secretName).toBe(true);
  });
});

describe('path mapping', () => {
  it('parses as the YAML list of PathMapping kcp-front-proxy reads', () => {
    const extra = { path: '/services/access', backend: 'https://access-vw.kcp.svc:6443', backend_server_ca: '/etc/kcp/tls/ca/tls.crt', proxy_client_cert: '/etc/kcp-front-proxy/requestheader-client/tls.crt', proxy_client_key: '/etc/kcp-front-proxy/requestheader-client/tls.key' };
    const cm = pathMappingConfigMap(model({ additionalPathMappings: [extra] }));
    expect(cm.metadata.name).toBe('frontproxy-sample-config');
    const text = (cm.data as Record<string, string>)['path-mapping.yaml'] ?? '';
    const parsed = parse(text) as unknown;
    expect(Array.isArray(parsed)).toBe(true);
    const list = parsed as Array<Record<string, unknown>>;
    for (const e of list) {
      expect(Object.keys(e).sort()).toEqual(['backend', 'backend_server_ca', 'path', 'proxy_client_cert', 'proxy_client_key']);
      for (const v of Object.values(e)) expect(typeof v).toBe('string');
    }
    expect(list).toEqual([
      {
        path: '/clusters/',
        backend: 'https://root.shard.example.operator.kcp.io:6443',
        backend_server_ca: '/etc/kcp/tls/ca/tls.crt',
        proxy_client_cert: '/etc/kcp-front-proxy/requestheader-client/tls.crt',
        proxy_client_key: '/etc/kcp-front-proxy/requestheader-client/tls.key',
      },
      expect.objectContaining({ path: '/services/', backend: 'https://root.shard.example.operator.kcp.io:6443' }),
      extra,
    ]);
  });

  it('verifies the backends with the merged bundle when a CA bundle is referenced', () => {
    const m = model({ caBundleSecretRef: { name: 'public-ca' } });
    expect(pathMappings(m)[0]?.backend_server_ca).toBe('/etc/kcp/tls/ca/ca-bundle/tls.crt');
    expect(frontProxyMounts(m).find((x) => x.volume === 'ca-bundle')).toMatchObject({ secretName: 'frontproxy-sample-merged-ca-bundle', path: '/etc/kcp/tls/ca/ca-bundle' });
  });

  it('points at the in-cluster root shard when it has no shardBaseURL', () => {
    const m = model({}, { shardBaseURL: undefined });
    expect(pathMappings(m)[0]?.backend).toBe('https://shard-sample-kcp.kcp.svc.cluster.local:6443');
  });
});

describe('front-proxy Secrets', () => {
  it('writes the dynamic kubeconfig against the root shard, with file paths that are mounted', () => {
    const secrets = frontProxySecrets(model(), { rootCA: '', serverCA: '', clientCA: '', extraCABundles: [], extraClientCAs: [] });
    expect(secrets.map((s) => s.metadata.name)).toEqual(['frontproxy-sample-merged-client-ca', 'frontproxy-sample-merged-ca-bundle', 'shard-sample-frontproxy-sample-dynamic-kubeconfig']);
    const dyn = secrets[2]!;
    const kc = parse(Buffer.from((dyn.data as Record<string, string>).kubeconfig ?? '', 'base64').toString()) as {
      clusters: Array<{ name: string; cluster: Record<string, string> }>;
      users: Array<{ name: string; user: Record<string, string> }>;
      'current-context': string;
    };
    expect(kc['current-context']).toBe('system:admin');
    expect(kc.clusters[0]).toEqual({ name: 'system:admin', cluster: { server: 'https://root.shard.example.operator.kcp.io:6443', 'certificate-authority': '/etc/kcp/tls/ca/tls.crt' } });
    expect(kc.users[0]).toEqual({ name: 'admin', user: { 'client-certificate': '/etc/kcp-front-proxy/kubeconfig-client-cert/tls.crt', 'client-key': '/etc/kcp-front-proxy/kubeconfig-client-cert/tls.key' } });
    for (const s of secrets) expect(s.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'FrontProxy', uid: 'u1' });
  });
});

describe('front-proxy address', () => {
  it('uses the front-proxy\'s own address, then the installation\'s', () => {
    expect(frontProxyURL(fpSpec, rootSpec)).toBe('https://example.operator.kcp.io:6443');
    expect(frontProxyURL({ ...fpSpec, external: { hostname: 'fp.example.com', port: 443 } }, rootSpec)).toBe('https://fp.example.com:443');
    // Deprecated externalHostname: the Service port goes with it (kcp-operator writes 6443 here).
    expect(frontProxyURL({ ...fpSpec, externalHostname: 'old.example.com' }, { ...rootSpec, external: { hostname: 'x', port: 8443 } })).toBe('https://old.example.com:8443');
  });
});
