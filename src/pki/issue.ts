import { tlsSecretData } from './bundle.js';
import type { IssuerLayout, IssuerSecretData, TlsSecretData } from './bundle.js';
import { PkiError } from './errors.js';
import { generateKeyPair } from './keys.js';
import type { KeyPair } from './keys.js';
import type { PlannedCertificate } from './hierarchy.js';
import { DEFAULT_BACKDATE_MS, selfSigned, signCertificate } from './x509.js';
import type { CertificateRequest, Issuer, PreparedIssuer } from './x509.js';

/** The X.509 request for a planned certificate, valid from now (backdated) for its duration. */
export function requestFor(plan: PlannedCertificate, keyPair: Pick<KeyPair, 'publicKey'>, now: Date = new Date()): CertificateRequest {
  return {
    subject: plan.subject,
    publicKey: keyPair.publicKey,
    dnsNames: plan.dnsNames,
    ipAddresses: plan.ipAddresses,
    isCA: plan.isCA,
    keyUsages: plan.keyUsages,
    extKeyUsages: plan.extKeyUsages,
    notBefore: new Date(now.getTime() - DEFAULT_BACKDATE_MS),
    notAfter: new Date(now.getTime() + plan.durationMs),
    label: `certificate ${plan.secretName}`,
  };
}

export interface IssuedCertificate {
  keyPair: KeyPair;
  certificatePem: string;
  /** What to write into the kubernetes.io/tls Secret `plan.secretName`. */
  secretData: TlsSecretData;
}

export interface IssueOptions {
  /** The issuing CA's Secret data (tls.crt, tls.key, ca.crt); required unless the plan is self-signed. */
  issuerSecret?: IssuerSecretData & { 'tls.key': string };
  /**
   * issuerSecret, already prepared (prepareIssuer, issuerLayout): a CA signs many certificates, and
   * parsing its certificate and key again for each was a large share of issuing. Both must come
   * from this very issuerSecret.
   */
  preparedIssuer?: { issuer: PreparedIssuer; layout: IssuerLayout };
  /** Keep an existing key (e.g. rotationPolicy Never); a fresh one of plan.key otherwise. */
  keyPair?: KeyPair;
  now?: Date;
}

/** Generates a key (unless given), signs the planned certificate and lays out its Secret data. */
export async function issuePlanned(plan: PlannedCertificate, opts: IssueOptions = {}): Promise<IssuedCertificate> {
  const now = opts.now ?? new Date();
  const keyPair = opts.keyPair ?? (await generateKeyPair(plan.key));
  let issuer: Issuer;
  if (plan.issuer.type === 'selfSigned') {
    issuer = selfSigned(keyPair.privateKey);
  } else if (plan.issuer.type === 'ca') {
    if (opts.issuerSecret === undefined) throw new PkiError(`issuer Secret ${plan.issuer.secretName} is required`, `certificate ${plan.secretName}`);
    issuer = opts.preparedIssuer?.issuer ?? { certificatePem: opts.issuerSecret['tls.crt'], privateKey: opts.issuerSecret['tls.key'], label: `Secret ${plan.issuer.secretName}` };
  } else {
    throw new PkiError(`is not issued by this operator (issuer type ${plan.issuer.type})`, `certificate ${plan.secretName}`);
  }
  const certificatePem = await signCertificate(requestFor(plan, keyPair, now), issuer, now);
  return {
    keyPair,
    certificatePem,
    secretData: tlsSecretData(certificatePem, keyPair.privateKeyPem, plan.issuer.type === 'ca' ? opts.issuerSecret : undefined, opts.preparedIssuer?.layout),
  };
}

/**
 * Issues a whole plan in order, each CA's Secret feeding what it signs: what a first reconcile of
 * an empty namespace does. Keys are generated concurrently (on the thread pool) before signing.
 * `existing` supplies Secrets that already exist (CAs are never re-issued by this function either).
 */
export async function issueAll(
  plans: readonly PlannedCertificate[],
  existing: ReadonlyMap<string, TlsSecretData> = new Map(),
  now: Date = new Date(),
): Promise<Map<string, TlsSecretData>> {
  const secrets = new Map(existing);
  const todo = plans.filter((p) => !secrets.has(p.secretName));
  const keys = await Promise.all(todo.map((p) => generateKeyPair(p.key)));
  for (const [i, plan] of todo.entries()) {
    const issuerSecret = plan.issuer.type === 'ca' ? secrets.get(plan.issuer.secretName) : undefined;
    if (plan.issuer.type === 'ca' && issuerSecret === undefined) {
      throw new PkiError(`issuer Secret ${plan.issuer.secretName} is missing`, `certificate ${plan.secretName}`);
    }
    const issued = await issuePlanned(plan, { issuerSecret, keyPair: keys[i] as KeyPair, now });
    secrets.set(plan.secretName, issued.secretData);
  }
  return secrets;
}
