import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { children, fromDer, oid, toDer } from './asn1.js';
import { MAX_CSR_PEM_LENGTH, createCsr, parseCsr } from './csr.js';
import type { CsrContent } from './csr.js';
import { PkiError } from './errors.js';
import { generateKeyPair, publicKeyFingerprint } from './keys.js';
import type { KeyPair, KeySpec } from './keys.js';
import { derToPem } from './pem.js';
import { selfSigned, signCertificateSync } from './x509.js';

const tmp = mkdtempSync(join(tmpdir(), 'pki-csr-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let seqNo = 0;
function tempFile(content: string): string {
  const p = join(tmp, `csr${seqNo++}.pem`);
  writeFileSync(p, content);
  return p;
}

/** Runs /usr/bin/openssl with an empty config, so the distribution's openssl.cnf adds nothing. */
function runOpenssl(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('/usr/bin/openssl', args, { encoding: 'utf8', env: { ...process.env, OPENSSL_CONF: '/dev/null' } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A CSR written by `openssl req -new` for the key, with extra arguments (-subj, -addext). */
function opensslCsr(key: KeyPair, args: string[]): string {
  const r = runOpenssl(['req', '-new', '-config', '/dev/null', '-key', tempFile(key.privateKeyPem), ...args]);
  expect(r.status, r.out).toBe(0);
  return r.out;
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

const csrPem = (der: Uint8Array): string => derToPem(der, 'CERTIFICATE REQUEST');

/** parseCsr must refuse with a PkiError whose message carries no PEM and no base64 of the input. */
function refusal(input: string): string {
  let caught: unknown;
  try {
    parseCsr(input);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(PkiError);
  const message = (caught as PkiError).message;
  expect(message).not.toContain('BEGIN');
  expect(message).not.toMatch(/[A-Za-z0-9+/=]{24,}/);
  return message;
}

const SPECS: [string, KeySpec][] = [
  ['RSA 2048', { algorithm: 'RSA', size: 2048 }],
  ['ECDSA P-256', { algorithm: 'ECDSA', size: 256 }],
  ['ECDSA P-384', { algorithm: 'ECDSA', size: 384 }],
  ['Ed25519', { algorithm: 'Ed25519' }],
];
const keys = new Map<string, KeyPair>();
const otherKeys = new Map<string, KeyPair>();
beforeAll(async () => {
  for (const [name, spec] of SPECS) {
    keys.set(name, await generateKeyPair(spec));
    otherKeys.set(name, await generateKeyPair(spec));
  }
});
const key = (name: string): KeyPair => keys.get(name) as KeyPair;

// Deliberately unsorted, so that any silent sorting shows.
const CONTENT: CsrContent = {
  subject: {
    commonName: 'system:kcp:shard:edge-1',
    organizations: ['system:kcp:shards', 'kcp-admins'],
    organizationalUnits: ['edge', 'cluster-b'],
  },
  dnsNames: ['shard.edge-1.example', 'a.edge-1.example', '*.edge-1.example'],
  ipAddresses: ['10.0.0.1', '2001:db8::7'],
  keyUsages: ['digitalSignature', 'keyEncipherment'],
  extKeyUsages: ['serverAuth', 'clientAuth'],
};

describe('createCsr → parseCsr', () => {
  it.each(SPECS)('%s: the content and the public key come back', (name) => {
    const parsed = parseCsr(createCsr(CONTENT, key(name)));
    expect(parsed).toEqual({
      ...CONTENT,
      publicKey: parsed.publicKey,
      otherSubjectAttributes: [],
      otherExtensions: [],
      otherNames: [],
      otherExtKeyUsages: [],
      otherAttributes: [],
      requestsCA: false,
    });
    expect(publicKeyFingerprint(parsed.publicKey)).toBe(key(name).publicKeyFingerprint);
  });

  it.each(SPECS)('%s: openssl req -verify accepts it and -text shows the SANs and usages', (name) => {
    const file = tempFile(createCsr(CONTENT, key(name)));
    const verified = runOpenssl(['req', '-in', file, '-noout', '-verify']);
    expect(verified.status, verified.out).toBe(0);
    expect(verified.out).toMatch(/verify OK/);
    const text = runOpenssl(['req', '-in', file, '-noout', '-text', '-nameopt', 'RFC2253']).out;
    expect(text).toContain(
      'DNS:shard.edge-1.example, DNS:a.edge-1.example, DNS:*.edge-1.example, IP Address:10.0.0.1, IP Address:2001:DB8:0:0:0:0:0:7',
    );
    expect(text).toContain('Subject: CN=system:kcp:shard:edge-1,OU=cluster-b,OU=edge,O=kcp-admins,O=system:kcp:shards');
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/);
  });

  it('normalises IP addresses as ip.ts does', () => {
    const ipAddresses = ['0:0::1', '::FFFF:10.0.0.1', '2001:DB8:0:0:0:0:0:1'];
    const parsed = parseCsr(createCsr({ subject: {}, ipAddresses }, key('ECDSA P-256')));
    expect(parsed.ipAddresses).toEqual(['::1', '::ffff:a00:1', '2001:db8::1']);
    expect(parsed.subject).toEqual({ organizations: [], organizationalUnits: [] });
  });

  it('a subject alone makes a request without extensionRequest, which openssl accepts', () => {
    const pem = createCsr({ subject: { commonName: 'alice' } }, key('Ed25519'));
    expect(runOpenssl(['req', '-in', tempFile(pem), '-noout', '-verify']).status).toBe(0);
    const parsed = parseCsr(pem);
    expect(parsed.subject).toEqual({ commonName: 'alice', organizations: [], organizationalUnits: [] });
    const lists = [parsed.dnsNames, parsed.ipAddresses, parsed.keyUsages, parsed.extKeyUsages, parsed.otherExtensions];
    expect(lists).toEqual([[], [], [], [], []]);
  });

  it('refuses bad input to createCsr', () => {
    const k = key('ECDSA P-256');
    expect(() => createCsr({ subject: {} }, k)).toThrow(/needs a subject or at least one SAN/);
    expect(() => createCsr({ subject: {}, dnsNames: ['not a name'] }, k)).toThrow(/invalid DNS name/);
    expect(() => createCsr({ subject: {}, ipAddresses: ['10.0.0.256'] }, k)).toThrow(/invalid IP address/);
    const mismatched = { privateKey: k.privateKey, publicKey: key('ECDSA P-384').publicKey };
    expect(() => createCsr({ subject: { commonName: 'x' } }, mismatched)).toThrow(/public key does not belong to the private key/);
  });
});

describe('parseCsr of requests written by openssl', () => {
  it.each(SPECS)('%s: -subj and -addext subjectAltName', (name) => {
    const parsed = parseCsr(opensslCsr(key(name), ['-subj', '/CN=x/O=a', '-addext', 'subjectAltName=DNS:a.example,IP:10.0.0.1']));
    expect(parsed.subject).toEqual({ commonName: 'x', organizations: ['a'], organizationalUnits: [] });
    expect(parsed.dnsNames).toEqual(['a.example']);
    expect(parsed.ipAddresses).toEqual(['10.0.0.1']);
    expect(parsed.otherSubjectAttributes).toEqual([]);
    expect(parsed.otherExtensions).toEqual([]);
    expect(parsed.otherNames).toEqual([]);
    expect(parsed.requestsCA).toBe(false);
    expect(publicKeyFingerprint(parsed.publicKey)).toBe(key(name).publicKeyFingerprint);
  });

  it('reports a C attribute of the subject', () => {
    const parsed = parseCsr(opensslCsr(key('ECDSA P-256'), ['-subj', '/C=DE/CN=x']));
    expect(parsed.subject.commonName).toBe('x');
    expect(parsed.otherSubjectAttributes).toEqual(['2.5.4.6']);
  });

  it('reports a second CN, since only the last one is in subject.commonName', () => {
    const parsed = parseCsr(opensslCsr(key('ECDSA P-256'), ['-subj', '/CN=system:masters/CN=x']));
    expect(parsed.subject.commonName).toBe('x');
    expect(parsed.otherSubjectAttributes).toEqual(['2.5.4.3']);
  });

  it('reports a request for a CA', () => {
    const parsed = parseCsr(opensslCsr(key('ECDSA P-256'), ['-subj', '/CN=x', '-addext', 'basicConstraints=critical,CA:TRUE']));
    expect(parsed.requestsCA).toBe(true);
    expect(parsed.otherExtensions).toEqual(['2.5.29.19']);
  });

  it('reports BasicConstraints CA:FALSE as another extension, without requestsCA', () => {
    const parsed = parseCsr(opensslCsr(key('ECDSA P-256'), ['-subj', '/CN=x', '-addext', 'basicConstraints=CA:FALSE']));
    expect(parsed.requestsCA).toBe(false);
    expect(parsed.otherExtensions).toEqual(['2.5.29.19']);
  });

  it('reports URI and email SANs and an unknown extended key usage', () => {
    const parsed = parseCsr(
      opensslCsr(key('ECDSA P-256'), [
        '-subj',
        '/CN=x',
        '-addext',
        'subjectAltName=URI:spiffe://hub/edge-1,DNS:a.example,email:ops@example.com',
        '-addext',
        'extendedKeyUsage=serverAuth,anyExtendedKeyUsage',
        '-addext',
        'keyUsage=critical,digitalSignature,keyCertSign',
      ]),
    );
    expect(parsed.dnsNames).toEqual(['a.example']);
    expect(parsed.otherNames).toEqual(['URI:spiffe://hub/edge-1', 'email:ops@example.com']);
    expect(parsed.extKeyUsages).toEqual(['serverAuth']);
    expect(parsed.otherExtKeyUsages).toEqual(['2.5.29.37.0']);
    expect(parsed.keyUsages).toEqual(['digitalSignature', 'keyCertSign']);
  });
});

describe('parseCsr refuses', () => {
  it.each(SPECS)('%s: a request altered after signing', (name) => {
    const der = pemToDer(createCsr(CONTENT, key(name)));
    const at = der.indexOf('a.edge-1.example');
    expect(at).toBeGreaterThan(0);
    der[at] = 'b'.charCodeAt(0);
    // Still well-formed: only the signature check can tell.
    expect(() => fromDer(der)).not.toThrow();
    expect(refusal(csrPem(der))).toMatch(/signature does not verify/);
  });

  it.each(SPECS)('%s: a signature kept while the public key is swapped for another', (name) => {
    const root = fromDer(pemToDer(createCsr(CONTENT, key(name))));
    const info = children(root)[0];
    const other = fromDer(otherKeys.get(name)?.publicKey.export({ type: 'spki', format: 'der' }) as Buffer);
    children(info)[2] = other;
    expect(refusal(csrPem(toDer(root)))).toMatch(/signature does not verify/);
  });

  it('an unsupported signature algorithm (sha1WithRSAEncryption)', () => {
    const root = fromDer(pemToDer(createCsr(CONTENT, key('RSA 2048'))));
    children(children(root)[1])[0] = oid('1.2.840.113549.1.1.5');
    expect(refusal(csrPem(toDer(root)))).toMatch(/unsupported signature algorithm 1\.2\.840\.113549\.1\.1\.5/);
  });

  it('a signature algorithm of another key type', () => {
    const root = fromDer(pemToDer(createCsr(CONTENT, key('ECDSA P-256'))));
    children(children(root)[1])[0] = oid('1.3.101.112');
    expect(refusal(csrPem(toDer(root)))).toMatch(/does not match the ec public key/);
  });

  it('garbage, empty input and a non-string', () => {
    expect(refusal('garbage')).toMatch(/no PEM block/);
    expect(refusal('')).toMatch(/no PEM block/);
    expect(refusal(undefined as unknown as string)).toMatch(/not a string/);
    expect(refusal('-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n')).toMatch(/malformed PEM/);
    expect(refusal(csrPem(Buffer.from('not DER at all, just some bytes')))).toMatch(/malformed DER/);
  });

  it('two PEM blocks, even of the same request', () => {
    const pem = createCsr(CONTENT, key('ECDSA P-256'));
    expect(refusal(pem + pem)).toMatch(/2 PEM blocks/);
    expect(refusal(pem + key('ECDSA P-256').privateKeyPem)).toMatch(/2 PEM blocks/);
  });

  it('text around the block', () => {
    const pem = createCsr(CONTENT, key('ECDSA P-256'));
    expect(refusal(`${pem}trailing words\n`)).toMatch(/malformed PEM/);
    expect(refusal(`Subject: CN=x\n${pem}`)).toMatch(/malformed PEM/);
  });

  it('trailing data after the DER', () => {
    const der = pemToDer(createCsr(CONTENT, key('ECDSA P-256')));
    expect(refusal(csrPem(Buffer.concat([der, Buffer.from([0x05, 0x00])])))).toMatch(/malformed DER/);
  });

  it('a CERTIFICATE, and a private key', () => {
    const k = key('ECDSA P-256');
    const cert = signCertificateSync({ subject: { commonName: 'x' }, publicKey: k.publicKey }, selfSigned(k.privateKey));
    expect(refusal(cert)).toMatch(/expected a PEM CERTIFICATE REQUEST block, found CERTIFICATE/);
    expect(refusal(k.privateKeyPem)).toMatch(/found PRIVATE KEY/);
    // A private key relabelled as a request is refused without being echoed.
    const relabelled = k.privateKeyPem.replace(/PRIVATE KEY/g, 'CERTIFICATE REQUEST');
    expect(refusal(relabelled)).toMatch(/^invalid certificate request: malformed DER/);
  });

  it(`input over ${MAX_CSR_PEM_LENGTH} characters`, () => {
    const big = csrPem(Buffer.alloc(MAX_CSR_PEM_LENGTH, 0x30));
    expect(refusal(big)).toMatch(/exceeds the limit of 65536/);
    const padded = createCsr(CONTENT, key('ECDSA P-256')) + ' '.repeat(MAX_CSR_PEM_LENGTH);
    expect(refusal(padded)).toMatch(/exceeds the limit/);
  });

  it('names the request in errors when told', () => {
    expect(() => parseCsr('', 'CSR from cluster edge-1')).toThrow(/^CSR from cluster edge-1: no PEM block found$/);
  });
});
