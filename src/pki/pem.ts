import { PkiError } from './errors.js';

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n\t ]*?)-----END CERTIFICATE-----/g;

/**
 * The DER of every CERTIFICATE block in `text`, in order. Other blocks (keys, CRLs) are skipped
 * without ever being decoded, so a key pasted into a bundle is not echoed anywhere.
 */
export function splitPemCertificates(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(CERT_BLOCK)) {
    const body = (m[1] ?? '').replace(/\s+/g, '');
    out.push(Buffer.from(body, 'base64'));
  }
  return out;
}

export function derToPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The first certificate of a PEM (a Secret's tls.crt may carry the chain after the leaf). */
export function firstCertificateDer(text: string, what?: string): Buffer {
  if (typeof text !== 'string') throw new PkiError('certificate is not a string', what);
  const [first] = splitPemCertificates(text);
  if (first === undefined) throw new PkiError('no PEM CERTIFICATE block found', what);
  return first;
}
