// Turns a certificate plan (src/pki/hierarchy.ts) into kubernetes.io/tls Secrets, safely:
// - a CA Secret is only ever *created* (POST), never updated or applied over, so a stale cache,
//   a crash or a restart can never replace an existing CA: the create fails with AlreadyExists;
// - CA Secrets carry no ownerReference, so deleting the owner does not garbage-collect the CA;
// - leaves are created when missing and replaced when the renewal policy says so;
// - nothing is written for a certificate that is fine (zero writes at rest).
import type { KubeClient } from '../kube/client.js';
import { isAlreadyExists, isNotFound } from '../kube/errors.js';
import type { KubeObject } from '../kube/object.js';
import { Secrets } from '../kube/resources.js';
import { issuerLayout, type IssuerLayout, type TlsSecretData } from '../pki/bundle.js';
import type { PlannedCertificate } from '../pki/hierarchy.js';
import { issuePlanned } from '../pki/issue.js';
import { evaluateCertificate, inspectSecret, renewalTime, type InspectedSecret } from '../pki/renewal.js';
import { parseCertificate, prepareIssuer, type ParsedCertificate, type PreparedIssuer } from '../pki/x509.js';
import { componentLabels, type Component } from '../resources/common/labels.js';
import { controllerRef } from '../resources/common/owner.js';
import { recordCertificates, type CertificateObservation } from './certificate-metrics.js';
import { secretData, secretMemo, type ControllerContext } from './context.js';

export interface BlockedCertificate {
  secretName: string;
  reason: string;
  message: string;
  /** Waiting on something outside this operator (cert-manager, a user-provided Secret). */
  external: boolean;
}

export interface CertificatesOutcome {
  /** Every planned Secret exists and is valid. */
  ready: boolean;
  blocked: BlockedCertificate[];
  /** Secrets created or replaced in this pass. */
  issued: string[];
  renewed: string[];
  /** The earliest time a certificate needs attention again. */
  requeueAfterMs: number | undefined;
  /** Decoded data of every Secret of the plan that exists now (fresh writes included). */
  data: Map<string, TlsSecretData>;
  /** notAfter and renewal time of every valid certificate of the plan, by Secret name. */
  validity: Map<string, { notAfter: Date; renewAt: Date }>;
}

export function certificateSecret(owner: KubeObject, plan: PlannedCertificate, data: TlsSecretData, component: Component): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: plan.secretName,
      namespace: owner.metadata.namespace,
      labels: { ...componentLabels(owner.metadata.name ?? '', component), ...plan.labels },
      // CAs outlive their owner on purpose: losing a CA breaks every client of the installation.
      ...(plan.isCA ? {} : { ownerReferences: [controllerRef(owner)] }),
    },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': Buffer.from(data['tls.crt']).toString('base64'),
      'tls.key': Buffer.from(data['tls.key']).toString('base64'),
      'ca.crt': Buffer.from(data['ca.crt']).toString('base64'),
    },
  };
}

const asTls = (d: Record<string, string> | undefined): TlsSecretData | undefined =>
  d ? { 'tls.crt': d['tls.crt'] ?? '', 'tls.key': d['tls.key'] ?? '', 'ca.crt': d['ca.crt'] ?? '' } : undefined;

// Parsing a certificate and matching its key cost about 2 ms; a Shard has ten, a RootShard
// twenty-five, and a large topology reconciles thousands of times while it converges and again
// after every restart. So they are kept per cached Secret object: the informer replaces the object
// on every change, so an entry can never describe other content, and it goes with the object.
const inspections = new WeakMap<KubeObject, InspectedSecret>();

function inspectCached(secret: KubeObject, data: TlsSecretData, secretName: string): InspectedSecret {
  let seen = inspections.get(secret);
  if (!seen) inspections.set(secret, (seen = inspectSecret(data, `Secret ${secretName}`)));
  return seen;
}

type Prepared = { issuer: PreparedIssuer; layout: IssuerLayout };

/**
 * An issuing CA as signing needs it (certificate parsed and checked, key loaded, the chain and
 * trust anchor its leaves carry), worked out once rather than for every certificate it signs.
 * Kept in memory only, while its Secret stays as it is: a changed or deleted CA Secret drops the
 * entry, so a rotated CA is used at once. Undefined when the Secret cannot sign: issuing then
 * reports why, from the Secret itself.
 */
function preparedIssuer(data: TlsSecretData, label: string): Prepared | undefined {
  try {
    return { issuer: prepareIssuer({ certificatePem: data['tls.crt'], privateKey: data['tls.key'] }, label), layout: issuerLayout(data) };
  } catch {
    return undefined;
  }
}

/**
 * Why an issuing CA Secret cannot sign (unreadable, key not its certificate's, expired), or its
 * parsed certificate. A CA someone broke must block what it would sign, with a condition naming
 * it: signing with it would throw (garbage) or, worse, make leaves its certificate does not
 * verify, which the next pass would reissue, and the next, for ever.
 */
export function inspectIssuer(secret: KubeObject, data: TlsSecretData, issuerName: string, now: Date): { cert: ParsedCertificate } | { reason: string; message: string } {
  const seen = inspectCached(secret, data, issuerName);
  const where = `issuer Secret ${secret.metadata.namespace}/${issuerName}`;
  if ('broken' in seen) {
    return seen.broken === 'KeyMismatch'
      ? { reason: 'IssuerKeyMismatch', message: `${where}: tls.key does not belong to the CA in tls.crt` }
      : { reason: 'IssuerInvalid', message: `${where} is unusable: ${seen.detail}` };
  }
  if (seen.cert.notAfter.getTime() <= now.getTime()) {
    return { reason: 'IssuerExpired', message: `${where}: CA expired at ${seen.cert.notAfter.toISOString()}; rotate it explicitly` };
  }
  return { cert: seen.cert };
}

export async function reconcileCertificates(
  ctx: ControllerContext,
  owner: KubeObject,
  plans: readonly PlannedCertificate[],
  component: Component,
  now: Date = new Date(),
): Promise<CertificatesOutcome> {
  const client: KubeClient = ctx.manager.client;
  const ns = owner.metadata.namespace ?? '';
  const out: CertificatesOutcome = { ready: true, blocked: [], issued: [], renewed: [], requeueAfterMs: undefined, data: new Map(), validity: new Map() };
  const requeue = (ms: number | undefined) => {
    if (ms !== undefined) out.requeueAfterMs = out.requeueAfterMs === undefined ? ms : Math.min(out.requeueAfterMs, ms);
  };
  // What each Secret holds after this pass, for the expiry and renewal gauges.
  const observed: CertificateObservation[] = [];
  // A certificate just written is known (its key is the one it was issued for): its inspection is
  // kept for the cached object that holds exactly this write, so the next pass neither parses it
  // nor loads its key again.
  const observeIssued = (plan: PlannedCertificate, certificatePem: string, stored: KubeObject) => {
    const cert = parseCertificate(certificatePem, `Secret ${plan.secretName} key tls.crt`);
    observed.push({ secretName: plan.secretName, isCA: plan.isCA, notAfter: cert.notAfter, renewAt: renewalTime(cert, plan.renewBeforeMs) });
    const cached = ctx.secrets.getByName(ns, plan.secretName);
    const rv = stored.metadata.resourceVersion;
    if (cached && rv && cached.metadata.resourceVersion === rv) inspections.set(cached, { cert });
  };
  const written = new Set<string>();
  // Issuers prepared in this pass: CAs it issued (not cached yet) are prepared once for what they
  // sign next; cached ones come from the memo.
  const prepared = new Map<string, Prepared | undefined>();
  const issuerMemo = secretMemo<Prepared | undefined>(ctx, 'issuers', 1024);
  const prepare = (name: string, object: KubeObject | undefined, data: TlsSecretData): Prepared | undefined => {
    const label = `Secret ${name}`;
    // The memo describes the cached object; this pass may hold what it saw of it before an await.
    const cached = object ? asTls(secretData(object)) : undefined;
    if (object && cached && cached['tls.crt'] === data['tls.crt'] && cached['tls.key'] === data['tls.key']) {
      return issuerMemo.get([object], () => preparedIssuer(cached, label));
    }
    if (!prepared.has(name)) prepared.set(name, preparedIssuer(data, label));
    return prepared.get(name);
  };
  const lookup = (name: string): TlsSecretData | undefined => out.data.get(name) ?? asTls(secretData(ctx.secrets.getByName(ns, name)));

  for (const plan of plans) {
    const cached = ctx.secrets.getByName(ns, plan.secretName);
    let current = asTls(secretData(cached));
    const issuerSecret = plan.issuer.type === 'ca' ? lookup(plan.issuer.secretName) : undefined;
    // The issuer as cached, unless this pass wrote it (then the cache may not show it yet).
    const issuerObject = plan.issuer.type === 'ca' && !written.has(plan.issuer.secretName) ? ctx.secrets.getByName(ns, plan.issuer.secretName) : undefined;
    if (plan.issuer.type === 'ca' && !issuerSecret) {
      out.ready = false;
      out.blocked.push({ secretName: plan.secretName, reason: 'IssuerMissing', message: `waiting for issuer Secret ${plan.issuer.secretName}`, external: false });
      continue;
    }
    if (!current && plan.isCA) {
      // The cache may lag behind a create from a previous (crashed) run: ask the server before
      // concluding a CA is missing.
      try {
        current = asTls(secretData(await client.get(Secrets, ns, plan.secretName)));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    // An issuer this pass did not write is checked before it is used (a leaf is compared with it;
    // an intermediate CA is only signed by it when missing).
    const issuer = issuerObject && issuerSecret && plan.issuer.type === 'ca' ? inspectIssuer(issuerObject, issuerSecret, plan.issuer.secretName, now) : undefined;
    const issuerBlocks = (why: { reason: string; message: string }) => {
      out.ready = false;
      if (current) out.data.set(plan.secretName, current);
      out.blocked.push({ secretName: plan.secretName, reason: why.reason, message: `${plan.secretName}: ${why.message}`, external: false });
    };
    if (issuer && 'reason' in issuer && !plan.isCA) {
      issuerBlocks(issuer);
      continue;
    }
    const decision = evaluateCertificate({
      desired: plan,
      secret: current,
      // Only for the cached object itself: a CA fetched from the server above is looked at afresh.
      inspected: cached && current ? inspectCached(cached, current, plan.secretName) : undefined,
      issuerCertificatePem: issuerSecret?.['tls.crt'],
      issuerCertificate: issuer && 'cert' in issuer && !plan.isCA ? issuer.cert : undefined,
      now,
    });
    if (decision.action === 'issue' && issuer && 'reason' in issuer) {
      issuerBlocks(issuer);
      continue;
    }
    if ((decision.action === 'keep' || decision.action === 'blocked') && decision.notAfter && decision.renewAt) {
      observed.push({ secretName: plan.secretName, isCA: plan.isCA, notAfter: decision.notAfter, renewAt: decision.renewAt });
    }
    switch (decision.action) {
      case 'keep':
        if (current) out.data.set(plan.secretName, current);
        requeue(decision.requeueAfterMs);
        break;
      case 'blocked':
        out.ready = false;
        if (current && plan.isCA) out.data.set(plan.secretName, current);
        out.blocked.push({
          secretName: plan.secretName,
          reason: decision.reason === 'Missing' ? (plan.issuer.type === 'certManager' ? 'WaitingForCertManager' : 'SecretMissing') : `CA${decision.reason}`,
          message: decision.message,
          external: decision.reason === 'Missing',
        });
        break;
      case 'issue': {
        const issued = await issuePlanned(plan, {
          issuerSecret: issuerSecret as (TlsSecretData & { 'tls.key': string }) | undefined,
          preparedIssuer: plan.issuer.type === 'ca' && issuerSecret ? prepare(plan.issuer.secretName, issuerObject, issuerSecret) : undefined,
          now,
        });
        try {
          const created = await client.create(Secrets, certificateSecret(owner, plan, issued.secretData, component));
          ctx.applier.written(Secrets, created);
          out.issued.push(plan.secretName);
          written.add(plan.secretName);
          out.data.set(plan.secretName, issued.secretData);
          observeIssued(plan, issued.certificatePem, created);
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          // Someone (an earlier run) created it meanwhile: never overwrite, look again shortly.
          out.ready = false;
          requeue(500);
        }
        break;
      }
      case 'reissue': {
        // Only leaves get here: the policy never reissues a CA.
        const issued = await issuePlanned(plan, {
          issuerSecret: issuerSecret as (TlsSecretData & { 'tls.key': string }) | undefined,
          preparedIssuer: plan.issuer.type === 'ca' && issuerSecret ? prepare(plan.issuer.secretName, issuerObject, issuerSecret) : undefined,
          now,
        });
        const applied = await ctx.applier.apply(Secrets, certificateSecret(owner, plan, issued.secretData, component));
        out.renewed.push(plan.secretName);
        written.add(plan.secretName);
        out.data.set(plan.secretName, issued.secretData);
        observeIssued(plan, issued.certificatePem, applied.object);
        break;
      }
    }
  }
  recordCertificates(owner, observed);
  for (const o of observed) out.validity.set(o.secretName, { notAfter: o.notAfter, renewAt: o.renewAt });
  return out;
}

/** A short, key-free summary of what blocks the certificates, for a condition message. */
/** Blocked for a reason only a person can fix: a CA or issuer Secret that is corrupt, mismatched or expired. */
const NEEDS_A_PERSON = /^(CA|Issuer(Invalid|KeyMismatch|Expired)$)/;

/**
 * Certificates that are not ready only for what a person must fix (a corrupt, mismatched or
 * expired CA or issuer). Polling them every few seconds would spin for as long as nobody does.
 */
export function onlyNeedsAPerson(certs: CertificatesOutcome): boolean {
  return !certs.ready && certs.blocked.length > 0 && certs.blocked.every((b) => NEEDS_A_PERSON.test(b.reason));
}

export function blockedSummary(blocked: readonly BlockedCertificate[]): string {
  return blocked
    .slice(0, 5)
    .map((b) => `${b.secretName}: ${b.message}`)
    .join('; ')
    .concat(blocked.length > 5 ? ` (and ${blocked.length - 5} more)` : '');
}

