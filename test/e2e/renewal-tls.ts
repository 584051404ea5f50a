// Certificates of the renewal scenario: the one a Secret holds and the one a server presents on a
// TLS handshake through a forward, compared by SHA-256 fingerprint and serial.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { parse } from 'yaml';
import { Secrets } from '../../src/kube/resources.js';
import type { LocalStack } from '../../local/stack.js';

export interface CertificateId {
  fingerprint256: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

function idOf(x: X509Certificate): CertificateId {
  return { fingerprint256: x.fingerprint256, serialNumber: x.serialNumber, notBefore: new Date(x.validFrom), notAfter: new Date(x.validTo) };
}

/** The leaf certificate of a kubernetes.io/tls Secret (the first block of tls.crt). */
export async function secretCertificate(stack: LocalStack, name: string): Promise<CertificateId> {
  const s = await stack.admin.get(Secrets, stack.namespace, name);
  const crt = (s.data as Record<string, string> | undefined)?.['tls.crt'];
  if (!crt) throw new Error(`Secret ${name} has no tls.crt`);
  return idOf(new X509Certificate(Buffer.from(crt, 'base64')));
}

/** certificate-authority-data of a generated kubeconfig Secret: what its user trusts. */
export async function kubeconfigCA(stack: LocalStack, secretName: string): Promise<string> {
  const s = await stack.admin.get(Secrets, stack.namespace, secretName);
  const text = Buffer.from((s.data as Record<string, string> | undefined)?.kubeconfig ?? '', 'base64').toString();
  const config = parse(text) as { clusters: Array<{ cluster: { 'certificate-authority-data'?: string } }> };
  const ca = config.clusters[0]?.cluster['certificate-authority-data'];
  if (!ca) throw new Error(`Secret ${secretName}: kubeconfig has no certificate-authority-data`);
  return Buffer.from(ca, 'base64').toString();
}

/**
 * The certificate a server presents at 127.0.0.1:`port` for `servername` (SNI), verified against
 * `ca` and that name the way a client does: a certificate the client would reject is an error.
 */
export function presentedCertificate(port: number, servername: string, ca: string, timeoutMs = 10_000): Promise<CertificateId> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: true, ALPNProtocols: ['http/1.1'] });
    const timer = setTimeout(() => socket.destroy(new Error(`TLS handshake with ${servername} via :${port} timed out`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const peer = socket.getPeerX509Certificate();
      socket.end();
      if (!peer) reject(new Error(`${servername} via :${port} presented no certificate`));
      else resolve(idOf(peer));
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
