import { X509Certificate, createHash } from 'node:crypto';
import { PkiError } from './errors.js';
import { derToPem, splitPemCertificates } from './pem.js';

export interface BundleSource {
  /** Names the source in errors, e.g. "Secret kcp/root-server-ca key tls.crt". */
  name: string;
  pem: string;
}

/**
 * Concatenates CA bundles: first occurrence wins, duplicates (by SHA-256 of the DER) dropped,
 * order otherwise kept, so the output is byte-stable for equal inputs and a no-op re-apply writes
 * nothing. Non-certificate PEM blocks are ignored; a certificate block that does not parse is an
 * error naming its source, because a silently shortened trust bundle fails far away from here.
 */
export function mergeCABundles(sources: ReadonlyArray<string | BundleSource | undefined>): string {
  const seen = new Set<string>();
  const out: string[] = [];
  sources.forEach((s, i) => {
    if (s === undefined) return;
    const { name, pem } = typeof s === 'string' ? { name: `bundle #${i + 1}`, pem: s } : s;
    for (const der of splitPemCertificates(pem)) {
      try {
        new X509Certificate(der);
      } catch {
        throw new PkiError('contains a CERTIFICATE block that does not parse', name);
      }
      const fp = createHash('sha256').update(der).digest('hex');
      if (seen.has(fp)) continue;
      seen.add(fp);
      out.push(derToPem(der));
    }
  });
  return out.join('');
}

/** SHA-256 fingerprints (lower-case hex) of the certificates in a bundle, in order. */
export function bundleFingerprints(pem: string): string[] {
  return splitPemCertificates(pem).map((der) => createHash('sha256').update(der).digest('hex'));
}

/** The data of a kubernetes.io/tls Secret as this operator writes it. */
export interface TlsSecretData {
  'tls.crt': string;
  'tls.key': string;
  'ca.crt': string;
}

/** The parts of an issuing CA's Secret that a certificate it signs inherits. */
export interface IssuerSecretData {
  'tls.crt': string;
  'ca.crt'?: string;
}

function isSelfIssued(der: Buffer): boolean {
  const x = new X509Certificate(der);
  return x.issuer === x.subject && x.checkIssued(x);
}

/** What a certificate's Secret takes from its issuer (see tlsSecretData): the same for all it signs. */
export interface IssuerLayout {
  /** The issuer's chain without its self-signed root, as PEM, to follow the certificate in tls.crt. */
  readonly chainPem: string;
  /** The trust anchor for ca.crt. */
  readonly caCrt: string;
}

export function issuerLayout(issuer: IssuerSecretData): IssuerLayout {
  const issuerChain = splitPemCertificates(issuer['tls.crt']);
  if (issuerChain.length === 0) throw new PkiError('issuer tls.crt holds no certificate');
  const chainPem = issuerChain
    .filter((der) => !isSelfIssued(der))
    .map((d) => derToPem(d))
    .join('');
  const roots = issuer['ca.crt'] !== undefined && splitPemCertificates(issuer['ca.crt']).length > 0 ? issuer['ca.crt'] : undefined;
  const caCrt = roots ?? derToPem(issuerChain[issuerChain.length - 1] as Buffer);
  return { chainPem, caCrt: mergeCABundles([caCrt]) };
}

/**
 * Secret data laid out as cert-manager's CA issuer does, which kcp-operator's mounts rely on:
 * tls.crt = the certificate followed by its issuer's chain without the self-signed root;
 * ca.crt = the root (the issuer's ca.crt, or for a root the certificate itself). So
 * `--client-ca-file=<client-ca>/tls.crt` trusts exactly the intermediate, while a client trusting
 * `<rs>-ca` can still build the path from a server's tls.crt. `layout` is issuerLayout(issuer),
 * for callers that sign many certificates with one issuer.
 */
export function tlsSecretData(certificatePem: string, privateKeyPem: string, issuer?: IssuerSecretData, layout?: IssuerLayout): TlsSecretData {
  const own = splitPemCertificates(certificatePem);
  const first = own[0];
  if (first === undefined) throw new PkiError('no certificate to store');
  if (issuer === undefined) {
    return { 'tls.crt': derToPem(first), 'tls.key': privateKeyPem, 'ca.crt': derToPem(first) };
  }
  const { chainPem, caCrt } = layout ?? issuerLayout(issuer);
  return { 'tls.crt': derToPem(first) + chainPem, 'tls.key': privateKeyPem, 'ca.crt': caCrt };
}
