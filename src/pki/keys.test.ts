import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PkiError } from './errors.js';
import { DEFAULT_KEY_SPEC, generateKeyPair, keySpecOf, loadPrivateKey, resolveKeySpec } from './keys.js';
import type { KeySpec } from './keys.js';

/** openssl's own consistency check of a private key; throws if openssl rejects it. */
function opensslCheck(pem: string): string {
  return execFileSync('/usr/bin/openssl', ['pkey', '-check', '-noout'], { input: pem, encoding: 'utf8', stdio: 'pipe' }).trim();
}

function pemBody(pem: string): string {
  return pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
}

describe('generateKeyPair', () => {
  const cases: Array<[KeySpec, string, Record<string, unknown>]> = [
    [{ algorithm: 'RSA' }, 'rsa', { modulusLength: 2048 }],
    [{ algorithm: 'RSA', size: 3072 }, 'rsa', { modulusLength: 3072 }],
    [{ algorithm: 'ECDSA' }, 'ec', { namedCurve: 'prime256v1' }],
    [{ algorithm: 'ECDSA', size: 384 }, 'ec', { namedCurve: 'secp384r1' }],
    [{ algorithm: 'ECDSA', size: 521 }, 'ec', { namedCurve: 'secp521r1' }],
    [{ algorithm: 'Ed25519' }, 'ed25519', {}],
  ];

  it.each(cases)('%j makes a %s key that signs and verifies, and openssl accepts', async (spec, type, details) => {
    const kp = await generateKeyPair(spec);
    expect(kp.privateKey.asymmetricKeyType).toBe(type);
    expect(kp.privateKey.asymmetricKeyDetails).toMatchObject(details);
    expect(kp.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(opensslCheck(kp.privateKeyPem)).toBe('Key is valid');

    const data = Buffer.from('kcp');
    const hash = type === 'ed25519' ? null : 'sha256';
    const sig = sign(hash, data, createPrivateKey(kp.privateKeyPem));
    expect(verify(hash, data, createPublicKey(kp.publicKeyPem), sig)).toBe(true);
    expect(verify(hash, Buffer.from('kcq'), kp.publicKey, sig)).toBe(false);
  });

  it('defaults to the documented spec', async () => {
    const kp = await generateKeyPair();
    expect(kp.spec).toEqual(DEFAULT_KEY_SPEC);
    expect(keySpecOf(kp.publicKey)).toMatchObject({ algorithm: DEFAULT_KEY_SPEC.algorithm, size: DEFAULT_KEY_SPEC.size });
  });

  it('writes PKCS#1 / SEC1 when asked, and Ed25519 stays PKCS#8', async () => {
    const rsa = await generateKeyPair({ algorithm: 'RSA', encoding: 'PKCS1' });
    expect(rsa.privateKeyPem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(opensslCheck(rsa.privateKeyPem)).toBe('Key is valid');
    const ec = await generateKeyPair({ algorithm: 'ECDSA', encoding: 'PKCS1' });
    expect(ec.privateKeyPem).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    expect(opensslCheck(ec.privateKeyPem)).toBe('Key is valid');
    const ed = await generateKeyPair({ algorithm: 'Ed25519', encoding: 'PKCS1' });
    expect(ed.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(ed.spec.encoding).toBe('PKCS8');
  });

  it('runs off the event loop: a setImmediate queued after the call fires before the RSA key is ready', async () => {
    const order: string[] = [];
    const pending = generateKeyPair({ algorithm: 'RSA', size: 2048 }).then(() => order.push('key'));
    setImmediate(() => order.push('immediate'));
    await pending;
    expect(order).toEqual(['immediate', 'key']);
  });

  it.each([
    [{ algorithm: 'RSA', size: 1024 }],
    [{ algorithm: 'RSA', size: 16384 }],
    [{ algorithm: 'ECDSA', size: 224 }],
    [{ algorithm: 'DSA' }],
    [{ algorithm: 'RSA', encoding: 'PEM' }],
  ] as unknown as Array<[KeySpec]>)('rejects %j', async (spec) => {
    expect(() => resolveKeySpec(spec)).toThrow(PkiError);
    await expect(generateKeyPair(spec)).rejects.toThrow(PkiError);
  });
});

describe('loadPrivateKey', () => {
  it.each([
    [{ algorithm: 'RSA', encoding: 'PKCS1' }],
    [{ algorithm: 'RSA', encoding: 'PKCS8' }],
    [{ algorithm: 'ECDSA', size: 384, encoding: 'PKCS1' }],
    [{ algorithm: 'ECDSA', encoding: 'PKCS8' }],
    [{ algorithm: 'Ed25519' }],
  ] as Array<[KeySpec]>)('round-trips %j', async (spec) => {
    const kp = await generateKeyPair(spec);
    const loaded = loadPrivateKey(kp.privateKeyPem);
    expect(loaded.spec).toEqual(kp.spec);
    expect(loaded.publicKeyFingerprint).toBe(kp.publicKeyFingerprint);
    expect(loaded.privateKeyPem).toBe(kp.privateKeyPem);
  });

  it('loads keys written by openssl', () => {
    const pem = execFileSync('/usr/bin/openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], {
      encoding: 'utf8',
    });
    expect(loadPrivateKey(pem).spec).toMatchObject({ algorithm: 'ECDSA', size: 384 });
  });

  it('names the key but never quotes it when it cannot be parsed', async () => {
    const kp = await generateKeyPair({ algorithm: 'RSA' });
    const body = pemBody(kp.privateKeyPem);
    // Drop a line from the middle: the PEM armour survives, the DER lengths no longer add up.
    const lines = kp.privateKeyPem.split('\n');
    const broken = [...lines.slice(0, 10), ...lines.slice(11)].join('\n');
    let caught: unknown;
    try {
      loadPrivateKey(broken, 'Secret kcp/root-ca key tls.key');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PkiError);
    const shown = `${String(caught)}\n${inspect(caught, { showHidden: true, depth: 10 })}\n${JSON.stringify(caught)}`;
    expect(shown).toContain('Secret kcp/root-ca key tls.key');
    for (let i = 0; i + 16 <= body.length; i += 16) expect(shown).not.toContain(body.slice(i, i + 16));
  });

  it('rejects a certificate or an encrypted key with a plain message', () => {
    expect(() => loadPrivateKey('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'x')).toThrow(
      /^x: not an unencrypted PEM private key/,
    );
    expect(() => loadPrivateKey('-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n')).toThrow(
      PkiError,
    );
  });
});

describe('KeyPair serialisation', () => {
  it('does not reveal the private key through JSON or util.inspect', async () => {
    const kp = await generateKeyPair({ algorithm: 'ECDSA' });
    const body = pemBody(kp.privateKeyPem);
    const shown = `${JSON.stringify(kp)}\n${inspect(kp, { showHidden: true, depth: 10 })}\n${JSON.stringify({ ...kp })}`;
    expect(shown).not.toContain(body.slice(20, 60));
    expect(JSON.parse(JSON.stringify(kp))).toEqual({ spec: kp.spec, publicKeyFingerprint: kp.publicKeyFingerprint });
  });
});
