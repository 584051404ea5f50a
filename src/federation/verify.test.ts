import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsr } from '../pki/csr.js';
import type { PlannedCertificate } from '../pki/hierarchy.js';
import { publicKeyFingerprint } from '../pki/keys.js';
import { parseCertificate } from '../pki/x509.js';
import type { JoinRequest } from './protocol.js';
import { signApproved } from './sign.js';
import { EDGE, EDGE_CLUSTER, breakSignature, contentOf, csrWith, joiningShard, rootHierarchy, signedResponse, verifyInput, type Hierarchy, type Joining } from './testing.js';
import { acceptedBy, expectedPlans, verifyJoinRequest, type VerifyInput } from './verify.js';

let h: Hierarchy;
let edge: Joining;
beforeAll(async () => {
  h = await rootHierarchy();
  edge = await joiningShard(h.info);
});

const tmp = mkdtempSync(join(tmpdir(), 'federation-verify-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const plan = (j: Joining, key: string): PlannedCertificate => {
  const p = j.plans.find((x) => x.templateKey === key);
  if (!p) throw new Error(`no ${key} plan`);
  return p;
};

/** The request with one entry's CSR replaced. */
const withCsr = (r: JoinRequest, key: string, csr: string): JoinRequest => ({
  ...r,
  certificates: r.certificates.map((c) => (c.templateKey === key ? { ...c, csr } : c)),
});

/** Refused for `reason` (and the message names the check), with nothing handed to the signer. */
function expectRefused(input: VerifyInput, reason: string, message?: RegExp): void {
  const v = verifyJoinRequest(input);
  expect(v).toMatchObject({ decision: 'refuse', reason });
  expect(v).not.toHaveProperty('certificates');
  expect(v).not.toHaveProperty('fingerprints');
  if (v.decision !== 'refuse') return;
  if (message) expect(v.message).toMatch(message);
  expect(v.message).not.toContain('BEGIN');
}

describe('a valid join request', () => {
  it('is approved with one entry per planned certificate, for the CSRs\' keys', () => {
    const v = verifyJoinRequest(verifyInput(h, edge.request));
    if (v.decision !== 'sign') throw new Error(`not signed: ${JSON.stringify(v)}`);
    const planned = expectedPlans({ rootShard: { name: h.name, namespace: h.namespace }, request: edge.request });
    expect(v.certificates.map((c) => c.plan.templateKey).sort()).toEqual(planned.map((p) => p.templateKey).sort());
    expect(v.certificates).toHaveLength(7);
    for (const c of v.certificates) {
      const entry = edge.request.certificates.find((e) => e.templateKey === c.plan.templateKey);
      expect(publicKeyFingerprint(c.publicKey)).toBe(publicKeyFingerprint(parseCsr(entry?.csr ?? '').publicKey));
      expect(c.durationMs).toBe(entry?.durationMs);
    }
    expect(v.fingerprints).toEqual(v.certificates.map((c) => publicKeyFingerprint(c.publicKey)));
  });

  it('is signed by the right intermediate CA, for the CSR\'s key, with exactly the planned identity', async () => {
    const v = verifyJoinRequest(verifyInput(h, edge.request));
    if (v.decision !== 'sign') throw new Error('not signed');
    const signed = await signApproved(v.certificates, h.caSecret);
    expect(Object.keys(signed.certificates).sort()).toEqual(edge.plans.map((p) => p.templateKey).sort());
    const ca = (secretName: string) => parseCertificate(h.secrets.get(secretName)?.['tls.crt'] ?? '').x509;
    for (const { plan: p, publicKey } of v.certificates) {
      const cert = parseCertificate(signed.certificates[p.templateKey] ?? '');
      if (p.issuer.type !== 'ca') throw new Error('a shard plan is signed by a CA');
      const issuer = ca(p.issuer.secretName);
      expect(cert.x509.checkIssued(issuer) && cert.x509.verify(issuer.publicKey), p.templateKey).toBe(true);
      expect(cert.x509.verify(ca(`${h.name}-ca`).publicKey), `${p.templateKey} is not signed by the root CA`).toBe(false);
      expect(cert.publicKeyFingerprint).toBe(publicKeyFingerprint(publicKey));
      expect(cert.isCA).toBe(false);
      expect(cert.subject.commonName).toBe(p.subject.commonName);
      expect([...cert.subject.organizations].sort()).toEqual([...p.subject.organizations].sort());
      expect(cert.subject.organizationalUnits).toEqual([]);
      expect(cert.subject.other).toEqual([]);
      expect([...cert.dnsNames].sort()).toEqual([...p.dnsNames].sort());
      expect(cert.ipAddresses).toEqual(p.ipAddresses);
      expect([...cert.keyUsages].sort()).toEqual([...p.keyUsages].sort());
      expect([...cert.extKeyUsages].sort()).toEqual([...p.extKeyUsages].sort());
    }
    const sa = parseCertificate(signed.certificates['service-account'] ?? '');
    const saCA = ca(`${h.name}-service-account-ca`);
    expect(sa.x509.verify(saCA.publicKey)).toBe(true);
    expect(sa.subject.commonName).toBe('edge-1-service-account');
    const client = parseCertificate(signed.certificates.client ?? '');
    expect(client.subject).toMatchObject({ commonName: 'shard-edge-1', organizations: ['system:masters'] });
    expect(client.x509.verify(ca(`${h.name}-client-ca`).publicKey)).toBe(true);
    expect(new Date(signed.notAfter).getTime()).toBeGreaterThan(Date.now() + 300 * 24 * 3600_000);
  });

  it('is unchanged when the generation already signed comes again with the same keys', async () => {
    const previous = await signedResponse(h, edge.request);
    expect(previous.signedKeys).toHaveLength(7);
    expect(verifyJoinRequest(verifyInput(h, edge.request, { previous }))).toEqual({ decision: 'unchanged' });
    // The next generation, with new keys, is signed again.
    const next = await joiningShard(h.info, { generation: 2 });
    expect(verifyJoinRequest(verifyInput(h, next.request, { previous })).decision).toBe('sign');
  });
});

describe('NotAccepted', () => {
  it('without a matching rule', () => {
    expectRefused(verifyInput(h, edge.request, { accept: [] }), 'NotAccepted');
    expectRefused(verifyInput(h, edge.request, { accept: [{ cluster: 'prod-*', namespace: '*', shard: '*' }] }), 'NotAccepted');
  });

  it('when a rule matches the cluster but not the namespace', () => {
    expectRefused(verifyInput(h, edge.request, { accept: [{ cluster: EDGE_CLUSTER, namespace: 'kcp-core', shard: '*' }] }), 'NotAccepted', /namespace kcp-edge/);
  });

  it('by glob: edge-* accepts edge-1 and no other shard', async () => {
    const accept = [{ cluster: 'edge-*', namespace: 'kcp-*', shard: 'edge-*' }];
    expect(verifyJoinRequest(verifyInput(h, edge.request, { accept })).decision).toBe('sign');
    const core = await joiningShard(h.info, { shard: { name: 'core-1', namespace: 'kcp-edge' } });
    expectRefused(verifyInput(h, core.request, { accept }), 'NotAccepted', /shard core-1/);
    expectRefused(verifyInput(h, edge.request, { accept, origin: { ...verifyInput(h, edge.request).origin, cluster: 'prod-a' } }), 'NotAccepted');
    expect(acceptedBy(accept, { cluster: 'edge-b', namespace: 'kcp-x', shard: 'edge-99' })).toBe(true);
    expect(acceptedBy(accept, { cluster: 'edge', namespace: 'kcp-x', shard: 'edge-99' })).toBe(false);
    expect(acceptedBy([{ cluster: '?dge-a', namespace: 'kcp-edg?', shard: '*-1' }], { cluster: EDGE_CLUSTER, ...EDGE, shard: 'edge-1' })).toBe(true);
  });
});

describe('RequestTampered', () => {
  it('when the origin object is not <shard>-join-request', () => {
    const origin = { ...verifyInput(h, edge.request).origin, name: 'edge-2-join-request' };
    expectRefused(verifyInput(h, edge.request, { origin }), 'RequestTampered', /names shard kcp-edge\/edge-1/);
  });

  it('when the origin namespace is not the request\'s namespace', () => {
    const origin = { ...verifyInput(h, edge.request).origin, namespace: 'kcp-other' };
    expectRefused(verifyInput(h, edge.request, { origin }), 'RequestTampered');
  });

  it('when the request names another RootShard', () => {
    expectRefused(verifyInput(h, { ...edge.request, rootShard: 'other-root' }), 'RequestTampered', /RootShard other-root/);
  });

  it('when a generation already signed comes again with other keys', async () => {
    const previous = await signedResponse(h, edge.request);
    const again = await joiningShard(h.info, { generation: 1 });
    expectRefused(verifyInput(h, again.request, { previous }), 'RequestTampered', /signed with other keys/);
  });
});

describe('ShardNameTaken', () => {
  it.each([
    ['the root shard', 'root' as const, /is the root shard's name/],
    ['a local Shard', 'local' as const, /already belongs to this installation/],
    ['a shard from another origin', { cluster: 'edge-b', namespace: 'kcp-edge' }, /already joined from edge-b\/kcp-edge/],
  ])('when %s holds the name', (_what, holder, message) => {
    expectRefused(verifyInput(h, edge.request, { holder }), 'ShardNameTaken', message);
  });
});

describe('replays', () => {
  it('StaleRequest: a lower generation than the one signed', async () => {
    const newer = await joiningShard(h.info, { generation: 2 });
    const previous = await signedResponse(h, newer.request);
    expectRefused(verifyInput(h, edge.request, { previous }), 'StaleRequest', /generation 1 is older than the signed generation 2/);
  });

  it('KeyReused: a new generation with a key signed before', async () => {
    const previous = await signedResponse(h, edge.request);
    const fresh = await joiningShard(h.info, { generation: 2 });
    const keys = { ...fresh.keys, client: edge.keys.client ?? '' };
    const reusing = await joiningShard(h.info, { generation: 2, keys });
    expectRefused(verifyInput(h, reusing.request, { previous }), 'KeyReused', /1 key\(s\)/);
  });
});

describe('InvalidCSR', () => {
  it('a CSR whose signature does not verify (proof of possession)', () => {
    const broken = breakSignature(edge.request.certificates[0]?.csr ?? '', 'CERTIFICATE REQUEST');
    const key = edge.request.certificates[0]?.templateKey ?? '';
    expectRefused(verifyInput(h, withCsr(edge.request, key, broken)), 'InvalidCSR', /signature does not verify/);
  });

  it('garbage', () => {
    expectRefused(verifyInput(h, withCsr(edge.request, 'client', 'not a CSR')), 'InvalidCSR', /client certificate/);
    const b64junk = '-----BEGIN CERTIFICATE REQUEST-----\nAAECAwQF\n-----END CERTIFICATE REQUEST-----\n';
    expectRefused(verifyInput(h, withCsr(edge.request, 'server', b64junk)), 'InvalidCSR');
  });
});

/** A CSR made by openssl for the client plan's identity, asking for BasicConstraints CA:TRUE. */
function opensslCaCsr(keyPem: string): string {
  const keyFile = join(tmp, 'client.key');
  writeFileSync(keyFile, keyPem);
  const args = ['req', '-new', '-config', '/dev/null', '-key', keyFile, '-subj', '/O=system:masters/CN=shard-edge-1'];
  args.push('-addext', 'extendedKeyUsage=clientAuth', '-addext', 'basicConstraints=critical,CA:TRUE');
  const r = spawnSync('/usr/bin/openssl', args, { encoding: 'utf8', env: { ...process.env, OPENSSL_CONF: '/dev/null' } });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('IdentityMismatch', () => {
  it('system:masters added to the server certificate', () => {
    const server = plan(edge, 'server');
    const csr = csrWith({ ...contentOf(server), subject: { ...server.subject, organizations: ['system:masters'] } }, edge.keys.server ?? '');
    expectRefused(verifyInput(h, withCsr(edge.request, 'server', csr)), 'IdentityMismatch', /server certificate: the organizations/);
  });

  it('another shard\'s name as the client CN', async () => {
    const other = await joiningShard(h.info, { shard: { name: 'edge-2', namespace: 'kcp-edge' }, keys: edge.keys });
    const csr = other.request.certificates.find((c) => c.templateKey === 'client')?.csr ?? '';
    expect(parseCsr(csr).subject.commonName).toBe('shard-edge-2');
    expectRefused(verifyInput(h, withCsr(edge.request, 'client', csr)), 'IdentityMismatch', /client certificate: the common name/);
  });

  it('an extra DNS SAN', () => {
    const server = plan(edge, 'server');
    const csr = csrWith({ ...contentOf(server), dnsNames: [...server.dnsNames, 'api.kcp.example.com'] }, edge.keys.server ?? '');
    expectRefused(verifyInput(h, withCsr(edge.request, 'server', csr)), 'IdentityMismatch', /DNS names/);
  });

  it('a CSR asking to be a CA', () => {
    const csr = opensslCaCsr(edge.keys.client ?? '');
    expect(parseCsr(csr).requestsCA).toBe(true);
    expectRefused(verifyInput(h, withCsr(edge.request, 'client', csr)), 'IdentityMismatch', /client certificate: asks to be a CA/);
  });

  it('a missing certificate', () => {
    const request = { ...edge.request, certificates: edge.request.certificates.filter((c) => c.templateKey !== 'mounts-proxy') };
    expectRefused(verifyInput(h, request), 'IdentityMismatch', /missing from the request: mounts-proxy/);
  });

  it('a certificate a shard does not get', () => {
    const client = plan(edge, 'client');
    const extra = { templateKey: 'kcp-operator', csr: csrWith(contentOf(client), edge.keys.client ?? ''), durationMs: client.durationMs };
    expectRefused(verifyInput(h, { ...edge.request, certificates: [...edge.request.certificates, extra] }), 'IdentityMismatch', /does not get were requested: kcp-operator/);
  });

  it('a certificate requested twice, or two certificates for one key', () => {
    const first = edge.request.certificates[0];
    if (!first) throw new Error('empty request');
    expectRefused(verifyInput(h, { ...edge.request, certificates: [...edge.request.certificates, first] }), 'IdentityMismatch', /requested twice/);
    const sameKey = csrWith(contentOf(plan(edge, 'mounts-proxy')), edge.keys.client ?? '');
    expectRefused(verifyInput(h, withCsr(edge.request, 'mounts-proxy', sameKey)), 'IdentityMismatch', /same key/);
  });

  it('an Ed25519 key for the service-account certificate', async () => {
    const ed = await joiningShard(h.info, { keySpecs: { 'service-account': { algorithm: 'Ed25519' } } });
    expectRefused(verifyInput(h, ed.request), 'IdentityMismatch', /Ed25519/);
  });
});

describe('DurationTooLong and ForeignHostname', () => {
  it('DurationTooLong: a validity beyond maxDurationMs', () => {
    const request = { ...edge.request, certificates: edge.request.certificates.map((c) => (c.templateKey === 'client' ? { ...c, durationMs: h.info.maxCertificateDurationMs + 1 } : c)) };
    expectRefused(verifyInput(h, request), 'DurationTooLong', /client certificate/);
    expectRefused(verifyInput(h, edge.request, { maxDurationMs: 24 * 3600_000 }), 'DurationTooLong');
  });

  it.each(['https://root-kcp.kcp.svc.cluster.local:6443', 'https://API.kcp.example.com'])('ForeignHostname: shardBaseURL %s', async (shardBaseURL) => {
    const j = await joiningShard(h.info, { shard: { ...EDGE, shardBaseURL }, keys: edge.keys });
    expectRefused(verifyInput(h, j.request), 'ForeignHostname');
  });

  it('a shardBaseURL of its own is signed into the server certificate', async () => {
    const j = await joiningShard(h.info, { shard: { ...EDGE, shardBaseURL: 'https://edge-1.edge.example.com:6443' }, keys: edge.keys });
    const v = verifyJoinRequest(verifyInput(h, j.request));
    if (v.decision !== 'sign') throw new Error('not signed');
    expect(v.certificates.find((c) => c.plan.templateKey === 'server')?.plan.dnsNames).toContain('edge-1.edge.example.com');
  });
});

