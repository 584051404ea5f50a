// Signing what verifyJoinRequest approved, with the RootShard's intermediate CAs: the same
// request-for-plan as local issuance, with the remote public key and the validity asked for.
import type { TlsSecretData } from '../pki/bundle.js';
import { PkiError } from '../pki/errors.js';
import { requestFor } from '../pki/issue.js';
import { parseCertificate, signCertificate } from '../pki/x509.js';
import type { ToSign } from './verify.js';

export interface Signed {
  certificates: Record<string, string>;
  /** The earliest notAfter among them (ISO). */
  notAfter: string;
}

/** `caSecret(name)`: the CA Secret's data (with its key) a plan's issuer names, on this cluster. */
export async function signApproved(
  approved: readonly ToSign[],
  caSecret: (secretName: string) => TlsSecretData | undefined,
  now: Date = new Date(),
): Promise<Signed> {
  const certificates: Record<string, string> = {};
  let earliest = Infinity;
  for (const { plan, publicKey, durationMs } of approved) {
    if (plan.issuer.type !== 'ca') throw new PkiError('is not signed by an intermediate CA', `certificate ${plan.secretName}`);
    const ca = caSecret(plan.issuer.secretName);
    if (!ca?.['tls.key'] || !ca['tls.crt']) throw new PkiError(`issuer Secret ${plan.issuer.secretName} is missing`, `certificate ${plan.secretName}`);
    const pem = await signCertificate(
      requestFor({ ...plan, durationMs }, { publicKey }, now),
      { certificatePem: ca['tls.crt'], privateKey: ca['tls.key'], label: `Secret ${plan.issuer.secretName}` },
      now,
    );
    certificates[plan.templateKey] = pem;
    earliest = Math.min(earliest, parseCertificate(pem).notAfter.getTime());
  }
  return { certificates, notAfter: new Date(earliest).toISOString() };
}
