/**
 * Pure renewal policy: given what a Secret holds, what the plan wants and the time, say what to
 * do and when to look again. The rule that shapes it (DESIGN.md §4): a CA that exists is never
 * regenerated, whatever changed; a leaf is reissued when it is missing, broken, due or no longer
 * what the plan says.
 */
import { PkiError } from './errors.js';
import type { PlannedIssuer } from './hierarchy.js';
import { normalizeIp } from './ip.js';
import type { ResolvedKeySpec } from './keys.js';
import { loadPrivateKey } from './keys.js';
import { parseCertificate } from './x509.js';
import type { ExtKeyUsage, KeyUsage, ParsedCertificate } from './x509.js';

/** The fields of a PlannedCertificate the policy compares; a PlannedCertificate satisfies it. */
export interface DesiredCertificate {
  readonly secretName?: string;
  readonly isCA: boolean;
  readonly subject: { readonly commonName?: string; readonly organizations?: readonly string[]; readonly organizationalUnits?: readonly string[] };
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly keyUsages: readonly KeyUsage[];
  readonly extKeyUsages: readonly ExtKeyUsage[];
  readonly durationMs: number;
  readonly renewBeforeMs: number;
  readonly key?: Pick<ResolvedKeySpec, 'algorithm' | 'size'>;
  /** The key is only the operator's default: a certificate with another key is not reissued for it. */
  readonly keyIsDefault?: boolean;
  /** Who makes it; a missing Secret we do not issue ourselves is waited for, not created. */
  readonly issuer?: PlannedIssuer;
}

export type SecretContent = Readonly<Partial<Record<'tls.crt' | 'tls.key' | 'ca.crt', string>>>;

export type CertificateAction =
  /** No usable Secret: create it. */
  | 'issue'
  /** A leaf to replace now. */
  | 'reissue'
  /** Fine; look again after requeueAfterMs. */
  | 'keep'
  /**
   * Nothing this operator may do: a CA that is broken or expired (never regenerated
   * automatically, a person must act), or a Secret someone else provides that is not there yet.
   */
  | 'blocked';

export type CertificateReason =
  | 'Missing'
  | 'Invalid'
  | 'KeyMismatch'
  | 'Expired'
  | 'RenewalDue'
  | 'SpecChanged'
  | 'IssuerChanged'
  | 'Valid'
  | 'CAExpiringSoon';

export interface CertificateDecision {
  readonly action: CertificateAction;
  readonly reason: CertificateReason;
  /** For status conditions and logs: names the Secret, never quotes its data. */
  readonly message: string;
  readonly notAfter?: Date;
  /** When the certificate is due for renewal (for a CA: when to start warning). */
  readonly renewAt?: Date;
  /** For a controller's requeueAfter; undefined when only an event (a Secret change) can help. */
  readonly requeueAfterMs?: number;
  /** What differs from the plan: a leaf is reissued for these; a CA keeps them. */
  readonly differences: readonly string[];
}

export const DEFAULT_MAX_REQUEUE_MS = 24 * 3600_000;
/** Validity can differ from the plan by our 5 min backdate or a foreign issuer's conventions. */
const DURATION_TOLERANCE_MS = 10 * 60_000;

/**
 * cert-manager's rule, which users of kcp-operator are used to: renew renewBefore ahead of
 * notAfter, but when renewBefore is not shorter than the certificate's lifetime, at two thirds of it.
 */
export function renewalTime(cert: { notBefore: Date; notAfter: Date }, renewBeforeMs: number): Date {
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  if (renewBeforeMs >= lifetime) return new Date(cert.notBefore.getTime() + Math.floor((lifetime * 2) / 3));
  return new Date(cert.notAfter.getTime() - renewBeforeMs);
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

const canonicalIp = (ip: string): string => {
  try {
    return normalizeIp(ip);
  } catch {
    return ip;
  }
};

/**
 * The ways a certificate differs from what is desired, as short field names ("dnsNames",
 * "subject.organizations", …). Empty when it matches. `issuerNotAfter` lets a leaf that was
 * shortened to its CA's lifetime count as matching its duration.
 */
export function specDifferences(cert: ParsedCertificate, desired: DesiredCertificate, issuerNotAfter?: Date): string[] {
  const diffs: string[] = [];
  if (cert.isCA !== desired.isCA) diffs.push('isCA');
  if ((cert.subject.commonName ?? '') !== (desired.subject.commonName ?? '')) diffs.push('subject.commonName');
  if (!sameSet(cert.subject.organizations, desired.subject.organizations ?? [])) diffs.push('subject.organizations');
  if (!sameSet(cert.subject.organizationalUnits, desired.subject.organizationalUnits ?? [])) diffs.push('subject.organizationalUnits');
  const lower = (xs: readonly string[]): string[] => xs.map((x) => x.toLowerCase());
  if (!sameSet(lower(cert.dnsNames), lower(desired.dnsNames))) diffs.push('dnsNames');
  if (!sameSet(cert.ipAddresses, desired.ipAddresses.map(canonicalIp))) diffs.push('ipAddresses');
  if (!sameSet(cert.keyUsages, desired.keyUsages)) diffs.push('keyUsages');
  if (!sameSet(cert.extKeyUsages, desired.extKeyUsages)) diffs.push('extKeyUsages');
  if (desired.key !== undefined && desired.keyIsDefault !== true && (cert.keySpec.algorithm !== desired.key.algorithm || cert.keySpec.size !== desired.key.size)) {
    diffs.push('privateKey');
  }
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  const clamped =
    issuerNotAfter !== undefined && Math.abs(cert.notAfter.getTime() - issuerNotAfter.getTime()) < 1000 && lifetime < desired.durationMs;
  if (!clamped && Math.abs(lifetime - desired.durationMs) > DURATION_TOLERANCE_MS) diffs.push('duration');
  return diffs;
}

/**
 * What a Secret's tls.crt and tls.key say, whatever the time and the plan: the certificate, or why
 * it is unusable. Parsing the certificate and matching the key take most of an evaluation (about
 * 2 ms), so callers that see the same Secret again keep this and pass it back (`inspected`).
 */
export type InspectedSecret = { readonly cert: ParsedCertificate } | { readonly broken: 'KeyMismatch' | 'Invalid'; readonly detail: string };

export function inspectSecret(secret: SecretContent, what: string): InspectedSecret {
  try {
    const cert = parseCertificate(secret['tls.crt'] ?? '', `${what} key tls.crt`);
    const pair = loadPrivateKey(secret['tls.key'] ?? '', `${what} key tls.key`);
    return cert.x509.checkPrivateKey(pair.privateKey) ? { cert } : { broken: 'KeyMismatch', detail: '' };
  } catch (err) {
    return { broken: 'Invalid', detail: err instanceof PkiError ? err.message : 'unreadable' };
  }
}

// Whether a leaf was signed by an issuer, per pair of parsed certificates: a signature check is
// the other costly step, and callers that keep parsed certificates ask it again and again.
const signatures = new WeakMap<ParsedCertificate, WeakMap<ParsedCertificate, boolean>>();
function signedBy(cert: ParsedCertificate, issuer: ParsedCertificate): boolean {
  let byIssuer = signatures.get(cert);
  if (!byIssuer) signatures.set(cert, (byIssuer = new WeakMap()));
  let ok = byIssuer.get(issuer);
  if (ok === undefined) byIssuer.set(issuer, (ok = cert.x509.checkIssued(issuer.x509) && cert.x509.verify(issuer.publicKey)));
  return ok;
}

export interface EvaluateInput {
  desired: DesiredCertificate;
  /** The Secret's decoded data, or undefined when there is no Secret. */
  secret: SecretContent | undefined;
  /** inspectSecret(secret) from an earlier look at this very Secret content, to skip parsing it again. */
  inspected?: InspectedSecret;
  /** For a leaf: the current issuing CA certificate. A leaf it did not sign is reissued. */
  issuerCertificatePem?: string;
  /** The same, already parsed (wins over issuerCertificatePem). */
  issuerCertificate?: ParsedCertificate;
  now?: Date;
  maxRequeueMs?: number;
}

export function evaluateCertificate(input: EvaluateInput): CertificateDecision {
  const { desired, secret } = input;
  const now = (input.now ?? new Date()).getTime();
  const max = input.maxRequeueMs ?? DEFAULT_MAX_REQUEUE_MS;
  const what = `Secret ${desired.secretName ?? '(unnamed)'}`;
  const kind = desired.isCA ? 'CA' : 'certificate';
  const requeue = (at: number): number => Math.max(1000, Math.min(at - now, max));

  const crt = secret?.['tls.crt'] ?? '';
  const key = secret?.['tls.key'] ?? '';
  if (secret === undefined || (crt.trim() === '' && key.trim() === '')) {
    if (desired.issuer?.type === 'provided') {
      return { action: 'blocked', reason: 'Missing', message: `${what} (certificates.caSecretRef) does not exist or is empty`, differences: [] };
    }
    if (desired.issuer?.type === 'certManager') {
      return { action: 'blocked', reason: 'Missing', message: `${what}: waiting for cert-manager issuer ${desired.issuer.issuerRef.name}`, differences: [] };
    }
    return { action: 'issue', reason: 'Missing', message: `${what} does not exist yet`, requeueAfterMs: 0, differences: [] };
  }
  // A CA is never replaced: anything wrong with it blocks, and a person decides.
  const broken = desired.isCA ? 'blocked' : 'reissue';

  const seen = input.inspected ?? inspectSecret(secret, what);
  if ('broken' in seen) {
    return {
      action: broken,
      reason: seen.broken,
      message: seen.broken === 'KeyMismatch' ? `${what}: tls.key does not belong to the ${kind} in tls.crt` : seen.detail,
      requeueAfterMs: desired.isCA ? undefined : 0,
      differences: [],
    };
  }
  const { cert } = seen;

  const renewAt = renewalTime(cert, desired.renewBeforeMs);
  const base = { notAfter: cert.notAfter, renewAt };

  const issuer = desired.isCA
    ? undefined
    : (input.issuerCertificate ?? (input.issuerCertificatePem !== undefined ? parseCertificate(input.issuerCertificatePem, `issuer of ${what}`) : undefined));
  const differences = specDifferences(cert, desired, issuer?.notAfter);

  if (desired.isCA) {
    if (cert.notAfter.getTime() <= now) {
      return {
        ...base,
        action: 'blocked',
        reason: 'Expired',
        message: `${what}: CA expired at ${cert.notAfter.toISOString()}; CAs are never regenerated automatically, rotate it explicitly`,
        differences,
      };
    }
    const drift = differences.length > 0 ? ` (differs from the spec in ${differences.join(', ')}; kept, CAs are never regenerated)` : '';
    if (renewAt.getTime() <= now) {
      return {
        ...base,
        action: 'keep',
        reason: 'CAExpiringSoon',
        message: `${what}: CA expires at ${cert.notAfter.toISOString()} and must be rotated explicitly${drift}`,
        requeueAfterMs: requeue(cert.notAfter.getTime()),
        differences,
      };
    }
    return { ...base, action: 'keep', reason: 'Valid', message: `${what}: CA valid until ${cert.notAfter.toISOString()}${drift}`, requeueAfterMs: requeue(renewAt.getTime()), differences };
  }

  if (cert.notAfter.getTime() <= now) {
    return { ...base, action: 'reissue', reason: 'Expired', message: `${what}: expired at ${cert.notAfter.toISOString()}`, requeueAfterMs: 0, differences };
  }
  if (issuer !== undefined && !signedBy(cert, issuer)) {
    return { ...base, action: 'reissue', reason: 'IssuerChanged', message: `${what}: not signed by the current issuer`, requeueAfterMs: 0, differences };
  }
  if (differences.length > 0) {
    return { ...base, action: 'reissue', reason: 'SpecChanged', message: `${what}: differs from the spec in ${differences.join(', ')}`, requeueAfterMs: 0, differences };
  }
  if (renewAt.getTime() <= now) {
    return { ...base, action: 'reissue', reason: 'RenewalDue', message: `${what}: renewal was due at ${renewAt.toISOString()}`, requeueAfterMs: 0, differences };
  }
  return { ...base, action: 'keep', reason: 'Valid', message: `${what}: valid until ${cert.notAfter.toISOString()}, renewal at ${renewAt.toISOString()}`, requeueAfterMs: requeue(renewAt.getTime()), differences };
}
