import { inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TlsSecretData } from './bundle.js';
import { kubeconfigCertificate, rootShardCertificates } from './hierarchy.js';
import type { PlannedCertificate } from './hierarchy.js';
import { issueAll, issuePlanned } from './issue.js';
import { DEFAULT_MAX_REQUEUE_MS, evaluateCertificate, inspectSecret, renewalTime } from './renewal.js';
import { parseCertificate } from './x509.js';

const H = 3600_000;
const D = 24 * H;
const T0 = new Date('2030-01-01T00:00:00Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);

const plans = rootShardCertificates({ name: 'root', namespace: 'kcp', externalHostname: 'kcp.example.com' });
const plan = (name: string): PlannedCertificate => {
  const p = plans.find((x) => x.secretName === name);
  if (p === undefined) throw new Error(name);
  return p;
};
let secrets: Map<string, TlsSecretData>;
const secret = (name: string): TlsSecretData => secrets.get(name) as TlsSecretData;

beforeAll(async () => {
  secrets = await issueAll(plans, new Map(), T0);
});

describe('renewalTime', () => {
  it('is renewBefore ahead of notAfter, or at two thirds when renewBefore is not shorter than the lifetime', () => {
    const cert = { notBefore: T0, notAfter: at(90 * D) };
    expect(renewalTime(cert, 7 * D)).toEqual(at(83 * D));
    expect(renewalTime(cert, 90 * D)).toEqual(at(60 * D));
    expect(renewalTime(cert, 200 * D)).toEqual(at(60 * D));
  });
});

describe('evaluateCertificate: leaves', () => {
  const server = (): PlannedCertificate => plan('root-server');
  const issuerPem = (): string => secret('root-server-ca')['tls.crt'];

  it('issues a missing Secret', () => {
    expect(evaluateCertificate({ desired: server(), secret: undefined, now: T0 })).toMatchObject({ action: 'issue', reason: 'Missing', requeueAfterMs: 0 });
    expect(evaluateCertificate({ desired: server(), secret: { 'tls.crt': '', 'tls.key': '' }, now: T0 }).action).toBe('issue');
  });

  it('keeps a fresh leaf and asks to look again at renewal time, capped', () => {
    const d = evaluateCertificate({ desired: server(), secret: secret('root-server'), issuerCertificatePem: issuerPem(), now: at(D) });
    expect(d).toMatchObject({ action: 'keep', reason: 'Valid', requeueAfterMs: DEFAULT_MAX_REQUEUE_MS, differences: [] });
    expect(d.renewAt).toEqual(at(365 * D - 7 * D));
    const near = evaluateCertificate({ desired: server(), secret: secret('root-server'), now: at(358 * D - 2 * H), maxRequeueMs: 10 * D });
    expect(near).toMatchObject({ action: 'keep', requeueAfterMs: 2 * H });
  });

  it('reissues when renewal is due and when expired', () => {
    expect(evaluateCertificate({ desired: server(), secret: secret('root-server'), now: at(358 * D + 1) })).toMatchObject({
      action: 'reissue',
      reason: 'RenewalDue',
    });
    expect(evaluateCertificate({ desired: server(), secret: secret('root-server'), now: at(366 * D) })).toMatchObject({
      action: 'reissue',
      reason: 'Expired',
    });
  });

  it('reissues when the spec changes: SANs, groups, usages, key type, duration', () => {
    const s = secret('root-server');
    const cases: Array<[Partial<PlannedCertificate>, string]> = [
      [{ dnsNames: [...server().dnsNames, 'new.example.com'] }, 'dnsNames'],
      [{ ipAddresses: ['10.0.0.1'] }, 'ipAddresses'],
      [{ subject: { organizations: ['system:masters'], organizationalUnits: [] } }, 'subject.organizations'],
      [{ subject: { commonName: 'x', organizations: [], organizationalUnits: [] } }, 'subject.commonName'],
      [{ extKeyUsages: ['serverAuth', 'clientAuth'] }, 'extKeyUsages'],
      [{ keyUsages: ['digitalSignature'] }, 'keyUsages'],
      // A key a certificateTemplate asks for.
      [{ key: { algorithm: 'RSA', size: 2048, encoding: 'PKCS8' }, keyIsDefault: false }, 'privateKey'],
      [{ durationMs: 30 * D }, 'duration'],
    ];
    for (const [change, diff] of cases) {
      const d = evaluateCertificate({ desired: { ...server(), ...change }, secret: s, now: at(D) });
      expect({ diff, action: d.action, reason: d.reason, differences: d.differences }).toEqual({
        diff,
        action: 'reissue',
        reason: 'SpecChanged',
        differences: [diff],
      });
    }
    // Order and case do not count as a change.
    const reordered = { ...server(), dnsNames: [...server().dnsNames].reverse().map((n) => n.toUpperCase()) };
    expect(evaluateCertificate({ desired: reordered, secret: s, now: at(D) }).action).toBe('keep');
  });

  it('keeps a valid leaf whose key differs only from the default key (adopted from kcp-operator: RSA 4096)', () => {
    const rsa = { ...server(), key: { algorithm: 'RSA' as const, size: 2048, encoding: 'PKCS8' as const }, keyIsDefault: true };
    const d = evaluateCertificate({ desired: rsa, secret: secret('root-server'), issuerCertificatePem: issuerPem(), now: at(D) });
    expect(d).toMatchObject({ action: 'keep', reason: 'Valid', differences: [] });
  });

  it('reissues a leaf that its current issuer did not sign, a broken one and one whose key does not match', () => {
    const s = secret('root-server');
    expect(evaluateCertificate({ desired: server(), secret: s, issuerCertificatePem: secret('root-client-ca')['tls.crt'], now: at(D) })).toMatchObject({
      action: 'reissue',
      reason: 'IssuerChanged',
    });
    expect(evaluateCertificate({ desired: server(), secret: { ...s, 'tls.crt': 'garbage' }, now: at(D) })).toMatchObject({ action: 'reissue', reason: 'Invalid' });
    expect(evaluateCertificate({ desired: server(), secret: { ...s, 'tls.key': secret('root-client')['tls.key'] }, now: at(D) })).toMatchObject({
      action: 'reissue',
      reason: 'KeyMismatch',
    });
  });

  it('decides the same from a kept inspection and parsed issuer as from the PEM, and still sees another issuer', () => {
    const s = secret('root-server');
    const inspected = inspectSecret(s, 'Secret root-server');
    const issuer = parseCertificate(issuerPem());
    const other = parseCertificate(secret('root-client-ca')['tls.crt']);
    for (const now of [at(D), at(358 * D + 1), at(366 * D)]) {
      const fresh = evaluateCertificate({ desired: server(), secret: s, issuerCertificatePem: issuerPem(), now });
      expect(evaluateCertificate({ desired: server(), secret: s, inspected, issuerCertificate: issuer, now })).toEqual(fresh);
    }
    // The signature check is kept per pair of certificates, not per leaf.
    expect(evaluateCertificate({ desired: server(), secret: s, inspected, issuerCertificate: issuer, now: at(D) }).action).toBe('keep');
    expect(evaluateCertificate({ desired: server(), secret: s, inspected, issuerCertificate: other, now: at(D) })).toMatchObject({ reason: 'IssuerChanged' });
    // What was inspected is what counts: the content is not parsed again.
    const mismatch = inspectSecret({ ...s, 'tls.key': secret('root-client')['tls.key'] }, 'Secret root-server');
    expect(mismatch).toEqual({ broken: 'KeyMismatch', detail: '' });
    expect(evaluateCertificate({ desired: server(), secret: s, inspected: mismatch, now: at(D) })).toMatchObject({ reason: 'KeyMismatch' });
    expect(inspectSecret({ ...s, 'tls.crt': 'garbage' }, 'Secret root-server')).toMatchObject({ broken: 'Invalid' });
  });

  it('does not count a leaf cut short to its CA’s lifetime as a duration change', async () => {
    const ca = await issuePlanned({ ...plan('root-ca'), durationMs: 30 * D }, { now: T0 });
    const leaf = await issuePlanned(server(), { issuerSecret: ca.secretData, now: T0 });
    const d = evaluateCertificate({ desired: server(), secret: leaf.secretData, issuerCertificatePem: ca.secretData['tls.crt'], now: at(D) });
    expect(d).toMatchObject({ action: 'keep', differences: [] });
    expect(d.notAfter).toEqual(at(30 * D));
    // …but without knowing the issuer, it is one.
    expect(evaluateCertificate({ desired: server(), secret: leaf.secretData, now: at(D) }).differences).toEqual(['duration']);
  });

  it('renews a Kubeconfig certificate when a third of its validity remains', async () => {
    const kc = kubeconfigCertificate({ name: 'a', rootShard: 'root', username: 'a', validityMs: 30 * D });
    const issued = await issuePlanned(kc, { issuerSecret: secret('root-client-ca'), now: T0 });
    expect(evaluateCertificate({ desired: kc, secret: issued.secretData, now: at(19 * D) }).action).toBe('keep');
    expect(evaluateCertificate({ desired: kc, secret: issued.secretData, now: at(20 * D + 1000) })).toMatchObject({ action: 'reissue', reason: 'RenewalDue' });
  });
});

describe('evaluateCertificate: CAs are never regenerated', () => {
  const ca = (): PlannedCertificate => plan('root-client-ca');

  it('issues a missing CA, and only then; waits for one it does not issue itself', () => {
    expect(evaluateCertificate({ desired: ca(), secret: undefined, now: T0 }).action).toBe('issue');
    const byo = rootShardCertificates({ name: 'root', namespace: 'kcp', externalHostname: 'x', caSecretRef: 'corp-ca' })[0] as PlannedCertificate;
    expect(evaluateCertificate({ desired: byo, secret: undefined, now: T0 })).toMatchObject({
      action: 'blocked',
      reason: 'Missing',
      message: 'Secret corp-ca (certificates.caSecretRef) does not exist or is empty',
    });
    const cm = rootShardCertificates({ name: 'root', namespace: 'kcp', externalHostname: 'x', issuerRef: { name: 'corp' } })[0] as PlannedCertificate;
    expect(evaluateCertificate({ desired: cm, secret: undefined, now: T0 })).toMatchObject({ action: 'blocked', reason: 'Missing' });
  });

  it('keeps an existing CA through spec changes, and says so', () => {
    const d = evaluateCertificate({
      desired: { ...ca(), subject: { commonName: 'renamed-ca', organizations: ['x'] }, key: { algorithm: 'RSA', size: 4096 }, keyIsDefault: false, durationMs: 5 * 365 * D },
      secret: secret('root-client-ca'),
      now: at(D),
    });
    expect(d.action).toBe('keep');
    expect(d.differences).toEqual(['subject.commonName', 'subject.organizations', 'privateKey', 'duration']);
    expect(d.message).toContain('CAs are never regenerated');
  });

  it('keeps a CA in its renewal window but warns; blocks an expired, broken or mismatched CA', () => {
    const s = secret('root-client-ca');
    const tenYears = ca().durationMs;
    expect(evaluateCertificate({ desired: ca(), secret: s, now: at(tenYears - 10 * D) })).toMatchObject({ action: 'keep', reason: 'CAExpiringSoon' });
    expect(evaluateCertificate({ desired: ca(), secret: s, now: at(tenYears + D) })).toMatchObject({ action: 'blocked', reason: 'Expired' });
    expect(evaluateCertificate({ desired: ca(), secret: { ...s, 'tls.crt': 'garbage' }, now: at(D) })).toMatchObject({
      action: 'blocked',
      reason: 'Invalid',
      requeueAfterMs: undefined,
    });
    expect(evaluateCertificate({ desired: ca(), secret: { ...s, 'tls.key': secret('root-server-ca')['tls.key'] }, now: at(D) })).toMatchObject({
      action: 'blocked',
      reason: 'KeyMismatch',
    });
  });

  it('never puts key material into a decision', () => {
    const s = secret('root-client-ca');
    const key = s['tls.key'];
    const body = key.replace(/-----[^-]+-----|\s/g, '');
    const lines = key.split('\n');
    const corrupt = [...lines.slice(0, 2), ...lines.slice(3)].join('\n');
    const decisions = [
      evaluateCertificate({ desired: ca(), secret: { ...s, 'tls.key': corrupt }, now: at(D) }),
      evaluateCertificate({ desired: ca(), secret: { ...s, 'tls.crt': key }, now: at(D) }),
      evaluateCertificate({ desired: plan('root-server'), secret: { 'tls.crt': key, 'tls.key': key }, now: at(D) }),
    ];
    for (const d of decisions) {
      expect(d.action).not.toBe('keep');
      const shown = `${JSON.stringify(d)}${inspect(d, { depth: 10 })}`;
      expect(shown).toContain('Secret root-');
      for (let i = 0; i + 12 <= body.length; i += 12) expect(shown).not.toContain(body.slice(i, i + 12));
    }
  });
});
