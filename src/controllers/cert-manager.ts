// certificates.issuerRef: the root CA is requested from a cert-manager issuer through a
// Certificate; the rest of the hierarchy is built in. Without cert-manager installed the apply
// answers 404 for the whole resource type, which becomes a condition a person can act on.
import type { KubeClient } from '../kube/client.js';
import type { ConditionInput } from '../kube/conditions.js';
import type { Controller } from '../kube/controller.js';
import { isNotFound } from '../kube/errors.js';
import { Informer } from '../kube/informer.js';
import type { Logger } from '../kube/log.js';
import { objectKey, type KubeObject } from '../kube/object.js';
import type { ResourceType } from '../kube/resources.js';
import type { PlannedCertificate } from '../pki/hierarchy.js';
import { controllerRef } from '../resources/common/owner.js';
import type { ControllerContext } from './context.js';

export const CertManagerCertificates: ResourceType = {
  group: 'cert-manager.io',
  version: 'v1',
  kind: 'Certificate',
  plural: 'certificates',
  namespaced: true,
};

const hours = (ms: number) => `${Math.round(ms / 3_600_000)}h`;

export type CertManagerResult = { installed: true } | { installed: false; message: string };

export async function ensureCertManagerCertificate(ctx: ControllerContext, owner: KubeObject, plan: PlannedCertificate): Promise<CertManagerResult> {
  if (plan.issuer.type !== 'certManager') return { installed: true };
  const ref = plan.issuer.issuerRef;
  const cert: KubeObject = {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: plan.secretName, namespace: owner.metadata.namespace, ownerReferences: [controllerRef(owner)] },
    spec: {
      secretName: plan.secretName,
      isCA: true,
      commonName: plan.subject.commonName,
      duration: hours(plan.durationMs),
      renewBefore: hours(plan.renewBeforeMs),
      privateKey: { algorithm: plan.key.algorithm, size: plan.key.size, rotationPolicy: 'Never' },
      issuerRef: { name: ref.name, kind: ref.kind ?? 'Issuer', group: ref.group ?? 'cert-manager.io' },
      secretTemplate: { labels: plan.labels },
    },
  };
  try {
    await ctx.applier.apply(CertManagerCertificates, cert);
    return { installed: true };
  } catch (err) {
    if (!isNotFound(err)) throw err;
    return {
      installed: false,
      message:
        `certificates.issuerRef names cert-manager ${ref.kind ?? 'Issuer'} ${ref.name}, but cert-manager is not installed ` +
        '(no certificates.cert-manager.io API). Install cert-manager, or remove issuerRef to use the built-in PKI, ' +
        'or set caSecretRef to bring your own CA.',
    };
  }
}

// ---- cert-manager Certificates left over from kcp-operator --------------------------------------
// kcp-operator has cert-manager issue every certificate. After a migration its Certificate objects
// still name Secrets this operator now manages, and cert-manager would reissue them behind our
// back (new keys, its own renewal times). They are reported, never deleted: deleting a
// Certificate leaves its Secret alone, and that step is the user's (docs/migration.md).

export const CERT_MANAGER_CONFLICT = 'CertManagerConflict';
const DISCOVERY_INTERVAL_MS = 60_000;

interface CertificateSpec {
  secretName?: string;
}

/**
 * Certificates (cert-manager.io/v1) in the watched namespaces, watched only once the API exists:
 * the operator must run without cert-manager's CRDs, and an informer over a missing resource
 * would retry forever and keep /readyz false. Discovery is asked at most once a minute, from
 * reconciles, until the API shows up.
 */
export class CertManagerWatch {
  readonly informer: Informer<KubeObject>;
  private lastDiscovery = 0;
  private discovering: Promise<void> | undefined;
  private started = false;

  constructor(
    private readonly client: KubeClient,
    namespace: string | undefined,
    logger: Logger,
  ) {
    this.informer = new Informer<KubeObject>(client, CertManagerCertificates, { namespace, logger });
  }

  /** The Certificates, once the API exists and the cache is filled; undefined until then. */
  certificates(namespace: string | undefined): KubeObject[] | undefined {
    if (!this.started) this.discover();
    return this.informer.hasSynced() ? this.informer.list(namespace) : undefined;
  }

  private discover(now = Date.now()): void {
    if (this.discovering || now - this.lastDiscovery < DISCOVERY_INTERVAL_MS) return;
    this.lastDiscovery = now;
    this.discovering = this.client
      .request<{ resources?: Array<{ name: string }> }>({ method: 'GET', path: '/apis/cert-manager.io/v1', verb: 'get' })
      .then(
        (list) => {
          if (!this.started && list?.resources?.some((r) => r.name === 'certificates')) {
            this.started = true;
            this.informer.start();
          }
        },
        (err: unknown) => {
          if (!isNotFound(err)) throw err;
        },
      )
      .catch(() => undefined)
      .finally(() => {
        this.discovering = undefined;
      });
  }

  async stop(): Promise<void> {
    await this.discovering;
    if (this.started) await this.informer.stop();
  }
}

/** cert-manager Certificates that would write Secrets of `plans` which this operator issues (not those it asks cert-manager for). */
export function conflictingCertificates(certificates: readonly KubeObject[], plans: readonly PlannedCertificate[]): string[] {
  const ours = new Set(plans.filter((p) => p.issuer.type !== 'certManager').map((p) => p.secretName));
  return certificates
    .filter((c) => ours.has((c.spec as CertificateSpec | undefined)?.secretName ?? ''))
    .map((c) => c.metadata.name ?? '')
    .sort();
}

/**
 * The CertManagerConflict condition for `owner` (absent when nothing conflicts, or cert-manager
 * is not installed), with a Warning Event when there is one. Not a failure: the installation
 * works until cert-manager next renews, which is why a person must act.
 */
export function certManagerConflictCondition(ctx: ControllerContext, owner: KubeObject, plans: readonly PlannedCertificate[]): ConditionInput[] {
  const all = ctx.certManager.certificates(owner.metadata.namespace);
  const names = all ? conflictingCertificates(all, plans) : [];
  if (names.length === 0) return [];
  const shown = names.slice(0, 10).join(', ') + (names.length > 10 ? ` (and ${names.length - 10} more)` : '');
  const message =
    `cert-manager Certificates ${shown} write Secrets this operator manages (left over from kcp-operator?). ` +
    'Delete them and their Issuers (this keeps the Secrets): see docs/migration.md.';
  void ctx.events.record(owner, 'Warning', CERT_MANAGER_CONFLICT, message);
  return [{ type: CERT_MANAGER_CONFLICT, status: 'True', reason: CERT_MANAGER_CONFLICT, message, observedGeneration: owner.metadata.generation }];
}

/** Certificate events wake every object of the namespace (few per namespace): they decide for themselves. */
export function watchCertManagerConflicts(c: Controller, ctx: ControllerContext, primary: Informer<KubeObject>): void {
  c.watchMapped(ctx.certManager.informer, (cert) => primary.list(cert.metadata.namespace).map(objectKey));
}
