// The scanner itself must find what it looks for, or a zero count proves nothing.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derBase64, findLeaks, type PrivateKey } from '../chaos/leak-scan.js';

const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const keys: PrivateKey[] = [
  { origin: 'ns/ec#tls.key', pem },
  { origin: 'ns/rsa#tls.key', pem: rsa },
];

describe('leak scan', () => {
  it('finds a PEM block, a JSON-escaped PEM, a slice of the DER and a slice of the Secret data', () => {
    const der = derBase64(rsa);
    const found = findLeaks(
      [
        { source: 'plain', text: `oops ${pem}` },
        { source: 'json', text: JSON.stringify({ msg: 'x', err: rsa.replace('-----BEGIN RSA PRIVATE KEY-----', '') }) },
        { source: 'der slice', text: `key=${der.slice(100, 170)}` },
        { source: 'secret data', text: `data: ${Buffer.from(pem).toString('base64').slice(40, 110)}` },
        { source: 'clean', text: 'certificate renewed; fingerprint AB:CD' },
      ],
      keys,
    );
    const sources = new Set(found.map((l) => l.source));
    expect([...sources].sort()).toEqual(['der slice', 'json', 'plain', 'secret data']);
    expect(found.find((l) => l.source === 'der slice')?.key).toBe('ns/rsa#tls.key');
  });

  it('does not flag public certificates or unrelated base64', () => {
    expect(findLeaks([{ source: 'cert', text: '-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----' }, { source: 'b64', text: Buffer.from('x'.repeat(200)).toString('base64') }], keys)).toEqual([]);
  });
});
