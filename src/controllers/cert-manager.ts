// certificates.issuerRef: the root CA is requested from a cert-manager issuer through a
// Certificate; the rest of the hierarchy is built in. Without cert-manager installed the apply
// answers 404 for the whole resource type, which becomes a condition a person can act on.
import { isNotFound } from '../kube/errors.js';
import type { KubeObject } from '../kube/object.js';
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
