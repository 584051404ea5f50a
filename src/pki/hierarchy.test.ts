import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { derToPem, splitPemCertificates } from './pem.js';
import { PkiError } from './errors.js';
import {
  DEFAULT_CA_DURATION_MS,
  DEFAULT_LEAF_DURATION_MS,
  cacheServerCertificates,
  frontProxyCertificates,
  kubeconfigCertificate,
  rootShardCertificates,
  shardCertificates,
  virtualWorkspaceCertificates,
  x509Usages,
} from './hierarchy.js';
import type { PlannedCertificate } from './hierarchy.js';
import { issueAll, issuePlanned } from './issue.js';
import { specDifferences } from './renewal.js';
import { parseCertificate } from './x509.js';
import type { TlsSecretData } from './bundle.js';

const H = 3600_000;
const rsInput = { name: 'root', namespace: 'kcp', externalHostname: 'api.kcp.example.com', shardBaseURL: 'https://root.internal:6443' };

const byName = (plans: PlannedCertificate[]): Map<string, PlannedCertificate> => new Map(plans.map((p) => [p.secretName, p]));
const summary = (p: PlannedCertificate | undefined): unknown =>
  p && { cn: p.subject.commonName, o: p.subject.organizations, issuer: p.issuer, usages: p.usages, dns: p.dnsNames };

describe('rootShardCertificates', () => {
  const plans = rootShardCertificates(rsInput);
  const m = byName(plans);

  it('creates kcp-operator’s CAs and leaves, issuers first', () => {
    expect(plans.map((p) => p.secretName)).toEqual([
      'root-ca',
      'root-server-ca',
      'root-requestheader-client-ca',
      'root-client-ca',
      'root-service-account-ca',
      'root-server',
      'root-service-account',
      'root-virtual-workspaces',
      'root-logical-cluster-admin',
      'root-external-logical-cluster-admin',
      'root-client',
      'root-kcp-operator',
    ]);
    for (const p of plans) expect(p.secretType).toBe('kubernetes.io/tls');
  });

  it('makes the root self-signed and the intermediates children of it, with CA durations', () => {
    expect(m.get('root-ca')).toMatchObject({ isCA: true, issuer: { type: 'selfSigned' }, subject: { commonName: 'root-ca' } });
    for (const ca of ['server', 'requestheader-client', 'client', 'service-account']) {
      expect(m.get(`root-${ca}-ca`)).toMatchObject({
        isCA: true,
        issuer: { type: 'ca', secretName: 'root-ca' },
        subject: { commonName: `root-${ca}-ca` },
        durationMs: 87_600 * H,
        renewBeforeMs: 720 * H,
        // cert-manager: a CA with no usages gets cert sign + the default digital signature, key encipherment
        keyUsages: ['digitalSignature', 'keyEncipherment', 'keyCertSign'],
        extKeyUsages: [],
        labels: { 'operator.kcp.io/rootshard': 'root' },
      });
    }
  });

  it('gives each leaf kcp-operator’s identity, issuer, usages and SANs', () => {
    expect(summary(m.get('root-server'))).toEqual({
      cn: undefined,
      o: [],
      issuer: { type: 'ca', secretName: 'root-server-ca' },
      usages: ['server auth', 'key encipherment', 'digital signature'],
      dns: ['api.kcp.example.com', 'root-kcp.kcp.svc.cluster.local', 'root.internal'],
    });
    expect(m.get('root-server')).toMatchObject({ keyUsages: ['digitalSignature', 'keyEncipherment'], extKeyUsages: ['serverAuth'] });
    expect(summary(m.get('root-service-account'))).toMatchObject({
      cn: 'root-service-account',
      issuer: { type: 'ca', secretName: 'root-service-account-ca' },
      usages: ['digital signature', 'key encipherment'],
    });
    expect(summary(m.get('root-virtual-workspaces'))).toMatchObject({ dns: ['api.kcp.example.com'], usages: ['server auth'] });
    expect(summary(m.get('root-logical-cluster-admin'))).toMatchObject({
      cn: 'logical-cluster-admin',
      o: ['system:kcp:logical-cluster-admin'],
      issuer: { type: 'ca', secretName: 'root-client-ca' },
    });
    expect(summary(m.get('root-external-logical-cluster-admin'))).toMatchObject({
      cn: 'external-logical-cluster-admin',
      o: ['system:kcp:external-logical-cluster-admin'],
    });
    expect(summary(m.get('root-client'))).toMatchObject({ cn: 'root', o: ['system:masters'], usages: ['client auth'] });
    expect(m.get('root-client')).toMatchObject({ keyUsages: [], extKeyUsages: ['clientAuth'] });
    expect(summary(m.get('root-kcp-operator'))).toMatchObject({ cn: 'system:kcp-operator', o: ['system:kcp:admin'] });
    for (const p of plans.filter((x) => !x.isCA)) {
      expect(p.durationMs).toBe(8760 * H);
      expect(p.renewBeforeMs).toBe(168 * H);
    }
  });

  it('honours clusterDomain, caSecretRef and issuerRef', () => {
    const p = byName(rootShardCertificates({ ...rsInput, clusterDomain: 'corp.local', caSecretRef: 'my-ca', shardBaseURL: undefined }));
    expect(p.get('root-server')?.dnsNames).toEqual(['api.kcp.example.com', 'root-kcp.kcp.svc.corp.local']);
    expect(p.get('my-ca')).toMatchObject({ issuer: { type: 'provided' }, isCA: true });
    expect(p.get('root-ca')).toBeUndefined();
    expect(p.get('root-client-ca')?.issuer).toEqual({ type: 'ca', secretName: 'my-ca' });
    const q = rootShardCertificates({ ...rsInput, issuerRef: { name: 'corp', kind: 'ClusterIssuer' } });
    expect(q[0]?.issuer).toEqual({ type: 'certManager', issuerRef: { name: 'corp', kind: 'ClusterIssuer' } });
  });

  it('applies certificateTemplates as kcp-operator merges them', () => {
    const p = byName(
      rootShardCertificates({
        ...rsInput,
        key: { algorithm: 'RSA', size: 4096 },
        templates: {
          server: { dnsNames: ['b.example.com', 'api.kcp.example.com'], ipAddresses: ['10.0.0.1', '::1'], durationMs: 100 * H, renewBeforeMs: 10 * H },
          'kcp-operator': { organizations: ['extra'], privateKey: { algorithm: 'ECDSA' } },
          'root-ca': { privateKey: { size: 3072 } },
        },
      }),
    );
    expect(p.get('root-server')).toMatchObject({
      dnsNames: ['api.kcp.example.com', 'b.example.com', 'root-kcp.kcp.svc.cluster.local', 'root.internal'],
      ipAddresses: ['10.0.0.1', '::1'],
      durationMs: 100 * H,
      renewBeforeMs: 10 * H,
      key: { algorithm: 'RSA', size: 4096 },
    });
    expect(p.get('root-kcp-operator')).toMatchObject({ subject: { organizations: ['extra', 'system:kcp:admin'] }, key: { algorithm: 'ECDSA', size: 256 } });
    expect(p.get('root-ca')?.key).toMatchObject({ algorithm: 'RSA', size: 3072 });
  });

  it('refuses an Ed25519 service-account key and a bad template', () => {
    expect(() => rootShardCertificates({ ...rsInput, key: { algorithm: 'Ed25519' } })).toThrow(/service-account keys must be RSA or ECDSA/);
    expect(() => rootShardCertificates({ ...rsInput, templates: { server: { privateKey: { algorithm: 'RSA', size: 512 } } } })).toThrow(PkiError);
    expect(() => rootShardCertificates({ ...rsInput, templates: { server: { ipAddresses: ['nope'] } } })).toThrow(/certificate root-server: invalid IP/);
  });
});

describe('the other components', () => {
  it('plans a Shard under its RootShard', () => {
    const m = byName(shardCertificates({ name: 's1', namespace: 'kcp', rootShard: { name: 'root' } }));
    expect([...m.keys()]).toEqual([
      's1-server',
      's1-service-account',
      's1-virtual-workspaces',
      's1-client',
      's1-mounts-proxy',
      's1-logical-cluster-admin',
      's1-external-logical-cluster-admin',
    ]);
    expect(m.get('s1-server')?.dnsNames).toEqual(['localhost', 's1-shard-kcp.kcp.svc.cluster.local']);
    expect(m.get('s1-virtual-workspaces')?.dnsNames).toEqual(['s1-shard-kcp.kcp.svc.cluster.local']);
    expect(summary(m.get('s1-client'))).toMatchObject({ cn: 'shard-s1', o: ['system:masters'], issuer: { type: 'ca', secretName: 'root-client-ca' } });
    expect(summary(m.get('s1-mounts-proxy'))).toMatchObject({ cn: 'kcp-mounts-proxy', o: [], issuer: { type: 'ca', secretName: 'root-requestheader-client-ca' } });
    expect(m.get('s1-logical-cluster-admin')?.subject.commonName).toBe('logical-cluster-admin-shard-s1');
    expect(m.get('s1-external-logical-cluster-admin')?.subject.commonName).toBe('external-logical-cluster-admin-shard-s1');
    expect(m.get('s1-client')?.labels).toEqual({ 'operator.kcp.io/rootshard': 'root', 'operator.kcp.io/shard': 's1' });
  });

  it('plans a FrontProxy and the internal root shard proxy', () => {
    const rs = { ...rsInput, privateHostname: 'kcp.internal' };
    const fp = byName(frontProxyCertificates({ name: 'fp', rootShard: rs, externalHostname: 'fp.example.com' }));
    expect([...fp.keys()]).toEqual(['root-fp-server', 'root-fp-kubeconfig', 'root-fp-requestheader']);
    expect(fp.get('root-fp-server')?.dnsNames).toEqual([
      'fp-front-proxy',
      'fp-front-proxy.kcp',
      'fp-front-proxy.kcp.svc.cluster.local',
      'api.kcp.example.com',
      'kcp.internal',
      'fp.example.com',
    ]);
    expect(summary(fp.get('root-fp-kubeconfig'))).toMatchObject({ cn: 'kcp-front-proxy', o: ['system:masters'], issuer: { secretName: 'root-client-ca' } });
    expect(summary(fp.get('root-fp-requestheader'))).toMatchObject({ cn: 'kcp-front-proxy', o: [], issuer: { secretName: 'root-requestheader-client-ca' } });
    expect(fp.get('root-fp-server')?.labels).toEqual({ 'operator.kcp.io/rootshard': 'root', 'operator.kcp.io/front-proxy': 'fp' });

    const internal = byName(frontProxyCertificates({ rootShard: rs }));
    expect([...internal.keys()]).toEqual(['root-proxy-server', 'root-proxy-kubeconfig', 'root-proxy-requestheader']);
    expect(internal.get('root-proxy-server')?.dnsNames).toEqual(['root-proxy', 'root-proxy.kcp', 'root-proxy.kcp.svc.cluster.local']);
    expect(internal.get('root-proxy-requestheader')?.subject.commonName).toBe('kcp-root-shard-proxy');
  });

  it('plans a CacheServer with its own root and a VirtualWorkspace', () => {
    const cs = byName(cacheServerCertificates({ name: 'cache', namespace: 'kcp' }));
    expect([...cs.keys()]).toEqual(['cache-ca', 'cache-server', 'cache-client-certificate']);
    expect(cs.get('cache-ca')).toMatchObject({ isCA: true, issuer: { type: 'selfSigned' }, durationMs: DEFAULT_CA_DURATION_MS });
    expect(cs.get('cache-server')?.dnsNames).toEqual(['localhost', 'cache-cache-server.kcp.svc.cluster.local']);
    expect(cs.get('cache-client-certificate')).toMatchObject({
      subject: { commonName: 'cache-client', organizations: ['system:masters'] },
      keyUsages: ['digitalSignature', 'keyEncipherment'],
      extKeyUsages: ['clientAuth'],
      issuer: { type: 'ca', secretName: 'cache-ca' },
    });
    const vw = byName(virtualWorkspaceCertificates({ name: 'vw', namespace: 'kcp', rootShard: { name: 'root' } }));
    expect(vw.get('vw-server')?.dnsNames).toEqual(['localhost', 'vw-virtual-workspace.kcp.svc.cluster.local']);
    expect(vw.get('vw-client')?.subject).toMatchObject({ commonName: 'vw-virtual-workspace', organizations: ['system:masters'] });
  });

  it('plans a Kubeconfig client certificate', () => {
    const kc = kubeconfigCertificate({ name: 'alice-kc', rootShard: 'root', username: 'alice', groups: ['team-b', 'team-a', 'team-a'], validityMs: 30 * 24 * H });
    expect(kc).toMatchObject({
      secretName: 'kubeconfig-cert-alice-kc',
      subject: { commonName: 'alice', organizations: ['kubeconfig:alice-kc', 'team-a', 'team-b'] },
      issuer: { type: 'ca', secretName: 'root-client-ca' },
      extKeyUsages: ['clientAuth'],
      durationMs: 30 * 24 * H,
      renewBeforeMs: 10 * 24 * H,
      labels: { 'operator.kcp.io/kubeconfig': 'alice-kc' },
    });
    expect(() => kubeconfigCertificate({ name: 'x', rootShard: 'root', username: 'u', validityMs: 0 })).toThrow(PkiError);
  });

  it('derives X.509 usages like cert-manager', () => {
    expect(x509Usages([], false)).toEqual({ keyUsages: ['digitalSignature', 'keyEncipherment'], extKeyUsages: [] });
    expect(x509Usages(['client auth'], false)).toEqual({ keyUsages: [], extKeyUsages: ['clientAuth'] });
    expect(x509Usages(['server auth', 'client auth'], true)).toEqual({ keyUsages: ['keyCertSign'], extKeyUsages: ['serverAuth', 'clientAuth'] });
  });
});

describe('issuing the whole plan', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pki-hier-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const file = (s: string): string => {
    const p = join(dir, `${n++}.pem`);
    writeFileSync(p, s);
    return p;
  };

  /** openssl verify the Secret's certificate against its ca.crt, with the rest of tls.crt as untrusted chain. */
  const verify = (s: TlsSecretData, purpose?: string): boolean => {
    const certs = s['tls.crt'].match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g) ?? [];
    const args = ['verify', '-x509_strict', '-CAfile', file(s['ca.crt'])];
    if (certs.length > 1) args.push('-untrusted', file(certs.slice(1).join('')));
    if (purpose !== undefined) args.push('-purpose', purpose);
    args.push(file(certs[0] ?? ''));
    return spawnSync('/usr/bin/openssl', args).status === 0;
  };

  it('issues a RootShard, a Shard, a FrontProxy and a Kubeconfig that all verify and match their plan', async () => {
    const plans = [
      ...rootShardCertificates(rsInput),
      ...shardCertificates({ name: 's1', namespace: 'kcp', rootShard: { name: 'root' } }),
      ...frontProxyCertificates({ name: 'fp', rootShard: rsInput }),
      kubeconfigCertificate({ name: 'admin', rootShard: 'root', username: 'admin', groups: ['system:kcp:admin'], validityMs: DEFAULT_LEAF_DURATION_MS }),
    ];
    const secrets = await issueAll(plans);
    expect(secrets.size).toBe(plans.length);
    const rootPem = secrets.get('root-ca')?.['tls.crt'] ?? '';
    for (const plan of plans) {
      const s = secrets.get(plan.secretName) as TlsSecretData;
      const cert = parseCertificate(s['tls.crt']);
      expect({ name: plan.secretName, diffs: specDifferences(cert, plan) }).toEqual({ name: plan.secretName, diffs: [] });
      expect(cert.publicKeyFingerprint).toBeTruthy();
      // Every Secret's ca.crt is the root; tls.crt carries the intermediate after a leaf.
      expect(s['ca.crt']).toBe(rootPem);
      expect(splitPemCertificates(s['tls.crt'])).toHaveLength(plan.secretName === 'root-ca' ? 1 : plan.isCA ? 1 : 2);
      const purpose = plan.extKeyUsages.includes('serverAuth') ? 'sslserver' : plan.extKeyUsages.includes('clientAuth') ? 'sslclient' : undefined;
      expect({ name: plan.secretName, ok: verify(s, purpose) }).toEqual({ name: plan.secretName, ok: true });
    }
    // A client certificate is refused as a server and vice versa: the purposes above are real checks.
    expect(verify(secrets.get('root-client') as TlsSecretData, 'sslserver')).toBe(false);
    expect(verify(secrets.get('root-server') as TlsSecretData, 'sslclient')).toBe(false);
  });

  it('keeps the trust domains apart when each CA is trusted alone, as Go does with --client-ca-file', async () => {
    const plans = [...rootShardCertificates(rsInput), ...frontProxyCertificates({ name: 'fp', rootShard: rsInput })];
    const secrets = await issueAll(plans);
    // The leaf alone (no chain), verified against one CA certificate taken as the only anchor.
    const anchored = (caSecret: string, leaf: string): boolean => {
      const [leafDer] = splitPemCertificates(secrets.get(leaf)?.['tls.crt'] ?? '');
      const args = ['verify', '-partial_chain', '-CAfile', file(secrets.get(caSecret)?.['tls.crt'] ?? ''), file(derToPem(leafDer as Buffer))];
      return spawnSync('/usr/bin/openssl', args).status === 0;
    };
    const matrix: Record<string, string[]> = {
      'root-client-ca': ['root-client', 'root-kcp-operator', 'root-logical-cluster-admin', 'root-fp-kubeconfig'],
      'root-requestheader-client-ca': ['root-fp-requestheader'],
      'root-server-ca': ['root-server', 'root-fp-server', 'root-virtual-workspaces'],
      'root-service-account-ca': ['root-service-account'],
    };
    const leaves = Object.values(matrix).flat();
    for (const [ca, own] of Object.entries(matrix)) {
      for (const leaf of leaves) {
        expect({ ca, leaf, trusted: anchored(ca, leaf) }).toEqual({ ca, leaf, trusted: own.includes(leaf) });
      }
    }
  });

  it('signs from a bring-your-own CA Secret without touching it', async () => {
    const byo = rootShardCertificates({ ...rsInput, name: 'other' })[0] as PlannedCertificate;
    const ca = await issuePlanned(byo);
    const plans = rootShardCertificates({ ...rsInput, caSecretRef: 'corp-ca' });
    await expect(issueAll(plans)).rejects.toThrow(/is not issued by this operator/);
    const secrets = await issueAll(plans, new Map([['corp-ca', ca.secretData]]));
    expect(secrets.get('corp-ca')).toBe(ca.secretData);
    expect(verify(secrets.get('root-server') as TlsSecretData, 'sslserver')).toBe(true);
    expect(parseCertificate(secrets.get('root-client-ca')?.['tls.crt'] ?? '').issuer.commonName).toBe('other-ca');
  });
});
