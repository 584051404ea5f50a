import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleFingerprints, issuerLayout, mergeCABundles, tlsSecretData } from './bundle.js';
import { PkiError } from './errors.js';
import { generateKeyPair } from './keys.js';
import type { KeyPair } from './keys.js';
import { splitPemCertificates } from './pem.js';
import { parseCertificate, selfSigned, signCertificateSync } from './x509.js';

let keys: KeyPair[];
let a: string;
let b: string;
let c: string;

beforeAll(async () => {
  keys = await Promise.all([0, 1, 2].map(() => generateKeyPair({ algorithm: 'ECDSA' })));
  [a, b, c] = keys.map((k, i) =>
    signCertificateSync({ subject: { commonName: `ca-${i}` }, publicKey: k.publicKey, isCA: true }, selfSigned(k.privateKey)),
  ) as [string, string, string];
});

const cns = (pem: string): string[] => splitPemCertificates(pem).map((d) => new X509Certificate(d).subject);

describe('mergeCABundles', () => {
  it('keeps first-seen order and drops duplicates by fingerprint, whatever the PEM formatting', () => {
    const crlf = b.replace(/\n/g, '\r\n');
    const merged = mergeCABundles([a + b, undefined, `garbage before\n${crlf}`, c, a]);
    expect(cns(merged)).toEqual(['CN=ca-0', 'CN=ca-1', 'CN=ca-2']);
    expect(mergeCABundles([c, b, a])).not.toBe(merged);
    // Stable: merging again, or merging the result, changes nothing byte for byte.
    expect(mergeCABundles([a + b, c])).toBe(merged);
    expect(mergeCABundles([merged, merged])).toBe(merged);
    expect(bundleFingerprints(merged)).toEqual([a, b, c].map((p) => parseCertificate(p).fingerprint256));
  });

  it('ignores key blocks and never copies them', () => {
    const merged = mergeCABundles([`${keys[0]?.privateKeyPem}${a}`]);
    expect(merged).not.toContain('PRIVATE KEY');
    expect(cns(merged)).toEqual(['CN=ca-0']);
  });

  it('names the source of a certificate that does not parse', () => {
    const broken = '-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n';
    expect(() => mergeCABundles([a, { name: 'Secret kcp/user-bundle key tls.crt', pem: broken }])).toThrow(PkiError);
    expect(() => mergeCABundles([a, { name: 'Secret kcp/user-bundle key tls.crt', pem: broken }])).toThrow(/^Secret kcp\/user-bundle key tls.crt: /);
    expect(() => mergeCABundles([broken])).toThrow(/^bundle #1: /);
  });
});

describe('tlsSecretData', () => {
  it('lays out a root, an intermediate and a leaf as cert-manager’s CA issuer does', async () => {
    const root = tlsSecretData(a, keys[0]?.privateKeyPem ?? '');
    expect(root['ca.crt']).toBe(root['tls.crt']);

    const ik = await generateKeyPair({ algorithm: 'ECDSA' });
    const inter = signCertificateSync({ subject: { commonName: 'inter' }, publicKey: ik.publicKey, isCA: true }, { certificatePem: a, privateKey: keys[0]?.privateKey as KeyPair['privateKey'] });
    const interSecret = tlsSecretData(inter, ik.privateKeyPem, root);
    expect(cns(interSecret['tls.crt'])).toEqual(['CN=inter']);
    expect(cns(interSecret['ca.crt'])).toEqual(['CN=ca-0']);

    const lk = await generateKeyPair({ algorithm: 'Ed25519' });
    const leaf = signCertificateSync({ subject: { commonName: 'leaf' }, publicKey: lk.publicKey }, { certificatePem: interSecret['tls.crt'], privateKey: ik.privateKey });
    const leafSecret = tlsSecretData(leaf, lk.privateKeyPem, interSecret);
    expect(cns(leafSecret['tls.crt'])).toEqual(['CN=leaf', 'CN=inter']);
    expect(cns(leafSecret['ca.crt'])).toEqual(['CN=ca-0']);
    expect(leafSecret['tls.key']).toBe(lk.privateKeyPem);

    // An issuer Secret without ca.crt: the top of its chain stands in.
    const { 'ca.crt': _dropped, ...noCa } = interSecret;
    expect(cns(tlsSecretData(leaf, lk.privateKeyPem, noCa)['ca.crt'])).toEqual(['CN=inter']);

    // The issuer's part worked out once lays out the same bytes.
    expect(tlsSecretData(leaf, lk.privateKeyPem, interSecret, issuerLayout(interSecret))).toEqual(leafSecret);
    expect(tlsSecretData(leaf, lk.privateKeyPem, noCa, issuerLayout(noCa))).toEqual(tlsSecretData(leaf, lk.privateKeyPem, noCa));
    expect(() => issuerLayout({ 'tls.crt': '' })).toThrow(/holds no certificate/);
  });
});
