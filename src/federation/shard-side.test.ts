import { createPublicKey } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsr } from '../pki/csr.js';
import { DEFAULT_LEAF_DURATION_MS, DEFAULT_LEAF_RENEW_BEFORE_MS, rootShardCertificates, type PlannedCertificate } from '../pki/hierarchy.js';
import { generateKeyPair } from '../pki/keys.js';
import { parseCertificate, signCertificate } from '../pki/x509.js';
import { JOIN_KEY, REQUEST_KEY, RESPONSE_KEY, parseJoinInfo, parseJoinRequest, parseJoinResponse, type JoinInfo, type JoinResponse } from './protocol.js';
import { buildJoinRequest, checkSignedResponse, issuingCA, joinInfoChainError, requestPlans } from './shard-side.js';
import { signApproved } from './sign.js';
import { EDGE, HOUR, breakSignature, joiningShard, rootHierarchy, signedResponse, verifyInput, type Hierarchy, type Joining } from './testing.js';
import { expectedPlans, verifyJoinRequest } from './verify.js';

const DAY = 24 * HOUR;

let h: Hierarchy;
/** Another installation whose RootShard has the same name: same issuer names, other keys. */
let other: Hierarchy;
let edge: Joining;
let response: JoinResponse;
beforeAll(async () => {
  [h, other] = await Promise.all([rootHierarchy(), rootHierarchy()]);
  edge = await joiningShard(h.info);
  response = await signedResponse(h, edge.request);
});

const planOf = (plans: readonly PlannedCertificate[], key: string): PlannedCertificate => {
  const p = plans.find((x) => x.templateKey === key);
  if (!p) throw new Error(`no ${key} plan`);
  return p;
};
const withCert = (r: JoinResponse, key: string, pem: string | undefined): JoinResponse => {
  const certificates = { ...r.signed?.certificates };
  if (pem === undefined) delete certificates[key];
  else certificates[key] = pem;
  return { ...r, signed: { generation: r.signed?.generation ?? 1, notAfter: r.signed?.notAfter ?? '', certificates } };
};
const identity = (p: PlannedCertificate) => ({ subject: p.subject, dnsNames: p.dnsNames, ipAddresses: p.ipAddresses, keyUsages: p.keyUsages, extKeyUsages: p.extKeyUsages, issuer: p.issuer });

describe('requestPlans', () => {
  it('asks for exactly what the RootShard\'s cluster expects for the shard', () => {
    const planned = expectedPlans({ rootShard: { name: h.name, namespace: h.namespace }, request: edge.request });
    expect(edge.plans.map((p) => p.templateKey)).toEqual(planned.map((p) => p.templateKey));
    edge.plans.forEach((p, i) => expect(identity(p)).toEqual(identity(planned[i] as PlannedCertificate)));
    expect(edge.plans.every((p) => p.durationMs === DEFAULT_LEAF_DURATION_MS && p.renewBeforeMs === DEFAULT_LEAF_RENEW_BEFORE_MS)).toBe(true);
  });

  it('caps durations at maxCertificateDurationMs, and renewBefore with them', () => {
    const info: JoinInfo = { ...h.info, maxCertificateDurationMs: 30 * DAY };
    const plans = requestPlans(EDGE, info, { server: { durationMs: 2 * 365 * DAY }, client: { durationMs: 10 * DAY } });
    expect(planOf(plans, 'server').durationMs).toBe(30 * DAY);
    expect(planOf(plans, 'client').durationMs).toBe(10 * DAY);
    expect(planOf(plans, 'mounts-proxy')).toMatchObject({ durationMs: 30 * DAY, renewBeforeMs: DEFAULT_LEAF_RENEW_BEFORE_MS });
    expect(plans.every((p) => p.durationMs <= 30 * DAY)).toBe(true);
    const short = requestPlans(EDGE, { ...h.info, maxCertificateDurationMs: 12 * HOUR }, {});
    expect(short.every((p) => p.durationMs === 12 * HOUR && p.renewBeforeMs === 4 * HOUR)).toBe(true);
  });

  it('takes only validity and key type from templates, never names or groups', () => {
    const plans = requestPlans(EDGE, h.info, {
      server: { dnsNames: ['api.kcp.example.com'], ipAddresses: ['10.0.0.1'], organizations: ['system:masters'], organizationalUnits: ['ops'], durationMs: 48 * HOUR, renewBeforeMs: 12 * HOUR },
      client: { organizations: ['system:kcp:admin'], privateKey: { algorithm: 'RSA', size: 3072 } },
    });
    const server = planOf(plans, 'server');
    expect(identity(server)).toEqual(identity(planOf(edge.plans, 'server')));
    expect(server).toMatchObject({ durationMs: 48 * HOUR, renewBeforeMs: 12 * HOUR });
    const client = planOf(plans, 'client');
    expect(client.subject).toEqual({ commonName: 'shard-edge-1', organizations: ['system:masters'], organizationalUnits: [] });
    expect(client.key).toMatchObject({ algorithm: 'RSA', size: 3072 });
  });
});

describe('issuingCA and buildJoinRequest', () => {
  it('names the installation CA of each plan', () => {
    const byKey = Object.fromEntries(edge.plans.map((p) => [p.templateKey, issuingCA(p, h.name)]));
    expect(byKey).toEqual({
      server: 'server',
      'service-account': 'service-account',
      'virtual-workspaces': 'server',
      client: 'client',
      'mounts-proxy': 'requestheader-client',
      'logical-cluster-admin': 'client',
      'external-logical-cluster-admin': 'client',
    });
    const rootCA = rootShardCertificates({ name: 'root', namespace: 'kcp', externalHostname: 'x' })[0] as PlannedCertificate;
    expect(issuingCA(rootCA, 'root')).toBeUndefined();
    expect(issuingCA(planOf(edge.plans, 'server'), 'other-root')).toBeUndefined();
  });

  it('makes one CSR per plan, for the plan\'s identity and the local key', () => {
    expect(edge.request).toMatchObject({ kind: 'KcpShardJoinRequest', version: 1, rootShard: 'root', shard: 'edge-1', namespace: 'kcp-edge', generation: 1 });
    for (const p of edge.plans) {
      const csr = parseCsr(edge.request.certificates.find((c) => c.templateKey === p.templateKey)?.csr ?? '');
      expect(csr.subject.commonName).toBe(p.subject.commonName);
      expect(csr.dnsNames).toEqual(p.dnsNames);
      expect(csr.publicKey.export({ type: 'spki', format: 'pem' })).toBe(createPublicKey(edge.keys[p.templateKey] ?? '').export({ type: 'spki', format: 'pem' }));
    }
    expect(JSON.stringify(edge.request)).not.toContain('PRIVATE KEY');
  });

  it('refuses to build a request without a key for every plan', () => {
    const { client: _client, ...keys } = edge.keys;
    expect(() => buildJoinRequest(EDGE, h.info, edge.plans, 2, keys)).toThrow(/no key for the client certificate/);
  });
});

describe('joinInfoChainError', () => {
  it('accepts the installation\'s own CAs', () => {
    expect(joinInfoChainError(h.info)).toBeUndefined();
  });

  it('detects an intermediate CA not signed by the root', () => {
    const swapped = { ...h.info, caCertificates: { ...h.info.caCertificates, 'service-account': other.caPem('service-account') } };
    expect(joinInfoChainError(swapped)).toBe('the service-account CA is not signed by the root CA');
    const otherRoot = { ...h.info, caCertificates: { ...h.info.caCertificates, root: other.caPem('root') } };
    expect(joinInfoChainError(otherRoot)).toMatch(/CA is not signed by the root CA/);
    // Issuer name and key identifiers intact, the signature broken.
    const tampered = { ...h.info, caCertificates: { ...h.info.caCertificates, server: breakSignature(h.caPem('server')) } };
    expect(joinInfoChainError(tampered)).toBe('the server CA is not signed by the root CA');
  });

  it('detects a leaf posing as an intermediate CA, and certificates that do not parse', async () => {
    const key = await generateKeyPair();
    const rootSecret = h.secrets.get('root-ca');
    const leaf = await signCertificate({ subject: { commonName: 'root-client-ca' }, publicKey: key.publicKey, isCA: false }, { certificatePem: rootSecret?.['tls.crt'] ?? '', privateKey: rootSecret?.['tls.key'] ?? '' });
    expect(joinInfoChainError({ ...h.info, caCertificates: { ...h.info.caCertificates, client: leaf } })).toBe('the client CA is not signed by the root CA');
    const garbage = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    expect(joinInfoChainError({ ...h.info, caCertificates: { ...h.info.caCertificates, server: garbage } })).toBe('a CA certificate does not parse');
  });
});

describe('checkSignedResponse', () => {
  it('accepts a correctly signed response for the pending keys', () => {
    const checked = checkSignedResponse(response, h.info, edge.plans, edge.keys);
    if (!checked.ok) throw new Error(checked.message);
    expect([...checked.secrets.keys()].sort()).toEqual(edge.plans.map((p) => p.secretName).sort());
    for (const p of edge.plans) {
      const s = checked.secrets.get(p.secretName);
      // As locally issued Secrets: the leaf then its intermediate in tls.crt, the root in ca.crt, so
      // a peer that trusts only the root CA builds the path (a leaf alone fails verification there).
      expect(s?.['tls.crt']).toBe(`${response.signed?.certificates[p.templateKey] ?? ''}${h.info.caCertificates[issuingCA(p, h.name) ?? 'root']}`);
      expect(s?.['tls.key']).toBe(edge.keys[p.templateKey]);
      expect(s?.['ca.crt']).toBe(h.info.caCertificates.root);
    }
    const earliest = Math.min(...Object.values(response.signed?.certificates ?? {}).map((c) => parseCertificate(c).notAfter.getTime()));
    expect(checked.notAfter.getTime()).toBe(earliest);
  });

  it('works across the wire: request and response through JSON and the parsers', async () => {
    const info = parseJoinInfo({ [JOIN_KEY]: JSON.stringify(h.info) });
    const b = await joiningShard(info, { shard: { name: 'edge-7', namespace: 'kcp-edge', shardBaseURL: 'https://edge-7.example.com' } });
    const request = parseJoinRequest({ [REQUEST_KEY]: JSON.stringify(b.request) });
    const answer = parseJoinResponse({ [RESPONSE_KEY]: JSON.stringify(await signedResponse(h, request)) });
    const checked = checkSignedResponse(answer, info, b.plans, b.keys);
    expect(checked.ok).toBe(true);
    expect(checked.ok && parseCertificate(checked.secrets.get('edge-7-server')?.['tls.crt'] ?? '').dnsNames).toContain('edge-7.example.com');
  });

  it('refuses a response with nothing signed', () => {
    const { signed: _signed, ...unsigned } = response;
    expect(checkSignedResponse({ ...unsigned, refused: { generation: 1, reason: 'NotAccepted', message: 'no' } }, h.info, edge.plans, edge.keys)).toEqual({
      ok: false,
      message: 'nothing is signed yet',
    });
  });

  it('refuses a certificate for a different key', async () => {
    const stranger = await joiningShard(h.info);
    const theirs = await signedResponse(h, stranger.request);
    const r = withCert(response, 'client', theirs.signed?.certificates.client);
    expect(checkSignedResponse(r, h.info, edge.plans, edge.keys)).toEqual({ ok: false, message: 'the client certificate is not for the key this cluster holds' });
  });

  it('refuses a certificate signed by another installation\'s CA', async () => {
    const forged = await signedResponse(other, edge.request);
    for (const [key, ca] of [['server', 'server'], ['mounts-proxy', 'requestheader-client'], ['service-account', 'service-account']] as const) {
      const r = withCert(response, key, forged.signed?.certificates[key]);
      expect(checkSignedResponse(r, h.info, edge.plans, edge.keys)).toEqual({ ok: false, message: `the ${key} certificate is not signed by the installation's ${ca} CA` });
    }
    // The right issuer name and key identifier, a signature that does not verify.
    const broken = withCert(response, 'client', breakSignature(response.signed?.certificates.client ?? ''));
    expect(checkSignedResponse(broken, h.info, edge.plans, edge.keys)).toEqual({ ok: false, message: 'the client certificate is not signed by the installation\'s client CA' });
  });

  it('refuses a certificate for another identity, or signed by the wrong intermediate', async () => {
    const v = verifyJoinRequest(verifyInput(h, edge.request));
    if (v.decision !== 'sign') throw new Error('not signed');
    const client = v.certificates.find((c) => c.plan.templateKey === 'client');
    if (!client) throw new Error('no client certificate');
    const renamed = await signApproved([{ ...client, plan: { ...client.plan, subject: { ...client.plan.subject, commonName: 'shard-edge-2' } } }], h.caSecret);
    expect(checkSignedResponse(withCert(response, 'client', renamed.certificates.client), h.info, edge.plans, edge.keys)).toEqual({
      ok: false,
      message: 'the client certificate differs from what was asked: subject.commonName',
    });
    const byServerCA = await signApproved([{ ...client, plan: { ...client.plan, issuer: { type: 'ca', secretName: 'root-server-ca' } } }], h.caSecret);
    expect(checkSignedResponse(withCert(response, 'client', byServerCA.certificates.client), h.info, edge.plans, edge.keys)).toEqual({
      ok: false,
      message: 'the client certificate is not signed by the installation\'s client CA',
    });
  });

  it('refuses a missing certificate, a missing key, and a certificate that does not parse', () => {
    expect(checkSignedResponse(withCert(response, 'mounts-proxy', undefined), h.info, edge.plans, edge.keys)).toEqual({
      ok: false,
      message: 'the mounts-proxy certificate is missing from the response',
    });
    const { server: _server, ...keys } = edge.keys;
    expect(checkSignedResponse(response, h.info, edge.plans, keys)).toMatchObject({ ok: false, message: 'the server certificate is missing from the response' });
    const garbage = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    expect(checkSignedResponse(withCert(response, 'server', garbage), h.info, edge.plans, edge.keys)).toEqual({ ok: false, message: 'the server certificate does not parse' });
  });
});
