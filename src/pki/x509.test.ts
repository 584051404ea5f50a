import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import forge from 'node-forge';
import { afterAll, describe, expect, it } from 'vitest';
import { PkiError } from './errors.js';
import { generateKeyPair } from './keys.js';
import type { KeyAlgorithm, KeyPair, KeySpec } from './keys.js';
import { parseCertificate, prepareIssuer, selfSigned, signCertificate, signCertificateSync } from './x509.js';
import type { CertificateRequest } from './x509.js';

const OPENSSL = '/usr/bin/openssl';
const dir = mkdtempSync(join(tmpdir(), 'pki-x509-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileSeq = 0;
function file(content: string): string {
  const p = join(dir, `f${fileSeq++}.pem`);
  writeFileSync(p, content);
  return p;
}

function openssl(args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync(OPENSSL, args, { input, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

/** `openssl verify` of leaf against a trusted root and optional untrusted intermediates. */
function opensslVerify(root: string, leaf: string, untrusted: string[] = [], purpose?: string): { ok: boolean; out: string } {
  const args = ['verify', '-x509_strict', '-CAfile', file(root)];
  if (untrusted.length > 0) args.push('-untrusted', file(untrusted.join('')));
  if (purpose !== undefined) args.push('-purpose', purpose);
  args.push(file(leaf));
  return openssl(args);
}

function opensslText(pem: string): string {
  return openssl(['x509', '-noout', '-text', '-nameopt', 'RFC2253'], pem).out;
}

const YEAR = 365 * 24 * 3600_000;

interface Chain {
  rootKey: KeyPair;
  root: string;
  interKey: KeyPair;
  inter: string;
  leafKey: KeyPair;
  leaf: string;
}

async function chain(rootSpec: KeySpec, interSpec: KeySpec = rootSpec, leafSpec: KeySpec = interSpec): Promise<Chain> {
  const rootKey = await generateKeyPair(rootSpec);
  const root = await signCertificate(
    { subject: { commonName: 'kcp-ca' }, publicKey: rootKey.publicKey, isCA: true, notAfter: new Date(Date.now() + 10 * YEAR) },
    selfSigned(rootKey.privateKey),
  );
  const interKey = await generateKeyPair(interSpec);
  const inter = await signCertificate(
    {
      subject: { commonName: 'kcp-server-ca' },
      publicKey: interKey.publicKey,
      isCA: true,
      pathLen: 0,
      notAfter: new Date(Date.now() + 10 * YEAR),
    },
    { certificatePem: root, privateKey: rootKey.privateKeyPem },
  );
  const leafKey = await generateKeyPair(leafSpec);
  const leaf = await signCertificate(
    {
      subject: { commonName: 'kcp', organizations: ['system:masters', 'system:kcp:admin'] },
      publicKey: leafKey.publicKey,
      dnsNames: ['localhost', 'root-kcp.kcp.svc.cluster.local'],
      ipAddresses: ['127.0.0.1', '::1', '2001:db8::10'],
      extKeyUsages: ['serverAuth', 'clientAuth'],
    },
    { certificatePem: inter, privateKey: interKey.privateKey },
  );
  return { rootKey, root, interKey, inter, leafKey, leaf };
}

const ALGORITHMS: KeyAlgorithm[] = ['RSA', 'ECDSA', 'Ed25519'];

describe.each(ALGORITHMS)('%s root → intermediate → leaf', (algorithm) => {
  const made = chain({ algorithm });

  it('verifies with X509Certificate.verify and checkIssued, link by link', async () => {
    const c = await made;
    const [root, inter, leaf] = [c.root, c.inter, c.leaf].map((p) => new X509Certificate(p)) as [
      X509Certificate,
      X509Certificate,
      X509Certificate,
    ];
    expect(root.verify(root.publicKey)).toBe(true);
    expect(root.checkIssued(root)).toBe(true);
    expect(inter.verify(root.publicKey)).toBe(true);
    expect(inter.checkIssued(root)).toBe(true);
    expect(leaf.verify(inter.publicKey)).toBe(true);
    expect(leaf.checkIssued(inter)).toBe(true);
    // …and the negatives, so these assertions can fail.
    expect(leaf.verify(root.publicKey)).toBe(false);
    expect(leaf.checkIssued(root)).toBe(false);
    expect(leaf.verify(leaf.publicKey)).toBe(false);
  });

  it('verifies with openssl verify -x509_strict, and only with the intermediate supplied', async () => {
    const c = await made;
    const good = opensslVerify(c.root, c.leaf, [c.inter]);
    expect(good.out).toContain(': OK');
    expect(good.ok).toBe(true);
    expect(opensslVerify(c.root, c.inter).ok).toBe(true);
    expect(opensslVerify(c.root, c.leaf, [c.inter], 'sslserver').ok).toBe(true);
    expect(opensslVerify(c.root, c.leaf, [c.inter], 'sslclient').ok).toBe(true);

    const missing = opensslVerify(c.root, c.leaf);
    expect(missing.ok).toBe(false);
    expect(missing.out).toContain('unable to get local issuer certificate');
    const other = await chain({ algorithm });
    expect(opensslVerify(other.root, c.leaf, [c.inter]).ok).toBe(false);
  });

  it('carries the requested subject, SANs, usages and key', async () => {
    const c = await made;
    const p = parseCertificate(c.leaf);
    expect(p.subject).toEqual({
      commonName: 'kcp',
      organizations: ['system:masters', 'system:kcp:admin'],
      organizationalUnits: [],
      other: [],
    });
    expect(p.issuer.commonName).toBe('kcp-server-ca');
    expect(p.dnsNames).toEqual(['localhost', 'root-kcp.kcp.svc.cluster.local']);
    expect(p.ipAddresses).toEqual(['127.0.0.1', '::1', '2001:db8::10']);
    expect(p.isCA).toBe(false);
    expect(p.extKeyUsages).toEqual(['serverAuth', 'clientAuth']);
    expect(p.keyUsages).toEqual(algorithm === 'RSA' ? ['digitalSignature', 'keyEncipherment'] : ['digitalSignature']);
    expect(p.publicKeyFingerprint).toBe(c.leafKey.publicKeyFingerprint);
    expect(p.keySpec.algorithm).toBe(algorithm);
    expect(p.fingerprint256).toBe(new X509Certificate(c.leaf).fingerprint256.replace(/:/g, '').toLowerCase());
    expect(p.selfIssued).toBe(false);

    // Independently, as openssl reads it.
    const text = opensslText(c.leaf);
    expect(text).toContain('Subject: CN=kcp,O=system:kcp:admin,O=system:masters');
    expect(text).toMatch(/DNS:localhost, DNS:root-kcp\.kcp\.svc\.cluster\.local, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:10/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature/);
    expect(text).toMatch(/X509v3 Extended Key Usage: \s*TLS Web Server Authentication, TLS Web Client Authentication/);
    const sigAlg = { RSA: 'sha256WithRSAEncryption', ECDSA: 'ecdsa-with-SHA256', Ed25519: 'ED25519' }[algorithm];
    expect(text).toContain(`Signature Algorithm: ${sigAlg}`);
  });

  it('marks CAs with critical basicConstraints, pathLen and keyCertSign', async () => {
    const c = await made;
    const root = parseCertificate(c.root);
    expect(root).toMatchObject({ isCA: true, pathLen: undefined, selfIssued: true });
    expect(root.keyUsages).toEqual(['digitalSignature', 'keyCertSign', 'cRLSign']);
    const inter = parseCertificate(c.inter);
    expect(inter).toMatchObject({ isCA: true, pathLen: 0 });
    expect(opensslText(c.inter)).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(opensslText(c.inter)).toMatch(/X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
  });

  it('sets SKI to SHA-1 of the key bits and AKI to the issuer SKI', async () => {
    const c = await made;
    const keyBits = (k: KeyObject): Buffer => {
      const spki = k.export({ type: 'spki', format: 'der' });
      if (algorithm === 'RSA') return k.export({ type: 'pkcs1', format: 'der' });
      return spki.subarray(spki.length - (algorithm === 'ECDSA' ? 65 : 32));
    };
    const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
    const root = parseCertificate(c.root);
    const inter = parseCertificate(c.inter);
    const leaf = parseCertificate(c.leaf);
    expect(root.subjectKeyId).toBe(sha1(keyBits(c.rootKey.publicKey)));
    expect(inter.subjectKeyId).toBe(sha1(keyBits(c.interKey.publicKey)));
    expect(leaf.subjectKeyId).toBe(sha1(keyBits(c.leafKey.publicKey)));
    expect(root.authorityKeyId).toBe(root.subjectKeyId);
    expect(inter.authorityKeyId).toBe(root.subjectKeyId);
    expect(leaf.authorityKeyId).toBe(inter.subjectKeyId);
  });
});

describe('mixed algorithms', () => {
  it.each([
    [{ algorithm: 'RSA', size: 3072 }, { algorithm: 'ECDSA', size: 384 }, { algorithm: 'Ed25519' }],
    [{ algorithm: 'Ed25519' }, { algorithm: 'ECDSA', size: 521 }, { algorithm: 'RSA' }],
    [{ algorithm: 'ECDSA', size: 384 }, { algorithm: 'RSA' }, { algorithm: 'ECDSA' }],
  ] as Array<[KeySpec, KeySpec, KeySpec]>)('%j → %j → %j verifies with openssl', async (a, b, c) => {
    const ch = await chain(a, b, c);
    expect(opensslVerify(ch.root, ch.leaf, [ch.inter], 'sslserver').ok).toBe(true);
    expect(new X509Certificate(ch.leaf).verify(new X509Certificate(ch.inter).publicKey)).toBe(true);
    // The signature algorithm follows the issuer's key.
    if (b.algorithm === 'ECDSA' && b.size === 384) expect(opensslText(ch.leaf)).toContain('ecdsa-with-SHA384');
    if (b.algorithm === 'ECDSA' && b.size === 521) expect(opensslText(ch.leaf)).toContain('ecdsa-with-SHA512');
  });
});

describe('issuer names', () => {
  it('copies an openssl-made CA subject byte for byte (PrintableString C, multi-RDN) and chains to it', async () => {
    const keyPem = openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-outform', 'PEM']).out;
    const rsaKeyFile = file(keyPem);
    const legacyKey = openssl(['rsa', '-traditional', '-in', rsaKeyFile]).out; // "RSA PRIVATE KEY"
    expect(legacyKey).toContain('BEGIN RSA PRIVATE KEY');
    const caPem = openssl([
      'req', '-x509', '-new', '-key', rsaKeyFile, '-days', '30', '-subj', '/C=DE/O=Acme Corp/OU=Platform/CN=Acme Root',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]).out;
    const leafKey = await generateKeyPair({ algorithm: 'ECDSA' });
    const leaf = await signCertificate(
      { subject: { commonName: 'x' }, publicKey: leafKey.publicKey, extKeyUsages: ['clientAuth'] },
      { certificatePem: caPem, privateKey: legacyKey },
    );
    const tbsName = (pem: string, which: 'issuer' | 'subject'): string => {
      const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('binary');
      const tbs = (forge.asn1.fromDer(der).value as forge.asn1.Asn1[])[0] as forge.asn1.Asn1;
      const fields = tbs.value as forge.asn1.Asn1[];
      const node = fields[which === 'issuer' ? 3 : 5] as forge.asn1.Asn1;
      return Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary').toString('hex');
    };
    expect(tbsName(leaf, 'issuer')).toBe(tbsName(caPem, 'subject'));
    expect(tbsName(caPem, 'subject')).toContain('1302'); // C is a PrintableString (tag 0x13), not our UTF8String
    expect(opensslVerify(caPem, leaf, [], 'sslclient').ok).toBe(true);
    expect(new X509Certificate(leaf).checkIssued(new X509Certificate(caPem))).toBe(true);
    // openssl's CA has an SKI; our AKI must point at it.
    expect(parseCertificate(leaf).authorityKeyId).toBe(parseCertificate(caPem).subjectKeyId);
  });
});

describe('validity and serials', () => {
  it('backdates notBefore a little, truncates to seconds and honours explicit times', async () => {
    const k = await generateKeyPair({ algorithm: 'Ed25519' });
    const now = new Date('2030-06-01T12:00:00.750Z');
    const pem = signCertificateSync({ subject: { commonName: 'a' }, publicKey: k.publicKey, isCA: true }, selfSigned(k.privateKey), now);
    const p = parseCertificate(pem);
    expect(p.notBefore.toISOString()).toBe('2030-06-01T11:55:00.000Z');
    expect(p.notAfter.toISOString()).toBe('2031-06-01T12:00:00.000Z');

    const far = signCertificateSync(
      { subject: { commonName: 'a' }, publicKey: k.publicKey, isCA: true, notBefore: new Date('2049-12-31T23:59:59Z'), notAfter: new Date('2060-01-02T03:04:05Z') },
      selfSigned(k.privateKey),
    );
    expect(parseCertificate(far).notAfter.toISOString()).toBe('2060-01-02T03:04:05.000Z');
    expect(opensslText(far)).toContain('Not After : Jan  2 03:04:05 2060 GMT');
    expect(opensslText(far)).toContain('Not Before: Dec 31 23:59:59 2049 GMT');
  });

  it('clamps a leaf to its issuer notAfter', async () => {
    const k = await generateKeyPair({ algorithm: 'ECDSA' });
    const caNotAfter = new Date(Date.now() + 24 * 3600_000);
    const ca = signCertificateSync({ subject: { commonName: 'short-ca' }, publicKey: k.publicKey, isCA: true, notAfter: caNotAfter }, selfSigned(k.privateKey));
    const lk = await generateKeyPair({ algorithm: 'ECDSA' });
    const leaf = signCertificateSync({ subject: { commonName: 'l' }, publicKey: lk.publicKey, notAfter: new Date(Date.now() + YEAR) }, { certificatePem: ca, privateKey: k.privateKey });
    expect(parseCertificate(leaf).notAfter.getTime()).toBe(parseCertificate(ca).notAfter.getTime());
  });

  it('uses random, positive, minimally encoded serials with at least 64 bits', async () => {
    const k = await generateKeyPair({ algorithm: 'Ed25519' });
    const serials = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = parseCertificate(signCertificateSync({ subject: { commonName: 's' }, publicKey: k.publicKey, isCA: true }, selfSigned(k.privateKey)));
      expect(p.serialNumber).toMatch(/^[4-7][0-9a-f]{31}$/);
      serials.add(p.serialNumber);
    }
    expect(serials.size).toBe(200);
  });
});

describe('server certificate without a subject', () => {
  it('marks the SAN critical and passes openssl -x509_strict as a TLS server', async () => {
    const k = await generateKeyPair({ algorithm: 'ECDSA' });
    const ca = signCertificateSync({ subject: { commonName: 'ca' }, publicKey: k.publicKey, isCA: true }, selfSigned(k.privateKey));
    const lk = await generateKeyPair({ algorithm: 'ECDSA' });
    const leaf = signCertificateSync(
      { subject: {}, publicKey: lk.publicKey, dnsNames: ['kcp.example.com'], extKeyUsages: ['serverAuth'] },
      { certificatePem: ca, privateKey: k.privateKey },
    );
    expect(opensslText(leaf)).toMatch(/X509v3 Subject Alternative Name: critical\s+DNS:kcp\.example\.com/);
    expect(opensslVerify(ca, leaf, [], 'sslserver').ok).toBe(true);
    expect(opensslVerify(ca, leaf, [], 'sslclient').ok).toBe(false);
    expect(parseCertificate(leaf).subject.commonName).toBeUndefined();
  });
});

describe('refusals', () => {
  const base = async (): Promise<{ k: KeyPair; ca: string; req: CertificateRequest }> => {
    const k = await generateKeyPair({ algorithm: 'ECDSA' });
    const ca = signCertificateSync({ subject: { commonName: 'ca' }, publicKey: k.publicKey, isCA: true }, selfSigned(k.privateKey));
    const lk = await generateKeyPair({ algorithm: 'ECDSA' });
    return { k, ca, req: { subject: { commonName: 'leaf' }, publicKey: lk.publicKey, label: 'Certificate kcp/leaf' } };
  };

  it('refuses bad SANs, pathLen on a leaf, keyCertSign on a leaf and empty certificates', async () => {
    const { k, ca, req } = await base();
    const issuer = { certificatePem: ca, privateKey: k.privateKey };
    expect(() => signCertificateSync({ ...req, dnsNames: ['bad name'] }, issuer)).toThrow(/Certificate kcp\/leaf: invalid DNS name/);
    expect(() => signCertificateSync({ ...req, ipAddresses: ['300.1.1.1'] }, issuer)).toThrow(/invalid IP address/);
    expect(() => signCertificateSync({ ...req, pathLen: 1 }, issuer)).toThrow(/pathLen requires isCA/);
    expect(() => signCertificateSync({ ...req, keyUsages: ['keyCertSign'] }, issuer)).toThrow(/keyCertSign requires isCA/);
    expect(() => signCertificateSync({ ...req, isCA: true, keyUsages: ['digitalSignature'] }, issuer)).toThrow(/needs the keyCertSign/);
    expect(() => signCertificateSync({ ...req, subject: {} }, issuer)).toThrow(/subject or at least one SAN/);
    expect(() =>
      signCertificateSync({ ...req, notBefore: new Date(Date.now() + 1000), notAfter: new Date(Date.now() - 1000) }, issuer),
    ).toThrow(/notAfter must be later/);
  });

  it('refuses an issuer that is not a CA, a mismatched key, an expired CA and a mismatched self-signed key', async () => {
    const { k, ca, req } = await base();
    const leafAsIssuer = signCertificateSync(req, { certificatePem: ca, privateKey: k.privateKey });
    const other = await generateKeyPair({ algorithm: 'ECDSA' });
    expect(() => signCertificateSync(req, { certificatePem: leafAsIssuer, privateKey: other.privateKey, label: 'Secret kcp/leaf' })).toThrow(
      /^Secret kcp\/leaf: issuer certificate is not a CA/,
    );
    expect(() => signCertificateSync(req, { certificatePem: ca, privateKey: other.privateKeyPem })).toThrow(/does not match the issuer certificate/);
    const expired = signCertificateSync(
      { subject: { commonName: 'old' }, publicKey: k.publicKey, isCA: true, notBefore: new Date('2020-01-01Z'), notAfter: new Date('2021-01-01Z') },
      selfSigned(k.privateKey),
    );
    expect(() => signCertificateSync(req, { certificatePem: expired, privateKey: k.privateKey })).toThrow(/expired at 2021-01-01/);
    expect(() => signCertificateSync(req, selfSigned(other.privateKey))).toThrow(/does not belong to the signing private key/);
    await expect(signCertificate(req, selfSigned(other.privateKey))).rejects.toThrow(PkiError);
  });
});

describe('prepareIssuer', () => {
  it('signs as the issuer it was prepared from, and checks what signing checks once', async () => {
    const k = await generateKeyPair({ algorithm: 'ECDSA' });
    const ca = signCertificateSync({ subject: { commonName: 'ca' }, publicKey: k.publicKey, isCA: true }, selfSigned(k.privateKey));
    const lk = await generateKeyPair({ algorithm: 'ECDSA' });
    const req: CertificateRequest = { subject: { commonName: 'leaf' }, publicKey: lk.publicKey, notAfter: new Date(Date.now() + YEAR) };
    const prepared = prepareIssuer({ certificatePem: ca, privateKey: k.privateKeyPem, label: 'Secret kcp/ca' });
    const a = parseCertificate(signCertificateSync(req, prepared));
    const b = parseCertificate(signCertificateSync(req, { certificatePem: ca, privateKey: k.privateKeyPem }));
    expect(a.x509.verify(parseCertificate(ca).publicKey)).toBe(true);
    expect(a.x509.checkIssued(parseCertificate(ca).x509)).toBe(true);
    expect({ ...a.issuer, aki: a.authorityKeyId }).toEqual({ ...b.issuer, aki: b.authorityKeyId });
    // Never shows the key in what it prints.
    expect(inspect(prepared, { depth: 5 })).not.toContain('PRIVATE KEY');

    const other = await generateKeyPair({ algorithm: 'ECDSA' });
    expect(() => prepareIssuer({ certificatePem: ca, privateKey: other.privateKeyPem, label: 'Secret kcp/ca' })).toThrow(/^Secret kcp\/ca: issuer private key does not match/);
    const leaf = signCertificateSync({ ...req, label: 'x' }, prepared);
    expect(() => prepareIssuer({ certificatePem: leaf, privateKey: lk.privateKey })).toThrow(/not a CA/);
  });

  it('refuses to sign once its CA has expired, though it was prepared before', async () => {
    const k = await generateKeyPair({ algorithm: 'ECDSA' });
    const notAfter = new Date(Date.now() + 3600_000);
    const ca = signCertificateSync({ subject: { commonName: 'ca' }, publicKey: k.publicKey, isCA: true, notAfter }, selfSigned(k.privateKey));
    const prepared = prepareIssuer({ certificatePem: ca, privateKey: k.privateKey, label: 'Secret kcp/ca' });
    const lk = await generateKeyPair({ algorithm: 'ECDSA' });
    const req: CertificateRequest = { subject: { commonName: 'leaf' }, publicKey: lk.publicKey };
    expect(() => signCertificateSync(req, prepared, new Date())).not.toThrow();
    expect(() => signCertificateSync(req, prepared, new Date(notAfter.getTime() + 1000))).toThrow(/^Secret kcp\/ca: issuer certificate expired/);
  });
});

describe('parseCertificate errors', () => {
  it('names the Secret and never echoes a private key handed over by mistake', async () => {
    const k = await generateKeyPair({ algorithm: 'RSA' });
    const body = k.privateKeyPem.replace(/-----[^-]+-----|\s/g, '');
    const attempts = [
      k.privateKeyPem,
      // Key material wrapped as if it were a certificate: decodes, but is no X.509.
      `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`,
      `-----BEGIN CERTIFICATE-----\n${body.slice(0, 300)}\n-----END CERTIFICATE-----\n`,
    ];
    for (const pem of attempts) {
      let caught: unknown;
      try {
        parseCertificate(pem, 'Secret kcp/root-server key tls.crt');
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(PkiError);
      const shown = `${String(caught)}\n${(caught as Error).stack ?? ''}\n${inspect(caught, { showHidden: true, depth: 10 })}\n${JSON.stringify(caught)}`;
      expect(shown).toContain('Secret kcp/root-server key tls.crt');
      for (let i = 0; i + 12 <= body.length; i += 12) expect(shown).not.toContain(body.slice(i, i + 12));
    }
  });
});
