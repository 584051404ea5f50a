// The Kubeconfig Secret for the three kcp-operator samples, with certificates issued from a real
// built-in PKI: it parses with @kubernetes/client-node and with the real kubectl, has kcp-operator's
// clusters and contexts, and its client certificate verifies against the RootShard's client CA.
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrontProxySpec } from '../../api/frontproxy.js';
import type { KubeconfigSpec } from '../../api/kubeconfig.js';
import type { RootShardSpec } from '../../api/rootshard.js';
import type { ShardSpec } from '../../api/shard.js';
import type { KubeObject } from '../../kube/object.js';
import type { TlsSecretData } from '../../pki/bundle.js';
import { mergeCABundles } from '../../pki/bundle.js';
import { kubeconfigCertificate, rootShardCertificates } from '../../pki/hierarchy.js';
import { issueAll } from '../../pki/issue.js';
import { binaryPath } from '../../../local/binaries.js';
import { parseGoDuration } from '../common/duration.js';
import { desiredBindings } from './rbac.js';
import { authorizationWorkspace, kubeconfigSecret, kubeconfigText, type KubeconfigModel, type KubeconfigTarget } from './render.js';

const fixtures = path.resolve(import.meta.dirname, '../../../../shared/fixtures/kcp-operator-samples');
const load = (f: string) => parse(readFileSync(path.join(fixtures, f), 'utf8')) as KubeObject;
const rootSpec = load('operator.kcp.io_v1alpha1_rootshard.yaml').spec as RootShardSpec;
const shardSpec = load('operator.kcp.io_v1alpha1_shard.yaml').spec as ShardSpec;
const fpSpec = load('operator.kcp.io_v1alpha1_frontproxy.yaml').spec as FrontProxySpec;

const targets: Record<string, KubeconfigTarget> = {
  'operator.kcp.io_v1alpha1_kubeconfig.yaml': { kind: 'FrontProxy', name: 'frontproxy-sample', frontProxy: fpSpec, rootShardName: 'shard-sample', rootShard: rootSpec },
  'operator.kcp.io_v1alpha1_kubeconfig_rootshard.yaml': { kind: 'RootShard', name: 'shard-sample', rootShardName: 'shard-sample', rootShard: rootSpec },
  'operator.kcp.io_v1alpha1_kubeconfig_shard.yaml': { kind: 'Shard', name: 'secondary-shard', shard: shardSpec, rootShardName: 'shard-sample', rootShard: rootSpec },
};
const expectedBase: Record<string, string> = {
  FrontProxy: 'https://example.operator.kcp.io:6443',
  RootShard: 'https://root.shard.example.operator.kcp.io:6443',
  Shard: 'https://secondary-shard-shard-kcp.kcp.svc.cluster.local:6443',
};

interface Rendered {
  file: string;
  model: KubeconfigModel;
  text: string;
}

let pki: Map<string, TlsSecretData>;
const rendered: Rendered[] = [];
let dir: string;

beforeAll(async () => {
  pki = await issueAll(rootShardCertificates({ name: 'shard-sample', namespace: 'kcp', externalHostname: 'example.operator.kcp.io' }));
  const serverCA = pki.get('shard-sample-server-ca')!;
  for (const [file, target] of Object.entries(targets)) {
    const obj = load(file);
    const spec = obj.spec as KubeconfigSpec;
    const plan = kubeconfigCertificate({ name: obj.metadata.name ?? '', rootShard: 'shard-sample', username: spec.username, groups: spec.groups, validityMs: parseGoDuration(spec.validity) });
    const cert = (await issueAll([plan], pki)).get(plan.secretName)!;
    const model: KubeconfigModel = { owner: { ...obj, metadata: { ...obj.metadata, namespace: 'kcp', uid: `uid-${obj.metadata.name}` } }, name: obj.metadata.name ?? '', namespace: 'kcp', spec, target };
    const secret = kubeconfigSecret(model, { caPem: mergeCABundles([serverCA['tls.crt'], serverCA['ca.crt']]), certificatePem: cert['tls.crt'], privateKeyPem: cert['tls.key'] });
    expect(secret.metadata.name).toBe(spec.secretRef.name);
    rendered.push({ file, model, text: Buffer.from((secret.data as Record<string, string>).kubeconfig ?? '', 'base64').toString() });
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-test-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Kubeconfig Secret (samples)', () => {
  it('parses with @kubernetes/client-node, with kcp-operator\'s clusters and contexts', () => {
    for (const r of rendered) {
      const kc = new KubeConfig();
      kc.loadFromString(r.text);
      const base = expectedBase[r.model.target.kind];
      expect(kc.getCurrentContext(), r.file).toBe('default');
      expect(kc.getCluster('base')?.server).toBe(base);
      expect(kc.getCluster('default')?.server).toBe(`${base}/clusters/root`);
      expect(kc.getContexts().map((c) => `${c.name}→${c.cluster}`).sort()).toEqual(
        r.model.target.kind === 'FrontProxy' ? ['base→base', 'default→default'] : ['base→base', 'default→default', 'shard-base→base'],
      );
      expect(kc.getCurrentUser()?.name).toBe(r.model.spec.username);
      // Self-contained: no file references.
      expect(kc.getCurrentUser()?.certData).toBeTruthy();
      expect(kc.getCurrentUser()?.keyData).toBeTruthy();
      expect(kc.getCurrentCluster()?.caData).toBeTruthy();
      expect(r.text).not.toMatch(/certificate-authority:|client-certificate:|client-key:/);
    }
  });

  it('parses with the real kubectl (config view --raw)', () => {
    for (const r of rendered) {
      const file = path.join(dir, `${r.model.name}.kubeconfig`);
      writeFileSync(file, r.text, { mode: 0o600 });
      const out = execFileSync(binaryPath('kubectl'), ['config', 'view', '--raw', '--kubeconfig', file, '-o', 'json'], { encoding: 'utf8' });
      const view = JSON.parse(out) as {
        'current-context': string;
        clusters: Array<{ name: string; cluster: { server: string; 'certificate-authority-data': string } }>;
        users: Array<{ name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }>;
      };
      expect(view['current-context']).toBe('default');
      expect(view.clusters.find((c) => c.name === 'default')?.cluster.server).toBe(`${expectedBase[r.model.target.kind]}/clusters/root`);
      const user = view.users[0]!;
      expect(user.name).toBe(r.model.spec.username);
      // What kubectl would send: the certificate and its key belong together.
      const cert = new X509Certificate(Buffer.from(user.user['client-certificate-data'], 'base64'));
      const key = createPrivateKey(Buffer.from(user.user['client-key-data'], 'base64'));
      expect(cert.checkPrivateKey(key)).toBe(true);
      // kubectl can resolve the current context to a server and credentials.
      const server = execFileSync(binaryPath('kubectl'), ['config', 'view', '--minify', '--kubeconfig', file, '-o', 'jsonpath={.clusters[0].cluster.server}'], { encoding: 'utf8' });
      expect(server).toBe(`${expectedBase[r.model.target.kind]}/clusters/root`);
    }
  });

  it('carries a client certificate for the user and groups, signed by the RootShard\'s client CA', () => {
    const clientCA = new X509Certificate(pki.get('shard-sample-client-ca')!['tls.crt']);
    const rootCA = new X509Certificate(pki.get('shard-sample-ca')!['tls.crt']);
    for (const r of rendered) {
      const kc = new KubeConfig();
      kc.loadFromString(r.text);
      const chain = Buffer.from(kc.getCurrentUser()?.certData ?? '', 'base64').toString();
      const leaf = new X509Certificate(chain);
      expect(leaf.verify(clientCA.publicKey), r.file).toBe(true);
      expect(leaf.checkIssued(clientCA)).toBe(true);
      expect(clientCA.verify(rootCA.publicKey)).toBe(true);
      expect(leaf.subject).toContain(`CN=${r.model.spec.username}`);
      expect(leaf.subject).toContain('O=system:kcp:admin');
      expect(leaf.subject).toContain(`O=kubeconfig:${r.model.name}`);
      expect(leaf.keyUsage ?? []).toContain('1.3.6.1.5.5.7.3.2'); // client auth
      expect(Date.parse(leaf.validTo) - Date.now()).toBeGreaterThan(8765 * 3600_000);
      // The key in the file matches the certificate.
      const key = createPrivateKey(Buffer.from(kc.getCurrentUser()?.keyData ?? '', 'base64').toString());
      expect(createPublicKey(key).export({ format: 'der', type: 'spki' }).equals(leaf.publicKey.export({ format: 'der', type: 'spki' }))).toBe(true);
      // The CA data lets a client verify the shards' serving certificates (server CA + root).
      const server = new X509Certificate(pki.get('shard-sample-server')!['tls.crt']);
      const caPem = Buffer.from(kc.getCurrentCluster()?.caData ?? '', 'base64').toString();
      expect(caPem).toContain(pki.get('shard-sample-server-ca')!['tls.crt'].trim());
      expect(server.verify(new X509Certificate(pki.get('shard-sample-server-ca')!['tls.crt']).publicKey)).toBe(true);
    }
  });

  it('points the default context at the target workspace', () => {
    const r = rendered[0]!;
    const model = { ...r.model, spec: { ...r.model.spec, targetWorkspace: 'root:org:team' } };
    const text = Buffer.from((kubeconfigSecret(model, { caPem: '', certificatePem: 'c', privateKeyPem: 'k' }).data as Record<string, string>).kubeconfig ?? '', 'base64').toString();
    const kc = new KubeConfig();
    kc.loadFromString(text);
    expect(kc.getCluster('default')?.server).toBe('https://example.operator.kcp.io:6443/clusters/root:org:team');
  });
});

describe('Kubeconfig server URL (kcp-operator issue #124)', () => {
  const spec = load('operator.kcp.io_v1alpha1_kubeconfig.yaml').spec as KubeconfigSpec;
  const servers = (target: KubeconfigTarget, extra: Partial<KubeconfigSpec> = {}) => {
    const model: KubeconfigModel = { owner: { metadata: { name: 'k', uid: 'u' } }, name: 'k', namespace: 'kcp', spec: { ...spec, ...extra }, target };
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigText(model, { caPem: 'CA', certificatePem: 'c', privateKeyPem: 'k' }));
    return { base: kc.getCluster('base')?.server, default: kc.getCluster('default')?.server, ca: kc.getCluster('base')?.caData };
  };
  const root443 = { ...rootSpec, external: { hostname: 'kcp.example.com', port: 443 } };
  const fp = (frontProxy: Partial<FrontProxySpec>, rootShard: RootShardSpec = rootSpec): KubeconfigTarget => ({
    kind: 'FrontProxy',
    name: 'fp',
    frontProxy: { rootShard: { ref: { name: 'shard-sample' } }, ...frontProxy },
    rootShardName: 'shard-sample',
    rootShard,
  });

  it('FrontProxy target: its own external.hostname and external.port, exactly, whatever the RootShard says', () => {
    expect(servers(fp({ external: { hostname: 'fp.example.com', port: 443 } })).base).toBe('https://fp.example.com:443');
    expect(servers(fp({ external: { hostname: 'fp.example.com', port: 8443 } }, root443)).base).toBe('https://fp.example.com:8443');
  });

  it('FrontProxy target without an address of its own: the RootShard\'s external.hostname and external.port, exactly', () => {
    expect(servers(fp({})).base).toBe('https://example.operator.kcp.io:6443');
    expect(servers(fp({}, root443))).toMatchObject({ base: 'https://kcp.example.com:443', default: 'https://kcp.example.com:443/clusters/root' });
  });

  it('FrontProxy target with the deprecated externalHostname: that host on the Service port (documented difference)', () => {
    expect(servers(fp({ externalHostname: 'old.example.com' }, root443)).base).toBe('https://old.example.com:443');
  });

  it('RootShard and Shard targets: the shard\'s base URL, as kcp-operator (a direct connection, not through the front door)', () => {
    expect(servers(targets['operator.kcp.io_v1alpha1_kubeconfig_rootshard.yaml']!).base).toBe('https://root.shard.example.operator.kcp.io:6443');
    expect(servers(targets['operator.kcp.io_v1alpha1_kubeconfig_shard.yaml']!).base).toBe('https://secondary-shard-shard-kcp.kcp.svc.cluster.local:6443');
  });

  it('spec.serverURL (ours) replaces the server of every target; the workspace path and the CA stay', () => {
    for (const target of [fp({ external: { hostname: 'fp.example.com', port: 6443 } }), ...Object.values(targets)]) {
      expect(servers(target, { serverURL: 'https://kcp.example.com', targetWorkspace: 'root:team' })).toEqual({
        base: 'https://kcp.example.com',
        default: 'https://kcp.example.com/clusters/root:team',
        ca: Buffer.from('CA').toString('base64'),
      });
    }
    // A trailing slash would give `//clusters`.
    expect(servers(fp({}), { serverURL: 'https://kcp.example.com:443/' })).toMatchObject({ base: 'https://kcp.example.com:443', default: 'https://kcp.example.com:443/clusters/root' });
  });
});

describe('Kubeconfig ClusterRoleBindings', () => {
  it('names, labels and binds as kcp-operator does, in targetWorkspace, else the deprecated cluster, else root', () => {
    const spec = { ...(load('operator.kcp.io_v1alpha1_kubeconfig.yaml').spec as KubeconfigSpec), authorization: { clusterRoleBindings: { clusterRoles: ['view', 'cluster-admin', 'view'] } } };
    const b = desiredBindings({ name: 'kubeconfig-kcp-admin', uid: 'u-1', spec });
    expect(b.map((x) => x.metadata.name)).toEqual(['u-1:cluster-admin', 'u-1:view']);
    expect(b[0]).toMatchObject({
      metadata: { labels: { 'operator.kcp.io/kubeconfig': 'u-1' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'kubeconfig:kubeconfig-kcp-admin' }],
    });
    expect(authorizationWorkspace(spec)).toBe('root');
    expect(authorizationWorkspace({ ...spec, authorization: { clusterRoleBindings: { cluster: 'root:legacy', clusterRoles: [] } } })).toBe('root:legacy');
    expect(authorizationWorkspace({ ...spec, targetWorkspace: 'root:team' })).toBe('root:team');
  });
});
