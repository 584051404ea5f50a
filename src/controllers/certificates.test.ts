// The issuer check of reconcileCertificates: a CA Secret someone corrupted must block what it
// would sign, with a reason and a message that name it, instead of throwing or signing leaves its
// certificate does not verify.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/object.js';
import { cacheServerCertificates, type PlannedCertificate } from '../pki/hierarchy.js';
import { issuePlanned } from '../pki/issue.js';
import { inspectIssuer, onlyNeedsAPerson, type CertificatesOutcome } from './certificates.js';

const ca = cacheServerCertificates({ name: 'cs', namespace: 'ns' })[0] as PlannedCertificate;
const secret = (): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cs-ca', namespace: 'ns' } });
const now = new Date();

describe('inspectIssuer', () => {
  it('passes a sound CA', async () => {
    const good = await issuePlanned(ca);
    expect(inspectIssuer(secret(), good.secretData, 'cs-ca', now)).toHaveProperty('cert');
  });
  it('blocks on a truncated certificate or a garbage key, naming the Secret', async () => {
    const good = await issuePlanned(ca);
    const truncated = inspectIssuer(secret(), { ...good.secretData, 'tls.crt': good.secretData['tls.crt'].slice(0, 200) }, 'cs-ca', now);
    expect(truncated).toMatchObject({ reason: 'IssuerInvalid', message: expect.stringContaining('ns/cs-ca') });
    const garbage = inspectIssuer(secret(), { ...good.secretData, 'tls.key': 'not a key' }, 'cs-ca', now);
    expect(garbage).toMatchObject({ reason: 'IssuerInvalid', message: expect.stringContaining('ns/cs-ca') });
  });
  it('blocks on a key that is not the certificate\'s', async () => {
    const [a, b] = [await issuePlanned(ca), await issuePlanned(ca)];
    expect(inspectIssuer(secret(), { ...a.secretData, 'tls.key': b.secretData['tls.key'] }, 'cs-ca', now)).toMatchObject({ reason: 'IssuerKeyMismatch', message: expect.stringContaining('ns/cs-ca') });
  });
  it('blocks on an expired CA', async () => {
    const old = await issuePlanned({ ...ca, durationMs: 3600_000 }, { now: new Date(now.getTime() - 2 * 3600_000) });
    expect(inspectIssuer(secret(), old.secretData, 'cs-ca', now)).toMatchObject({ reason: 'IssuerExpired', message: expect.stringContaining('ns/cs-ca') });
  });
});

describe('onlyNeedsAPerson', () => {
  const outcome = (...reasons: string[]): CertificatesOutcome => ({
    ready: reasons.length === 0,
    blocked: reasons.map((reason) => ({ secretName: 's', reason, message: '', external: false })),
    issued: [],
    renewed: [],
    requeueAfterMs: undefined,
    data: new Map(),
    validity: new Map(),
  });
  it('is true only when everything blocked waits on a person (a broken CA or issuer), so the controller stops polling fast', () => {
    expect(onlyNeedsAPerson(outcome('IssuerKeyMismatch', 'CAExpired', 'IssuerInvalid', 'IssuerExpired'))).toBe(true);
    expect(onlyNeedsAPerson(outcome('IssuerKeyMismatch', 'IssuerMissing'))).toBe(false);
    expect(onlyNeedsAPerson(outcome('WaitingForCertManager'))).toBe(false);
    expect(onlyNeedsAPerson(outcome())).toBe(false);
  });
});
